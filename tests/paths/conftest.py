"""Fixtures and options of the path-layout tests (tests/paths, see README.md).

    /usr/bin/python3 -m pytest tests/paths/test_layouts.py -s -v --record /tmp/r.json \\
        [--dlvidx build/release/tools/dlvidx] [--dlv /usr/bin/dlv] [--keep-builds]

The layouts are built once per run (dlvtest.layouts) into a temporary directory; each case is one
test (plain dlv, then the shim); every outcome goes into the --record file at the end of the run,
whatever passed (tests/paths/table.py makes the README's table of it).
"""

import json
import os
import shutil
import tempfile
import time

import pytest

from dlvtest import layouts, procs
from dlvtest.run import Cache

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 180  # seconds per case (two sessions; the first one builds the layouts), pytest-timeout


def _add(g, *args, **kw):
    try:
        g.addoption(*args, **kw)
    except ValueError:  # defined by another group's conftest.py in the same run (tests/dap)
        pass


def pytest_addoption(parser):
    g = parser.getgroup("paths", "path layouts (tests/paths)")
    _add(g, "--record", metavar="FILE", help="write every case's outcome (plain dlv and dlvidx) as JSON")
    _add(g, "--go", default=layouts.GO, help="the Go toolchain that builds the layouts")
    _add(g, "--keep-builds", action="store_true", help="leave the layouts' directory (its path is printed)")
    _add(g, "--layouts-out", metavar="DIR",
         help="build the layouts in DIR (emptied first, kept) and write DIR/cases.json for "
              "tests/vscode/paths.test.js (VS Code's DebugClient runs the same cases)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("timeout", None) and not config.getini("timeout"):
        for item in items:
            if not item.get_closest_marker("timeout"):
                item.add_marker(pytest.mark.timeout(TIMEOUT))


class Options:
    def __init__(self, config):
        opt = config.getoption
        self.dlvidx = os.path.abspath(opt("dlvidx") or os.path.join(ROOT, "build", "release", "tools", "dlvidx"))
        dlv = opt("dlv") or shutil.which("dlv") or "/usr/bin/dlv"
        self.dlv = os.path.abspath(dlv) if os.sep in dlv else (shutil.which(dlv) or dlv)
        self.go = opt("go")
        self.record = os.path.abspath(opt("record")) if opt("record") else None


RECORD = {"cases": {}}


@pytest.fixture(scope="session")
def options(pytestconfig):
    return Options(pytestconfig)


@pytest.fixture(scope="session")
def layout_cases(pytestconfig, options):
    """{name: Case}: every layout built once (under a temporary directory, removed at the end)."""
    print(flush=True)
    procs.become_subreaper()
    kept = pytestconfig.getoption("layouts_out")
    if kept:
        out = os.path.abspath(kept)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
    else:
        out = tempfile.mkdtemp(prefix="dlvidx-layouts-")
    t0 = time.monotonic()
    try:
        cases = layouts.build(os.path.join(out, "l"), options.go, options.dlvidx)
        RECORD["out"] = os.path.join(out, "l")
        RECORD["build_seconds"] = round(time.monotonic() - t0, 2)
        print(f"# layouts built in {out}: {time.monotonic() - t0:.2f} s", flush=True)
        if kept:
            with open(os.path.join(out, "cases.json"), "w") as f:
                json.dump([c.to_json() for c in cases], f, indent=1)
        yield {c.name: c for c in cases}
    finally:
        if kept or pytestconfig.getoption("keep_builds"):
            print(f"# layouts kept in {out}", flush=True)
        else:
            shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="session")
def cache_dir():
    """A private index cache for the shim (its shared memory objects removed at the end)."""
    with Cache() as c:
        yield c.dir


@pytest.fixture
def record():
    """The run's record (cases: name -> outcome), written to --record at the end."""
    return RECORD


def pytest_sessionfinish(session):
    opts = Options(session.config)
    if opts.record and RECORD["cases"]:
        order = {n: i for i, n in enumerate(layouts.NAMES)}
        RECORD["cases"] = dict(sorted(RECORD["cases"].items(), key=lambda kv: order.get(kv[0], 1 << 20)))
        RECORD["dlv"] = opts.dlv
        with open(opts.record, "w") as f:
            json.dump(RECORD, f, indent=1)
            f.write("\n")
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(f"# record: {len(RECORD['cases'])} cases in {opts.record}")
