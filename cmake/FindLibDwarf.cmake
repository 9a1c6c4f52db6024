# libdwarf, either interface dlvidx supports, decided here from the header found:
#  - 20210528 (Debian bookworm): no .pc file, no CMake config, headers in include/libdwarf/;
#  - 0.4 and later (Debian trixie/sid, Ubuntu 24.04+, Homebrew): libdwarf.pc, headers in
#    include/libdwarf/ (Debian) or include/libdwarf-0/ (upstream's install, Homebrew).
# Sets LibDwarf_VERSION and the target LibDwarf::LibDwarf, whose users get DLVIDX_LIBDWARF_0
# (1: the 0.x interface, 0: 20210528; index/dwarf/libdwarf_version.h). 0.1-0.3 are refused.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_LibDwarf QUIET libdwarf)
endif()
find_path(LibDwarf_INCLUDE_DIR libdwarf.h
  HINTS ${PC_LibDwarf_INCLUDE_DIRS}
  PATH_SUFFIXES libdwarf-0 libdwarf)
find_library(LibDwarf_LIBRARY NAMES dwarf HINTS ${PC_LibDwarf_LIBRARY_DIRS})

if(LibDwarf_INCLUDE_DIR)
  # 0.x defines DW_LIBDWARF_VERSION "0.11.1"; 20210528 has no version macro (only
  # dwarf_package_version() at run time).
  file(STRINGS "${LibDwarf_INCLUDE_DIR}/libdwarf.h" _dlvidx_dw_version
       REGEX "^#define[ \t]+DW_LIBDWARF_VERSION[ \t]+\"")
  if(_dlvidx_dw_version MATCHES "\"([0-9]+)\\.([0-9]+)(\\.[0-9]+)?\"")
    set(LibDwarf_VERSION "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}${CMAKE_MATCH_3}")
    if(CMAKE_MATCH_1 EQUAL 0 AND CMAKE_MATCH_2 LESS 4)
      message(FATAL_ERROR "libdwarf ${LibDwarf_VERSION} (${LibDwarf_INCLUDE_DIR}) is not supported: "
                          "dlvidx builds with libdwarf 20210528 or 0.4 and later")
    endif()
    set(_dlvidx_libdwarf_0 1)
  elseif(EXISTS "${LibDwarf_INCLUDE_DIR}/libdwarf.h")
    set(LibDwarf_VERSION 20210528)  # the one pre-0.x release dlvidx supports
    set(_dlvidx_libdwarf_0 0)
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibDwarf REQUIRED_VARS LibDwarf_LIBRARY LibDwarf_INCLUDE_DIR
                                  VERSION_VAR LibDwarf_VERSION)
if(LibDwarf_FOUND AND NOT TARGET LibDwarf::LibDwarf)
  add_library(LibDwarf::LibDwarf UNKNOWN IMPORTED)
  # Homebrew's and upstream's libdwarf.pc also list zlib/zstd for static links: a shared
  # libdwarf brings its own, so only its directory and library are used.
  set_target_properties(LibDwarf::LibDwarf PROPERTIES
    IMPORTED_LOCATION "${LibDwarf_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibDwarf_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "DLVIDX_LIBDWARF_0=${_dlvidx_libdwarf_0}")
  if(_dlvidx_libdwarf_0)
    message(STATUS "libdwarf ${LibDwarf_VERSION}: the 0.x interface")
  else()
    message(STATUS "libdwarf ${LibDwarf_VERSION}: the 20210528 interface")
  endif()
endif()
