#!/usr/bin/env python3
"""An emulated linux/arm64 machine for tests (Python stdlib only).

    with Guest() as g:                                  # boots qemu-system-aarch64 (TCG)
        g.put("/tmp/ex-arm64", "/root/ex")              # skipped when the guest has it already
        r = g.run(["uname", "-m"])                      # CompletedProcess-like: bytes out/err
        p = g.spawn(["dlv", "dap", "--listen=0.0.0.0:4711"])
        p.wait_line("DAP server listening at:")
        port = g.host_port(4711)                        # 127.0.0.1:port on the host
        g.ps(); p.terminate(); p.wait(10)

    python3 tests/arm64/guest.py prepare [--refresh]    # build / show the cached base image
    python3 tests/arm64/guest.py shell -- CMD...        # boot, run CMD, print its output, power off
    python3 tests/arm64/guest.py boot-time [-n N]       # boot-to-ready and poweroff times

The guest boots Debian's cloud arm64 kernel straight into an initramfs (busybox
init, glibc from libc6:arm64, Delve 1.27.1 at /usr/bin/dlv and 1.20.2 at
/opt/delve-1.20.2/dlv, the agent in agent/), all from Debian arm64 packages
fetched by tools/arm64-apt.sh. Host-side facts behind the choices:
/work/shared/arm64/NOTES.md; API and timings: tests/arm64/README.md.
"""

import argparse, atexit, base64, fcntl, hashlib, http.client, inspect, json, os, queue
import re, secrets, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.parse
from collections import deque

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ARM64_APT = os.path.join(REPO, "tools", "arm64-apt.sh")
AGENT_DIR = os.path.join(HERE, "agent")
GO = os.environ.get("DLVIDX_GO127", "/usr/lib/go-1.27/bin/go")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dlvidx", "arm64", "guest")
PACKAGES = {"kernel": "linux-image-cloud-arm64", "busybox": "busybox-static", "libc": "libc6",
            "delve": "delve", "delve_old": "delve/bookworm"}
MODULES = ("virtio_pci", "virtio_net", "virtio_rng")  # plus their depends=, loaded in order
AGENT_PORT = 7000
READY = "DLVIDX-AGENT-READY"
RESOLVE_MAX_AGE = 12 * 3600  # arm64-apt.sh refreshes its lists this often, too

INITTAB = """\
::sysinit:/etc/init.d/rcS
::respawn:/usr/sbin/dlvidx-agent
"""
RCS = """\
#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmp /tmp
for m in $(cat /etc/dlvidx-modules); do insmod /lib/modules/$m.ko || echo "rcS: insmod $m failed"; done
n=0; while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
ip link set lo up; ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up
ip route add default via 10.0.2.2
hostname arm64-guest
"""


class GuestError(RuntimeError):
    pass


def log(msg):
    print(f"guest: {msg}", file=sys.stderr, flush=True)


# --- the cached base image -------------------------------------------------

def _cpio_entry(out, name, mode, data=b"", rdev=(0, 0), mtime=0):
    name_b = name.lstrip("/").encode() + b"\0"
    fields = (0, mode, 0, 0, 1, int(mtime), len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
    out.write(b"070701" + b"".join(b"%08x" % f for f in fields) + name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4) + data + b"\0" * (-len(data) % 4))


class Cpio:
    """A newc archive; parent directories come first, as the kernel needs."""

    def __init__(self, path):
        self.out, self.dirs = open(path, "wb"), {""}

    def _parents(self, name):
        parts = name.strip("/").split("/")[:-1]
        for i in range(len(parts)):
            d = "/".join(parts[: i + 1])
            if d not in self.dirs:
                self.dirs.add(d)
                _cpio_entry(self.out, d, 0o40755)

    def dir(self, name):
        self._parents(name + "/x")

    def file(self, name, data, mode=0o644, mtime=0):
        self._parents(name)
        _cpio_entry(self.out, name, 0o100000 | mode, data, mtime=mtime)

    def symlink(self, name, target):
        self._parents(name)
        _cpio_entry(self.out, name, 0o120777, target.encode())

    def chardev(self, name, major, minor, mode=0o600):
        self._parents(name)
        _cpio_entry(self.out, name, 0o20000 | mode, rdev=(major, minor))

    def tree(self, src, dest):
        """Copies src (files, symlinks, directories) to dest in the archive."""
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for n in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                p = os.path.join(root, n)
                name = os.path.join(dest, os.path.relpath(p, src))
                if os.path.islink(p):
                    self.symlink(name, os.readlink(p))
                else:
                    st = os.stat(p)
                    self.file(name, open(p, "rb").read(), st.st_mode & 0o7777, st.st_mtime)

    def close(self):
        _cpio_entry(self.out, "TRAILER!!!", 0)
        self.out.close()


def _apt(*args):
    r = subprocess.run([ARM64_APT, *args], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise GuestError(f"tools/arm64-apt.sh {' '.join(args)} failed:\n{r.stderr[-2000:]}")
    return r.stdout.split()


def _resolve(refresh=False):
    """{role: "name=version"}; looked up through arm64-apt.sh at most every 12 h (each
    look-up costs about a second), or on refresh; an old answer serves when apt fails."""
    memo = os.path.join(CACHE, "resolved.json")
    old = json.load(open(memo)) if os.path.exists(memo) else None
    if old and not refresh and time.time() - old["time"] < RESOLVE_MAX_AGE:
        return old["specs"]
    try:
        specs = {role: f"{spec.split('/')[0]}={_apt('version', spec)[0]}" for role, spec in PACKAGES.items()}
        meta = _apt("download", os.path.join(CACHE, "debs"), specs["kernel"])[0]
        dep = subprocess.run(["dpkg-deb", "-f", meta, "Depends"], capture_output=True, text=True, check=True).stdout
        specs["kernel"] = re.match(r"\s*(linux-image-\S+) \(= (\S+)\)", dep).expand(r"\1=\2")
    except (GuestError, AttributeError, subprocess.SubprocessError) as e:
        if old is None:
            raise
        log(f"package look-up failed, using the versions resolved before: {e}")
        return old["specs"]
    os.makedirs(CACHE, exist_ok=True)
    with open(memo + ".tmp", "w") as f:
        json.dump({"time": time.time(), "specs": specs}, f)
    os.replace(memo + ".tmp", memo)
    return specs


def _agent_sources():
    return {n: open(os.path.join(AGENT_DIR, n), "rb").read() for n in sorted(os.listdir(AGENT_DIR))
            if n.endswith((".go", ".mod"))}


def _go_env():
    return dict(os.environ, GOTOOLCHAIN="local", GOPROXY="off", GOFLAGS="", CGO_ENABLED="0",
                GOOS="linux", GOARCH="arm64")


def _module_order(kdir):
    """MODULES and their dependencies (read from each .ko's depends=), dependencies first."""
    paths = {}
    for root, _, files in os.walk(kdir):
        for f in files:
            if f.endswith(".ko"):
                paths[f[:-3].replace("-", "_")] = os.path.join(root, f)
    order = []

    def visit(m):
        if m not in order:
            deps = re.search(rb"\0depends=([^\0]*)\0", open(paths[m], "rb").read())
            for d in filter(None, deps.group(1).decode().split(",")) if deps else ():
                visit(d.replace("-", "_"))
            order.append(m)
    for m in MODULES:
        visit(m)
    return order, paths


def _build_base(out, specs, roots, agent):
    """Writes out/base.cpio and out/vmlinuz from the unpacked packages in roots."""
    kroot = roots["kernel"]
    kver = os.listdir(os.path.join(kroot, "lib", "modules"))[0]
    shutil.copyfile(os.path.join(kroot, "boot", f"vmlinuz-{kver}"), os.path.join(out, "vmlinuz"))
    order, paths = _module_order(os.path.join(kroot, "lib", "modules", kver))
    a = Cpio(os.path.join(out, "base.cpio"))
    for d in ("proc", "sys", "dev", "tmp", "root", "run", "var/tmp", "etc/init.d", "usr/sbin", "sbin"):
        a.dir(d)
    a.chardev("dev/console", 5, 1)
    a.chardev("dev/null", 1, 3, 0o666)
    a.file("bin/busybox", open(os.path.join(roots["busybox"], "bin", "busybox"), "rb").read(), 0o755)
    for link in ("bin/sh", "sbin/init", "init"):
        a.symlink(link, "/bin/busybox")
    a.tree(os.path.join(roots["libc"], "lib"), "lib")  # loader + libc + libm ...: libc6:arm64 only
    a.file("usr/bin/dlv", open(os.path.join(roots["delve"], "usr", "bin", "dlv"), "rb").read(), 0o755)
    a.file("opt/delve-1.20.2/dlv", open(os.path.join(roots["delve_old"], "usr", "bin", "dlv"), "rb").read(), 0o755)
    for m in order:
        a.file(f"lib/modules/{m}.ko", open(paths[m], "rb").read())
    a.file("etc/dlvidx-modules", "".join(m + "\n" for m in order).encode())
    a.file("usr/sbin/dlvidx-agent", agent, 0o755)
    a.file("etc/inittab", INITTAB.encode())
    a.file("etc/init.d/rcS", RCS.encode(), 0o755)
    a.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    a.file("etc/group", b"root:x:0:\n")
    a.file("etc/hosts", b"127.0.0.1 localhost\n10.0.2.15 arm64-guest\n")
    a.close()
    return {"kernel_release": kver, "modules": order}


def _prune(keep):
    """Removes all but the `keep` most recently built images."""
    built = sorted((os.path.getmtime(m), os.path.dirname(m)) for m in
                   (os.path.join(CACHE, n, "manifest.json") for n in os.listdir(CACHE)) if os.path.exists(m))
    for _, d in built[:-keep]:
        shutil.rmtree(d, ignore_errors=True)


def prepare(refresh=False):
    """Returns the cached image {"dir", "kernel", "initrd", "manifest"}, building it if needed."""
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one resolver and builder at a time
        return _prepare_locked(refresh)


def _prepare_locked(refresh):
    specs = _resolve(refresh)
    gover = subprocess.run([GO, "version"], capture_output=True, text=True, env=_go_env()).stdout.strip()
    h = hashlib.sha256(json.dumps(specs, sort_keys=True).encode() + gover.encode())
    for part in (INITTAB, RCS, repr(MODULES), *map(inspect.getsource, (_cpio_entry, Cpio, _module_order, _build_base))):
        h.update(part.encode())  # the init script and the image layout
    for name, data in _agent_sources().items():
        h.update(name.encode() + b"\0" + data)
    d = os.path.join(CACHE, h.hexdigest()[:16])
    image = {"dir": d, "kernel": os.path.join(d, "vmlinuz"), "initrd": os.path.join(d, "base.cpio"),
             "manifest": os.path.join(d, "manifest.json")}
    if not os.path.exists(image["manifest"]):
        t0 = time.monotonic()
        log(f"building the base image {d}")
        tmp = tempfile.mkdtemp(prefix="build-", dir=CACHE)
        try:
            roots = {}
            for role, spec in specs.items():
                roots[role] = os.path.join(tmp, "roots", role)
                _apt("unpack", roots[role], spec)
            agent = os.path.join(tmp, "dlvidx-agent")
            r = subprocess.run([GO, "build", "-trimpath", "-ldflags=-s -w", "-o", agent, "."], cwd=AGENT_DIR,
                               env=_go_env(), capture_output=True, text=True, timeout=600)
            if r.returncode:
                raise GuestError(f"building the agent failed:\n{r.stderr}")
            out = os.path.join(tmp, "image")
            os.mkdir(out)
            info = _build_base(out, specs, roots, open(agent, "rb").read())
            info.update(packages=specs, go=gover, build_seconds=round(time.monotonic() - t0, 1))
            with open(os.path.join(out, "manifest.json"), "w") as f:
                json.dump(info, f, indent=1)
            os.rename(out, d)
            _prune(keep=3)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    image["info"] = json.load(open(image["manifest"]))
    return image


# --- process safety --------------------------------------------------------

_live = set()  # Guests whose qemu may be running
_spawn_q, _lock = queue.Queue(), threading.Lock()
_installed = {"atexit": False, "sigterm": False, "spawner": False}


def _spawner():
    """qemu gets a parent-death signal (setpriv --pdeathsig), which fires when the *thread*
    that forked it ends: all forks happen here, in a thread that lives as long as the process."""
    while True:
        argv, kw, box = _spawn_q.get()
        try:
            box["proc"] = subprocess.Popen(argv, **kw)
        except BaseException as e:
            box["error"] = e
        box["done"].set()


def _popen_pdeathsig(argv, **kw):
    with _lock:
        if not _installed["spawner"]:
            threading.Thread(target=_spawner, name="guest-spawner", daemon=True).start()
            _installed["spawner"] = True
    box = {"done": threading.Event()}
    _spawn_q.put((["setpriv", "--pdeathsig", "KILL", "--", *argv], kw, box))
    box["done"].wait()
    if "error" in box:
        raise box["error"]
    return box["proc"]


def _kill_all():
    for g in list(_live):
        g._kill_qemu()
        shutil.rmtree(g._tmp, ignore_errors=True)


def _install_handlers():
    """atexit and SIGTERM (chained to the handler there was) kill every qemu we started."""
    with _lock:
        if not _installed["atexit"]:
            atexit.register(_kill_all)
            _installed["atexit"] = True
        if _installed["sigterm"] or threading.current_thread() is not threading.main_thread():
            return
        _installed["sigterm"] = True
        prev = signal.getsignal(signal.SIGTERM)
        if prev in (signal.SIG_IGN, None):
            return

        def on_sigterm(signum, frame):
            _kill_all()
            if callable(prev):
                return prev(signum, frame)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        signal.signal(signal.SIGTERM, on_sigterm)


def _remove_stale_tmp():
    """Per-boot temp dirs of test processes that died by SIGKILL (named after their pid)."""
    tmp = tempfile.gettempdir()
    for n in os.listdir(tmp):
        m = re.fullmatch(r"dlvidx-guest-(\d+)-\w+", n)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            shutil.rmtree(os.path.join(tmp, n), ignore_errors=True)


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# --- the guest -------------------------------------------------------------

def _b64(b):
    return base64.b64encode(b).decode()


class Guest:
    def __init__(self, mem_mb=3072, smp=1, forward_ports=(4711, 4712, 4713, 4714), extra_files=None,
                 console_log=None, boot_timeout=120, image=None, kernel_args="quiet cryptomgr.notests"):
        if not shutil.which("qemu-system-aarch64"):
            raise GuestError("qemu-system-aarch64 not found (apt-get install --no-install-recommends qemu-system-arm)")
        self.image, self.kernel_args = image or prepare(), kernel_args
        self.console = deque(maxlen=200)
        self.proc = None
        self._closed = False
        self._ready = threading.Event()
        self._log = open(console_log, "w") if console_log else None
        _remove_stale_tmp()
        self._tmp = tempfile.mkdtemp(prefix=f"dlvidx-guest-{os.getpid()}-")
        try:
            self._token = secrets.token_hex(16)
            initrd = self._initrd(extra_files or {})
            for attempt in range(5):
                ports = _free_ports(1 + len(forward_ports))
                self.ports = dict(zip((AGENT_PORT, *forward_ports), ports))
                if self._boot(mem_mb, smp, initrd, boot_timeout):
                    break
                log(f"a host port was taken (attempt {attempt + 1}), trying others")
            else:
                raise GuestError("could not set up qemu's host forwarding in 5 attempts\n" + self.console_tail())
        except BaseException:
            self.close()
            raise

    def _initrd(self, extra_files):
        path = os.path.join(self._tmp, "initrd.cpio")
        shutil.copyfile(self.image["initrd"], path)  # base + extra: concatenated newc archives
        extra = Cpio(os.path.join(self._tmp, "extra.cpio"))
        # The agent answers only requests that carry this boot's secret (its port on the host's
        # 127.0.0.1 is open to every local user).
        extra.file("/etc/dlvidx-agent-token", (self._token + "\n").encode(), 0o600)
        for guest_path, host_path in extra_files.items():
            st = os.stat(host_path)
            extra.file(guest_path, open(host_path, "rb").read(), st.st_mode & 0o7777, st.st_mtime)
        extra.close()
        with open(path, "ab") as out, open(os.path.join(self._tmp, "extra.cpio"), "rb") as e:
            shutil.copyfileobj(e, out)
        return path

    def _boot(self, mem_mb, smp, initrd, timeout):
        """Starts qemu and waits for the agent; False if a host port was taken."""
        fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in self.ports.items())
        argv = ["qemu-system-aarch64", "-machine", "virt", "-cpu", "cortex-a72", "-smp", str(smp),
                "-m", str(mem_mb), "-nographic", "-no-reboot", "-kernel", self.image["kernel"], "-initrd", initrd,
                "-append", f"console=ttyAMA0 panic=-1 rdinit=/init {self.kernel_args}",
                "-netdev", f"user,id=n0,restrict=on,{fwd}", "-device", "virtio-net-pci,netdev=n0,romfile=",
                "-device", "virtio-rng-pci"]
        _install_handlers()
        self._ready.clear()
        self.t_start = time.monotonic()
        self.proc = _popen_pdeathsig(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _live.add(self)
        reader = self._reader = threading.Thread(target=self._read_console, args=(self.proc,),
                                                 name="guest-console", daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                reader.join(2)
                _live.discard(self)
                if "host forwarding" in "\n".join(list(self.console)[-5:]):
                    self.proc.stdout.close()
                    return False
                raise GuestError(f"qemu exited ({self.proc.returncode}) before the agent was ready\n"
                                 + self.console_tail())
            if time.monotonic() > deadline:
                raise GuestError(f"the guest agent was not ready within {timeout}s\n" + self.console_tail())
        self.boot_seconds = time.monotonic() - self.t_start
        self._call("GET", "/ping", timeout=10)
        return True

    def _read_console(self, proc):
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.console.append(line)
            if self._log:
                self._log.write(line + "\n")
                self._log.flush()
            if READY in line:
                self._ready.set()

    def console_tail(self, n=40):
        return "--- last console lines ---\n" + "\n".join(list(self.console)[-n:])

    @property
    def closed(self):
        return self._closed

    def host_port(self, guest_port):
        """The 127.0.0.1 port on the host that qemu forwards to guest_port."""
        return self.ports[guest_port]

    def _call(self, method, path, body=None, query=None, raw=None, timeout=30):
        if self._closed or self.proc is None:
            raise GuestError(f"{path}: the guest is not running")
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn = http.client.HTTPConnection("127.0.0.1", self.ports[AGENT_PORT], timeout=timeout)
        try:
            conn.request(method, url, body=data, headers={"Content-Type": "application/json",
                                                          "Authorization": f"Bearer {self._token}"})
            resp = conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException) as e:
            gone = "" if self.proc.poll() is None else f"; qemu exited ({self.proc.returncode})\n{self.console_tail()}"
            raise GuestError(f"agent {method} {path}: {e!r}{gone}") from None
        finally:
            conn.close()
        result = json.loads(payload) if payload else None
        if resp.status != 200:
            raise GuestError(f"agent {method} {path}: {(result or {}).get('error', resp.status)}")
        return result

    # -- files and commands --

    def put_bytes(self, data, guest_path, mode=0o644):
        """Writes data to guest_path (parent directories made); returns False when the
        guest already had exactly this content (then only the mode is set)."""
        q = {"path": guest_path, "sha256": hashlib.sha256(data).hexdigest(), "mode": f"{mode:o}"}
        if self._call("POST", "/put", query={**q, "probe": "1"})["present"]:
            return False
        self._call("POST", "/put", query=q, raw=data, timeout=60 + len(data) / 1e6)
        return True

    def put(self, host_path, guest_path, mode=None):
        """Uploads a host file; mode defaults to the host file's permission bits."""
        if mode is None:
            mode = os.stat(host_path).st_mode & 0o7777
        with open(host_path, "rb") as f:
            return self.put_bytes(f.read(), guest_path, mode)

    def run(self, argv, stdin=b"", env=None, cwd=None, timeout=60, check=False):
        """Runs argv to completion in the guest. Returns a subprocess.CompletedProcess
        (bytes stdout/stderr, plus .elapsed in guest seconds); raises
        subprocess.TimeoutExpired after killing its process group on timeout."""
        r = self._call("POST", "/run", {"argv": list(argv), "env": env or {}, "cwd": cwd or "",
                                        "stdin": _b64(stdin), "timeout": timeout}, timeout=timeout + 30)
        out, err = base64.b64decode(r["stdout"] or ""), base64.b64decode(r["stderr"] or "")
        if r["timed_out"]:
            raise subprocess.TimeoutExpired(argv, timeout, out, err)
        res = subprocess.CompletedProcess(argv, r["returncode"], out, err)
        res.elapsed = r["elapsed"]
        if check:
            res.check_returncode()
        return res

    def spawn(self, argv, env=None, cwd=None, on_line=None):
        """Starts argv in the background (stdin, stdout, stderr and fd 3 are pipes)."""
        r = self._call("POST", "/spawn", {"argv": list(argv), "env": env or {}, "cwd": cwd or ""})
        return GuestProcess(self, r["id"], r["pid"], list(argv), on_line)

    def ps(self):
        """{pid: {"ppid", "comm", "cmdline": [...], "starttime", "state"}} of every guest process."""
        return {p.pop("pid"): p for p in self._call("GET", "/ps")}

    def kill(self, pid, sig=signal.SIGKILL):
        """Sends sig to any guest pid (GuestError if there is no such process)."""
        self._call("POST", "/signal", {"pid": pid, "signal": int(sig)})

    # -- lifetime --

    def _kill_qemu(self):
        p = self.proc
        if p is not None and p.poll() is None:
            p.kill()  # our own child, not reaped yet: the pid is still ours
            p.wait()
        _live.discard(self)

    def close(self):
        """Powers off through the agent, waits up to 15 s for qemu, then SIGKILLs it."""
        if self._closed:
            return
        try:
            if self.proc is not None and self.proc.poll() is None and self._ready.is_set():
                try:
                    self._call("POST", "/poweroff", timeout=5)
                    self.proc.wait(15)
                except (GuestError, subprocess.TimeoutExpired) as e:
                    log(f"no clean poweroff ({e}); killing qemu pid {self.proc.pid}")
        finally:
            self._closed = True
            self._kill_qemu()
            if self.proc is not None:
                self._reader.join(5)  # qemu is gone: its console pipe is at EOF
                self.proc.stdout.close()
            if self._log:
                self._log.close()
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GuestProcess:
    """A background process in the guest; a thread follows its output (long polls)."""

    STREAMS = ("stdout", "stderr", "fd3")

    def __init__(self, guest, id, pid, argv, on_line=None):
        self.guest, self.id, self.pid, self.args, self.on_line = guest, id, pid, argv, on_line
        self.stdout_lines, self.stderr_lines, self.fd3_lines = [], [], []
        self.returncode = None
        self.follow_error = None
        self._cond = threading.Condition()
        self._done = False  # the follower has seen exit and EOF on all three streams
        self._follower = threading.Thread(target=self._follow, name=f"guest-follow-{pid}", daemon=True)
        self._follower.start()

    def _follow(self):
        offsets, partial, failures = [0, 0, 0], [b"", b"", b""], 0
        while not self.guest._closed:
            try:
                r = self.guest._call("POST", "/read", {"id": self.id, "offsets": offsets, "wait": 1.0,
                                                        "known_exit": self.returncode is not None})
                failures = 0
            except GuestError as e:
                failures += 1
                if failures >= 5 or self.guest._closed:
                    self.follow_error = e
                    break
                time.sleep(0.2)
                continue
            for i, name in enumerate(self.STREAMS):
                data = base64.b64decode(r["data"][i] or "")
                offsets[i] += len(data)
                chunks = (partial[i] + data).split(b"\n")
                partial[i] = chunks.pop()
                lines = [c.decode("utf-8", "replace") + "\n" for c in chunks]
                if r["eof"][i] and partial[i]:
                    lines.append(partial[i].decode("utf-8", "replace"))
                    partial[i] = b""
                with self._cond:
                    getattr(self, name + "_lines").extend(lines)
                    self._cond.notify_all()
                for line in lines if self.on_line else ():
                    try:
                        self.on_line(name, line)
                    except Exception as e:  # a broken callback must not stop the output
                        log(f"on_line callback failed: {e!r}")
            with self._cond:
                if r["exited"]:
                    self.returncode = r["returncode"]
                self._done = r["exited"] and all(r["eof"])
                self._cond.notify_all()
            if self._done:
                return
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, pattern, timeout=30, source=None):
        """Returns the first line matching the regex `pattern` in `source` ("stdout",
        "stderr", "fd3"; None: any of them), waiting up to timeout seconds. (dlv prints
        its listening line to stdout, or to its --log-dest.)"""
        names = self.STREAMS if source is None else (source,)
        rx, deadline = re.compile(pattern), time.monotonic() + timeout
        with self._cond:
            while True:
                for name in names:
                    for line in getattr(self, name + "_lines"):
                        if rx.search(line):
                            return line
                left = deadline - time.monotonic()
                if self._done or left <= 0 or not self._follower.is_alive():
                    seen = "".join(f"{n}: {line}" for n in names for line in getattr(self, n + "_lines")[-10:])
                    raise GuestError(f"no line matching {pattern!r} from {self.args} within {timeout}s"
                                     f" (exit status {self.returncode}); last lines:\n{seen}")
                self._cond.wait(min(left, 0.5))

    def poll(self):
        if self.returncode is None:
            r = self.guest._call("POST", "/wait", {"id": self.id, "timeout": 0})
            if r["exited"]:
                self.returncode = r["returncode"]
        return self.returncode

    def wait(self, timeout=None):
        """Waits for exit like Popen.wait (subprocess.TimeoutExpired after timeout seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = 30 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)
            r = self.guest._call("POST", "/wait", {"id": self.id, "timeout": min(left, 30)}, timeout=45)
            if r["exited"]:
                self.returncode = r["returncode"]
        return self.returncode

    def join_output(self, timeout=10):
        """Waits until all output has been collected (the process exited, pipes at EOF)."""
        self._follower.join(timeout)
        return self._done

    def send_signal(self, sig):
        """Signals the process (not its group); False if it had already exited."""
        return self.guest._call("POST", "/signal", {"id": self.id, "signal": int(sig)})["delivered"]

    def terminate(self):
        return self.send_signal(signal.SIGTERM)

    def kill(self):
        return self.send_signal(signal.SIGKILL)

    def write_stdin(self, data):
        self.guest._call("POST", "/stdin", {"id": self.id, "data": _b64(data)})

    def close_stdin(self):
        self.guest._call("POST", "/stdin", {"id": self.id, "data": "", "close": True})


# --- command line ----------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="build (or find) the cached base image and print what it used")
    p.add_argument("--refresh", action="store_true", help="look the package versions up again now")
    s = sub.add_parser("shell", help="boot, run one command, print its output, power off")
    s.add_argument("--console-log")
    s.add_argument("argv", nargs="+")
    b = sub.add_parser("boot-time", help="measure boot-to-ready and poweroff")
    b.add_argument("-n", type=int, default=3)
    a = ap.parse_args()
    if a.cmd == "prepare":
        t0 = time.monotonic()
        img = prepare(a.refresh)
        size = sum(os.path.getsize(os.path.join(img["dir"], f)) for f in os.listdir(img["dir"]))
        print(json.dumps({"dir": img["dir"], "seconds": round(time.monotonic() - t0, 2),
                          "bytes": size, **img["info"]}, indent=1))
    elif a.cmd == "shell":
        with Guest(console_log=a.console_log) as g:
            r = g.run(a.argv, timeout=600)
        sys.stdout.buffer.write(r.stdout)
        sys.stderr.buffer.write(r.stderr)
        return r.returncode if r.returncode >= 0 else 128 - r.returncode
    elif a.cmd == "boot-time":
        img = prepare()
        for i in range(a.n):
            g = Guest(image=img)
            t0 = time.monotonic()
            g.close()
            print(f"boot {i + 1}: ready after {g.boot_seconds:.2f}s, poweroff {time.monotonic() - t0:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
