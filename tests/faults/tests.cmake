# The shim under faults, hostile DAP input, leaks and its security (included from tests/CMakeLists.txt).

# --- faults, hostile DAP input, leaks, the shim's security (issue #6) ---
# pytest files in tests/faults (options and fixtures: conftest.py), one ctest test each. Each writes
# its rows for docs/reliability.md into ${CMAKE_BINARY_DIR}/reliability.
# (The options follow the file: conftest.py, which defines them, is found from it.)
set(F ${CMAKE_CURRENT_SOURCE_DIR}/faults)
set(FAULTS_PYTEST ${Python3_EXECUTABLE} -m pytest -s)
set(FAULTS_OPTIONS --dlvidx ${DLVIDX} --dlv ${DLV} --corpus ${CMAKE_CURRENT_SOURCE_DIR}/corpus/corpus.py)
if(NOT DLVIDX_SANITIZE)
  set(COMPARE_DLV --compare-dlv)  # what plain dlv does with each hostile input (informational)
endif()
add_test(NAME dap.faults COMMAND ${FAULTS_PYTEST} ${F}/test_faults.py ${FAULTS_OPTIONS})
add_test(NAME dap.hostile_input COMMAND ${FAULTS_PYTEST} ${F}/test_hostile_input.py ${FAULTS_OPTIONS} ${COMPARE_DLV})
add_test(NAME dap.leaks COMMAND ${FAULTS_PYTEST} ${F}/test_leaks.py ${FAULTS_OPTIONS} --sessions 50)
add_test(NAME dap.security COMMAND ${FAULTS_PYTEST} ${F}/test_security.py ${FAULTS_OPTIONS})
set_tests_properties(dap.faults dap.hostile_input dap.leaks dap.security PROPERTIES TIMEOUT 900
  ENVIRONMENT "DLVIDX_RELIABILITY_DIR=${CMAKE_BINARY_DIR}/reliability")
