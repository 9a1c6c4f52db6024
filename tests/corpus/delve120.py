#!/usr/bin/env python3
"""Prints the path of Delve 1.20.2 (Debian bookworm's `delve` package), unpacked
privately under the user's cache directory with `apt-get download` + `dpkg -x`
the first time. The installed dlv (sid, 1.27.1) is not touched. Exit status 1
with a message if the package cannot be had."""
import os, subprocess, sys, tempfile

VERSION = "1.20.2-1+deb12u1"


def path():
    base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dlvidx", "delve-1.20.2")
    dlv = os.path.join(base, "usr", "bin", "dlv")
    if os.path.exists(dlv):
        return dlv
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(["apt-get", "download", f"delve={VERSION}"], cwd=d, capture_output=True, text=True)
        debs = [f for f in os.listdir(d) if f.endswith(".deb")]
        if r.returncode != 0 or not debs:
            raise RuntimeError(f"apt-get download delve={VERSION} failed: {r.stderr.strip()[:300]}")
        tmp = base + ".tmp"
        subprocess.run(["rm", "-rf", tmp], check=True)
        os.makedirs(tmp)
        subprocess.run(["dpkg", "-x", os.path.join(d, debs[0]), tmp], check=True)
        os.replace(tmp, base)
    return dlv


if __name__ == "__main__":
    try:
        print(path())
    except Exception as e:
        sys.exit(f"delve120: {e}")
