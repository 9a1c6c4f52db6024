"""Hostile DAP input: broken framing, bodies that are not DAP messages, unknown commands and wrong
argument types, requests out of order, huge requests (records: dap-hostile.json). With
--compare-dlv each input also goes to plain `dlv dap` (recorded, not checked)."""

import functools
import time

import pytest

from dapfaults import ANSWER_S, Outcome, frame, req
from dlvtest.dap import DAPError
from dlvtest.example import BIN_127, MAIN_GO

SUITE = "dap-hostile"

TITLES = {"framing": "broken framing", "json": "bodies that are not DAP messages",
          "arguments": "unknown commands, wrong argument types", "order": "requests out of order",
          "size": "huge requests"}


@functools.lru_cache(maxsize=1)
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


@pytest.mark.parametrize("group", list(TITLES))
def test_hostile_input(s, group):
    """One row per group of hostile_cases(): each input sent to a fresh shim in its phase."""
    assert {case[0] for case in hostile_cases(MAIN_GO)} == set(TITLES)
    binary = s.binary(BIN_127)
    with s.row("Hostile DAP input", TITLES[group], "error response, or output + terminated and a clean close") as row:
        for g, label, phase, data, seq in hostile_cases(MAIN_GO):
            if g != group:
                continue
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
                except DAPError as e:
                    out.note = f"{type(e).__name__}: {e}"
                s.finish(proc, c, out, expect_exit=(kind == "shim"))
                s.record(row, out, f"{label}", dlv=(kind == "dlv"))


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


def wait_answer_to(c, command, timeout):
    try:
        r = c.request(command, {}, timeout=timeout)
        return "response" if r.get("success") else "error response"
    except DAPError:
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
