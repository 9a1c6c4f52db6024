# Capstone (libcapstone-dev) disassembles the first instructions of a function
# for Delve's prologue fallback; Debian ships a .pc file only.
find_package(PkgConfig REQUIRED)
pkg_check_modules(Capstone REQUIRED IMPORTED_TARGET capstone)
if(NOT TARGET Capstone::Capstone)
  add_library(Capstone::Capstone ALIAS PkgConfig::Capstone)
endif()
