#!/usr/bin/env python3
"""Faults, hostile DAP input and leaks for `dlvidx dap` (issue #6).

    python3 tests/dap/test_faults.py --dlvidx build/release/tools/dlvidx --dlv /usr/bin/dlv \\
        [--only faults|hostile|leaks|security] [--sessions 50] [--compare-dlv] [--report DIR]

Real processes only: the shim, the real dlv, real Go programs from the test
corpus, sockets on 127.0.0.1. Every wait is bounded. Each case counts as
handled when the shim answers (a DAP response, error or not) or closes the
session cleanly (an `output` event saying why, `terminated`, a log line) in
bounded time, never dies of a signal or a sanitizer report, and leaves no
process behind. Prints one line per case and a table; with --report DIR (or
$DLVIDX_RELIABILITY_DIR) writes DIR/dap-faults.json for docs/reliability.md.
--compare-dlv also runs each hostile input against plain `dlv dap` and shows
what dlv itself does (not checked: dlv is the reference, not the subject).
Exits 1 if any case was not handled.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dap_client as dc  # noqa: E402
import test_sessions as ts  # noqa: E402

ANSWER_S = 10.0     # a hostile input must be answered or the session closed this soon
EXIT_S = 10.0       # the shim must exit this soon after the session ends
CRASH_MARKS = ("Sanitizer", "runtime error:", "terminate called", "Segmentation fault", "core dumped",
               "Assertion", "AddressSanitizer", "LeakSanitizer")
SPIN = ts.line_of(os.path.join(ts.EXAMPLE_DIR, "spin.go"), "doubled := i * 2")


class Row:
    def __init__(self, area, case, result):
        self.area, self.case, self.result = area, case, result
        self.cases = self.handled = self.crashes = self.hangs = self.leaks = 0
        self.problems = []
        self.dlv = {}   # what plain dlv did, outcome -> count (--compare-dlv)

    def json(self):
        r = {k: getattr(self, k) for k in ("area", "case", "cases", "handled", "crashes", "hangs", "leaks", "result")}
        if self.dlv:
            r["dlv"] = ", ".join(f"{k} ({v})" if v > 1 else k for k, v in self.dlv.items())
        return r


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
    def __init__(self, args):
        self.args = args
        self.rows = []
        self.env = dc.adapter_env()
        self.cwd = tempfile.mkdtemp(prefix="dap-faults-cwd-")
        self.corpus = dc.Corpus(args.corpus)

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

    def start(self, kind="shim", extra=(), initialize=True):
        proc, host, port = dc.start_adapter(self.argv(kind, extra), env=self.env, cwd=self.cwd)
        c = dc.DAPClient.connect(host, port, timeout=10, name=kind)
        if initialize:
            c.request_ok("initialize", ts.INITIALIZE_ARGS, timeout=ANSWER_S)
        return proc, c

    def launch(self, c, binary, args=None, stop_line=None, path=None):
        """launch exec; optionally one breakpoint and run to it. Returns the stopped event or None."""
        la = ts.exec_launch(binary)
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
        code = dc.wait_exit(proc, EXIT_S) if expect_exit else None
        left = dc.stop_adapter(proc, term_timeout=5, settle=5)
        if left:
            dc.kill_leftovers(proc)
        out.exit = proc.returncode
        logs = "".join(proc.stderr_lines + proc.fd3_lines + proc.stdout_lines)
        marks = [m for m in CRASH_MARKS if m in logs]
        if expect_exit and code is None:
            out.crashed = f"did not exit within {EXIT_S:.0f} s of the client closing"
        elif proc.returncode is not None and (proc.returncode < 0 or proc.returncode >= 128) and expect_exit:
            out.crashed = f"exit status {proc.returncode}"
        elif marks:
            out.crashed = f"log says {marks}: {logs[-400:]!r}"
        out.leftover = list(left)
        return out

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


def wait_answer(c, seq=None, timeout=ANSWER_S):
    """A response to seq (any response if seq is None), or the connection
    closing; returns the outcome string or None (hang)."""
    deadline = time.monotonic() + timeout
    n0 = 0 if seq is not None else len(c.messages)
    while time.monotonic() < deadline:
        msgs = list(c.messages[n0:]) if seq is None else [m for m in c.messages if m.get("request_seq") == seq]
        for m in msgs:
            if m.get("type") == "response":
                return "response" if m.get("success") else "error response"
        if c.closed:
            term = any(m.get("event") == "terminated" for m in c.messages)
            return "closed with terminated" if term else "closed"
        time.sleep(0.02)
    return None


# ---------------------------------------------------------------------------
# Hostile DAP input.

def frame(body):
    if isinstance(body, str):
        body = body.encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def req(command, arguments=None, seq=9001):
    m = {"seq": seq, "type": "request", "command": command}
    if arguments is not None:
        m["arguments"] = arguments
    return json.dumps(m)


def hostile_cases(main_go):
    """(group, label, phase, bytes, seq or None). phase: fresh (connected, nothing
    sent), init (initialized), launched (launched, configured, not running)."""
    big = 10 ** 5
    src = {"path": main_go}
    sb = lambda a: req("setBreakpoints", a)  # noqa: E731
    cases = [
        # Framing.
        ("framing", "no Content-Length", "init", b"Content-Type: application/json\r\n\r\n{}", None),
        ("framing", "duplicate Content-Length", "init", b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", None),
        ("framing", "non-numeric length", "init", b"Content-Length: abc\r\n\r\n{}", None),
        ("framing", "negative length", "init", b"Content-Length: -5\r\n\r\n{}", None),
        ("framing", "length with sign", "init", b"Content-Length: +2\r\n\r\n{}", None),
        ("framing", "length overflowing 64 bits", "init", b"Content-Length: 99999999999999999999999\r\n\r\n{}", None),
        ("framing", "2 GiB length", "launched", b"Content-Length: 2147483648\r\n\r\n{\"seq\":1,", None),
        ("framing", "64 MiB + 1 length", "init", b"Content-Length: 67108865\r\n\r\n{", None),
        ("framing", "header field without colon", "init", b"Content-Length 2\r\n\r\n{}", None),
        ("framing", "16 KiB header, no end", "init", b"X-Junk: " + b"x" * 16384, None),
        ("framing", "zero-length body", "init", b"Content-Length: 0\r\n\r\n", None),
        ("framing", "NUL bytes instead of a header", "fresh", b"\0" * 64 + b"\r\n\r\n", None),
        # Bodies that are not DAP messages.
        ("json", "invalid JSON", "init", frame("{\"seq\":1,"), None),
        ("json", "JSON array", "init", frame("[1,2,3]"), None),
        ("json", "JSON number", "init", frame("42"), None),
        ("json", "JSON string", "init", frame("\"request\""), None),
        ("json", "JSON null", "init", frame("null"), None),
        ("json", "10,000 nested arrays", "init", frame("[" * 10000 + "]" * 10000), None),
        ("json", "invalid UTF-8 in a string (evaluate)", "launched",
         frame(b'{"seq":9001,"type":"request","command":"evaluate","arguments":{"expression":"\xff\xfe\xc3"}}'), 9001),
        ("json", "invalid UTF-8 in a source path (setBreakpoints)", "launched",
         frame(b'{"seq":9001,"type":"request","command":"setBreakpoints","arguments":{"source":{"path":"/tmp/\xff.go"},'
               b'"breakpoints":[{"line":3}]}}'), 9001),
        ("json", "object without type", "init", frame('{"seq":9001}'), 9001),
        ("json", "type is a number", "init", frame('{"seq":9001,"type":5}'), 9001),
        ("json", "request without command", "init", frame('{"seq":9001,"type":"request"}'), 9001),
        ("json", "command is a number", "init", frame('{"seq":9001,"type":"request","command":7}'), 9001),
        ("json", "seq is a string", "init", frame('{"seq":"x","type":"request","command":"threads"}'), None),
        ("json", "an event from the client", "init", frame('{"seq":9001,"type":"event","event":"stopped"}'), None),
        # Commands and arguments.
        ("arguments", "unknown command", "init", frame(req("fooBar", {})), 9001),
        ("arguments", "setBreakpoints: source is a number", "launched", frame(sb({"source": 5, "breakpoints": []})), 9001),
        ("arguments", "setBreakpoints: breakpoints is a string", "launched",
         frame(sb({"source": src, "breakpoints": "x"})), 9001),
        ("arguments", "setBreakpoints: line is a string", "launched",
         frame(sb({"source": src, "breakpoints": [{"line": "x"}]})), 9001),
        ("arguments", "setBreakpoints: lines holds strings", "launched", frame(sb({"source": src, "lines": ["a"]})), 9001),
        ("arguments", "setBreakpoints: line -1, 0, 2^63-1, 1e300", "launched",
         frame(sb({"source": src, "breakpoints": [{"line": -1}, {"line": 0}, {"line": 2 ** 63 - 1}, {"line": 1e300}]})), 9001),
        ("arguments", "setBreakpoints: line 1e999, -1e999 (infinite as doubles), 1.5", "launched",
         frame(sb({"source": src, "breakpoints": []})[:-4].encode()
               + b'[{"line":1e999},{"line":-1e999},{"line":1.5}]}}'), 9001),
        ("arguments", "setBreakpoints: no arguments", "launched", frame(req("setBreakpoints")), 9001),
        ("arguments", "setBreakpoints: arguments null", "launched", frame(req("setBreakpoints", None) [:-1] + ',"arguments":null}'), 9001),
        ("arguments", "setBreakpoints: path is a number", "launched",
         frame(sb({"source": {"path": 123}, "breakpoints": [{"line": 3}]})), 9001),
        ("arguments", "setBreakpoints: 1 MiB path", "launched",
         frame(sb({"source": {"path": "/" + "a" * (1 << 20) + ".go"}, "breakpoints": [{"line": 3}]})), 9001),
        ("arguments", "setBreakpoints: path with NUL", "launched",
         frame(sb({"source": {"path": main_go + "\u0000x"}, "breakpoints": [{"line": 3}]})), 9001),
        ("arguments", "setBreakpoints: condition is an object", "launched",
         frame(sb({"source": src, "breakpoints": [{"line": 3, "condition": {"a": 1}}]})), 9001),
        ("arguments", "setInstructionBreakpoints: breakpoints is an object", "launched",
         frame(req("setInstructionBreakpoints", {"breakpoints": {}})), 9001),
        ("arguments", "setInstructionBreakpoints: bad references", "launched",
         frame(req("setInstructionBreakpoints", {"breakpoints": [{"instructionReference": 5, "offset": "x"},
                                                                 {"instructionReference": "0xzz"}]})), 9001),
        ("arguments", "breakpointLocations: line is a string", "launched",
         frame(req("breakpointLocations", {"source": src, "line": "x"})), 9001),
        ("arguments", "breakpointLocations: endLine before line, huge", "launched",
         frame(req("breakpointLocations", {"source": src, "line": 2 ** 62, "endLine": 1})), 9001),
        ("arguments", "launch: program is a number", "init", frame(req("launch", {"mode": "exec", "program": 5})), 9001),
        ("arguments", "launch: substitutePath is a string", "init",
         frame(req("launch", {"mode": "exec", "program": "/nonexistent", "substitutePath": "x"})), 9001),
        ("arguments", "launch: substitutePath entries of wrong types", "init",
         frame(req("launch", {"mode": "exec", "program": "/nonexistent", "substitutePath": [{"from": 5, "to": []}]})), 9001),
        ("arguments", "initialize: arguments is a string", "fresh", frame(req("initialize", "x")), 9001),
        # Out of order.
        ("order", "setBreakpoints before initialize", "fresh", frame(sb({"source": src, "breakpoints": [{"line": 3}]})), 9001),
        ("order", "launch before initialize", "fresh", frame(req("launch", {"mode": "exec", "program": "/nonexistent"})), 9001),
        ("order", "stackTrace before initialize", "fresh", frame(req("stackTrace", {"threadId": 1})), 9001),
        ("order", "configurationDone before launch", "init", frame(req("configurationDone")), 9001),
        ("order", "breakpointLocations before launch", "init", frame(req("breakpointLocations", {"source": src, "line": 3})), 9001),
        # Size.
        ("size", f"setBreakpoints with {big:,} breakpoints", "launched",
         frame(sb({"source": src, "breakpoints": [{"line": i} for i in range(1, big + 1)]})), 9001),
        ("size", f"setBreakpoints with {big:,} lines (deprecated form)", "launched",
         frame(sb({"source": src, "lines": list(range(1, big + 1))})), 9001),
        ("size", "1,000 requests pipelined in one write", "launched",
         b"".join(frame(req("threads", None, seq)) for seq in range(9001, 10001)), 10000),
    ]
    return cases


def run_hostile(s):
    main_go = ts.MAIN_GO
    binary = s.binary(ts.BIN_127)
    rows = {}
    titles = {"framing": "broken framing", "json": "bodies that are not DAP messages",
              "arguments": "unknown commands, wrong argument types", "order": "requests out of order",
              "size": "huge requests"}
    for group, label, phase, data, seq in hostile_cases(main_go):
        row = rows.get(group) or rows.setdefault(group, s.row(
            "Hostile DAP input", titles[group], "error response, or output + terminated and a clean close"))
        kinds = ["shim"] + (["dlv"] if s.args.compare_dlv else [])
        for kind in kinds:
            out = Outcome()
            proc, c = s.start(kind, initialize=(phase != "fresh"))
            try:
                if phase == "launched":
                    s.launch(c, binary)
                n0 = len(c.messages)
                t0 = time.monotonic()
                try:
                    c.send_raw(data)
                except OSError as e:
                    out.note = f"send: {e}"
                timeout = 60 if group == "size" and kind == "dlv" else ANSWER_S
                if seq is not None:
                    out.answer = wait_answer(c, seq, timeout)
                else:
                    # Nothing to answer: the session must close, or stay usable.
                    closed = c.wait_closed(timeout / 2)
                    if closed:
                        out.answer = wait_answer(c, None, 0.1) or "closed"
                    else:
                        r = wait_answer_to(c, "threads", timeout / 2)
                        out.answer = f"kept the session ({r})" if r else None
                out.note = (out.note + f" {time.monotonic() - t0:.2f} s").strip()
                if out.answer and out.answer.startswith("closed") and kind == "shim":
                    said = [m["body"].get("output", "") for m in c.messages[n0:] if m.get("event") == "output"]
                    logs = "".join(proc.fd3_lines + proc.stderr_lines)
                    if not said or "dlvidx" not in logs:
                        out.note += f"; closed without saying why (output {said!r})"
                        out.answer = None if not said else out.answer
                    if group == "framing" and "2 GiB" in label:
                        rss = vm_rss_kb(proc.pid)
                        out.note += f"; RSS {rss // 1024 if rss else '?'} MiB"
            except dc.DAPError as e:
                out.note = f"{type(e).__name__}: {e}"
            s.finish(proc, c, out, expect_exit=(kind == "shim"))
            s.record(row, out, f"{label}", dlv=(kind == "dlv"))


def wait_answer_to(c, command, timeout):
    try:
        r = c.request(command, {}, timeout=timeout)
        return "response" if r.get("success") else "error response"
    except dc.DAPError:
        return None


def vm_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---------------------------------------------------------------------------
# Faults.

def dlv_child(proc):
    for k in dc.children_of(proc.pid):
        cmd = dc.proc_cmdline(k)
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


def expect_end(c, out, timeout=ANSWER_S):
    """The client is told (output + terminated) or the connection closes."""
    try:
        c.wait_event("terminated", timeout=timeout)
        out.answer = "terminated"
    except dc.DAPClosed:
        out.answer = "closed"
    except dc.DAPTimeout:
        out.answer = None


def run_faults(s):
    binary = s.binary(ts.BIN_127)
    big = s.binary("cmdgo-go127-linux-amd64")
    spin_go = os.path.join(ts.EXAMPLE_DIR, "spin.go")

    # dlv SIGKILLed at each phase.
    row = s.row("Faults", "dlv killed (SIGKILL) at each phase",
                "output event naming dlv, terminated, shim exits 1, nothing left")
    for phase in ("before the client connects", "before initialize", "during launch", "while running",
                  "while stopped", "during setBreakpoints"):
        out = Outcome()
        proc, host, port = dc.start_adapter(s.argv(), env=s.env, cwd=s.cwd)
        c = None
        try:
            dlv = wait_dlv(proc)
            if phase == "before the client connects":
                os.kill(dlv, signal.SIGKILL)
                time.sleep(0.3)
            c = dc.DAPClient.connect(host, port, timeout=10)
            if phase != "before the client connects":
                if phase != "before initialize":
                    c.request_ok("initialize", ts.INITIALIZE_ARGS)
                if phase == "during launch":
                    c.send_request("launch", ts.exec_launch(big))
                    time.sleep(0.05)
                elif phase == "while running":
                    s.launch(c, binary, args=["spin"])
                    time.sleep(0.3)
                elif phase == "while stopped":
                    s.launch(c, binary, args=["spin"], stop_line=SPIN, path=spin_go)
                elif phase == "during setBreakpoints":
                    s.launch(c, big)
                    c.send_request("setBreakpoints", {"source": {"path": spin_go}, "breakpoints": [{"line": SPIN}]})
                os.kill(dlv, signal.SIGKILL)
            expect_end(c, out)
            if out.answer and not any("dlv" in (m.get("body") or {}).get("output", "")
                                      for m in c.messages if m.get("event") == "output"):
                out.note = "no output event naming dlv"
                out.answer = None
            code = dc.wait_exit(proc, EXIT_S)
            if code != 1:
                out.note += f" exit status {code}"
                out.answer = out.answer if code not in (None,) and code < 128 else None
        except (dc.DAPError, AssertionError) as e:
            out.note = f"{type(e).__name__}: {e}"
        s.finish(proc, c or _Null(), out)
        s.record(row, out, phase)

    # dlv hanging (SIGSTOP): the client gets an error after a bounded time.
    row = s.row("Faults", "dlv hangs (SIGSTOP) with a request in flight",
                "error response after --request-timeout, then disconnect ends dlv and the debuggee")
    for phase in ("while stopped: stackTrace", "while running: setBreakpoints", "while stopped: disconnect"):
        out = Outcome()
        proc, c = s.start(extra=["--request-timeout=2"])
        dlv = None
        try:
            dlv = wait_dlv(proc)
            if phase.startswith("while stopped"):
                ev = s.launch(c, binary, args=["spin"], stop_line=SPIN, path=spin_go)
                os.kill(dlv, signal.SIGSTOP)
                t0 = time.monotonic()
                if phase.endswith("stackTrace"):
                    r = c.request("stackTrace", {"threadId": ev["body"]["threadId"]}, timeout=ANSWER_S)
                else:
                    r = c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
            else:
                s.launch(c, binary, args=["spin"])
                os.kill(dlv, signal.SIGSTOP)
                t0 = time.monotonic()
                r = c.request("setBreakpoints", {"source": {"path": spin_go}, "breakpoints": [{"line": SPIN}]},
                              timeout=ANSWER_S)
            waited = time.monotonic() - t0
            out.answer = "error response" if not r.get("success") else "response"
            out.note = f"after {waited:.1f} s: {r.get('message')!r}"
            if r.get("success") or waited > 6:
                out.answer = None
            if not phase.endswith("disconnect"):
                try:
                    c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
                except dc.DAPError:
                    pass
            code = dc.wait_exit(proc, EXIT_S)
            out.note += f"; shim exit {code}"
        except dc.DAPError as e:
            out.note = f"{type(e).__name__}: {e}"
        s.finish(proc, c, out)
        s.record(row, out, phase)

    # The client goes away.
    row = s.row("Faults", "client closes the socket mid-message or mid-session",
                "shim ends dlv and the debuggee, exits, nothing left")
    for phase in ("half a header", "half a body", "right after launch", "while running", "while stopped",
                  "reset (RST) while stopped"):
        out = Outcome()
        proc, c = s.start(initialize=phase not in ("half a header",))
        try:
            if phase == "half a header":
                c.send_raw(b"Content-Len")
            elif phase == "half a body":
                c.send_raw(frame(req("threads", {}))[:-5])
            elif phase == "right after launch":
                c.send_request("launch", ts.exec_launch(binary))
            elif phase == "while running":
                s.launch(c, binary, args=["spin"])
            else:
                s.launch(c, binary, args=["spin"], stop_line=SPIN, path=spin_go)
            proc.watcher.poll()
            if phase.startswith("reset"):
                c.abort()
            else:
                c.close()
            code = dc.wait_exit(proc, EXIT_S)
            out.answer = f"exit {code}" if code is not None else None
        except dc.DAPError as e:
            out.note = f"{type(e).__name__}: {e}"
        s.finish(proc, c, out)
        s.record(row, out, phase)

    # SIGTERM to the shim.
    row = s.row("Faults", "the shim gets SIGTERM", "terminated event, dlv and debuggee ended, exit 0")
    for phase in ("before the client connects", "while running", "while stopped"):
        out = Outcome()
        proc, host, port = dc.start_adapter(s.argv(), env=s.env, cwd=s.cwd)
        c = None
        try:
            wait_dlv(proc)
            if phase != "before the client connects":
                c = dc.DAPClient.connect(host, port, timeout=10)
                c.request_ok("initialize", ts.INITIALIZE_ARGS)
                if phase == "while running":
                    s.launch(c, binary, args=["spin"])
                else:
                    s.launch(c, binary, args=["spin"], stop_line=SPIN, path=spin_go)
                proc.watcher.poll()
            os.kill(proc.pid, signal.SIGTERM)
            if c:
                expect_end(c, out)
            code = dc.wait_exit(proc, EXIT_S)
            if not c:
                out.answer = "exited" if code is not None else None
            if code != 0:
                out.note = f"exit status {code}"
                out.answer = None
        except dc.DAPError as e:
            out.note = f"{type(e).__name__}: {e}"
        s.finish(proc, c or _Null(), out)
        s.record(row, out, phase)

    # A second client on a one-session listener.
    row = s.row("Faults", "a second client connects to a one-session listener",
                "refused; the first session goes on")
    out = Outcome()
    proc, host, port = dc.start_adapter(s.argv(), env=s.env, cwd=s.cwd)
    c = dc.DAPClient.connect(host, port, timeout=10)
    try:
        c.request_ok("initialize", ts.INITIALIZE_ARGS)
        ev = s.launch(c, binary, args=["spin"], stop_line=SPIN, path=spin_go)
        second = None
        try:
            sk = socket.create_connection((host, port), timeout=3)
            sk.settimeout(3)
            sk.sendall(frame(req("initialize", ts.INITIALIZE_ARGS, 1)))
            try:
                data = sk.recv(100)
                second = "accepted, then closed" if not data else f"answered {data[:60]!r}"
            except socket.timeout:
                second = "accepted but silent (hang)"
            sk.close()
        except ConnectionRefusedError:
            second = "connection refused"
        r = c.request("stackTrace", {"threadId": ev["body"]["threadId"]}, timeout=ANSWER_S)
        first_ok = bool(r.get("success"))
        out.answer = second if second in ("connection refused", "accepted, then closed") and first_ok else None
        out.note = f"second: {second}; first session stackTrace {'ok' if first_ok else 'FAILED'}"
        c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
    except dc.DAPError as e:
        out.note = f"{type(e).__name__}: {e}"
    s.finish(proc, c, out)
    s.record(row, out, "second client")


class _Null:
    def close(self):
        pass


# ---------------------------------------------------------------------------
# Leaks: many sessions in a row through one installation.

def shm_objects():
    uid = os.getuid()
    try:
        return sorted(f for f in os.listdir("/dev/shm") if f.startswith(f"dlvidx-{uid}-"))
    except OSError:
        return []


def dir_files(d):
    out = []
    for dp, _, fs in os.walk(d):
        out += [os.path.join(dp, f) for f in fs]
    return sorted(out)


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


def run_leaks(s):
    n = s.args.sessions
    binary = s.binary(ts.BIN_127)
    tmp = tempfile.mkdtemp(prefix="dap-faults-tmp-")
    cache = tempfile.mkdtemp(prefix="dap-faults-cache-")
    env_saved = s.env
    s.env = dict(s.env, TMPDIR=tmp, XDG_CACHE_HOME=cache)
    row = s.row("Leaks", f"{n} sessions in a row (launch, breakpoint, stop, disconnect)",
                "0 processes, fds, shared memory objects or temp files left")
    before = {"shm": shm_objects(), "tmp": dir_files(tmp), "fds": sorted(fd_targets(os.getpid())),
              "children": sorted(dc.children_of(os.getpid()))}
    shim_fds = []
    first_cache = None
    t0 = time.monotonic()
    for i in range(n):
        out = Outcome()
        proc, c = s.start()
        try:
            ev = s.launch(c, binary, stop_line=ts.line_of(ts.MAIN_GO, "record(s.Area())"), path=ts.MAIN_GO)
            shim_fds.append(len(fd_targets(proc.pid)))
            f = (c.request_ok("stackTrace", {"threadId": ev["body"]["threadId"]})["body"]["stackFrames"][0])
            out.answer = "stopped" if f["line"] == ts.line_of(ts.MAIN_GO, "record(s.Area())") else None
            c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
        except dc.DAPError as e:
            out.note = f"{type(e).__name__}: {e}"
        s.finish(proc, c, out)
        if i == 0:
            first_cache = dir_files(cache)
        row.cases += 1
        row.handled += out.ok
        row.crashes += bool(out.crashed)
        row.leaks += bool(out.leftover)
        if not out.ok:
            print(f"FAIL Leaks: session {i + 1}: {out.answer} {out.crashed} {out.leftover} {out.note}", flush=True)
            row.problems.append(f"session {i + 1}")
    after = {"shm": shm_objects(), "tmp": dir_files(tmp), "fds": sorted(fd_targets(os.getpid())),
             "children": sorted(dc.children_of(os.getpid()))}
    # Only the objects of this test's indexes (the keys of its private cache
    # dir): index tests running at the same time make their own.
    ours = {os.path.basename(f)[:-4] for f in dir_files(cache) if f.endswith(".idx")}
    new_shm = sorted(o for o in set(after["shm"]) - set(before["shm"]) if o.rsplit("-", 1)[-1] in ours)
    # The binary's index is created once (first session) and reused: one
    # shared memory object and one cache file at most, the same after 50.
    checks = [
        ("temp files", after["tmp"] == before["tmp"], f"{len(after['tmp']) - len(before['tmp'])} new: {after['tmp'][:5]}"),
        ("shared memory objects", len(new_shm) <= 1, f"{len(new_shm)} new: {new_shm}"),
        ("cache files", dir_files(cache) == first_cache, f"after 1: {first_cache}; after {n}: {dir_files(cache)}"),
        ("test process fds", after["fds"] == before["fds"], f"{before['fds']} -> {after['fds']}"),
        ("child processes", not after["children"], f"{after['children']}"),
        ("shim fds at the stop, every session", len(set(shim_fds)) == 1, f"{sorted(set(shim_fds))}"),
    ]
    for what, ok, detail in checks:
        print(f"{'ok  ' if ok else 'FAIL'} Leaks: {what}: {detail}", flush=True)
        if not ok:
            row.leaks += 1
            row.handled = min(row.handled, row.cases - 1)
            row.problems.append(f"{what}: {detail}")
    row.result = (f"{n} sessions in {time.monotonic() - t0:.0f} s; shim fds {shim_fds[0] if shim_fds else '?'} in each; "
                  f"{len(new_shm)} shm object and {len(first_cache or [])} cache file(s), reused; 0 temp files, fds or processes left")
    s.env = env_saved
    for o in new_shm:  # this test's own index, and its private dirs
        os.unlink(os.path.join("/dev/shm", o))
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)


# ---------------------------------------------------------------------------
# Security (the shim's side; the store's is tests/integration/run.py security).

def run_security(s):
    binary = s.binary(ts.BIN_127)
    row = s.row("Security", "the dlv child's file descriptors and listen address",
                "stdin /dev/null, stdout/stderr its own pipes, no descriptor of the shim; --listen=127.0.0.1:0")
    # 1. dlv inherits no descriptor of the shim beyond stdin/stdout/stderr.
    out = Outcome()
    proc, c = s.start()
    try:
        dlv = wait_dlv(proc)
        s.launch(c, binary, args=["spin"], stop_line=SPIN, path=os.path.join(ts.EXAMPLE_DIR, "spin.go"))
        # Sockets, pipes and files have unique names (inode numbers, paths);
        # anon_inode names (epoll, eventfd) do not, so they are left out.
        shim = fd_targets(proc.pid)
        mine = {t for fd, t in shim.items() if fd > 2 and not t.startswith("anon_inode:")}
        theirs = fd_targets(dlv)
        shared = {fd: t for fd, t in theirs.items() if fd > 2 and t in mine}
        std = {fd: theirs.get(fd) for fd in (0, 1, 2)}
        ok = not shared and std[0] == "/dev/null"
        out.answer = "no shared descriptors" if ok else None
        out.note = f"dlv fds 0-2 {std}; shared with the shim beyond 0-2: {shared}"
        cmd = dc.proc_cmdline(dlv)
        if not any(a == "--listen=127.0.0.1:0" for a in cmd):
            out.answer, out.note = None, f"dlv listens on {cmd}"
        c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
    except (dc.DAPError, AssertionError) as e:
        out.note = f"{type(e).__name__}: {e}"
    s.finish(proc, c, out)
    s.record(row, out, "dlv inherits only /dev/null, its own pipes; listens on 127.0.0.1:0")

    # 2. The default listener is loopback; another address gets a warning.
    row = s.row("Security", "the shim's listen address: default, 0.0.0.0, localhost, [::1]",
                "loopback unless --listen names another address, which is logged as a warning")
    for listen, want_warn in ((None, False), ("0.0.0.0:0", True), ("localhost:0", False), ("[::1]:0", False)):
        out = Outcome()
        argv = [s.args.dlvidx, "dap", "--dlv", s.args.dlv, "--log-dest=3"] + ([f"--listen={listen}"] if listen else [])
        proc = dc.spawn_adapter(argv, env=s.env, cwd=s.cwd)
        if proc.listening.wait(10):
            time.sleep(0.2)
            addr = proc.listening_line.split(": ", 1)[1]
            logs = "".join(proc.fd3_lines + proc.stderr_lines)
            warned = "beyond loopback" in logs
            host = addr.rsplit(":", 1)[0].strip("[]")
            loop = host in ("127.0.0.1", "::1")
            out.answer = f"listens on {addr}" + (", warns" if warned else "") if (warned == want_warn and (loop or want_warn)) else None
            out.note = "" if out.answer else f"listening {addr}, warned={warned}"
        s.finish(proc, _Null(), out, expect_exit=False)
        s.record(row, out, f"--listen={listen or '(default)'}")


# ---------------------------------------------------------------------------

def table(rows):
    lines = ["| Area | Case | Cases | Handled | Crashes | Hangs | Leaks | Result |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.area} | {r.case} | {r.cases} | {r.handled} | {r.crashes} | {r.hangs} | {r.leaks} | {r.result} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dlvidx", required=True)
    ap.add_argument("--dlv", default="/usr/bin/dlv")
    ap.add_argument("--corpus", default=os.path.join(ts.REPO, "tests", "corpus", "corpus.py"))
    ap.add_argument("--only", action="append", choices=["faults", "hostile", "leaks", "security"])
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--compare-dlv", action="store_true", help="also show what plain dlv does with each hostile input")
    ap.add_argument("--report", default=os.environ.get("DLVIDX_RELIABILITY_DIR"))
    args = ap.parse_args()
    args.dlvidx = os.path.abspath(args.dlvidx)
    dc.become_subreaper()
    random.seed(6)
    s = Suite(args)
    parts = args.only or ["faults", "hostile", "leaks", "security"]
    t0 = time.monotonic()
    for name, fn in (("faults", run_faults), ("hostile", run_hostile), ("leaks", run_leaks), ("security", run_security)):
        if name in parts:
            fn(s)
    print(f"# total {time.monotonic() - t0:.1f} s\n")
    print(table(s.rows))
    if args.report:
        os.makedirs(args.report, exist_ok=True)
        suite = "dap-" + "-".join(parts)
        with open(os.path.join(args.report, f"{suite}.json"), "w") as f:
            json.dump({"suite": suite, "rows": [r.json() for r in s.rows]}, f, indent=1)
    shutil.rmtree(s.cwd, ignore_errors=True)
    bad = [r for r in s.rows if r.handled != r.cases or r.cases == 0]
    for r in bad:
        print(f"FAIL {r.area}: {r.case}: {r.handled}/{r.cases} handled: {r.problems}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
