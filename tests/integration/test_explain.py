"""dlvidx explain and dlvidx doctor --workspace (issue #12, part 3) on a small Go module built in the
test: once as it is (the recorded paths are the workspace's) and once as a container build
(-gcflags=all=-trimpath=<ws>=>/app), plus its package's test binary (go test -c).

The module has a used and an unused function, package-level vars and imports, a line without code in
main, a `//go:build ignore` file, a second main.go left out by build constraints, a _test.go file, two
packages whose files share a path suffix (util/u.go), and directories the go command ignores
(testdata, _skip, .hidden). Each verdict explain gives is checked with its rule and message, the
addresses against `dlvidx lookup RECORDED:LINE --json`, the exit statuses, malformed input, and
doctor --workspace's counts."""
import json
import os
import shutil
import subprocess
import time
import types

import pytest

from dlvtest.adapters import adapter_env
from dlvtest.example import line_of
from dlvtest.run import Cache, run

GO = "/usr/lib/go-1.27/bin/go"
GCFLAGS = "-N -l"

MAIN_GO = """package main

import (
	"fmt"
	"os"

	"example.com/explain/a/util"
	bu "example.com/explain/b/util"
	"example.com/explain/lib"
)

var counter = 1

func unused() int {
	doubled := counter * 2
	return doubled
}

func main() {
	x := lib.Add(counter, 2)
	// a comment: no code here

	y := util.Name() + bu.Name()
	fmt.Println(x, y, len(os.Args))
}
"""

LIB_GO = """package lib

// Add adds.
func Add(a, b int) int {
	sum := a + b
	return sum
}
"""

LIB_TEST_GO = """package lib

import "testing"

func TestAdd(t *testing.T) {
	if got := Add(1, 2); got != 3 {
		t.Fatalf("Add(1, 2) = %d", got)
	}
}
"""

UTIL_GO = """package util

func Name() string {
	name := "{pkg}"
	return name
}
"""

GEN_GO = """//go:build ignore

package main

func main() {
	println("generator")
}
"""

OLD_MAIN_GO = """//go:build ignore

package main

func main() {
	println("old")
}
"""

SKIPPED = ("testdata/x.go", "_skip/y.go", ".hidden/z.go")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def go(ws, *argv):
    p = subprocess.run([GO, *argv], cwd=ws, env=adapter_env(GO), capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"go {' '.join(argv)} failed:\n{p.stderr}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The workspace, its three builds, and the lines the checks use."""
    top = tmp_path_factory.mktemp("explain")
    ws = str(top / "ws")
    write(f"{ws}/go.mod", "module example.com/explain\n\ngo 1.22\n")
    write(f"{ws}/main.go", MAIN_GO)
    write(f"{ws}/lib/lib.go", LIB_GO)
    write(f"{ws}/lib/lib_test.go", LIB_TEST_GO)
    write(f"{ws}/a/util/u.go", UTIL_GO.replace("{pkg}", "a"))
    write(f"{ws}/b/util/u.go", UTIL_GO.replace("{pkg}", "b"))
    write(f"{ws}/gen.go", GEN_GO)
    write(f"{ws}/old/main.go", OLD_MAIN_GO)
    write(f"{ws}/README.md", "# not Go\n")
    for rel in SKIPPED:
        write(f"{ws}/{rel}", "package skipped\n")
    plain, container, libtest = str(top / "plain"), str(top / "container"), str(top / "lib.test")
    go(ws, "build", f"-gcflags=all={GCFLAGS}", "-o", plain, ".")
    go(ws, "build", f"-gcflags=all={GCFLAGS} -trimpath={ws}=>/app", "-o", container, ".")
    go(ws, "test", "-c", f"-gcflags=all={GCFLAGS}", "-o", libtest, "./lib")
    m = f"{ws}/main.go"
    lines = dict(
        import_=line_of(m, '"fmt"'), var=line_of(m, "var counter = 1"),
        unused=line_of(m, "doubled := counter * 2"), add=line_of(m, "x := lib.Add(counter, 2)"),
        comment=line_of(m, "// a comment: no code here"), names=line_of(m, "y := util.Name() + bu.Name()"),
        sum=line_of(f"{ws}/lib/lib.go", "sum := a + b"),
        test=line_of(f"{ws}/lib/lib_test.go", "if got := Add(1, 2); got != 3 {"),
        name=line_of(f"{ws}/a/util/u.go", "return name"))
    with Cache() as cache:
        yield dict(ws=ws, top=str(top), plain=plain, container=container, libtest=libtest, lines=lines, cache=cache)


def dlvidx(opts, w, *argv, cwd=None):
    """Runs `dlvidx CMD --cache-dir C ARGS...` (in `cwd` if given; killed after 60 s) -> a
    dlvtest.run.Result, or (cwd) one with rc, out, err."""
    exe = os.path.abspath(opts.dlvidx)
    cmd = [exe, argv[0], *(["--cache-dir", w["cache"].dir] if argv[0] != "--help" else []), *argv[1:]]
    env = dict(os.environ, DLVIDX_DLV=shutil.which(opts.dlv) or opts.dlv)  # doctor's dlv check
    if cwd is None:
        r = run(cmd, timeout=60, env=env)
        assert not r.crashed and not r.timed_out, f"{cmd}: crashed or hung ({r.rc}):\n{r.err}"
        return r
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1, 2), f"{cmd}: exit {p.returncode}:\n{p.stderr}"
    return types.SimpleNamespace(rc=p.returncode, out=p.stdout, err=p.stderr)


def explain(opts, w, binary, *locs, extra=(), cwd=None):
    """explain --json -> (rc, [location objects], stderr)."""
    r = dlvidx(opts, w, "explain", binary, *locs, "--json", *extra, cwd=cwd)
    if r.rc == 1:
        return r.rc, None, r.err
    doc = json.loads(r.out)
    assert doc["binary"] == binary
    return r.rc, doc["locations"], r.err


def lookup_pcs(opts, w, binary, recorded, line):
    r = dlvidx(opts, w, "lookup", binary, f"{recorded}:{line}", "--json")
    return json.loads(r.out)[0]["pcs"]


SHAPE = {"query", "file", "line", "mapping", "verdict", "verified", "line_armed", "pcs", "function", "message",
         "warning", "closest"}


def test_explain_verdicts(opts, world, checks):
    w, L, ws = world, world["lines"], world["ws"]
    check = checks
    main_go = f"{ws}/main.go"
    # The source is newer than the binary but its lines are where they were (a fresh clone, a
    # touch): no warning. Lines that moved are checked at the end.
    later = time.time() + 3600
    os.utime(main_go, (later, later))

    for binary, rule, recorded_main in ((w["plain"], "exact", main_go), (w["container"], "module root", "/app/main.go")):
        tag = os.path.basename(binary)
        rc, locs, err = explain(opts, w, binary, f"{main_go}:{L['add']}")
        d = locs[0] if locs else {}
        check(rc == 0 and set(d) == SHAPE, f"{tag}: bound main.go: exit 0, the JSON shape ({rc}, {sorted(d)})")
        check(d.get("verdict") == "bound" and d["verified"] and d["line_armed"] == L["add"],
              f"{tag}: main.go:{L['add']} bound at its line: {d.get('verdict')}")
        check(d["mapping"]["rule"] == rule and d["mapping"]["file"] == recorded_main,
              f"{tag}: mapping {d['mapping']}")
        if rule == "module root":
            check("/app" in d["mapping"]["detail"], f"{tag}: the detail names the root: {d['mapping']['detail']}")
        want = lookup_pcs(opts, w, binary, recorded_main, L["add"])
        check(d["pcs"] == want and want and all(p.startswith("0x") for p in want),
              f"{tag}: pcs {d['pcs']} == lookup's {want}")
        check(d["function"] == "main.main", f"{tag}: function {d['function']!r}")
        check(d["warning"] == "", f"{tag}: newer but unchanged lines: no warning ({d['warning']!r})")

        rc, locs, _ = explain(opts, w, binary, f"{main_go}:{L['comment']}")
        d = locs[0]
        check(rc == 0 and d["verdict"] == "moved" and d["verified"] and d["line_armed"] == L["names"],
              f"{tag}: comment line moved to {L['names']}: {d['verdict']} {d['line_armed']} ({d['message']})")
        check(d["pcs"] == lookup_pcs(opts, w, binary, recorded_main, L["names"]), f"{tag}: moved pcs == lookup's")

        for what, line in (("import", L["import_"]), ("var", L["var"])):
            rc, locs, _ = explain(opts, w, binary, f"{main_go}:{line}")
            d = locs[0]
            check(rc == 2 and d["verdict"] == "outside_functions" and not d["verified"] and d["pcs"] == []
                  and "is outside every function" in d["message"],
                  f"{tag}: {what} line {line}: {d['verdict']}: {d['message']}")

        rc, locs, _ = explain(opts, w, binary, f"{main_go}:{L['unused']}")
        d = locs[0]
        check(rc == 2 and d["verdict"] == "not_compiled" and d["function"] == "unused"
              and "Function unused was not compiled into this binary" in d["message"]
              and "-gcflags=all=-N -l" in d["message"], f"{tag}: unused(): {d['verdict']}: {d['message']}")

        rc, locs, _ = explain(opts, w, binary, f"{ws}/gen.go:5")
        d = locs[0]
        check(rc == 2 and d["verdict"] == "not_in_binary" and d["mapping"]["file"] is None
              and d["mapping"]["rule"] is None and "gen.go is not in this binary" in d["message"]
              and "No file of the binary is named gen.go." in d["message"], f"{tag}: gen.go: {d['message']}")

        rc, locs, _ = explain(opts, w, binary, f"{ws}/old/main.go:5")
        d = locs[0]
        check(rc == 2 and d["verdict"] == "not_in_binary" and d["closest"][:1] == [recorded_main]
              and f"Closest files in the binary: {recorded_main}" in d["message"],
              f"{tag}: old/main.go: closest {d['closest']}: {d['message']}")

        rc, locs, _ = explain(opts, w, binary, f"{ws}/lib/lib_test.go:{L['test']}")
        d = locs[0]
        check(rc == 2 and d["verdict"] == "test_file" and "lib_test.go is a test file" in d["message"]
              and 'mode "test"' in d["message"], f"{tag}: lib_test.go in exec mode: {d['message']}")
        rc, locs, _ = explain(opts, w, binary, f"{ws}/lib/lib_test.go:{L['test']}", extra=("--mode", "test"))
        check(rc == 2 and locs[0]["verdict"] == "not_in_binary",
              f"{tag}: lib_test.go with --mode test: {locs[0]['verdict']}")

        # Not in the module: only a path suffix, and util/u.go is two files of the binary.
        rc, locs, _ = explain(opts, w, binary, f"{w['top']}/elsewhere/util/u.go:{L['name']}")
        d = locs[0]
        cands = sorted(d["mapping"]["candidates"])
        want = sorted(f"{recorded_main[:-len('main.go')]}{p}/util/u.go" for p in "ab")
        check(rc == 2 and d["verdict"] == "ambiguous" and cands == want and "matches several files" in d["message"],
              f"{tag}: elsewhere/util/u.go ambiguous: {cands}: {d['message']}")
        rc, locs, _ = explain(opts, w, binary, f"{w['top']}/elsewhere/lib/lib.go:{L['sum']}")
        d = locs[0]
        recorded_lib = recorded_main[:-len("main.go")] + "lib/lib.go"
        check(rc == 0 and d["mapping"]["rule"] == "suffix" and d["mapping"]["file"] == recorded_lib
              and d["pcs"] == lookup_pcs(opts, w, binary, recorded_lib, L["sum"]),
              f"{tag}: elsewhere/lib/lib.go by suffix: {d['mapping']}")

        rc, locs, _ = explain(opts, w, binary, f"{ws}/README.md:1")
        check(rc == 2 and locs[0]["verdict"] == "not_in_binary", f"{tag}: README.md:1: {locs[0]['message']}")

        # Relative to the current directory, several at once: exit 2 when one does not bind.
        rc, locs, _ = explain(opts, w, binary, f"main.go:{L['add']}", f"lib/lib.go:{L['sum']}", cwd=ws)
        check(rc == 0 and [d["file"] for d in locs] == [main_go, f"{ws}/lib/lib.go"]
              and all(d["verified"] for d in locs), f"{tag}: relative paths, both bound: {rc}")
        rc, locs, _ = explain(opts, w, binary, f"main.go:{L['add']}", f"main.go:{L['var']}", cwd=ws)
        check(rc == 2 and [d["verified"] for d in locs] == [True, False], f"{tag}: one of two unbound: exit {rc}")

    # substitutePath: the launch's rule wins.
    rc, locs, _ = explain(opts, w, w["container"], f"{main_go}:{L['add']}", extra=("--substitute-path", f"{ws}=/app"))
    d = locs[0]
    check(rc == 0 and d["mapping"]["rule"] == "substitutePath" and d["mapping"]["file"] == "/app/main.go",
          f"--substitute-path {ws}=/app: {d['mapping']}")

    # The test binary: its _test.go file binds.
    rc, locs, _ = explain(opts, w, w["libtest"], f"{ws}/lib/lib_test.go:{L['test']}")
    d = locs[0]
    check(rc == 0 and d["verdict"] == "bound" and d["mapping"]["rule"] == "exact"
          and d["pcs"] == lookup_pcs(opts, w, w["libtest"], f"{ws}/lib/lib_test.go", L["test"]),
          f"lib.test: lib_test.go bound: {d['verdict']} {d['mapping']}")
    # An edit that moves lines, newer than the binary: a warning where the path is the one built
    # from; a copy's time says nothing (module root).
    original = open(main_go).read()
    try:
        with open(main_go, "w") as f:
            f.write(original.replace("package main\n", "package main\n\n// edited after the build\n", 1))
        os.utime(main_go, (later, later))
        for binary, want in ((w["plain"], True), (w["container"], False)):
            rc, locs, _ = explain(opts, w, binary, f"{main_go}:{L['add']}")
            d = locs[0]
            check(d["verified"] and ("was modified after the binary was built" in d["warning"]) == want,
                  f"{os.path.basename(binary)}: lines moved: warning {d['warning']!r} (wanted: {want})")
    finally:
        with open(main_go, "w") as f:
            f.write(original)
        os.utime(main_go, (later, later))
    checks.done()


def test_explain_text(opts, world, checks):
    w, L, ws = world, world["lines"], world["ws"]
    check = checks
    r = dlvidx(opts, w, "explain", w["container"], f"{ws}/main.go:{L['comment']}", f"{ws}/gen.go:5",
               f"{w['top']}/elsewhere/util/u.go:{L['name']}", f"{ws}/main.go:{L['unused']}")
    print(r.out)
    out = r.out
    check(r.rc == 2, f"exit 2: {r.rc}")
    check(f"{ws}/main.go -> /app/main.go by module root: " in out, "the mapping line, rule and detail")
    check("verdict:  moved (verified)" in out and f"armed:    line {L['names']} at 0x" in out, "moved, armed, 0x…")
    check("function: main.main" in out, "the function")
    check("moved from line" in out, "the move's message")
    check(f"{ws}/gen.go -> none: no file of the binary matches" in out and "gen.go is not in this binary" in out,
          "no mapping: why")
    check("candidates: /app/a/util/u.go, /app/b/util/u.go" in out and "matches several files" in out,
          "ambiguous: the candidates")
    check("Function unused was not compiled" in out and "function: unused" in out, "not compiled: the function")
    r = dlvidx(opts, w, "explain", w["container"], f"{ws}/old/main.go:5")
    check(r.rc == 2 and "closest:  /app/main.go" in r.out, f"closest files: {r.out!r}")
    r = dlvidx(opts, w, "explain", "--help")
    check(r.rc == 0 and "Example:" in r.out and "dlvidx explain" in r.out and "--substitute-path" in r.out,
          "--help has an example")
    r = dlvidx(opts, w, "--help")
    check("dlvidx explain" in r.out, "dlvidx --help lists explain")
    checks.done()


def test_explain_errors(opts, world, checks):
    w, L, ws = world, world["lines"], world["ws"]
    check = checks
    m = f"{ws}/main.go"
    for loc, phrase in ((m, "expected FILE:LINE"), (f"{m}:", "expected FILE:LINE"), (f"{m}:abc", "expected FILE:LINE"),
                        (f"{m}:-3", "expected FILE:LINE"), (f"{m}:0", "lines start at 1"),
                        (f"{m}:99999999999999999999999", "out of range"), (":12", "expected FILE:LINE"),
                        (f"{ws}:3", "is a directory"), ("/:1", "is a directory"), ("", "expected FILE:LINE")):
        r = dlvidx(opts, w, "explain", w["plain"], loc)
        check(r.rc == 1 and phrase in r.err and f'"{loc}"' in r.err and r.out == "" and r.err.count("\n") == 1,
              f"{loc!r}: exit 1, {phrase!r}: {r.err.strip()}")
    # A line past the end of the file is well-formed: outside every function.
    rc, locs, _ = explain(opts, w, w["plain"], f"{m}:4000000000")
    check(rc == 2 and locs[0]["verdict"] == "outside_functions", f"line 4000000000: {locs[0]['verdict']}")
    missing = f"{w['top']}/no-such-binary"
    r = dlvidx(opts, w, "explain", missing, f"{m}:{L['add']}")
    check(r.rc == 1 and missing in r.err and r.err.count("\n") == 1, f"nonexistent binary: {r.err.strip()}")
    r = dlvidx(opts, w, "explain", f"{ws}/go.mod", f"{m}:{L['add']}")
    check(r.rc == 1 and "go.mod" in r.err and r.err.count("\n") == 1, f"a text file as BINARY: {r.err.strip()}")
    r = dlvidx(opts, w, "explain", "/bin/true", f"{m}:{L['add']}")
    check(r.rc == 1 and "/bin/true" in r.err, f"a non-Go executable: {r.err.strip()}")
    r = dlvidx(opts, w, "explain", w["plain"], f"{m}:{L['add']}", "--substitute-path", "noequals")
    check(r.rc == 1 and "noequals" in r.err and "FROM=TO" in r.err, f"--substitute-path without '=': {r.err.strip()}")
    r = dlvidx(opts, w, "explain", w["plain"], f"{m}:{L['add']}", "--mode", "bogus")
    check(r.rc != 0 and "bogus" in r.err, f"--mode bogus: {r.rc} {r.err.strip()}")
    checks.done()


def test_doctor_workspace(opts, world, checks):
    w, ws = world, world["ws"]
    check = checks
    n_go = 7  # main.go, lib/lib.go, lib/lib_test.go, a/util/u.go, b/util/u.go, gen.go, old/main.go
    for binary, rule in ((w["plain"], "exact"), (w["container"], "module root")):
        tag = os.path.basename(binary)
        r = dlvidx(opts, w, "doctor", binary, "--workspace", ws, "--json")
        doc = json.loads(r.out)
        s = doc["workspace"]
        pm = {c["check"]: c for c in doc["checks"]}["path mapping"]
        check(r.rc == 0 and doc["ok"], f"{tag}: doctor exit 0: {r.rc} {r.err}")
        check(s["files"] == n_go and s["mapped"] == 4 and s["by_rule"] == {rule: 4} and not s["truncated"],
              f"{tag}: 4 of {n_go} map, all by {rule}: {s['mapped']}/{s['files']} {s['by_rule']}")
        check(pm["status"] == "ok" and f"4 of {n_go} .go files" in pm["detail"], f"{tag}: the check: {pm}")
        un = {os.path.relpath(u["file"], ws): u for u in s["unmapped"]}
        check(s["not_mapped"] == 3 and set(un) == {"gen.go", "old/main.go", "lib/lib_test.go"},
              f"{tag}: not mapping: {sorted(un)}")
        check(un.get("gen.go", {}).get("verdict") == "not_in_binary"
              and "is not in this binary" in un.get("gen.go", {}).get("reason", ""), f"{tag}: gen.go's reason")
        check(un.get("lib/lib_test.go", {}).get("verdict") == "test_file"
              and "is a test file" in un.get("lib/lib_test.go", {}).get("reason", ""), f"{tag}: lib_test.go's reason")
        check(not any(skip in u["file"] for u in s["unmapped"] for skip in SKIPPED), f"{tag}: ignored dirs skipped")

        r = dlvidx(opts, w, "doctor", binary, "--workspace", ws)
        print(r.out)
        check(r.rc == 0 and f"path mapping: 4 of {n_go} .go files in {ws} map to {binary}" in r.out
              and f"by rule: {rule} 4" in r.out and "not mapping: 3" in r.out
              and f"{ws}/gen.go: gen.go is not in this binary" in r.out
              and f"{ws}/lib/lib_test.go: lib_test.go is a test file" in r.out, f"{tag}: doctor's text")

    # A directory of another program: nothing maps, a warning, not a failure.
    other = f"{w['top']}/other"
    write(f"{other}/go.mod", "module example.com/other\n\ngo 1.22\n")
    write(f"{other}/x/thing.go", "package x\n\nfunc F() {}\n")
    r = dlvidx(opts, w, "doctor", w["plain"], "--workspace", other, "--json")
    doc = json.loads(r.out)
    pm = {c["check"]: c for c in doc["checks"]}["path mapping"]
    check(r.rc == 0 and doc["workspace"]["mapped"] == 0 and pm["status"] == "warn" and pm["fix"],
          f"another program's directory: {pm}")
    r = dlvidx(opts, w, "doctor", w["plain"], "--workspace", f"{w['top']}/no-such-dir")
    check(r.rc == 1 and "no-such-dir" in r.err and "not a directory" in r.err, f"no such dir: {r.err.strip()}")
    r = dlvidx(opts, w, "doctor", "--workspace", ws)
    check(r.rc == 1 and "needs BINARY" in r.err, f"--workspace without BINARY: {r.err.strip()}")
    checks.done()
