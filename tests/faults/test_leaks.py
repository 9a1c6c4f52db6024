"""Leaks: many sessions in a row through one installation leave no process, file descriptor,
shared memory object or temp file behind (records: dap-leaks.json). --sessions N (default 50)."""

import os
import shutil
import tempfile
import time

from dapfaults import ANSWER_S, Outcome, fd_targets
from dlvtest.dap import DAPError
from dlvtest.example import BIN_127, MAIN_GO, line_of
from dlvtest.procs import children_of
from dlvtest.run import shm_prefix

SUITE = "dap-leaks"


def shm_objects():
    try:
        return sorted(f for f in os.listdir("/dev/shm") if f.startswith(shm_prefix()))
    except OSError:
        return []


def dir_files(d):
    out = []
    for dp, _, fs in os.walk(d):
        out += [os.path.join(dp, f) for f in fs]
    return sorted(out)


def test_sessions_in_a_row(s):
    n = s.args.sessions
    binary = s.binary(BIN_127)
    stop_line = line_of(MAIN_GO, "record(s.Area())")
    tmp = tempfile.mkdtemp(prefix="dap-faults-tmp-")
    cache = tempfile.mkdtemp(prefix="dap-faults-cache-")
    env_saved = s.env
    s.env = dict(s.env, TMPDIR=tmp, XDG_CACHE_HOME=cache)
    new_shm = []
    try:
        with s.row("Leaks", f"{n} sessions in a row (launch, breakpoint, stop, disconnect)",
                   "0 processes, fds, shared memory objects or temp files left") as row:
            before = {"shm": shm_objects(), "tmp": dir_files(tmp), "fds": sorted(fd_targets(os.getpid())),
                      "children": sorted(children_of(os.getpid()))}
            shim_fds = []
            first_cache = None
            t0 = time.monotonic()
            for i in range(n):
                out = Outcome()
                proc, c = s.start()
                try:
                    ev = s.launch(c, binary, stop_line=stop_line, path=MAIN_GO)
                    shim_fds.append(len(fd_targets(proc.pid)))
                    f = (c.request_ok("stackTrace", {"threadId": ev["body"]["threadId"]})["body"]["stackFrames"][0])
                    out.answer = "stopped" if f["line"] == stop_line else None
                    c.request("disconnect", {"terminateDebuggee": True}, timeout=ANSWER_S)
                except DAPError as e:
                    out.note = f"{type(e).__name__}: {e}"
                s.finish(proc, c, out)
                if i == 0:
                    first_cache = dir_files(cache)
                row.cases += 1
                row.handled += out.ok
                row.crashes += bool(out.crashed)
                row.leaks += bool(out.leftover)
                if not out.ok:
                    print(f"FAIL Leaks: session {i + 1}: {out.answer} {out.crashed} {out.leftover} {out.note}", flush=True)
                    row.problems.append(f"session {i + 1}")
            after = {"shm": shm_objects(), "tmp": dir_files(tmp), "fds": sorted(fd_targets(os.getpid())),
                     "children": sorted(children_of(os.getpid()))}
            # Only the objects of this test's indexes (the keys of its private cache
            # dir): index tests running at the same time make their own.
            ours = {os.path.basename(f)[:-4] for f in dir_files(cache) if f.endswith(".idx")}
            new_shm = sorted(o for o in set(after["shm"]) - set(before["shm"]) if o.rsplit("-", 1)[-1] in ours)
            # The binary's index is created once (first session) and reused: one
            # shared memory object and one cache file at most, the same after 50.
            checks = [
                ("temp files", after["tmp"] == before["tmp"],
                 f"{len(after['tmp']) - len(before['tmp'])} new: {after['tmp'][:5]}"),
                ("shared memory objects", len(new_shm) <= 1, f"{len(new_shm)} new: {new_shm}"),
                ("cache files", dir_files(cache) == first_cache, f"after 1: {first_cache}; after {n}: {dir_files(cache)}"),
                ("test process fds", after["fds"] == before["fds"], f"{before['fds']} -> {after['fds']}"),
                ("child processes", not after["children"], f"{after['children']}"),
                ("shim fds at the stop, every session", len(set(shim_fds)) == 1, f"{sorted(set(shim_fds))}"),
            ]
            for what, ok, detail in checks:
                print(f"{'ok  ' if ok else 'FAIL'} Leaks: {what}: {detail}", flush=True)
                if not ok:
                    row.leaks += 1
                    row.handled = min(row.handled, row.cases - 1)
                    row.problems.append(f"{what}: {detail}")
            row.result = (f"{n} sessions in {time.monotonic() - t0:.0f} s; shim fds {shim_fds[0] if shim_fds else '?'} "
                          f"in each; {len(new_shm)} shm object and {len(first_cache or [])} cache file(s), reused; "
                          "0 temp files, fds or processes left")
    finally:
        s.env = env_saved
        for o in new_shm:  # this test's own index, and its private dirs
            os.unlink(os.path.join("/dev/shm", o))
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
