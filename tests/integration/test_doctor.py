"""dlvidx doctor on the cases issue #5 names (Go/Delve version mismatch, stripped, foreign architecture,
optimized, index state), with Delve 1.27.1 and 1.20.2."""
import importlib.util
import json
import os
import shutil
import subprocess

from dlvtest.run import Cache


def delve120(opts):
    """tests/corpus/delve120.py: bookworm's Delve 1.20.2, unpacked privately."""
    spec = importlib.util.spec_from_file_location("delve120", os.path.join(os.path.dirname(opts.corpus), "delve120.py"))
    d120 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(d120)
    return d120


def test_doctor(opts, corpus, dlvidx, checks, tmp):
    d120 = delve120(opts)
    check = checks

    def doctor(binary, cache, dlv=None):
        env = dict(os.environ, DLVIDX_DLV=dlv or opts.dlv)
        p = subprocess.run([opts.dlvidx, "doctor", "--json", "--cache-dir", cache.dir, binary], capture_output=True,
                           text=True, env=env)
        return p.returncode, {c["check"]: c for c in json.loads(p.stdout)["checks"]}

    with Cache() as cache:
        go122, go127 = corpus("example-go122-linux-amd64"), corpus("example-go127-linux-amd64")
        rc, c = doctor(go122, cache)
        check(rc == 0 and c["go version"]["status"] == "warn" and "--check-go-version=false" in c["go version"]["fix"],
              f"Go 1.22 binary, Delve 1.27.1: {c['go version']['fix']}")
        rc, c = doctor(go127, cache, d120.path())
        check(rc == 0 and c["go version"]["status"] == "warn" and "Delve 1.20 supports Go 1.18-1.20" in c["go version"]["fix"],
              f"Go 1.27 binary, Delve 1.20.2: {c['go version']['fix']}")
        rc, c = doctor(corpus("example-go127-linux-amd64+stripped"), cache)
        check(rc == 1 and c["DWARF"]["status"] == "fail" and "-s -w" in c["DWARF"]["fix"], "stripped binary: blocks, says -s -w")
        rc, c = doctor(corpus("example-go127-linux-arm64"), cache)
        check(rc == 1 and c["binary architecture"]["status"] == "fail" and "arm64" in c["binary architecture"]["detail"],
              f"arm64 binary on this host: {c['binary architecture']['detail']}")
        rc, c = doctor(corpus("example-go127-linux-amd64+opt"), cache)
        check(c["optimizations"]["status"] == "warn", "optimized binary: warns that breakpoints may move")
        prog = str(tmp / "prog")

        def unique_copy(src):  # trailing bytes: a valid binary whose identity no index has yet
            shutil.copy(src, prog)
            with open(prog, "ab") as f:
                f.write(os.urandom(16))

        unique_copy(go127)
        rc, c = doctor(prog, cache)
        check(c["index"]["detail"] == "missing", "before dlvidx build: index missing")
        dlvidx("build", prog, cache=cache)
        rc, c = doctor(prog, cache)
        check(c["index"]["detail"].startswith("fresh"), "after dlvidx build: index fresh")
        unique_copy(go122)
        rc, c = doctor(prog, cache)
        check(c["index"]["detail"].startswith("stale"), f"the binary rebuilt since: {c['index']['detail']}")
    checks.done()
