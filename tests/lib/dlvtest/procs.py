"""/proc helpers for the DAP tests: the process tree an adapter starts, watched while
it runs, so that a test can tell whether anything outlived it. Processes are only
ever signalled by PID (dlvtest.adapters)."""

import ctypes
import os
import subprocess
import threading

from dlvtest.dap import trace


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
