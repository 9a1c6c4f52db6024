# Cross-compiling dlvidx for linux/arm64 (cmake --preset arm64).
#
# Compiler, libstdc++ and glibc: Debian's g++-aarch64-linux-gnu (tools/install-deps.sh).
# Every other library: Debian's arm64 packages unpacked into a private sysroot by
# tools/arm64-sysroot.sh, ${XDG_CACHE_HOME:-~/.cache}/dlvidx/arm64/sysroot, or the directory named
# by -DDLVIDX_ARM64_SYSROOT=... With CMAKE_SYSROOT the compiler searches <sysroot>/usr/include
# instead of the host's /usr/include (its glibc headers stay its own, /usr/aarch64-linux-gnu), and
# find_library/find_path/find_package (and pkg-config, below) look in the sysroot only; programs
# (pkg-config, python3, ...) are the host's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_dlvidx_cache "$ENV{XDG_CACHE_HOME}")
else()
  set(_dlvidx_cache "$ENV{HOME}/.cache")
endif()
set(DLVIDX_ARM64_SYSROOT "${_dlvidx_cache}/dlvidx/arm64/sysroot" CACHE PATH
    "The arm64 sysroot made by tools/arm64-sysroot.sh")
unset(_dlvidx_cache)
# try_compile projects read this file again: give them the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES DLVIDX_ARM64_SYSROOT)

if(NOT EXISTS "${DLVIDX_ARM64_SYSROOT}/.dlvidx/stamp")
  message(FATAL_ERROR "No arm64 sysroot at ${DLVIDX_ARM64_SYSROOT}: run `bash tools/arm64-sysroot.sh` "
    "(it prints the sysroot's path), or pass -DDLVIDX_ARM64_SYSROOT=<that path>.")
endif()

set(CMAKE_SYSROOT "${DLVIDX_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${DLVIDX_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host's pkg-config, reading only the sysroot's .pc files and prefixing their paths with it.
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${DLVIDX_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${DLVIDX_ARM64_SYSROOT}/usr/lib/pkgconfig:${DLVIDX_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${DLVIDX_ARM64_SYSROOT}")
