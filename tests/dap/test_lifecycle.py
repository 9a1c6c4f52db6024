"""How sessions end: dlv killed under the shim, the client vanishing, a malformed frame."""

import os
import signal
import time

import pytest

from dlvtest import dap, procs
from dlvtest.example import BIN_127, MAIN_GO, exec_launch
from harness import EXIT_TIMEOUT


def _stopped_at_greeting(t):
    """A session of the Go 1.27 example stopped at its breakpoint on note_greeting, the process
    watcher polled: where the dlv-killed and client-vanishes cases start from."""
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    s.set_bps(MAIN_GO, [L.note_greeting])
    s.configuration_done()
    s.expect_stopped("stop")
    s.proc.watcher.poll()
    return s


@pytest.mark.kinds("shim")
def test_dlv_killed(t):
    s = _stopped_at_greeting(t)
    kids = procs.children_of(s.proc.pid)
    dlvs = [k for k in kids if os.path.basename((procs.proc_cmdline(k) or [""])[0]) == "dlv"
            or (procs.proc_stat(k) or ("", 0, 0, ""))[3] == "dlv"]
    t.require("the shim has exactly one dlv child", len(dlvs) == 1,
              f"children {[(k, procs.proc_cmdline(k)) for k in kids]}")
    dlv_pid = dlvs[0]
    # dlv itself already said "Type 'dlv help' for list of commands." on
    # configurationDone: only output events after the kill count.
    before = {id(e) for e in s.c.events()}
    os.kill(dlv_pid, signal.SIGKILL)
    t0 = time.monotonic()
    try:
        ev = s.c.wait_event("terminated", lambda e: id(e) not in before, timeout=10)
        t.check("terminated event within 10 s", True, f"{time.monotonic() - t0:.2f} s", show=True)
    except dap.DAPError as e:
        t.check("terminated event within 10 s", False, str(e))
    try:
        ev = s.c.wait_event("output", lambda e: id(e) not in before and "dlv" in e["body"].get("output", "").lower(),
                            timeout=max(0.1, t0 + 10 - time.monotonic()))
        t.check("an output event mentions dlv (within 10 s)", True, repr(ev["body"]["output"]), show=True)
    except dap.DAPError as e:
        outs = [e["body"].get("output", "") for e in s.c.events("output") if id(e) not in before]
        t.check("an output event mentions dlv (within 10 s)", False, f"{e}; outputs after the kill: {outs!r}")
    s.finish("after dlv was killed", expect_code="nonzero")


def test_client_vanishes(t):
    s = _stopped_at_greeting(t)
    s.c.abort()
    s.finish("after the client vanished")


@pytest.mark.kinds("shim")
def test_malformed_frame(t):
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
