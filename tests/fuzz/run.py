#!/usr/bin/env python3
"""Run the libFuzzer targets of tests/fuzz for a bounded time.

    python3 tests/fuzz/run.py --build build/fuzz --seconds 60 [--target NAME] [--report DIR]

For each target: first every checked-in input of tests/fuzz/corpus/<target>/
(seeds and crash-* regressions) is replayed once, so old crashes stay fixed;
then the target fuzzes for --seconds on a scratch copy of that corpus (new
inputs stay in the scratch directory). One line per target: executions,
exec/s, crashes, hangs, leaks, corpus size. A crashing input is copied to
<build>/fuzz-crashes/<target>-<kind>-<sha1> and the exit status is 1.

With --report DIR (or $DLVIDX_RELIABILITY_DIR) the results are merged, one
row per target, into DIR/fuzz.json.
"""
import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {
    "fuzz_dap_frames": "DAP framing (whole vs. chunked reads) and the shim's client-message routing",
    "fuzz_object": "ELF / Mach-O / universal parsing, DWARF section inflation, Go build info",
    "fuzz_index_build": "DWARF -> line tables -> Delve's policy -> index image -> lookups",
    "fuzz_index_load": "index image verification (every Verify level) and lookups",
}
MAX_LEN = 64 * 1024
AREA = "Fuzzing (libFuzzer + ASan/UBSan)"


# Targets that go through libdwarf, which leaks on some malformed input by
# itself (lsan.supp names those paths). libdwarf has no frame pointers, so
# matching a suppression needs ASan's slow unwinder on every malloc (8 frames
# reach the libdwarf entry points): about 3x fewer executions, but a leak of
# our own is still a finding.
LIBDWARF_TARGETS = {"fuzz_index_build"}


def libfuzzer(exe, args, log):
    env = dict(os.environ)
    # Leaks are findings; symbolized reports.
    slow = ":fast_unwind_on_malloc=0:malloc_context_size=8" if os.path.basename(exe) in LIBDWARF_TARGETS else ""
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:symbolize=1" + slow)
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.setdefault("LSAN_OPTIONS", f"suppressions={os.path.join(HERE, 'lsan.supp')}:print_suppressions=0")
    with open(log, "w") as out:
        return subprocess.run([exe] + args, stdout=out, stderr=subprocess.STDOUT, env=env).returncode


def classify(text):
    if "ERROR: libFuzzer: timeout" in text:
        return "hang"
    if "ERROR: LeakSanitizer" in text:
        return "leak"
    if "out-of-memory" in text:
        return "oom"
    return "crash"


def keep_artifact(text, build, target):
    """Copies the input libFuzzer wrote for a failure to a named file; returns its path."""
    m = re.findall(r"Test unit written to (\S+)", text)
    if not m or not os.path.exists(m[-1]):
        return None
    data = open(m[-1], "rb").read()
    dest_dir = os.path.join(build, "fuzz-crashes")
    os.makedirs(dest_dir, exist_ok=True)
    dest = os.path.join(dest_dir, f"{target}-{classify(text)}-{hashlib.sha1(data).hexdigest()[:12]}")
    shutil.copyfile(m[-1], dest)
    return dest


def replay(exe, corpus, work):
    """Runs every checked-in input once. Returns (ok, log text)."""
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus))
    log = os.path.join(work, "replay.log")
    rc = libfuzzer(exe, [f"-artifact_prefix={work}/replay-", "-timeout=10", "-rss_limit_mb=2048"] + files, log)
    return rc == 0, open(log, errors="replace").read()


def fuzz(exe, corpus, seconds, work):
    scratch = os.path.join(work, "corpus")
    shutil.copytree(corpus, scratch)
    before = len(os.listdir(scratch))
    log = os.path.join(work, "fuzz.log")
    rc = libfuzzer(exe, [scratch, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
                         f"-max_len={MAX_LEN}", "-print_final_stats=1", f"-artifact_prefix={work}/"], log)
    text = open(log, errors="replace").read()
    stat = dict(re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M))
    runs = int(stat.get("number_of_executed_units", 0))
    if not runs:  # stopped by a crash: no final stats; the last status line has the count
        status = re.findall(r"^#(\d+)\s", text, re.M)
        runs = int(status[-1]) if status else 0
    return {"rc": rc, "log": text, "runs": runs, "exec_s": int(stat.get("average_exec_per_sec", 0)),
            "new": len(os.listdir(scratch)) - before, "corpus": len(os.listdir(scratch))}


def report(dir_, rows):
    """Merges rows into DIR/fuzz.json (one row per target; ctest may run targets in parallel)."""
    os.makedirs(dir_, exist_ok=True)
    path = os.path.join(dir_, "fuzz.json")
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = []
        if os.path.exists(path):
            try:
                old = json.load(open(path)).get("rows", [])
            except ValueError:
                pass
        names = {r["case"].split(":")[0] for r in rows}
        merged = [r for r in old if r["case"].split(":")[0] not in names] + rows
        merged.sort(key=lambda r: list(TARGETS).index(r["case"].split(":")[0]) if r["case"].split(":")[0] in TARGETS else 99)
        tmp = path + ".tmp"
        json.dump({"suite": "fuzz", "rows": merged}, open(tmp, "w"), indent=2)
        os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the fuzz build directory (cmake --preset fuzz)")
    ap.add_argument("--seconds", type=int, default=60, help="fuzzing time per target (0: replay only)")
    ap.add_argument("--target", action="append", choices=list(TARGETS), help="only this target (repeatable)")
    ap.add_argument("--report", default=os.environ.get("DLVIDX_RELIABILITY_DIR"), help="write DIR/fuzz.json")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (new corpus, logs)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    failed, rows = False, []
    for target in args.target or list(TARGETS):
        exe = os.path.join(build, "tests", "fuzz", target)
        corpus = os.path.join(HERE, "corpus", target)
        if not os.access(exe, os.X_OK):
            sys.exit(f"run.py: {exe} is missing: cmake --preset fuzz && cmake --build --preset fuzz")
        work = tempfile.mkdtemp(prefix=f"dlvidx-{target}-")
        ok, text = replay(exe, corpus, work)
        if not ok:
            kept = keep_artifact(text, build, target)
            ran = re.findall(r"^Running: (\S+)", text, re.M)
            print(f"{target}: REGRESSION: {ran[-1] if ran else '?'} fails again ({classify(text)}); "
                  f"log: {work}/replay.log" + (f"; input: {kept}" if kept else ""))
            failed = True
            rows.append(row(target, 0, 0, 0, {classify(text): 1}, args.seconds))
            continue
        start = time.time()
        r = fuzz(exe, corpus, args.seconds, work) if args.seconds > 0 else \
            {"rc": 0, "log": "", "runs": 0, "exec_s": 0, "new": 0, "corpus": len(os.listdir(corpus))}
        found = {}
        if r["rc"] != 0:
            found[classify(r["log"])] = 1
            kept = keep_artifact(r["log"], build, target)
            failed = True
        n_bad = sum(found.values())
        print(f"{target}: {r['runs']} executions, {r['exec_s']} exec/s, {n_bad} crashes"
              f" ({', '.join(f'{v} {k}' for k, v in found.items()) or 'none'}), corpus {r['corpus']}"
              f" (+{r['new']} new), {time.time() - start:.0f} s"
              + (f"; input: {kept}; log: {work}/fuzz.log" if n_bad else ""))
        rows.append(row(target, r["runs"], r["exec_s"], r["runs"] if not n_bad else 0, found, args.seconds))
        if not n_bad and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.report:
        print(f"report: {report(args.report, rows)}")
    return 1 if failed else 0


def row(target, runs, exec_s, handled, found, seconds):
    crashes = found.get("crash", 0) + found.get("oom", 0)
    return {"area": AREA, "case": f"{target}: {TARGETS[target]}", "cases": runs, "handled": handled,
            "crashes": crashes, "hangs": found.get("hang", 0), "leaks": found.get("leak", 0),
            "result": f"{seconds} s, {exec_s} exec/s, {crashes} crashes"}


if __name__ == "__main__":
    sys.exit(main())
