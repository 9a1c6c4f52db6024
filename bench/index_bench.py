#!/usr/bin/env python3
"""Index micro-benchmark (issue #2's goals). For each binary of the corpus:

  - `dlvidx build` wall time and peak RSS (fresh build, repeated),
  - cache-hit open time (index already in shared memory; in-process time),
  - lookup latency p50/p99 for random present and absent keys (dlvidx_lookup_bench),
  - index bytes / DWARF bytes,
  - and, in the same run, dlv's own launch -> initialized over DAP for the
    linux/amd64 builds: Delve 1.27.1 (installed) and, where it can be had,
    Delve 1.20.2 (bookworm's package, unpacked privately).

Prints a markdown table and writes JSON. Nothing here asserts a time.

usage: index_bench.py --dlvidx BIN --lookup-bench BIN [--out DIR] [--reps N] [NAME...]
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from dap_launch import launch_to_initialized  # noqa: E402
from dlvtest.run import shm_name  # noqa: E402

DEFAULT = ["cmdcompile-go127-linux-amd64", "cmdcompile-go127-linux-arm64", "cmdcompile-go127-darwin-arm64",
           "cmdcompile-go122-linux-amd64", "cmdcompile-go122-linux-arm64", "cmdcompile-go122-darwin-arm64",
           "cmdgo-go127-linux-amd64"]


def corpus(name):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "corpus", "corpus.py"), "path", name],
                          check=True, capture_output=True, text=True).stdout.strip()


def mmm(xs):
    return {"n": len(xs), "min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def run_measured(cmd):
    """(seconds, peak RSS KiB, stdout) of a child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {err}")
    return wall, ru.ru_maxrss, out


def peak_rss_kib(cmd):
    """Peak RSS of one run, measured alone via /usr/bin/time-like wait4."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return ru.ru_maxrss


def delve_120():
    """bookworm's Delve 1.20.2, unpacked privately (tests/corpus/delve120.py)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "corpus"))
    import delve120
    try:
        return delve120.path()
    except Exception as e:
        print(f"note: Delve 1.20.2 not available ({e})", file=sys.stderr)
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlvidx", required=True)
    ap.add_argument("--lookup-bench", required=True)
    ap.add_argument("--dlv", default=shutil.which("dlv"))
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    names = a.names or DEFAULT
    os.makedirs(a.out, exist_ok=True)
    dlv120 = delve_120()
    results = []
    for name in names:
        binary = corpus(name)
        r = {"name": name, "binary_bytes": os.path.getsize(binary)}
        with tempfile.TemporaryDirectory() as cache:
            builds, rss = [], []
            for _ in range(a.reps):
                wall, _, out = run_measured([a.dlvidx, "build", "--json", "--cache-dir", cache, binary])
                builds.append(wall * 1000)
                info = json.loads(out)
            rss.append(peak_rss_kib([a.dlvidx, "build", "--cache-dir", cache, binary]))
            r["build_ms"] = mmm(builds)
            r["build_peak_rss_mib"] = max(rss) / 1024
            r["phases_ms"] = info["phases_ms"]
            r["keys"], r["files"] = info["keys"], info["files"]
            r["index_bytes"], r["dwarf_bytes"] = info["index_bytes"], info["dwarf_bytes"]
            r["index_to_dwarf"] = info["index_bytes"] / info["dwarf_bytes"]
            opens = []
            for _ in range(max(20, a.reps)):
                o = json.loads(subprocess.run([a.dlvidx, "build", "--reuse", "--json", "--cache-dir", cache, binary],
                                              check=True, capture_output=True, text=True).stdout)
                assert not o["built"]
                opens.append(o["total_ms"])
            r["cache_hit_open_ms"] = mmm(opens)
            lk = json.loads(subprocess.run([a.lookup_bench, binary, cache], check=True, capture_output=True,
                                           text=True).stdout)
            r["lookup"] = {k: lk[k] for k in ("present", "absent", "batch_ns", "clock_overhead_ns", "n")}
            try:
                os.unlink(shm_name(info["key"]))
            except OSError:
                pass
        if name.endswith("linux-amd64") or "-linux-amd64+" in name:
            extra = ["--check-go-version=false"] if "go122" in name else []
            r["dlv127_launch_ms"] = mmm([launch_to_initialized(a.dlv, binary, extra) * 1000 for _ in range(a.reps)])
            if dlv120:
                try:
                    extra = ["--check-go-version=false"] if "go127" in name else []
                    r["dlv120_launch_ms"] = mmm([launch_to_initialized(dlv120, binary, extra) * 1000
                                                 for _ in range(a.reps)])
                except Exception as e:  # Delve 1.20 cannot read every newer binary
                    r["dlv120_launch_error"] = str(e)[:200]
        results.append(r)
        print(f"done {name}", file=sys.stderr)

    with open(os.path.join(a.out, "index_bench.json"), "w") as f:
        json.dump({"machine": machine(), "results": results}, f, indent=1)
    md = table(results)
    with open(os.path.join(a.out, "index_bench.md"), "w") as f:
        f.write(md)
    print(md)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": os.uname().release,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def table(results):
    def f(x):
        return f"{x['min']:.1f} / {x['median']:.1f} / {x['max']:.1f}"
    out = ["| binary | keys | build ms (min/med/max) | peak RSS | index / DWARF | cache-hit open ms | "
           "lookup present p50/p99 ns | absent p50/p99 ns | dlv 1.27.1 launch ms | dlv 1.20.2 launch ms |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lk = r["lookup"]
        d127 = f(r["dlv127_launch_ms"]) if "dlv127_launch_ms" in r else "n/a (not runnable here)"
        d120 = f(r["dlv120_launch_ms"]) if "dlv120_launch_ms" in r else ("fails" if "dlv120_launch_error" in r else "n/a")
        out.append(f"| {r['name']} | {r['keys']} | {f(r['build_ms'])} | {r['build_peak_rss_mib']:.0f} MiB | "
                   f"{r['index_bytes'] / 1048576:.2f} / {r['dwarf_bytes'] / 1048576:.2f} MiB = "
                   f"{100 * r['index_to_dwarf']:.0f}% | {f(r['cache_hit_open_ms'])} | "
                   f"{lk['present']['p50_ns']:.0f} / {lk['present']['p99_ns']:.0f} | "
                   f"{lk['absent']['p50_ns']:.0f} / {lk['absent']['p99_ns']:.0f} | {d127} | {d120} |")
    m = machine()
    out.append(f"\nMachine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, {m['date']}. Lookup times have "
               f"the clock's own cost subtracted (each lookup timed alone). All figures from one run.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
