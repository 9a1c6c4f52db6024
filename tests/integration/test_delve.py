"""dlvidx lookup == dlv's own answer (CreateBreakpoint over JSON-RPC), by tests/oracle/compare_with_dlv.py
(--name NAME; --nonstmt-files, --sample, --whole-files-matching, --recheck, --arm64 BUILD pass through).
With --arm64 BUILD_DIR the arm64 dlvoracle asks the arm64 dlv in an emulated machine."""
import os
import subprocess
import sys

from dlvtest.run import Cache

HERE = os.path.dirname(os.path.abspath(__file__))


def test_delve(opts, corpus, name):
    binary = corpus(name)
    dlv_args = ["--dlv-arg=--check-go-version=false"] if "-go122-" in name else []
    oracle = os.path.join(opts.oracles, "arm64", "dlvoracle") if "--arm64" in opts.delve else \
        os.path.join(opts.oracles, "dlvoracle")
    cmd = [sys.executable, os.path.join(HERE, "..", "oracle", "compare_with_dlv.py"),
           "--dlvidx", opts.dlvidx, "--rows", os.path.join(opts.oracles, "rows"),
           "--dlvoracle", oracle, "--dlv", opts.dlv] + dlv_args + opts.delve + [binary]
    with Cache() as cache:
        cache.forget(opts.dlvidx, binary)
        rc = subprocess.run(cmd).returncode
    assert rc == 0, f"compare_with_dlv.py exited {rc}"
