module dlvidx.test/arm64/agent

go 1.22
