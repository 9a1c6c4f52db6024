"""What the fault tests share (tests/faults): a row of docs/reliability.md and the outcome of one of
its cases, the suite that starts shims and counts cases into rows, and the wire helpers.

A case counts as handled when the shim answers (a DAP response, error or not) or closes the session
cleanly (an `output` event saying why, `terminated`, a log line) in bounded time, never dies of a
signal or a sanitizer report, and leaves no process behind. Every wait is bounded.

(In a module of its own rather than conftest.py: the test modules import these, and a conftest is
not a module to import from.)
"""

import json
import os
import time

import pytest

from dlvtest import adapters
from dlvtest.crash import crash_marks, died_of_signal
from dlvtest.dap import DAPClient
from dlvtest.example import INITIALIZE_ARGS, SPIN_GO, exec_launch, line_of
from dlvtest.procs import children_of, proc_cmdline
from dlvtest.reliability import FIELDS

ANSWER_S = 10.0     # a hostile input must be answered or the session closed this soon
EXIT_S = 10.0       # the shim must exit this soon after the session ends
SPIN = line_of(SPIN_GO, "doubled := i * 2")


class Row:
    """One row of docs/reliability.md: a group of cases and how many of them were handled.
    Used as `with s.row(...) as row:`; at its end the test fails unless every case was handled.
    A case cut short by an exception (a bug of the test, pytest-timeout) counts as not handled."""

    def __init__(self, area, case, result):
        self.area, self.case, self.result = area, case, result
        self.cases = self.handled = self.crashes = self.hangs = self.leaks = 0
        self.problems = []
        self.dlv = {}   # what plain dlv did, outcome -> count (--compare-dlv)

    def json(self):
        r = {k: getattr(self, k) for k in FIELDS}
        if self.dlv:
            r["dlv"] = ", ".join(f"{k} ({v})" if v > 1 else k for k, v in self.dlv.items())
        return r

    def __enter__(self):
        return self

    def __exit__(self, et, e, tb):
        if et is not None:
            if not issubclass(et, KeyboardInterrupt):
                self.cases += 1
                detail = f"interrupted: {et.__name__}: {e}"
                print(f"FAIL {self.area}: {self.case}: {detail}", flush=True)
                self.problems.append(detail)
            return False
        if self.handled != self.cases or self.cases == 0:
            pytest.fail(f"FAIL {self.area}: {self.case}: {self.handled}/{self.cases} handled: {self.problems}",
                        pytrace=False)
        return False


class Outcome:
    """What happened to one case."""

    def __init__(self):
        self.answer = None    # "error response" | "response" | "closed" | "closed with terminated" | None (hang)
        self.crashed = ""     # why we think the shim crashed
        self.leftover = []    # processes left
        self.exit = None
        self.note = ""

    @property
    def ok(self):
        return self.answer is not None and not self.crashed and not self.leftover


class Suite:
    """The shims of one reliability suite (one records file, e.g. dap-faults.json) and its rows.
    args: dlvidx, dlv, sessions, compare_dlv. rows: where its rows go (in order)."""

    def __init__(self, args, env, cwd, corpus, rows):
        self.args = args
        self.env = env
        self.cwd = cwd
        self.corpus = corpus
        self.rows = rows
        self.running = []   # adapters started and not finished (stopped after a test that failed)

    def binary(self, name):
        return self.corpus.path(name)

    def row(self, area, case, result):
        r = Row(area, case, result)
        self.rows.append(r)
        return r

    # -- one adapter ---------------------------------------------------------

    def argv(self, kind="shim", extra=()):
        if kind == "dlv":
            return [self.args.dlv, "dap", *extra]
        return [self.args.dlvidx, "dap", "--dlv", self.args.dlv, *extra]

    def start_adapter(self, argv):
        """adapters.start_adapter in the suite's environment and directory: (proc, host, port)."""
        proc, host, port = adapters.start_adapter(argv, env=self.env, cwd=self.cwd)
        self.running.append(proc)
        return proc, host, port

    def spawn_adapter(self, argv):
        proc = adapters.spawn_adapter(argv, env=self.env, cwd=self.cwd)
        self.running.append(proc)
        return proc

    def start(self, kind="shim", extra=(), initialize=True):
        proc, host, port = self.start_adapter(self.argv(kind, extra))
        c = DAPClient.connect(host, port, timeout=10, name=kind)
        if initialize:
            c.request_ok("initialize", INITIALIZE_ARGS, timeout=ANSWER_S)
        return proc, c

    def launch(self, c, binary, args=None, stop_line=None, path=None):
        """launch exec; optionally one breakpoint and run to it. Returns the stopped event or None."""
        la = exec_launch(binary)
        if args:
            la["args"] = args
        c.request_ok("launch", la, timeout=60)
        c.wait_event("initialized", timeout=10)
        if stop_line:
            c.request_ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": stop_line}]})
        c.request_ok("configurationDone", timeout=ANSWER_S)
        if stop_line:
            return c.wait_event("stopped", timeout=30)
        return None

    def finish(self, proc, c, out, expect_exit=True):
        """Closes the client, waits for the shim to exit, checks for a crash
        and for processes left behind; fills `out`."""
        try:
            c.close()
        except OSError:
            pass
        code = adapters.wait_exit(proc, EXIT_S) if expect_exit else None
        left = adapters.stop_adapter(proc, term_timeout=5, settle=5)
        if left:
            adapters.kill_leftovers(proc)
        if proc in self.running:
            self.running.remove(proc)
        out.exit = proc.returncode
        logs = "".join(proc.stderr_lines + proc.fd3_lines + proc.stdout_lines)
        marks = crash_marks(logs)
        if expect_exit and code is None:
            out.crashed = f"did not exit within {EXIT_S:.0f} s of the client closing"
        elif died_of_signal(proc.returncode) and expect_exit:
            out.crashed = f"exit status {proc.returncode}"
        elif marks:
            out.crashed = f"log says {marks}: {logs[-400:]!r}"
        out.leftover = list(left)
        return out

    def stop_running(self):
        """Ends the adapters a test started and did not finish (it failed or timed out)."""
        while self.running:
            proc = self.running.pop()
            if adapters.stop_adapter(proc, term_timeout=5, settle=5):
                adapters.kill_leftovers(proc)

    def record(self, row, out, label, dlv=False):
        if dlv:
            key = out.answer or "no answer (waits)"
            row.dlv[key] = row.dlv.get(key, 0) + 1
            return
        row.cases += 1
        if out.ok:
            row.handled += 1
        if out.crashed:
            row.crashes += 1
        if out.answer is None:
            row.hangs += 1
        if out.leftover:
            row.leaks += 1
        status = "ok  " if out.ok else "FAIL"
        detail = out.answer or "no answer"
        if out.crashed:
            detail += f"; CRASH {out.crashed}"
        if out.leftover:
            detail += f"; LEFT {out.leftover}"
        if out.note:
            detail += f"; {out.note}"
        print(f"{status} {row.area}: {label}: {detail}", flush=True)
        if not out.ok:
            row.problems.append(f"{label}: {detail}")


class Null:
    """Stands in for a client that never connected."""

    def close(self):
        pass


# ---------------------------------------------------------------------------
# The wire.

def frame(body):
    if isinstance(body, str):
        body = body.encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def req(command, arguments=None, seq=9001):
    m = {"seq": seq, "type": "request", "command": command}
    if arguments is not None:
        m["arguments"] = arguments
    return json.dumps(m)


# ---------------------------------------------------------------------------
# The shim's processes.

def dlv_child(proc):
    for k in children_of(proc.pid):
        cmd = proc_cmdline(k)
        if cmd and os.path.basename(cmd[0]) == "dlv":
            return k
    return None


def wait_dlv(proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = dlv_child(proc)
        if pid:
            return pid
        time.sleep(0.02)
    raise AssertionError("the shim started no dlv")


def fd_targets(pid):
    d = f"/proc/{pid}/fd"
    out = {}
    try:
        for fd in os.listdir(d):
            try:
                out[int(fd)] = os.readlink(os.path.join(d, fd))
            except OSError:
                pass
    except OSError:
        pass
    return out
