#!/usr/bin/env python3
"""The main job on the bundled example: build the example Go program, index it
with `dlvidx build`, look a few lines up, and print the time next to what dlv
itself needs for the same lines (dlv exec --headless, CreateBreakpoint over
JSON-RPC, as dlv's DAP server does for setBreakpoints).

usage: demo.py --dlvidx BIN --oracles DIR [--name CORPUS_NAME] [--binary PATH]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "tests", "fixtures", "example")


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode not in (0, 2):
        sys.stderr.write(p.stderr)
        sys.exit(f"demo: {' '.join(cmd)} failed ({p.returncode})")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlvidx", required=True)
    ap.add_argument("--oracles", required=True)
    ap.add_argument("--name", default="example-go127-linux-amd64")
    ap.add_argument("--binary", help="index this binary instead of the example")
    ap.add_argument("--dlv", default="dlv")
    a = ap.parse_args()

    binary = a.binary or run([sys.executable, os.path.join(ROOT, "tests", "corpus", "corpus.py"), "path",
                              a.name]).stdout.strip()
    print(f"binary: {binary}")
    with tempfile.TemporaryDirectory() as cache:
        built = json.loads(run([a.dlvidx, "build", "--json", "--cache-dir", cache, binary]).stdout)
        print(f"dlvidx build: {built['total_ms']:.1f} ms: {built['keys']} statement lines in {built['files']} files, "
              f"index {built['index_bytes'] / 1024:.0f} KiB ({100 * built['index_bytes'] / built['dwarf_bytes']:.0f}% "
              f"of {built['dwarf_bytes'] / 1024:.0f} KiB DWARF), published to shared memory")

        # A few lines of the example: statements, a comment, a blank line, a `}`.
        lines = []
        main_go = os.path.join(EXAMPLE, "main.go")
        if not a.binary:
            src = open(main_go).read().splitlines()
            picks = [i + 1 for i, t in enumerate(src) if t.strip() and not t.strip().startswith(("//", "import", "package", ")", "("))]
            picks = picks[len(picks) // 4:len(picks) // 4 + 6]
            comment = next(i + 1 for i, t in enumerate(src) if t.strip().startswith("//") and i > 10)
            blank = next(i + 1 for i, t in enumerate(src) if not t.strip() and i > 10)
            lines = [f"{main_go}:{n}" for n in picks + [comment, blank]]
        else:
            lines = sys.stdin.read().split()

        dlv_args = ["--dlv-arg=--check-go-version=false"] if "go122" in a.name else []
        theirs = [json.loads(l) for l in run([os.path.join(a.oracles, "dlvoracle"), "--dlv", a.dlv] + dlv_args + [binary],
                                             input="\n".join(lines) + "\n").stdout.splitlines()]
        ours = run([a.dlvidx, "lookup", "--json", "--timing", "--cache-dir", cache, binary] + lines)
        mine = json.loads(ours.stdout)
        print(ours.stderr.strip())

    print(f"\n{'location':<18} {'dlv':>10} {'same answer':>12}  addresses / message")
    for q, t, m in zip(lines, theirs, mine):
        same = t.get("pcs", []) == m.get("pcs", []) and t.get("error", "") == m.get("error", "")
        what = " ".join(f"{pc} {fn}" for pc, fn in zip(m["pcs"], m["functions"])) or m.get("error", m.get("note", ""))
        print(f"{os.path.basename(q):<18} {t['us'] / 1000:>8.2f}ms {'yes' if same else 'NO':>12}  {what[:90]}")
    dlv_ms = [t["us"] / 1000 for t in theirs[1:]]  # the first includes dlv's warm-up
    print(f"\ndlv needs a median {statistics.median(dlv_ms):.2f} ms per line (min {min(dlv_ms):.2f}, max "
          f"{max(dlv_ms):.2f}; first line {theirs[0]['us'] / 1000:.0f} ms); dlvidx answers from the index as "
          f"shown above. Larger binaries widen the gap: dlv's cost grows with the line program it re-reads.")
    if any(t.get("pcs", []) != m.get("pcs", []) or t.get("error", "") != m.get("error", "")
           for t, m in zip(theirs, mine)):
        sys.exit("demo: dlvidx and dlv disagree")


if __name__ == "__main__":
    main()
