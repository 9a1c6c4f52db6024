"""The store: shared memory, cache file, staleness, concurrent builders; deterministic output."""
import glob
import json
import os
import shutil
import subprocess
import threading

from dlvtest.run import Cache, shm_name


def test_lifecycle(corpus, dlvidx, checks, tmp):
    a = corpus("example-go127-linux-amd64")
    b = corpus("example-go122-linux-amd64")
    check = checks

    def build_json(path, cache):
        return json.loads(dlvidx("build", "--reuse", "--json", path, cache=cache).stdout)

    with Cache() as cache:
        bin_path = str(tmp / "prog")
        shutil.copy(a, bin_path)
        # lookup before any build builds the index first
        p = dlvidx("lookup", bin_path, "main.go:1", cache=cache, check=False)
        check(p.returncode == 2 and "could not find" in p.stdout, "lookup builds the index first, then answers")
        r = build_json(bin_path, cache)
        check(not r["built"] and r["source"] == "shared memory", "second open comes from shared memory")
        shm = f"/dev/shm/{r['location']}"
        check(os.stat(shm).st_mode & 0o777 == 0o600, "shared memory object is 0600")
        cache_file = os.path.join(cache.dir, r["key"] + ".idx")
        check(os.stat(cache_file).st_mode & 0o777 == 0o600, "cache file is 0600")
        os.unlink(shm)
        r2 = build_json(bin_path, cache)
        check(not r2["built"] and os.path.exists(shm), "without shared memory: loaded from the cache file and republished")
        # Same path, other binary: a new key, a new index; the old one is never used for it.
        shutil.copy(b, bin_path)
        r3 = build_json(bin_path, cache)
        # (Built here, or opened if a concurrent test published that binary's index.)
        check(r3["key"] != r["key"] and os.path.exists(os.path.join(cache.dir, r3["key"] + ".idx")),
              "a different binary at the same path gets its own index")
        # Corrupt cache file: detected, rebuilt.
        os.unlink(f"/dev/shm/{r3['location']}")
        f3 = os.path.join(cache.dir, r3["key"] + ".idx")
        raw = bytearray(open(f3, "rb").read())
        raw[len(raw) // 2] ^= 0xff
        open(f3, "wb").write(raw)
        r4 = build_json(bin_path, cache)
        check(r4["built"] and any("checksum" in n for n in r4["notes"]), "a corrupt cache file is detected and rebuilt")
        # Two builders racing on one binary leave one valid index.
        for f in glob.glob(os.path.join(cache.dir, "*.idx")):
            p = shm_name(os.path.basename(f)[:-4])
            if os.path.exists(p):
                os.unlink(p)
            os.unlink(f)
        res = []
        ts = [threading.Thread(target=lambda: res.append(dlvidx("build", bin_path, cache=cache, check=False)))
              for _ in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        check(all(p.returncode == 0 for p in res), "4 concurrent builders all succeed")
        check(len(glob.glob(os.path.join(cache.dir, "*.idx"))) == 1 and not glob.glob(os.path.join(cache.dir, "*.tmp*")),
              "they leave exactly one cache file and no temp files")
        r5 = build_json(bin_path, cache)
        check(not r5["built"], "and a valid index that the next open uses")
    checks.done()


def test_deterministic(opts, corpus, checks):
    """Deterministic output whatever the thread count."""
    big = corpus("cmdcompile-go127-linux-amd64")
    images = []
    for threads in ("1", "2", "5"):
        with Cache() as c:
            env = dict(os.environ, DLVIDX_THREADS=threads)
            p = subprocess.run([opts.dlvidx, "build", "--json", "--cache-dir", c.dir, big], env=env,
                               capture_output=True, text=True, check=True)
            key = json.loads(p.stdout)["key"]
            images.append(open(os.path.join(c.dir, key + ".idx"), "rb").read())
    checks(images[0] == images[1] == images[2], f"cmd/compile's index is byte-identical with 1, 2 and 5 threads "
           f"({len(images[0])} bytes)")
    checks.done()
