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

    -m pytest tests/dap/test_every_line.py -s --dlvidx BIN --dlvoracle BIN [--dlv PATH] [--corpus PY]
              [--name CORPUS_NAME] [--arm64 BUILD_DIR]
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import pytest

from dlvtest.adapters import start_adapter, stop_adapter
from dlvtest.dap import DAPClient
from dlvtest.example import EXAMPLE_DIR as EXAMPLE


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


class Target:
    """The programs and the binary of this run, here or in the arm64 guest, and dlv's answers."""

    def __init__(self, dlvidx, dlvoracle, dlv, name, binary, oracle, cache):
        self.dlvidx, self.dlvoracle, self.dlv, self.name = dlvidx, dlvoracle, dlv, name
        self.binary, self.cache = binary, cache
        self.flags = ["--check-go-version=false"] if "go122" in name else []
        # A position-independent binary loads at a random base in each process:
        # without ASLR, the oracle's dlv, plain dlv and the shim's dlv all see the
        # same runtime addresses (the shim learns the load bias from its dlv).
        if "+pie" in name:
            self.flags.append("--disable-aslr")
        self.files = sorted(f for f in glob.glob(os.path.join(EXAMPLE, "**", "*.go"), recursive=True)
                            if not f.endswith("_test.go"))
        # What dlv picks for every line of every file.
        queries = [f"{f}:{n}" for f in self.files for n in range(1, sum(1 for _ in open(f)) + 1)]
        said = oracle([dlvoracle, "--dlv", dlv] + [x for fl in self.flags for x in ("--dlv-arg", fl)] + [binary],
                      "\n".join(queries) + "\n")
        self.truth = {(r["file"], r["line"]): r for r in map(json.loads, said.splitlines())}
        self.shim = [dlvidx, "dap", "--dlv", dlv, "--cache-dir", cache] + self.flags


@pytest.fixture(scope="module")
def target(pytestconfig, arm64):
    opt = pytestconfig.getoption
    dlvoracle, name = opt("dlvoracle"), opt("name") or "example-go127-linux-amd64"
    if not dlvoracle:
        pytest.fail("--dlvoracle is required", pytrace=False)
    if arm64:
        m = arm64

        def oracle(argv, text):
            return m.run(argv, stdin=text, timeout=1800, check=True).stdout.decode()
        yield Target(m.dlvidx, m.dlvoracle, m.dlv, name, m.binary(name), oracle, cache="/tmp/dlvidx-every-line")
        return
    if not opt("dlvidx"):
        pytest.fail("--dlvidx is required (or --arm64 BUILD_DIR)", pytrace=False)
    binary = subprocess.run([sys.executable, opt("corpus"), "path", name], check=True, capture_output=True,
                            text=True).stdout.strip()

    def oracle(argv, text):
        return subprocess.run(argv, input=text, capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory() as cache:
        yield Target(opt("dlvidx"), dlvoracle, opt("dlv") or "/usr/bin/dlv", name, binary, oracle, cache)


def test_armed_where_dlv_arms(target, checks):
    """Each file in one setBreakpoints through the shim: every line armed at dlv's own address."""
    truth = target.truth
    proc, c = session(target.shim, target.binary)
    try:
        for f in target.files:
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
                    # dlv refuses it too; the shim says why in a sentence (index/diagnose.cc)
                    msg = b.get("message") or ""
                    refused = not b.get("verified") and (msg.startswith(f"Line {want} ") or
                                                         msg.startswith("Function "))
                    ok = moved or refused
                else:  # dlv accepts it with no address
                    ok = not b.get("verified")
                if not ok:
                    bad.append((want, t, b))
            for want, t, b in bad[:5]:
                print(f"  {os.path.basename(f)}:{want}: dlv {t} shim {b}")
            checks.check(f"{os.path.relpath(f, EXAMPLE)}: all {n} lines armed where dlv would arm them "
                         f"({sum(1 for l in range(1, n + 1) if truth[(f, l)].get('pcs'))} with code)", not bad)
    finally:
        c.request("disconnect", {"terminateDebuggee": True}, timeout=20)
        stop_adapter(proc)


def test_same_stops(target, checks):
    """main.go with a breakpoint on every line with code: the same stops directly and through the shim."""
    main_go = os.path.join(EXAMPLE, "main.go")
    code = [l for (f, l), t in target.truth.items() if f == main_go and t.get("pcs")]
    direct = stops([target.dlv, "dap"] + target.flags, target.binary, main_go, code)
    through = stops(target.shim, target.binary, main_go, code)
    checks.check(f"main.go: the program stops at the same {len(direct)} lines at the same addresses "
                 f"directly and through the shim", direct and direct == through)
    if direct != through:
        for l in sorted(set(direct) | set(through)):
            if direct.get(l) != through.get(l):
                print(f"  line {l}: dlv {direct.get(l)} shim {through.get(l)}")
