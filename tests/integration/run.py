#!/usr/bin/env python3
"""Integration tests of dlvidx on real Go binaries (run by ctest).

  run.py [common options] rows NAME        dlvidx rows == Go's debug/dwarf rows
  run.py [common options] delve NAME ...   dlvidx lookup == dlv (compare_with_dlv.py)
  run.py [common options] errors           bad binaries: one-line errors, no crash
  run.py [common options] store            shared memory / cache file lifecycle
  run.py [common options] hostile-binaries [truncated|mutated]  cut/corrupt ELF, Mach-O, universal files, zip bombs
  run.py [common options] hostile-indexes [file|shm|race]  corrupt cache files and shared memory, racing builders
  run.py [common options] security         store permissions, symlinks, FIFOs, other users' indexes
  (the last three: tests/integration/hostile.py; reliability records in $DLVIDX_RELIABILITY_DIR)

NAME is a corpus name (tests/corpus/corpus.py); binaries are built on first
use and cached under the user's cache directory. Every test uses a private
cache directory for indexes and removes the shared memory objects it made.
"""
import argparse, glob, json, os, shutil, subprocess, sys, tempfile, threading

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus(args, name):
    out = subprocess.run([sys.executable, args.corpus, "path", name], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        sys.exit(f"corpus build of {name} failed")
    return out.stdout.strip()


class Cache:
    """A private index cache dir. On exit it removes the shared memory objects of the indexes in it,
    and only those: tests running at the same time keep theirs. forget(binary) adds a binary indexed
    elsewhere (e.g. by compare_with_dlv.py, with its own cache dir)."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="dlvidx-test-")
        self.binaries = []
        return self

    def forget(self, dlvidx_path, binary):
        self.binaries.append((dlvidx_path, binary))

    def __exit__(self, *exc):
        for exe, binary in self.binaries:  # (opens the published index: its key, into self.dir)
            subprocess.run([exe, "build", "--reuse", "--json", "--cache-dir", self.dir, binary], capture_output=True)
        keys = {f[:-4] for f in os.listdir(self.dir) if f.endswith(".idx")} if os.path.isdir(self.dir) else set()
        for k in keys:
            p = f"/dev/shm/dlvidx-{os.geteuid()}-{k}"
            if os.path.exists(p):
                os.unlink(p)
        shutil.rmtree(self.dir, ignore_errors=True)


def dlvidx(args, *argv, cache=None, check=True):
    cmd = [args.dlvidx] + list(argv)
    if cache is not None and argv and argv[0] in ("build", "lookup"):
        cmd[2:2] = ["--cache-dir", cache.dir]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p


def test_rows(args):
    binary = corpus(args, args.name)
    with tempfile.TemporaryDirectory() as d:
        theirs, ours = os.path.join(d, "go.txt"), os.path.join(d, "dlvidx.txt")
        with open(theirs, "w") as f:
            subprocess.run([os.path.join(args.oracles, "rows"), binary], stdout=f, check=True)
        with open(ours, "w") as f:
            subprocess.run([args.dlvidx, "rows", binary], stdout=f, check=True)
        n = sum(1 for _ in open(theirs))
        diff = subprocess.run(["diff", theirs, ours], capture_output=True, text=True)
        if diff.returncode != 0:
            print("\n".join(diff.stdout.splitlines()[:40]))
            sys.exit(f"{args.name}: rows differ from Go's debug/dwarf")
        print(f"{args.name}: {n} lines (CU headers and rows) identical to Go's debug/dwarf")
    # The load-bias anchor of position-independent binaries: the index records
    # runtime.firstmoduledata's link address; it must be the symbol's address.
    nm = subprocess.run(["/usr/lib/go-1.27/bin/go", "tool", "nm", binary], capture_output=True, text=True, check=True)
    sym = [int(ln.split()[0], 16) for ln in nm.stdout.splitlines() if ln.endswith(" runtime.firstmoduledata")]
    with Cache() as cache:
        got = int(json.loads(dlvidx(args, "build", "--json", binary, cache=cache).stdout)["moduledata_addr"], 16)
    if sym != [got]:
        sys.exit(f"{args.name}: index moduledata_addr {got:#x}, go tool nm says {[hex(a) for a in sym]}")
    print(f"{args.name}: runtime.firstmoduledata at {got:#x}, as go tool nm says")


def test_delve(args, extra):
    binary = corpus(args, args.name)
    dlv_args = ["--dlv-arg=--check-go-version=false"] if "-go122-" in args.name else []
    # With --arm64 BUILD_DIR (in extra) the arm64 dlvoracle asks the arm64 dlv in an emulated machine.
    oracle = os.path.join(args.oracles, "arm64", "dlvoracle") if "--arm64" in extra else \
        os.path.join(args.oracles, "dlvoracle")
    cmd = [sys.executable, os.path.join(HERE, "..", "oracle", "compare_with_dlv.py"),
           "--dlvidx", args.dlvidx, "--rows", os.path.join(args.oracles, "rows"),
           "--dlvoracle", oracle, "--dlv", args.dlv] + dlv_args + extra + [binary]
    with Cache() as cache:
        cache.forget(args.dlvidx, binary)
        rc = subprocess.run(cmd).returncode
    sys.exit(rc)


def expect_error(args, cache, path, want, label):
    p = dlvidx(args, "build", path, cache=cache, check=False)
    err = p.stderr.strip()
    ok = (p.returncode == 1 and len(err.splitlines()) == 1 and err.startswith(f"dlvidx: {path}: ")
          and want in err)
    print(f"{'ok  ' if ok else 'FAIL'} {label}: exit {p.returncode}: {err}")
    return ok


def test_errors(args):
    example = corpus(args, "example-go127-linux-amd64")
    stripped = corpus(args, "example-go127-linux-amd64+stripped")
    plain = corpus(args, "example-go127-linux-amd64+nocompress")
    darwin = corpus(args, "example-go127-darwin-arm64")
    data = open(example, "rb").read()
    ok = True
    with Cache() as cache, tempfile.TemporaryDirectory() as d:
        def write(name, content):
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(content)
            return p
        ok &= expect_error(args, cache, write("empty", b""), "empty file", "empty file")
        ok &= expect_error(args, cache, write("text.txt", b"hello, world\n" * 100),
                           "not an executable", "text file")
        ok &= expect_error(args, cache, stripped, "no DWARF: built with -s/-w?", "stripped Go binary")
        ok &= expect_error(args, cache, write("true", open("/bin/true", "rb").read()),
                           "not a Go binary", "non-Go ELF (/bin/true)")
        # Truncated at many offsets: every one refused with a message, none crashes.
        n_trunc = 0
        for cut in [3, 16, 63, 64, 200, 4096, len(data) // 3, len(data) // 2, len(data) - 4096, len(data) - 1]:
            ok &= expect_error(args, cache, write(f"trunc{cut}", data[:cut]), "", f"truncated at {cut}")
            n_trunc += 1
        # .debug_line overwritten with garbage (uncompressed build, so it is in place).
        sec = section_range(plain, ".debug_line")
        raw = bytearray(open(plain, "rb").read())
        raw[sec[0]:sec[0] + sec[1]] = bytes((i * 131 + 7) & 0xff for i in range(sec[1]))
        ok &= expect_error(args, cache, write("badline", bytes(raw)), "malformed DWARF", "corrupt .debug_line")
        # A line program whose unit_length runs past the section.
        raw = bytearray(open(plain, "rb").read())
        raw[sec[0]:sec[0] + 4] = b"\xf0\xff\xff\x7f"
        ok &= expect_error(args, cache, write("badlen", bytes(raw)), "malformed DWARF", "bad .debug_line length")
        # A universal Mach-O whose slice offset points outside the file.
        body = open(darwin, "rb").read()
        fat = (b"\xca\xfe\xba\xbe" + (1).to_bytes(4, "big") + (0x0100000c).to_bytes(4, "big") +
               (0).to_bytes(4, "big") + (0x7fffff00).to_bytes(4, "big") + len(body).to_bytes(4, "big") +
               (14).to_bytes(4, "big"))
        ok &= expect_error(args, cache, write("fat", fat + body), "outside the file", "fat header with bogus offset")
    sys.exit(0 if ok else 1)


def section_range(path, name):
    out = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if name in parts:
            i = parts.index(name)
            return int(parts[i + 3], 16), int(parts[i + 4], 16)
    sys.exit(f"{path}: no section {name}")


def test_store(args):
    a = corpus(args, "example-go127-linux-amd64")
    b = corpus(args, "example-go122-linux-amd64")
    ok = True

    def check(cond, what):
        nonlocal ok
        print(f"{'ok  ' if cond else 'FAIL'} {what}")
        ok &= bool(cond)

    with Cache() as cache, tempfile.TemporaryDirectory() as d:
        bin_path = os.path.join(d, "prog")
        shutil.copy(a, bin_path)
        # lookup before any build builds the index first
        p = dlvidx(args, "lookup", bin_path, "main.go:1", cache=cache, check=False)
        check(p.returncode == 2 and "could not find" in p.stdout, "lookup builds the index first, then answers")
        r = json.loads(dlvidx(args, "build", "--reuse", "--json", bin_path, cache=cache).stdout)
        check(not r["built"] and r["source"] == "shared memory", "second open comes from shared memory")
        shm = f"/dev/shm/{r['location']}"
        check(os.stat(shm).st_mode & 0o777 == 0o600, "shared memory object is 0600")
        cache_file = os.path.join(cache.dir, r["key"] + ".idx")
        check(os.stat(cache_file).st_mode & 0o777 == 0o600, "cache file is 0600")
        os.unlink(shm)
        r2 = json.loads(dlvidx(args, "build", "--reuse", "--json", bin_path, cache=cache).stdout)
        check(not r2["built"] and os.path.exists(shm), "without shared memory: loaded from the cache file and republished")
        # Same path, other binary: a new key, a new index; the old one is never used for it.
        shutil.copy(b, bin_path)
        r3 = json.loads(dlvidx(args, "build", "--reuse", "--json", bin_path, cache=cache).stdout)
        # (Built here, or opened if a concurrent test published that binary's index.)
        check(r3["key"] != r["key"] and os.path.exists(os.path.join(cache.dir, r3["key"] + ".idx")),
              "a different binary at the same path gets its own index")
        # Corrupt cache file: detected, rebuilt.
        os.unlink(f"/dev/shm/{r3['location']}")
        f3 = os.path.join(cache.dir, r3["key"] + ".idx")
        raw = bytearray(open(f3, "rb").read())
        raw[len(raw) // 2] ^= 0xff
        open(f3, "wb").write(raw)
        r4 = json.loads(dlvidx(args, "build", "--reuse", "--json", bin_path, cache=cache).stdout)
        check(r4["built"] and any("checksum" in n for n in r4["notes"]), "a corrupt cache file is detected and rebuilt")
        # Two builders racing on one binary leave one valid index.
        for f in glob.glob(os.path.join(cache.dir, "*.idx")):
            p = f"/dev/shm/dlvidx-{os.geteuid()}-{os.path.basename(f)[:-4]}"
            if os.path.exists(p):
                os.unlink(p)
            os.unlink(f)
        res = []
        ts = [threading.Thread(target=lambda: res.append(dlvidx(args, "build", bin_path, cache=cache, check=False)))
              for _ in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        check(all(p.returncode == 0 for p in res), "4 concurrent builders all succeed")
        check(len(glob.glob(os.path.join(cache.dir, "*.idx"))) == 1 and not glob.glob(os.path.join(cache.dir, "*.tmp*")),
              "they leave exactly one cache file and no temp files")
        r5 = json.loads(dlvidx(args, "build", "--reuse", "--json", bin_path, cache=cache).stdout)
        check(not r5["built"], "and a valid index that the next open uses")

    # Deterministic output whatever the thread count.
    big = corpus(args, "cmdcompile-go127-linux-amd64")
    images = []
    for threads in ("1", "2", "5"):
        with Cache() as c:
            env = dict(os.environ, DLVIDX_THREADS=threads)
            p = subprocess.run([args.dlvidx, "build", "--json", "--cache-dir", c.dir, big], env=env,
                               capture_output=True, text=True, check=True)
            key = json.loads(p.stdout)["key"]
            images.append(open(os.path.join(c.dir, key + ".idx"), "rb").read())
    check(images[0] == images[1] == images[2], f"cmd/compile's index is byte-identical with 1, 2 and 5 threads "
          f"({len(images[0])} bytes)")
    sys.exit(0 if ok else 1)


def test_fat(args):
    """A universal (fat) Mach-O file: the slice is found, its rows equal Go's."""
    body = open(corpus(args, "example-go127-darwin-arm64"), "rb").read()
    align = 1 << 14
    header = (b"\xca\xfe\xba\xbe" + (1).to_bytes(4, "big") + (0x0100000c).to_bytes(4, "big") +
              (0).to_bytes(4, "big") + align.to_bytes(4, "big") + len(body).to_bytes(4, "big") +
              (14).to_bytes(4, "big"))
    ok = True
    with tempfile.TemporaryDirectory() as d, Cache() as cache:
        fat = os.path.join(d, "universal")
        with open(fat, "wb") as f:
            f.write(header + b"\0" * (align - len(header)) + body)
        theirs = subprocess.run([os.path.join(args.oracles, "rows"), fat, "--arch", "arm64"], capture_output=True,
                                text=True, check=True).stdout
        ours = subprocess.run([args.dlvidx, "rows", "--arch", "arm64", fat], capture_output=True, text=True,
                              check=True).stdout
        same = theirs == ours and len(ours) > 1000
        print(f"{'ok  ' if same else 'FAIL'} rows of the arm64 slice of a universal binary equal Go's ({len(ours)} bytes)")
        ok &= same
        p = dlvidx(args, "build", "--arch", "amd64", fat, cache=cache, check=False)
        want = "universal binary has no amd64 slice (it has: arm64); choose one with --arch"
        good = p.returncode == 1 and want in p.stderr
        print(f"{'ok  ' if good else 'FAIL'} --arch amd64: {p.stderr.strip()}")
        ok &= good
        r = json.loads(dlvidx(args, "build", "--json", "--arch", "arm64", fat, cache=cache).stdout)
        good = r["arch"] == "arm64" and r["format"] == "macho" and r["pie"] and r["keys"] > 1000
        print(f"{'ok  ' if good else 'FAIL'} --arch arm64 builds the index: {r['keys']} keys, PIE={r['pie']}")
        ok &= good
    sys.exit(0 if ok else 1)


def test_install(args):
    """cmake --install into a DESTDIR, and the .deb (cpack) installed with dpkg -i into a scratch root."""
    build = args.name
    ok = True

    def check(cond, what):
        nonlocal ok
        print(f"{'ok  ' if cond else 'FAIL'} {what}")
        ok &= bool(cond)

    with tempfile.TemporaryDirectory() as d:
        dest = os.path.join(d, "destdir")
        subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], env=dict(os.environ, DESTDIR=dest),
                       check=True, capture_output=True)
        exe, link = os.path.join(dest, "usr/bin/dlvidx"), os.path.join(dest, "usr/lib/dlvidx/dlv")
        v = subprocess.run([exe, "--version"], capture_output=True, text=True)
        check(v.returncode == 0 and v.stdout.startswith("dlvidx "), f"cmake --install: {v.stdout.strip()}")
        check(os.path.islink(link) and os.readlink(link) == "../../bin/dlvidx", "lib/dlvidx/dlv links to dlvidx")
        r = subprocess.run([link, "version"], capture_output=True, text=True)
        check(r.returncode == 0 and "Delve Debugger" in r.stdout, "as `dlv version` it runs the real dlv")
        r = subprocess.run([link, "dap", "--help"], capture_output=True, text=True)
        check(r.returncode == 0 and "resolving breakpoints from the index" in r.stdout, "as `dlv dap` it is the shim")

        subprocess.run(["cpack", "-G", "DEB"], cwd=build, check=True, capture_output=True)
        debs = sorted(f for f in os.listdir(build) if f.startswith("dlvidx_") and f.endswith(".deb"))
        check(debs and debs[-1].endswith("_amd64.deb") or debs and debs[-1].endswith("_arm64.deb"),
              f"cpack made {debs[-1] if debs else 'nothing'}")
        root = os.path.join(d, "root")
        for sub in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
            os.makedirs(os.path.join(root, sub))
        open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
        i = subprocess.run(["dpkg", f"--root={root}", "--force-depends", "--force-not-root", "-i",
                            os.path.join(build, debs[-1])], capture_output=True, text=True)
        check(i.returncode == 0, f"dpkg -i into a scratch root: exit {i.returncode} {i.stderr.strip()[:200]}")
        v = subprocess.run([os.path.join(root, "usr/bin/dlvidx"), "--version"], capture_output=True, text=True)
        check(v.returncode == 0 and v.stdout.startswith("dlvidx "), f"the installed dlvidx runs: {v.stdout.strip()}")
    sys.exit(0 if ok else 1)


def test_doctor(args):
    """dlvidx doctor on the cases issue #5 names, with Delve 1.27.1 and 1.20.2."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("delve120", os.path.join(os.path.dirname(args.corpus), "delve120.py"))
    d120 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(d120)
    ok = True

    def doctor(binary, cache, dlv=None):
        env = dict(os.environ, DLVIDX_DLV=dlv or args.dlv)
        p = subprocess.run([args.dlvidx, "doctor", "--json", "--cache-dir", cache.dir, binary], capture_output=True,
                           text=True, env=env)
        return p.returncode, {c["check"]: c for c in json.loads(p.stdout)["checks"]}

    def check(cond, what):
        nonlocal ok
        print(f"{'ok  ' if cond else 'FAIL'} {what}")
        ok &= bool(cond)

    with Cache() as cache, tempfile.TemporaryDirectory() as d:
        go122, go127 = corpus(args, "example-go122-linux-amd64"), corpus(args, "example-go127-linux-amd64")
        rc, c = doctor(go122, cache)
        check(rc == 0 and c["go version"]["status"] == "warn" and "--check-go-version=false" in c["go version"]["fix"],
              f"Go 1.22 binary, Delve 1.27.1: {c['go version']['fix']}")
        rc, c = doctor(go127, cache, d120.path())
        check(rc == 0 and c["go version"]["status"] == "warn" and "Delve 1.20 supports Go 1.18-1.20" in c["go version"]["fix"],
              f"Go 1.27 binary, Delve 1.20.2: {c['go version']['fix']}")
        rc, c = doctor(corpus(args, "example-go127-linux-amd64+stripped"), cache)
        check(rc == 1 and c["DWARF"]["status"] == "fail" and "-s -w" in c["DWARF"]["fix"], "stripped binary: blocks, says -s -w")
        rc, c = doctor(corpus(args, "example-go127-linux-arm64"), cache)
        check(rc == 1 and c["binary architecture"]["status"] == "fail" and "arm64" in c["binary architecture"]["detail"],
              f"arm64 binary on this host: {c['binary architecture']['detail']}")
        rc, c = doctor(corpus(args, "example-go127-linux-amd64+opt"), cache)
        check(c["optimizations"]["status"] == "warn", "optimized binary: warns that breakpoints may move")
        prog = os.path.join(d, "prog")

        def unique_copy(src):  # trailing bytes: a valid binary whose identity no index has yet
            shutil.copy(src, prog)
            with open(prog, "ab") as f:
                f.write(os.urandom(16))

        unique_copy(go127)
        rc, c = doctor(prog, cache)
        check(c["index"]["detail"] == "missing", "before dlvidx build: index missing")
        dlvidx(args, "build", prog, cache=cache)
        rc, c = doctor(prog, cache)
        check(c["index"]["detail"].startswith("fresh"), "after dlvidx build: index fresh")
        unique_copy(go122)
        rc, c = doctor(prog, cache)
        check(c["index"]["detail"].startswith("stale"), f"the binary rebuilt since: {c['index']['detail']}")
    sys.exit(0 if ok else 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlvidx", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--oracles", required=True)
    ap.add_argument("--dlv", default="dlv")
    ap.add_argument("test", choices=["rows", "delve", "errors", "store", "fat", "install", "doctor",
                                     "hostile-binaries", "hostile-indexes", "security"])
    ap.add_argument("name", nargs="?")
    args, extra = ap.parse_known_args()
    if args.test == "rows":
        test_rows(args)
    elif args.test == "delve":
        test_delve(args, extra)
    elif args.test == "errors":
        test_errors(args)
    elif args.test == "fat":
        test_fat(args)
    elif args.test == "install":
        test_install(args)
    elif args.test == "doctor":
        test_doctor(args)
    elif args.test in ("hostile-binaries", "hostile-indexes", "security"):
        sys.path.insert(0, HERE)
        import hostile
        if args.test == "hostile-binaries":
            ok = hostile.test_hostile_binaries(args, lambda n: corpus(args, n), args.name or "all")
        elif args.test == "hostile-indexes":
            ok = hostile.test_hostile_indexes(args, lambda n: corpus(args, n), args.name or "all")
        else:
            ok = hostile.test_security(args, lambda n: corpus(args, n))
        sys.exit(0 if ok else 1)
    else:
        test_store(args)


if __name__ == "__main__":
    main()
