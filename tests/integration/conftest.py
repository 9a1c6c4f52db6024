"""Integration tests of dlvidx on real Go binaries (ctest: tests/integration/tests.cmake).

  test_rows.py --name NAME      dlvidx rows == Go's debug/dwarf rows
  test_delve.py --name NAME     dlvidx lookup == dlv (tests/oracle/compare_with_dlv.py; its options
                                --nonstmt-files, --sample, --whole-files-matching, --recheck, --arm64 pass through)
  test_errors.py, test_store.py, test_fat.py, test_doctor.py, test_install.py --build DIR
  test_hostile_binaries.py, test_hostile_indexes.py, test_store_security.py (issue #6; reliability
                                records in $DLVIDX_RELIABILITY_DIR)

NAME is a corpus name (tests/corpus/corpus.py); binaries are built on first use and cached under the
user's cache directory. Every test uses a private cache directory for indexes and removes the shared
memory objects it made (dlvtest.run.Cache, Scratch).
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import types

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
# compare_with_dlv.py's options that the delve tests pass through (name, takes a value).
DELVE_OPTIONS = ("--nonstmt-files", "--sample", "--whole-files-matching", "--recheck", "--arm64")


def pytest_addoption(parser):
    g = parser.getgroup("dlvidx integration")
    g.addoption("--oracles", default=os.path.join(ROOT, "build", "release", "tests", "oracle"),
                help="the build's tests/oracle (rows, dlvoracle, arm64/dlvoracle)")
    for opt in DELVE_OPTIONS:
        if opt != "--arm64":  # shared: tests/conftest.py
            g.addoption(opt, help="passed to compare_with_dlv.py")


@pytest.fixture(scope="session")
def opts(pytestconfig):
    """The options: dlvidx, corpus, oracles, dlv, name, build; delve: compare_with_dlv.py's arguments."""
    o = pytestconfig.option
    delve = []
    for opt in DELVE_OPTIONS:
        v = pytestconfig.getoption(opt)
        if v is not None:
            delve += [opt, v]
    dlvidx = o.dlvidx or os.path.join(ROOT, "build", "release", "tools", "dlvidx")
    return types.SimpleNamespace(dlvidx=dlvidx, corpus=o.corpus, oracles=o.oracles, dlv=o.dlv or "dlv", name=o.name,
                                 build=o.build, delve=delve)


@pytest.fixture(scope="session")
def corpus(opts):
    """corpus(name) -> the path of a corpus binary, built on first use (corpus.py path NAME)."""
    def path(name):
        out = subprocess.run([sys.executable, opts.corpus, "path", name], capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            pytest.fail(f"corpus build of {name} failed")
        return out.stdout.strip()
    return path


@pytest.fixture(scope="session")
def name(opts):
    if not opts.name:
        pytest.skip("no --name NAME (a corpus binary)")
    return opts.name


@pytest.fixture(scope="session")
def dlvidx(opts):
    """dlvidx(*argv, cache=None, check=True): runs dlvidx (build/lookup in the private cache dir
    `cache`); a failure fails the test unless check=False."""
    def run(*argv, cache=None, check=True):
        cmd = [opts.dlvidx] + list(argv)
        if cache is not None and argv and argv[0] in ("build", "lookup"):
            cmd[2:2] = ["--cache-dir", cache.dir]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if check and p.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
        return p
    return run


class Checks:
    """Soft checks: each prints one ok/FAIL line; done() fails the test listing the failed ones."""

    def __init__(self):
        self.passed, self.failed = 0, []

    def __call__(self, cond, what):
        print(f"{'ok  ' if cond else 'FAIL'} {what}", flush=True)
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)
        return bool(cond)

    def done(self):
        print(f"{self.passed}/{self.passed + len(self.failed)} checks passed")
        assert not self.failed, "failed checks:\n  " + "\n  ".join(self.failed)


@pytest.fixture
def checks():
    return Checks()


@pytest.fixture
def tmp():
    """A temp dir removed after the test (pathlib.Path)."""
    with tempfile.TemporaryDirectory(prefix="dlvidx-integration-") as d:
        yield pathlib.Path(d)
