# Breakpoints in real path layouts (issue #12; included from tests/CMakeLists.txt): tests/paths on
# pytest (see tests/paths/README.md). paths.layouts builds every layout (dlvtest.layouts) and sets
# each case's breakpoint through plain dlv and through the shim, recording both; paths.readme checks
# that README.md's table (tests/paths/table.py) is the one that record makes.
# The layouts stay in PATHS_LAYOUTS for vscode.paths (tests/dap/tests.cmake): built once.
set(PATHS_RECORD ${CMAKE_CURRENT_BINARY_DIR}/paths-layouts.json)
set(PATHS_LAYOUTS ${CMAKE_CURRENT_BINARY_DIR}/paths-layouts)
add_test(NAME paths.layouts
  COMMAND ${Python3_EXECUTABLE} -m pytest ${CMAKE_CURRENT_SOURCE_DIR}/paths/test_layouts.py
          -p no:cacheprovider -s -v --dlvidx ${DLVIDX} --dlv ${DLV} --go ${GO127} --record ${PATHS_RECORD}
          --layouts-out ${PATHS_LAYOUTS})
add_test(NAME paths.readme
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/paths/table.py ${PATHS_RECORD}
          --check ${PROJECT_SOURCE_DIR}/README.md)
set_tests_properties(paths.layouts PROPERTIES TIMEOUT 400 LABELS paths FIXTURES_SETUP paths_record)
set_tests_properties(paths.readme PROPERTIES TIMEOUT 60 LABELS paths FIXTURES_REQUIRED paths_record)
