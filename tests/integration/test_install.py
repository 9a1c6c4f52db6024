"""Installing: cmake --install into a DESTDIR (dlvidx and lib/dlvidx/dlv), and the .deb (cpack) installed
with dpkg -i into a scratch root (--build DIR: the build tree)."""
import os
import subprocess

import pytest


@pytest.fixture
def build(opts):
    if not opts.build:
        pytest.skip("no --build DIR")
    return opts.build


def test_cmake_install(build, checks, tmp):
    dest = str(tmp / "destdir")
    subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], env=dict(os.environ, DESTDIR=dest),
                   check=True, capture_output=True)
    exe, link = os.path.join(dest, "usr/bin/dlvidx"), os.path.join(dest, "usr/lib/dlvidx/dlv")
    v = subprocess.run([exe, "--version"], capture_output=True, text=True)
    checks(v.returncode == 0 and v.stdout.startswith("dlvidx "), f"cmake --install: {v.stdout.strip()}")
    checks(os.path.islink(link) and os.readlink(link) == "../../bin/dlvidx", "lib/dlvidx/dlv links to dlvidx")
    r = subprocess.run([link, "version"], capture_output=True, text=True)
    checks(r.returncode == 0 and "Delve Debugger" in r.stdout, "as `dlv version` it runs the real dlv")
    r = subprocess.run([link, "dap", "--help"], capture_output=True, text=True)
    checks(r.returncode == 0 and "resolving breakpoints from the index" in r.stdout, "as `dlv dap` it is the shim")
    checks.done()


def test_deb(build, checks, tmp):
    subprocess.run(["cpack", "-G", "DEB"], cwd=build, check=True, capture_output=True)
    debs = sorted(f for f in os.listdir(build) if f.startswith("dlvidx_") and f.endswith(".deb"))
    checks(debs and debs[-1].endswith("_amd64.deb") or debs and debs[-1].endswith("_arm64.deb"),
           f"cpack made {debs[-1] if debs else 'nothing'}")
    root = str(tmp / "root")
    for sub in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
        os.makedirs(os.path.join(root, sub))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    i = subprocess.run(["dpkg", f"--root={root}", "--force-depends", "--force-not-root", "-i",
                        os.path.join(build, debs[-1])], capture_output=True, text=True)
    checks(i.returncode == 0, f"dpkg -i into a scratch root: exit {i.returncode} {i.stderr.strip()[:200]}")
    v = subprocess.run([os.path.join(root, "usr/bin/dlvidx"), "--version"], capture_output=True, text=True)
    checks(v.returncode == 0 and v.stdout.startswith("dlvidx "), f"the installed dlvidx runs: {v.stdout.strip()}")
    checks.done()
