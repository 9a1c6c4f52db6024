"""Hostile indexes (issue #6): corrupt, foreign, other-version and racing indexes in the cache file and
in shared memory. Two worlds (copies of the example, each with its own key) take the cases two at a
time; each case must be refused with a note, answer as the good index does and leave the good index in
place (tests/integration/hostile_world.py). Records: hostile-indexes-file, -shm, -race."""
import glob
import json
import os
import struct
import threading
import time

import pytest

from dlvtest.run import Scratch, run
from hostile_rows import MiB, Row, report
from hostile_world import (HEADER, IndexWorld, dead_pid, example_queries, flip_positions, header_offsets, index_case,
                           other_versions, set_u32, trunc_points)

pytestmark = pytest.mark.timeout(570)
AREA = "Hostile indexes"


def parallel(worlds, row, jobs):
    """jobs: (label, fn(world) -> kwargs for index_case); two worlds, two at a time."""
    lock = threading.Lock()
    queue = list(jobs)

    def worker(w):
        while True:
            with lock:
                if not queue:
                    return
                label, make = queue.pop(0)
            r2 = Row(row.area, row.case)
            with lock:
                n = row.cases + len(queue)
            try:
                kw = make(w)
                # every 4th: `dlvidx build --reuse` finds the bad copy and rebuilds, then lookup
                index_case(w, r2, label, via_build=n % 4 == 0, **kw)
            except Exception as e:  # a step of the test itself: one failed case, not a dead worker
                r2.add(False, label, f"{type(e).__name__}: {e}")
            with lock:
                row.cases += r2.cases
                row.handled += r2.handled
                row.crashes += r2.crashes
                row.hangs += r2.hangs
                row.leaks += r2.leaks
                row.failures += r2.failures
                row.peak_kb = max(row.peak_kb, r2.peak_kb)
                if r2.samples and len(row.samples) < 3 and row.cases % 29 == 1:
                    row.samples += r2.samples

    ts = [threading.Thread(target=worker, args=(w,)) for w in worlds]
    [t.start() for t in ts]
    [t.join() for t in ts]
    row.result_suffix = "; 1 case in 4 through `dlvidx build --reuse` (then lookup), the rest `dlvidx lookup`"


class Worlds(list):
    """Two IndexWorlds of the example in one Scratch, and what the cases are made of."""

    def __init__(self, opts, corpus, s):
        self.opts, self.s = opts, s
        self.src = corpus("example-go127-linux-amd64")
        self.other_src = corpus("example-go122-linux-amd64")
        self.queries = example_queries()
        super().__init__(IndexWorld(opts, s, self.src, f"w{i}", self.queries) for i in range(2))
        self.good = self[0].good
        assert struct.unpack_from("<I", self.good, 8)[0] >= 5, "index format without a header checksum"


@pytest.fixture(scope="module")
def worlds(opts, corpus):
    with Scratch() as s:
        yield Worlds(opts, corpus, s)


def keep(rows, row, result):
    """A row done: its result (and what parallel() adds to it) set, the row kept in rows."""
    row.result = result
    row.result += getattr(row, "result_suffix", "")
    rows.append(row)


def finish(part, rows, t0):
    print(f"hostile indexes ({part}): {time.monotonic() - t0:.1f} s")
    failed = report(f"hostile-indexes-{part}", rows)
    assert not failed, "rows with unhandled cases:\n  " + "\n  ".join(failed)


def test_file(worlds, opts):
    """Cache files truncated, with bit flips, of other versions or other binaries."""
    t0, rows, s, good, other_src, queries = time.monotonic(), [], worlds.s, worlds.good, worlds.other_src, worlds.queries
    pts = trunc_points(good, 11)
    row = Row(AREA, f"cache file truncated at {len(pts)} offsets (header fields, every table's "
                    "start/middle/end, random)")
    parallel(worlds, row, [(f"file cut at {p}", lambda w, p=p: dict(corrupt_file=w.good[:p])) for p in pts])
    keep(rows, row, "refused (note: corrupt, removed), rebuilt byte-identical; lookup answers unchanged")

    flips = flip_positions(good, 200, 12)
    row = Row(AREA, f"cache file with single-bit flips at {len(flips)} positions (every 8th header byte, "
                    "reserved bytes, every table, random)")

    def flipped(w, b, bit):
        x = bytearray(w.good)
        x[b] ^= 1 << bit
        return dict(corrupt_file=bytes(x))

    parallel(worlds, row, [(f"file bit {b}.{bit}", lambda w, b=b, bit=bit: flipped(w, b, bit)) for b, bit in flips])
    keep(rows, row, "refused: the XXH3 checksum covers the header and every table (ready/creator_pid must be "
                    "0 in a file); rebuilt byte-identical; lookup answers unchanged")

    row = Row(AREA, "cache file of another format version, or of another binary under this key")
    jobs = [(f"format version {v}", lambda w, v=v: dict(corrupt_file=set_u32(w.good, 8, v)))
            for v in other_versions(good)]
    jobs.append(("the other copy's index (same DWARF, other size)",
                 lambda w: dict(corrupt_file=worlds[1 - worlds.index(w)].good)))
    other = IndexWorld(opts, s, other_src, "other", queries)
    jobs.append(("Go 1.22 build's index (other binary)", lambda w: dict(corrupt_file=other.good)))
    jobs.append(("empty file", lambda w: dict(corrupt_file=b"")))
    jobs.append(("1 MiB of zeros", lambda w: dict(corrupt_file=b"\0" * MiB)))
    jobs.append(("header only, magic and version right", lambda w: dict(corrupt_file=w.good[:HEADER])))
    parallel(worlds, row, jobs)
    keep(rows, row, "refused ('format version N' / 'belongs to another binary' / corrupt), rebuilt; answers unchanged")
    finish("file", rows, t0)


def test_shm(worlds, opts):
    """Shared memory objects truncated, with bit flips, of other versions or other binaries, not ready."""
    t0, rows, s, good, other_src, queries = time.monotonic(), [], worlds.s, worlds.good, worlds.other_src, worlds.queries
    ready_off, pid_off = header_offsets()
    pts = trunc_points(good, 21)
    row = Row(AREA, f"shared memory object truncated at {len(pts)} offsets")
    parallel(worlds, row, [(f"shm cut at {p}", lambda w, p=p: dict(corrupt_shm=w.good[:p])) for p in pts])
    keep(rows, row, "refused (note, removed), republished from the cache file; answers unchanged")

    flips = flip_positions(good, 200, 22)
    row = Row(AREA, f"shared memory object with single-bit flips at {len(flips)} positions")

    def shm_flip(w, b, bit):
        x = bytearray(w.published())
        x[b] ^= 1 << bit
        # creator_pid is read only while ready == 0: a flip there changes nothing.
        return dict(corrupt_shm=bytes(x), harmless_ok=pid_off <= b < pid_off + 4)

    parallel(worlds, row, [(f"shm bit {b}.{bit}", lambda w, b=b, bit=bit: shm_flip(w, b, bit)) for b, bit in flips])
    keep(rows, row, "refused: checksum verified on every open of shared memory too (ready must be 0/1; "
                    "creator_pid, read only while incomplete, is the one field a flip cannot change answers "
                    "through); republished from the file; answers unchanged")

    row = Row(AREA, "shared memory object of another format version, of another binary, empty")
    jobs = [(f"shm format version {v}", lambda w, v=v: dict(corrupt_shm=set_u32(w.published(), 8, v)))
            for v in other_versions(good)[1:4]]
    other = IndexWorld(opts, s, other_src, "other-shm", queries)
    jobs.append(("shm: another binary's image", lambda w: dict(corrupt_shm=set_u32(other.good, ready_off, 1))))
    jobs.append(("shm: empty", lambda w: dict(corrupt_shm=b"")))
    jobs.append(("shm: ready flag 2", lambda w: dict(corrupt_shm=set_u32(w.published(), ready_off, 2))))
    jobs.append(("shm: ready 0, publisher dead",
                 lambda w: dict(corrupt_shm=set_u32(set_u32(w.published(), ready_off, 0), pid_off,
                                                    dead_pid()))))
    parallel(worlds, row, jobs)
    keep(rows, row, "refused (note), republished from the cache file; answers unchanged")
    finish("shm", rows, t0)


def test_race(worlds, opts):
    """Concurrent builders and lookups of one binary."""
    t0, rows, queries = time.monotonic(), [], worlds.queries
    row = Row(AREA, "concurrent builders: 4 x `dlvidx build` + 2 x `dlvidx lookup` of one binary, 5 rounds, "
                    "cache file and shared memory removed between rounds")
    w = worlds[0]
    for rnd in range(5):
        w.drop_shm()
        for f in glob.glob(os.path.join(w.cache, "*")):
            if os.path.isfile(f):
                os.unlink(f)
        res = [None] * 6

        def go(i):
            if i < 4:
                res[i] = run([opts.dlvidx, "build", "--cache-dir", w.cache, w.binary])
            else:
                res[i] = run([opts.dlvidx, "lookup", "--json", "--cache-dir", w.cache, w.binary, "-"],
                             stdin=queries)

        ts = [threading.Thread(target=go, args=(i,)) for i in range(6)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        idx = glob.glob(os.path.join(w.cache, "*.idx"))
        tmps = [f for f in os.listdir(w.cache) if ".tmp" in f]
        lookups_same = all(r.rc in (0, 2) and json.loads(r.out) == w.answers for r in res[4:])
        one = len(idx) == 1 and not tmps and open(idx[0], "rb").read() == w.good and w.shm_good()
        reuse = run([opts.dlvidx, "build", "--reuse", "--json", "--cache-dir", w.cache, w.binary])
        opened = reuse.rc == 0 and not json.loads(reuse.out)["built"]
        ok = all(r.rc == 0 for r in res[:4]) and lookups_same and one and opened
        row.add(ok, f"round {rnd}", f"exits {[r.rc for r in res]}, {len(idx)} .idx, tmp {tmps}, "
                                    f"lookups same {lookups_same}, reopened {opened}: "
                                    f"{' | '.join(r.err.strip()[:200] for r in res if r.err.strip())}", res + [reuse])
    keep(rows, row, "all exit 0; exactly one cache file (byte-identical to a lone build), no temp files, "
                    "a valid shared memory object; lookups during the race answer the same")
    finish("race", rows, t0)
