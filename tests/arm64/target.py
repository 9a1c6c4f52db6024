"""The ARM64 target of the test suite: an emulated linux/arm64 machine (guest.py)
holding the arm64 build of dlvidx, the arm64 dlvoracle and Debian's arm64 Delve,
which the host's tests drive as they drive the local ones.

    with Arm64(build_dir="build/arm64", dlvoracle=".../oracle/arm64/dlvoracle") as m:
        prog = m.binary("example-go127-linux-arm64")   # built on the host, put into the guest
        m.run([m.dlvidx, "lookup", prog, "main.go:10"])
        proc, host, port = dlvtest.adapters.start_adapter([m.dlvidx, "dap", "--dlv", m.dlv])

While an Arm64 is open, tests/lib/dlvtest/adapters.py starts, stops and watches DAP
adapters in the guest (dlvtest.adapters.TARGET): the listener is the guest's own
address, reached from the host's 127.0.0.1 through qemu's forward.
"""
import os, shutil, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from dlvtest import adapters, dap  # noqa: E402
from dlvtest.corpus import Corpus  # noqa: E402
import guest as guest_mod  # noqa: E402

SYSROOT_SH = os.path.join(REPO, "tools", "arm64-sysroot.sh")
CORPUS_PY = os.path.join(REPO, "tests", "corpus", "corpus.py")
EXAMPLE_DIR = os.path.join(REPO, "tests", "fixtures", "example")
GUEST_ADDR = "10.0.2.15"  # slirp's guest address: reachable only through the host forwards
OPT = "/opt/dlvidx"


def arm64_name(name):
    """The linux/arm64 corpus name for a linux/amd64 one (others unchanged)."""
    return name.replace("-linux-amd64", "-linux-arm64")


class Arm64:
    dlv = "/usr/bin/dlv"                   # Debian's arm64 delve (1.27.1)
    dlv120 = "/opt/delve-1.20.2/dlv"        # bookworm's arm64 delve (1.20.2)
    dlvidx = f"{OPT}/dlvidx"
    dlvoracle = f"{OPT}/dlvoracle"
    unit_tests = f"{OPT}/dlvidx_unit_tests"
    lookup_bench = f"{OPT}/dlvidx_lookup_bench"

    def __init__(self, build_dir=None, dlvoracle=None, corpus_py=CORPUS_PY, mem_mb=3072, smp=1, console_log=None):
        """build_dir: the arm64 build (cmake --preset arm64); dlvoracle: its arm64 build; smp: the
        guest's CPUs (each a host thread under TCG: 1 while tests run side by side)."""
        self.corpus = Corpus(corpus_py)
        self._tmp = tempfile.mkdtemp(prefix="dlvidx-arm64-")
        self._binaries = {}
        self._free_ports = [4711, 4712, 4713, 4714]
        self._adapters = {}  # live GuestProcess -> its guest port
        files = {}
        if build_dir:
            exe = {self.dlvidx: "tools/dlvidx", self.unit_tests: "tests/unit/dlvidx_unit_tests",
                   self.lookup_bench: "bench/dlvidx_lookup_bench"}
            for guest_path, rel in exe.items():
                src = os.path.join(build_dir, rel)
                if not os.path.exists(src):
                    if rel == "tools/dlvidx":
                        raise FileNotFoundError(f"{src}: no arm64 build (cmake --preset arm64 && "
                                                f"cmake --build --preset arm64)")
                    continue
                files[guest_path] = self._stripped(src)
            libs = subprocess.run(["bash", SYSROOT_SH, "libs", *[os.path.join(build_dir, r) for r in exe.values()
                                                                  if os.path.exists(os.path.join(build_dir, r))]],
                                  capture_output=True, text=True)
            if libs.returncode != 0:
                raise RuntimeError(f"arm64-sysroot.sh libs failed: {libs.stderr.strip()}")
            root = subprocess.run(["bash", SYSROOT_SH], capture_output=True, text=True, check=True).stdout.strip()
            for lib in libs.stdout.split():
                files["/" + os.path.relpath(lib, root)] = os.path.realpath(lib)
        if dlvoracle:
            files[self.dlvoracle] = dlvoracle
        self.guest = guest_mod.Guest(mem_mb=mem_mb, smp=smp, forward_ports=tuple(self._free_ports), extra_files=files,
                                     console_log=console_log)
        adapters.TARGET = self
        # The example's sources at the same path: on a real arm64 machine the editor, the shim
        # and the sources share one file system (the shim reads go.mod to map -trimpath paths).
        # Put after boot, not in the initramfs: the guest mounts a tmpfs on /tmp.
        for d, _, names in os.walk(EXAMPLE_DIR):
            for n in names:
                self.guest.put(os.path.join(d, n), os.path.join(d, n))

    def _stripped(self, path):
        """A stripped copy: the guest's RAM holds every file, debug info is not needed there."""
        out = os.path.join(self._tmp, os.path.basename(path))
        subprocess.run(["aarch64-linux-gnu-strip", "-o", out, path], check=True)
        return out

    # -- programs and files --

    def binary(self, name):
        """The guest path of corpus binary NAME (built on the host, uploaded once)."""
        if name not in self._binaries:
            host = self.corpus.path(name)
            dest = f"/corpus/{name}"
            self.guest.put(host, dest, 0o755)
            self._binaries[name] = dest
        return self._binaries[name]

    def run(self, argv, stdin=b"", timeout=600, check=False):
        if isinstance(stdin, str):
            stdin = stdin.encode()
        return self.guest.run(argv, stdin=stdin, timeout=timeout, check=check)

    def sha256(self, guest_path):
        r = self.run(["sha256sum", guest_path], check=True)
        return r.stdout.split()[0].decode()

    # -- DAP adapters (dlvtest.adapters delegates here) --

    def start_adapter(self, argv, timeout=dap.DEFAULT_TIMEOUT):
        """argv + --listen=<guest address>:<forwarded port> --log-dest=3, as vscode-go starts it;
        returns (proc, "127.0.0.1", host port) once the listening line came."""
        if not self._free_ports:
            raise RuntimeError("every forwarded guest port is in use")
        gport = self._free_ports.pop(0)
        full = list(argv) + [f"--listen={GUEST_ADDR}:{gport}", "--log-dest=3"]
        dap.trace("spawn (arm64 guest)", " ".join(full))
        baseline = self.guest.ps()
        proc = self.guest.spawn(full, cwd="/tmp")
        proc.argv, proc.pumps, proc.stdin, proc.target = full, [], None, self
        proc.watcher = GuestWatcher(self, proc.pid, baseline)
        self._adapters[proc] = gport
        try:
            deadline = time.monotonic() + timeout
            while True:
                said = [ln for ln in proc.fd3_lines + proc.stdout_lines if ln.startswith(adapters.LISTENING_PREFIX)]
                if said:
                    proc.listening_line = said[0].rstrip("\r\n")
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise dap.DAPTimeout(f"adapter in the arm64 guest did not listen (exit {proc.returncode}); "
                                        f"stderr={''.join(proc.stderr_lines)[-2000:]!r} "
                                        f"fd3={''.join(proc.fd3_lines)[-1000:]!r}")
                time.sleep(0.05)
        except BaseException:
            self.stop_adapter(proc)
            raise
        return proc, "127.0.0.1", self.guest.host_port(gport)

    def stop_adapter(self, proc, term_timeout=5.0, settle=5.0):
        """SIGTERM, then SIGKILL after term_timeout; waits `settle` s for everything it started
        to go away; returns dlvtest.adapters.Leftovers of what is still running in the guest."""
        if self.guest.closed:  # powered off: nothing of it runs any more
            self._adapters.pop(proc, None)
            return adapters.Leftovers()
        if proc.poll() is None:
            proc.watcher.poll()
            proc.terminate()
            if adapters.wait_exit(proc, term_timeout) is None:
                proc.kill()
                adapters.wait_exit(proc, 5)
        deadline = time.monotonic() + settle
        while True:
            proc.watcher.poll()
            alive = proc.watcher.alive()
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        proc.watcher.stop()
        proc.join_output(2)
        if proc in self._adapters:
            self._free_ports.append(self._adapters.pop(proc))
        return adapters.Leftovers(f"{pid} {r['comm']} {' '.join(r['cmdline'])[:200]}" for pid, r in sorted(alive.items()))

    def kill_leftovers(self, proc):
        if self.guest.closed:
            return []
        killed = []
        for pid in proc.watcher.alive():
            try:
                self.guest.kill(pid)
                killed.append(pid)
            except guest_mod.GuestError:
                pass
        return killed

    # -- lifetime --

    def close(self):
        if adapters.TARGET is self:
            adapters.TARGET = None
        for proc in list(self._adapters):
            try:
                self.stop_adapter(proc, term_timeout=2, settle=1)
            except Exception:
                pass
        self.guest.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GuestWatcher:
    """What an adapter started in the guest: its descendants, seen by polling the guest's
    process list, plus any process that appeared after it started and was re-parented to
    init or the agent (an orphan of a dead dlv): the guest runs nothing else meanwhile."""

    def __init__(self, machine, root, baseline, interval=2.0):  # a guest ps() costs ~0.2 s
        self.m, self.root = machine, root
        self.baseline = {(pid, r["starttime"]) for pid, r in baseline.items()}
        # Where the root's orphans go: init, or a subreaper among the adapter's ancestors.
        self.parents = {1}
        self._root_ppid = None
        self._seen = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True)
        self._thread.start()

    def _new(self, ps):
        return {pid: r for pid, r in ps.items() if (pid, r["starttime"]) not in self.baseline}

    def poll(self):
        try:
            ps = self.m.guest.ps()
        except guest_mod.GuestError:
            return
        new = self._new(ps)
        if self._root_ppid is None and self.root in ps:
            pid = self._root_ppid = ps[self.root]["ppid"]
            while pid in ps and pid > 1:
                self.parents.add(pid)
                pid = ps[pid]["ppid"]
        mine = {self.root} if self.root in new else set()
        grew = True
        while grew:
            grew = False
            for pid, r in new.items():
                if pid not in mine and r["ppid"] in mine:
                    mine.add(pid)
                    grew = True
        other_roots = {p.pid for p in self.m._adapters if p.pid != self.root}
        with self._lock:
            for pid in mine:
                if pid != self.root and pid not in other_roots:
                    self._seen[pid] = new[pid]

    def _loop(self, interval):
        while not self._stop.wait(interval):
            self.poll()

    def stop(self):
        self._stop.set()

    def recorded(self):
        with self._lock:
            return dict(self._seen)

    def alive(self):
        """Recorded processes still running (not zombies), and new orphans under init."""
        try:
            ps = self.m.guest.ps()
        except guest_mod.GuestError:
            return {}
        with self._lock:
            seen = dict(self._seen)
        out = {}
        for pid, r in self._new(ps).items():
            if r.get("state") == "Z":
                continue
            if (pid in seen and seen[pid]["starttime"] == r["starttime"]) or \
                    (r["ppid"] in self.parents and pid != self.root and not self._is_other_adapter(pid, ps)):
                out[pid] = r
        return out

    def _is_other_adapter(self, pid, ps):
        others = {p.pid for p in self.m._adapters if p.pid != self.root}
        while pid in ps and pid > 1:
            if pid in others:
                return True
            pid = ps[pid]["ppid"]
        return False


def check_deb(m, build):
    """The arm64 .deb (cpack in the cross build): its control fields, and its dlvidx runs in the guest."""
    results = []

    def check(ok, what):
        print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
        results.append(bool(ok))

    subprocess.run(["cpack", "-G", "DEB"], cwd=build, check=True, capture_output=True)
    debs = sorted(f for f in os.listdir(build) if f.startswith("dlvidx_") and f.endswith("_arm64.deb"))
    check(debs, f"cpack made {debs[-1] if debs else 'no _arm64.deb'}")
    if not debs:
        return results
    deb = os.path.join(build, debs[-1])
    field = lambda name: subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True,  # noqa: E731
                                        text=True).stdout.strip()
    check(field("Architecture") == "arm64", f"Architecture: {field('Architecture')}")
    depends = field("Depends")
    check(all(p in depends for p in ("libdwarf1", "libcapstone4", "libboost-json1.83.0", "libc6")),
          f"Depends: {depends}")
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
    check("./usr/bin/dlvidx" in listing and "./usr/lib/dlvidx/dlv -> ../../bin/dlvidx" in listing,
          "ships /usr/bin/dlvidx and the /usr/lib/dlvidx/dlv link")
    root = os.path.join(m._tmp, "deb")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    m.guest.put(os.path.join(root, "usr/bin/dlvidx"), "/usr/bin/dlvidx", 0o755)
    r = m.run(["/usr/bin/dlvidx", "--version"])
    check(r.returncode == 0 and r.stdout.startswith(b"dlvidx "),
          f"the packaged dlvidx runs in the arm64 guest: {r.stdout.decode().strip()} {r.stderr.decode()[-300:]}")
    return results


def main():
    import argparse
    ap = argparse.ArgumentParser(description="Run programs of the arm64 build in the emulated arm64 machine.")
    ap.add_argument("--build", required=True, help="the arm64 build directory (cmake --preset arm64)")
    ap.add_argument("what", choices=["unit", "deb"],
                    help="unit: the Catch2 unit tests; deb: the arm64 .deb (cpack) and its dlvidx in the guest")
    ap.add_argument("args", nargs="*", help="unit: passed to the unit tests")
    a = ap.parse_args()
    with Arm64(build_dir=a.build) as m:
        print(f"# arm64 guest booted in {m.guest.boot_seconds:.1f} s (emulated, TCG)", flush=True)
        if a.what == "deb":
            results = check_deb(m, a.build)
            print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
            return 0 if results and all(results) else 1
        r = m.run([m.unit_tests, *a.args], timeout=1200)
        sys.stdout.write(r.stdout.decode())
        sys.stderr.write(r.stderr.decode())
        print(f"# {m.unit_tests}: exit {r.returncode} in {r.elapsed:.1f} s (emulated, TCG)", flush=True)
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
