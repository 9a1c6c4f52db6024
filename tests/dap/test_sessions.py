#!/usr/bin/env python3
"""DAP session scenarios, run against plain `dlv dap` or against `dlvidx dap`.

    python3 tests/dap/test_sessions.py --adapter /usr/bin/dlv --adapter-kind dlv
    python3 tests/dap/test_sessions.py --adapter build/release/tools/dlvidx \\
        --adapter-kind shim --dlv /usr/bin/dlv

Prints one `ok` / `FAIL` line per check (`skip` lines for scenarios that do
not apply to the adapter kind) and ends with exactly `N passed, M failed`;
exits 1 if anything failed. Every scenario starts a fresh adapter on
127.0.0.1 the way vscode-go does (see dap_client.start_adapter) and every
wait is bounded. See tests/dap/README.md.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dap_client as dc  # noqa: E402


def arm64_name(name):
    return name.replace("-linux-amd64", "-linux-arm64")

REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLE_DIR = os.path.join(REPO, "tests", "fixtures", "example")
MAIN_GO = os.path.join(EXAMPLE_DIR, "main.go")
WORK_GO = os.path.join(EXAMPLE_DIR, "work", "work.go")
SPIN_GO = os.path.join(EXAMPLE_DIR, "spin.go")

BIN_127 = "example-go127-linux-amd64"
BIN_122 = "example-go122-linux-amd64"
BIN_TRIM = "example-go127-linux-amd64+trimpath"
BIN_PIE = "example-go127-linux-amd64+pie"

INITIALIZE_ARGS = {
    "clientID": "vscode", "clientName": "Visual Studio Code", "adapterID": "go",
    "pathFormat": "path", "linesStartAt1": True, "columnsStartAt1": True,
    "supportsVariableType": True, "supportsVariablePaging": True,
    "supportsRunInTerminalRequest": False, "locale": "en",
}

EXIT_TIMEOUT = 10.0     # the adapter must exit this soon after the session ends
STOP_TIMEOUT = 30.0     # a breakpoint must be hit this soon


# ---------------------------------------------------------------------------
# Source lines, found by content so that the tests survive small edits of
# the fixture (each lookup is also checked).


def read_lines(path):
    with open(path) as f:
        return f.read().split("\n")


def line_of(path, text, nth=1):
    """1-based number of the nth line of path whose stripped text == text."""
    n = 0
    for i, line in enumerate(read_lines(path), 1):
        if line.strip() == text:
            n += 1
            if n == nth:
                return i
    raise AssertionError(f"{path}: no line {text!r} (#{nth})")


class Lines:
    """The lines of the fixture the scenarios use."""

    def __init__(self):
        m = MAIN_GO
        self.main_text = read_lines(m)
        # run(): executed once, in this order.
        self.run_func = line_of(m, "func run() (code int) {")
        self.note_greeting = line_of(m, "note(&log, greeting)")          # bp 1 (run)
        self.blank_in_run = self.note_greeting + 1                        # blank line
        self.mean = line_of(m, "mean := shapesDemo(&log)")                # next after blank
        self.return1 = line_of(m, "return 1")
        self.brace_in_run = self.return1 + 1                              # lone "}" of `if err != nil {`
        self.work_println = line_of(m, 'fmt.Println("work:", summary)')   # next after that "}"
        self.block_comment = line_of(m, "/*")                             # "/*" line in run()
        self.log_println = line_of(m, 'fmt.Println("log:", strings.Join(append(startup, log...), "; "))')
        self.main_end = line_of(m, "os.Exit(run())") + 1                  # "}" of main
        # shapesDemo(): bp 2 of full_session.
        self.record = line_of(m, "record := st.add // method value")
        # storeDemo(): a // comment line as the first line of the body.
        self.store_comment = line_of(m, "// Store instantiated with two different type-argument lists.")
        self.by_name = line_of(m, "byName := store.New[string, int]()")
        # workDemo(): the loop of the immediately-invoked closure over
        # inputs = {3, 1, 4, 1, 5}; x is the loop variable, m the running max.
        self.loop_body = line_of(m, "m = max(m, x)")
        # work.go: Process(), executed once.
        self.calls = line_of(WORK_GO, "calls := 0")
        # spin.go: `example spin` calls tick() every millisecond until killed.
        self.tick = line_of(SPIN_GO, "doubled := i * 2")
        self.sleep = line_of(SPIN_GO, "time.Sleep(time.Millisecond)")

    def text(self, n):
        return self.main_text[n - 1]

    def sanity(self):
        """(label, ok) pairs checking that the picked lines are what they
        should be."""
        t = self.text
        return [
            ("blank line after note(&log, greeting)", t(self.blank_in_run).strip() == ""),
            ("lone } after `return 1`", t(self.brace_in_run).strip() == "}"),
            ("mean := follows the blank line", self.mean == self.blank_in_run + 1),
            ("work: println follows the }", self.work_println == self.brace_in_run + 1),
            ("log: println follows the block comment", self.log_println == self.block_comment + 4),
            ("byName := follows the // comment", self.by_name == self.store_comment + 1),
            ("order in run()", self.run_func < self.note_greeting < self.mean < self.brace_in_run
             < self.block_comment < self.log_println < self.main_end),
        ]


# ---------------------------------------------------------------------------
# Results and scenario plumbing.


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, label, ok, detail="", show=False):
        """Counts and prints one check; `detail` is printed on failure (and
        on success too if show)."""
        with self.lock:
            if ok:
                self.passed += 1
                print(f"ok   {label}" + (f"  [{detail}]" if detail and show else ""), flush=True)
            else:
                self.failed += 1
                print(f"FAIL {label}" + (f" -- {detail}" if detail else ""), flush=True)
        return bool(ok)


class Abort(Exception):
    """A check failed such that the rest of the scenario makes no sense."""


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
        code = dc.wait_exit(self.proc, EXIT_TIMEOUT)
        t.check(f"{label}: adapter exits within {EXIT_TIMEOUT:.0f} s", code is not None,
                f"exit status {code}", show=True)
        if expect_code == "nonzero":
            t.check(f"{label}: adapter exit status is non-zero", code not in (None, 0), f"exit status {code}")
        elif expect_code == "clean":
            crashed = code is None or code < 0 or code >= 128 or any(
                s in "".join(self.proc.stderr_lines) for s in
                ("terminate called", "Sanitizer", "Segmentation fault", "core dumped", "panic:"))
            t.check(f"{label}: adapter exits cleanly (no signal, no crash)", not crashed,
                    f"exit status {code}; stderr tail {''.join(self.proc.stderr_lines)[-300:]!r}")
        self.c.close()
        left = dc.stop_adapter(self.proc)
        seen = self.proc.watcher.recorded()
        t.check(f"{label}: no process the adapter started is left", not left,
                f"{len(seen)} seen; left: {list(left)}" if left else
                f"{len(seen)} seen: " + ", ".join(f"{p} {r['comm']}" for p, r in sorted(seen.items())), show=True)
        if left:
            dc.kill_leftovers(self.proc)
        self.finished = True
        return code


class Test:
    """Context of one scenario run."""

    def __init__(self, runner, name):
        self.r = runner
        self.args = runner.args
        self.kind = runner.args.adapter_kind
        self.name = name
        self.sessions = []
        self.procs = []
        self.tmpdirs = []

    # checks
    def check(self, label, ok, detail="", show=False):
        return self.r.results.check(f"{self.name}: {label}", ok, detail, show)

    def require(self, label, ok, detail=""):
        """A check whose failure aborts the scenario. Passing `require`s are
        not counted (they are preconditions, not checks of their own)."""
        if not ok:
            self.check(label, False, detail)
            raise Abort(label)

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

    def start(self, extra=(), argv=None):
        """Starts an adapter (vscode-go style), connects, initializes."""
        argv = argv or self.adapter_argv(extra)
        proc, host, port = dc.start_adapter(argv, env=self.r.adapter_env, cwd=self.r.adapter_cwd)
        self.procs.append(proc)
        self.r.live_procs.add(proc)
        client = dc.DAPClient.connect(host, port, timeout=10, name=self.name)
        s = Session(self, proc, client)
        self.sessions.append(s)
        s.initialize()
        return s

    def cleanup(self):
        for s in self.sessions:
            try:
                s.c.close()
            except OSError:
                pass
        for p in self.procs:
            if p.poll() is None or p.watcher.alive():
                left = dc.stop_adapter(p, settle=2)
                if left:
                    dc.kill_leftovers(p)
            self.r.live_procs.discard(p)
        for d in self.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------
# Scenarios.

SCENARIOS = []


def scenario(kinds=("dlv", "shim"), slow=False):
    def deco(f):
        SCENARIOS.append((f.__name__, f, kinds, slow))
        return f
    return deco


# Scenarios that need this machine's file system or network from the adapter's side.
NOT_IN_GUEST = {
    "full_session_debug": "launch debug builds the program: the guest has no Go toolchain",
    "symlink": "the symlink farm is made on this machine",
    "client_addr": "the guest cannot dial out (qemu's restrict=on)",
}


def exec_launch(binary):
    return {"name": "Launch", "type": "go", "request": "launch", "mode": "exec", "program": binary}


def _full_session(t, launch_args, extra=()):
    L = t.r.lines
    s = t.start(extra)
    s.launch(launch_args)
    bp_main = s.set_bps(MAIN_GO, [L.note_greeting, L.record])
    t.check("setBreakpoints returns 2 verified breakpoints with ids",
            len(bp_main) == 2 and all(b.get("verified") and isinstance(b.get("id"), int) for b in bp_main),
            json.dumps(bp_main))
    t.check("breakpoint lines are the requested ones",
            [b.get("line") for b in bp_main] == [L.note_greeting, L.record], json.dumps(bp_main))
    id1, id2 = bp_main[0].get("id"), bp_main[1].get("id")
    s.configuration_done()

    ev = s.expect_stopped("first stop")
    thread = ev["body"].get("threadId")
    frame = s.check_stop_at("first stop", ev, MAIN_GO, L.note_greeting, id1)

    r = s.c.request("scopes", {"frameId": frame["id"]})
    t.require("scopes succeeds", r.get("success"), r.get("message"))
    scopes = r["body"]["scopes"]
    t.check("scopes: at least one scope", len(scopes) >= 1, json.dumps(scopes))
    r = s.c.request("variables", {"variablesReference": scopes[0]["variablesReference"]})
    t.require("variables succeeds", r.get("success"), r.get("message"))
    variables = r["body"]["variables"]
    t.check(f"variables of scope {scopes[0].get('name')!r} non-empty", len(variables) > 0,
            ", ".join(v.get("name", "?") for v in variables), show=True)

    r = s.c.request("next", {"threadId": thread})
    t.require("next succeeds", r.get("success"), r.get("message"))
    ev = s.expect_stopped("after next")
    s.check_stop_at("after next", ev, MAIN_GO, L.mean, reason="step")

    s.cont(ev["body"].get("threadId"))
    ev = s.expect_stopped("second breakpoint")
    s.check_stop_at("second breakpoint", ev, MAIN_GO, L.record, id2)
    s.disconnect_and_finish()


@scenario()
def full_session(t):
    _full_session(t, exec_launch(t.binary(BIN_127)))


@scenario()
def full_session_go122(t):
    _full_session(t, exec_launch(t.binary(BIN_122)), extra=["--check-go-version=false"])


@scenario()
def full_session_debug(t):
    # dlv builds the package itself; like vscode-go, run the build in the
    # package directory (dlvCwd) and put the binary into a temporary
    # directory (output) so that nothing is written into the fixture.
    out = os.path.join(t.tmpdir(), "__debug_bin")
    _full_session(t, {"name": "Launch", "type": "go", "request": "launch", "mode": "debug",
                      "program": EXAMPLE_DIR, "dlvCwd": EXAMPLE_DIR, "output": out})
    t.check("debug: built binary removed or left only in the temp dir",
            not any(n.startswith("__debug_bin") for n in os.listdir(EXAMPLE_DIR)),
            str(os.listdir(EXAMPLE_DIR)))


@scenario()
def snap_lines(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    # (requested line, what it is, the next line with code in the same function)
    cases = [(L.blank_in_run, "blank line", L.mean),
             (L.store_comment, "// comment line", L.by_name),
             (L.brace_in_run, "lone }", L.work_println)]
    bps = s.set_bps(MAIN_GO, [n for n, _, _ in cases])
    t.require("one breakpoint per requested line", len(bps) == len(cases), json.dumps(bps))
    if t.kind == "dlv":
        for (n, what, _), b in zip(cases, bps):
            want = f"could not find statement at {MAIN_GO}:{n}, please use a line with a statement"
            t.check(f"{what} {n}: verified false", b.get("verified") is False, json.dumps(b))
            t.check(f"{what} {n}: message {want!r}", b.get("message") == want, json.dumps(b))
        s.configuration_done()
        s.expect_terminated("no breakpoint")
    else:
        for (n, what, target), b in zip(cases, bps):
            want = f"moved from line {n}: no statement on line {n}"
            t.check(f"{what} {n}: verified true", b.get("verified") is True, json.dumps(b))
            t.check(f"{what} {n}: line {target}", b.get("line") == target, json.dumps(b))
            t.check(f"{what} {n}: message {want!r}", b.get("message") == want, json.dumps(b))
        s.configuration_done()
        # Execution order: run() reaches `mean :=`, calls storeDemo (via
        # the store: println) and then reaches `work:` println.
        order = sorted(zip(cases, bps), key=lambda cb: [L.mean, L.by_name, L.work_println].index(cb[0][2]))
        for i, ((n, what, target), b) in enumerate(order):
            ev = s.expect_stopped(f"stop {i + 1} ({what} {n})")
            s.check_stop_at(f"stop {i + 1} ({what} {n} -> {target})", ev, MAIN_GO, target, b.get("id"))
            s.cont(ev["body"].get("threadId"))
        s.expect_terminated("after the snapped breakpoints")
    s.disconnect_and_finish()


@scenario()
def conditional(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(MAIN_GO, [{"line": L.loop_body, "condition": "x == 4"}])
    t.check("conditional breakpoint verified", bps and bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    ev = s.expect_stopped("conditional stop")
    frame = s.check_stop_at("conditional stop", ev, MAIN_GO, L.loop_body, bps[0].get("id"))
    x = s.evaluate("x", frame["id"])
    t.check("x == 4 at the stop", x == "4", f"x = {x}", show=True)
    m = s.evaluate("m", frame["id"])
    t.check("m == 3 at the stop (inputs 3, 1 seen before)", m == "3", f"m = {m}")
    s.cont(ev["body"].get("threadId"))
    s.expect_terminated("stops only once")
    s.disconnect_and_finish()


@scenario()
def logpoint(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(MAIN_GO, [{"line": L.loop_body, "logMessage": "x is {x}"}])
    t.check("logpoint verified", bps and bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    try:
        ev = s.c.wait_event("output", lambda e: "x is 3" in e["body"].get("output", ""), timeout=STOP_TIMEOUT)
        t.check("output event with 'x is 3'", True, repr(ev["body"]["output"]), show=True)
    except dc.DAPError as e:
        t.check("output event with 'x is 3'", False, str(e))
    s.expect_terminated("logpoint does not stop")
    logs = [e["body"]["output"] for e in s.c.events("output") if "x is " in e["body"].get("output", "")]
    got = [re.search(r"x is (\S+)", o).group(1) for o in logs]
    t.check("one log line per iteration, in order (3 1 4 1 5)", got == ["3", "1", "4", "1", "5"], repr(logs))
    t.check("no stopped event at all", not s.c.events("stopped"), json.dumps(s.c.events("stopped")))
    s.disconnect_and_finish()


@scenario()
def hit_condition(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    # Delve's syntax: "N" or "OP N" with OP in == >= <= > < % !=; a bare
    # number means "== N" (pkg/proc/target_group.go parseHitCondition).
    bps = s.set_bps(MAIN_GO, [{"line": L.loop_body, "hitCondition": "3"}])
    t.check("hit-condition breakpoint verified", bps and bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    ev = s.expect_stopped("first stop")
    frame = s.check_stop_at("first stop", ev, MAIN_GO, L.loop_body, bps[0].get("id"))
    x = s.evaluate("x", frame["id"])
    t.check("first stop is the 3rd hit (x == 4: inputs 3, 1, 4)", x == "4", f"x = {x}")
    s.cont(ev["body"].get("threadId"))
    s.expect_terminated("\"3\" means == 3: no 4th/5th stop")
    s.disconnect_and_finish()


@scenario()
def replace_and_clear(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    a = s.set_bps(MAIN_GO, [L.note_greeting, L.mean])
    t.check("file A: 2 verified", len(a) == 2 and all(b.get("verified") for b in a), json.dumps(a))
    b = s.set_bps(WORK_GO, [L.calls])
    t.check("file B: 1 verified", len(b) == 1 and b[0].get("verified"), json.dumps(b))
    a2 = s.set_bps(MAIN_GO, [L.log_println])
    t.check("file A replaced: response has 1 breakpoint",
            len(a2) == 1 and a2[0].get("verified") and a2[0].get("line") == L.log_println, json.dumps(a2))
    a3 = s.set_bps(MAIN_GO, [])
    t.check("file A cleared: response has 0 breakpoints", a3 == [], json.dumps(a3))
    s.configuration_done()
    ev = s.expect_stopped("only B")
    s.check_stop_at("only B", ev, WORK_GO, L.calls, b[0].get("id"))
    s.cont(ev["body"].get("threadId"))
    s.expect_terminated("A's breakpoints are gone")
    s.disconnect_and_finish()


@scenario()
def set_while_running(t):
    """Breakpoints set, cleared and set again while the program runs (no stop
    in between): each new one is verified and hit, a cleared one is not."""
    L = t.r.lines
    s = t.start()
    s.launch(dict(exec_launch(t.binary(BIN_127)), args=["spin"]))
    s.configuration_done()
    time.sleep(0.3)  # let it run

    def set_and_stop(label, line):
        """Sets one breakpoint on spin.go while running; returns (stop event, loop variable i)."""
        bps = s.set_bps(SPIN_GO, [line])
        t.check(f"{label}: new breakpoint verified at its line",
                bps[0].get("verified") is True and bps[0].get("line") == line, json.dumps(bps))
        ev = s.expect_stopped(f"{label}: stop")
        frame = s.check_stop_at(f"{label}: stop", ev, SPIN_GO, line, bps[0].get("id"))
        return ev, int(s.evaluate("i", frame["id"]))

    ev, i1 = set_and_stop("running", L.tick)
    t.check("stopped: cleared breakpoints answer empty", s.set_bps(SPIN_GO, []) == [])
    s.cont(ev["body"].get("threadId"))
    try:
        ev = s.c.wait_event("stopped", timeout=0.5)
        t.check("cleared: runs on without stopping", False, json.dumps(ev))
    except dc.DAPTimeout:
        t.check("cleared: runs on without stopping", True)
    ev, i2 = set_and_stop("running again", L.sleep)
    t.check(f"the loop went on while running (i {i1} then {i2})", i2 > i1)
    s.disconnect_and_finish()


@scenario()
def breakpoint_locations(t):
    L = t.r.lines
    s = t.start()
    cap = s.caps.get("supportsBreakpointLocationsRequest")
    if t.kind == "dlv":
        t.check("capability supportsBreakpointLocationsRequest absent/false", not cap, f"{cap!r}")
    else:
        t.check("capability supportsBreakpointLocationsRequest true", cap is True, f"{cap!r}")
    s.launch(exec_launch(t.binary(BIN_127)))
    a, b = L.run_func, L.main_end
    r = s.c.request("breakpointLocations", {"source": {"name": "main.go", "path": MAIN_GO}, "line": a, "endLine": b})
    if t.kind == "dlv":
        t.check("breakpointLocations: error response", r.get("success") is False,
                f"{r.get('message')!r} {json.dumps(r.get('body'))}", show=True)
    else:
        t.require("breakpointLocations succeeds", r.get("success"), r.get("message"))
        locs = (r.get("body") or {}).get("breakpoints")
        t.require("body.breakpoints is a list", isinstance(locs, list), json.dumps(r.get("body")))
        lines = [x.get("line") for x in locs]
        t.check(f"all lines within [{a}, {b}], ascending, no duplicates",
                all(isinstance(n, int) and a <= n <= b for n in lines) and lines == sorted(set(lines)), repr(lines))
        for n in (L.note_greeting, L.mean, L.work_println, L.log_println):
            t.check(f"line {n} (code) listed", n in lines, repr(lines))
        for n in (L.blank_in_run, L.brace_in_run, L.block_comment, L.block_comment + 1,
                  L.block_comment + 2, L.block_comment + 3):
            t.check(f"line {n} ({L.text(n).strip() or 'blank'}) not listed", n not in lines, repr(lines))
        want = t.r.dlv_verified_lines(MAIN_GO, a, b)
        if want is not None:
            t.check(f"lines == the lines in [{a}, {b}] plain dlv verifies", lines == want,
                    f"extra {sorted(set(lines) - set(want))}, missing {sorted(set(want) - set(lines))}")
    s.disconnect_and_finish()


@scenario()
def trimpath(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_TRIM)))
    bps = s.set_bps(MAIN_GO, [L.note_greeting])
    if t.kind == "dlv":
        t.check("absolute path on a -trimpath binary: unverified", bps[0].get("verified") is False, json.dumps(bps))
        s.configuration_done()
        s.expect_terminated("no breakpoint")
    else:
        t.check("absolute path on a -trimpath binary: verified", bps[0].get("verified") is True, json.dumps(bps))
        s.configuration_done()
        ev = s.expect_stopped("stop")
        body = ev["body"]
        t.check("stop: hitBreakpointIds contains the id", bps[0].get("id") in (body.get("hitBreakpointIds") or []),
                json.dumps(body))
        frame = s.top_frame(body.get("threadId"))
        t.check(f"stop: top frame main.go:{L.note_greeting}",
                frame.get("line") == L.note_greeting
                and (frame.get("source") or {}).get("path", "").endswith("main.go"),
                json.dumps(frame))
    s.disconnect_and_finish()


@scenario()
def symlink(t):
    L = t.r.lines
    d = t.tmpdir()
    link = os.path.join(d, "example-link")
    os.symlink(EXAMPLE_DIR, link)
    via_link = os.path.join(link, "main.go")
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(via_link, [L.note_greeting])
    if t.kind == "dlv":
        t.check("path through a symlink: unverified", bps[0].get("verified") is False, json.dumps(bps))
        s.configuration_done()
        s.expect_terminated("no breakpoint")
    else:
        t.check("path through a symlink: verified", bps[0].get("verified") is True, json.dumps(bps))
        s.configuration_done()
        ev = s.expect_stopped("stop")
        s.check_stop_at("stop", ev, via_link, L.note_greeting, bps[0].get("id"))
    s.disconnect_and_finish()


@scenario()
def pie(t):
    """A position-independent binary (-buildmode=pie), loaded at a random
    base: the shim learns the load bias from dlv and arms runtime addresses,
    so a line with code stops where dlv stops, and a comment line snaps (the
    index is in use); dlv refuses the comment line with its own message."""
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_PIE)))
    bps = s.set_bps(MAIN_GO, [L.note_greeting, L.store_comment])
    t.require("one breakpoint per requested line", len(bps) == 2, json.dumps(bps))
    t.check("line with code: verified at its own line",
            bps[0].get("verified") is True and bps[0].get("line") == L.note_greeting, json.dumps(bps[0]))
    if t.kind == "dlv":
        want = f"could not find statement at {MAIN_GO}:{L.store_comment}, please use a line with a statement"
        t.check("comment line: refused", bps[1].get("verified") is False and bps[1].get("message") == want,
                json.dumps(bps[1]))
    else:
        t.check("comment line: moved to the next line with code (the index is used)",
                bps[1].get("verified") is True and bps[1].get("line") == L.by_name, json.dumps(bps[1]))
        ref = bps[0].get("instructionReference", "")
        t.check("armed at a runtime address (not a link address below 4 GiB)",
                ref.startswith("0x") and int(ref, 16) >= 1 << 32, ref)
    s.configuration_done()
    ev = s.expect_stopped("stop")
    s.check_stop_at("stop", ev, MAIN_GO, L.note_greeting, bps[0].get("id"))
    if t.kind == "shim":
        s.cont(ev["body"].get("threadId"))
        ev = s.expect_stopped("snapped stop")
        s.check_stop_at("snapped stop", ev, MAIN_GO, L.by_name, bps[1].get("id"))
    s.disconnect_and_finish()


@scenario()
def client_addr(t):
    L = t.r.lines
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        argv = t.adapter_argv([f"--client-addr=127.0.0.1:{port}"])
        proc = dc.spawn_adapter(argv, env=t.r.adapter_env, cwd=t.r.adapter_cwd, with_fd3=False)
        t.procs.append(proc)
        t.r.live_procs.add(proc)
        try:
            client = dc.DAPClient.accept(listener, timeout=30, name=t.name)
        except dc.DAPError as e:
            t.require("adapter dials in", False, f"{e}; stderr {''.join(proc.stderr_lines)[-500:]!r}")
    finally:
        listener.close()
    t.check("adapter dialed in", True)
    s = Session(t, proc, client)
    t.sessions.append(s)
    s.initialize()
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(MAIN_GO, [L.note_greeting])
    t.check("breakpoint verified", bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    ev = s.expect_stopped("stop")
    s.check_stop_at("stop", ev, MAIN_GO, L.note_greeting, bps[0].get("id"))
    s.disconnect_and_finish()


@scenario()
def log_dest_3(t):
    s = t.start()
    p = s.proc
    t.check("listening line came on fd 3", p.listening_source == "fd3",
            f"source {p.listening_source}: {p.listening_line!r}")
    t.check("fd 3 starts with the listening line",
            p.fd3_lines[:1] and p.fd3_lines[0].startswith(dc.LISTENING_PREFIX), repr(p.fd3_lines[:3]))
    # Launch (the debuggee is created but does not run main: no output of
    # its own), then end the session.
    s.launch(exec_launch(t.binary(BIN_127)))
    s.disconnect_and_finish()
    out = "".join(p.stdout_lines)
    t.check("no DAP traffic on stdout", "Content-Length" not in out and '"seq"' not in out, repr(out[:300]))
    extra = [ln for ln in p.stdout_lines if not ln.startswith(dc.LISTENING_PREFIX)]
    t.check("stdout has nothing but (at most) the listening line", not extra, repr(out[:300]))


@scenario(kinds=("shim",))
def dlv_killed(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(MAIN_GO, [L.note_greeting])
    s.configuration_done()
    s.expect_stopped("stop")
    s.proc.watcher.poll()
    kids = dc.children_of(s.proc.pid)
    dlvs = [k for k in kids if os.path.basename((dc.proc_cmdline(k) or [""])[0]) == "dlv"
            or (dc.proc_stat(k) or ("", 0, 0, ""))[3] == "dlv"]
    t.require("the shim has exactly one dlv child", len(dlvs) == 1,
              f"children {[(k, dc.proc_cmdline(k)) for k in kids]}")
    dlv_pid = dlvs[0]
    # dlv itself already said "Type 'dlv help' for list of commands." on
    # configurationDone: only output events after the kill count.
    before = {id(e) for e in s.c.events()}
    os.kill(dlv_pid, signal.SIGKILL)
    t0 = time.monotonic()
    try:
        ev = s.c.wait_event("terminated", lambda e: id(e) not in before, timeout=10)
        t.check("terminated event within 10 s", True, f"{time.monotonic() - t0:.2f} s", show=True)
    except dc.DAPError as e:
        t.check("terminated event within 10 s", False, str(e))
    try:
        ev = s.c.wait_event("output", lambda e: id(e) not in before and "dlv" in e["body"].get("output", "").lower(),
                            timeout=max(0.1, t0 + 10 - time.monotonic()))
        t.check("an output event mentions dlv (within 10 s)", True, repr(ev["body"]["output"]), show=True)
    except dc.DAPError as e:
        outs = [e["body"].get("output", "") for e in s.c.events("output") if id(e) not in before]
        t.check("an output event mentions dlv (within 10 s)", False, f"{e}; outputs after the kill: {outs!r}")
    s.finish("after dlv was killed", expect_code="nonzero")


@scenario()
def client_vanishes(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    s.set_bps(MAIN_GO, [L.note_greeting])
    s.configuration_done()
    s.expect_stopped("stop")
    s.proc.watcher.poll()
    s.c.abort()
    s.finish("after the client vanished")


@scenario(kinds=("shim",))
def malformed_frame(t):
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    n_before = len(s.c.messages)
    s.c.send_raw(b"Content-Length: abc\r\n\r\n{}")
    t0 = time.monotonic()
    deadline = t0 + 5
    answered = closed = False
    while time.monotonic() < deadline:
        if s.c.wait_closed(0.05):
            closed = True
            break
        if any(m.get("type") == "response" and m.get("success") is False for m in s.c.messages[n_before:]):
            answered = True
            break
    t.check("closes the connection or answers an error within 5 s", closed or answered,
            f"closed={closed} answered={answered} after {time.monotonic() - t0:.2f} s", show=True)
    if answered and not closed:
        # It kept the session: end it properly.
        r = s.c.request("disconnect", {"terminateDebuggee": True}, timeout=EXIT_TIMEOUT)
        t.check("disconnect after the error succeeds", r.get("success"), r.get("message"))
    s.finish("after the malformed frame", expect_code="clean")


@scenario(slow=True)
def every_line(t):
    """Sets a breakpoint on every line of main.go (one at a time, replacing
    the previous one) and records verified/line/message per line."""
    files = [MAIN_GO] if not t.args.every_line_all else sorted(
        os.path.join(dp, f) for dp, _, fs in os.walk(EXAMPLE_DIR) for f in fs if f.endswith(".go") and not f.endswith("_test.go"))
    s = t.start()
    binary_name = BIN_127
    s.launch(exec_launch(t.binary(binary_name)))
    record = {"kind": t.kind, "adapter": t.args.adapter, "binary": binary_name, "files": {}}
    for path in files:
        rows = []
        text = read_lines(path)
        for n in range(1, len(text) + 1):
            r = s.c.request("setBreakpoints", {"source": {"name": os.path.basename(path), "path": path},
                                               "breakpoints": [{"line": n}]})
            if not r.get("success"):
                rows.append({"line": n, "text": text[n - 1], "error": r.get("message")})
                continue
            b = r["body"]["breakpoints"][0]
            rows.append({"line": n, "text": text[n - 1], "verified": bool(b.get("verified")),
                         "bp_line": b.get("line"), "source": (b.get("source") or {}).get("path"),
                         "message": b.get("message")})
        s.set_bps(path, [])
        rel = os.path.relpath(path, EXAMPLE_DIR)
        record["files"][rel] = rows
        errors = [x for x in rows if "error" in x]
        t.check(f"{rel}: every setBreakpoints request answered with success", not errors, repr(errors[:3]))
        ver = [x for x in rows if x.get("verified")]
        unver = [x for x in rows if "error" not in x and not x.get("verified")]
        # dlv quirk: a package-level variable initializer line (main.go:25)
        # is verified, but the breakpoint lands in main.init and dlv reports
        # it at <autogenerated>:1.
        auto = [x for x in ver if x["source"] == "<autogenerated>" and x["bp_line"] == 1 and not x["message"]]
        ver = [x for x in ver if x not in auto]
        if auto:
            t.check(f"{rel}: {len(auto)} verified but reported at <autogenerated>:1 (package var initializers)",
                    all(x["text"].strip() and not x["text"].lstrip().startswith(("func", "//")) for x in auto),
                    repr(auto[:3]), show=True)
        if t.kind == "dlv":
            bad = [x for x in ver if not (x["bp_line"] == x["line"] and x["source"] == path and not x["message"])]
            t.check(f"{rel}: {len(ver)} verified at the requested file:line", not bad, repr(bad[:3]))
            pat = re.compile(r"could not find statement at (.*):(\d+), please use a line with a statement$")
            bad = [x for x in unver if not (pat.match(x["message"] or "")
                                            and pat.match(x["message"]).group(1) == path
                                            and int(pat.match(x["message"]).group(2)) == x["line"])]
            t.check(f"{rel}: {len(unver)} unverified, all with 'could not find statement at {rel}:N, ...'",
                    not bad, repr(bad[:3]))
        else:
            def ok_row(x):
                if os.path.realpath(x["source"] or "") != os.path.realpath(path):
                    return False
                if x["bp_line"] == x["line"]:
                    return not x.get("message")
                n = x["line"]
                return (isinstance(x["bp_line"], int) and x["bp_line"] > n
                        and x.get("message") == f"moved from line {n}: no statement on line {n}")
            bad = [x for x in ver if not ok_row(x)]
            moved = sum(1 for x in ver if x["bp_line"] != x["line"])
            t.check(f"{rel}: {len(ver)} verified ({moved} moved), each exact or 'moved from line N: ...'",
                    not bad, repr(bad[:3]))
            bad = [x for x in unver if not x.get("message")]
            t.check(f"{rel}: {len(unver)} unverified, each with a message", not bad, repr(bad[:3]))
        if path == MAIN_GO:
            L = t.r.lines
            by = {x["line"]: x for x in rows}
            for n in (L.note_greeting, L.mean, L.work_println, L.log_println):
                t.check(f"main.go:{n} (code) verified at {n}",
                        by[n].get("verified") and by[n].get("bp_line") == n, json.dumps(by[n]))
    s.disconnect_and_finish()
    if t.args.record:
        with open(t.args.record, "w") as f:
            json.dump(record, f, indent=1)
        t.check(f"per-line results written to {t.args.record}", True)
    if t.args.compare_with:
        with open(t.args.compare_with) as f:
            other = json.load(f)
        compare_records(t.check, other, record)


def func_bodies(lines):
    """[(first, last)] line ranges of the top-level functions of a Go file:
    from a line starting with "func " to the next line that is exactly "}"."""
    out, start = [], None
    for i, text in enumerate(lines, 1):
        if start is None and text.startswith("func ") and not text.rstrip().endswith("}"):
            start = i
        elif start is not None and text.rstrip() == "}":
            out.append((start, i))
            start = None
    return out


def compare_records(check, a, b):
    """Compares a dlv record with a shim record (either order).
    1. Every line dlv verifies must be verified by the shim with the same
       reported line and message (drop-in). Lines dlv verifies but reports
       at <autogenerated>:1 (package-level variable initializers, whose
       code is in the package's init) get a check of their own.
    2. A line strictly inside a top-level function body that dlv does not
       verify must be verified by the shim at the next line dlv verifies in
       that function, with message "moved from line N: no statement on
       line N" -- or stay unverified if dlv verifies no later line of that
       function (e.g. an uninstantiated generic method has no code).
    3. Lines outside function bodies that dlv does not verify: only counted."""
    recs = {a["kind"]: a, b["kind"]: b}
    if set(recs) != {"dlv", "shim"}:
        check("compare: one dlv record and one shim record", False, f"kinds {a['kind']}, {b['kind']}")
        return
    d, s = recs["dlv"], recs["shim"]
    for rel in sorted(set(d["files"]) & set(s["files"])):
        drows = {x["line"]: x for x in d["files"][rel]}
        srows = {x["line"]: x for x in s["files"][rel]}
        text = [drows[n]["text"] for n in sorted(drows)]
        bodies = func_bodies(text)
        verified = sorted(n for n, x in drows.items() if x.get("verified"))
        same, diff, moved_ok, moved_bad, outside = 0, [], 0, [], {"verified": 0, "unverified": 0}
        auto_same, auto_diff = 0, []  # lines dlv reports at <autogenerated>:1
        for n, dx in sorted(drows.items()):
            sx = srows.get(n)
            if sx is None:
                diff.append((n, "missing in the shim record"))
                continue
            if dx.get("verified") and dx.get("source") == "<autogenerated>":
                # dlv reports the line its address maps back to; the shim keeps
                # the requested line (same address: test_every_line.py checks it).
                if sx.get("verified") and sx.get("bp_line") == n and sx.get("source", "").endswith(rel):
                    auto_same += 1
                else:
                    auto_diff.append((n, text[n - 1].strip(), {k: sx.get(k) for k in ("verified", "bp_line", "source", "message")}))
                continue
            if dx.get("verified"):
                if sx.get("verified") and (sx.get("bp_line"), sx.get("message")) == (dx.get("bp_line"), dx.get("message")):
                    same += 1
                else:
                    diff.append((n, f"dlv {dx.get('bp_line')}/{dx.get('message')!r}; shim {sx}"))
                continue
            body = next(((f, l) for f, l in bodies if f < n < l), None)
            if body is None:
                outside["verified" if sx.get("verified") else "unverified"] += 1
                continue
            want = next((v for v in verified if n < v <= body[1]), None)
            msg = f"moved from line {n}: no statement on line {n}"
            if want is None:
                # No code after line n in this function (e.g. an
                # uninstantiated generic method): nothing to move to.
                if not sx.get("verified"):
                    moved_ok += 1
                else:
                    moved_bad.append((n, text[n - 1].strip(), "want unverified (no code after it in the function)",
                                      {k: sx.get(k) for k in ("verified", "bp_line", "message")}))
            elif sx.get("verified") and sx.get("bp_line") == want and sx.get("message") == msg:
                moved_ok += 1
            else:
                moved_bad.append((n, text[n - 1].strip(), f"want {want}", {k: sx.get(k) for k in ("verified", "bp_line", "message")}))
        check(f"compare {rel}: shim == dlv on the {same + len(diff)} lines dlv verifies at the line itself",
              not diff, repr(diff[:5]))
        if auto_same or auto_diff:
            check(f"compare {rel}: the {auto_same + len(auto_diff)} package-level initializer lines dlv reports at "
                  f"<autogenerated>:1 are verified at their own line by the shim", not auto_diff, repr(auto_diff[:5]))
        check(f"compare {rel}: {moved_ok + len(moved_bad)} in-function lines dlv rejects are moved to the next "
              f"line with code", not moved_bad, f"{len(moved_bad)} wrong, e.g. {moved_bad[:4]!r}")
        check(f"compare {rel}: lines outside function bodies that dlv rejects: shim verifies {outside['verified']}, "
              f"rejects {outside['unverified']}", True)


# ---------------------------------------------------------------------------
# Runner.


class Runner:
    def __init__(self, args):
        self.args = args
        self.results = Results()
        self.lines = Lines()
        self.corpus = dc.Corpus(args.corpus)
        self.live_procs = set()
        self.adapter_cwd = tempfile.mkdtemp(prefix="dap-test-cwd-")
        self.adapter_env = dc.adapter_env(args.go)
        self._dlv_lines_cache = {}
        self.arm64 = None

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
        proc, host, port = dc.start_adapter([dlv, "dap"], env=self.adapter_env, cwd=self.adapter_cwd)
        try:
            c = dc.DAPClient.connect(host, port, timeout=10, name="oracle")
            c.request_ok("initialize", INITIALIZE_ARGS)
            c.request_ok("launch", exec_launch(self.binary(BIN_127)))
            got = []
            for n in range(a, b + 1):
                r = c.request_ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": n}]})
                if r["body"]["breakpoints"][0].get("verified"):
                    got.append(n)
            c.request("disconnect", {"terminateDebuggee": True}, timeout=EXIT_TIMEOUT)
            c.close()
            dc.wait_exit(proc, EXIT_TIMEOUT)
        finally:
            if dc.stop_adapter(proc, settle=2):
                dc.kill_leftovers(proc)
        self._dlv_lines_cache[key] = got
        return got

    def run_one(self, name, fn):
        t = Test(self, name)
        t0 = time.monotonic()
        try:
            fn(t)
        except Abort:
            pass
        except Exception as e:
            detail = f"{type(e).__name__}: {e}"
            if os.environ.get("DAP_TRACE"):
                detail += "\n" + traceback.format_exc()
            t.check("scenario raised", False, detail)
            for p in t.procs:
                err = "".join(p.stderr_lines)[-800:]
                if err:
                    print(f"#   adapter {p.pid} stderr tail: {err!r}", flush=True)
        finally:
            t.cleanup()
        print(f"# {name}: {time.monotonic() - t0:.2f} s", flush=True)

    def watchdog(self, seconds):
        def fire():
            print(f"FAIL watchdog: the whole run exceeded {seconds} s; stopping adapters", flush=True)
            for p in list(self.live_procs):
                try:
                    if dc.stop_adapter(p, term_timeout=2, settle=1):
                        dc.kill_leftovers(p)
                except Exception:
                    pass
            print(f"{self.results.passed} passed, {self.results.failed + 1} failed", flush=True)
            os._exit(1)
        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        timer.start()
        return timer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapter", help="adapter executable (run as ADAPTER dap ...)")
    ap.add_argument("--adapter-kind", choices=["dlv", "shim"], default="dlv",
                    help="whose behaviour to expect where dlvidx dap is meant to differ from dlv")
    ap.add_argument("--dlv", help="dlv for the shim (passed as `--dlv PATH`); also the breakpointLocations oracle")
    ap.add_argument("--corpus", default=os.path.join(REPO, "tests", "corpus", "corpus.py"))
    ap.add_argument("--go", default="/usr/lib/go-1.27/bin/go", help="its directory is put first on the adapter's PATH")
    ap.add_argument("-k", action="append", default=[], metavar="SCENARIO",
                    help="run only scenarios whose name contains SCENARIO (repeatable)")
    ap.add_argument("--slow", action="store_true", help="also run the slow scenarios (every_line)")
    ap.add_argument("--record", metavar="FILE", help="every_line: write the per-line results as JSON")
    ap.add_argument("--compare-with", metavar="FILE", help="every_line: compare with a record of the other kind")
    ap.add_argument("--every-line-all", action="store_true", help="every_line: all .go files, not only main.go")
    ap.add_argument("--diff-records", nargs=2, metavar=("A.json", "B.json"),
                    help="only compare two every_line records (one dlv, one shim) and exit")
    ap.add_argument("--max-seconds", type=float, default=900, help="watchdog for the whole run")
    ap.add_argument("--arm64", metavar="BUILD_DIR",
                    help="run the adapters in an emulated linux/arm64 machine (tests/arm64) holding the arm64 "
                         "build in BUILD_DIR and Debian's arm64 Delve; the programs are their linux/arm64 builds. "
                         "--adapter and --dlv are then guest paths (default: the guest's dlvidx or dlv)")
    ap.add_argument("--arm64-delve", choices=["1.27", "1.20"], default="1.27",
                    help="with --arm64: which of the guest's Delve versions")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args()

    if args.diff_records:
        res = Results()
        with open(args.diff_records[0]) as f1, open(args.diff_records[1]) as f2:
            compare_records(res.check, json.load(f1), json.load(f2))
        print(f"{res.passed} passed, {res.failed} failed")
        return 1 if res.failed else 0
    if not args.adapter and not args.list and not args.arm64:
        ap.error("--adapter is required")
    if args.list:
        for name, _, kinds, slow in SCENARIOS:
            print(f"{name:22} {'/'.join(kinds)}{'  (slow)' if slow else ''}")
        return 0
    arm64 = None
    if args.arm64:
        sys.path.insert(0, os.path.join(REPO, "tests", "arm64"))
        from target import Arm64
        arm64 = Arm64(build_dir=args.arm64, corpus_py=args.corpus)
        guest_dlv = arm64.dlv120 if args.arm64_delve == "1.20" else arm64.dlv
        args.dlv = args.dlv or guest_dlv
        args.adapter = args.adapter or (arm64.dlvidx if args.adapter_kind == "shim" else guest_dlv)
        print(f"# arm64 guest booted in {arm64.guest.boot_seconds:.1f} s (emulated, TCG)", flush=True)
    else:
        args.adapter = os.path.abspath(args.adapter) if os.sep in args.adapter else (shutil.which(args.adapter) or args.adapter)
        if args.dlv and os.sep in args.dlv:
            args.dlv = os.path.abspath(args.dlv)
    for opt in ("record", "compare_with"):
        if getattr(args, opt):
            setattr(args, opt, os.path.abspath(getattr(args, opt)))

    if args.record or args.compare_with or args.every_line_all:
        args.slow = True  # these only make sense with every_line
    dc.become_subreaper()
    runner = Runner(args)
    runner.arm64 = arm64
    try:
        return run_all(args, runner)
    finally:
        if arm64:
            arm64.close()


def run_all(args, runner):
    runner.watchdog(args.max_seconds)
    t_all = time.monotonic()
    # Build (or find cached) the corpus binaries before any adapter runs.
    for name in (BIN_127, BIN_122, BIN_TRIM, BIN_PIE):
        runner.binary(name)
    print(f"# corpus binaries ready: {time.monotonic() - t_all:.2f} s", flush=True)
    for label, ok in runner.lines.sanity():
        runner.results.check(f"fixture: {label}", ok)

    for name, fn, kinds, slow in SCENARIOS:
        if args.k:
            if not any(k in name for k in args.k):
                continue
            if slow and not args.slow and name not in args.k:
                continue
        elif slow and not args.slow:
            continue
        if args.adapter_kind not in kinds:
            print(f"skip {name}: only for --adapter-kind {'/'.join(kinds)}", flush=True)
            continue
        if args.arm64 and name in NOT_IN_GUEST:
            print(f"skip {name}: not in the arm64 guest ({NOT_IN_GUEST[name]})", flush=True)
            continue
        runner.run_one(name, fn)

    shutil.rmtree(runner.adapter_cwd, ignore_errors=True)
    print(f"# total: {time.monotonic() - t_all:.2f} s{' (arm64 guest: emulated, TCG)' if args.arm64 else ''}",
          flush=True)
    print(f"{runner.results.passed} passed, {runner.results.failed} failed", flush=True)
    return 1 if runner.results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
