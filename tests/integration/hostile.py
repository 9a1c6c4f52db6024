"""Hostile binaries, hostile indexes and the store's security (issue #6).

Used by run.py's `hostile-binaries`, `hostile-indexes` and `security`
subcommands. Every input is generated here, at run time, from real corpus
binaries (nothing hostile is checked in). Each dlvidx run is bounded by a
timeout and its peak RSS is taken from wait4(2).

With DLVIDX_RELIABILITY_DIR set, each suite writes
$DLVIDX_RELIABILITY_DIR/<suite>.json: {"suite", "rows": [{"area", "case",
"cases", "handled", "crashes", "hangs", "leaks", "result"}]}. A suite fails
when any row has handled != cases.
"""
import concurrent.futures
import glob
import json
import os
import pwd
import random
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

TIMEOUT = 20.0  # seconds per dlvidx run
# A crash: a signal, or a sanitizer's report (ASan exits 1 by default, so the text decides). A leak
# (LeakSanitizer, at exit) is counted apart.
CRASH_MARKS = ("AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:", "Segmentation fault",
               "terminate called")
MiB = 1 << 20

# ---------------------------------------------------------------------------
# Running dlvidx: exit status, output, time and peak RSS of each child.


class Result:
    def __init__(self, rc, out, err, secs, rss_kb, timed_out):
        self.rc, self.out, self.err, self.secs, self.rss_kb, self.timed_out = rc, out, err, secs, rss_kb, timed_out

    @property
    def crashed(self):
        return not self.timed_out and (self.rc < 0 or any(m in self.err for m in CRASH_MARKS))

    @property
    def leaked(self):
        return "LeakSanitizer" in self.err


def run(argv, timeout=TIMEOUT, stdin=None, env=None, user=None):
    """Runs argv (as `user`, a uid, if given); returns Result with the child's own peak RSS (wait4)."""
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


class Scratch:
    """A private temp dir and index cache. On exit it removes the shared memory objects of the indexes
    it made, and only those (tests running at the same time keep theirs): the keys of every cache file
    under its dir, and those registered in `keys`."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="dlvidx-hostile-")
        self.cache = os.path.join(self.dir, "cache")
        self.keys = set()
        return self

    def __exit__(self, *exc):
        keys = set(self.keys)
        for root, dirs, files in os.walk(self.dir):
            keys.update(f[:-4] for f in files if f.endswith(".idx") and len(f) == 20)
        for k in keys:
            try:
                os.unlink(f"/dev/shm/dlvidx-{os.geteuid()}-{k}")
            except OSError:
                pass
        for root, dirs, files in os.walk(self.dir):  # chowned/chmod'ed leftovers
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
                except OSError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Reliability records.


class Row:
    def __init__(self, area, case):
        self.area, self.case = area, case
        self.cases = self.handled = self.crashes = self.hangs = self.leaks = 0
        self.failures = []
        self.samples = []  # a few messages of handled cases, for the log
        self.peak_kb = 0
        self.result = ""

    def add(self, ok, label, why="", results=()):
        self.cases += 1
        crashed = any(r.crashed for r in results)
        hung = any(r.timed_out for r in results)
        leaked = any(r.leaked for r in results)
        for r in results:
            self.peak_kb = max(self.peak_kb, r.rss_kb)
        self.crashes += crashed
        self.hangs += hung
        self.leaks += leaked
        ok = ok and not crashed and not hung and not leaked
        self.handled += ok
        if ok and results and self.cases % 37 == 1 and len(self.samples) < 4 and results[0].err.strip():
            self.samples.append(f"{label}: {results[0].err.strip().splitlines()[0][:240]}")
        if not ok:
            detail = why
            for r in results:
                if r.crashed or r.timed_out or r.leaked:
                    detail += f" [{'hang' if r.timed_out else 'crash'} rc={r.rc}: {r.err.strip()[-300:]}]"
            self.failures.append(f"{label}: {detail}")
        return ok

    def record(self):
        return {"area": self.area, "case": self.case, "cases": self.cases, "handled": self.handled,
                "crashes": self.crashes, "hangs": self.hangs, "leaks": self.leaks, "result": self.result}


class Guard:
    """A test step that raises (a regression can leave files the test did not expect) counts as one
    failed case instead of ending the suite."""

    def __init__(self, row):
        self.row = row

    def __enter__(self):
        return self

    def __exit__(self, typ, e, tb):
        if e is not None and issubclass(typ, Exception):
            self.row.add(False, "test step", f"{typ.__name__}: {e}")
            return True
        return False


def report(suite, rows):
    ok = True
    for r in rows:
        good = r.handled == r.cases
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} [{r.area}] {r.case}: {r.handled}/{r.cases} handled, "
              f"{r.crashes} crashes, {r.hangs} hangs, {r.leaks} leaks; {r.result}")
        for m in r.samples:
            print(f"       e.g. {m}")
        for f in r.failures[:15]:
            print(f"       FAILED {f}")
        if len(r.failures) > 15:
            print(f"       ... {len(r.failures) - 15} more")
    out = os.environ.get("DLVIDX_RELIABILITY_DIR")
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{suite}.json"), "w") as f:
            json.dump({"suite": suite, "rows": [r.record() for r in rows]}, f, indent=1)
            f.write("\n")
    total = sum(r.cases for r in rows)
    print(f"{suite}: {sum(r.handled for r in rows)}/{total} inputs handled")
    return ok


# ---------------------------------------------------------------------------
# Object file layouts (enough to aim the mutations).

SHT_NOBITS = 8
SHF_COMPRESSED = 0x800


def P(data, *patches, append=b""):
    """A thunk making data with each (offset, struct format, value) patched in, plus `append`: cases are
    materialized one at a time, never all at once."""
    def make():
        b = bytearray(data)
        for off, fmt, v in patches:
            struct.pack_into(fmt, b, off, v)
        return bytes(b) + append
    return make


class Elf:
    def __init__(self, data):
        self.data = data
        (self.phoff, self.shoff) = struct.unpack_from("<QQ", data, 0x20)
        (self.phentsize, self.phnum, self.shentsize, self.shnum, self.shstrndx) = struct.unpack_from("<HHHHH", data, 0x36)
        self.sections = []
        for i in range(self.shnum):
            h = self.shoff + i * self.shentsize
            name, typ, flags, addr, off, size = struct.unpack_from("<IIQQQQ", data, h)
            self.sections.append(dict(i=i, hdr=h, name_off=name, type=typ, flags=flags, offset=off, size=size))
        strtab = self.sections[self.shstrndx]
        self.shstrtab = strtab
        for s in self.sections:
            o = strtab["offset"] + s["name_off"]
            s["name"] = data[o:data.index(b"\0", o)].decode()
        self.phdrs = []
        for i in range(self.phnum):
            h = self.phoff + i * self.phentsize
            typ, flags, off, vaddr, paddr, filesz = struct.unpack_from("<IIQQQQ", data, h)
            self.phdrs.append(dict(i=i, hdr=h, type=typ, offset=off, filesz=filesz))

    def section(self, name):
        for s in self.sections:
            if s["name"] == name:
                return s
        return None

    def dwarf(self):
        return [s for s in self.sections if s["name"].startswith(".debug_") and s["size"] > 0]

    def needed_end(self):
        ends = [s["offset"] + s["size"] for s in self.sections if s["type"] != SHT_NOBITS]
        ends += [p["offset"] + p["filesz"] for p in self.phdrs if p["type"] == 1]
        ends.append(self.shoff + self.shnum * self.shentsize)
        return max(ends)


class MachO:
    def __init__(self, data, base=0):
        self.data, self.base = data, base
        self.ncmds, self.sizeofcmds = struct.unpack_from("<II", data, base + 16)
        self.cmds, self.segments = [], []
        off = base + 32
        for _ in range(self.ncmds):
            cmd, cmdsize = struct.unpack_from("<II", data, off)
            self.cmds.append(dict(off=off, cmd=cmd, size=cmdsize))
            if cmd == 0x19:
                segname = data[off + 8:off + 24].rstrip(b"\0").decode()
                fileoff, filesize = struct.unpack_from("<QQ", data, off + 40)
                nsects, = struct.unpack_from("<I", data, off + 64)
                seg = dict(off=off, name=segname, fileoff=fileoff, filesize=filesize, nsects=nsects, sections=[])
                for k in range(nsects):
                    so = off + 72 + 80 * k
                    sect = data[so:so + 16].rstrip(b"\0").decode()
                    size, = struct.unpack_from("<Q", data, so + 40)
                    offset, = struct.unpack_from("<I", data, so + 48)
                    seg["sections"].append(dict(hdr=so, name=sect, seg=segname, size=size, offset=offset))
                self.segments.append(seg)
            off += cmdsize

    def section(self, name):
        for seg in self.segments:
            for s in seg["sections"]:
                if s["name"] == name:
                    return s
        return None

    def dwarf(self):
        return [s for seg in self.segments for s in seg["sections"] if seg["name"] == "__DWARF" and s["size"] > 0]

    def needed_end(self):
        ends = [self.base + s["fileoff"] + s["filesize"] for s in self.segments]
        return max(ends)


def make_fat(body, align=1 << 14, cpu=0x0100000c):
    header = (b"\xca\xfe\xba\xbe" + (1).to_bytes(4, "big") + cpu.to_bytes(4, "big") + (0).to_bytes(4, "big") +
              align.to_bytes(4, "big") + len(body).to_bytes(4, "big") + (14).to_bytes(4, "big"))
    return header + b"\0" * (align - len(header)) + body


_bombs = {}


def bomb(n_bytes):
    """A zlib stream of n_bytes zeros (deflate: ~1/1000 of that), made once."""
    if n_bytes not in _bombs:
        c = zlib.compressobj(9)
        chunk = b"\0" * (4 * MiB)
        parts, left = [], n_bytes
        while left:
            k = min(left, len(chunk))
            parts.append(c.compress(chunk[:k]))
            left -= k
        parts.append(c.flush())
        _bombs[n_bytes] = b"".join(parts)
    return _bombs[n_bytes]


# ---------------------------------------------------------------------------
# A. Hostile binaries.


def truncation_offsets(size, structure, seed, n_structure=120, n_random=24):
    """1..64; structure boundaries and one byte past them (every header field, load command, section
    header, section start/middle/end; evenly sampled down to n_structure); random offsets; all < size."""
    offs = set(range(1, 65))
    points = sorted({o + d for o in structure for d in (0, 1) if 64 < o + d < size})
    if len(points) > n_structure:
        points = [points[i * len(points) // n_structure] for i in range(n_structure)]
    offs.update(points)
    rng = random.Random(seed)
    while len(offs) < 64 + len(points) + n_random:
        offs.add(rng.randrange(65, size))
    return sorted(offs)


def elf_structure(e):
    pts = [16, 18, 20, 24, 32, 40, 48, 52, 54, 56, 58, 60, 62, 64]
    pts += [p["hdr"] for p in e.phdrs] + [p["hdr"] + 8 for p in e.phdrs] + [p["hdr"] + 32 for p in e.phdrs]
    pts += [s["hdr"] for s in e.sections] + [s["hdr"] + 24 for s in e.sections] + [s["hdr"] + 40 for s in e.sections]
    pts += [e.shoff + e.shnum * e.shentsize]
    for s in e.sections:
        if s["type"] != SHT_NOBITS and s["size"]:
            pts += [s["offset"], s["offset"] + s["size"] // 2, s["offset"] + s["size"] - 1]
            if s["flags"] & SHF_COMPRESSED:
                pts += [s["offset"] + 12, s["offset"] + 24, s["offset"] + 26]
    for p in e.phdrs:
        pts += [p["offset"] + p["filesz"] - 1]
    return pts


def macho_structure(m, base=0):
    pts = [base + o for o in (4, 8, 12, 16, 20, 24, 28, 32)]
    for c in m.cmds:
        pts += [c["off"], c["off"] + 4, c["off"] + 8, c["off"] + c["size"] // 2]
    for seg in m.segments:
        pts += [base + seg["fileoff"], base + seg["fileoff"] + seg["filesize"] // 2,
                base + seg["fileoff"] + seg["filesize"] - 1]
        for s in seg["sections"]:
            pts += [s["hdr"], s["hdr"] + 48]
            if s["offset"] and s["size"]:
                pts += [base + s["offset"], base + s["offset"] + 12, base + s["offset"] + s["size"] // 2,
                        base + s["offset"] + s["size"] - 1]
    return pts


def elf_header_cases(data, tag):
    """(label, bytes, expect): expect 'error' (exit 1 + message) or 'either' (also exit 0 allowed)."""
    e = Elf(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    c.append((f"{tag}: ELF class 32", P(data, (4, "<B", 1)), "error"))
    c.append((f"{tag}: ELF big-endian", P(data, (5, "<B", 2)), "error"))
    c.append((f"{tag}: e_machine 3", P(data, (18, "<H", 3)), "error"))
    for v in (size, size + 1, U64, U64 - 63, (1 << 64) - e.shnum * e.shentsize + 64):
        c.append((f"{tag}: e_shoff {v:#x}", P(data, (0x28, "<Q", v & U64)), "error"))
    for v in (0, 0xffff, 0x8000):
        c.append((f"{tag}: e_shnum {v}", P(data, (0x3c, "<H", v)), "error"))
    c.append((f"{tag}: e_shnum +1", P(data, (0x3c, "<H", e.shnum + 1)), "either"))
    for v in (0, 1, 63, 0xffff):
        c.append((f"{tag}: e_shentsize {v}", P(data, (0x3a, "<H", v)), "error" if v < 64 else "either"))
    nobits = [s["i"] for s in e.sections if s["type"] == SHT_NOBITS]
    text = e.section(".text")["i"]
    for v in [0, e.shnum, 0xffff, 0xff00] + nobits:
        c.append((f"{tag}: e_shstrndx {v}", P(data, (0x3e, "<H", v)), "error"))
    c.append((f"{tag}: e_shstrndx -> .text", P(data, (0x3e, "<H", text)), "either"))
    for k in nobits:  # NOBITS sections' offsets are not checked against the file: must not be read either
        h = e.sections[k]["hdr"]
        c.append((f"{tag}: e_shstrndx -> NOBITS section {k} at offset 2^62",
                  P(data, (0x3e, "<H", k), (h + 24, "<Q", 1 << 62)), "error"))
        c.append((f"{tag}: NOBITS section {k} at offset 2^62", P(data, (h + 24, "<Q", 1 << 62)), "either"))
    st = e.shstrtab["hdr"]
    c.append((f"{tag}: .shstrtab turned SHT_NOBITS at offset 2^62",
              P(data, (st + 4, "<I", SHT_NOBITS), (st + 24, "<Q", 1 << 62)), "error"))
    for v in (size + 1, U64, U64 - 31):
        c.append((f"{tag}: e_phoff {v:#x}", P(data, (0x20, "<Q", v)), "error"))
    c.append((f"{tag}: e_phnum 0xffff", P(data, (0x38, "<H", 0xffff)), "error"))
    for v in (0, 8):
        c.append((f"{tag}: e_phentsize {v}", P(data, (0x36, "<H", v)), "error"))
    for p in e.phdrs:
        if p["type"] != 1:
            continue
        h = p["hdr"]
        c.append((f"{tag}: PT_LOAD {p['i']} p_offset beyond EOF", P(data, (h + 8, "<Q", size + 4096)), "error"))
        c.append((f"{tag}: PT_LOAD {p['i']} p_filesz huge", P(data, (h + 32, "<Q", U64)), "error"))
        c.append((f"{tag}: PT_LOAD {p['i']} p_offset+p_filesz wraps",
                  P(data, (h + 8, "<Q", U64 - 7), (h + 32, "<Q", 16)), "error"))
    # Every section: out of the file; a few important ones get every variant.
    important = {".debug_info", ".debug_line", ".debug_abbrev", ".debug_addr", ".debug_rnglists", ".shstrtab",
                 ".note.go.buildid", ".gopclntab", ".text"}
    for s in e.sections[1:]:
        h, nm = s["hdr"], s["name"]
        nobits = s["type"] == SHT_NOBITS
        exp = "either" if nobits else "error"
        c.append((f"{tag}: {nm} sh_offset = EOF+1", P(data, (h + 24, "<Q", size + 1)), exp))
        c.append((f"{tag}: {nm} sh_offset+sh_size wraps 2^64",
                  P(data, (h + 24, "<Q", U64 - 15), (h + 32, "<Q", 32)), exp))
        if nm not in important:
            continue
        c.append((f"{tag}: {nm} sh_offset 2^64-1", P(data, (h + 24, "<Q", U64)), "error"))
        c.append((f"{tag}: {nm} sh_size past EOF", P(data, (h + 32, "<Q", size - s["offset"] + 1)), "error"))
        c.append((f"{tag}: {nm} sh_size 2^64-1", P(data, (h + 32, "<Q", U64)), "error"))
        c.append((f"{tag}: {nm} sh_size wraps offset to 16",
                  P(data, (h + 32, "<Q", ((1 << 64) - s["offset"] + 16) & U64)), "error"))
        c.append((f"{tag}: {nm} sh_name 0xffffffff", P(data, (h, "<I", 0xffffffff)), "error"))
        c.append((f"{tag}: {nm} sh_name = len(.shstrtab)", P(data, (h, "<I", e.shstrtab["size"])), "error"))
        c.append((f"{tag}: {nm} sh_link 0xffffffff", P(data, (h + 40, "<I", 0xffffffff)), "either"))
        c.append((f"{tag}: {nm} SHT_NOBITS at offset 2^64-1",
                  P(data, (h + 4, "<I", SHT_NOBITS), (h + 24, "<Q", U64)), "either"))
    # Notes: sizes that run past the section.
    n = e.section(".note.go.buildid")
    for field, at in (("namesz", 0), ("descsz", 4)):
        for v in (0xffffffff, n["size"]):
            c.append((f"{tag}: .note.go.buildid {field} {v:#x}", P(data, (n["offset"] + at, "<I", v)), "error"))
    return c


def compressed_cases(data, tag):
    """SHF_COMPRESSED sections whose Elf64_Chdr lies, corrupt streams, zip bombs, and .zdebug_* sections."""
    e = Elf(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    for nm in (".debug_info", ".debug_line", ".debug_abbrev"):
        s = e.section(nm)
        if not s or not s["flags"] & SHF_COMPRESSED:
            continue
        h, off, n = s["hdr"], s["offset"], s["size"]
        real, = struct.unpack_from("<Q", data, off + 8)
        for label, v in (("real-1", real - 1), ("real/2", real // 2), ("real+1", real + 1), ("2*real", 2 * real),
                         ("0", 0), ("1", 1), ("2^63", 1 << 63), ("2^64-1", U64), ("4 GiB+1", (4 << 30) + 1),
                         ("65*compressed", 65 * n), ("1025*compressed", 1025 * n)):
            c.append((f"{tag}: {nm} ch_size {label}", P(data, (off + 8, "<Q", v)), "error"))
        for v in (0, 2, 0xffffffff):
            c.append((f"{tag}: {nm} ch_type {v}", P(data, (off, "<I", v)), "error"))
        mid = off + 24 + (n - 24) // 2
        c.append((f"{tag}: {nm} zlib stream byte flipped", P(data, (mid, "<B", data[mid] ^ 0x55)), "error"))
        c.append((f"{tag}: {nm} zlib stream zeroed 64 bytes", P(data, (mid, "64s", b"\0" * 64)), "error"))
        c.append((f"{tag}: {nm} zlib header broken", P(data, (off + 24, "<H", 0xffff)), "error"))
        for k in (0, 8, 23, 24, 26, n // 2, n - 1):
            c.append((f"{tag}: {nm} sh_size {k} (stream cut)", P(data, (h + 32, "<Q", k)), "error"))
        c.append((f"{tag}: {nm} SHF_COMPRESSED cleared", P(data, (h + 8, "<Q", s["flags"] & ~SHF_COMPRESSED)), "error"))
        # Zip bombs, appended at the end of the file and pointed at.
        for label, n_zero, declared in (("64 MiB of zeros, declared honestly", 64 * MiB, 64 * MiB),
                                        ("64 MiB of zeros, declared 100 KiB", 64 * MiB, 100 << 10),
                                        ("64 MiB of zeros, declared 4 GiB", 64 * MiB, 4 << 30),
                                        ("5 GiB of zeros, declared 4 GiB", 5 << 30, 4 << 30),
                                        ("5 GiB of zeros, declared 5 GiB", 5 << 30, 5 << 30)):
            if nm != ".debug_info" and n_zero > 64 * MiB:
                continue
            z = struct.pack("<IIQQ", 1, 0, declared, 1) + bomb(n_zero)
            body = P(data, (h + 24, "<Q", size), (h + 32, "<Q", len(z)), append=z)
            c.append((f"{tag}: {nm} zip bomb: {label}", body, "error"))
    # A section that is not compressed but says it is.
    s = e.section(".debug_gdb_scripts") or e.section(".symtab")
    c.append((f"{tag}: {s['name']} with SHF_COMPRESSED over plain bytes",
              P(data, (s["hdr"] + 8, "<Q", s["flags"] | SHF_COMPRESSED)), "either"))
    return c


def zdebug_elf_cases(data, tag):
    """Old-style ELF .zdebug_* ("ZLIB" + big-endian size): a new .shstrtab with renamed sections is
    appended, and each section rewritten with the ZLIB header. The honest one must index."""
    e = Elf(data)
    U64 = (1 << 64) - 1
    names = bytearray(b"\0")
    name_off = {}
    for s in e.sections[1:]:
        nm = s["name"]
        if nm in (".debug_info", ".debug_line"):
            nm = ".z" + nm[1:]
        name_off[s["i"]] = len(names)
        names += nm.encode() + b"\0"
    b = bytearray(data)
    for s in e.sections[1:]:
        struct.pack_into("<I", b, s["hdr"], name_off[s["i"]])
    st = e.shstrtab
    struct.pack_into("<QQ", b, st["hdr"] + 24, len(b), len(names))
    b += names
    base = bytes(b)
    real = {}
    for nm in (".debug_info", ".debug_line"):
        s = e.section(nm)
        raw = data[s["offset"]:s["offset"] + s["size"]]
        plain = zlib.decompress(raw[24:])
        real[nm] = (s, zlib.compress(plain, 6), len(plain))

    def with_sections(overrides):
        out = bytearray(base)
        for nm, (s, z, n) in real.items():
            blob = overrides.get(nm, b"ZLIB" + struct.pack(">Q", n) + z)
            struct.pack_into("<QQQ", out, s["hdr"] + 8, s["flags"] & ~SHF_COMPRESSED, 0, len(out))
            struct.pack_into("<Q", out, s["hdr"] + 32, len(blob))
            out += blob
        return bytes(out)

    c = [(f"{tag}: .zdebug_info/.zdebug_line, honest (must index)", lambda: with_sections({}), "ok")]
    for nm in (".debug_info", ".debug_line"):
        s, z, n = real[nm]
        for label, v in (("real-1", n - 1), ("real+1", n + 1), ("0", 0), ("2^64-1", U64), ("4 GiB+1", (4 << 30) + 1)):
            c.append((f"{tag}: .z{nm[1:]} ZLIB size {label}",
                      lambda nm=nm, v=v, z=z: with_sections({nm: b"ZLIB" + struct.pack(">Q", v) + z}), "error"))
        c.append((f"{tag}: .z{nm[1:]} without ZLIB magic",
                  lambda nm=nm, n=n, z=z: with_sections({nm: b"ZLIX" + struct.pack(">Q", n) + z}), "error"))
        c.append((f"{tag}: .z{nm[1:]} shorter than its header", lambda nm=nm: with_sections({nm: b"ZLIB\0\0"}), "error"))
        c.append((f"{tag}: .z{nm[1:]} zip bomb 64 MiB declared honestly",
                  lambda nm=nm: with_sections({nm: b"ZLIB" + struct.pack(">Q", 64 * MiB) + bomb(64 * MiB)}), "error"))
    return c


def dwarf_cut_cases(data, tag):
    """Uncompressed DWARF sections cut short (sh_size shrunk) at many points: libdwarf sees truncated units."""
    e = Elf(data)
    c = []
    used = {".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str", ".debug_ranges",
            ".debug_rnglists", ".debug_addr", ".debug_str_offsets"}  # preload/dwarf_sections.h kIndexSections
    for s in e.dwarf():
        if s["flags"] & SHF_COMPRESSED or s["name"] not in used:
            continue
        n = s["size"]
        cuts = sorted({0, 1, 4, 11, 12, 16, 40} | {n * k // 8 for k in range(1, 8)} | {n - 1})
        for k in cuts:
            if k < n:
                c.append((f"{tag}: {s['name']} cut to {k} of {n} bytes", P(data, (s["hdr"] + 32, "<Q", k)), "either"))
    return c


def macho_cases(data, tag):
    m = MachO(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    c.append((f"{tag}: magic 0xfeedface (32-bit)", P(data, (0, "<I", 0xfeedface)), "error"))
    c.append((f"{tag}: cputype 7 (i386)", P(data, (4, "<I", 7)), "error"))
    c.append((f"{tag}: cputype 0xffffffff", P(data, (4, "<I", 0xffffffff)), "error"))
    for v in (0xffffffff, 0x7fffffff, size):
        c.append((f"{tag}: ncmds {v:#x}", P(data, (16, "<I", v)), "error"))
    c.append((f"{tag}: ncmds 0", P(data, (16, "<I", 0)), "error"))
    c.append((f"{tag}: ncmds +1", P(data, (16, "<I", m.ncmds + 1)), "either"))
    for v in (0xffffffff, size, size - 31):
        c.append((f"{tag}: sizeofcmds {v:#x}", P(data, (20, "<I", v)), "error"))
    for i, cmd in enumerate(m.cmds[:12]):
        o = cmd["off"]
        for v in (0, 4, 7, 0xffffffff, size):
            c.append((f"{tag}: load command {i} ({cmd['cmd']:#x}) cmdsize {v:#x}", P(data, (o + 4, "<I", v)), "error"))
        c.append((f"{tag}: load command {i} cmdsize +1 (misaligned)", P(data, (o + 4, "<I", cmd["size"] + 1)), "either"))
        if cmd["cmd"] == 0x19:
            c.append((f"{tag}: LC_SEGMENT_64 {i} cmdsize 56 (< 72)", P(data, (o + 4, "<I", 56)), "either"))
    for seg in m.segments:
        o, nm = seg["off"], seg["name"]
        c.append((f"{tag}: segment {nm} nsects 0xffffffff", P(data, (o + 64, "<I", 0xffffffff)), "error"))
        if seg["filesize"]:
            c.append((f"{tag}: segment {nm} fileoff beyond EOF", P(data, (o + 40, "<Q", size + 1)), "error"))
            c.append((f"{tag}: segment {nm} filesize 2^64-1", P(data, (o + 48, "<Q", U64)), "error"))
            c.append((f"{tag}: segment {nm} fileoff+filesize wraps",
                      P(data, (o + 40, "<Q", U64 - 7), (o + 48, "<Q", 16)), "error"))
        for s in seg["sections"]:
            if not s["offset"]:
                continue
            label = f"{tag}: section {nm},{s['name']}"
            c.append((f"{label} offset 0xffffffff", P(data, (s["hdr"] + 48, "<I", 0xffffffff)), "error"))
            c.append((f"{label} size 2^64-1", P(data, (s["hdr"] + 40, "<Q", U64)), "error"))
            c.append((f"{label} size past EOF", P(data, (s["hdr"] + 40, "<Q", size - s["offset"] + 1)), "error"))
    uuid = [cmd for cmd in m.cmds if cmd["cmd"] == 0x1b]
    if uuid:
        c.append((f"{tag}: LC_UUID cmdsize 8", P(data, (uuid[0]["off"] + 4, "<I", 8)), "either"))
    return c


def zdebug_macho_cases(data, tag):
    """Mach-O __zdebug_* sections ("ZLIB" + big-endian size): lies, corrupt streams, zip bombs."""
    m = MachO(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    for nm in ("__zdebug_info", "__zdebug_line", "__zdebug_abbrev"):
        s = m.section(nm)
        if not s or data[s["offset"]:s["offset"] + 4] != b"ZLIB":
            continue
        off, n = s["offset"], s["size"]
        real, = struct.unpack_from(">Q", data, off + 4)
        for label, v in (("real-1", real - 1), ("real/2", real // 2), ("real+1", real + 1), ("2*real", 2 * real),
                         ("0", 0), ("2^63", 1 << 63), ("2^64-1", U64), ("4 GiB+1", (4 << 30) + 1),
                         ("1025*compressed", 1025 * n)):
            c.append((f"{tag}: {nm} ZLIB size {label}", P(data, (off + 4, ">Q", v)), "error"))
        c.append((f"{tag}: {nm} magic ZLIX", P(data, (off, "<4s", b"ZLIX")), "error"))
        mid = off + 12 + (n - 12) // 2
        c.append((f"{tag}: {nm} zlib stream byte flipped", P(data, (mid, "<B", data[mid] ^ 0x55)), "error"))
        c.append((f"{tag}: {nm} zlib stream zeroed 64 bytes", P(data, (mid, "64s", b"\0" * 64)), "error"))
        for k in (0, 4, 11, 12, 14, n // 2, n - 1):
            c.append((f"{tag}: {nm} size {k} (stream cut)", P(data, (s["hdr"] + 40, "<Q", k)), "error"))
        for label, n_zero, declared in (("64 MiB of zeros, declared honestly", 64 * MiB, 64 * MiB),
                                        ("64 MiB of zeros, declared 100 KiB", 64 * MiB, 100 << 10),
                                        ("5 GiB of zeros, declared 4 GiB", 5 << 30, 4 << 30)):
            if nm != "__zdebug_info" and n_zero > 64 * MiB:
                continue
            z = b"ZLIB" + struct.pack(">Q", declared) + bomb(n_zero)
            body = P(data, (s["hdr"] + 48, "<I", size), (s["hdr"] + 40, "<Q", len(z)), append=z)
            c.append((f"{tag}: {nm} zip bomb: {label}", body, "error"))
    return c


def fat_cases(body, elf, tag):
    U64 = (1 << 64) - 1
    fat = make_fat(body)
    size = len(fat)
    c = []

    def fat_header(n, entries, magic=b"\xca\xfe\xba\xbe"):
        return magic + n.to_bytes(4, "big") + b"".join(entries)

    def arch32(cpu, off, sz, align=14):
        return struct.pack(">IIIII", cpu, 0, off, sz, align)

    def arch64(cpu, off, sz, align=14):
        return struct.pack(">IIQQII", cpu, 0, off, sz, align, 0)

    def with_header(h):
        return lambda: h + fat[len(h):]

    arm = 0x0100000c
    for n in (0, 65, 0xffffffff, 2):  # 2: the second record is the zero padding (cpu 0, empty): harmless
        c.append((f"{tag}: nfat_arch {n:#x}", with_header(fat_header(n, [arch32(arm, 1 << 14, len(body))])),
                  "either" if n == 2 else "error"))
    for label, off, sz in (("offset = EOF", size, 32), ("offset EOF+1", size + 1, 32),
                           ("offset 0xffffffff", 0xffffffff, len(body)), ("size 0xffffffff", 1 << 14, 0xffffffff),
                           ("offset+size past EOF", 1 << 14, len(body) + 1), ("size 0", 1 << 14, 0),
                           ("size 16", 1 << 14, 16), ("offset 0 (the fat header itself)", 0, len(body)),
                           ("offset 8 (inside the fat header)", 8, 4096)):
        c.append((f"{tag}: slice {label}", with_header(fat_header(1, [arch32(arm, off, sz)])), "error"))
    for label, off, sz in (("offset 2^64-1", U64, 32), ("offset+size wraps", U64 - 15, 32),
                           ("size 2^64-1", 1 << 14, U64)):
        c.append((f"{tag}: fat64 slice {label}",
                  with_header(fat_header(1, [arch64(arm, off, sz)], b"\xca\xfe\xba\xbf")), "error"))
    c.append((f"{tag}: fat64 honest (must index)",
              with_header(fat_header(1, [arch64(arm, 1 << 14, len(body))], b"\xca\xfe\xba\xbf")), "ok"))
    c.append((f"{tag}: only slice has an unknown CPU", with_header(fat_header(1, [arch32(0x12, 1 << 14, len(body))])),
              "error"))
    c.append((f"{tag}: two arm64 slices, the same bytes",
              with_header(fat_header(2, [arch32(arm, 1 << 14, len(body)), arch32(arm, 1 << 14, len(body))])), "either"))
    c.append((f"{tag}: fat table cut (2 slices, file ends in the second)",
              fat_header(2, [arch32(arm, 1 << 14, 64)]) + b"\0" * 6, "error"))
    c.append((f"{tag}: slice is an ELF binary", lambda: make_fat(elf), "error"))
    c.append((f"{tag}: slice is another universal binary", lambda: make_fat(fat), "error"))
    return c


def check_error(res, path, expect):
    """Is `res` a correct outcome for `expect` ('error', 'either', 'ok')?"""
    err = res.err.strip()
    lines = err.splitlines()
    good_error = (res.rc == 1 and len(lines) == 1 and lines[0].startswith(f"dlvidx: {path}: ")
                  and len(lines[0]) > len(f"dlvidx: {path}: ") + 3)
    if expect == "error":
        return good_error, f"exit {res.rc}: {err[:300]}"
    if expect == "ok":
        return res.rc == 0, f"exit {res.rc}: {err[:300]}"
    return good_error or res.rc == 0, f"exit {res.rc}: {err[:300]}"


def run_binary_cases(args, scratch, row, cases, rss_limit_kb, lookup_every=1, workers=2, extra=()):
    """Writes each case to a file, runs `dlvidx build` (and `dlvidx lookup` on every
    lookup_every-th case), checks the outcome, exit status and peak RSS."""
    lock = threading.Lock()
    counter = iter(range(1 << 30))

    def one(item):
        i, (label, content, expect) = item
        path = os.path.join(scratch.dir, f"case{next(counter)}")
        with open(path, "wb") as f:
            f.write(content() if callable(content) else content)
        results = []
        r = run([args.dlvidx, "build", "--cache-dir", scratch.cache] + list(extra) + [path])
        results.append(r)
        ok, why = check_error(r, path, expect)
        if ok and i % lookup_every == 0:
            r2 = run([args.dlvidx, "lookup", "--cache-dir", scratch.cache] + list(extra) + [path, "main.go:1"])
            results.append(r2)
            if expect == "ok" or (expect == "either" and r.rc == 0):
                ok2 = r2.rc in (0, 2)
                why = f"lookup exit {r2.rc}: {r2.err.strip()[:300]}"
            else:
                ok2, why2 = check_error(r2, path, "error")
                why = "lookup " + why2
            ok = ok and ok2
        for rr in results:
            if rr.rss_kb > rss_limit_kb:
                ok = False
                why += f" peak RSS {rr.rss_kb // 1024} MiB > {rss_limit_kb // 1024} MiB"
        os.unlink(path)
        with lock:
            row.add(ok, label, why, results)

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, enumerate(cases)))


def test_hostile_binaries(args, corpus, part="all"):
    """part: 'truncated' (four binaries cut at many offsets), 'mutated' (everything else) or 'all'."""
    amd64 = open(corpus("example-go127-linux-amd64"), "rb").read()
    arm64 = open(corpus("example-go127-linux-arm64"), "rb").read()
    plain = open(corpus("example-go127-linux-amd64+nocompress"), "rb").read()
    darwin = open(corpus("example-go127-darwin-arm64"), "rb").read()
    fat = make_fat(darwin)
    rows = []
    t0 = time.monotonic()
    with Scratch() as s:
        os.makedirs(s.cache)
        # Peak RSS of a normal build: hostile inputs may not need much more.
        base = os.path.join(s.dir, "baseline")
        with open(base, "wb") as f:
            f.write(amd64)
        r = run([args.dlvidx, "build", "--cache-dir", s.cache, base])
        if r.rc != 0:
            sys.exit(f"baseline build failed: {r.err}")
        limit_kb = 2 * r.rss_kb + 256 * 1024
        print(f"baseline: example-go127-linux-amd64 indexes with a peak RSS of {r.rss_kb // 1024} MiB; "
              f"hostile inputs may use at most {limit_kb // 1024} MiB")
        area = "Hostile binaries"

        def truncated(name, data, structure, seed):
            offs = truncation_offsets(len(data), structure, seed)
            row = Row(area, f"{name} truncated at {len(offs)} offsets (1..64, every header/section boundary, "
                            f"inside each DWARF section, random)")
            cases = [(f"{name} cut at {o}", (lambda o=o: data[:o]), "error") for o in offs]
            run_binary_cases(args, s, row, cases, limit_kb, lookup_every=4)
            row.result = ("exit 1 with one line naming the file and the reason (build; lookup on every 4th); "
                          f"peak RSS {row.peak_kb // 1024} MiB")
            rows.append(row)

        e_amd, e_arm = Elf(amd64), Elf(arm64)
        assert e_amd.needed_end() == len(amd64) and e_arm.needed_end() == len(arm64)
        md = MachO(darwin)
        assert md.needed_end() == len(darwin)
        mf = MachO(fat, 1 << 14)
        if part in ("truncated", "all"):
            truncated("ELF amd64 (example, Go 1.27)", amd64, elf_structure(e_amd), 1)
            truncated("ELF arm64 (example, Go 1.27)", arm64, elf_structure(e_arm), 2)
            truncated("Mach-O arm64 (example, Go 1.27)", darwin, macho_structure(md), 3)
            truncated("universal Mach-O (one arm64 slice)", fat,
                      [4, 8, 12, 16, 20, 24, 28, 1 << 14] + macho_structure(mf, 1 << 14), 4)
        if part not in ("mutated", "all"):
            print(f"hostile binaries ({part}): {time.monotonic() - t0:.1f} s")
            return report(f"hostile-binaries-{part}", rows)

        def mutated(case, cases, result, lookup_every=2, extra=()):
            row = Row(area, f"{case} ({len(cases)} variants)")
            run_binary_cases(args, s, row, cases, limit_kb, lookup_every=lookup_every, extra=extra)
            row.result = f"{result}; `dlvidx lookup` too on 1 input in {lookup_every}; peak RSS {row.peak_kb // 1024} MiB"
            rows.append(row)

        mutated("ELF headers and section headers out of the file: offsets/sizes beyond EOF, offset+size wrapping "
                "2^64, sh_name/sh_link out of range, e_shstrndx bogus or NOBITS, e_shnum huge, bad entry sizes, notes",
                elf_header_cases(amd64, "amd64") + elf_header_cases(arm64, "arm64")[:40],
                "exit 1, one line naming the file and the reason; fields dlvidx does not read "
                "(sh_link, NOBITS) may index")
        mutated("SHF_COMPRESSED Chdr sizes that lie (smaller, larger, zero, 2^64-1, beyond the cap), bad ch_type, "
                "corrupt/cut zlib streams, zip bombs (64 MiB and 5 GiB of zeros)",
                compressed_cases(amd64, "amd64"),
                "exit 1 naming the file and the section: declared size refused before inflating (cap, ratio) or "
                "the inflated size checked against it; memory bounded")
        mutated("ELF .zdebug_* sections (ZLIB header): honest, sizes that lie, no magic, cut, zip bomb",
                zdebug_elf_cases(amd64, "amd64"), "honest one indexes; the others exit 1 naming the file and section")
        mutated("Mach-O __zdebug_* ZLIB sizes that lie, bad magic, corrupt/cut streams, zip bombs",
                zdebug_macho_cases(darwin, "darwin"), "exit 1 naming the file and the section; memory bounded",
                extra=["--arch", "arm64"])
        mutated("Mach-O load commands with bogus ncmds/sizeofcmds/cmdsize, segments and sections beyond EOF, "
                "nsects huge", macho_cases(darwin, "darwin"),
                "exit 1 naming the file and the load command or section", extra=["--arch", "arm64"])
        mutated("universal (fat) headers: nfat_arch 0/65/2^32-1, slice offsets/sizes beyond EOF or wrapping, "
                "fat64, nested, unknown CPU", fat_cases(darwin, amd64, "fat"),
                "exit 1 naming the file and the slice", extra=["--arch", "arm64"])
        mutated("uncompressed DWARF sections cut short inside (libdwarf reads truncated units)",
                dwarf_cut_cases(plain, "nocompress"),
                "exit 1 with a one-line 'malformed DWARF'/'no DWARF' error, or indexes what is there", lookup_every=3)

        # Not regular files: must be refused, not waited on.
        row = Row(area, "not a regular file: FIFO, directory, /dev/zero, missing, symlink loop")
        fifo = os.path.join(s.dir, "fifo")
        os.mkfifo(fifo)
        loop = os.path.join(s.dir, "loop")
        os.symlink(loop, loop)
        for p in (fifo, s.dir, "/dev/zero", os.path.join(s.dir, "missing"), loop):
            rs = [run([args.dlvidx, sub, "--cache-dir", s.cache, p] + (["main.go:1"] if sub == "lookup" else []))
                  for sub in ("build", "lookup")]
            ok = all(check_error(r, p, "error")[0] for r in rs)
            row.add(ok, p, check_error(rs[0], p, "error")[1] + " / " + check_error(rs[1], p, "error")[1], rs)
        row.result = "exit 1, one line naming the file (a FIFO is opened O_NONBLOCK and refused, never waited on)"
        rows.append(row)
    print(f"hostile binaries ({part}): {time.monotonic() - t0:.1f} s")
    return report("hostile-binaries" if part == "all" else f"hostile-binaries-{part}", rows)


# ---------------------------------------------------------------------------
# B. Hostile indexes.

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

    def __init__(self, args, scratch, src, tag, queries):
        self.args, self.queries = args, queries
        self.binary = os.path.join(scratch.dir, f"prog-{tag}")
        shutil.copy(src, self.binary)
        # A random size: its own identity, key and shm name, apart from every other world, including those
        # of tests running at the same time.
        with open(self.binary, "ab") as f:
            f.write(f"dlvidx hostile index test {tag}".encode() + b"." * random.SystemRandom().randrange(1, 1 << 20))
        self.cache = os.path.join(scratch.dir, f"cache-{tag}")
        r = run([args.dlvidx, "build", "--json", "--cache-dir", self.cache, self.binary])
        if r.rc != 0:
            sys.exit(f"build failed: {r.err}")
        j = json.loads(r.out)
        self.key = j["key"]
        scratch.keys.add(self.key)
        self.file = os.path.join(self.cache, self.key + ".idx")
        self.shm = f"/dev/shm/{j['location']}"
        self.good = open(self.file, "rb").read()
        self.answers = self.lookup()[0]
        assert self.answers and any(a["pcs"] for a in self.answers)

    def lookup(self):
        r = run([self.args.dlvidx, "lookup", "--json", "--cache-dir", self.cache, self.binary, "-"],
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
        b = run([world.args.dlvidx, "build", "--reuse", "--json", "--cache-dir", world.cache, world.binary])
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


def test_hostile_indexes(args, corpus, part):
    src = corpus("example-go127-linux-amd64")
    other_src = corpus("example-go122-linux-amd64")
    queries = example_queries()
    rows = []
    area = "Hostile indexes"
    ready_off, pid_off = header_offsets()
    t0 = time.monotonic()
    with Scratch() as s:
        worlds = [IndexWorld(args, s, src, f"w{i}", queries) for i in range(2)]
        good = worlds[0].good
        assert struct.unpack_from("<I", good, 8)[0] >= 5, "index format without a header checksum"

        def parallel(row, jobs):
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

        if part in ("file", "all"):
            pts = trunc_points(good, 11)
            row = Row(area, f"cache file truncated at {len(pts)} offsets (header fields, every table's "
                            "start/middle/end, random)")
            parallel(row, [(f"file cut at {p}", lambda w, p=p: dict(corrupt_file=w.good[:p])) for p in pts])
            row.result = "refused (note: corrupt, removed), rebuilt byte-identical; lookup answers unchanged"
            row.result += getattr(row, "result_suffix", "")
            rows.append(row)

            flips = flip_positions(good, 200, 12)
            row = Row(area, f"cache file with single-bit flips at {len(flips)} positions (every 8th header byte, "
                            "reserved bytes, every table, random)")

            def flipped(w, b, bit):
                x = bytearray(w.good)
                x[b] ^= 1 << bit
                return dict(corrupt_file=bytes(x))

            parallel(row, [(f"file bit {b}.{bit}", lambda w, b=b, bit=bit: flipped(w, b, bit)) for b, bit in flips])
            row.result = ("refused: the XXH3 checksum covers the header and every table (ready/creator_pid must be "
                          "0 in a file); rebuilt byte-identical; lookup answers unchanged")
            row.result += getattr(row, "result_suffix", "")
            rows.append(row)

            row = Row(area, "cache file of another format version, or of another binary under this key")
            jobs = [(f"format version {v}", lambda w, v=v: dict(corrupt_file=set_u32(w.good, 8, v)))
                    for v in other_versions(good)]
            jobs.append(("the other copy's index (same DWARF, other size)",
                         lambda w: dict(corrupt_file=worlds[1 - worlds.index(w)].good)))
            other = IndexWorld(args, s, other_src, "other", queries)
            jobs.append(("Go 1.22 build's index (other binary)", lambda w: dict(corrupt_file=other.good)))
            jobs.append(("empty file", lambda w: dict(corrupt_file=b"")))
            jobs.append(("1 MiB of zeros", lambda w: dict(corrupt_file=b"\0" * MiB)))
            jobs.append(("header only, magic and version right", lambda w: dict(corrupt_file=w.good[:HEADER])))
            parallel(row, jobs)
            row.result = "refused ('format version N' / 'belongs to another binary' / corrupt), rebuilt; answers unchanged"
            row.result += getattr(row, "result_suffix", "")
            rows.append(row)

        if part in ("shm", "all"):
            pts = trunc_points(good, 21)
            row = Row(area, f"shared memory object truncated at {len(pts)} offsets")
            parallel(row, [(f"shm cut at {p}", lambda w, p=p: dict(corrupt_shm=w.good[:p])) for p in pts])
            row.result = "refused (note, removed), republished from the cache file; answers unchanged"
            row.result += getattr(row, "result_suffix", "")
            rows.append(row)

            flips = flip_positions(good, 200, 22)
            row = Row(area, f"shared memory object with single-bit flips at {len(flips)} positions")

            def shm_flip(w, b, bit):
                x = bytearray(w.published())
                x[b] ^= 1 << bit
                # creator_pid is read only while ready == 0: a flip there changes nothing.
                return dict(corrupt_shm=bytes(x), harmless_ok=pid_off <= b < pid_off + 4)

            parallel(row, [(f"shm bit {b}.{bit}", lambda w, b=b, bit=bit: shm_flip(w, b, bit)) for b, bit in flips])
            row.result = ("refused: checksum verified on every open of shared memory too (ready must be 0/1; "
                          "creator_pid, read only while incomplete, is the one field a flip cannot change answers "
                          "through); republished from the file; answers unchanged")
            row.result += getattr(row, "result_suffix", "")
            rows.append(row)

            row = Row(area, "shared memory object of another format version, of another binary, empty")
            jobs = [(f"shm format version {v}", lambda w, v=v: dict(corrupt_shm=set_u32(w.published(), 8, v)))
                    for v in other_versions(good)[1:4]]
            other = IndexWorld(args, s, other_src, "other-shm", queries)
            jobs.append(("shm: another binary's image", lambda w: dict(corrupt_shm=set_u32(other.good, ready_off, 1))))
            jobs.append(("shm: empty", lambda w: dict(corrupt_shm=b"")))
            jobs.append(("shm: ready flag 2", lambda w: dict(corrupt_shm=set_u32(w.published(), ready_off, 2))))
            jobs.append(("shm: ready 0, publisher dead",
                         lambda w: dict(corrupt_shm=set_u32(set_u32(w.published(), ready_off, 0), pid_off,
                                                            dead_pid()))))
            parallel(row, jobs)
            row.result = "refused (note), republished from the cache file; answers unchanged"
            row.result += getattr(row, "result_suffix", "")
            rows.append(row)

        if part in ("race", "all"):
            row = Row(area, "concurrent builders: 4 x `dlvidx build` + 2 x `dlvidx lookup` of one binary, 5 rounds, "
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
                        res[i] = run([args.dlvidx, "build", "--cache-dir", w.cache, w.binary])
                    else:
                        res[i] = run([args.dlvidx, "lookup", "--json", "--cache-dir", w.cache, w.binary, "-"],
                                     stdin=queries)

                ts = [threading.Thread(target=go, args=(i,)) for i in range(6)]
                [t.start() for t in ts]
                [t.join() for t in ts]
                idx = glob.glob(os.path.join(w.cache, "*.idx"))
                tmps = [f for f in os.listdir(w.cache) if ".tmp" in f]
                lookups_same = all(r.rc in (0, 2) and json.loads(r.out) == w.answers for r in res[4:])
                one = len(idx) == 1 and not tmps and open(idx[0], "rb").read() == w.good and w.shm_good()
                reuse = run([args.dlvidx, "build", "--reuse", "--json", "--cache-dir", w.cache, w.binary])
                opened = reuse.rc == 0 and not json.loads(reuse.out)["built"]
                ok = all(r.rc == 0 for r in res[:4]) and lookups_same and one and opened
                row.add(ok, f"round {rnd}", f"exits {[r.rc for r in res]}, {len(idx)} .idx, tmp {tmps}, "
                                            f"lookups same {lookups_same}, reopened {opened}: "
                                            f"{' | '.join(r.err.strip()[:200] for r in res if r.err.strip())}", res + [reuse])
            row.result = ("all exit 0; exactly one cache file (byte-identical to a lone build), no temp files, "
                          "a valid shared memory object; lookups during the race answer the same")
            row.result += getattr(row, "result_suffix", "")
            rows.append(row)
    print(f"hostile indexes ({part}): {time.monotonic() - t0:.1f} s")
    return report("hostile-indexes" if part == "all" else f"hostile-indexes-{part}", rows)


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


# ---------------------------------------------------------------------------
# C. Security of the store.


def test_security(args, corpus):
    src = corpus("example-go127-linux-amd64")
    queries = example_queries()
    rows = []
    area = "Security"
    is_root = os.geteuid() == 0
    with Scratch() as s:
        w = IndexWorld(args, s, src, "sec", queries)

        def mode(p):
            return stat.S_IMODE(os.lstat(p).st_mode)

        # Modes of everything the store creates.
        row = Row(area, "modes: cache dir (default $XDG_CACHE_HOME/dlvidx, $HOME/.cache/dlvidx, --cache-dir) 0700, "
                        "paths/ 0700, cache files and paths records 0600, shared memory 0600")
        with Guard(row):
            for label, env_over, cache_arg, expect_dir in (
                    ("XDG_CACHE_HOME", {"XDG_CACHE_HOME": os.path.join(s.dir, "xdg")}, None,
                     os.path.join(s.dir, "xdg", "dlvidx")),
                    ("HOME", {"HOME": os.path.join(s.dir, "home"), "XDG_CACHE_HOME": ""}, None,
                     os.path.join(s.dir, "home", ".cache", "dlvidx")),
                    ("--cache-dir (nested, new)", {}, os.path.join(s.dir, "a", "b", "c"), os.path.join(s.dir, "a", "b", "c"))):
                env = dict(os.environ, **env_over)
                w.drop_shm()
                argv = [args.dlvidx, "build", "--json"] + (["--cache-dir", cache_arg] if cache_arg else []) + [w.binary]
                r = run(argv, env=env)
                try:
                    files = [os.path.join(expect_dir, f) for f in os.listdir(expect_dir) if f.endswith(".idx")]
                    recs = [os.path.join(expect_dir, "paths", f) for f in os.listdir(os.path.join(expect_dir, "paths"))]
                    got = (mode(expect_dir), mode(os.path.join(expect_dir, "paths")), [mode(f) for f in files],
                           [mode(f) for f in recs], mode(w.shm))
                    ok = (r.rc == 0 and got[0] == 0o700 and got[1] == 0o700 and got[2] == [0o600] and got[3] == [0o600]
                          and got[4] == 0o600)
                except OSError as e:
                    ok, got = False, str(e)
                row.add(ok, label, f"exit {r.rc} modes {got} {r.err.strip()[:200]}", [r])
            # With a permissive umask too.
            r = run(["sh", "-c", f"umask 0; exec {args.dlvidx} build --cache-dir {s.dir}/umask0 {w.binary}"])
            got = (mode(f"{s.dir}/umask0"), [mode(f) for f in glob.glob(f"{s.dir}/umask0/*.idx")])
            row.add(r.rc == 0 and got == (0o700, [0o600]), "umask 0", f"modes {got}", [r])
            row.result = "as listed, whatever the umask"
        rows.append(row)

        # Existing cache dirs the store must not use (nor chmod).
        w.reset()
        row = Row(area, "an existing cache dir that other users can write (0777, 0757, 1777) is neither used nor chmod'ed; "
                        "the index still works from shared memory")
        with Guard(row):
            for m in (0o777, 0o757, 0o1777):
                d = os.path.join(s.dir, f"loose{m:o}")
                os.mkdir(d)
                os.chmod(d, m)
                w.drop_shm()
                r = run([args.dlvidx, "lookup", "--cache-dir", d, w.binary, "main.go:20"])
                ok = (r.rc in (0, 2) and mode(d) == m and not os.listdir(d) and "other users can write" in r.err)
                row.add(ok, f"mode {m:o}", f"exit {r.rc}, mode now {mode(d):o}, contents {os.listdir(d)}: {r.err.strip()[:300]}",
                        [r])
            row.result = "not used, mode left alone, note 'other users can write to it; not used'; lookup answers"
        rows.append(row)

        # Symlinks planted where the store writes or reads.
        w.reset()
        row = Row(area, "symlinks planted at the cache file, a paths/ record and the shared memory name, pointing "
                        "to another file of the user (or to a valid index): never followed, never overwritten")
        with Guard(row):
            precious = os.path.join(s.dir, "precious")
            content = b"the user's own file; must survive\n" * 10

            def plant(target_bytes=content):
                with open(precious, "wb") as f:
                    f.write(target_bytes)
                os.chmod(precious, 0o600)

            # (a) the cache file
            for tgt, label in ((content, "cache file -> a user file"), (w.good, "cache file -> a valid copy of the index")):
                plant(tgt)
                w.drop_shm()
                os.unlink(w.file)
                os.symlink(precious, w.file)
                answers, r = w.lookup()
                ok = (open(precious, "rb").read() == tgt and answers == w.answers and not os.path.islink(w.file)
                      and open(w.file, "rb").read() == w.good and "symbolic link" in r.err)
                row.add(ok, label, f"exit {r.rc}, target intact {open(precious, 'rb').read() == tgt}, "
                                   f"link replaced {not os.path.islink(w.file)}: {r.err.strip()[:300]}", [r])
                os.chmod(precious, 0o600)
            # (b) the paths/ record (written by every build/lookup that finds a new key)
            plant()
            paths = os.path.join(w.cache, "paths")
            for rec in os.listdir(paths):
                os.unlink(os.path.join(paths, rec))
                os.symlink(precious, os.path.join(paths, rec))
            r = run([args.dlvidx, "build", "--cache-dir", w.cache, w.binary])
            recs = os.listdir(paths)
            ok = (r.rc == 0 and open(precious, "rb").read() == content and recs and
                  all(not os.path.islink(os.path.join(paths, x)) for x in recs))
            row.add(ok, "paths/ record -> a user file", f"exit {r.rc}, target intact {open(precious, 'rb').read() == content}", [r])
            # (c) the shared memory name
            plant()
            w.drop_shm()
            os.symlink(precious, w.shm)
            answers, r = w.lookup()
            ok = (open(precious, "rb").read() == content and answers == w.answers and not os.path.islink(w.shm)
                  and w.shm_good())
            row.add(ok, "/dev/shm name -> a user file", f"exit {r.rc}, target intact {open(precious, 'rb').read() == content}: "
                                                        f"{r.err.strip()[:300]}", [r])
            # (d) the cache dir's paths/ directory itself
            plant()
            shutil.rmtree(paths)
            os.symlink(s.dir, paths)
            before = sorted(os.listdir(s.dir))
            r = run([args.dlvidx, "build", "--cache-dir", w.cache, w.binary])
            ok = r.rc == 0 and sorted(os.listdir(s.dir)) == before
            row.add(ok, "paths/ -> another directory of the user", f"exit {r.rc}, that directory untouched "
                                                                   f"{sorted(os.listdir(s.dir)) == before}", [r])
            os.unlink(paths)
            row.result = "O_NOFOLLOW opens (notes 'a symbolic link: not followed'), temp file + rename replaces the link; targets intact"
        rows.append(row)

        # FIFOs planted where the store reads: no hang.
        w.reset()
        row = Row(area, "FIFOs planted at the cache file and at a paths/ record: refused, never waited on")
        with Guard(row):
            w.drop_shm()
            os.unlink(w.file)
            os.mkfifo(w.file, 0o600)
            answers, r = w.lookup()
            ok = answers == w.answers and not r.timed_out and os.path.isfile(w.file) and "not a regular file" in r.err
            row.add(ok, "cache file FIFO", f"exit {r.rc} in {r.secs:.1f} s: {r.err.strip()[:300]}", [r])
            os.makedirs(paths, exist_ok=True)
            for rec in os.listdir(paths):
                os.unlink(os.path.join(paths, rec))
            r0 = run([args.dlvidx, "build", "--cache-dir", w.cache, w.binary])
            for rec in os.listdir(paths):
                os.unlink(os.path.join(paths, rec))
                os.mkfifo(os.path.join(paths, rec), 0o600)
            r = run([args.dlvidx, "build", "--cache-dir", w.cache, w.binary])
            row.add(r0.rc == 0 and r.rc == 0 and not r.timed_out, "paths/ record FIFO", f"exit {r.rc} in {r.secs:.1f} s", [r0, r])
            row.result = "opened O_NONBLOCK|O_NOFOLLOW and refused (not a regular file); rebuilt"
        rows.append(row)

        # Permissions: an index others can read or write is not trusted.
        w.reset()
        row = Row(area, "cache file and shared memory object with group/other permissions: not trusted")
        with Guard(row):
            for m in (0o644, 0o606, 0o660):
                w.drop_shm()
                os.chmod(w.file, m)
                answers, r = w.lookup()
                ok = answers == w.answers and "not private" in r.err and mode(w.file) == 0o600
                row.add(ok, f"cache file {m:o}", f"{r.err.strip()[:300]}", [r])
                os.chmod(w.shm, m)
                answers, r = w.lookup()
                ok = answers == w.answers and "not private" in r.err
                row.add(ok, f"shm {m:o}", f"{r.err.strip()[:300]}", [r])
                w.lookup()  # (republished)
            row.result = "note 'mode N is not private ...: not trusted', replaced by a 0600 copy; answers unchanged"
        rows.append(row)

        # Another user's index (root only).
        w.reset()
        row = Row(area, "index owned by another user (cache file, shared memory object, cache dir chowned to nobody)")
        with Guard(row):
            if not is_root:
                print("SKIP: the 'owned by another user' cases need root (chown); run the suite as root to include them")
                row.result = "skipped: not root (chown needs root)"
            else:
                nobody = pwd.getpwnam("nobody").pw_uid
                # (a) cache file
                w.drop_shm()
                w.lookup()
                w.drop_shm()
                os.chown(w.file, nobody, -1)
                answers, r = w.lookup()
                ok = answers == w.answers and "owned by another user" in r.err and os.stat(w.file).st_uid == 0
                row.add(ok, "cache file owned by nobody", r.err.strip()[:300], [r])
                # (b) shared memory
                os.chown(w.shm, nobody, -1)
                answers, r = w.lookup()
                ok = answers == w.answers and "owned by another user" in r.err and os.stat(w.shm).st_uid == 0
                row.add(ok, "shared memory owned by nobody", r.err.strip()[:300], [r])
                # (c) both, with a forged (valid-looking) copy
                w.lookup()
                os.chown(w.shm, nobody, -1)
                os.chown(w.file, nobody, -1)
                answers, r = w.lookup()
                ok = answers == w.answers and r.err.count("owned by another user") >= 2
                row.add(ok, "both owned by nobody", r.err.strip()[:300], [r])
                # (d) the cache dir
                d = os.path.join(s.dir, "nobodys")
                os.mkdir(d, 0o700)
                os.chown(d, nobody, -1)
                w.drop_shm()
                r = run([args.dlvidx, "lookup", "--cache-dir", d, w.binary, "main.go:20"])
                ok = r.rc in (0, 2) and not os.listdir(d) and "owned by another user" in r.err
                row.add(ok, "cache dir owned by nobody", r.err.strip()[:300], [r])
                # (e) a squatter: nobody runs dlvidx while root's object sits under nobody's name
                row2 = squatted_shm(args, s, w, nobody)
                row.cases += row2.cases
                row.handled += row2.handled
                row.failures += row2.failures
                row.result = ("refused with 'owned by another user, uid 65534 (nobody) ...: not trusted', replaced by our "
                              "own; a name squatted by another user falls back to a private copy")
        rows.append(row)
    return report("security", rows)


def squatted_shm(args, s, w, nobody):
    """nobody runs dlvidx while a root-owned object squats nobody's shared memory name: it cannot remove it
    (sticky /dev/shm), so it must not trust it and still answer, from a private copy."""
    row = Row("Security", "squatted")
    d = tempfile.mkdtemp(prefix="dlvidx-nobody-")
    os.chmod(d, 0o755)
    binary = os.path.join(d, "prog")
    shutil.copy(w.binary, binary)
    os.chmod(binary, 0o755)
    cache = os.path.join(d, "cache")
    os.mkdir(cache, 0o700)
    os.chown(cache, nobody, -1)
    dlvidx_copy = os.path.join(d, "dlvidx")  # the build tree may not be reachable by nobody
    shutil.copy(args.dlvidx, dlvidx_copy)
    os.chmod(dlvidx_copy, 0o755)
    try:
        key = w.key
        name = f"/dev/shm/dlvidx-{nobody}-{key}"
        with open(name, "wb") as f:
            f.write(w.good)
        os.chmod(name, 0o600)

        r = run([dlvidx_copy, "lookup", "--json", "--cache-dir", cache, binary, "-"], stdin=w.queries,
                user=nobody, env=dict(os.environ, HOME=d))
        try:
            answers = json.loads(r.out)
        except ValueError:
            answers = None
        ok = answers == w.answers and "owned by another user" in r.err and os.stat(name).st_uid == 0
        row.add(ok, "squatted shared memory name", f"exit {r.rc}: {r.err.strip()[:400]}", [r])
    finally:
        for p in glob.glob(f"/dev/shm/dlvidx-{nobody}-*"):
            try:
                os.unlink(p)
            except OSError:
                pass
        shutil.rmtree(d, ignore_errors=True)
    return row
