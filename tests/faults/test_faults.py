"""Faults: dlv killed or hung at each phase, the client going away, SIGTERM to the shim, a second
client (records: dap-faults.json)."""

import os
import signal
import socket
import time

from dapfaults import ANSWER_S, EXIT_S, SPIN, Null, Outcome, frame, req, wait_dlv
from dlvtest import adapters
from dlvtest.dap import DAPClient, DAPClosed, DAPError, DAPTimeout
from dlvtest.example import BIN_127, INITIALIZE_ARGS, SPIN_GO, exec_launch

SUITE = "dap-faults"


def expect_end(c, out, timeout=ANSWER_S):
    """The client is told (output + terminated) or the connection closes."""
    try:
        c.wait_event("terminated", timeout=timeout)
        out.answer = "terminated"
    except DAPClosed:
        out.answer = "closed"
    except DAPTimeout:
        out.answer = None


class Case:
    """One case of a row, as `with Case(s, row, label, proc, out, c) as case:` around what it does
    (set case.c once a client connects): an error of the kinds in `errors` becomes the outcome's
    note; then the shim is finished (a client that never connected stands as Null) and the case
    recorded. Any other exception goes on up, with the case neither finished nor recorded."""

    def __init__(self, s, row, label, proc, out, c=None, errors=(DAPError,)):
        self.s, self.row, self.label, self.proc, self.out, self.c, self.errors = s, row, label, proc, out, c, errors

    def __enter__(self):
        return self

    def __exit__(self, et, e, tb):
        if et is not None:
            if not issubclass(et, self.errors):
                return False
            self.out.note = f"{type(e).__name__}: {e}"
        self.s.finish(self.proc, self.c or Null(), self.out)
        self.s.record(self.row, self.out, self.label)
        return True


def test_dlv_killed(s):
    """dlv SIGKILLed at each phase."""
    binary = s.binary(BIN_127)
    big = s.binary("cmdgo-go127-linux-amd64")
    with s.row("Faults", "dlv killed (SIGKILL) at each phase",
               "output event naming dlv, terminated, shim exits 1, nothing left") as row:
        for phase in ("before the client connects", "before initialize", "during launch", "while running",
                      "while stopped", "during setBreakpoints"):
            out = Outcome()
            proc, host, port = s.start_adapter(s.argv())
            with Case(s, row, phase, proc, out, errors=(DAPError, AssertionError)) as case:
                dlv = wait_dlv(proc)
                if phase == "before the client connects":
                    os.kill(dlv, signal.SIGKILL)
                    time.sleep(0.3)
                c = case.c = DAPClient.connect(host, port, timeout=10)
                if phase != "before the client connects":
                    if phase != "before initialize":
                        c.request_ok("initialize", INITIALIZE_ARGS)
                    if phase == "during launch":
                        c.send_request("launch", exec_launch(big))
                        time.sleep(0.05)
                    elif phase == "while running":
                        s.launch(c, binary, args=["spin"])
                        time.sleep(0.3)
                    elif phase == "while stopped":
                        s.launch(c, binary, args=["spin"], stop_line=SPIN, path=SPIN_GO)
                    elif phase == "during setBreakpoints":
                        s.launch(c, big)
                        c.send_request("setBreakpoints", {"source": {"path": SPIN_GO}, "breakpoints": [{"line": SPIN}]})
                    os.kill(dlv, signal.SIGKILL)
                expect_end(c, out)
                if out.answer and not any("dlv" in (m.get("body") or {}).get("output", "")
                                          for m in c.messages if m.get("event") == "output"):
                    out.note = "no output event naming dlv"
                    out.answer = None
                code = adapters.wait_exit(proc, EXIT_S)
                if code != 1:
                    out.note += f" exit status {code}"
                    out.answer = out.answer if code not in (None,) and code < 128 else None


def test_dlv_hangs(s):
    """dlv hanging (SIGSTOP): the client gets an error after a bounded time."""
    binary = s.binary(BIN_127)
    with s.row("Faults", "dlv hangs (SIGSTOP) with a request in flight",
               "error response (a breakpoint the shim answered: a breakpoint event, unbound) after "
               "--request-timeout, then disconnect ends dlv and the debuggee") as row:
        for phase in ("while stopped: stackTrace", "while running: setBreakpoints", "while stopped: disconnect"):
            out = Outcome()
            proc, c = s.start(extra=["--request-timeout=2"])
            dlv = None
            with Case(s, row, phase, proc, out, c):
                dlv = wait_dlv(proc)
                if phase.startswith("while stopped"):
                    ev = s.launch(c, binary, args=["spin"], stop_line=SPIN, path=SPIN_GO)
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
                    r = c.request("setBreakpoints", {"source": {"path": SPIN_GO}, "breakpoints": [{"line": SPIN}]},
                                  timeout=ANSWER_S)
                waited = time.monotonic() - t0
                out.answer = "error response" if not r.get("success") else "response"
                out.note = f"after {waited:.1f} s: {r.get('message')!r}"
                bp = ((r.get("body") or {}).get("breakpoints") or [{}])[0]
                if r.get("success") and bp.get("verified"):
                    # The shim answers from the index at once and arms behind the answer: the
                    # arming dlv never answers is reported with a breakpoint event instead.
                    ev = c.wait_event("breakpoint", lambda e: e["body"]["breakpoint"].get("id") == bp.get("id"),
                                      timeout=ANSWER_S)
                    waited = time.monotonic() - t0
                    b = ev["body"]["breakpoint"]
                    ok = ev["body"].get("reason") == "changed" and b.get("verified") is False
                    out.answer = "answered, then a breakpoint event: unbound" if ok else None
                    out.note = f"event after {waited:.1f} s: {b.get('message')!r}"
                elif r.get("success"):
                    out.answer = None
                if waited > 6:
                    out.answer = None
                if not phase.endswith("disconnect"):
                    try:
                        c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
                    except DAPError:
                        pass
                code = adapters.wait_exit(proc, EXIT_S)
                out.note += f"; shim exit {code}"


def test_client_closes(s):
    """The client goes away mid-message or mid-session."""
    binary = s.binary(BIN_127)
    with s.row("Faults", "client closes the socket mid-message or mid-session",
               "shim ends dlv and the debuggee, exits, nothing left") as row:
        for phase in ("half a header", "half a body", "right after launch", "while running", "while stopped",
                      "reset (RST) while stopped"):
            out = Outcome()
            proc, c = s.start(initialize=phase not in ("half a header",))
            with Case(s, row, phase, proc, out, c):
                if phase == "half a header":
                    c.send_raw(b"Content-Len")
                elif phase == "half a body":
                    c.send_raw(frame(req("threads", {}))[:-5])
                elif phase == "right after launch":
                    c.send_request("launch", exec_launch(binary))
                elif phase == "while running":
                    s.launch(c, binary, args=["spin"])
                else:
                    s.launch(c, binary, args=["spin"], stop_line=SPIN, path=SPIN_GO)
                proc.watcher.poll()
                if phase.startswith("reset"):
                    c.abort()
                else:
                    c.close()
                code = adapters.wait_exit(proc, EXIT_S)
                out.answer = f"exit {code}" if code is not None else None


def test_shim_sigterm(s):
    """SIGTERM to the shim."""
    binary = s.binary(BIN_127)
    with s.row("Faults", "the shim gets SIGTERM", "terminated event, dlv and debuggee ended, exit 0") as row:
        for phase in ("before the client connects", "while running", "while stopped"):
            out = Outcome()
            proc, host, port = s.start_adapter(s.argv())
            c = None
            with Case(s, row, phase, proc, out) as case:
                wait_dlv(proc)
                if phase != "before the client connects":
                    c = case.c = DAPClient.connect(host, port, timeout=10)
                    c.request_ok("initialize", INITIALIZE_ARGS)
                    if phase == "while running":
                        s.launch(c, binary, args=["spin"])
                    else:
                        s.launch(c, binary, args=["spin"], stop_line=SPIN, path=SPIN_GO)
                    proc.watcher.poll()
                os.kill(proc.pid, signal.SIGTERM)
                if c:
                    expect_end(c, out)
                code = adapters.wait_exit(proc, EXIT_S)
                if not c:
                    out.answer = "exited" if code is not None else None
                if code != 0:
                    out.note = f"exit status {code}"
                    out.answer = None


def test_second_client(s):
    """A second client on a one-session listener."""
    binary = s.binary(BIN_127)
    with s.row("Faults", "a second client connects to a one-session listener",
               "refused; the first session goes on") as row:
        out = Outcome()
        proc, host, port = s.start_adapter(s.argv())
        c = DAPClient.connect(host, port, timeout=10)
        with Case(s, row, "second client", proc, out, c):
            c.request_ok("initialize", INITIALIZE_ARGS)
            ev = s.launch(c, binary, args=["spin"], stop_line=SPIN, path=SPIN_GO)
            second = None
            try:
                sk = socket.create_connection((host, port), timeout=3)
                sk.settimeout(3)
                sk.sendall(frame(req("initialize", INITIALIZE_ARGS, 1)))
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
