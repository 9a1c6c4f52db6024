"""Starting and stopping DAP adapters the way vscode-go does.

    proc, host, port = start_adapter([ADAPTER, "dap", *flags])
    leftovers = stop_adapter(proc)                      # [] == nothing left

start_adapter() starts an adapter exactly as vscode-go does
(`ADAPTER dap [flags] --listen=127.0.0.1:<free port> --log-dest=3`, stdin,
stdout, stderr and fd 3 all pipes) and watches /proc for the processes it
starts (the shim runs dlv, dlv runs the debuggee), so that stop_adapter()
can tell whether any of them outlived the adapter. Processes are only ever
signalled by PID, and only the adapter itself (plus, on request, recorded
descendants of it -- see kill_leftovers()).

While TARGET is set (tests/arm64/target.py's Arm64, an emulated arm64
machine), start_adapter() starts adapters there, and stop_adapter() /
kill_leftovers() hand a process started there (proc.target) back to it.
"""

import os
import signal
import socket
import subprocess
import threading
import time

from dlvtest.dap import DEFAULT_TIMEOUT, DAPTimeout, trace  # noqa: F401 (DEFAULT_TIMEOUT: for callers)
from dlvtest.procs import OWN_CHILDREN, ProcWatcher, reap_zombies, same_process_alive

LISTENING_PREFIX = "DAP server listening at:"


def adapter_env(go=None):
    """The environment adapters run in: `go` (for launch debug/test; default Go 1.27:
    $DLVIDX_GO127 or Debian's) first on PATH, no toolchain downloads, no module proxy."""
    go = go or os.environ.get("DLVIDX_GO127") or "/usr/lib/go-1.27/bin/go"
    return dict(os.environ, PATH=os.path.dirname(go) + os.pathsep + os.environ.get("PATH", ""),
                GOTOOLCHAIN="local", GOFLAGS="", GOPROXY="off")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _pump(stream, label, sink, on_line=None):
    """Reads a pipe line by line into sink (a list of str) until EOF."""
    try:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            sink.append(line)
            trace(f"<-- {label}", line.rstrip("\n"))
            if on_line:
                on_line(line)
    except (OSError, ValueError):
        pass
    finally:
        try:
            stream.close()
        except OSError:
            pass


def spawn_adapter(argv, env=None, cwd=None, with_fd3=True):
    """Starts argv with stdin/stdout/stderr pipes and (with_fd3) a fourth
    pipe as fd 3, like vscode-go. Returns the Popen object with these extra
    attributes: fd3_lines, stdout_lines, stderr_lines (lists of str, filled
    by reader threads), listening (threading.Event set on the first
    "DAP server listening at:" line), listening_line, listening_source
    ("fd3" or "stdout"), watcher (ProcWatcher), argv."""
    r3 = w3 = None
    if with_fd3:
        r3, w3 = os.pipe()

    def child_setup():
        if w3 is not None:
            os.dup2(w3, 3)  # dup2 clears FD_CLOEXEC: the only fd >2 inherited

    trace("spawn", " ".join(argv))
    # close_fds=False: Python creates its fds O_CLOEXEC, so only 0-3 survive
    # exec; close_fds=True would close fd 3 after preexec_fn ran.
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd,
                            close_fds=False, preexec_fn=child_setup)
    OWN_CHILDREN.add(proc.pid)
    if w3 is not None:
        os.close(w3)
    proc.argv = list(argv)
    proc.fd3_lines, proc.stdout_lines, proc.stderr_lines = [], [], []
    proc.listening = threading.Event()
    proc.listening_line = None
    proc.listening_source = None
    proc.watcher = ProcWatcher(proc.pid)

    def seen_line(source):
        def f(line):
            if line.startswith(LISTENING_PREFIX) and not proc.listening.is_set():
                proc.listening_line = line.rstrip("\r\n")
                proc.listening_source = source
                proc.listening.set()
        return f

    proc.pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, "stdout", proc.stdout_lines, seen_line("stdout")), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, "stderr", proc.stderr_lines), daemon=True),
    ]
    if r3 is not None:
        proc.pumps.append(threading.Thread(
            target=_pump, args=(os.fdopen(r3, "rb", buffering=0), "fd3", proc.fd3_lines, seen_line("fd3")),
            daemon=True))
    for t in proc.pumps:
        t.start()
    return proc


# Where adapters run when not here: tests/arm64/target.py's Arm64 (an emulated arm64
# machine) sets itself here while open, and then starts, stops and watches them itself.
TARGET = None


def start_adapter(argv, env=None, cwd=None, timeout=DEFAULT_TIMEOUT, host="127.0.0.1"):
    """Starts `argv + ["--listen=HOST:<free port>", "--log-dest=3"]` as
    vscode-go does and waits (bounded) for the "DAP server listening at:"
    line on fd 3 or stdout. Returns (proc, host, port); see spawn_adapter()
    for the attributes of proc. Raises DAPTimeout (after stopping the
    adapter) if the line does not come."""
    if TARGET is not None:
        return TARGET.start_adapter(argv, timeout=timeout)
    # The free port is free only when asked (vscode-go has the same race):
    # another process may take it before the adapter binds it. An adapter
    # that says so is started again on another port, at most 3 times.
    for attempt in range(3):
        port = free_port()
        full = list(argv) + [f"--listen={host}:{port}", "--log-dest=3"]
        proc = spawn_adapter(full, env=env, cwd=cwd)
        deadline = time.monotonic() + timeout
        failed = None
        while not proc.listening.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                code = proc.poll()
                # Give the pumps a moment to collect what the adapter said.
                for t in proc.pumps:
                    t.join(0.5)
                stop_adapter(proc)
                why = f"exited with {code}" if code is not None else f"no listening line within {timeout}s"
                failed = (f"adapter {why}; stdout={''.join(proc.stdout_lines)!r} "
                          f"stderr={''.join(proc.stderr_lines)[-2000:]!r} fd3={''.join(proc.fd3_lines)!r}")
                break
        if failed is None:
            break
        said = "".join(proc.stderr_lines + proc.fd3_lines).lower()
        if attempt == 2 or "address already in use" not in said:
            raise DAPTimeout(failed)
        trace("spawn", f"port {port} was taken before the adapter bound it; again on another port")
    addr = proc.listening_line[len(LISTENING_PREFIX):].strip()
    h, _, p = addr.rpartition(":")
    return proc, h.strip("[]") or host, int(p)


def wait_exit(proc, timeout):
    """Waits up to timeout for proc to exit; returns its exit code or None."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


class Leftovers(list):
    """A list of "PID comm cmdline" strings; empty (false) if nothing is left."""


def stop_adapter(proc, term_timeout=5.0, settle=5.0):
    """Ends the adapter process (only its PID): SIGTERM, then after
    term_timeout SIGKILL. Then waits up to `settle` seconds for every
    process recorded as its descendant to go away. Returns a Leftovers list
    describing those still running (empty list == nothing left). Never
    signals anything but proc.pid."""
    if getattr(proc, "target", None) is not None:  # its pid is not one of this machine's
        return proc.target.stop_adapter(proc, term_timeout, settle)
    if proc.poll() is None:
        # One last look at the process tree before it changes.
        try:
            proc.watcher.poll()
        except Exception:
            pass
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if wait_exit(proc, term_timeout) is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_exit(proc, 5)
    proc.watcher.stop()
    for s in (proc.stdin,):
        try:
            s.close()
        except OSError:
            pass
    deadline = time.monotonic() + settle
    while True:
        try:
            proc.watcher.poll()  # catches late orphans (re-parented to us)
        except Exception:
            pass
        rec = proc.watcher.recorded()
        reap_zombies(rec)
        alive = proc.watcher.alive()
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for t in proc.pumps:
        t.join(1)
    return Leftovers(f"{pid} {r['comm']} {' '.join(r['cmdline'])[:200]}" for pid, r in sorted(alive.items()))


def kill_leftovers(proc):
    """SIGKILLs (by PID, after re-checking the start time) the recorded
    descendants of proc that are still running. For cleaning up after a
    failed check, so later tests start from a clean slate."""
    if getattr(proc, "target", None) is not None:
        return proc.target.kill_leftovers(proc)
    killed = []
    for pid, rec in proc.watcher.alive().items():
        if same_process_alive(pid, rec["starttime"]):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    time.sleep(0.2)
    reap_zombies(killed)
    return killed
