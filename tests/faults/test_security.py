"""Security, the shim's side (the store's is tests/integration): what the dlv child inherits and
where it listens, where the shim listens (records: dap-security.json)."""

import time

from dapfaults import ANSWER_S, SPIN, Null, Outcome, fd_targets, wait_dlv
from dlvtest.dap import DAPError
from dlvtest.example import BIN_127, SPIN_GO
from dlvtest.procs import proc_cmdline

SUITE = "dap-security"


def test_dlv_child_descriptors(s):
    """dlv inherits no descriptor of the shim beyond stdin/stdout/stderr, and listens on loopback."""
    binary = s.binary(BIN_127)
    with s.row("Security", "the dlv child's file descriptors and listen address",
               "stdin /dev/null, stdout/stderr its own pipes, no descriptor of the shim; --listen=127.0.0.1:0") as row:
        out = Outcome()
        proc, c = s.start()
        try:
            dlv = wait_dlv(proc)
            s.launch(c, binary, args=["spin"], stop_line=SPIN, path=SPIN_GO)
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
            cmd = proc_cmdline(dlv)
            if not any(a == "--listen=127.0.0.1:0" for a in cmd):
                out.answer, out.note = None, f"dlv listens on {cmd}"
            c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
        except (DAPError, AssertionError) as e:
            out.note = f"{type(e).__name__}: {e}"
        s.finish(proc, c, out)
        s.record(row, out, "dlv inherits only /dev/null, its own pipes; listens on 127.0.0.1:0")


def test_listen_address(s):
    """The default listener is loopback; another address gets a warning."""
    with s.row("Security", "the shim's listen address: default, 0.0.0.0, localhost, [::1]",
               "loopback unless --listen names another address, which is logged as a warning") as row:
        for listen, want_warn in ((None, False), ("0.0.0.0:0", True), ("localhost:0", False), ("[::1]:0", False)):
            out = Outcome()
            argv = [s.args.dlvidx, "dap", "--dlv", s.args.dlv, "--log-dest=3"] + ([f"--listen={listen}"] if listen else [])
            proc = s.spawn_adapter(argv)
            if proc.listening.wait(10):
                time.sleep(0.2)
                addr = proc.listening_line.split(": ", 1)[1]
                logs = "".join(proc.fd3_lines + proc.stderr_lines)
                warned = "beyond loopback" in logs
                host = addr.rsplit(":", 1)[0].strip("[]")
                loop = host in ("127.0.0.1", "::1")
                out.answer = (f"listens on {addr}" + (", warns" if warned else "")
                              if (warned == want_warn and (loop or want_warn)) else None)
                out.note = "" if out.answer else f"listening {addr}, warned={warned}"
            s.finish(proc, Null(), out, expect_exit=False)
            s.record(row, out, f"--listen={listen or '(default)'}")
