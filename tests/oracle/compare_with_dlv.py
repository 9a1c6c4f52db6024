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

usage: compare_with_dlv.py --dlvidx BIN --rows ROWS --dlvoracle ORACLE BINARY
          [--dlv PATH] [--dlv-arg ARG]... [--sample N] [--nonstmt-files N] [--seed S]
"""
import argparse, json, os, random, subprocess, sys, tempfile, time


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
    ap.add_argument("--seed", type=int, default=1)
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
    if files:
        extra.add((files[0] + ".nosuchfile.go", 1))
    queries = sorted(set(keys) | extra)
    qtext = "".join(f"{f}:{ln}\n" for f, ln in queries)

    t0 = time.time()
    dlv_cmd = [a.dlvoracle, "--dlv", a.dlv] + [x for arg in a.dlv_arg for x in ("--dlv-arg", arg)] + [a.binary]
    dlv = subprocess.run(dlv_cmd, input=qtext, capture_output=True, text=True)
    if dlv.returncode != 0:
        print(dlv.stderr, file=sys.stderr)
        sys.exit(f"dlvoracle failed with status {dlv.returncode}")
    t1 = time.time()
    with tempfile.TemporaryDirectory() as cache:
        me = subprocess.run([a.dlvidx, "lookup", "--json", "--cache-dir", cache, a.binary, "-"],
                            input=qtext, capture_output=True, text=True)
    if me.returncode not in (0, 2):
        print(me.stderr, file=sys.stderr)
        sys.exit(f"dlvidx lookup failed with status {me.returncode}")
    t2 = time.time()
    theirs = [json.loads(l) for l in dlv.stdout.splitlines() if l.strip()]
    ours = json.loads(me.stdout)
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
          f"errors; {bad} differences; dlv {t1 - t0:.1f}s, dlvidx {t2 - t1:.2f}s")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
