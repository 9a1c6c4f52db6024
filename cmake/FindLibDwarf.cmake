# Debian's libdwarf-dev (20210528) ships neither a CMake config nor a .pc file.
find_path(LibDwarf_INCLUDE_DIR libdwarf.h PATH_SUFFIXES libdwarf)
find_library(LibDwarf_LIBRARY NAMES dwarf)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibDwarf REQUIRED_VARS LibDwarf_LIBRARY LibDwarf_INCLUDE_DIR)
if(LibDwarf_FOUND AND NOT TARGET LibDwarf::LibDwarf)
  add_library(LibDwarf::LibDwarf UNKNOWN IMPORTED)
  set_target_properties(LibDwarf::LibDwarf PROPERTIES
    IMPORTED_LOCATION "${LibDwarf_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibDwarf_INCLUDE_DIR}")
endif()
