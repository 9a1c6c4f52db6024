# CPACK_PROJECT_CONFIG_FILE of a cross build (top-level CMakeLists.txt): the Depends of the arm64
# .deb. dpkg-shlibdeps itself, as CPack runs it for a native build, but pointed at the sysroot's
# arm64 runtime packages (tools/arm64-sysroot.sh keeps each one unpacked with its DEBIAN/ control
# files, symbols and shlibs, in <sysroot>/.dlvidx/pkgs/<name>, libc6:arm64's too) through -S, so
# that the versions come from Debian's own symbols files as they would on an arm64 machine. Any
# library without dependency information is an error (no --ignore-missing-info).
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
find_program(_dlvidx_shlibdeps dpkg-shlibdeps REQUIRED)
file(GLOB _dlvidx_pkgs LIST_DIRECTORIES true "${CPACK_DLVIDX_SYSROOT}/.dlvidx/pkgs/*")
if(NOT _dlvidx_pkgs)
  message(FATAL_ERROR "deb-cross-depends: no ${CPACK_DLVIDX_SYSROOT}/.dlvidx/pkgs/*: run bash tools/arm64-sysroot.sh")
endif()
set(_dlvidx_args)
foreach(_d IN LISTS _dlvidx_pkgs)
  list(APPEND _dlvidx_args "-S${_d}")
endforeach()
# dpkg-shlibdeps wants a debian/control (it may be empty) in its working directory.
set(_dlvidx_work "${CPACK_TOPLEVEL_DIRECTORY}/dlvidx-shlibdeps")
file(REMOVE_RECURSE "${_dlvidx_work}")
file(MAKE_DIRECTORY "${_dlvidx_work}/debian")
file(WRITE "${_dlvidx_work}/debian/control" "")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C DEB_HOST_ARCH=arm64 DEB_HOST_MULTIARCH=aarch64-linux-gnu
          DEB_HOST_GNU_TYPE=aarch64-linux-gnu DEB_HOST_GNU_CPU=aarch64 DEB_HOST_ARCH_CPU=arm64
          "OBJDUMP=${CPACK_DLVIDX_OBJDUMP}"
          ${_dlvidx_shlibdeps} -O ${_dlvidx_args} ${CPACK_DLVIDX_ELF_FILES}
  WORKING_DIRECTORY "${_dlvidx_work}"
  OUTPUT_VARIABLE _dlvidx_out ERROR_VARIABLE _dlvidx_err RESULT_VARIABLE _dlvidx_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _dlvidx_rc EQUAL 0 OR NOT _dlvidx_out MATCHES "^shlibs:Depends=(.+)$")
  message(FATAL_ERROR "deb-cross-depends: dpkg-shlibdeps failed (${_dlvidx_rc}):\n${_dlvidx_err}${_dlvidx_out}")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${CMAKE_MATCH_1}")
# Said of every binary outside a package tree, as in CPack's own run: not a problem here.
string(REGEX REPLACE "[^\n]*binaries to analyze should already be installed[^\n]*\n?" "" _dlvidx_err "${_dlvidx_err}")
string(STRIP "${_dlvidx_err}" _dlvidx_err)
if(_dlvidx_err)
  message(WARNING "deb-cross-depends: dpkg-shlibdeps: ${_dlvidx_err}")
endif()
message(STATUS "deb-cross-depends: Depends: ${CPACK_DEBIAN_PACKAGE_DEPENDS}")
