"""What the DAP session tests run in (conftest.py makes the fixtures of it).

Checks     soft checks: one `ok` / `FAIL` line each; a test fails at its end listing the failed
           ones (conftest.py), `require` aborts the rest of it (Abort).
Runner     one per pytest run: the options, the corpus binaries, the example's lines, the adapters'
           environment and working directory, the arm64 guest (--arm64), plain dlv as the oracle of
           breakpointLocations.
Scenario   the `t` fixture of one test: its checks, the adapters it started, its temporary
           directories; cleaned up after the test (adapters stopped, leftovers killed by PID).
Session    one adapter process and one client connection, with the requests the tests send.
"""

import json
import os
import shutil
import tempfile
import threading

from dlvtest import adapters, dap
from dlvtest.crash import crash_marks, died_of_signal
from dlvtest.corpus import Corpus
from dlvtest.example import BIN_127, INITIALIZE_ARGS, Lines, arm64_name, exec_launch

EXIT_TIMEOUT = 10.0     # the adapter must exit this soon after the session ends
STOP_TIMEOUT = 30.0     # a breakpoint must be hit this soon


# ---------------------------------------------------------------------------
# Checks.


class Abort(Exception):
    """A check failed such that the rest of the test makes no sense."""


class Tally:
    """Every check of the run (printed at its end, as `N passed, M failed` was)."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()


TALLY = Tally()


class Checks:
    """The soft checks of one test (or of the fixture's sanity checks)."""

    def __init__(self, prefix=""):
        self.prefix = prefix
        self.passed = 0
        self.failures = []  # labels (with detail) of the failed checks

    def check(self, label, ok, detail="", show=False):
        """Counts and prints one check; `detail` is printed on failure (and
        on success too if show)."""
        label = f"{self.prefix}{label}"
        with TALLY.lock:
            if ok:
                self.passed += 1
                TALLY.passed += 1
                print(f"ok   {label}" + (f"  [{detail}]" if detail and show else ""), flush=True)
            else:
                self.failures.append(label + (f" -- {detail}" if detail else ""))
                TALLY.failed += 1
                print(f"FAIL {label}" + (f" -- {detail}" if detail else ""), flush=True)
        return bool(ok)

    def require(self, label, ok, detail=""):
        """A check whose failure aborts the test. Passing `require`s are
        not counted (they are preconditions, not checks of their own)."""
        if not ok:
            self.check(label, False, detail)
            raise Abort(label)

    def summary(self):
        """None if every check passed, else the failed ones (for pytest.fail)."""
        if not self.failures:
            return None
        n = len(self.failures)
        return (f"{n} of {n + self.passed} checks failed:\n" +
                "\n".join(f"  FAIL {f[:2000]}" for f in self.failures))


# ---------------------------------------------------------------------------
# One adapter session.


class Session:
    """One adapter process and one client connection."""

    def __init__(self, t, proc, client):
        self.t = t
        self.proc = proc
        self.c = client
        self.caps = {}
        self.finished = False

    # -- requests ------------------------------------------------------------

    def initialize(self):
        r = self.c.request("initialize", INITIALIZE_ARGS)
        self.t.require("initialize succeeds", r.get("success"), r.get("message"))
        self.caps = r.get("body") or {}
        return r

    def launch(self, args, timeout=120):
        r = self.c.request("launch", args, timeout=timeout)
        self.t.require(f"launch {args.get('mode')} succeeds", r.get("success"),
                       f"{r.get('message')} {json.dumps(r.get('body'))}")
        self.c.wait_event("initialized", timeout=10)
        return r

    def set_bps(self, path, bps):
        """bps: list of ints or of dicts (SourceBreakpoint). Returns the
        list of Breakpoint objects of the response."""
        bps = [{"line": b} if isinstance(b, int) else b for b in bps]
        r = self.c.request("setBreakpoints", {"source": {"name": os.path.basename(path), "path": path},
                                              "breakpoints": bps})
        self.t.require(f"setBreakpoints {os.path.basename(path)} {[b['line'] for b in bps]} succeeds",
                       r.get("success"), r.get("message"))
        return r["body"]["breakpoints"]

    def configuration_done(self):
        r = self.c.request("configurationDone")
        self.t.require("configurationDone succeeds", r.get("success"), r.get("message"))

    def wait_stop(self, timeout=STOP_TIMEOUT):
        """Waits for `stopped` or `terminated`; returns the event."""
        return self.c.wait_any_event(["stopped", "terminated"], timeout=timeout)

    def expect_stopped(self, label, timeout=STOP_TIMEOUT):
        ev = self.wait_stop(timeout)
        self.t.require(f"{label}: stopped (not terminated)", ev.get("event") == "stopped", json.dumps(ev))
        return ev

    def expect_terminated(self, label, timeout=STOP_TIMEOUT):
        ev = self.wait_stop(timeout)
        return self.t.check(f"{label}: runs to the end without stopping", ev.get("event") == "terminated",
                            json.dumps(ev))

    def top_frame(self, thread_id):
        r = self.c.request("stackTrace", {"threadId": thread_id, "startFrame": 0, "levels": 20})
        self.t.require("stackTrace succeeds", r.get("success"), r.get("message"))
        frames = r["body"]["stackFrames"]
        self.t.require("stackTrace has frames", frames, json.dumps(r["body"]))
        return frames[0]

    def evaluate(self, expr, frame_id):
        r = self.c.request("evaluate", {"expression": expr, "frameId": frame_id, "context": "repl"})
        self.t.require(f"evaluate {expr} succeeds", r.get("success"), r.get("message"))
        return r["body"]["result"]

    def cont(self, thread_id):
        r = self.c.request("continue", {"threadId": thread_id})
        self.t.require("continue succeeds", r.get("success"), r.get("message"))

    def check_stop_at(self, label, ev, path, line, bp_id=None, reason="breakpoint"):
        """Checks a stopped event (reason, hitBreakpointIds) and the top frame."""
        body = ev.get("body", {})
        t = self.t
        t.check(f"{label}: reason {reason!r}", body.get("reason") == reason, json.dumps(body))
        if bp_id is not None:
            t.check(f"{label}: hitBreakpointIds contains {bp_id}", bp_id in (body.get("hitBreakpointIds") or []),
                    json.dumps(body))
        frame = self.top_frame(body.get("threadId"))
        src = (frame.get("source") or {}).get("path", "")
        t.check(f"{label}: top frame at {os.path.basename(path)}:{line}",
                frame.get("line") == line and os.path.realpath(src) == os.path.realpath(path),
                f"frame {src}:{frame.get('line')} ({frame.get('name')})")
        return frame

    # -- ending --------------------------------------------------------------

    def disconnect_and_finish(self, label="disconnect"):
        """disconnect(terminateDebuggee) -> response; the adapter exits
        within EXIT_TIMEOUT; nothing it started is left."""
        t = self.t
        r = self.c.request("disconnect", {"restart": False, "terminateDebuggee": True}, timeout=EXIT_TIMEOUT)
        t.check(f"{label}: disconnect succeeds", r.get("success"), r.get("message"))
        self.finish(label)

    def finish(self, label, expect_code=None):
        t = self.t
        code = adapters.wait_exit(self.proc, EXIT_TIMEOUT)
        t.check(f"{label}: adapter exits within {EXIT_TIMEOUT:.0f} s", code is not None,
                f"exit status {code}", show=True)
        if expect_code == "nonzero":
            t.check(f"{label}: adapter exit status is non-zero", code not in (None, 0), f"exit status {code}")
        elif expect_code == "clean":
            err = "".join(self.proc.stderr_lines)
            crashed = code is None or died_of_signal(code) or bool(crash_marks(err)) or "panic:" in err
            t.check(f"{label}: adapter exits cleanly (no signal, no crash)", not crashed,
                    f"exit status {code}; stderr tail {''.join(self.proc.stderr_lines)[-300:]!r}")
        self.c.close()
        left = adapters.stop_adapter(self.proc)
        seen = self.proc.watcher.recorded()
        t.check(f"{label}: no process the adapter started is left", not left,
                f"{len(seen)} seen; left: {list(left)}" if left else
                f"{len(seen)} seen: " + ", ".join(f"{p} {r['comm']}" for p, r in sorted(seen.items())), show=True)
        if left:
            adapters.kill_leftovers(self.proc)
        self.finished = True
        return code


# ---------------------------------------------------------------------------
# One test (the `t` fixture).


class Scenario(Checks):
    """The context of one test: its name (the prefix of its checks), the adapter kind, the
    adapters and sessions it started, its temporary directories."""

    def __init__(self, runner, name):
        super().__init__(prefix=f"{name}: ")
        self.r = runner
        self.args = runner.args
        self.kind = runner.args.adapter_kind
        self.name = name
        self.sessions = []
        self.procs = []
        self.tmpdirs = []

    # resources
    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="dap-test-")
        self.tmpdirs.append(d)
        return d

    def binary(self, name):
        return self.r.binary(name)

    def adapter_argv(self, extra=()):
        argv = [self.args.adapter, "dap"]
        if self.kind == "shim" and self.args.dlv:
            argv += ["--dlv", self.args.dlv]
        return argv + list(extra)

    def own(self, proc):
        """Registers an adapter process the test started itself (stopped by cleanup())."""
        self.procs.append(proc)
        self.r.live_procs.add(proc)
        return proc

    def attach(self, proc, client):
        """A Session of an adapter process and a connected client: initialized."""
        s = Session(self, proc, client)
        self.sessions.append(s)
        s.initialize()
        return s

    def start(self, extra=(), argv=None):
        """Starts an adapter (vscode-go style), connects, initializes."""
        argv = argv or self.adapter_argv(extra)
        proc, host, port = adapters.start_adapter(argv, env=self.r.adapter_env, cwd=self.r.adapter_cwd)
        self.own(proc)
        client = dap.DAPClient.connect(host, port, timeout=10, name=self.name)
        return self.attach(proc, client)

    def stderr_tails(self):
        """The last words of each adapter, for a test that raised."""
        out = []
        for p in self.procs:
            err = "".join(p.stderr_lines)[-800:]
            if err:
                out.append(f"#   adapter {p.pid} stderr tail: {err!r}")
        return out

    def cleanup(self):
        for s in self.sessions:
            try:
                s.c.close()
            except OSError:
                pass
        for p in self.procs:
            if p.poll() is None or p.watcher.alive():
                left = adapters.stop_adapter(p, settle=2)
                if left:
                    adapters.kill_leftovers(p)
            self.r.live_procs.discard(p)
        for d in self.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------
# The run.


class Runner:
    """What the tests of one run share (the `runner` fixture, session-scoped)."""

    def __init__(self, args, arm64=None):
        self.args = args
        self.lines = Lines()
        self.corpus = Corpus(args.corpus)
        self.live_procs = set()
        self.adapter_cwd = tempfile.mkdtemp(prefix="dap-test-cwd-")
        self.adapter_env = adapters.adapter_env(args.go)
        self._dlv_lines_cache = {}
        self.arm64 = arm64

    def binary(self, name):
        if self.arm64:  # the same program built for linux/arm64, in the guest
            return self.arm64.binary(arm64_name(name))
        return self.corpus.path(name, timeout=600)

    def dlv_verified_lines(self, path, a, b):
        """Lines in [a, b] of path on which plain dlv verifies a breakpoint
        (example-go127-linux-amd64), or None if no dlv to ask. Used as the
        oracle for the shim's breakpointLocations."""
        dlv = self.args.dlv or shutil.which("dlv") or "/usr/bin/dlv"
        if not self.arm64 and not os.path.exists(dlv):
            return None
        key = (path, a, b)
        if key in self._dlv_lines_cache:
            return self._dlv_lines_cache[key]
        proc, host, port = adapters.start_adapter([dlv, "dap"], env=self.adapter_env, cwd=self.adapter_cwd)
        try:
            c = dap.DAPClient.connect(host, port, timeout=10, name="oracle")
            c.request_ok("initialize", INITIALIZE_ARGS)
            c.request_ok("launch", exec_launch(self.binary(BIN_127)))
            got = []
            for n in range(a, b + 1):
                r = c.request_ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": n}]})
                if r["body"]["breakpoints"][0].get("verified"):
                    got.append(n)
            c.request("disconnect", {"terminateDebuggee": True}, timeout=EXIT_TIMEOUT)
            c.close()
            adapters.wait_exit(proc, EXIT_TIMEOUT)
        finally:
            if adapters.stop_adapter(proc, settle=2):
                adapters.kill_leftovers(proc)
        self._dlv_lines_cache[key] = got
        return got

    def close(self):
        """Stops what a test left running (a test cut short by its timeout cleans up itself)."""
        for p in list(self.live_procs):
            try:
                if adapters.stop_adapter(p, term_timeout=2, settle=1):
                    adapters.kill_leftovers(p)
            except Exception:
                pass
            self.live_procs.discard(p)
        shutil.rmtree(self.adapter_cwd, ignore_errors=True)
