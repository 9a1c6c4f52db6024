"""Options every group shares, defined once (each group's conftest.py adds its own, and its defaults
where a group needs one): pytest loads this file for any test under tests/."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_addoption(parser):
    g = parser.getgroup("dlvidx", "dlvidx tests (shared)")
    g.addoption("--dlvidx", help="the dlvidx binary (integration default: build/release's; with --arm64 the guest's)")
    g.addoption("--dlv", help="the real dlv (the shim's, the oracle's; default: each group's, dlv on PATH)")
    g.addoption("--corpus", default=os.path.join(ROOT, "tests", "corpus", "corpus.py"),
                help="tests/corpus/corpus.py (builds and caches the Go binaries)")
    g.addoption("--name", help="the corpus binary a test is about (rows, delve, every_line)")
    g.addoption("--build", help="a build directory (what cmake --install installs from)")
    g.addoption("--arm64", metavar="BUILD_DIR",
                help="run in the emulated linux/arm64 machine (tests/arm64) with the arm64 build in BUILD_DIR; "
                     "the programs are their linux/arm64 builds, --adapter/--dlv/--dlvidx then guest paths")
