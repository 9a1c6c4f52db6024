#!/usr/bin/env python3
"""Generate a deterministic, multi-package Go program for dlvidx's corpus.

Usage:
    gen_program.py OUTDIR [--lines N] [--seed S] [--packages P]

Writes a Go module (dlvidx.test/gen, `go 1.22`, no dependencies) of about N
lines (default 10000) into OUTDIR, which must be empty or absent: main.go
(package main) plus P library packages p0 .. p<P-1> (default 8), each in its
directory pI/ with pI.go (entry point Run, helpers, the Scorer interface)
and several more files; package pI imports one to three of p0 .. p<I-1>.  The code
is ordinary Go of the kinds a debugger meets: structs with value and pointer
methods, an interface and a type switch, generic types and functions,
closures, every loop form, switch/fallthrough, maps (iterated in sorted
order), goroutines with sync.WaitGroup/Mutex and channels, defer/recover,
errors.Is/As, package-level vars and iota consts, cross-package calls, and
small helpers that an optimized build inlines.  Doc and line comments and
blank lines are interleaved at random.

The Go code comes from the templates in templates/*.go.tmpl, beside this
script (see render() for their syntax); this script chooses which units each
package gets, and the names and numbers that fill them in.

Every generated function is reached when the program runs: main calls each
package's Run, which calls each part's exercise function.  The program runs
in milliseconds, prints one checksum line (`-v` also prints one line per
package) and exits 0.  It builds with Go 1.22 and later for any GOOS/GOARCH,
CGO_ENABLED=0.

Deterministic: the same arguments give byte-identical output (its own
splitmix64 generator; nothing depends on Python's `random`, hash seeds, the
clock or the environment).
"""

import argparse
import re
import sys
from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
MODULE = "dlvidx.test/gen"
STD_IMPORTS = ["errors", "fmt", "sort", "strconv", "strings", "sync"]

ADJECTIVES = ["Active", "Binary", "Cached", "Dense", "Eager", "Fixed", "Global", "Hidden",
              "Indexed", "Joined", "Keyed", "Linear", "Mapped", "Nested", "Ordered", "Paged",
              "Queued", "Remote", "Sparse", "Tagged", "Unique", "Virtual", "Weighted", "Shared",
              "Frozen", "Lazy", "Merged", "Pinned", "Rolling", "Scoped"]
NOUNS = ["Account", "Buffer", "Cursor", "Digest", "Entry", "Frame", "Group", "Handle", "Index",
         "Journal", "Kernel", "Ledger", "Matrix", "Node", "Offset", "Packet", "Query", "Record",
         "Segment", "Token", "Unit", "Vertex", "Window", "Batch", "Column", "Event", "Filter",
         "Lease", "Route", "Shard", "Ticket", "Vector", "Worker", "Sample", "Span", "Slot"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
         "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu"]
COMMENT_WORDS = ["the", "value", "is", "kept", "small", "so", "that", "callers", "can",
                 "reuse", "it", "without", "copying", "each", "step", "updates", "state",
                 "in", "place", "and", "returns", "early", "when", "input", "ends", "this",
                 "mirrors", "how", "real", "code", "handles", "edge", "cases", "order",
                 "matters", "here", "because", "results", "are", "summed", "later"]

MASK = (1 << 64) - 1


class Rng:
    """splitmix64: tiny, fast, and identical on every Python version."""

    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def between(self, lo, hi):
        """An int in [lo, hi]."""
        return lo + self.below(hi - lo + 1)

    def choice(self, xs):
        return xs[self.below(len(xs))]

    def chance(self, percent):
        return self.below(100) < percent

    def sample(self, xs, n):
        pool = list(xs)
        out = []
        for _ in range(min(n, len(pool))):
            out.append(pool.pop(self.below(len(pool))))
        return out


def sentence(rng, lo=4, hi=10):
    words = [rng.choice(COMMENT_WORDS) for _ in range(rng.between(lo, hi))]
    return " ".join(words).capitalize() + "."


def go_strings(xs):
    return ", ".join(f'"{x}"' for x in xs)


def go_ints(xs):
    return ", ".join(str(x) for x in xs)


_templates = {}


def template(name):
    """The text of templates/NAME.go.tmpl."""
    if name not in _templates:
        _templates[name] = (TEMPLATE_DIR / f"{name}.go.tmpl").read_bytes().decode()
    return _templates[name]


def render(rng, name, blocks=None, /, **subs):
    """Expand the template templates/NAME.go.tmpl.

    A template is Go source, indented with tabs, with string.Template
    placeholders (${T}, ...) filled from subs.  A line starting with '?' is
    optional (kept with probability 1/2): blank lines and comments; one
    starting with '?&' is kept iff the previous optional line was.  '${c}' is
    a fresh random comment sentence each time it occurs.  blocks maps a
    placeholder to lines of code spliced in before all that (so they are
    filled in too).  Leading and trailing newlines are dropped; the result
    ends in one.
    """
    text = template(name)
    for key, value in (blocks or {}).items():
        text = text.replace("${" + key + "}", value)
    out = []
    kept = True
    for line in text.strip("\n").split("\n"):
        if line.startswith("?&"):
            if not kept:
                continue
            line = line[2:]
        elif line.startswith("?"):
            kept = rng.chance(50)
            if not kept:
                continue
            line = line[1:]
        while "${c}" in line:
            line = line.replace("${c}", sentence(rng), 1)
        out.append(Template(line).substitute(subs))
    return "\n".join(out) + "\n"


# --- units --------------------------------------------------------------------
# Each unit is a function (ctx, rng, T, t) -> (code, exercise function name),
# with T an exported CamelCase stem unique in the package and t its
# unexported form; its code is templates/<unit>.go.tmpl.  The order of the
# rng calls (arguments are evaluated left to right) is part of the output.

def unit_record(ctx, rng, T, t):
    ctx.scorers.append(T)
    ctx.exported_types.append(T)
    tags = rng.sample(WORDS, rng.between(2, 5))
    code = render(rng, "record", T=T, pkg=ctx.name,
                  adj=rng.choice(["mutable", "tagged", "weighted", "named"]),
                  mod=rng.between(3, 17), fl=f"{rng.between(1, 9)}.{rng.between(0, 9)}",
                  lim=rng.between(4, 7), pre=rng.choice(WORDS)[:2], id=rng.between(1, 999),
                  name=rng.choice(WORDS), tags=go_strings(tags), tag0=tags[0])
    return code, f"exercise{T}"


def unit_vec(ctx, rng, T, t):
    code = render(rng, "vec", T=T, n=rng.between(10, 60), m=rng.between(1, 7),
                  s=rng.between(2, 9), a=rng.between(-5, 5), b=rng.between(-5, 5))
    return code, f"exercise{T}"


def unit_registry(ctx, rng, T, t):
    code = render(rng, "registry", T=T, g=rng.between(3, 8), m=rng.between(1, 5),
                  x=rng.choice(WORDS))
    return code, f"exercise{T}"


def unit_generic(ctx, rng, T, t):
    if rng.chance(50):
        code = render(rng, "generic_stack", T=T, n=rng.between(4, 30), m=rng.between(2, 99),
                      f1=f"{rng.between(0, 9)}.5", f2=f"{rng.between(0, 9)}.25")
    else:
        kv = ", ".join(f'"{w}": {rng.between(0, 50)}'
                       for w in rng.sample(WORDS, rng.between(3, 6)))
        code = render(rng, "generic_pair", T=T, kv=kv, lim=rng.between(10, 40),
                      ints=go_ints(rng.between(-9, 99) for _ in range(rng.between(2, 5))),
                      fl=f"{rng.between(0, 9)}.75")
    return code, f"exercise{T}"


def unit_closure(ctx, rng, T, t):
    code = render(rng, "closure", T=T, step=rng.between(1, 9), n=rng.between(5, 40),
                  r=rng.between(2, 4), off=rng.between(-50, 50))
    return code, f"exercise{T}"


def unit_loops(ctx, rng, T, t):
    text = " ".join(rng.choice(WORDS[:8]).capitalize() if rng.chance(20) else rng.choice(WORDS[:8])
                    for _ in range(rng.between(6, 14)))
    xs = [rng.between(0, 20) for _ in range(rng.between(5, 9))]
    code = render(rng, "loops", T=T, a=rng.between(3, 7), b=rng.between(8, 30),
                  n=rng.between(10, 40), text=text, xs=go_ints(xs), target=xs[1] + xs[-1])
    return code, f"exercise{T}"


def unit_workers(ctx, rng, T, t):
    code = render(rng, "workers", T=T, m=rng.between(7, 101), n=rng.between(20, 200),
                  a=rng.between(1, 9), b=rng.between(0, 9), w=rng.between(2, 4),
                  p=rng.between(5, 50))
    return code, f"exercise{T}"


def unit_defer(ctx, rng, T, t):
    ds = [rng.between(1, 9) for _ in range(rng.between(2, 5))]
    ds.insert(rng.below(len(ds) + 1), 0)
    code = render(rng, "defer", T=T, ds=go_ints(ds), a=rng.between(10, 500),
                  depth=rng.between(1, 5))
    return code, f"exercise{T}"


def unit_errors(ctx, rng, T, t):
    present = rng.sample(WORDS, rng.between(2, 4))
    keys = present[:] + rng.sample([w for w in WORDS if w not in present], 2)
    keys = rng.sample(keys, len(keys))
    code = render(rng, "errors", T=T, t=t, pkg=ctx.name,
                  kv=", ".join(f'"{w}": {rng.between(1, 99)}' for w in present),
                  keys=go_strings(keys))
    return code, f"exercise{T}"


def unit_table(ctx, rng, T, t):
    names = rng.sample(WORDS, rng.between(3, 6))
    code = render(rng, "table", T=T, n=rng.between(8, 64), names=go_strings(names),
                  kv=", ".join(f'"{w}": {rng.between(1, 99)}' for w in names if rng.chance(70)),
                  fl=f"{rng.between(1, 5)}.5", m=rng.between(5, 97), c0=rng.between(0, 9))
    return code, f"exercise{T}"


def unit_state(ctx, rng, T, t):
    inputs = []
    for _ in range(rng.between(3, 5)):
        s = "s" + "".join(str(rng.below(10)) for _ in range(rng.between(0, 4)))
        inputs.append(s + rng.choice([".", "", "x", ".."]))
    code = render(rng, "state", T=T, t=t, inputs=go_strings(inputs))
    return code, f"exercise{T}"


def unit_bridge(ctx, rng, T, t):
    """Calls into the packages this one imports."""
    dep = rng.choice(ctx.deps)
    dep2 = rng.choice(ctx.deps)
    xs = [rng.between(-20, 60) for _ in range(rng.between(4, 8))]
    extra = ""
    if dep.exported_types:
        typ = rng.choice(dep.exported_types)
        extra = (f'\n\tr := {dep.name}.New{typ}(len(xs), "{t}")'
                 f'\n\tr.AddTag("{rng.choice(WORDS)}")'
                 f'\n\ttotal += int(r.Score())')
    code = render(rng, "bridge", T=T, t=t, dep=dep.name, dep2=dep2.name, hi=rng.between(10, 50),
                  xs=go_ints(xs), ys=go_ints(rng.between(0, 9) for _ in range(3)), extra=extra)
    return code, f"exercise{T}"


UNITS = [(unit_record, 3), (unit_vec, 2), (unit_registry, 1), (unit_generic, 2),
         (unit_closure, 2), (unit_loops, 2), (unit_workers, 1), (unit_defer, 1),
         (unit_errors, 1), (unit_table, 2), (unit_state, 1)]


# --- packages -------------------------------------------------------------------

class Package:
    def __init__(self, index, name, deps, seed):
        self.index = index
        self.name = name
        self.deps = deps
        self.rng = Rng(seed * 1_000_003 + index * 7919 + 1)
        self.scorers = []         # types implementing Scorer
        self.exported_types = []  # types with New<T>, AddTag, Score
        self.stems = set()
        self.files = {}           # file name -> content

    def stem(self):
        rng = self.rng
        while True:
            s = rng.choice(ADJECTIVES) + rng.choice(NOUNS)
            if s not in self.stems:
                self.stems.add(s)
                return s


def imports_block(body, pkg_deps):
    std = [p for p in STD_IMPORTS if re.search(rf"\b{p}\.", body)]
    local = [p.name for p in pkg_deps if re.search(rf"\b{p.name}\.", body)]
    if not std and not local:
        return ""
    lines = [f'\t"{p}"' for p in std]
    if std and local:
        lines.append("")
    lines += [f'\t"{MODULE}/{p}"' for p in sorted(local)]
    return "import (\n" + "\n".join(lines) + "\n)\n\n"


def go_file(pkg, body, doc=""):
    return doc + f"package {pkg.name}\n\n" + imports_block(body, pkg.deps) + body


def pick_unit(pkg):
    rng = pkg.rng
    pool = [u for u, w in UNITS for _ in range(w)]
    if pkg.deps:
        pool += [unit_bridge] * 3
    return rng.choice(pool)


FILE_WORDS = ["types", "ops", "util", "worker", "table", "index", "stream", "shape", "walk",
              "merge", "scan", "state", "pool", "batch", "query", "store"]


def gen_package(pkg, budget):
    rng = pkg.rng
    exercises = []
    parts = []       # (file name, [unit code])
    lines = 0
    file_words = rng.sample(FILE_WORDS, len(FILE_WORDS))
    # Stop once the estimated total (units, each file's package clause and
    # imports, the package's main file) is within half a unit of budget.
    while lines + 12 * len(parts) + 120 + len(exercises) + 4 * len(pkg.scorers) + 5 < budget:
        if not parts or sum(c.count("\n") for c in parts[-1][1]) > parts[-1][2]:
            word = file_words[len(parts) % len(file_words)]
            if len(parts) >= len(file_words):
                word += str(len(parts) // len(file_words) + 1)
            parts.append((word + ".go", [], rng.between(180, 420)))
        # Every package has at least one Scorer, the first unit.
        unit = pick_unit(pkg) if exercises else unit_record
        T = pkg.stem()
        t = T[0].lower() + T[1:]
        code, ex = unit(pkg, rng, T, t)
        if rng.chance(15):
            code = f"// {sentence(rng, 6, 14)}\n// {sentence(rng, 4, 12)}\n\n" + code
        parts[-1][1].append(code)
        exercises.append(ex)
        lines += code.count("\n") + 1
    for fname, codes, _ in parts:
        pkg.files[fname] = go_file(pkg, "\n".join(codes))
    pkg.files[pkg.name + ".go"] = main_file(pkg, exercises)


def main_file(pkg, exercises):
    rng = pkg.rng
    words = rng.sample(WORDS, rng.between(6, 10))
    cases = "".join(f"\tcase *{T}:\n\t\treturn \"{T}: \" + v.Name\n" for T in pkg.scorers)
    scorers = "".join(f"\t\tNew{T}({i + 1}, \"{rng.choice(WORDS)}\"),\n"
                      for i, T in enumerate(pkg.scorers))
    calls = "".join(f"\t\t{ex}(),\n" for ex in exercises)
    deps = ", ".join(p.name for p in pkg.deps) or "nothing but the standard library"
    doc = (f"// Package {pkg.name} is part of a program generated by dlvidx's\n"
           f"// tests/corpus/gen_program.py. It depends on {deps}.\n")
    body = render(rng, "package", {"cases": cases, "scorers": scorers, "calls": calls},
                  words=" ".join(words), p=rng.choice([31, 33, 37, 131]), h=rng.between(7, 97),
                  pkg=pkg.name)
    return go_file(pkg, body, doc)


def generate(outdir, lines=10000, seed=1, npkg=8):
    outdir = Path(outdir)
    if outdir.exists() and any(outdir.iterdir()):
        raise SystemExit(f"gen_program: {outdir} is not empty")
    names = [f"p{i}" for i in range(npkg)]
    budget = max(200, (lines - 60) // npkg)
    pkgs = []
    for i, name in enumerate(names):
        drng = Rng(seed * 31 + i)
        deps = drng.sample(pkgs, drng.between(1, 3)) if pkgs else []
        deps.sort(key=lambda p: p.index)
        pkg = Package(i, name, deps, seed)
        gen_package(pkg, budget)
        pkgs.append(pkg)

    files = {"go.mod": f"module {MODULE}\n\ngo 1.22\n"}
    # main.go.tmpl is a plain string.Template (no optional lines, no ${c}).
    files["main.go"] = Template(template("main")).substitute(
        lines=lines, seed=seed, npkg=npkg,
        imports="\n".join(f'\t"{MODULE}/{n}"' for n in sorted(names)),
        runs="\n".join(f'\t{{"{n}", {n}.Run}},' for n in names))
    for p in pkgs:
        for fname, content in p.files.items():
            files[f"{p.name}/{fname}"] = content

    total = 0
    for rel, content in sorted(files.items()):
        path = outdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode())
        total += content.count("\n")
    return len(files), total


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--lines", type=int, default=10000, help="about how many lines in all (default 10000)")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ap.add_argument("--packages", type=int, default=8, help="library packages (default 8)")
    a = ap.parse_args(argv)
    if a.lines < 100 or a.packages < 1 or a.seed < 0:
        ap.error("want --lines >= 100, --packages >= 1, --seed >= 0")
    nfiles, nlines = generate(a.outdir, a.lines, a.seed, a.packages)
    print(f"gen_program: wrote {nfiles} files, {nlines} lines to {a.outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
