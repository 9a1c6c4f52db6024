# The DAP shim against real dlv sessions (included from tests/CMakeLists.txt): tests/dap on pytest
# (options and fixtures in tests/dap/conftest.py). The same tests run against plain dlv, so the
# suite shows where the two behave the same and where dlvidx is meant to differ. -s: one ok/FAIL
# line per check; each session test has a pytest-timeout (conftest.py) inside ctest's TIMEOUT.
set(DAP_SESSION_FILES ${CMAKE_CURRENT_SOURCE_DIR}/dap/test_launch_modes.py
    ${CMAKE_CURRENT_SOURCE_DIR}/dap/test_breakpoints.py ${CMAKE_CURRENT_SOURCE_DIR}/dap/test_lifecycle.py)
set(SESSIONS ${Python3_EXECUTABLE} -m pytest ${DAP_SESSION_FILES} -p no:cacheprovider -s -v
    --corpus ${CMAKE_CURRENT_SOURCE_DIR}/corpus/corpus.py)
set(EVERY_LINE ${Python3_EXECUTABLE} -m pytest ${CMAKE_CURRENT_SOURCE_DIR}/dap/test_every_line.py
    -p no:cacheprovider -s -v)
set(DELVE120 ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/corpus/delve120.py)
string(JOIN " " SESSIONS_SH ${SESSIONS})
string(JOIN " " DELVE120_SH ${DELVE120})
if(DLVIDX_OS STREQUAL "darwin")
  # macOS on Apple Silicon (never run by this project's CI: .github/workflows/macos.yml): the core
  # sessions through the shim in front of Homebrew's dlv, on the native darwin-arm64 example builds
  # (dlvtest/example.py: DLVIDX_EXAMPLE_TARGET). Go 1.22 is not in Homebrew: its scenarios are left out.
  add_test(NAME dap.sessions.shim COMMAND ${SESSIONS} --adapter ${DLVIDX} --adapter-kind shim --dlv ${DLV}
           -k "(full_session or snap_lines or breakpoint_locations or replace_and_clear or set_while_running or trimpath or conditional) and not go122")
  add_test(NAME dap.sessions.dlv COMMAND ${SESSIONS} --adapter ${DLV} --adapter-kind dlv
           -k "(full_session or snap_lines or breakpoint_locations or replace_and_clear or set_while_running or trimpath or conditional) and not go122")
  set_tests_properties(dap.sessions.shim dap.sessions.dlv PROPERTIES TIMEOUT 900
                       ENVIRONMENT "DLVIDX_EXAMPLE_TARGET=darwin-arm64")
  return()
endif()
add_test(NAME dap.sessions.shim COMMAND ${SESSIONS} --adapter ${DLVIDX} --adapter-kind shim --dlv ${DLV})
if(DLVIDX_SANITIZE)
  # Delve 1.20.2 (bookworm's, unpacked privately): the core session through the shim.
  add_test(NAME dap.sessions.delve120
    COMMAND sh -c "d=$(${DELVE120_SH}) && ${SESSIONS_SH} --adapter ${DLVIDX} --adapter-kind shim --dlv \"$d\" -k full_session_go122")
else()
  # Plain dlv only: what the shim is compared with (nothing of dlvidx runs, so not under the sanitizers).
  add_test(NAME dap.sessions.dlv COMMAND ${SESSIONS} --adapter ${DLV} --adapter-kind dlv)
  # Delve 1.20.2 (bookworm's, unpacked privately): the core session, direct and through the shim.
  add_test(NAME dap.sessions.delve120
    COMMAND sh -c "d=$(${DELVE120_SH}) && ${SESSIONS_SH} --adapter \"$d\" --adapter-kind dlv -k full_session_go122 && ${SESSIONS_SH} --adapter ${DLVIDX} --adapter-kind shim --dlv \"$d\" -k full_session_go122")
endif()
# Every line of every example file, dlv vs shim: verified, line, message.
add_test(NAME dap.every_line.compare
  COMMAND sh -c "${SESSIONS_SH} --adapter ${DLV} --adapter-kind dlv --slow --every-line-all -k every_line --record every_line_dlv.json && ${SESSIONS_SH} --adapter ${DLVIDX} --adapter-kind shim --dlv ${DLV} --slow --every-line-all -k every_line --record every_line_shim.json --compare-with every_line_dlv.json")
# Every line: armed where dlv would arm it, and stops at the same addresses.
foreach(go go127 go122)
  add_test(NAME dap.every_line.stops.${go}
    COMMAND ${EVERY_LINE} --dlvidx ${DLVIDX}
            --dlvoracle ${CMAKE_CURRENT_BINARY_DIR}/oracle/dlvoracle --dlv ${DLV} --name example-${go}-linux-amd64)
endforeach()
# A position-independent build: the shim arms runtime addresses (load bias from dlv).
add_test(NAME dap.every_line.stops.go127-pie
  COMMAND ${EVERY_LINE} --dlvidx ${DLVIDX}
          --dlvoracle ${CMAKE_CURRENT_BINARY_DIR}/oracle/dlvoracle --dlv ${DLV} --name example-go127-linux-amd64+pie)
set_tests_properties(dap.sessions.shim dap.sessions.delve120 dap.every_line.compare
                     dap.every_line.stops.go127 dap.every_line.stops.go122 dap.every_line.stops.go127-pie
                     PROPERTIES TIMEOUT 600)
if(NOT DLVIDX_SANITIZE)
  set_tests_properties(dap.sessions.dlv PROPERTIES TIMEOUT 600)
endif()

# Every snippet of docs/vscode.md, run for real.
add_test(NAME docs.vscode COMMAND ${Python3_EXECUTABLE} -m pytest ${CMAKE_CURRENT_SOURCE_DIR}/docs/test_docs.py
         -p no:cacheprovider -s -v --build ${CMAKE_BINARY_DIR} --dlv ${DLV})
set_tests_properties(docs.vscode PROPERTIES TIMEOUT 600)

# VS Code's own DebugClient (@vscode/debugadapter-testsupport, npm, lockfile
# committed), against plain dlv and against the shim.
find_program(NPM npm)
if(NPM)
  add_test(NAME vscode.debugclient
    COMMAND sh -c "npm ci --silent --no-audit --no-fund && node --test dap.test.js"
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/vscode)
  # The path layouts of paths.layouts (built there, tests/paths/tests.cmake) through the
  # DebugClient: each case against plain dlv (the reference address) and the shim.
  add_test(NAME vscode.paths
    COMMAND sh -c "npm ci --silent --no-audit --no-fund && node --test paths.test.js"
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/vscode)
  set_tests_properties(vscode.paths PROPERTIES TIMEOUT 600 LABELS paths
    FIXTURES_REQUIRED paths_record RESOURCE_LOCK vscode_node_modules
    ENVIRONMENT "DLVIDX=$<TARGET_FILE:dlvidx>;DLV=${DLV};LAYOUT_CASES=${PATHS_LAYOUTS}/cases.json")
  # Under the sanitizers only the shim's half (the dlv half runs nothing of dlvidx).
  if(DLVIDX_SANITIZE)
    set(VSCODE_KINDS shim)
  else()
    set(VSCODE_KINDS dlv,shim)
  endif()
  set_tests_properties(vscode.debugclient PROPERTIES TIMEOUT 600 RESOURCE_LOCK vscode_node_modules
    ENVIRONMENT "DLVIDX=$<TARGET_FILE:dlvidx>;DLV=${DLV};ADAPTER_KINDS=${VSCODE_KINDS}")
endif()


if(ARM64)
  # Sessions through the arm64 shim in front of arm64 dlv, and the same against plain arm64 dlv.
  set(ARM64_SCENARIOS -k "full_session or snap_lines or breakpoint_locations or replace_and_clear or set_while_running or pie or trimpath or conditional")
  add_test(NAME arm64.sessions.shim COMMAND ${SESSIONS} ${ARM64} --adapter-kind shim ${ARM64_SCENARIOS})
  add_test(NAME arm64.sessions.dlv COMMAND ${SESSIONS} ${ARM64} --adapter-kind dlv ${ARM64_SCENARIOS})
  # Every line of the example: armed at arm64 dlv's own address, and the same stops (PIE too).
  foreach(name example-go127-linux-arm64 example-go127-linux-arm64+pie)
    add_test(NAME arm64.every_line.stops.${name}
      COMMAND ${EVERY_LINE} ${ARM64}
              --dlvoracle ${CMAKE_CURRENT_BINARY_DIR}/oracle/arm64/dlvoracle --name ${name})
  endforeach()
endif()
