#!/usr/bin/env python3
"""The breakpoint-latency benchmark (issue #4): one entry point, everything
side by side in one run, direct dlv vs dlvidx. Called by bench/run.

Writes OUT/bench.json (every metric: n, min, median, p99, max, and the ratio
to its baseline), OUT/bench.md (tables) and OUT/bench.png (direct dlv vs dlvidx
per binary for the breakpoint metrics, log scale; and the scaling plot).
Absolute times are reported, never compared across runs; every ratio is
between two figures of this run.
"""
import argparse, functools, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "corpus"))
import index_bench  # noqa: E402
import shim_bench  # noqa: E402
from dap_launch import launch_to_initialized  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from dlvtest.run import drop_shm  # noqa: E402

# name, file whose lines are set, main.go to stop in first (None: index only)
FULL = [
    ("gen-go127-linux-amd64", "gen/p0/p0.go", "gen/main.go"),
    ("cmdgo-go127-linux-amd64", "cmd/go/internal/load/pkg.go", "cmd/go/main.go"),
    ("cmdcompile-go127-linux-amd64", "cmd/compile/internal/ssa/regalloc.go", "cmd/compile/main.go"),
    # A service-sized program: ~2.9 M lines in 500 packages, about 5x cmd/compile's DWARF.
    ("genbig-go127-linux-amd64", "gen/p0/p0.go", "gen/main.go"),
    ("cmdcompile-go122-linux-amd64", "cmd/compile/internal/ssa/regalloc.go", "cmd/compile/main.go"),
    ("etcd-go127-linux-amd64", "go.etcd.io/etcd/etcdserver/server.go", "go.etcd.io/etcd/main.go"),
    ("gen-go127-linux-arm64", None, None),
    ("gen-go127-darwin-arm64", None, None),
    ("cmdcompile-go127-linux-arm64", None, None),
    ("cmdcompile-go127-darwin-arm64", None, None),
]
# The ARM64 section (Bench.arm64): linux/arm64 builds.
ARM64_FULL = [
    ("cmdgo-go127-linux-arm64", "cmd/go/internal/load/pkg.go", "cmd/go/main.go"),
    ("cmdcompile-go127-linux-arm64", "cmd/compile/internal/ssa/regalloc.go", "cmd/compile/main.go"),
]
ARM64_QUICK = ARM64_FULL[:1]
QUICK = [
    ("gen-go127-linux-amd64", "gen/p0/p0.go", "gen/main.go"),
    ("cmdgo-go127-linux-amd64", "cmd/go/internal/load/pkg.go", "cmd/go/main.go"),
    ("gen-go127-linux-arm64", None, None),
    ("gen-go127-darwin-arm64", None, None),
]


def stats(xs):
    xs = sorted(xs)
    return {"n": len(xs), "min": xs[0], "median": statistics.median(xs), "p99": xs[min(len(xs) - 1, int(0.99 * len(xs)))],
            "max": xs[-1]}


@functools.lru_cache(maxsize=1)
def corpus_names():
    return frozenset(subprocess.run([sys.executable, os.path.join(ROOT, "tests", "corpus", "corpus.py"), "list"],
                                    capture_output=True, text=True).stdout.split())


def known(name):
    return name in corpus_names()


class Bench:
    def __init__(self, a):
        self.a = a
        self.rows = []
        self.cache = tempfile.mkdtemp(prefix="dlvidx-bench-")

    def add(self, binary, metric, adapter, samples=None, value=None, unit="ms", baseline=None):
        r = {"binary": binary, "metric": metric, "adapter": adapter, "unit": unit}
        if samples is not None:
            r.update(stats(samples))
        if value is not None:
            r["value"] = value
        if baseline is not None:
            r["baseline"] = baseline
        self.rows.append(r)
        return r

    def find(self, binary, metric, adapter):
        return next((r for r in self.rows if r["binary"] == binary and r["metric"] == metric and r["adapter"] == adapter), None)

    # 1. the index itself, on every binary
    def index(self, name, binary):
        a = self.a
        builds = []
        for _ in range(a.build_reps):
            wall, _, out = index_bench.run_measured([a.dlvidx, "build", "--json", "--cache-dir", self.cache, binary])
            builds.append(wall * 1000)
            info = json.loads(out)
        self.add(name, "dlvidx build", "dlvidx", builds)
        self.add(name, "build peak RSS", "dlvidx", value=index_bench.peak_rss_kib(
            [a.dlvidx, "build", "--cache-dir", self.cache, binary]) / 1024, unit="MiB")
        self.add(name, "index / DWARF", "dlvidx", value=info["index_bytes"] / info["dwarf_bytes"], unit="ratio")
        self.add(name, "keys", "dlvidx", value=info["keys"], unit="count")
        opens = [json.loads(subprocess.run([a.dlvidx, "build", "--reuse", "--json", "--cache-dir", self.cache, binary],
                                           check=True, capture_output=True, text=True).stdout)["total_ms"]
                 for _ in range(a.open_reps)]
        self.add(name, "cache-hit open", "dlvidx", opens)
        lk = json.loads(subprocess.run([a.lookup_bench, binary, self.cache, str(a.lookups)], check=True,
                                       capture_output=True, text=True).stdout)
        for kind in ("present", "absent"):
            self.add(name, f"lookup {kind} p50", "dlvidx", value=lk[kind]["p50_ns"], unit="ns")
            self.add(name, f"lookup {kind} p99", "dlvidx", value=lk[kind]["p99_ns"], unit="ns")

    # 2 + 3. breakpoints end to end, and the rest of a session
    def sessions(self, name, binary, file_suffix, main_suffix):
        a = self.a
        path, code, nocode = shim_bench.lines_of(a.dlvidx, binary, file_suffix, self.cache)
        gomain, mcode, _ = shim_bench.lines_of(a.dlvidx, binary, main_suffix, self.cache)
        flags = ["--check-go-version=false"] if "go122" in name else []
        scaling = self.scaling_files(name, binary) if a.scaling and "cmdcompile-go127" in name else []
        adapters = [("dlv 1.27.1", [a.dlv, "dap"] + flags),
                    ("dlvidx dap", [a.dlvidx, "dap", "--dlv", a.dlv, "--cache-dir", self.cache] + flags)]
        if a.dlv120:
            adapters.append(("dlv 1.20.2", [a.dlv120, "dap", "--check-go-version=false"]))
            adapters.append(("dlvidx dap + dlv 1.20.2", [a.dlvidx, "dap", "--dlv", a.dlv120, "--cache-dir", self.cache,
                                                         "--check-go-version=false"]))
        # launch -> initialized is bimodal with dlv (about 50 or 250 ms on
        # the same binary): one sample per session is not enough.
        launch = lambda argv: launch_to_initialized(argv[0], binary, argv[2:])  # noqa: E731
        self.measure(name, binary, adapters, (path, code, nocode), (gomain, mcode[0]), launch, a.launch_reps, scaling)
        self.session_start(name, binary, adapters[:2], main_suffix, mcode)

    # 2b. session start: F5 to the first stop with breakpoints in 10 files (shim_bench.session_start),
    # direct, through the shim, and through the shim on a binary it has never indexed (no cache file,
    # no shared memory object: it builds the index while dlv launches).
    def session_start(self, name, binary, adapters, main_suffix, mcode):
        a = self.a
        bps = shim_bench.start_breakpoints(a.dlvidx, binary, self.cache, main_suffix, mcode)
        key = json.loads(subprocess.run([a.dlvidx, "build", "--reuse", "--json", "--cache-dir", self.cache, binary],
                                        check=True, capture_output=True, text=True).stdout)["key"]
        (_, direct), (_, shim) = adapters
        cold = shim[:shim.index("--cache-dir")] + shim[shim.index("--cache-dir") + 2:]
        runs = [("dlv 1.27.1", lambda: direct), ("dlvidx dap", lambda: shim),
                ("dlvidx dap, index not built", lambda: cold + ["--cache-dir", tempfile.mkdtemp(dir=self.cache)])]
        samples = {}
        for _ in range(a.start_reps):  # interleaved: drift hits every adapter alike
            for label, argv in runs:
                if label.endswith("not built"):
                    drop_shm([key])
                try:
                    for m, ms in shim_bench.session_start(argv(), binary, bps).items():
                        samples.setdefault((label, m), []).append(ms)
                except Exception as e:
                    print(f"note: session start, {label} on {name}: {e}", file=sys.stderr)
        for (label, m), xs in samples.items():
            r = self.add(name, m, label, xs)
            r["breakpoints"] = f"{sum(len(ls) for _, ls in bps)} lines in {len(bps)} files"
            base = samples.get(("dlv 1.27.1", m))
            if label != "dlv 1.27.1" and base:
                r["ratio_to_dlv"] = statistics.median(base) / statistics.median(xs)

    def measure(self, name, binary, adapters, lines, main_line, launch, launch_reps, scaling=()):
        """One session per adapter (shim_bench.session), launch_reps launches, rows and ratios to dlv 1.27.1."""
        a = self.a
        path, code, nocode = lines
        for label, argv in adapters:
            try:
                s = shim_bench.session(argv, binary, path, code, nocode, a.reps, main_line,
                                       locations=label == "dlvidx dap", scaling=scaling if label != "dlvidx dap + dlv 1.20.2" else ())
            except Exception as e:
                print(f"note: {label} on {name}: {e}", file=sys.stderr)
                continue
            try:
                s["launch_to_initialized"] = [launch(argv) * 1000 for _ in range(launch_reps)]
            except Exception as e:
                print(f"note: {label} launch on {name}: {e}", file=sys.stderr)
            for metric, xs in s.items():
                if metric.startswith("scale:"):
                    f = metric[6:]
                    self.add(name, "scaling", label, xs).update({"file": f, "line_program_mb": scaling_mb[f]})
                else:
                    self.add(name, metric, label, xs)
        for r in self.rows:
            if r["binary"] == name and r["adapter"] != "dlv 1.27.1" and r["metric"] != "scaling":
                base = self.find(name, r["metric"], "dlv 1.27.1")
                if base and "median" in base and r.get("median"):
                    r["ratio_to_dlv"] = base["median"] / r["median"]

    # 5. ARM64: linux/arm64 builds, direct arm64 dlv vs the arm64 shim. On an x86-64 host in the
    # emulated arm64 machine (tests/arm64; rows named "... (emulated, TCG)": read the ratios, not
    # the absolute times); on an arm64 host natively, as the other sessions.
    def arm64(self, targets):
        a = self.a
        if platform.machine() in ("aarch64", "arm64"):
            for name, file_suffix, main_suffix in targets:
                if not self.find(name, "keys", "dlvidx"):  # the index section may have had it
                    self.index(name, index_bench.corpus(name))
                self.sessions(name, index_bench.corpus(name), file_suffix, main_suffix)
            return
        if not os.path.exists(os.path.join(a.arm64_build, "tools", "dlvidx")):
            print(f"note: no arm64 build in {a.arm64_build} (cmake --preset arm64): ARM64 section skipped",
                  file=sys.stderr)
            return
        sys.path.insert(0, os.path.join(ROOT, "tests", "arm64"))
        from target import Arm64
        # Two guest CPUs, as an ARM machine has more than one: the shim's index build runs beside
        # dlv's launch there (the benchmark has the host's two cores to itself).
        with Arm64(build_dir=a.arm64_build, smp=2) as m:
            for name, file_suffix, main_suffix in targets:
                host_binary, binary = index_bench.corpus(name), m.binary(name)
                label = f"{name} (emulated, TCG)"
                builds = []
                for i in range(a.build_reps):
                    r = m.run([m.dlvidx, "build", "--json", "--cache-dir", f"/tmp/bench-build-{i}", binary], check=True)
                    builds.append(json.loads(r.stdout)["total_ms"])
                self.add(label, "dlvidx build", "dlvidx", builds)
                # The lines come from this machine's index of the same binary (it is the same index).
                path, code, nocode = shim_bench.lines_of(a.dlvidx, host_binary, file_suffix, self.cache)
                gomain, mcode, _ = shim_bench.lines_of(a.dlvidx, host_binary, main_suffix, self.cache)
                adapters = [("dlv 1.27.1", [m.dlv, "dap"]),
                            ("dlvidx dap", [m.dlvidx, "dap", "--dlv", m.dlv, "--cache-dir", "/tmp/bench-cache"])]
                launch = lambda argv: shim_bench.launch_only(argv, binary)  # noqa: E731
                self.measure(label, binary, adapters, (path, code, nocode), (gomain, mcode[0]), launch,
                             a.arm64_launch_reps)

    def scaling_files(self, name, binary):
        """Files whose lookups make dlv scan from little to a lot of line program."""
        units = subprocess.run([self.a.dlvidx, "rows", "--units", binary], check=True, capture_output=True,
                               text=True).stdout.splitlines()
        mb = {}
        for u in units:
            parts = u.split("\t")
            for f in parts[3:]:
                if f.endswith(".go") and f.startswith("/"):
                    mb[f] = mb.get(f, 0) + int(parts[2]) / 1e6
        chosen, want = [], [0.05, 0.2, 0.5, 1, 2, 3]
        for w in want:
            # The nearest file to w MB that has at least 3 lines with code.
            for f in sorted((k for k in mb if os.path.exists(k)), key=lambda k: abs(mb[k] - w))[:15]:
                if f in [c for c, _ in chosen]:
                    break
                lines = [a["line"] for a in json.loads(subprocess.run(
                    [self.a.dlvidx, "lookup", "--json", "--cache-dir", self.cache, binary, "-"],
                    input="\n".join(f"{f}:{i}" for i in range(1, 3000)), capture_output=True, text=True).stdout) if a["pcs"]]
                if len(lines) >= 3:
                    chosen.append((f, lines))
                    break
        global scaling_mb
        scaling_mb = {f: mb[f] for f, _ in chosen}
        return chosen

    # 4. prefaulting: cold page cache vs warm
    def preload(self, name, binary):
        a = self.a
        if os.geteuid() != 0:
            print("note: not root: the page cache cannot be dropped; preload metrics skipped", file=sys.stderr)
            return

        def drop():
            subprocess.run(["sync"])
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")

        cold_build, warm_build, cold_launch, pre_launch, pre_cost = [], [], [], [], []
        for _ in range(a.preload_reps):
            drop()
            wall, _, _ = index_bench.run_measured([a.dlvidx, "build", "--no-prefault", "--cache-dir", self.cache, binary])
            cold_build.append(wall * 1000)
            wall, _, _ = index_bench.run_measured([a.dlvidx, "build", "--no-prefault", "--cache-dir", self.cache, binary])
            warm_build.append(wall * 1000)
            drop()
            cold_launch.append(launch_to_initialized(a.dlv, binary) * 1000)
            drop()
            t0 = time.perf_counter()
            subprocess.run([a.dlvidx, "preload", binary], check=True, capture_output=True)
            pre_cost.append((time.perf_counter() - t0) * 1000)
            pre_launch.append(launch_to_initialized(a.dlv, binary) * 1000)
        self.add(name, "dlvidx build, page cache dropped", "dlvidx", cold_build)
        self.add(name, "dlvidx build, warm", "dlvidx", warm_build)
        self.add(name, "dlv launch->initialized, page cache dropped", "dlv 1.27.1", cold_launch)
        self.add(name, "dlvidx preload, page cache dropped", "dlvidx", pre_cost)
        self.add(name, "dlv launch->initialized after dlvidx preload", "dlv 1.27.1", pre_launch)


scaling_mb = {}


def markdown(b, machine):
    def fmt(r):
        if "median" in r:
            return f"{r['min']:.2f} / {r['median']:.2f} / {r['p99']:.2f} / {r['max']:.2f}"
        v = r["value"]
        return f"{100 * v:.0f}%" if r["unit"] == "ratio" else (f"{v:.0f}" if isinstance(v, (int, float)) else str(v))

    out = [f"Machine: {machine['cpu']}, {machine['cores']} cores, Linux {machine['kernel']}; {machine['date']}.",
           "Times in ms (min / median / p99 / max) unless marked; ratios are dlv 1.27.1's median over this column's, "
           "measured in the same run.", ""]
    binaries = list(dict.fromkeys(r["binary"] for r in b.rows))
    out += ["### Index", "", "| binary | keys | build ms | peak RSS MiB | index / DWARF | cache-hit open ms | "
            "lookup present p50 / p99 ns | absent p50 / p99 ns |", "|---|---|---|---|---|---|---|---|"]
    for n in binaries:
        g = lambda m: b.find(n, m, "dlvidx")
        if not g("keys"):
            continue
        out.append(f"| {n} | {g('keys')['value']} | {fmt(g('dlvidx build'))} | {g('build peak RSS')['value']:.0f} | "
                   f"{fmt(g('index / DWARF'))} | {fmt(g('cache-hit open'))} | "
                   f"{g('lookup present p50')['value']:.0f} / {g('lookup present p99')['value']:.0f} | "
                   f"{g('lookup absent p50')['value']:.0f} / {g('lookup absent p99')['value']:.0f} |")
    metrics = ["set_1_first", "set_1", "set_20", "no_code_line", "breakpointLocations", "launch_to_initialized",
               "configurationDone_to_stopped", "stackTrace", "scopes", "variables"]
    out += ["", "### Sessions: direct dlv vs dlvidx dap", "",
            "| binary | metric | dlv 1.27.1 | dlvidx dap | dlv / dlvidx | dlv 1.20.2 | dlvidx dap + dlv 1.20.2 | "
            "dlv 1.20.2 / dlvidx |", "|---|---|---|---|---|---|---|---|"]
    for n in binaries:
        for m in metrics:
            d, s, o = b.find(n, m, "dlv 1.27.1"), b.find(n, m, "dlvidx dap"), b.find(n, m, "dlv 1.20.2")
            s2 = b.find(n, m, "dlvidx dap + dlv 1.20.2")
            if not d and not s:
                continue
            ratio = f"{s['ratio_to_dlv']:.1f}x" if s and "ratio_to_dlv" in s else ""
            r2 = f"{o['median'] / s2['median']:.1f}x" if o and s2 and s2.get("median") else ""
            out.append(f"| {n} | {m} | {fmt(d) if d else 'unsupported'} | {fmt(s) if s else ''} | {ratio} | "
                       f"{fmt(o) if o else 'n/a'} | {fmt(s2) if s2 else 'n/a'} | {r2} |")
    starts = [n for n in binaries if b.find(n, "session_start", "dlv 1.27.1")]
    if starts:
        out += ["", "### Session start: F5 to the first stop, breakpoints set in many files", "",
                "launch (exec) -> initialized -> setBreakpoints for every file at once, with the empty "
                "setFunctionBreakpoints / setInstructionBreakpoints / setExceptionBreakpoints VS Code sends, "
                "all answered -> configurationDone -> first stopped.", "",
                "| binary | breakpoints | metric | dlv 1.27.1 | dlvidx dap | dlv / dlvidx | "
                "dlvidx dap, index not built | dlv / dlvidx |", "|---|---|---|---|---|---|---|---|"]
        for n in starts:
            for m in ("session_start", "session_start: breakpoints", "session_start: configurationDone_to_stopped"):
                d, s, c = (b.find(n, m, x) for x in ("dlv 1.27.1", "dlvidx dap", "dlvidx dap, index not built"))
                if not d:
                    continue
                rt = lambda r: f"{r['ratio_to_dlv']:.1f}x" if r and "ratio_to_dlv" in r else ""  # noqa: E731
                out.append(f"| {n} | {d.get('breakpoints', '')} | {m} | {fmt(d)} | {fmt(s) if s else ''} | {rt(s)} | "
                           f"{fmt(c) if c else ''} | {rt(c)} |")
    emulated = [n for n in binaries if n.endswith("(emulated, TCG)")]
    if emulated:
        out += ["", "Rows marked *(emulated, TCG)* ran in an emulated arm64 machine (qemu-system-aarch64, TCG, "
                "cortex-a72) on this host: every instruction is translated, so their absolute times are several "
                "times an ARM CPU's; the ratios, measured in the same run, are what carries over. "
                "`dlvidx build` there: " + "; ".join(f"{n}: {fmt(b.find(n, 'dlvidx build', 'dlvidx'))} ms"
                                                   for n in emulated if b.find(n, "dlvidx build", "dlvidx")) + "."]
    pre = [r for r in b.rows if "page cache" in r["metric"] or "preload" in r["metric"] or r["metric"] == "dlvidx build, warm"]
    if pre:
        out += ["", "### Prefaulting", "", "| binary | metric | ms |", "|---|---|---|"]
        out += [f"| {r['binary']} | {r['metric']} | {fmt(r)} |" for r in pre]
    sc = [r for r in b.rows if r["metric"] == "scaling"]
    if sc:
        out += ["", "### Scaling: one new breakpoint against the line program dlv scans for that file", "",
                "| file | line program MB | adapter | ms |", "|---|---|---|---|"]
        out += [f"| {os.path.basename(r['file'])} | {r['line_program_mb']:.2f} | {r['adapter']} | {fmt(r)} |"
                for r in sorted(sc, key=lambda r: (r["line_program_mb"], r["adapter"]))]
    return "\n".join(out) + "\n"


def chart(b, out_dir):
    """bench.png with gnuplot: per binary, dlv vs dlvidx medians (log scale); scaling."""
    gp = shutil.which("gnuplot")
    if not gp:
        print("note: gnuplot missing: no bench.png", file=sys.stderr)
        return
    metrics = ["set_1", "set_20", "no_code_line"]
    binaries = [n for n in dict.fromkeys(r["binary"] for r in b.rows) if b.find(n, "set_1", "dlv 1.27.1")]
    dat = os.path.join(out_dir, "bench-bars.dat")
    with open(dat, "w") as f:
        for n in binaries:
            for m in metrics:
                d, s = b.find(n, m, "dlv 1.27.1"), b.find(n, m, "dlvidx dap")
                if d and s:
                    f.write(f"\"{n.split('-linux')[0]}\\n{m}\" {d['median']:.4f} {s['median']:.4f}\n")
    sc = sorted([r for r in b.rows if r["metric"] == "scaling"], key=lambda r: r["line_program_mb"])
    sdat = os.path.join(out_dir, "bench-scaling.dat")
    with open(sdat, "w") as f:
        for label in ("dlv 1.27.1", "dlvidx dap"):
            for r in sc:
                if r["adapter"] == label:
                    f.write(f"{r['line_program_mb']:.4f} {r['median']:.4f}\n")
            f.write("\n\n")
    script = f"""
set terminal pngcairo noenhanced size 1400,{900 if sc else 600} font 'sans,10'
set output '{os.path.join(out_dir, "bench.png")}'
set multiplot layout {2 if sc else 1},1
set title 'setBreakpoints latency, median ms (log scale): direct dlv vs dlvidx dap'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'ms'
set xtics rotate by -30 font ',8'
set key top left
plot '{dat}' using 2:xtic(1) title 'dlv 1.27.1', '' using 3 title 'dlvidx dap'
"""
    if sc:
        script += f"""
unset style
set title 'one new breakpoint vs MB of line program dlv scans for the file (cmd/compile)'
set xlabel 'line program MB'
set ylabel 'ms'
unset logscale
set logscale y
set xtics norotate font ',9'
plot '{sdat}' index 0 with linespoints title 'dlv 1.27.1', '' index 1 with linespoints title 'dlvidx dap'
"""
    script += "unset multiplot\n"
    subprocess.run([gp], input=script, text=True, check=False, capture_output=True)


def regressions(b):
    """--quick fails only on a clear regression (wide margins: a noisy shared machine)."""
    bad = []
    for r in b.rows:
        if r["metric"].startswith("lookup present p50") and r["value"] > 1000:
            bad.append(f"{r['binary']}: lookup p50 {r['value']:.0f} ns > 1 us")
    for n in dict.fromkeys(r["binary"] for r in b.rows):
        d, s = b.find(n, "set_20", "dlv 1.27.1"), b.find(n, "set_20", "dlvidx dap")
        if "cmdgo" in n and d and s and s["median"] > d["median"]:
            bad.append(f"{n}: 20 new lines through the shim ({s['median']:.1f} ms) slower than direct ({d['median']:.1f} ms)")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlvidx", required=True)
    ap.add_argument("--lookup-bench", required=True)
    ap.add_argument("--dlv", default=shutil.which("dlv") or "/usr/bin/dlv")
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--arm64-build", default=os.path.join(ROOT, "build", "arm64"),
                    help="the arm64 build for the ARM64 section (cmake --preset arm64)")
    ap.add_argument("--no-arm64", action="store_true", help="leave out the ARM64 section")
    ap.add_argument("--arm64-only", action="store_true", help="only the ARM64 section")
    a = ap.parse_args()
    a.arm64_launch_reps = 2 if a.quick else 5
    a.reps = 8 if a.quick else 12
    a.build_reps = 3 if a.quick else 5
    a.open_reps = 10 if a.quick else 20
    a.lookups = 100000 if a.quick else 200000
    a.preload_reps = 0 if a.quick else 3
    a.launch_reps = 5 if a.quick else 9
    a.scaling = not a.quick
    a.start_reps = 3 if a.quick else 7
    import delve120
    try:
        a.dlv120 = None if a.quick else delve120.path()
    except Exception as e:
        print(f"note: Delve 1.20.2 not available: {e}", file=sys.stderr)
        a.dlv120 = None
    os.makedirs(a.out, exist_ok=True)
    b = Bench(a)
    t0 = time.time()
    targets = [] if a.arm64_only else QUICK if a.quick else FULL
    for name, file_suffix, main_suffix in targets:
        if not known(name):
            print(f"note: {name} is not in the corpus; skipped", file=sys.stderr)
            continue
        binary = index_bench.corpus(name)
        print(f"[{time.time() - t0:5.0f}s] {name}: index", file=sys.stderr)
        b.index(name, binary)
        runnable = (platform.machine() == "x86_64") == ("-amd64" in name)  # dlv debugs the host's architecture
        if file_suffix and main_suffix and runnable:
            print(f"[{time.time() - t0:5.0f}s] {name}: sessions", file=sys.stderr)
            b.sessions(name, binary, file_suffix, main_suffix)
        if a.preload_reps and name == "cmdcompile-go127-linux-amd64" and runnable:
            print(f"[{time.time() - t0:5.0f}s] {name}: preload", file=sys.stderr)
            b.preload(name, binary)
    if not a.no_arm64:
        print(f"[{time.time() - t0:5.0f}s] ARM64 section", file=sys.stderr)
        b.arm64(ARM64_QUICK if a.quick else ARM64_FULL)
    machine = index_bench.machine()
    machine["seconds"] = time.time() - t0
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump({"machine": machine, "quick": a.quick, "metrics": b.rows}, f, indent=1)
    md = markdown(b, machine)
    with open(os.path.join(a.out, "bench.md"), "w") as f:
        f.write(md)
    chart(b, a.out)
    print(md)
    bad = regressions(b)
    for x in bad:
        print(f"REGRESSION: {x}")
    print(f"bench: {len(b.rows)} metrics in {machine['seconds']:.0f} s; {a.out}/bench.json, bench.md, bench.png")
    shutil.rmtree(b.cache, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
