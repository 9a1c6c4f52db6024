"""dlvidx's libdwarf reading == Go's debug/dwarf, row by row (--name NAME, a corpus binary)."""
import json
import os
import subprocess

from dlvtest.run import Cache


def test_rows(opts, corpus, name, dlvidx, tmp):
    binary = corpus(name)
    theirs, ours = tmp / "go.txt", tmp / "dlvidx.txt"
    with open(theirs, "w") as f:
        subprocess.run([os.path.join(opts.oracles, "rows"), binary], stdout=f, check=True)
    with open(ours, "w") as f:
        subprocess.run([opts.dlvidx, "rows", binary], stdout=f, check=True)
    n = sum(1 for _ in open(theirs))
    diff = subprocess.run(["diff", theirs, ours], capture_output=True, text=True)
    if diff.returncode != 0:
        print("\n".join(diff.stdout.splitlines()[:40]))
    assert diff.returncode == 0, f"{name}: rows differ from Go's debug/dwarf"
    print(f"{name}: {n} lines (CU headers and rows) identical to Go's debug/dwarf")


def test_moduledata_anchor(corpus, name, dlvidx):
    """The load-bias anchor of position-independent binaries: the index records runtime.firstmoduledata's
    link address; it must be the symbol's address."""
    binary = corpus(name)
    nm = subprocess.run(["/usr/lib/go-1.27/bin/go", "tool", "nm", binary], capture_output=True, text=True, check=True)
    sym = [int(ln.split()[0], 16) for ln in nm.stdout.splitlines() if ln.endswith(" runtime.firstmoduledata")]
    with Cache() as cache:
        got = int(json.loads(dlvidx("build", "--json", binary, cache=cache).stdout)["moduledata_addr"], 16)
    assert sym == [got], f"{name}: index moduledata_addr {got:#x}, go tool nm says {[hex(a) for a in sym]}"
    print(f"{name}: runtime.firstmoduledata at {got:#x}, as go tool nm says")
