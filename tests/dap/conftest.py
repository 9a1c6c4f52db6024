"""Fixtures and options of the DAP tests (tests/dap, see README.md).

    -m pytest tests/dap/test_launch_modes.py tests/dap/test_breakpoints.py tests/dap/test_lifecycle.py \\
        -s --adapter build/release/tools/dlvidx --adapter-kind shim --dlv /usr/bin/dlv

Every test of a session gets `t` (harness.Scenario: its soft checks, the adapters it starts,
cleaned up after it) and runs once for the adapter kind given (the `adapter` fixture: a test marked
`kinds("shim")` is skipped for plain dlv, one marked `not_in_guest(...)` under --arm64). Its checks
print one `ok` / `FAIL` line each (seen with -s); a test with a failed check fails at its end, listing
them. The run ends with `# checks: N passed, M failed`.
"""

import argparse
import os
import re
import shutil
import sys
import time
import traceback

import pytest

from dlvtest import procs
from dlvtest.example import BIN_122, BIN_127, BIN_PIE, BIN_TRIM, REPO
from harness import TALLY, Abort, Checks, Runner, Scenario

KINDS = ("dlv", "shim")
TIMEOUT = 120          # seconds, per session test (pytest-timeout), unless --timeout is given
SLOW_TIMEOUT = 300     # every_line
ARM64_FACTOR = 5       # the arm64 guest is emulated (TCG)


def pytest_addoption(parser):
    g = parser.getgroup("dap", "DAP sessions (tests/dap)")
    g.addoption("--adapter", help="adapter executable (run as ADAPTER dap ...)")
    g.addoption("--adapter-kind", choices=KINDS, default="dlv",
                help="whose behaviour to expect where dlvidx dap is meant to differ from dlv")
    g.addoption("--go", default="/usr/lib/go-1.27/bin/go", help="its directory is put first on the adapter's PATH")
    g.addoption("--slow", action="store_true", help="also run the slow tests (every_line)")
    g.addoption("--record", metavar="FILE", help="every_line: write the per-line results as JSON")
    g.addoption("--compare-with", metavar="FILE", help="every_line: compare with a record of the other kind")
    g.addoption("--every-line-all", action="store_true", help="every_line: all .go files, not only main.go")
    g.addoption("--arm64-delve", choices=["1.27", "1.20"], default="1.27",
                help="with --arm64: which of the guest's Delve versions")
    g.addoption("--dlvoracle", help="test_every_line: tests/oracle/dlvoracle (its arm64 build with --arm64)")


def pytest_configure(config):
    config.addinivalue_line("markers", "kinds(*kinds): only for these --adapter-kind values")
    config.addinivalue_line("markers", "not_in_guest(reason): not run with --arm64")
    config.addinivalue_line("markers", "slow: only with --slow (or -k naming the test)")


def _slow_enabled(config):
    return bool(config.getoption("slow") or config.getoption("record") or config.getoption("compare_with")
                or config.getoption("every_line_all"))  # these only make sense with every_line


def scenario_name(item):
    return (getattr(item, "originalname", None) or item.name).removeprefix("test_")


def pytest_generate_tests(metafunc):
    if "adapter" in metafunc.fixturenames:
        metafunc.parametrize("adapter", [metafunc.config.getoption("adapter_kind")], indirect=True)


def pytest_collection_modifyitems(config, items):
    # Slow tests: only with --slow, or when -k names them (as `-k every_line`).
    keyword = config.getoption("keyword") or ""
    keep, drop = [], []
    for item in items:
        if (item.get_closest_marker("slow") and not _slow_enabled(config)
                and not re.search(rf"\b{re.escape(scenario_name(item))}\b", keyword)):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # Where the old run's watchdog was: a timeout per session test (pytest-timeout).
    if not config.getoption("timeout", None) and not config.getini("timeout"):
        factor = ARM64_FACTOR if config.getoption("arm64") else 1
        for item in items:
            if "t" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("timeout"):
                seconds = SLOW_TIMEOUT if item.get_closest_marker("slow") else TIMEOUT
                item.add_marker(pytest.mark.timeout(seconds * factor))


# ---------------------------------------------------------------------------
# Fixtures.


@pytest.fixture(scope="session")
def arm64(pytestconfig):
    """The emulated arm64 machine (tests/arm64/target.py) with --arm64, else None."""
    build = pytestconfig.getoption("arm64")
    if not build:
        yield None
        return
    sys.path.insert(0, os.path.join(REPO, "tests", "arm64"))
    from target import Arm64
    m = Arm64(build_dir=build, dlvoracle=pytestconfig.getoption("dlvoracle"),
              corpus_py=pytestconfig.getoption("corpus"))
    print(f"# arm64 guest booted in {m.guest.boot_seconds:.1f} s (emulated, TCG)", flush=True)
    try:
        yield m
    finally:
        m.close()


def _session_args(config, arm64):
    opt = config.getoption
    args = argparse.Namespace(
        adapter=opt("adapter"), adapter_kind=opt("adapter_kind"), dlv=opt("dlv"), corpus=opt("corpus"),
        go=opt("go"), slow=_slow_enabled(config), record=opt("record"), compare_with=opt("compare_with"),
        every_line_all=opt("every_line_all"), arm64=opt("arm64"), arm64_delve=opt("arm64_delve"))
    if arm64:
        guest_dlv = arm64.dlv120 if args.arm64_delve == "1.20" else arm64.dlv
        args.dlv = args.dlv or guest_dlv
        args.adapter = args.adapter or (arm64.dlvidx if args.adapter_kind == "shim" else guest_dlv)
    else:
        if not args.adapter:
            pytest.fail("--adapter is required (or --arm64 BUILD_DIR)", pytrace=False)
        a = args.adapter
        args.adapter = os.path.abspath(a) if os.sep in a else (shutil.which(a) or a)
        if args.dlv and os.sep in args.dlv:
            args.dlv = os.path.abspath(args.dlv)
    for name in ("record", "compare_with"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    return args


@pytest.fixture(scope="session")
def runner(pytestconfig, arm64):
    """One per run: the corpus binaries built (or found cached) before any adapter runs, the
    fixture's lines checked, and at the end whatever a test left running stopped."""
    args = _session_args(pytestconfig, arm64)
    print(flush=True)  # after the first test's name (-s -v)
    procs.become_subreaper()
    r = Runner(args, arm64)
    t_all = time.monotonic()
    try:
        for name in (BIN_127, BIN_122, BIN_TRIM, BIN_PIE):
            r.binary(name)
        print(f"# corpus binaries ready: {time.monotonic() - t_all:.2f} s", flush=True)
        sanity = Checks(prefix="fixture: ")
        for label, ok in r.lines.sanity():
            sanity.check(label, ok)
        yield r
    finally:
        r.close()
        print(f"# total: {time.monotonic() - t_all:.2f} s{' (arm64 guest: emulated, TCG)' if arm64 else ''}",
              flush=True)


@pytest.fixture
def adapter(request):
    """The adapter kind of this run (--adapter-kind); skips a test that does not apply to it."""
    kind = request.param
    m = request.node.get_closest_marker("kinds")
    kinds = m.args if m else KINDS
    if kind not in kinds:
        pytest.skip(f"only for --adapter-kind {'/'.join(kinds)}")
    m = request.node.get_closest_marker("not_in_guest")
    if m and request.config.getoption("arm64"):
        pytest.skip(f"not in the arm64 guest ({m.args[0]})")
    return kind


@pytest.fixture
def t(request, runner, adapter):
    """The scenario context of one session test (harness.Scenario)."""
    name = scenario_name(request.node)
    sc = Scenario(runner, name)
    print(flush=True)  # after the test's name (-s -v)
    t0 = time.monotonic()
    try:
        yield sc
    finally:
        sc.cleanup()
        print(f"\n# {name}: {time.monotonic() - t0:.2f} s", flush=True)


@pytest.fixture
def checks():
    """Soft checks without a scenario (test_every_line)."""
    print(flush=True)  # after the test's name (-s -v)
    return Checks()


# ---------------------------------------------------------------------------
# Soft checks: a test fails at its end, listing its failed checks.


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    c = pyfuncitem.funcargs.get("t") or pyfuncitem.funcargs.get("checks")
    outcome = yield
    if not isinstance(c, Checks):
        return
    tb = ""
    if outcome.excinfo is not None:
        kind, e, frames = outcome.excinfo
        if not isinstance(e, Exception):  # pytest.fail/skip, a timeout, ^C: as they are
            if isinstance(e, pytest.fail.Exception) and str(e).startswith("Timeout"):  # pytest-timeout
                c.check("finished within its timeout (adapters are stopped by the cleanup)", False, str(e))
            return
        if not isinstance(e, Abort):
            while frames and any(d in frames.tb_frame.f_code.co_filename for d in ("/pluggy/", "/_pytest/")):
                frames = frames.tb_next
            tb = "".join(traceback.format_exception(kind, e, frames))
            detail = f"{type(e).__name__}: {e}"
            if os.environ.get("DAP_TRACE"):
                detail += "\n" + tb
            c.check("scenario raised", False, detail)
            for line in getattr(c, "stderr_tails", lambda: [])():
                print(line, flush=True)
        outcome.force_result(True)
    summary = c.summary()
    if summary:
        pytest.fail(summary + (f"\n{tb}" if tb else ""), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if TALLY.passed or TALLY.failed:
        terminalreporter.write_line(f"# checks: {TALLY.passed} passed, {TALLY.failed} failed")


def pytest_sessionfinish(session, exitstatus):
    # A failed check outside a test (the fixture's sanity checks) fails the run too.
    if TALLY.failed and exitstatus == 0:
        session.exitstatus = 1
