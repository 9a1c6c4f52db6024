module dlvidx/oracle/dlvoracle

go 1.22
