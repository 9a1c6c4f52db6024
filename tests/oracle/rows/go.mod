module dlvidx/oracle/rows

go 1.22
