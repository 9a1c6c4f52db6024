"""Running dlvidx in the tests: a timeout, the child's own peak RSS (wait4), crash and leak marks;
private cache dirs that remove, on exit, the shared memory objects of their own indexes and only
those (tests running at the same time keep theirs)."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from dlvtest.crash import crash_marks, died_of_signal

TIMEOUT = 20.0  # seconds per dlvidx run


class Result:
    def __init__(self, rc, out, err, secs, rss_kb, timed_out):
        self.rc, self.out, self.err, self.secs, self.rss_kb, self.timed_out = rc, out, err, secs, rss_kb, timed_out

    @property
    def crashed(self):
        """A signal, or a sanitizer's report (ASan exits 1 by default, so the text decides)."""
        return not self.timed_out and (died_of_signal(self.rc) or bool(crash_marks(self.err)))

    @property
    def leaked(self):
        """LeakSanitizer's report at exit (counted apart from crashes)."""
        return "LeakSanitizer" in self.err


def run(argv, timeout=TIMEOUT, stdin=None, env=None, user=None):
    """Runs argv (as `user`, a uid, if given) in its own session, killed (the whole group) after
    `timeout` seconds; returns a Result with the child's own peak RSS (wait4)."""
    as_user = dict(user=user, group=user, extra_groups=[]) if user is not None else {}
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             stdout=fo, stderr=fe, env=env, start_new_session=True, **as_user)
        box = {}

        def reap():
            box["r"] = os.wait4(p.pid, 0)

        t = threading.Thread(target=reap, daemon=True)
        t.start()
        if stdin is not None:
            try:
                p.stdin.write(stdin.encode() if isinstance(stdin, str) else stdin)
                p.stdin.close()
            except BrokenPipeError:
                pass
        t.join(timeout)
        timed_out = t.is_alive()
        if timed_out:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            t.join()
        secs = time.monotonic() - t0
        _, status, ru = box["r"]
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        return Result(rc, fo.read().decode(errors="replace"), fe.read().decode(errors="replace"), secs,
                      ru.ru_maxrss, timed_out)


def _base36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = digits[d] + out
        if not n:
            return out


def shm_prefix(uid=None):
    """The start of every shared memory object name of user `uid` (store.h's shm_name)."""
    return f"dlvidx-{_base36(os.geteuid() if uid is None else uid)}-"


def shm_name(key, uid=None):
    """The shared memory object of an index key (a hex string, as `dlvidx build --json` gives it),
    as a Linux path: store.h's shm_name, "dlvidx-<uid>-<key>" in base 36."""
    return f"/dev/shm/{shm_prefix(uid)}{_base36(int(key, 16))}"


def drop_shm(keys):
    for k in keys:
        try:
            os.unlink(shm_name(k))
        except OSError:
            pass


class Cache:
    """A private index cache dir (dir). On exit it removes the shared memory objects of the indexes in
    it. forget(dlvidx, binary) adds a binary indexed elsewhere (e.g. by compare_with_dlv.py, with its
    own cache dir): on exit it is opened once into this dir, which names its key."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="dlvidx-test-")
        self.binaries = []
        return self

    def forget(self, dlvidx_path, binary):
        self.binaries.append((dlvidx_path, binary))

    def __exit__(self, *exc):
        for exe, binary in self.binaries:  # (opens the published index: its key, into self.dir)
            subprocess.run([exe, "build", "--reuse", "--json", "--cache-dir", self.dir, binary], capture_output=True)
        if os.path.isdir(self.dir):
            drop_shm({f[:-4] for f in os.listdir(self.dir) if f.endswith(".idx")})
        shutil.rmtree(self.dir, ignore_errors=True)


class Scratch:
    """A private temp dir (dir) and index cache under it (cache, not created). On exit it removes the
    shared memory objects of the indexes it made: the keys of every cache file under dir, and those
    registered in `keys`; then the dir, whatever modes a test left on it."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="dlvidx-hostile-")
        self.cache = os.path.join(self.dir, "cache")
        self.keys = set()
        return self

    def __exit__(self, *exc):
        keys = set(self.keys)
        for root, dirs, files in os.walk(self.dir):
            keys.update(f[:-4] for f in files if f.endswith(".idx") and len(f) == 20)
        drop_shm(keys)
        for root, dirs, files in os.walk(self.dir):  # chowned/chmod'ed leftovers
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
                except OSError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)
