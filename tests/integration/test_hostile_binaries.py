"""Hostile binaries (issue #6): truncated and corrupt ELF, Mach-O and universal files, compressed
sections that lie, zip bombs, files that are not regular (tests/integration/hostile_cases.py makes
them from corpus binaries at run time). Each dlvidx run is bounded by a timeout (dlvtest.run) and its
peak RSS, taken from wait4(2), by twice a normal build's plus 256 MiB. Records: hostile-binaries-truncated,
hostile-binaries-mutated (a test fails when a row has handled != cases)."""
import concurrent.futures
import os
import threading
import time

import pytest

from dlvtest.objfile import Elf, MachO
from dlvtest.run import Scratch, run
from hostile_cases import (compressed_cases, dwarf_cut_cases, elf_header_cases, elf_structure, fat_cases, fat_of,
                           macho_cases, macho_structure, truncation_offsets, zdebug_elf_cases, zdebug_macho_cases)
from hostile_rows import Row, report

pytestmark = pytest.mark.timeout(570)
AREA = "Hostile binaries"


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


def run_binary_cases(opts, scratch, row, cases, rss_limit_kb, lookup_every=1, workers=2, extra=()):
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
        r = run([opts.dlvidx, "build", "--cache-dir", scratch.cache] + list(extra) + [path])
        results.append(r)
        ok, why = check_error(r, path, expect)
        if ok and i % lookup_every == 0:
            r2 = run([opts.dlvidx, "lookup", "--cache-dir", scratch.cache] + list(extra) + [path, "main.go:1"])
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


class Inputs:
    """The corpus binaries the cases are made from, a scratch dir and the peak RSS allowed."""

    def __init__(self, opts, corpus, s):
        self.opts, self.s = opts, s
        self.amd64 = open(corpus("example-go127-linux-amd64"), "rb").read()
        self.arm64 = open(corpus("example-go127-linux-arm64"), "rb").read()
        self.plain = open(corpus("example-go127-linux-amd64+nocompress"), "rb").read()
        self.darwin = open(corpus("example-go127-darwin-arm64"), "rb").read()
        self.fat = fat_of(self.darwin)
        os.makedirs(s.cache)
        # Peak RSS of a normal build: hostile inputs may not need much more.
        base = os.path.join(s.dir, "baseline")
        with open(base, "wb") as f:
            f.write(self.amd64)
        r = run([opts.dlvidx, "build", "--cache-dir", s.cache, base])
        if r.rc != 0:
            pytest.fail(f"baseline build failed: {r.err}")
        self.limit_kb = 2 * r.rss_kb + 256 * 1024
        print(f"baseline: example-go127-linux-amd64 indexes with a peak RSS of {r.rss_kb // 1024} MiB; "
              f"hostile inputs may use at most {self.limit_kb // 1024} MiB")


@pytest.fixture(scope="module")
def inputs(opts, corpus):
    with Scratch() as s:
        yield Inputs(opts, corpus, s)


def test_truncated(inputs):
    """Four binaries cut at many offsets."""
    t0 = time.monotonic()
    x, rows = inputs, []

    def truncated(name, data, structure, seed):
        offs = truncation_offsets(len(data), structure, seed)
        row = Row(AREA, f"{name} truncated at {len(offs)} offsets (1..64, every header/section boundary, "
                        f"inside each DWARF section, random)")
        cases = [(f"{name} cut at {o}", (lambda o=o: data[:o]), "error") for o in offs]
        run_binary_cases(x.opts, x.s, row, cases, x.limit_kb, lookup_every=4)
        row.result = ("exit 1 with one line naming the file and the reason (build; lookup on every 4th); "
                      f"peak RSS {row.peak_kb // 1024} MiB")
        rows.append(row)

    e_amd, e_arm = Elf(x.amd64), Elf(x.arm64)
    assert e_amd.needed_end() == len(x.amd64) and e_arm.needed_end() == len(x.arm64)
    md = MachO(x.darwin)
    assert md.needed_end() == len(x.darwin)
    mf = MachO(x.fat, 1 << 14)
    truncated("ELF amd64 (example, Go 1.27)", x.amd64, elf_structure(e_amd), 1)
    truncated("ELF arm64 (example, Go 1.27)", x.arm64, elf_structure(e_arm), 2)
    truncated("Mach-O arm64 (example, Go 1.27)", x.darwin, macho_structure(md), 3)
    truncated("universal Mach-O (one arm64 slice)", x.fat,
              [4, 8, 12, 16, 20, 24, 28, 1 << 14] + macho_structure(mf, 1 << 14), 4)
    print(f"hostile binaries (truncated): {time.monotonic() - t0:.1f} s")
    failed = report("hostile-binaries-truncated", rows)
    assert not failed, "rows with unhandled cases:\n  " + "\n  ".join(failed)


def test_mutated(inputs):
    """Everything else: mutated headers and sections, compressed sections, zip bombs, not regular files."""
    t0 = time.monotonic()
    x, rows = inputs, []
    amd64, arm64, darwin = x.amd64, x.arm64, x.darwin

    def mutated(case, cases, result, lookup_every=2, extra=()):
        row = Row(AREA, f"{case} ({len(cases)} variants)")
        run_binary_cases(x.opts, x.s, row, cases, x.limit_kb, lookup_every=lookup_every, extra=extra)
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
            dwarf_cut_cases(x.plain, "nocompress"),
            "exit 1 with a one-line 'malformed DWARF'/'no DWARF' error, or indexes what is there", lookup_every=3)

    # Not regular files: must be refused, not waited on.
    row = Row(AREA, "not a regular file: FIFO, directory, /dev/zero, missing, symlink loop")
    fifo = os.path.join(x.s.dir, "fifo")
    os.mkfifo(fifo)
    loop = os.path.join(x.s.dir, "loop")
    os.symlink(loop, loop)
    for p in (fifo, x.s.dir, "/dev/zero", os.path.join(x.s.dir, "missing"), loop):
        rs = [run([x.opts.dlvidx, sub, "--cache-dir", x.s.cache, p] + (["main.go:1"] if sub == "lookup" else []))
              for sub in ("build", "lookup")]
        ok = all(check_error(r, p, "error")[0] for r in rs)
        row.add(ok, p, check_error(rs[0], p, "error")[1] + " / " + check_error(rs[1], p, "error")[1], rs)
    row.result = "exit 1, one line naming the file (a FIFO is opened O_NONBLOCK and refused, never waited on)"
    rows.append(row)
    print(f"hostile binaries (mutated): {time.monotonic() - t0:.1f} s")
    failed = report("hostile-binaries-mutated", rows)
    assert not failed, "rows with unhandled cases:\n  " + "\n  ".join(failed)
