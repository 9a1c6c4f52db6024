"""Hostile indexes (issue #6): a world of one binary with its own key, its cache dir and the answers
and bytes of its good index; the header's layout (index_format.h) to aim corruptions; index_case()
plants one corrupt copy and checks that dlvidx refuses it, answers the same and restores the index."""
import json
import os
import random
import shutil
import struct

import pytest

from dlvtest.run import run

HEADER = 1024
TABLES = ("strings", "files", "file_hash", "words", "values", "pc_lists", "functions")


def header_tables(img):
    t = {}
    for i, name in enumerate(TABLES):
        t[name] = struct.unpack_from("<QQ", img, 408 + 16 * i)
    t["names"] = struct.unpack_from("<QQ", img, 408 + 16 * 7 + 8)
    return t


def example_queries():
    """FILE:LINE for every line of the example's Go files (answers with and without code)."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "example")
    qs = []
    for rel in ("main.go", "shapes/shapes.go", "store/store.go", "work/work.go"):
        p = os.path.join(src, rel)
        n = sum(1 for _ in open(p))
        qs += [f"{rel}:{i}" for i in range(1, n + 2)]
    return "\n".join(qs) + "\n"


class IndexWorld:
    """One binary (a copy of the example with its own trailing bytes, hence its own key), its cache dir,
    and the answers and bytes of its good index."""

    def __init__(self, opts, scratch, src, tag, queries):
        self.opts, self.queries = opts, queries
        self.binary = os.path.join(scratch.dir, f"prog-{tag}")
        shutil.copy(src, self.binary)
        # A random size: its own identity, key and shm name, apart from every other world, including those
        # of tests running at the same time.
        with open(self.binary, "ab") as f:
            f.write(f"dlvidx hostile index test {tag}".encode() + b"." * random.SystemRandom().randrange(1, 1 << 20))
        self.cache = os.path.join(scratch.dir, f"cache-{tag}")
        r = run([opts.dlvidx, "build", "--json", "--cache-dir", self.cache, self.binary])
        if r.rc != 0:
            pytest.fail(f"build failed: {r.err}")
        j = json.loads(r.out)
        self.key = j["key"]
        scratch.keys.add(self.key)
        self.file = os.path.join(self.cache, self.key + ".idx")
        self.shm = f"/dev/shm/{j['location']}"
        self.good = open(self.file, "rb").read()
        self.answers = self.lookup()[0]
        assert self.answers and any(a["pcs"] for a in self.answers)

    def lookup(self):
        r = run([self.opts.dlvidx, "lookup", "--json", "--cache-dir", self.cache, self.binary, "-"],
                stdin=self.queries)
        try:
            return (json.loads(r.out) if r.rc in (0, 2) else None), r
        except ValueError:
            return None, r

    def published(self):
        """The good image as a publisher leaves it in shared memory: ready, its (now dead) pid."""
        ready, pid = header_offsets()
        return set_u32(set_u32(self.good, ready, 1), pid, dead_pid())

    def reset(self):
        """Back to a good cache file and shared memory object, whatever a previous case left."""
        self.drop_shm()
        shutil.rmtree(os.path.join(self.cache, "paths"), ignore_errors=True)
        if os.path.islink(os.path.join(self.cache, "paths")):
            os.unlink(os.path.join(self.cache, "paths"))
        if os.path.lexists(self.file):
            os.unlink(self.file)
        with open(self.file, "wb") as f:
            f.write(self.good)
        os.chmod(self.file, 0o600)
        self.lookup()

    def drop_shm(self):
        try:
            os.unlink(self.shm)
        except FileNotFoundError:
            pass

    def shm_good(self):
        """The published object holds the good image (ready and creator_pid aside)."""
        try:
            b = open(self.shm, "rb").read()
        except OSError:
            return False
        if len(b) != len(self.good):
            return False
        a = bytearray(b)
        for off in header_offsets():  # ready, creator_pid
            a[off:off + 4] = b"\0\0\0\0"
        return bytes(a) == self.good


def header_offsets():
    """Offsets of ready and creator_pid in IndexHeader (index_format.h)."""
    # magic 8, version 4, header_size 4, total 8, checksum 8, identity 8, binary_size 8, mtime 8, dwarf_hash 8,
    # slice_offset 8, go_build_id 128, gnu_build_id 64, uuid 40, arch/format/pie/reserved0 4, ready 4
    ready = 8 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 128 + 64 + 40 + 4
    # then link_base 8, pc_base 8, counts 9*8, file_hash_cap+reserved2 8, 7 TableRefs 112 -> creator_pid
    pid = ready + 4 + 8 + 8 + 72 + 8 + 112
    return ready, pid


def flip_positions(img, n, seed):
    """n (byte, bit) positions: every 8th byte of the used header, a share of each table, the rest random."""
    rng = random.Random(seed)
    used_header = 560
    pos = [(b, rng.randrange(8)) for b in range(0, used_header, 8)]
    pos += [(b, rng.randrange(8)) for b in header_offsets()]  # ready, creator_pid
    pos += [(rng.randrange(used_header, HEADER), rng.randrange(8)) for _ in range(6)]  # reserved bytes
    tabs = header_tables(img)
    per = max(1, (n - len(pos)) // (len(tabs) + 1))
    for name, (off, size) in tabs.items():
        if size:
            pos += [(off + rng.randrange(size), rng.randrange(8)) for _ in range(per)]
    while len(pos) < n:
        pos.append((rng.randrange(HEADER, len(img)), rng.randrange(8)))
    return pos[:n]


def trunc_points(img, seed, n_random=20):
    tabs = header_tables(img)
    pts = {0, 1, 7, 8, 16, 24, 32, 100, 400, 560, 1000, 1023, HEADER, HEADER + 1, len(img) - 8, len(img) - 1}
    for off, size in tabs.values():
        pts |= {off, off + 1, off + size // 2, off + size - 1}
    rng = random.Random(seed)
    pts |= {rng.randrange(1, len(img)) for _ in range(n_random)}
    return sorted(p for p in pts if 0 <= p < len(img))


def set_u32(img, off, v):
    b = bytearray(img)
    struct.pack_into("<I", b, off, v)
    return bytes(b)


NOTE_WORDS = ("corrupt", "checksum", "format version", "another binary", "too small", "shorter", "incomplete",
              "not trusted", "symbolic link", "not private", "ready flag")


def index_case(world, row, label, corrupt_file=None, corrupt_shm=None, harmless_ok=False, via_build=False):
    """Plants a corrupt cache file (no shared memory) or a corrupt shared memory object (good cache file),
    then `dlvidx lookup` (or, via_build, `dlvidx build --reuse` and then lookup): the bad copy must be
    refused with a note, the answers equal the good ones, and the good index be back in place."""
    if corrupt_file is not None:
        world.drop_shm()
        with open(world.file, "wb") as f:
            f.write(corrupt_file)
        os.chmod(world.file, 0o600)
    if corrupt_shm is not None:
        with open(world.file, "wb") as f:
            f.write(world.good)
        fd = os.open(world.shm, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(corrupt_shm)
    results = []
    if via_build:
        b = run([world.opts.dlvidx, "build", "--reuse", "--json", "--cache-dir", world.cache, world.binary])
        results.append(b)
        try:
            notes = json.loads(b.out)["notes"] if b.rc == 0 else []
        except ValueError:
            notes = []
    answers, r = world.lookup()
    results.append(r)
    if not via_build:
        notes = [l for l in r.err.splitlines() if l.startswith("dlvidx: note: ")]
    elif any(l.startswith("dlvidx: note: ") for l in r.err.splitlines()):
        notes.append("BUT the lookup after the build refused its index again")
        harmless_ok = False
        answers = None
    refused = any(w in n for n in notes for w in NOTE_WORDS)
    same = answers == world.answers
    file_ok = os.path.isfile(world.file) and open(world.file, "rb").read() == world.good
    shm_ok = world.shm_good()
    restored = file_ok and shm_ok
    ok = same and restored and (refused or harmless_ok)
    why = (f"{'build, then ' if via_build else ''}lookup exit {r.rc}, answers {'equal' if same else 'DIFFER'}, "
           f"index {'restored' if restored else 'NOT restored'} (file {'good' if file_ok else 'BAD'}, shared memory "
           f"{'good' if shm_ok else 'BAD' if os.path.exists(world.shm) else 'MISSING'}), notes: {notes[:2] or 'none'}")
    row.add(ok, label, why, results)
    return refused


def other_versions(image):
    """Format versions other than the image's own: older ones, the next one,
    and 2^32-1."""
    cur = struct.unpack_from("<I", image, 8)[0]
    return [v for v in (1, cur - 2, cur - 1, cur + 1, 0xffffffff) if 0 < v != cur]


def dead_pid():
    """A pid that no process has now (above pid_max: never a live one)."""
    try:
        return int(open("/proc/sys/kernel/pid_max").read()) + 1
    except (OSError, ValueError):
        pass
    for p in range(4_000_000, 3_000_000, -7):
        try:
            os.kill(p, 0)
        except ProcessLookupError:
            return p
        except PermissionError:
            pass
    return 0
