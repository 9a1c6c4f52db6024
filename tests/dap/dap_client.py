#!/usr/bin/env python3
"""A small Debug Adapter Protocol client for tests (Python stdlib only).

    client = DAPClient.connect("127.0.0.1", port)      # adapter listens
    client = DAPClient.accept(listening_socket)         # adapter dials in
    resp = client.request("initialize", {...})          # -> response dict
    ev = client.wait_event("stopped", lambda e: ..., timeout=30)
    client.events_seen                                  # every event so far

    proc, host, port = start_adapter([ADAPTER, "dap", *flags])
    leftovers = stop_adapter(proc)                      # [] == nothing left

Every wait is bounded (default 30 s) and raises DAPTimeout instead of
hanging. Set DAP_TRACE=1 to print the traffic to stderr (`-->` sent,
`<--` received, `<-- fd3/stdout/stderr` adapter output).

start_adapter() starts an adapter exactly as vscode-go does
(`ADAPTER dap [flags] --listen=127.0.0.1:<free port> --log-dest=3`, stdin,
stdout, stderr and fd 3 all pipes) and watches /proc for the processes it
starts (the shim runs dlv, dlv runs the debuggee), so that stop_adapter()
can tell whether any of them outlived the adapter. Processes are only ever
signalled by PID, and only the adapter itself (plus, on request, recorded
descendants of it -- see kill_leftovers()).
"""

import ctypes
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

DEFAULT_TIMEOUT = 30.0
LISTENING_PREFIX = "DAP server listening at:"


def _standard_fds_open():
    """A test run with stdin (or stdout/stderr) closed would hand out fds 0-2
    to its own pipes, and the adapters' fd 3 would not be what vscode-go
    gives them: put /dev/null there first."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            n = os.open("/dev/null", os.O_RDWR)
            if n != fd:
                os.dup2(n, fd)
                os.close(n)


_standard_fds_open()


def _trace_on():
    return os.environ.get("DAP_TRACE", "") not in ("", "0")


def trace(direction, text):
    if _trace_on():
        sys.stderr.write(f"{time.monotonic():.3f} {direction} {text}\n")
        sys.stderr.flush()


class DAPError(Exception):
    pass


class DAPTimeout(DAPError):
    pass


class DAPClosed(DAPError):
    """The connection closed while we were waiting for something."""


# ---------------------------------------------------------------------------
# The client.


class DAPClient:
    def __init__(self, sock, name="dap"):
        self.sock = sock
        self.name = name
        self.seq = 0
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self.messages = []          # every message received, in order
        self.events_seen = []       # every event received, in order
        self._pending_events = []   # events not yet consumed by wait_event
        self._responses = {}        # request_seq -> response
        self.closed = False         # reader saw EOF / error
        self.close_reason = None
        self.protocol_errors = []   # framing problems seen by the reader
        self.reverse_requests = []  # requests sent by the adapter
        self._reader = threading.Thread(target=self._read_loop, name=f"{name}-reader", daemon=True)
        self._reader.start()

    # -- construction ------------------------------------------------------

    @classmethod
    def connect(cls, host, port, timeout=DEFAULT_TIMEOUT, name="dap"):
        """Connects to host:port, retrying until timeout (the adapter may not
        be accepting yet)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection((host, port), timeout=min(5.0, max(0.1, deadline - time.monotonic())))
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return cls(s, name=name)
            except OSError as e:
                last = e
                time.sleep(0.05)
        raise DAPTimeout(f"could not connect to {host}:{port} within {timeout}s: {last}")

    @classmethod
    def accept(cls, listener, timeout=DEFAULT_TIMEOUT, name="dap"):
        """Accepts one connection on a listening socket (for --client-addr)."""
        listener.settimeout(timeout)
        try:
            s, _ = listener.accept()
        except socket.timeout:
            raise DAPTimeout(f"no adapter connected within {timeout}s") from None
        s.settimeout(None)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(s, name=name)

    # -- reading -------------------------------------------------------------

    def _recv_exact(self, buf, n):
        while len(buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by adapter")
            buf += chunk
        return buf

    def _read_loop(self):
        buf = b""
        try:
            while True:
                # Header block, terminated by \r\n\r\n.
                while b"\r\n\r\n" not in buf:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        if buf.strip():
                            self.protocol_errors.append(f"EOF inside a header: {buf[:200]!r}")
                        raise EOFError("connection closed by adapter")
                    buf += chunk
                header, buf = buf.split(b"\r\n\r\n", 1)
                length = None
                for line in header.split(b"\r\n"):
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if length is None:
                    self.protocol_errors.append(f"header without Content-Length: {header[:200]!r}")
                    raise DAPError("bad header from adapter")
                buf = self._recv_exact(buf, length)
                body, buf = buf[:length], buf[length:]
                text = body.decode("utf-8")
                trace(f"<-- [{self.name}]", text)
                msg = json.loads(text)
                self._dispatch(msg)
        except Exception as e:  # EOF, reset, decode error: all end the session
            with self._cond:
                self.closed = True
                self.close_reason = f"{type(e).__name__}: {e}"
                self._cond.notify_all()
            trace(f"<-- [{self.name}]", f"(closed: {self.close_reason})")

    def _dispatch(self, msg):
        with self._cond:
            self.messages.append(msg)
            t = msg.get("type")
            if t == "response":
                self._responses[msg.get("request_seq")] = msg
            elif t == "event":
                self.events_seen.append(msg)
                self._pending_events.append(msg)
            elif t == "request":
                self.reverse_requests.append(msg)
            self._cond.notify_all()

    # -- writing -------------------------------------------------------------

    def send_raw(self, data):
        """Sends raw bytes (no framing added)."""
        trace(f"--> [{self.name}] raw", repr(data))
        with self._send_lock:
            self.sock.sendall(data)

    def send(self, msg):
        body = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        trace(f"--> [{self.name}]", body.decode())
        with self._send_lock:
            self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send_request(self, command, arguments=None):
        """Sends a request and returns its seq without waiting."""
        with self._send_lock:
            self.seq += 1
            seq = self.seq
        msg = {"seq": seq, "type": "request", "command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        self.send(msg)
        return seq

    def wait_response(self, seq, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while seq not in self._responses:
                if self.closed:
                    raise DAPClosed(f"connection closed before response to request {seq} ({self.close_reason})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DAPTimeout(f"no response to request {seq} within {timeout}s")
                self._cond.wait(left)
            return self._responses[seq]

    def request(self, command, arguments=None, timeout=DEFAULT_TIMEOUT):
        """Sends a request and returns the response dict (success or not)."""
        seq = self.send_request(command, arguments)
        return self.wait_response(seq, timeout)

    def request_ok(self, command, arguments=None, timeout=DEFAULT_TIMEOUT):
        """Like request(), but raises DAPError if the response is not success."""
        r = self.request(command, arguments, timeout)
        if not r.get("success"):
            raise DAPError(f"{command} failed: {r.get('message')!r} {json.dumps(r.get('body'))}")
        return r

    # -- events --------------------------------------------------------------

    def wait_event(self, name, pred=None, timeout=DEFAULT_TIMEOUT):
        """Returns (and consumes) the first not yet consumed event called
        `name` for which pred(event) is true; waits at most `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, ev in enumerate(self._pending_events):
                    if ev.get("event") == name and (pred is None or pred(ev)):
                        del self._pending_events[i]
                        return ev
                if self.closed:
                    raise DAPClosed(f"connection closed while waiting for event {name!r} ({self.close_reason})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DAPTimeout(f"no {name!r} event within {timeout}s")
                self._cond.wait(left)

    def wait_any_event(self, names, timeout=DEFAULT_TIMEOUT):
        """Returns (and consumes) the first pending event whose name is in
        `names`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, ev in enumerate(self._pending_events):
                    if ev.get("event") in names:
                        del self._pending_events[i]
                        return ev
                if self.closed:
                    raise DAPClosed(f"connection closed while waiting for one of {names} ({self.close_reason})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DAPTimeout(f"none of {names} within {timeout}s")
                self._cond.wait(left)

    def events(self, name=None):
        with self._cond:
            return [e for e in self.events_seen if name is None or e.get("event") == name]

    def output_text(self):
        return "".join(e.get("body", {}).get("output", "") for e in self.events("output"))

    def wait_closed(self, timeout=DEFAULT_TIMEOUT):
        """Waits until the adapter closes the connection; returns whether it did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # -- closing -------------------------------------------------------------

    def close(self):
        """Closes the connection (FIN). shutdown() first: see abort()."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def abort(self):
        """Closes the socket abruptly (RST instead of FIN).

        The reader thread is blocked in recv() on this socket, and that call
        holds a reference to the file: a plain close() would release nothing
        and the adapter would see neither FIN nor RST. shutdown(SHUT_RD)
        wakes the reader without sending anything; then close() with
        SO_LINGER {on, 0} drops the last reference and sends RST."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        self._reader.join(2)
        self.sock.close()


# ---------------------------------------------------------------------------
# /proc helpers.


def proc_stat(pid):
    """(state, ppid, starttime, comm) of pid, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    lp, rp = data.find("("), data.rfind(")")
    comm = data[lp + 1:rp]
    fields = data[rp + 2:].split()
    # fields[0] is field 3 (state); field k is fields[k - 3].
    return fields[0], int(fields[1]), int(fields[19]), comm


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def ppid_map():
    m = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st:
            m[pid] = st
    return m


def descendants(root, stats=None):
    """{pid: (state, ppid, starttime, comm)} of the live descendants of root."""
    stats = stats if stats is not None else ppid_map()
    children = {}
    for pid, st in stats.items():
        children.setdefault(st[1], []).append(pid)
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            if c not in out:
                out[c] = stats[c]
                todo.append(c)
    return out


def children_of(pid):
    """PIDs whose PPid is pid (direct children)."""
    return [p for p, st in ppid_map().items() if st[1] == pid]


def same_process_alive(pid, starttime):
    """True if pid still names the process that started at starttime and it
    has not exited (zombies count as exited)."""
    st = proc_stat(pid)
    return st is not None and st[2] == starttime and st[0] not in ("Z", "X")


def become_subreaper():
    """Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER), so that
    processes orphaned by a dying adapter are re-parented to us rather than
    to PID 1: they stay visible as our descendants and we can reap their
    zombies. Returns whether it worked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


# PIDs of the processes this test process started itself (adapters, helper
# commands). With become_subreaper(), any other child of ours is an orphan
# re-parented to us, i.e. left behind by some adapter's process tree.
OWN_CHILDREN = set()


def run_own(argv, timeout=600, **kw):
    """subprocess.run() for helper commands, registered in OWN_CHILDREN so
    that ProcWatcher does not mistake them for orphans of an adapter."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    OWN_CHILDREN.add(p.pid)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


class ProcWatcher:
    """Polls /proc and records every descendant of root (with its start time
    and command line) while the session runs. If this process is a child
    subreaper (become_subreaper()), processes orphaned after root started
    (re-parented to us, e.g. by a double fork or because their parent died)
    are recorded too, with their descendants."""

    def __init__(self, root, interval=0.05):
        self.root = root
        st = proc_stat(root)
        self.root_start = st[2] if st else 0
        self.interval = interval
        self.seen = {}  # pid -> dict(starttime, comm, cmdline, ppid)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"procwatch-{root}", daemon=True)
        self._thread.start()

    def poll(self):
        stats = ppid_map()
        found = {}
        root_st = stats.get(self.root)
        if root_st is not None and root_st[0] not in ("Z", "X") and root_st[2] == self.root_start:
            found.update(descendants(self.root, stats))
        me = os.getpid()
        for pid, st in stats.items():
            if st[1] == me and pid != self.root and pid not in OWN_CHILDREN and st[2] >= self.root_start:
                found[pid] = st
                found.update(descendants(pid, stats))
        for pid, st in found.items():
            with self._lock:
                rec = self.seen.get(pid)
                if rec is None or rec["starttime"] != st[2]:
                    self.seen[pid] = {"starttime": st[2], "comm": st[3], "ppid": st[1],
                                      "cmdline": proc_cmdline(pid)}
                    trace("proc", f"adapter {self.root}: descendant {pid} ({st[3]}) ppid {st[1]}")

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:
                pass
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(2)

    def recorded(self):
        with self._lock:
            return dict(self.seen)

    def alive(self):
        """{pid: record} of recorded descendants that are still running."""
        return {pid: rec for pid, rec in self.recorded().items()
                if same_process_alive(pid, rec["starttime"])}


def reap_zombies(pids):
    """waitpid(WNOHANG) on each pid that became our child (subreaper)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass


# ---------------------------------------------------------------------------
# Starting and stopping adapters.


def adapter_env(go="/usr/lib/go-1.27/bin/go"):
    """The environment adapters run in: `go` (for launch debug/test) first on
    PATH, no toolchain downloads, no module proxy."""
    return dict(os.environ, PATH=os.path.dirname(go) + os.pathsep + os.environ.get("PATH", ""),
                GOTOOLCHAIN="local", GOFLAGS="", GOPROXY="off")


class Corpus:
    """Paths of test corpus binaries (tests/corpus/corpus.py builds and
    caches them), asked once each."""

    def __init__(self, corpus_py):
        self.corpus_py = corpus_py
        self._bins = {}

    def path(self, name, timeout=900):
        if name not in self._bins:
            out = run_own([sys.executable, self.corpus_py, "path", name], timeout=timeout)
            if out.returncode != 0:
                raise RuntimeError(f"corpus build of {name} failed:\n{out.stderr}")
            self._bins[name] = out.stdout.strip()
        return self._bins[name]


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
