#!/usr/bin/env python3
"""Build and cache the Go binaries that dlvidx's tests and benchmarks use.

Usage:
    corpus.py path NAME [NAME...]   build each NAME unless cached; print one
                                    absolute binary path per line on stdout
    corpus.py env NAME [NAME...]    print one JSON object per NAME:
                                    {path, go, goos, goarch, flags, source_dir}
                                    (does not build; "path" is where it will be)
    corpus.py rebuild NAME [NAME...]  like path, but always rebuild, with
                                    `go build -a` (refreshes Go's build cache)
    corpus.py source NAME [NAME...] print each NAME's source directory, one a
                                    line (for gen: generating it if needed)
    corpus.py list                  print every known NAME

NAME is PROG-GO-GOOS-GOARCH[+VARIANT...], for example
    example-go127-linux-amd64
    cmdcompile-go122-darwin-arm64+nocompress
    example-go127-linux-amd64+opt+trimpath
with
    PROG     example (tests/fixtures/example), cmdgo ($GOROOT/src/cmd/go),
             cmdcompile ($GOROOT/src/cmd/compile),
             gen (a ~10,000-line, 8-package program that gen_program.py
             writes, deterministically, into the cache: see below),
             genbig (the same generator at service scale: ~2.9 M lines in
             500 packages, about 5x cmd/compile's DWARF),
             etcd (the etcd 3.4 server, built in GOPATH mode from Debian's
             golang-etcd-server-dev sources in /usr/share/gocode: see below)
    GO       go127 (/usr/lib/go-1.27/bin/go), go122 (/usr/lib/go-1.22/bin/go);
             $DLVIDX_GO127 / $DLVIDX_GO122 name another go binary (macOS: Homebrew's)
    VARIANT  opt        optimized: drop the default -gcflags=all=-N -l
             nocompress -ldflags=-compressdwarf=false
             stripped   -ldflags=-s -w
             trimpath   -trimpath
             pie        -buildmode=pie (position-independent: loaded at a random base)

Binaries are cached under ${XDG_CACHE_HOME:-$HOME/.cache}/dlvidx/corpus/,
keyed by a sha256 of the exact `go version` output, GOOS, GOARCH, PROG, the
full go build flag list, the absolute source directory (it is recorded in
the DWARF) and, for `example`, the content of every file under
tests/fixtures/example.  A per-key flock makes concurrent callers asking for
the same binary build it only once.

gen: `gen_program.py DIR --lines 10000 --seed 1` generates the sources into
DIR = .../corpus/src/gen-<digest>/gen/ (genbig: its own arguments, into
.../src/genbig-<digest>/gen/; so source paths end in gen/main.go,
gen/p0/p0.go, ...), <digest> a sha256 of gen_program.py's bytes, the names
and bytes of its Go templates (tests/corpus/templates/*.go.tmpl) and those
arguments (the generator is deterministic, so that digest stands for
the sources; it is in the binary's key too).  The directory is generated once,
under a lock, into a temporary name that is then renamed; it is never
modified afterwards.  `env` reports it without generating it; `source` and
`path` generate it.

etcd: `go build` of go.etcd.io/etcd (package main: etcdmain.Main) with
GO111MODULE=off GOPATH=/usr/share/gocode, in the source directory
/usr/share/gocode/src/go.etcd.io/etcd.  Needs the Debian package
golang-etcd-server-dev (tools/install-deps.sh installs it), which brings its
dependencies as golang-*-dev packages.  Its key adds the import path and
directory of every non-standard package in the build (`go list -deps` for
that GOOS/GOARCH), the Debian package and version owning each of their
compiled files (dpkg -S, dpkg-query -W), and the content of any such file no
package owns.  GOPATH is only read; objects go to Go's build cache.

Go's own build cache is left at its default, so a package compiled for one
variant is reused by the others.  Builds run with cwd and $PWD set to the
source directory, as after a shell `cd`, so all DWARF paths keep the
unresolved $GOROOT prefix (/usr/lib/go-1.27/src/...) although Debian's
$GOROOT/src is a symlink to /usr/share/go-1.27/src.  Caveat: Go's cache key
for GOROOT packages ignores their directory, so cmd/* objects cached by a
build that ran in the resolved /usr/share/... directory are reused as they
are and put /usr/share/... paths into cmd/* DWARF; `rebuild` cures that.

Progress goes to stderr; stdout carries only the requested output.
Exit status: 0 ok, 1 build failure (go's stderr is shown), 2 usage error.
"""

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO / "tests" / "fixtures" / "example"
GEN_SCRIPT = Path(__file__).resolve().parent / "gen_program.py"
GEN_TEMPLATES = GEN_SCRIPT.parent / "templates"  # *.go.tmpl, read by gen_program.py
GEN_ARGS = {"gen": ["--lines", "10000", "--seed", "1"],
            "genbig": ["--lines", "2900000", "--seed", "1", "--packages", "500"]}
ETCD_GOPATH = Path("/usr/share/gocode")
ETCD_PKG = "go.etcd.io/etcd"
ETCD_DEB = "golang-etcd-server-dev"

# Debian's paths; $DLVIDX_GO127 / $DLVIDX_GO122 override them where Go lives elsewhere (macOS).
TOOLCHAINS = {
    "go127": os.environ.get("DLVIDX_GO127") or "/usr/lib/go-1.27/bin/go",
    "go122": os.environ.get("DLVIDX_GO122") or "/usr/lib/go-1.22/bin/go",
}
PLATFORMS = ["linux-amd64", "linux-arm64", "darwin-arm64"]
PROGS = ["example", "cmdgo", "cmdcompile", "gen", "genbig", "etcd"]
# Canonical order; a NAME may list variants in any order.
VARIANTS = ["opt", "nocompress", "stripped", "trimpath", "pie"]

# Environment variables that would change the build but are not part of the
# cache key; they are removed from the build environment.
SCRUBBED_ENV = ["GOFLAGS", "GOROOT", "GOEXPERIMENT", "GOAMD64", "GOARM64",
                "GOARM", "GO386", "GODEBUG", "CC", "CXX", "CGO_CFLAGS",
                "CGO_LDFLAGS", "GO111MODULE"]


class UsageError(Exception):
    pass


class BuildError(Exception):
    pass


def log(msg):
    print(f"corpus: {msg}", file=sys.stderr, flush=True)


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return Path(base) / "dlvidx" / "corpus"


def parse_name(name):
    """Split NAME into (prog, go, goos, goarch, [variants]) or raise."""
    base, *variants = name.split("+")
    parts = base.split("-")
    if len(parts) != 4:
        raise UsageError(f"bad corpus name {name!r}: want PROG-GO-GOOS-GOARCH[+VARIANT...]")
    prog, go, goos, goarch = parts
    if prog not in PROGS:
        raise UsageError(f"unknown program {prog!r} in {name!r} (known: {', '.join(PROGS)})")
    if go not in TOOLCHAINS:
        raise UsageError(f"unknown toolchain {go!r} in {name!r} (known: {', '.join(TOOLCHAINS)})")
    if f"{goos}-{goarch}" not in PLATFORMS:
        raise UsageError(f"unknown platform {goos}-{goarch} in {name!r} (known: {', '.join(PLATFORMS)})")
    for v in variants:
        if v not in VARIANTS:
            raise UsageError(f"unknown variant {v!r} in {name!r} (known: {', '.join(VARIANTS)})")
    if len(set(variants)) != len(variants):
        raise UsageError(f"repeated variant in {name!r}")
    return prog, go, goos, goarch, [v for v in VARIANTS if v in variants]


def build_flags(variants):
    """The go build flags (before -o) for a variant set."""
    flags = []
    if "opt" not in variants:
        flags.append("-gcflags=all=-N -l")
    # go build keeps only the last -ldflags, so merge them into one.
    ld = []
    if "nocompress" in variants:
        ld.append("-compressdwarf=false")
    if "stripped" in variants:
        ld += ["-s", "-w"]
    if ld:
        flags.append("-ldflags=" + " ".join(ld))
    if "trimpath" in variants:
        flags.append("-trimpath")
    if "pie" in variants:
        flags.append("-buildmode=pie")
    return flags


def build_env(goos, goarch, prog=None):
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(CGO_ENABLED="0", GOTOOLCHAIN="local", GOPROXY="off",
               GOWORK="off", GOOS=goos, GOARCH=goarch)
    if prog == "etcd":
        env.update(GO111MODULE="off", GOPATH=str(ETCD_GOPATH))
    return env


_version_cache = {}


def go_version(gobin):
    if gobin not in _version_cache:
        env = build_env("linux", "amd64")
        out = subprocess.run([gobin, "version"], env=env, check=True,
                             capture_output=True, text=True).stdout
        _version_cache[gobin] = out.strip()
    return _version_cache[gobin]


_goroot_cache = {}


def goroot(gobin):
    """The toolchain's own idea of GOROOT (not symlink-resolved)."""
    if gobin not in _goroot_cache:
        out = subprocess.run([gobin, "env", "GOROOT"], env=build_env("linux", "amd64"),
                             check=True, capture_output=True, text=True).stdout
        _goroot_cache[gobin] = Path(out.strip())
    return _goroot_cache[gobin]


def gen_digest(prog="gen"):
    """sha256 of the generator, its templates and prog's arguments: it names prog's sources."""
    h = hashlib.sha256(GEN_SCRIPT.read_bytes())
    for t in sorted(GEN_TEMPLATES.glob("*.go.tmpl")):
        h.update(b"\0" + t.name.encode() + b"\0" + t.read_bytes())
    h.update(json.dumps(GEN_ARGS[prog]).encode())
    return h.hexdigest()


def gen_source_dir(prog="gen"):
    return cache_dir() / "src" / f"{prog}-{gen_digest(prog)[:16]}" / "gen"


def ensure_gen_source(prog="gen"):
    """Generate prog's (gen, genbig) sources unless present; return their directory."""
    src = gen_source_dir(prog)
    final = src.parent  # .../src/<prog>-<digest>, renamed into place complete
    if final.is_dir():
        return src
    final.parent.mkdir(parents=True, exist_ok=True)
    lock_dir = cache_dir() / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / (final.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.is_dir():
            return src
        tmp = Path(tempfile.mkdtemp(prefix=f".{prog}-", dir=final.parent))
        try:
            cmd = [sys.executable, str(GEN_SCRIPT), str(tmp / src.name), *GEN_ARGS[prog]]
            start = time.monotonic()
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                raise BuildError(f"gen_program.py failed (exit {proc.returncode}):\n"
                                 f"{proc.stdout}{proc.stderr}")
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
            os.replace(tmp, final)
            log(f"generated {prog} sources in {time.monotonic() - start:.2f}s -> {src}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return src


_etcd_cache = {}


def etcd_sources(gobin, goos, goarch):
    """What etcd's build reads outside GOROOT, for the cache key.

    Returns {"packages": [[import path, dir], ...], "debs": {package: version},
    "unowned": {file: sha256}} over every non-standard package in the build.
    """
    ck = (gobin, goos, goarch)
    if ck in _etcd_cache:
        return _etcd_cache[ck]
    src = ETCD_GOPATH / "src" / ETCD_PKG
    if not (src / "main.go").is_file():
        raise BuildError(f"{src}/main.go is missing: install the Debian package {ETCD_DEB} "
                         f"(apt-get install {ETCD_DEB}, or tools/install-deps.sh)")
    fmt = ('{{if not .Standard}}P {{.ImportPath}} {{.Dir}}\n'
           '{{range .GoFiles}}F {{$.Dir}}/{{.}}\n{{end}}'
           '{{range .SFiles}}F {{$.Dir}}/{{.}}\n{{end}}'
           '{{range .EmbedFiles}}F {{$.Dir}}/{{.}}\n{{end}}{{end}}')
    proc = subprocess.run([gobin, "list", "-deps", "-f", fmt, ETCD_PKG], cwd=src,
                          env=build_env(goos, goarch, "etcd"), capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"go list -deps {ETCD_PKG} failed (exit {proc.returncode}):\n{proc.stderr}")
    packages, files = [], []
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "P":
            packages.append(rest.split(" ", 1))
        elif kind == "F":
            files.append(os.path.realpath(rest))
    owner = {}
    # dpkg -S exits 1 when some file has no owner; the others are still listed.
    out = subprocess.run(["dpkg", "-S", *files], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pkgs, sep, path = line.partition(": ")
        if sep and "," not in pkgs and not pkgs.startswith("diversion by "):
            owner[path] = pkgs
    debs = {}
    names = sorted(set(owner.values()))
    if names:
        q = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n", *names],
                           capture_output=True, text=True)
        for line in q.stdout.splitlines():
            name, _, version = line.partition("\t")
            debs[name] = version
    if ETCD_DEB not in debs:
        raise BuildError(f"{ETCD_DEB} does not own {src}: is it installed? (dpkg -S said: {out[:300]})")
    unowned = {f: hashlib.sha256(Path(f).read_bytes()).hexdigest()
               for f in sorted(set(files)) if f not in owner}
    _etcd_cache[ck] = {"packages": packages, "debs": debs, "unowned": unowned}
    return _etcd_cache[ck]


def tree_digest(root):
    """sha256 over the relative paths and contents of every file under root."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            h.update(str(p.relative_to(root)).encode() + b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


class Spec:
    """Everything needed to build (or find) one corpus binary."""

    def __init__(self, name):
        self.name = name
        self.prog, self.go, self.goos, self.goarch, self.variants = parse_name(name)
        self.gobin = TOOLCHAINS[self.go]
        if not os.access(self.gobin, os.X_OK):
            raise UsageError(f"toolchain {self.go} not installed at {self.gobin}")
        self.flags = build_flags(self.variants)
        if self.prog == "example":
            self.source_dir = EXAMPLE_DIR
        elif self.prog in GEN_ARGS:
            self.source_dir = gen_source_dir(self.prog)
        elif self.prog == "etcd":
            self.source_dir = ETCD_GOPATH / "src" / ETCD_PKG
        else:
            sub = {"cmdgo": "go", "cmdcompile": "compile"}[self.prog]
            self.source_dir = goroot(self.gobin) / "src" / "cmd" / sub

    def key(self):
        if getattr(self, "_key", None):
            return self._key
        material = {
            "go_version": go_version(self.gobin),
            "goos": self.goos,
            "goarch": self.goarch,
            "prog": self.prog,
            "flags": self.flags,
            # The absolute source path ends up in the DWARF file names.
            "source_dir": str(self.source_dir),
        }
        if self.prog == "example":
            material["source"] = tree_digest(self.source_dir)
        elif self.prog in GEN_ARGS:
            material["source"] = {"generator": gen_digest(self.prog), "args": GEN_ARGS[self.prog]}
        elif self.prog == "etcd":
            material["source"] = etcd_sources(self.gobin, self.goos, self.goarch)
            material["env"] = {"GO111MODULE": "off", "GOPATH": str(ETCD_GOPATH)}
        blob = json.dumps(material, sort_keys=True).encode()
        self._key = hashlib.sha256(blob).hexdigest()
        return self._key

    def ensure_source(self):
        """Make sure source_dir exists (generating gen's sources); return it."""
        if self.prog in GEN_ARGS:
            return ensure_gen_source(self.prog)
        if self.prog == "etcd":
            etcd_sources(self.gobin, self.goos, self.goarch)  # checks the package
        return self.source_dir

    def path(self):
        # Canonical name (variants in fixed order) + key prefix: readable and
        # distinct for every key.
        canon = "+".join([f"{self.prog}-{self.go}-{self.goos}-{self.goarch}", *self.variants])
        return cache_dir() / f"{canon}.{self.key()[:16]}"

    def env_json(self):
        return {
            "path": str(self.path()),
            "go": self.gobin,
            "goos": self.goos,
            "goarch": self.goarch,
            "flags": self.flags,
            "source_dir": str(self.source_dir),
        }


def ensure_built(spec, force=False):
    """Return the path of spec's binary, building it first if needed.

    force rebuilds it with `go build -a`, which also overwrites the objects
    in Go's build cache (see the PWD note below).
    """
    out = spec.path()
    if out.exists() and not force:
        return out
    spec.ensure_source()
    lock_dir = out.parent / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock_path = lock_dir / (out.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists() and not force:  # someone else built it meanwhile
            return out
        tmpdir = Path(tempfile.mkdtemp(prefix=".build-", dir=out.parent))
        try:
            tmp_out = tmpdir / spec.prog
            cmd = [spec.gobin, "build", *(["-a"] if force else []), *spec.flags,
                   "-o", str(tmp_out), "."]
            extra = " GO111MODULE=off GOPATH=" + str(ETCD_GOPATH) if spec.prog == "etcd" else ""
            log(f"building {spec.name}: (cd {spec.source_dir} && "
                f"GOOS={spec.goos} GOARCH={spec.goarch}{extra} {' '.join(map(repr, cmd))})")
            start = time.monotonic()
            env = build_env(spec.goos, spec.goarch, spec.prog)
            # Like a shell's cd. Without PWD, go sees the symlink-resolved cwd
            # (Debian: /usr/share/go-X/src/cmd/...), and cmd/* files get that
            # path in the DWARF while std keeps $GOROOT (/usr/lib/go-X/src).
            # Caveat: Go's build cache key for GOROOT packages ignores the
            # directory, so objects cached by such a build elsewhere are
            # reused as they are; `corpus.py rebuild NAME` overwrites them.
            env["PWD"] = str(spec.source_dir)
            proc = subprocess.run(cmd, cwd=spec.source_dir, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
            if proc.returncode != 0:
                raise BuildError(f"go build failed for {spec.name} "
                                 f"(exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
            os.replace(tmp_out, out)
            log(f"built {spec.name} in {time.monotonic() - start:.1f}s -> {out}")
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return out


def all_names():
    for prog, go, plat in itertools.product(PROGS, TOOLCHAINS, PLATFORMS):
        base = f"{prog}-{go}-{plat}"
        for n in range(len(VARIANTS) + 1):
            for combo in itertools.combinations(VARIANTS, n):
                yield "+".join([base, *combo])


def main(argv):
    if len(argv) < 1 or argv[0] in ("-h", "--help", "help"):
        print(__doc__, file=sys.stderr)
        return 2 if len(argv) < 1 else 0
    cmd, names = argv[0], argv[1:]
    try:
        if cmd == "list":
            for n in all_names():
                print(n)
            return 0
        if cmd not in ("path", "rebuild", "env", "source"):
            raise UsageError(f"unknown command {cmd!r} (want path, rebuild, env, source or list)")
        if not names:
            raise UsageError(f"{cmd}: at least one NAME required")
        specs = [Spec(n) for n in names]  # validate every name before building
        for spec in specs:
            if cmd in ("path", "rebuild"):
                print(ensure_built(spec, force=cmd == "rebuild"), flush=True)
            elif cmd == "source":
                print(spec.ensure_source(), flush=True)
            else:
                print(json.dumps(spec.env_json()), flush=True)
        return 0
    except UsageError as e:
        print(f"corpus: {e}", file=sys.stderr)
        return 2
    except BuildError as e:
        print(f"corpus: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
