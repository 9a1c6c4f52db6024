#!/usr/bin/env python3
"""Differential test: dlvidx lookup vs dlv itself, for every queried file:line.

The set of lines to ask comes from Go's own debug/dwarf reader (tests/oracle/rows),
not from dlvidx, so a line dlvidx forgot is still asked:
  - every line that has a row ("statement lines"), in all files or a seeded sample;
  - every other line of a sample of source files (comment, blank, `}` lines...),
    and lines past the end of a file, and a file the binary does not have.
For each, dlvidx's PCs and error text must equal what dlv reports through its
JSON-RPC API (RPCServer.CreateBreakpoint, as Delve's DAP server sets
breakpoints; tests/oracle/dlvoracle). Any difference is printed and fails.

dlv's answers are stored under ${XDG_CACHE_HOME:-~/.cache}/dlvidx/dlv-answers, keyed by the
sha256 of the binary, of the dlv executable and of the dlvoracle executable, dlv's arguments and
the exact query list: dlv's answer to the same question about the same bytes is the same answer.
A run that finds them asks dlv again only a new sample each run (--recheck N lines, default
1000, its seed printed; a difference fails the run), and checks dlvidx against all of them; --fresh-answers asks
dlv every line. A new machine asks every line once.

Position-independent binaries (-buildmode=pie; every Go binary on darwin/arm64): dlvidx answers
link-time addresses, dlv runtime ones, which are the link address plus the load bias. The bias is
learned from dlv itself: dlvoracle --addr-of runtime.firstmoduledata gives that variable's runtime
address, the binary's symbol table its link address. It must be page-aligned (and 0 for a binary that
is not position-independent); dlv's answers are turned into link addresses by it, and stored so.

--arm64 BUILD_DIR asks Debian's arm64 Delve and the arm64 build of dlvidx inside an emulated
linux/arm64 machine (tests/arm64): the lines to ask are chosen here as above, the binary and
the arm64 dlvoracle (--dlvoracle) are put into the guest, and dlvidx on this machine must also
give the arm64 dlvidx's answers, exactly.

usage: compare_with_dlv.py --dlvidx BIN --rows ROWS --dlvoracle ORACLE BINARY
          [--dlv PATH] [--dlv-arg ARG]... [--sample N] [--nonstmt-files N] [--seed S] [--recheck N] [--fresh-answers]
          [--whole-files-matching REGEX] [--arm64 BUILD_DIR]
"""
import argparse, hashlib, json, os, random, re, shutil, struct, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
# The variable whose address gives the load bias: every Go binary has it, in its data.
BIAS_SYMBOL = "runtime.firstmoduledata"
# Part of the stored answers' key: v2 stores link addresses (v1, unkeyed, stored dlv's runtime ones).
ANSWERS_FORMAT = "dlv-answers v2: link addresses, bias learned from dlv"
PAGE = 0x1000


def link_address(path, name):
    """(address of symbol name in path's symbol table, whether path is position-independent)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF":
        (e_type,) = struct.unpack_from("<H", data, 0x10)
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
        secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        for sh in secs:
            if sh[1] != 2:  # SHT_SYMTAB
                continue
            strtab = secs[sh[6]]  # sh_link: its string table
            for o in range(sh[4], sh[4] + sh[5], 24):
                st_name, _, _, _, st_value, _ = struct.unpack_from("<IBBHQQ", data, o)
                so = strtab[4] + st_name
                if data[so:data.index(b"\0", so)].decode(errors="replace") == name:
                    return st_value, e_type == 3  # ET_DYN
        sys.exit(f"{path}: no symbol {name} in its ELF symbol table: cannot learn the load bias")
    if data[:4] == struct.pack("<I", 0xfeedfacf):
        _, _, filetype, ncmds, _, flags = struct.unpack_from("<IiiIII", data, 4)
        o = 32
        for _ in range(ncmds):
            cmd, size = struct.unpack_from("<II", data, o)
            if cmd == 0x2:  # LC_SYMTAB
                symoff, nsyms, stroff, _ = struct.unpack_from("<IIII", data, o + 8)
                for i in range(nsyms):
                    n_strx, _, _, _, n_value = struct.unpack_from("<IBBHQ", data, symoff + 16 * i)
                    so = stroff + n_strx
                    sym = data[so:data.index(b"\0", so)].decode(errors="replace")
                    if sym in (name, "_" + name):
                        return n_value, bool(flags & 0x200000)  # MH_PIE
            o += size
        sys.exit(f"{path}: no symbol {name} in its Mach-O symbol table: cannot learn the load bias")
    sys.exit(f"{path}: neither ELF nor thin Mach-O 64: cannot learn the load bias")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Here:
    """dlv, dlvoracle and dlvidx on this machine."""
    label = ""

    def __init__(self, a):
        if not shutil.which(a.dlv):
            sys.exit(f"{a.dlv}: not found")
        self.dlv, self.dlvoracle, self.dlvidx = os.path.realpath(shutil.which(a.dlv)), a.dlvoracle, a.dlvidx
        self.binary = a.binary
        self.dlv_sha = sha256_file(self.dlv)

    def run(self, argv, qtext):
        p = subprocess.run(argv, input=qtext, capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    def lookup(self, qtext):
        with tempfile.TemporaryDirectory() as cache:
            return self.run([self.dlvidx, "lookup", "--json", "--cache-dir", cache, self.binary, "-"], qtext)

    def close(self):
        pass


class InArm64(Here):
    """The arm64 dlv, dlvoracle and dlvidx, in an emulated arm64 machine."""
    label = " (arm64 guest: emulated, TCG)"

    def __init__(self, a):
        sys.path.insert(0, os.path.join(HERE, "..", "arm64"))
        from target import Arm64
        self.m = Arm64(build_dir=a.arm64, dlvoracle=a.dlvoracle)
        self.dlv, self.dlvoracle, self.dlvidx = self.m.dlv, self.m.dlvoracle, self.m.dlvidx
        self.binary = f"/corpus/{os.path.basename(a.binary)}"
        self.m.guest.put(a.binary, self.binary, 0o755)
        self.dlv_sha = self.m.sha256(self.dlv)

    def run(self, argv, qtext):
        p = self.m.run(argv, stdin=qtext, timeout=3600)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def lookup(self, qtext):
        return self.run([self.dlvidx, "lookup", "--json", "--cache-dir", "/tmp/dlvidx-cache", self.binary, "-"], qtext)

    def close(self):
        self.m.close()


def answers_path(a, where, qtext):
    h = hashlib.sha256()
    for part in (sha256_file(a.binary), where.dlv_sha, sha256_file(a.dlvoracle),
                 json.dumps(a.dlv_arg), ANSWERS_FORMAT, hashlib.sha256(qtext.encode()).hexdigest()):
        h.update(part.encode() + b"\0")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dlvidx", "dlv-answers", h.hexdigest() + ".jsonl")


def run_oracle(a, where, qtext):
    """dlv's answers (JSON lines) with link addresses: its runtime ones less the load bias."""
    dlv_cmd = [where.dlvoracle, "--dlv", where.dlv, "--addr-of", BIAS_SYMBOL] + \
        [x for arg in a.dlv_arg for x in ("--dlv-arg", arg)] + [where.binary]
    rc, out, err = where.run(dlv_cmd, qtext)
    if rc != 0:
        print(err, file=sys.stderr)
        sys.exit(f"dlvoracle failed with status {rc}")
    head, _, rest = out.partition("\n")
    try:
        runtime = int(json.loads(head)["addr"], 16)
    except (ValueError, KeyError, TypeError) as e:
        sys.exit(f"dlvoracle: its first line is not the --addr-of {BIAS_SYMBOL} answer ({e}): {head[:200]!r}")
    link, pie = link_address(a.binary, BIAS_SYMBOL)
    bias = runtime - link
    if bias < 0 or bias % PAGE or (bias and not pie):
        sys.exit(f"{a.binary}: dlv puts {BIAS_SYMBOL} at {runtime:#x}, its symbol table at {link:#x}: "
                 f"bias {bias:#x} is not a page-aligned load bias of a "
                 f"{'position-independent' if pie else 'fixed-address (bias must be 0)'} binary")
    global LOAD_BIAS  # one per dlv session (ASLR: a recheck's session may have another)
    LOAD_BIAS = bias
    if not bias:
        return rest
    lines = []
    for line in rest.splitlines():
        r = json.loads(line)
        if "pcs" in r:
            pcs = [int(pc, 16) - bias for pc in r["pcs"]]
            if any(pc < 0 for pc in pcs):
                sys.exit(f"{a.binary}: dlv's answer {line!r} lies below the load bias {bias:#x}")
            r["pcs"] = [f"{pc:#x}" for pc in pcs]
        lines.append(json.dumps(r) + "\n")
    return "".join(lines)


LOAD_BIAS = None  # learned by run_oracle (its last session's); printed in the summary


def ask_dlv(a, where, queries, qtext):
    """dlv's answers (JSON lines), and a note on where they came from. Stored answers to the
    same question are used, and then dlv is asked a fresh seeded sample of --recheck lines
    of them again: a stored answer that dlv no longer gives fails the run."""
    stored = answers_path(a, where, qtext)
    if not a.fresh_answers and os.path.isfile(stored):
        with open(stored) as f:
            out = f.read()
        lines = out.splitlines()
        if len(lines) == len(queries):
            n = min(a.recheck, len(queries))
            if not n:
                return out, "dlv's stored answers"
            seed = a.recheck_seed if a.recheck_seed is not None else int.from_bytes(os.urandom(4), "little")
            pick = sorted(random.Random(seed).sample(range(len(queries)), n))
            again = run_oracle(a, where, "".join(f"{queries[i][0]}:{queries[i][1]}\n" for i in pick)).splitlines()
            answer = lambda line: {k: v for k, v in json.loads(line).items() if k != "us"}  # noqa: E731 (us: its time)
            stale = [queries[i] for i, now in zip(pick, again) if answer(now) != answer(lines[i])]
            if len(again) != n or stale:
                sys.exit(f"dlv's stored answers in {stored} are not what dlv says now "
                         f"({len(stale)} of {n} rechecked lines differ, --recheck-seed {seed}, e.g. {stale[:3]}): "
                         f"delete it and rerun")
            return out, f"dlv's stored answers; {n} of them asked again (--recheck-seed {seed}): the same"
    out = run_oracle(a, where, qtext)
    os.makedirs(os.path.dirname(stored), mode=0o700, exist_ok=True)
    tmp = f"{stored}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(out)
    os.replace(tmp, stored)
    return out, "asked dlv"


def lookup(where, qtext):
    rc, out, err = where.lookup(qtext)
    if rc not in (0, 2):
        print(err, file=sys.stderr)
        sys.exit(f"dlvidx lookup{where.label} failed with status {rc}")
    return json.loads(out)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--dlvidx", required=True)
    ap.add_argument("--rows", required=True, help="the Go rows oracle binary")
    ap.add_argument("--dlvoracle", required=True)
    ap.add_argument("--dlv", default="dlv")
    ap.add_argument("--dlv-arg", action="append", default=[])
    ap.add_argument("--sample", type=int, default=0,
                    help="statement lines to ask (0 = every one)")
    ap.add_argument("--nonstmt-files", type=int, default=3,
                    help="source files whose every line is asked")
    ap.add_argument("--whole-files-matching", metavar="REGEX",
                    help="also ask every line of each of the binary's files whose name matches REGEX "
                         "(its statement lines too, sampled or not)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fresh-answers", action="store_true",
                    help="ask dlv every line even when it answered this exact question before")
    ap.add_argument("--recheck", type=int, default=1000,
                    help="with stored answers: lines dlv is asked again, a new sample each run (0: none)")
    ap.add_argument("--recheck-seed", type=int, help="the recheck sample's seed (default: a new one, printed)")
    ap.add_argument("--arm64", metavar="BUILD_DIR",
                    help="ask arm64 dlv and the arm64 dlvidx in BUILD_DIR in an emulated arm64 machine")
    a = ap.parse_args()
    rnd = random.Random(a.seed)

    rows = subprocess.run([a.rows, a.binary], check=True, capture_output=True, text=True).stdout
    stmt = set()
    for line in rows.splitlines():
        if line.startswith("CU "):
            continue
        f = line.split(" ", 5)
        if f[3] == "1" or f[5] == "-":  # end_sequence rows carry no key
            continue
        stmt.add((f[5], int(f[1])))
    keys = sorted(stmt)
    if a.sample and a.sample < len(keys):
        keys = sorted(rnd.sample(keys, a.sample))
    # Non-statement lines: whole source files that exist on this machine.
    files = sorted({f for f, _ in stmt if os.path.isabs(f) and os.path.isfile(f)})
    extra = set()
    for f in rnd.sample(files, min(a.nonstmt_files, len(files))):
        n = sum(1 for _ in open(f, "rb"))
        for ln in range(1, n + 3):
            extra.add((f, ln))
    if a.whole_files_matching:
        rx = re.compile(a.whole_files_matching)
        last = {}
        for f, ln in stmt:
            if rx.search(f):
                last[f] = max(ln, last.get(f, 0))
        for f, ln in last.items():  # a file not on this machine (-trimpath): up to its last row
            n = sum(1 for _ in open(f, "rb")) if os.path.isabs(f) and os.path.isfile(f) else ln
            extra.update((f, i) for i in range(1, n + 3))
    if files:
        extra.add((files[0] + ".nosuchfile.go", 1))
    queries = sorted(set(keys) | extra)
    qtext = "".join(f"{f}:{ln}\n" for f, ln in queries)

    where = InArm64(a) if a.arm64 else Here(a)
    try:
        t0 = time.time()
        dlv_out, source = ask_dlv(a, where, queries, qtext)
        t1 = time.time()
        ours = lookup(where, qtext)
        t2 = time.time()
        if a.arm64:  # the index does not depend on the machine that builds it
            here = lookup(Here(a), qtext)
            if here != ours:
                n = sum(1 for x, y in zip(here, ours) if x != y)
                sys.exit(f"dlvidx on this machine and the arm64 dlvidx disagree on {n} of {len(ours)} lines")
            print(f"dlvidx on this machine gives the arm64 dlvidx's answers on all {len(ours)} lines")
    finally:
        where.close()
    theirs = [json.loads(l) for l in dlv_out.splitlines() if l.strip()]
    if len(theirs) != len(queries) or len(ours) != len(queries):
        sys.exit(f"answer counts differ: {len(queries)} queries, dlv {len(theirs)}, dlvidx {len(ours)}")
    bad = 0
    kinds = {"found": 0, "error": 0}
    for (f, ln), d, m in zip(queries, theirs, ours):
        dp, mp = d.get("pcs", []), m.get("pcs", [])
        de, me_ = d.get("error", ""), m.get("error", "")
        kinds["error" if de else "found"] += 1
        if dp != mp or de != me_:
            bad += 1
            if bad <= 20:
                print(f"DIFF {f}:{ln}\n  dlv:    pcs={dp} error={de!r}\n  dlvidx: pcs={mp} error={me_!r}")
    print(f"{os.path.basename(a.binary)}: {len(queries)} lines asked ({len(keys)} statement lines of "
          f"{len(stmt)}, {len(extra)} from whole files); dlv {kinds['found']} resolved, {kinds['error']} "
          f"errors; {bad} differences; dlv {t1 - t0:.1f}s ({source}), "
          f"dlvidx {t2 - t1:.2f}s{where.label}"
          + (f"; load bias {LOAD_BIAS:#x} (from dlv's {BIAS_SYMBOL})" if LOAD_BIAS is not None else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
