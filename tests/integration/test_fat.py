"""A universal (fat) Mach-O file: the slice is found, its rows equal Go's; slice selection, --arch."""
import json
import os
import subprocess

from dlvtest import objfile
from dlvtest.run import Cache


def test_universal_macho(opts, corpus, dlvidx, checks, tmp):
    body = open(corpus("example-go127-darwin-arm64"), "rb").read()
    fat = str(tmp / "universal")
    with open(fat, "wb") as f:
        f.write(objfile.make_fat([(objfile.CPU_ARM64, body)]))
    with Cache() as cache:
        theirs = subprocess.run([os.path.join(opts.oracles, "rows"), fat, "--arch", "arm64"], capture_output=True,
                                text=True, check=True).stdout
        ours = subprocess.run([opts.dlvidx, "rows", "--arch", "arm64", fat], capture_output=True, text=True,
                              check=True).stdout
        checks(theirs == ours and len(ours) > 1000,
               f"rows of the arm64 slice of a universal binary equal Go's ({len(ours)} bytes)")
        p = dlvidx("build", "--arch", "amd64", fat, cache=cache, check=False)
        want = "universal binary has no amd64 slice (it has: arm64); choose one with --arch"
        checks(p.returncode == 1 and want in p.stderr, f"--arch amd64: {p.stderr.strip()}")
        r = json.loads(dlvidx("build", "--json", "--arch", "arm64", fat, cache=cache).stdout)
        checks(r["arch"] == "arm64" and r["format"] == "macho" and r["pie"] and r["keys"] > 1000,
               f"--arch arm64 builds the index: {r['keys']} keys, PIE={r['pie']}")
    checks.done()
