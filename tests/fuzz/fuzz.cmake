# libFuzzer targets (tests/fuzz/README.md). Included from the top-level
# CMakeLists.txt before the libraries are defined, so that DLVIDX_FUZZ can
# instrument all of them; nothing happens while DLVIDX_FUZZ is OFF.
option(DLVIDX_FUZZ "libFuzzer targets; compiles every library with -fsanitize=fuzzer-no-link,address,undefined (clang)" OFF)
if(NOT DLVIDX_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "DLVIDX_FUZZ needs clang (libFuzzer): use `cmake --preset fuzz` (clang-14)")
endif()
set(DLVIDX_FUZZ_SECONDS 60 CACHE STRING "How long each fuzz.<target> test fuzzes, in seconds")

# Coverage instrumentation without libFuzzer's main() for the libraries;
# ASan/UBSan everywhere, UBSan fatal so that the fuzzer sees it; libstdc++'s
# bounds checks on std::span/std::vector indexing, which ASan cannot see
# inside the mapped input.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer -D_GLIBCXX_ASSERTIONS)
add_link_options(-fsanitize=address,undefined)
enable_testing()
# The targets (the libraries they link are defined later; CMake resolves
# target names when it generates).
add_subdirectory(${CMAKE_CURRENT_LIST_DIR} ${CMAKE_BINARY_DIR}/tests/fuzz)
