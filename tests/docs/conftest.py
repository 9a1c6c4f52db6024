"""Options of tests/docs/test_docs.py (ctest passes them: tests/dap/tests.cmake)."""
import types

import pytest


# --build (the build directory cmake --install runs from) and --dlv (the dlv the installed dlvidx
# runs: DLVIDX_DLV; default /usr/bin/dlv) are the shared options of tests/conftest.py.


@pytest.fixture
def docs_args(pytestconfig):
    if not pytestconfig.getoption("build"):
        pytest.fail("--build is required", pytrace=False)
    return types.SimpleNamespace(build=pytestconfig.getoption("build"), dlv=pytestconfig.getoption("dlv") or "/usr/bin/dlv")
