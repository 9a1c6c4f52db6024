"""Launch modes and how an adapter is started: exec (Go 1.27, Go 1.22), debug (dlv builds it),
-trimpath, a path through a symlink, PIE, --client-addr (the adapter dials in), --log-dest=3."""

import json
import os
import socket

import pytest

from dlvtest import adapters, dap
from dlvtest.example import BIN_122, BIN_127, BIN_PIE, BIN_TRIM, EXAMPLE_DIR, MAIN_GO, exec_launch


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


def test_full_session(t):
    _full_session(t, exec_launch(t.binary(BIN_127)))


def test_full_session_go122(t):
    _full_session(t, exec_launch(t.binary(BIN_122)), extra=["--check-go-version=false"])


@pytest.mark.not_in_guest("launch debug builds the program: the guest has no Go toolchain")
def test_full_session_debug(t):
    # dlv builds the package itself; like vscode-go, run the build in the
    # package directory (dlvCwd) and put the binary into a temporary
    # directory (output) so that nothing is written into the fixture.
    out = os.path.join(t.tmpdir(), "__debug_bin")
    _full_session(t, {"name": "Launch", "type": "go", "request": "launch", "mode": "debug",
                      "program": EXAMPLE_DIR, "dlvCwd": EXAMPLE_DIR, "output": out})
    t.check("debug: built binary removed or left only in the temp dir",
            not any(n.startswith("__debug_bin") for n in os.listdir(EXAMPLE_DIR)),
            str(os.listdir(EXAMPLE_DIR)))


def _one_breakpoint(t, binary, path, what):
    """Launch `binary` with one breakpoint at path:note_greeting and send configurationDone. Plain
    dlv leaves it unverified and the program runs to its end; the shim verifies it and the program
    stops there. Returns the session, the breakpoints and the stopped event (None under dlv)."""
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(binary)))
    bps = s.set_bps(path, [L.note_greeting])
    if t.kind == "dlv":
        t.check(f"{what}: unverified", bps[0].get("verified") is False, json.dumps(bps))
        s.configuration_done()
        s.expect_terminated("no breakpoint")
        return s, bps, None
    t.check(f"{what}: verified", bps[0].get("verified") is True, json.dumps(bps))
    s.configuration_done()
    return s, bps, s.expect_stopped("stop")


def test_trimpath(t):
    L = t.r.lines
    s, bps, ev = _one_breakpoint(t, BIN_TRIM, MAIN_GO, "absolute path on a -trimpath binary")
    if t.kind != "dlv":
        body = ev["body"]
        t.check("stop: hitBreakpointIds contains the id", bps[0].get("id") in (body.get("hitBreakpointIds") or []),
                json.dumps(body))
        frame = s.top_frame(body.get("threadId"))
        t.check(f"stop: top frame main.go:{L.note_greeting}",
                frame.get("line") == L.note_greeting
                and (frame.get("source") or {}).get("path", "").endswith("main.go"),
                json.dumps(frame))
    s.disconnect_and_finish()


@pytest.mark.not_in_guest("the symlink farm is made on this machine")
def test_symlink(t):
    L = t.r.lines
    d = t.tmpdir()
    link = os.path.join(d, "example-link")
    os.symlink(EXAMPLE_DIR, link)
    via_link = os.path.join(link, "main.go")
    s, bps, ev = _one_breakpoint(t, BIN_127, via_link, "path through a symlink")
    if t.kind != "dlv":
        s.check_stop_at("stop", ev, via_link, L.note_greeting, bps[0].get("id"))
    s.disconnect_and_finish()


def test_pie(t):
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


@pytest.mark.not_in_guest("the guest cannot dial out (qemu's restrict=on)")
def test_client_addr(t):
    L = t.r.lines
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        argv = t.adapter_argv([f"--client-addr=127.0.0.1:{port}"])
        proc = t.own(adapters.spawn_adapter(argv, env=t.r.adapter_env, cwd=t.r.adapter_cwd, with_fd3=False))
        try:
            client = dap.DAPClient.accept(listener, timeout=30, name=t.name)
        except dap.DAPError as e:
            t.require("adapter dials in", False, f"{e}; stderr {''.join(proc.stderr_lines)[-500:]!r}")
    finally:
        listener.close()
    t.check("adapter dialed in", True)
    s = t.attach(proc, client)
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(MAIN_GO, [L.note_greeting])
    t.check("breakpoint verified", bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    ev = s.expect_stopped("stop")
    s.check_stop_at("stop", ev, MAIN_GO, L.note_greeting, bps[0].get("id"))
    s.disconnect_and_finish()


def test_log_dest_3(t):
    s = t.start()
    p = s.proc
    t.check("listening line came on fd 3", p.listening_source == "fd3",
            f"source {p.listening_source}: {p.listening_line!r}")
    t.check("fd 3 starts with the listening line",
            p.fd3_lines[:1] and p.fd3_lines[0].startswith(adapters.LISTENING_PREFIX), repr(p.fd3_lines[:3]))
    # Launch (the debuggee is created but does not run main: no output of
    # its own), then end the session.
    s.launch(exec_launch(t.binary(BIN_127)))
    s.disconnect_and_finish()
    out = "".join(p.stdout_lines)
    t.check("no DAP traffic on stdout", "Content-Length" not in out and '"seq"' not in out, repr(out[:300]))
    extra = [ln for ln in p.stdout_lines if not ln.startswith(adapters.LISTENING_PREFIX)]
    t.check("stdout has nothing but (at most) the listening line", not extra, repr(out[:300]))
