#!/usr/bin/env python3
"""Breakpoint latency, direct `dlv dap` vs `dlvidx dap` in front of the same
dlv, same binary, same lines, in one run (issue #3's short benchmark).

For each binary: launch it (exec), stop at main, then time
  - setBreakpoints with 1 new line and with 20 new lines (alternating line
    sets in one big file, so nothing is a repeat),
  - setBreakpoints on a line without code (dlv refuses it; the shim snaps it),
  - stackTrace, scopes, variables at the stop (pass-through cost of the proxy).
Prints min / median / max per metric and the ratio direct / shim.

usage: shim_bench.py --dlvidx BIN [--dlv PATH] [--reps N] [--out DIR] [NAME:FILE:MAIN ...]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from dlvtest.adapters import start_adapter, stop_adapter  # noqa: E402
from dlvtest.dap import DAPClient  # noqa: E402

# NAME:FILE[:MAIN] -- the file whose lines are set, and the main.go to stop in first.
DEFAULT = ["example-go127-linux-amd64:example/work/work.go:example/main.go",
           "cmdgo-go127-linux-amd64:cmd/go/internal/load/pkg.go:cmd/go/main.go",
           "cmdcompile-go127-linux-amd64:cmd/compile/internal/ssa/regalloc.go:cmd/compile/main.go"]


def corpus(name):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "corpus", "corpus.py"), "path", name],
                          check=True, capture_output=True, text=True).stdout.strip()


def lines_of(dlvidx, binary, suffix, cache):
    """(absolute path, lines with code, lines without code) from the index."""
    n = 4000
    q = [f"{suffix}:{i}" for i in range(1, n)]
    out = json.loads(subprocess.run([dlvidx, "lookup", "--json", "--cache-dir", cache, binary, "-"],
                                    input="\n".join(q), capture_output=True, text=True).stdout)
    path = next(a["file"] for a in out if a["file"].endswith(suffix))
    total = sum(1 for _ in open(path))
    code = [a["line"] for a in out if a["pcs"] and a["line"] <= total]
    nocode = [a["line"] for a in out if "error" in a and a["line"] <= total]
    return path, code, nocode


def mmm(xs):
    return {"n": len(xs), "min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def session(argv, binary, path, code, nocode, reps, main_line, locations=False, scaling=()):
    """One DAP session; returns {metric: [ms samples]}."""
    proc, host, port = start_adapter(argv)
    c = DAPClient.connect(host, port)
    samples = {}
    try:
        def timed(cmd, args, key=None):
            t0 = time.perf_counter()
            r = c.request(cmd, args, timeout=120)
            ms = (time.perf_counter() - t0) * 1000
            if key:
                samples.setdefault(key, []).append(ms)
            return ms, r

        c.request_ok("initialize", {"adapterID": "go", "linesStartAt1": True, "columnsStartAt1": True,
                                    "pathFormat": "path"})
        t0 = time.perf_counter()
        c.send_request("launch", {"mode": "exec", "program": binary})
        c.wait_event("initialized", timeout=120)
        samples["launch_to_initialized"] = [(time.perf_counter() - t0) * 1000]
        main_go, mline = main_line
        c.request_ok("setBreakpoints", {"source": {"path": main_go}, "breakpoints": [{"line": mline}]})
        t0 = time.perf_counter()
        c.request_ok("configurationDone", {})
        stop = c.wait_event("stopped", timeout=120)
        samples["configurationDone_to_stopped"] = [(time.perf_counter() - t0) * 1000]
        tid = stop["body"]["threadId"]

        for i in range(reps + 1):  # the first call of the session is reported on its own
            ms, _ = timed("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": code[i]}]})
            samples.setdefault("set_1_first" if i == 0 else "set_1", []).append(ms)
        for i in range(reps):
            lines = code[reps + 1 + 20 * i: reps + 1 + 20 * (i + 1)]
            timed("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": l} for l in lines]}, "set_20")
        for i in range(reps):
            timed("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": nocode[i]}]}, "no_code_line")
        c.request_ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
        if locations:
            for i in range(reps):
                timed("breakpointLocations", {"source": {"path": path}, "line": code[i], "endLine": code[i] + 50},
                      "breakpointLocations")
        for sp, sl in scaling:  # (file, line with code): one new line each, alternating
            for k in range(5):
                ms, _ = timed("setBreakpoints", {"source": {"path": sp}, "breakpoints": [{"line": sl[k % len(sl)]}]})
                samples.setdefault(f"scale:{sp}", []).append(ms)
            c.request_ok("setBreakpoints", {"source": {"path": sp}, "breakpoints": []})
        for _ in range(max(reps, 100)):
            ms, r = timed("stackTrace", {"threadId": tid, "levels": 20}, "stackTrace")
            frame = r["body"]["stackFrames"][0]["id"]
            ms, r = timed("scopes", {"frameId": frame}, "scopes")
            ref = r["body"]["scopes"][0]["variablesReference"]
            timed("variables", {"variablesReference": ref}, "variables")
        c.request("disconnect", {"terminateDebuggee": True}, timeout=20)
        return samples
    finally:
        stop_adapter(proc)


def launch_only(argv, binary):
    """Seconds from launch to `initialized` in a session of its own (wherever start_adapter runs it)."""
    proc, host, port = start_adapter(argv)
    try:
        c = DAPClient.connect(host, port)
        c.request_ok("initialize", {"adapterID": "go", "linesStartAt1": True, "columnsStartAt1": True,
                                    "pathFormat": "path"})
        t0 = time.perf_counter()
        c.send_request("launch", {"mode": "exec", "program": binary})
        c.wait_event("initialized", timeout=120)
        took = time.perf_counter() - t0
        c.request("disconnect", {"terminateDebuggee": True}, timeout=20)
        return took
    finally:
        stop_adapter(proc)


def start_breakpoints(dlvidx, binary, cache, main_suffix, mcode, files=10, per_file=3):
    """The breakpoints of a session start: `files` source files of the program's own packages (the
    directory of main_suffix and below, chosen deterministically across its files), `per_file`
    lines with code each; main.go's (its lines with code: mcode) first line among them, so the
    session stops there. Returns [(absolute path, [lines])]."""
    units = subprocess.run([dlvidx, "rows", "--units", binary], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    own = "/" + os.path.dirname(main_suffix) + "/"
    paths = sorted({f for u in units for f in u.split("\t")[3:]
                    if f.endswith(".go") and f.startswith("/") and own in f and os.path.exists(f)})
    main_go = next(p for p in paths if p.endswith("/" + main_suffix))
    others = [p for p in paths if p != main_go]
    step = max(1, len(others) // max(1, files - 1))
    chosen = [(main_go, [mcode[0]] + mcode[max(1, len(mcode) - per_file + 1):])]
    for p in others[::step]:
        if len(chosen) == files:
            break
        _, code, _ = lines_of(dlvidx, binary, p, cache)
        if len(code) >= per_file:
            chosen.append((p, [code[len(code) * (k + 1) // (per_file + 1)] for k in range(per_file)]))
    return chosen


def session_start(argv, binary, bps):
    """F5 to the first stop, the way VS Code starts a session: initialize, launch (exec) ->
    initialized; then every file's setBreakpoints at once, the empty setFunctionBreakpoints /
    setInstructionBreakpoints / setExceptionBreakpoints after them, all answers awaited together;
    configurationDone -> the first stopped. Returns {metric: ms} for one session."""
    proc, host, port = start_adapter(argv)
    try:
        c = DAPClient.connect(host, port)
        t0 = time.perf_counter()
        c.request_ok("initialize", {"adapterID": "go", "linesStartAt1": True, "columnsStartAt1": True,
                                    "pathFormat": "path"})
        c.send_request("launch", {"mode": "exec", "program": binary})
        c.wait_event("initialized", timeout=300)
        t1 = time.perf_counter()
        seqs = [c.send_request("setBreakpoints", {"source": {"name": os.path.basename(p), "path": p},
                                                  "breakpoints": [{"line": l} for l in ls]}) for p, ls in bps]
        rest = [c.send_request("setFunctionBreakpoints", {"breakpoints": []}),
                c.send_request("setInstructionBreakpoints", {"breakpoints": []}),
                c.send_request("setExceptionBreakpoints", {"filters": []})]
        verified = 0
        for q in seqs:
            r = c.wait_response(q, timeout=300)
            if not r.get("success"):
                raise RuntimeError(f"setBreakpoints failed: {r.get('message')}")
            verified += sum(1 for b in r["body"]["breakpoints"] if b.get("verified"))
        for q in rest:
            c.wait_response(q, timeout=300)
        t2 = time.perf_counter()
        if verified != sum(len(ls) for _, ls in bps):
            raise RuntimeError(f"only {verified} of {sum(len(ls) for _, ls in bps)} start breakpoints verified")
        c.request_ok("configurationDone", {})
        c.wait_event("stopped", timeout=300)
        t3 = time.perf_counter()
        c.request("disconnect", {"terminateDebuggee": True}, timeout=20)
        return {"session_start": (t3 - t0) * 1000, "session_start: breakpoints": (t2 - t1) * 1000,
                "session_start: configurationDone_to_stopped": (t3 - t2) * 1000}
    finally:
        stop_adapter(proc)


def summarize(samples):
    return {k: mmm(v) for k, v in samples.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlvidx", required=True)
    ap.add_argument("--dlv", default="/usr/bin/dlv")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--out", default=None)
    ap.add_argument("targets", nargs="*")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for t in a.targets or DEFAULT:
            name, suffix, main_suffix = t.split(":", 2)
            binary = corpus(name)
            subprocess.run([a.dlvidx, "build", "--cache-dir", cache, binary], check=True, capture_output=True)
            path, code, nocode = lines_of(a.dlvidx, binary, suffix, cache)
            gomain, mcode, _ = lines_of(a.dlvidx, binary, main_suffix, cache)
            main_line = (gomain, mcode[0])
            direct = summarize(session([a.dlv, "dap"], binary, path, code, nocode, a.reps, main_line))
            shim = summarize(session([a.dlvidx, "dap", "--dlv", a.dlv, "--cache-dir", cache], binary, path, code, nocode,
                                     a.reps, main_line))
            rows.append((name, direct, shim))
    lines = ["| binary | metric | direct dlv ms (min/med/max) | dlvidx dap ms (min/med/max) | direct / shim (medians) |",
             "|---|---|---|---|---|"]
    for name, d, s in rows:
        for k in ("set_1", "set_20", "no_code_line", "stackTrace", "scopes", "variables"):
            f = lambda x: f"{x['min']:.2f} / {x['median']:.2f} / {x['max']:.2f}"
            lines.append(f"| {name} | {k} | {f(d[k])} | {f(s[k])} | {d[k]['median'] / s[k]['median']:.1f}x |")
        lines.append(f"| {name} | added per pass-through request (stackTrace/scopes/variables medians) | | | "
                     f"{1000 * statistics.mean([s[k]['median'] - d[k]['median'] for k in ('stackTrace', 'scopes', 'variables')]):+.0f} us |")
    md = "\n".join(lines) + "\n"
    print(md)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        open(os.path.join(a.out, "shim_bench.md"), "w").write(md)
        json.dump([{"name": n, "direct": d, "shim": s} for n, d, s in rows], open(os.path.join(a.out, "shim_bench.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
