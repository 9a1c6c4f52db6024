# Integration tests of dlvidx on real Go binaries (included from tests/CMakeLists.txt): pytest files in
# tests/integration (options and fixtures: conftest.py), each ctest test one file or one test of it.
set(IT ${CMAKE_CURRENT_SOURCE_DIR}/integration)
# (The options follow the file: conftest.py, which defines them, is found from it.)
set(PYTEST ${Python3_EXECUTABLE} -m pytest -s)
set(IT_OPTIONS --dlvidx ${DLVIDX} --corpus ${CMAKE_CURRENT_SOURCE_DIR}/corpus/corpus.py
    --oracles ${CMAKE_CURRENT_BINARY_DIR}/oracle --dlv ${DLV})
set(ROWS ${PYTEST} ${IT}/test_rows.py ${IT_OPTIONS} --name)
set(DELVE ${PYTEST} ${IT}/test_delve.py ${IT_OPTIONS} --name)

# Rows: dlvidx's libdwarf reading == Go's debug/dwarf, row by row (any host: DLVIDX_TEST_GOS,
# tests/CMakeLists.txt).
foreach(go ${DLVIDX_TEST_GOS})
  foreach(target linux-amd64 linux-arm64 darwin-arm64)
    foreach(variant "" "+nocompress")
      set(name cmdcompile-${go}-${target}${variant})
      add_test(NAME rows.${name} COMMAND ${ROWS} ${name})
    endforeach()
  endforeach()
  foreach(target linux-amd64 darwin-arm64)
    add_test(NAME rows.example-${go}-${target}+opt COMMAND ${ROWS} example-${go}-${target}+opt)
  endforeach()
  add_test(NAME rows.example-${go}-linux-amd64+pie COMMAND ${ROWS} example-${go}-linux-amd64+pie)
endforeach()

# Delve: dlvidx lookup == dlv's own answer (CreateBreakpoint over JSON-RPC).
# cmd/go's lines: all of them, or a seeded sample of this many (tools/sid-stage.sh: a root whose
# stored answers start empty more often).
set(DLVIDX_DELVE_CMDGO_SAMPLE "" CACHE STRING "delve.cmdgo-*: a sample of this many statement lines (empty: all)")
if(DLVIDX_DELVE_CMDGO_SAMPLE)
  set(CMDGO_SAMPLE --sample ${DLVIDX_DELVE_CMDGO_SAMPLE})
elseif(DLVIDX_OS STREQUAL "darwin")
  # dlv through debugserver, on a CI runner: a sample (the whole of cmd/go is Linux's job).
  set(CMDGO_SAMPLE --sample 5000)
endif()
if(DLVIDX_OS STREQUAL "darwin")
  # macOS on Apple Silicon: the native darwin-arm64 builds (always position-independent: dlv's
  # load bias is learned by compare_with_dlv.py), asked of Homebrew's dlv (debugserver).
  foreach(go ${DLVIDX_TEST_GOS})
    foreach(variant "" "+opt" "+trimpath")
      set(name example-${go}-darwin-arm64${variant})
      add_test(NAME delve.${name} COMMAND ${DELVE} ${name} --nonstmt-files 6 ${REUSE_ANSWERS})
    endforeach()
    add_test(NAME delve.cmdgo-${go}-darwin-arm64
             COMMAND ${DELVE} cmdgo-${go}-darwin-arm64 --nonstmt-files 10 ${REUSE_ANSWERS} ${CMDGO_SAMPLE})
    add_test(NAME delve.gen-${go}-darwin-arm64 COMMAND ${DELVE} gen-${go}-darwin-arm64 --nonstmt-files 4
             ${REUSE_ANSWERS})
    set_tests_properties(delve.cmdgo-${go}-darwin-arm64 PROPERTIES TIMEOUT 1500 COST 500)
    set_tests_properties(delve.gen-${go}-darwin-arm64 PROPERTIES TIMEOUT 900)
  endforeach()
  foreach(go ${DLVIDX_TEST_GOS})
    foreach(target linux-arm64 darwin-arm64)
      add_test(NAME rows.gen-${go}-${target} COMMAND ${ROWS} gen-${go}-${target})
    endforeach()
  endforeach()
  # Bad input (any host), and a universal Mach-O binary: slice selection, --arch.
  add_test(NAME errors.bad_binaries COMMAND ${PYTEST} ${IT}/test_errors.py ${IT_OPTIONS})
  add_test(NAME rows.universal-macho COMMAND ${PYTEST} ${IT}/test_fat.py ${IT_OPTIONS})
  set_tests_properties(rows.cmdcompile-go127-linux-amd64 PROPERTIES TIMEOUT 900)
  # Not here: install.deb (dpkg), doctor.checks and explain.paths (Linux toolchain paths and
  # checks), store.lifecycle, hostile.*, security.store (/dev/shm, root) and the arm64 group.
  return()
endif()
foreach(go go127 go122)
  foreach(variant "" "+opt" "+trimpath")
    set(name example-${go}-linux-amd64${variant})
    add_test(NAME delve.${name} COMMAND ${DELVE} ${name} --nonstmt-files 6 ${REUSE_ANSWERS})
  endforeach()
  if(go STREQUAL "go127")  # position-independent: dlv's addresses less the load bias it reports
    add_test(NAME delve.example-go127-linux-amd64+pie
             COMMAND ${DELVE} example-go127-linux-amd64+pie --nonstmt-files 6 ${REUSE_ANSWERS})
  endif()
  # Every statement line of cmd/go (~200k with Go 1.27: ~9 minutes of dlv time). dlv's answers
  # are kept (compare_with_dlv.py, keyed by the binary's, dlv's and the oracle's bytes and the
  # question): a run that has them asks dlv a new sample of 1000 again, and the sanitizer pass
  # none (dlvidx's code is what it checks again).
  add_test(NAME delve.cmdgo-${go}-linux-amd64
           COMMAND ${DELVE} cmdgo-${go}-linux-amd64 --nonstmt-files 10 ${REUSE_ANSWERS} ${CMDGO_SAMPLE})
  set_tests_properties(delve.cmdgo-${go}-linux-amd64 PROPERTIES TIMEOUT 1500 COST 500)
endforeach()

# The generated ~10,000-line program (tests/corpus/gen_program.py): every statement line.
foreach(go go127 go122)
  add_test(NAME delve.gen-${go}-linux-amd64 COMMAND ${DELVE} gen-${go}-linux-amd64 --nonstmt-files 4
           ${REUSE_ANSWERS})
  set_tests_properties(delve.gen-${go}-linux-amd64 PROPERTIES TIMEOUT 900)
  foreach(target linux-arm64 darwin-arm64)
    add_test(NAME rows.gen-${go}-${target} COMMAND ${ROWS} gen-${go}-${target})
  endforeach()
endforeach()

# Bad input: one-line errors naming the file and the reason, no crash.
add_test(NAME errors.bad_binaries COMMAND ${PYTEST} ${IT}/test_errors.py ${IT_OPTIONS})
# Installing: cmake --install (dlvidx and lib/dlvidx/dlv), and the .deb into a scratch root.
add_test(NAME install.deb COMMAND ${PYTEST} ${IT}/test_install.py ${IT_OPTIONS} --build ${CMAKE_BINARY_DIR})

# dlvidx doctor: Go/Delve version mismatch, stripped, foreign architecture, optimized, index state.
add_test(NAME doctor.checks COMMAND ${PYTEST} ${IT}/test_doctor.py ${IT_OPTIONS})

# dlvidx explain (path mapping, each breakpoint verdict, exit statuses, malformed input) and doctor
# --workspace's path-mapping summary, on a module built in the test (plain and container-like builds).
add_test(NAME explain.paths COMMAND ${PYTEST} ${IT}/test_explain.py ${IT_OPTIONS})

# A universal Mach-O binary: slice selection, --arch.
add_test(NAME rows.universal-macho COMMAND ${PYTEST} ${IT}/test_fat.py ${IT_OPTIONS})
# The store: shared memory, cache file, staleness, concurrent builders.
add_test(NAME store.lifecycle COMMAND ${PYTEST} ${IT}/test_store.py ${IT_OPTIONS})

set_tests_properties(
  rows.cmdcompile-go127-linux-amd64 rows.cmdcompile-go122-linux-amd64
  PROPERTIES TIMEOUT 900)

# --- hostile binaries and indexes, security (issue #6) ---
# test_hostile_binaries.py, test_hostile_indexes.py, test_store_security.py; inputs generated at run
# time from corpus binaries: truncated and corrupt ELF/Mach-O/universal files, compressed sections that
# lie, zip bombs (each dlvidx run under a 20 s timeout, its peak RSS checked: dlvtest.run); corrupt,
# foreign, other-version and racing indexes in the cache file and in shared memory; the store's modes,
# symlinks, FIFOs and other users' files (some cases as root only). Each writes its rows for
# docs/reliability.md into ${CMAKE_BINARY_DIR}/reliability.
foreach(part truncated mutated)
  add_test(NAME hostile.binaries.${part} COMMAND ${PYTEST} ${IT}/test_hostile_binaries.py::test_${part} ${IT_OPTIONS})
  list(APPEND HOSTILE_TESTS hostile.binaries.${part})
endforeach()
foreach(part file shm race)
  add_test(NAME hostile.indexes.${part} COMMAND ${PYTEST} ${IT}/test_hostile_indexes.py::test_${part} ${IT_OPTIONS})
  list(APPEND HOSTILE_TESTS hostile.indexes.${part})
endforeach()
add_test(NAME security.store COMMAND ${PYTEST} ${IT}/test_store_security.py ${IT_OPTIONS})
set_tests_properties(${HOSTILE_TESTS} security.store PROPERTIES TIMEOUT 600
  ENVIRONMENT "DLVIDX_RELIABILITY_DIR=${CMAKE_BINARY_DIR}/reliability")

# ARM64 (issue #10, tests/CMakeLists.txt): the arm64 dlvidx and dlv in an emulated machine.
if(ARM64)
  foreach(go go127 go122)
    foreach(variant "" "+opt" "+trimpath")
      set(name example-${go}-linux-arm64${variant})
      add_test(NAME arm64.delve.${name} COMMAND ${DELVE} ${name} --sample ${ARM64_SAMPLE_EXAMPLE} --nonstmt-files 0
               --whole-files-matching "dlvidx-example/|fixtures/example/" ${ARM64_RECHECK} ${ARM64})
    endforeach()
    add_test(NAME arm64.delve.cmdgo-${go}-linux-arm64
             COMMAND ${DELVE} cmdgo-${go}-linux-arm64 --sample ${ARM64_SAMPLE_CMDGO} --nonstmt-files 1
             ${ARM64_RECHECK} ${ARM64})
  endforeach()
endif()
