"""Options and fixtures of the fault tests (tests/faults): `dlvidx dap` under faults, hostile DAP
input, many sessions in a row and its security (issue #6).

    /usr/bin/python3 -m pytest -s tests/faults/test_faults.py --dlvidx build/release/tools/dlvidx \\
        --dlv /usr/bin/dlv [--sessions 50] [--compare-dlv]

Real processes only: the shim, the real dlv, real Go programs from the test corpus, sockets on
127.0.0.1. Each test is one row of docs/reliability.md (dapfaults.Row): it prints one `ok` / `FAIL`
line per case (seen with -s) and fails unless every case was handled. At the end the run prints
the table of its rows and, with $DLVIDX_RELIABILITY_DIR set, writes each module's rows to
DIR/<its SUITE>.json (dap-faults, dap-hostile, dap-leaks, dap-security) for
tests/reliability/report.py. --compare-dlv also runs each hostile input against plain `dlv dap`
and records what dlv itself does (not checked: dlv is the reference, not the subject).
"""

import os
import shutil
import tempfile
import time
import types

import pytest

from dlvtest import adapters, procs
from dlvtest.corpus import Corpus
from dlvtest.example import REPO
from dlvtest.reliability import write_records
from dapfaults import Suite

TIMEOUT = 600            # seconds per row (pytest-timeout), unless --timeout is given
LEAKS_TIMEOUT = (120, 15)  # test_leaks: 120 s + 15 s a session


def pytest_addoption(parser):
    g = parser.getgroup("faults", "faults, hostile DAP input, leaks, security (tests/faults)")
    g.addoption("--sessions", type=int, default=50, help="test_leaks: sessions in a row")
    g.addoption("--compare-dlv", action="store_true", help="also show what plain dlv does with each hostile input")


def pytest_collection_modifyitems(config, items):
    if config.getoption("timeout", None):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            base, per = LEAKS_TIMEOUT
            t = base + per * config.getoption("sessions") if item.module.__name__ == "test_leaks" else TIMEOUT
            item.add_marker(pytest.mark.timeout(t))


@pytest.fixture(scope="session")
def faults_run(request):
    """What the whole run shares: the options, the adapters' environment and directory, the corpus,
    and the rows of each suite (written at the end)."""
    opt = request.config.getoption
    if not opt("dlvidx"):
        pytest.fail("--dlvidx is required", pytrace=False)
    args = types.SimpleNamespace(dlvidx=os.path.abspath(opt("dlvidx")), dlv=opt("dlv") or "/usr/bin/dlv",
                                 corpus=opt("corpus"), sessions=opt("sessions"), compare_dlv=opt("compare_dlv"))
    procs.become_subreaper()
    run = types.SimpleNamespace(args=args, env=adapters.adapter_env(), cwd=tempfile.mkdtemp(prefix="dap-faults-cwd-"),
                                corpus=Corpus(args.corpus), suites={}, t0=time.monotonic())
    yield run
    print(f"\n# total {time.monotonic() - run.t0:.1f} s\n")
    print(table([r for rows in run.suites.values() for r in rows]))
    for suite, rows in run.suites.items():
        write_records(suite, [r.json() for r in rows])
    shutil.rmtree(run.cwd, ignore_errors=True)


@pytest.fixture(scope="module")
def s(faults_run, request):
    """The suite of the test module (its SUITE names the records file): starts shims, counts rows."""
    name = request.module.SUITE
    return Suite(faults_run.args, dict(faults_run.env), faults_run.cwd, faults_run.corpus,
                 faults_run.suites.setdefault(name, []))


@pytest.fixture(autouse=True)
def _each_test(s):
    """Its lines start on a line of their own (-s); a test that failed half-way leaves no adapter
    running for the next one."""
    print()
    yield
    s.stop_running()


def table(rows):
    lines = ["| Area | Case | Cases | Handled | Crashes | Hangs | Leaks | Result |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.area} | {r.case} | {r.cases} | {r.handled} | {r.crashes} | {r.hangs} | {r.leaks} | {r.result} |")
    return "\n".join(lines)
