"""A small Debug Adapter Protocol client for tests (Python stdlib only).

    client = DAPClient.connect("127.0.0.1", port)      # adapter listens
    client = DAPClient.accept(listening_socket)         # adapter dials in
    resp = client.request("initialize", {...})          # -> response dict
    ev = client.wait_event("stopped", lambda e: ..., timeout=30)
    client.events_seen                                  # every event so far

Every wait is bounded (default 30 s) and raises DAPTimeout instead of
hanging. Set DAP_TRACE=1 to print the traffic to stderr (`-->` sent,
`<--` received, `<-- fd3/stdout/stderr` adapter output). Starting and
stopping adapters: dlvtest.adapters.
"""

import json
import os
import socket
import struct
import sys
import threading
import time

DEFAULT_TIMEOUT = 30.0


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
