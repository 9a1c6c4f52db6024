#!/usr/bin/env python3
"""Every line of the example, through the shim and directly in dlv.

1. Armed addresses: one setBreakpoints per source file with every line of it,
   through `dlvidx dap`; each line with code must be verified at dlv's own
   first address for that line (tests/oracle/dlvoracle asks dlv's JSON-RPC),
   and each line without code must be either moved to a later line of the
   same file with the "moved from line N" message, or refused with dlv's text.
2. Stops: the program runs once under plain `dlv dap` and once under the shim,
   with a breakpoint on every line of main.go that has code; at each stop the
   instruction pointer is recorded and that line's breakpoint removed. Both
   runs must stop at the same lines, at the same addresses.

With --arm64 BUILD_DIR, all of it runs in an emulated linux/arm64 machine
(tests/arm64): the arm64 build of dlvidx, the arm64 dlvoracle (--dlvoracle) and
Debian's arm64 Delve, on NAME's linux/arm64 build; the client stays here.

usage: test_every_line.py --dlvidx BIN --dlvoracle BIN [--dlv PATH] [--corpus PY] [--name CORPUS_NAME]
                          [--arm64 BUILD_DIR]
Prints "N passed, M failed".
"""
import argparse, glob, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from dap_client import DAPClient, start_adapter, stop_adapter  # noqa: E402

EXAMPLE = os.path.join(ROOT, "tests", "fixtures", "example")
passed = failed = 0


def check(ok, what):
    global passed, failed
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    passed, failed = passed + bool(ok), failed + (not ok)


def session(argv, binary):
    proc, host, port = start_adapter(argv)
    c = DAPClient.connect(host, port)
    c.request_ok("initialize", {"adapterID": "go", "linesStartAt1": True, "columnsStartAt1": True, "pathFormat": "path"})
    c.request_ok("launch", {"mode": "exec", "program": binary})
    c.wait_event("initialized", timeout=60)
    return proc, c


def stops(argv, binary, main_go, lines):
    """line -> instruction pointer of the first stop there."""
    proc, c = session(argv, binary)
    got = {}
    try:
        left = sorted(lines)
        r = c.request_ok("setBreakpoints", {"source": {"path": main_go}, "breakpoints": [{"line": l} for l in left]})
        left = [b["line"] for b in r["body"]["breakpoints"] if b.get("verified")]
        c.request_ok("configurationDone", {})
        for _ in range(len(lines) + 5):
            ev = c.wait_any_event(["stopped", "terminated", "exited"], timeout=30)
            if ev["event"] != "stopped":
                break
            tid = ev["body"]["threadId"]
            frame = c.request_ok("stackTrace", {"threadId": tid, "levels": 1})["body"]["stackFrames"][0]
            line = frame["line"]
            got.setdefault(line, frame.get("instructionPointerReference"))
            if line in left:
                left.remove(line)
                c.request_ok("setBreakpoints", {"source": {"path": main_go}, "breakpoints": [{"line": l} for l in left]})
            c.request_ok("continue", {"threadId": tid})
        c.request("disconnect", {"terminateDebuggee": True}, timeout=20)
    finally:
        stop_adapter(proc)
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlvidx", help="required unless --arm64 (then the guest's)")
    ap.add_argument("--dlvoracle", required=True)
    ap.add_argument("--dlv", default="/usr/bin/dlv")
    ap.add_argument("--corpus", default=os.path.join(ROOT, "tests", "corpus", "corpus.py"))
    ap.add_argument("--name", default="example-go127-linux-amd64")
    ap.add_argument("--arm64", metavar="BUILD_DIR", help="run everything but the client in an emulated arm64 machine")
    a = ap.parse_args()
    if not a.dlvidx and not a.arm64:
        ap.error("--dlvidx is required")
    if a.arm64:
        sys.path.insert(0, os.path.join(ROOT, "tests", "arm64"))
        from target import Arm64
        with Arm64(build_dir=a.arm64, dlvoracle=a.dlvoracle, corpus_py=a.corpus) as m:
            a.dlvidx, a.dlvoracle, a.dlv = m.dlvidx, m.dlvoracle, m.dlv
            binary = m.binary(a.name)

            def oracle(argv, text):
                return m.run(argv, stdin=text, timeout=1800, check=True).stdout.decode()
            return run(a, binary, oracle, cache="/tmp/dlvidx-every-line")
    binary = subprocess.run([sys.executable, a.corpus, "path", a.name], check=True, capture_output=True,
                            text=True).stdout.strip()

    def oracle(argv, text):
        return subprocess.run(argv, input=text, capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory() as cache:
        return run(a, binary, oracle, cache)


def run(a, binary, oracle, cache):
    flags = ["--check-go-version=false"] if "go122" in a.name else []
    # A position-independent binary loads at a random base in each process:
    # without ASLR, the oracle's dlv, plain dlv and the shim's dlv all see the
    # same runtime addresses (the shim learns the load bias from its dlv).
    if "+pie" in a.name:
        flags.append("--disable-aslr")
    files = sorted(f for f in glob.glob(os.path.join(EXAMPLE, "**", "*.go"), recursive=True) if not f.endswith("_test.go"))

    # What dlv picks for every line of every file.
    queries = [f"{f}:{n}" for f in files for n in range(1, sum(1 for _ in open(f)) + 1)]
    said = oracle([a.dlvoracle, "--dlv", a.dlv] + [x for fl in flags for x in ("--dlv-arg", fl)] + [binary],
                  "\n".join(queries) + "\n")
    truth = {(r["file"], r["line"]): r for r in map(json.loads, said.splitlines())}

    shim = [a.dlvidx, "dap", "--dlv", a.dlv, "--cache-dir", cache] + flags
    proc, c = session(shim, binary)
    try:
        for f in files:
            n = sum(1 for _ in open(f))
            r = c.request_ok("setBreakpoints", {"source": {"path": f}, "breakpoints": [{"line": l} for l in range(1, n + 1)]})
            bad = []
            for want, b in zip(range(1, n + 1), r["body"]["breakpoints"]):
                t = truth[(f, want)]
                if t.get("pcs"):
                    ok = b.get("verified") and b.get("line") == want and b.get("instructionReference") == t["pcs"][0]
                elif "error" in t:
                    moved = b.get("verified") and b.get("line", 0) > want and \
                        b.get("message") == f"moved from line {want}: no statement on line {want}" and \
                        truth[(f, b["line"])].get("pcs", [None])[0] == b.get("instructionReference")
                    refused = not b.get("verified") and b.get("message") == t["error"]
                    ok = moved or refused
                else:  # dlv accepts it with no address
                    ok = not b.get("verified")
                if not ok:
                    bad.append((want, t, b))
            for want, t, b in bad[:5]:
                print(f"  {os.path.basename(f)}:{want}: dlv {t} shim {b}")
            check(not bad, f"{os.path.relpath(f, EXAMPLE)}: all {n} lines armed where dlv would arm them "
                  f"({sum(1 for l in range(1, n + 1) if truth[(f, l)].get('pcs'))} with code)")
    finally:
        c.request("disconnect", {"terminateDebuggee": True}, timeout=20)
        stop_adapter(proc)

    main_go = os.path.join(EXAMPLE, "main.go")
    code = [l for (f, l), t in truth.items() if f == main_go and t.get("pcs")]
    direct = stops([a.dlv, "dap"] + flags, binary, main_go, code)
    through = stops(shim, binary, main_go, code)
    check(direct and direct == through,
          f"main.go: the program stops at the same {len(direct)} lines at the same addresses "
          f"directly and through the shim")
    if direct != through:
        for l in sorted(set(direct) | set(through)):
            if direct.get(l) != through.get(l):
                print(f"  line {l}: dlv {direct.get(l)} shim {through.get(l)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
