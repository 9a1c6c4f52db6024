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


def render(rng, template, **subs):
    """Expand a unit template.

    Templates are written with 4-space indents, turned into tabs here.  A
    line starting with '?' is optional (kept with probability 1/2): blank
    lines and comments; one starting with '?&' is kept iff the previous
    optional line was.  '${c}' in a template is a fresh random comment
    sentence each time it occurs.
    """
    out = []
    kept = True
    for line in template.strip("\n").split("\n"):
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
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        line = "\t" * (indent // 4) + " " * (indent % 4) + stripped
        out.append(Template(line).substitute(subs))
    return "\n".join(out) + "\n"


# --- units --------------------------------------------------------------------
# Each unit is a function (ctx, rng, T, t) -> (code, exercise function name),
# with T an exported CamelCase stem unique in the package and t its
# unexported form.

def unit_record(ctx, rng, T, t):
    ctx.scorers.append(T)
    ctx.exported_types.append(T)
    tags = rng.sample(WORDS, rng.between(2, 5))
    code = render(rng, """
// ${T} is a ${adj} record kept by package ${pkg}.
?// ${c}
type ${T} struct {
    ID     int
    Name   string
    Weight float64
    Tags   []string
    counts map[string]int
}

// New${T} returns a ${T} with the given id and name.
func New${T}(id int, name string) *${T} {
    r := &${T}{ID: id, Name: name, Weight: float64(id%${mod}) + ${fl}}
    r.counts = make(map[string]int)
    return r
}

// AddTag records tag once and counts how often it was added.
func (r *${T}) AddTag(tag string) {
?    // ${c}
    if r.counts[tag] == 0 {
        r.Tags = append(r.Tags, tag)
    }
    r.counts[tag]++
}

// Score implements Scorer.
func (r ${T}) Score() float64 {
    s := r.Weight
?
    for i, tag := range r.Tags {
        switch {
        case len(tag) > ${lim}:
            s += float64(i) * 0.5
        case strings.HasPrefix(tag, "${pre}"):
?            // ${c}
            s -= 1
        default:
            s += float64(len(tag))
        }
    }
    return s
}

// Label implements Scorer.
func (r ${T}) Label() string { return fmt.Sprintf("%s#%d", r.Name, r.ID) }

func exercise${T}() int {
    r := New${T}(${id}, "${name}")
    for _, tag := range []string{${tags}} {
        r.AddTag(tag)
    }
?    // ${c}
    r.AddTag("${tag0}")
    return int(r.Score()) + len(r.Label()) + r.counts["${tag0}"]
}
""", T=T, pkg=ctx.name, adj=rng.choice(["mutable", "tagged", "weighted", "named"]),
        mod=rng.between(3, 17), fl=f"{rng.between(1, 9)}.{rng.between(0, 9)}",
        lim=rng.between(4, 7), pre=rng.choice(WORDS)[:2], id=rng.between(1, 999),
        name=rng.choice(WORDS), tags=go_strings(tags), tag0=tags[0])
    return code, f"exercise{T}"


def unit_vec(ctx, rng, T, t):
    code = render(rng, """
// ${T} is a small value type; its methods are inlining candidates.
type ${T} struct{ X, Y int }

// Add returns v+o.
func (v ${T}) Add(o ${T}) ${T} {
    return ${T}{v.X + o.X, v.Y + o.Y}
}

// Scale returns v scaled by k.
func (v ${T}) Scale(k int) ${T} {
    return ${T}{v.X * k, v.Y * k}
}

func (v ${T}) Dot(o ${T}) int { return v.X*o.X + v.Y*o.Y }

func (v ${T}) Manhattan() int { return absInt(v.X) + absInt(v.Y) }

?// ${c}
?&
// walk${T} moves a point around a ${n}-step spiral.
func walk${T}(steps int) ${T} {
    pos := ${T}{}
    dirs := [...]${T}{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}
?    // ${c}
    for i := 0; i < steps; i++ {
        d := dirs[(i*${m})%len(dirs)]
        pos = pos.Add(d.Scale(i%${s} + 1))
    }
    return pos
}

func exercise${T}() int {
    p := walk${T}(${n})
    return p.Manhattan() + p.Dot(${T}{${a}, ${b}})
}
""", T=T, n=rng.between(10, 60), m=rng.between(1, 7), s=rng.between(2, 9),
        a=rng.between(-5, 5), b=rng.between(-5, 5))
    return code, f"exercise{T}"


def unit_registry(ctx, rng, T, t):
    code = render(rng, """
// ${T} maps names to counts; it is safe for concurrent use.
type ${T} struct {
    mu     sync.Mutex
    counts map[string]int
    order  []string
}

// Add adds n to name's count.
func (r *${T}) Add(name string, n int) {
    r.mu.Lock()
    defer r.mu.Unlock()
?
    if r.counts == nil {
        r.counts = make(map[string]int)
    }
    if _, ok := r.counts[name]; !ok {
        r.order = append(r.order, name)
    }
    r.counts[name] += n
}

// Snapshot returns "name=count" for every name, sorted.
func (r *${T}) Snapshot() []string {
    r.mu.Lock()
    defer r.mu.Unlock()
    keys := make([]string, 0, len(r.counts))
    for name, n := range r.counts {
        keys = append(keys, name+"="+strconv.Itoa(n))
    }
?    // ${c}
    sort.Strings(keys)
    return keys
}

func exercise${T}() int {
    var r ${T}
    var wg sync.WaitGroup
    for i := range ${g} {
        wg.Add(1)
        go func() {
            defer wg.Done()
            r.Add(words[(i*${m})%len(words)], i)
        }()
    }
    wg.Wait()
?    // ${c}
    add := r.Add
    add("${x}", 1)
    return len(strings.Join(r.Snapshot(), ",")) + len(r.order)
}
""", T=T, g=rng.between(3, 8), m=rng.between(1, 5), x=rng.choice(WORDS))
    return code, f"exercise{T}"


def unit_generic(ctx, rng, T, t):
    if rng.chance(50):
        code = render(rng, """
// ${T}Stack is a LIFO of T.
type ${T}Stack[T any] struct {
    items []T
}

func (s *${T}Stack[T]) Push(v T) { s.items = append(s.items, v) }

// Pop removes and returns the top element.
func (s *${T}Stack[T]) Pop() (T, bool) {
    var zero T
    if len(s.items) == 0 {
        return zero, false
    }
    v := s.items[len(s.items)-1]
    s.items = s.items[:len(s.items)-1]
    return v, true
}

func (s *${T}Stack[T]) Len() int { return len(s.items) }

// map${T} applies f to every element of xs.
func map${T}[T, U any](xs []T, f func(T) U) []U {
    out := make([]U, 0, len(xs))
    for _, x := range xs {
        out = append(out, f(x))
    }
    return out
}

// sum${T} adds up xs.
func sum${T}[T Number](xs []T) T {
    var total T
?    // ${c}
    for _, x := range xs {
        total += x
    }
    return total
}

func exercise${T}() int {
    var st ${T}Stack[string]
    for i := range ${n} {
        st.Push(strconv.Itoa(i * ${m}))
    }
    lens := map${T}(st.items, func(s string) int { return len(s) })
    total := sum${T}(lens)
    for st.Len() > 0 {
        if v, ok := st.Pop(); ok && v == "0" {
            total++
        }
    }
    return total + int(sum${T}([]float64{${f1}, ${f2}}))
}
""", T=T, n=rng.between(4, 30), m=rng.between(2, 99),
            f1=f"{rng.between(0, 9)}.5", f2=f"{rng.between(0, 9)}.25")
    else:
        code = render(rng, """
// ${T}Pair is a key and its value.
type ${T}Pair[K comparable, V any] struct {
    Key K
    Val V
}

// sorted${T} returns m's entries ordered by key.
func sorted${T}[V any](m map[string]V) []${T}Pair[string, V] {
    out := make([]${T}Pair[string, V], 0, len(m))
    for k, v := range m {
        out = append(out, ${T}Pair[string, V]{k, v})
    }
    sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
    return out
}

// filter${T} keeps the elements for which keep returns true.
func filter${T}[T any](xs []T, keep func(T) bool) []T {
    var out []T
    for _, x := range xs {
        if keep(x) {
            out = append(out, x)
        }
    }
    return out
}

?// ${c}
?&
func maxOf${T}[T Number](xs ...T) T {
    best := xs[0]
    for _, x := range xs[1:] {
        best = max(best, x)
    }
    return best
}

func exercise${T}() int {
    m := map[string]int{${kv}}
    pairs := sorted${T}(m)
    big := filter${T}(pairs, func(p ${T}Pair[string, int]) bool { return p.Val > ${lim} })
    total := len(big) * 100
    for i, p := range pairs {
        total += i * p.Val
    }
    return total + maxOf${T}(${ints}) + int(maxOf${T}(1.5, ${fl}))
}
""", T=T, kv=", ".join(f'"{w}": {rng.between(0, 50)}' for w in rng.sample(WORDS, rng.between(3, 6))),
            lim=rng.between(10, 40), ints=go_ints(rng.between(-9, 99) for _ in range(rng.between(2, 5))),
            fl=f"{rng.between(0, 9)}.75")
    return code, f"exercise{T}"


def unit_closure(ctx, rng, T, t):
    code = render(rng, """
// counter${T} returns an incrementer and a reset function that share state.
func counter${T}(step int) (func() int, func()) {
    n := 0
    inc := func() int {
        n += step
        return n
    }
    reset := func() { n = 0 }
    return inc, reset
}

// compose${T} chains fs left to right.
func compose${T}(fs ...func(int) int) func(int) int {
    return func(x int) int {
        for _, f := range fs {
            x = f(x)
        }
        return x
    }
}

func exercise${T}() int {
    inc, reset := counter${T}(${step})
    total := 0
    for i := 0; i < ${n}; i++ {
        total += inc()
        if i == ${r} {
?            // ${c}
            reset()
        }
    }
?
    double := func(x int) int { return x * 2 }
    offset := ${off}
    f := compose${T}(double, func(x int) int { return x + offset }, absInt)
    var fns []func() int
    for i := range 3 {
        fns = append(fns, func() int { return i * total })
    }
    for _, g := range fns {
        total += g() % 7
    }
    return f(total)
}
""", T=T, step=rng.between(1, 9), n=rng.between(5, 40), r=rng.between(2, 4),
        off=rng.between(-50, 50))
    return code, f"exercise{T}"


def unit_loops(ctx, rng, T, t):
    text = " ".join(rng.choice(WORDS[:8]).capitalize() if rng.chance(20) else rng.choice(WORDS[:8])
                    for _ in range(rng.between(6, 14)))
    xs = [rng.between(0, 20) for _ in range(rng.between(5, 9))]
    code = render(rng, """
// classify${T} puts n into a bucket.
func classify${T}(n int) string {
    switch {
    case n < 0:
        return "negative"
    case n == 0:
        return "zero"
    case n%${a} == 0:
        return "multiple"
    case n < ${b}:
        return "small"
    default:
        return "large"
    }
}

func weekday${T}(d int) (kind string) {
    switch d % 7 {
    case 0, 6:
        kind = "weekend"
    case 5:
        kind = "friday "
        fallthrough
    case 1, 2, 3, 4:
        kind += "weekday"
    }
    return kind
}

// histogram${T} counts the words of text and returns them by falling count,
// then alphabetically.
func histogram${T}(text string) []string {
    counts := map[string]int{}
    for _, w := range strings.Fields(text) {
        counts[strings.ToLower(w)]++
    }
    keys := make([]string, 0, len(counts))
    for w := range counts {
        keys = append(keys, w)
    }
?    // ${c}
    sort.Slice(keys, func(i, j int) bool {
        if counts[keys[i]] != counts[keys[j]] {
            return counts[keys[i]] > counts[keys[j]]
        }
        return keys[i] < keys[j]
    })
    return keys
}

// findPair${T} returns the first i < j with xs[i]+xs[j] == target.
func findPair${T}(xs []int, target int) (int, int, bool) {
outer:
    for i := range xs {
        for j := i + 1; j < len(xs); j++ {
            if xs[i] > target {
                continue outer
            }
            if xs[i]+xs[j] == target {
                return i, j, true
            }
        }
    }
    return -1, -1, false
}

func exercise${T}() int {
    total := 0
    for n := -2; n < ${n}; n++ {
        total += len(classify${T}(n))
    }
    for d := range 7 {
        total += len(weekday${T}(d))
    }
?    // ${c}
    words := histogram${T}("${text}")
    total += len(words)
    if i, j, ok := findPair${T}([]int{${xs}}, ${target}); ok {
        total += i*10 + j
    }
    return total
}
""", T=T, a=rng.between(3, 7), b=rng.between(8, 30), n=rng.between(10, 40), text=text,
        xs=go_ints(xs), target=xs[1] + xs[-1])
    return code, f"exercise{T}"


def unit_workers(ctx, rng, T, t):
    code = render(rng, """
// parallelSum${T} sums f(x) over xs with the given number of goroutines.
func parallelSum${T}(xs []int, workers int) int {
    var (
        wg    sync.WaitGroup
        mu    sync.Mutex
        total int
    )
    chunk := (len(xs) + workers - 1) / workers
    for w := 0; w < workers; w++ {
        lo := w * chunk
        hi := min(lo+chunk, len(xs))
        if lo >= hi {
            break
        }
        wg.Add(1)
        go func(part []int) {
            defer wg.Done()
            s := 0
            for _, x := range part {
                s += x * x % ${m}
            }
?            // ${c}
            mu.Lock()
            total += s
            mu.Unlock()
        }(xs[lo:hi])
    }
    wg.Wait()
    return total
}

// pipeline${T} squares 0..n-1 in one goroutine and sums them in another.
func pipeline${T}(n int) int {
    src := make(chan int)
    dst := make(chan int, 1)
    go func() {
        defer close(src)
        for i := 0; i < n; i++ {
            src <- i
        }
    }()
    go func() {
        sum := 0
        for v := range src {
            sum += v * v
        }
        dst <- sum
    }()
    return <-dst
}

func exercise${T}() int {
    xs := make([]int, ${n})
    for i := range xs {
        xs[i] = i*${a} + ${b}
    }
    return parallelSum${T}(xs, ${w}) + pipeline${T}(${p})
}
""", T=T, m=rng.between(7, 101), n=rng.between(20, 200), a=rng.between(1, 9),
        b=rng.between(0, 9), w=rng.between(2, 4), p=rng.between(5, 50))
    return code, f"exercise{T}"


def unit_defer(ctx, rng, T, t):
    ds = [rng.between(1, 9) for _ in range(rng.between(2, 5))]
    ds.insert(rng.below(len(ds) + 1), 0)
    code = render(rng, """
// safeDiv${T} divides a by b, turning the divide-by-zero panic into an error.
func safeDiv${T}(a, b int) (q int, err error) {
    defer func() {
        if r := recover(); r != nil {
            err = fmt.Errorf("safeDiv${T}(%d, %d): %v", a, b, r)
        }
    }()
    q = a / b
    return q, nil
}

// traced${T} logs enter/exit; the deferred func bumps the named result.
func traced${T}(log *[]string, depth int) (n int) {
    *log = append(*log, "enter")
    defer func() {
        *log = append(*log, "exit")
        n++
    }()
?    // ${c}
    if depth > 0 {
        n = traced${T}(log, depth-1) * 2
    }
    return n
}

func exercise${T}() int {
    total := 0
    for _, d := range []int{${ds}} {
        q, err := safeDiv${T}(${a}, d)
        if err != nil {
            total += len(err.Error()) % 10
            continue
        }
        total += q
    }
?
    var log []string
    total += traced${T}(&log, ${depth})
    return total + len(log)
}
""", T=T, ds=go_ints(ds), a=rng.between(10, 500), depth=rng.between(1, 5))
    return code, f"exercise{T}"


def unit_errors(ctx, rng, T, t):
    present = rng.sample(WORDS, rng.between(2, 4))
    keys = present[:] + rng.sample([w for w in WORDS if w not in present], 2)
    keys = rng.sample(keys, len(keys))
    code = render(rng, """
var err${T}NotFound = errors.New("${pkg}: ${t} not found")

// ${t}Error reports a failed lookup of Key.
type ${t}Error struct {
    Key string
    Err error
}

func (e *${t}Error) Error() string {
    return "lookup " + e.Key + ": " + e.Err.Error()
}

func (e *${t}Error) Unwrap() error { return e.Err }

// lookup${T} returns m[key] or a *${t}Error wrapping err${T}NotFound.
func lookup${T}(m map[string]int, key string) (int, error) {
    v, ok := m[key]
    if !ok {
        return 0, &${t}Error{Key: key, Err: err${T}NotFound}
    }
    return v, nil
}

func exercise${T}() int {
    m := map[string]int{${kv}}
    total := 0
    for _, key := range []string{${keys}} {
        v, err := lookup${T}(m, key)
        var le *${t}Error
        switch {
        case errors.As(err, &le):
?            // ${c}
            total += len(le.Key)
        case errors.Is(err, err${T}NotFound):
            total--
        default:
            total += v
        }
    }
    if errors.Is(fmt.Errorf("wrapped: %w", &${t}Error{"x", err${T}NotFound}), err${T}NotFound) {
        total++
    }
    return total
}
""", T=T, t=t, pkg=ctx.name, kv=", ".join(f'"{w}": {rng.between(1, 99)}' for w in present),
        keys=go_strings(keys))
    return code, f"exercise{T}"


def unit_table(ctx, rng, T, t):
    names = rng.sample(WORDS, rng.between(3, 6))
    code = render(rng, """
// table${T} is filled during package initialization.
var table${T} = build${T}(${n})

var (
    names${T}  = []string{${names}}
    lookup${T} = map[string]int{${kv}}
    scale${T}  = ${fl} * float64(len(names${T}))
)

const (
    mode${T}A = iota
    mode${T}B
    mode${T}C
)

?// ${c}
?&
func build${T}(n int) []int {
    t := make([]int, n)
    for i := range t {
        t[i] = i*i%${m} + ${c0}
    }
    return t
}

func exercise${T}() int {
    total := mode${T}C - mode${T}B
    for _, v := range table${T} {
        total += v
    }
    for _, name := range names${T} {
        total += lookup${T}[name]
    }
    return total + int(scale${T})
}
""", T=T, n=rng.between(8, 64), names=go_strings(names),
        kv=", ".join(f'"{w}": {rng.between(1, 99)}' for w in names if rng.chance(70)),
        fl=f"{rng.between(1, 5)}.5", m=rng.between(5, 97), c0=rng.between(0, 9))
    return code, f"exercise{T}"


def unit_state(ctx, rng, T, t):
    inputs = []
    for _ in range(rng.between(3, 5)):
        s = "s" + "".join(str(rng.below(10)) for _ in range(rng.between(0, 4)))
        inputs.append(s + rng.choice([".", "", "x", ".."]))
    code = render(rng, """
// ${t}State is the state of the ${t} scanner.
type ${t}State int

const (
    ${t}Idle ${t}State = iota
    ${t}Running
    ${t}Done
    ${t}Failed
)

func (s ${t}State) String() string {
    switch s {
    case ${t}Idle:
        return "idle"
    case ${t}Running:
        return "running"
    case ${t}Done:
        return "done"
    case ${t}Failed:
        return "failed"
    }
    return "state(" + strconv.Itoa(int(s)) + ")"
}

// step${T} advances the scanner by one input byte.
func step${T}(s ${t}State, in byte) ${t}State {
    switch s {
    case ${t}Idle:
        if in == 's' {
            return ${t}Running
        }
        return ${t}Failed
    case ${t}Running:
        switch {
        case in >= '0' && in <= '9':
            return ${t}Running
        case in == '.':
            return ${t}Done
        }
?        // ${c}
        return ${t}Failed
    case ${t}Done:
        return ${t}Failed
    }
    return s
}

func exercise${T}() int {
    total := 0
    for _, in := range []string{${inputs}} {
        s := ${t}Idle
        for i := 0; i < len(in); i++ {
            s = step${T}(s, in[i])
        }
        total += len(s.String()) + int(s)
    }
    return total
}
""", T=T, t=t, inputs=go_strings(inputs))
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
    code = render(rng, """
// ${t} combines helpers from the ${dep} and ${dep2} packages.
func ${t}(xs []int) int {
    total := 0
    for i, x := range xs {
        total = ${dep}.Mix(total, ${dep}.Clamp(x, 0, ${hi})) + i
    }
?    // ${c}
    evens := ${dep2}.Fold(xs, 0, func(acc, x int) int {
        if x%2 == 0 {
            return acc + 1
        }
        return acc
    })${extra}
    return total + evens
}

func exercise${T}() int {
    return ${t}([]int{${xs}}) + ${dep2}.Checksum([]int{${ys}})
}
""", T=T, t=t, dep=dep.name, dep2=dep2.name, hi=rng.between(10, 50), xs=go_ints(xs),
        ys=go_ints(rng.between(0, 9) for _ in range(3)), extra=extra)
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
    body = render(rng, """
// Number is the constraint of the package's numeric generics.
type Number interface {
    ~int | ~int32 | ~int64 | ~float32 | ~float64
}

// Scorer is implemented by the package's record types.
type Scorer interface {
    Score() float64
    Label() string
}

// words is split once, at package initialization.
var words = strings.Fields("${words}")

// calls counts Run invocations.
var calls int

// Clamp limits x to [lo, hi].
func Clamp(x, lo, hi int) int {
    if x < lo {
        return lo
    }
    if x > hi {
        return hi
    }
    return x
}

// Mix folds b into the hash a.
func Mix(a, b int) int { return a*${p} ^ b }

func absInt(x int) int {
    if x < 0 {
        return -x
    }
    return x
}

// Checksum is an order-dependent hash of xs.
func Checksum(xs []int) int {
    h := ${h}
    for _, x := range xs {
        h = Mix(h, x)
    }
    return h
}

// Fold reduces xs from the left, starting with init.
func Fold[T, A any](xs []T, init A, f func(A, T) A) A {
    acc := init
    for _, x := range xs {
        acc = f(acc, x)
    }
    return acc
}

?// ${c}
?&
// Describe names a Scorer.
func Describe(s Scorer) string {
    switch v := s.(type) {
${cases}    default:
        return fmt.Sprintf("%T: %s", v, v.Label())
    }
}

// TotalScore adds up the scores of xs.
func TotalScore(xs []Scorer) float64 {
    total := 0.0
    for _, x := range xs {
        total += x.Score()
    }
    return total
}

func exerciseScorers() int {
    xs := []Scorer{
${scorers}    }
    n := 0
    for _, x := range xs {
        n += len(Describe(x))
    }
    return n + int(TotalScore(xs))
}

// Run exercises every part of package ${pkg} and returns a checksum.
func Run() int {
    calls++
    results := []int{
        exerciseScorers(),
${calls}    }
    return Checksum(results) + calls
}
""".replace("${cases}", cases.replace("\t", "    ")).replace("${scorers}", scorers.replace("\t", "    "))
              .replace("${calls}", calls.replace("\t", "    ")),
        words=" ".join(words), p=rng.choice([31, 33, 37, 131]), h=rng.between(7, 97), pkg=pkg.name)
    return go_file(pkg, body, doc)


MAIN_GO = Template('''// Command gen is a program generated by dlvidx's tests/corpus/gen_program.py
// (--lines ${lines} --seed ${seed} --packages ${npkg}). It runs every package's Run
// in its own goroutine and prints a checksum.
package main

import (
	"fmt"
	"os"
	"sync"

${imports}
)

// runs lists each package's entry point, by name.
var runs = []struct {
	name string
	run  func() int
}{
${runs}
}

func main() {
	verbose := len(os.Args) > 1 && os.Args[1] == "-v"
	results := make([]int, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.run()
		}()
	}
	wg.Wait()

	total := 0
	for i, r := range results {
		total = total*31 + r
		if verbose {
			fmt.Printf("%-10s %d\\n", runs[i].name, r)
		}
	}
	fmt.Printf("gen: %d packages, checksum %d\\n", len(results), total)
}
''')


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
    files["main.go"] = MAIN_GO.substitute(
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
