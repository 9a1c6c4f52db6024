"""Minimal DAP client used by the benchmarks: start `dlv dap` on loopback,
launch a binary, and time launch -> `initialized` (what a user waits for
before breakpoints can be set). Only the PIDs started here are ever killed."""
import json, os, re, signal, socket, subprocess, time


class Dap:
    def __init__(self, sock):
        self.sock, self.buf, self.seq = sock, b"", 0

    def send(self, command, arguments=None):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments or {}}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def recv(self, timeout=60):
        self.sock.settimeout(timeout)
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                n = int(re.search(rb"Content-Length: *(\d+)", head).group(1))
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return json.loads(rest[:n])
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("dlv closed the connection")
            self.buf += chunk

    def wait(self, pred, timeout=60):
        end = time.time() + timeout
        while True:
            m = self.recv(max(0.1, end - time.time()))
            if pred(m):
                return m


def launch_to_initialized(dlv, binary, dlv_args=()):
    """Seconds from the launch request to the initialized event."""
    p = subprocess.Popen([dlv, "dap", "--listen=127.0.0.1:0", *dlv_args], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    try:
        line = p.stdout.readline()
        m = re.search(r"listening at: ([\d.]+):(\d+)", line)
        if not m:
            raise RuntimeError(f"dlv dap did not start: {line!r}")
        s = socket.create_connection((m.group(1), int(m.group(2))), timeout=30)
        d = Dap(s)
        d.send("initialize", {"adapterID": "go", "linesStartAt1": True, "columnsStartAt1": True,
                              "pathFormat": "path"})
        d.wait(lambda x: x.get("command") == "initialize")
        t0 = time.perf_counter()
        d.send("launch", {"request": "launch", "mode": "exec", "program": binary})
        d.wait(lambda x: x.get("event") == "initialized" or
               (x.get("command") == "launch" and not x.get("success")))
        t1 = time.perf_counter()
        d.send("disconnect", {"terminateDebuggee": True})
        try:
            d.wait(lambda x: x.get("command") == "disconnect", timeout=10)
        except Exception:
            pass
        s.close()
        return t1 - t0
    finally:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
