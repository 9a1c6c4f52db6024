"""The test corpus's binaries (tests/corpus/corpus.py builds and caches them)."""

import sys

from dlvtest.procs import run_own


class Corpus:
    """Paths of test corpus binaries (tests/corpus/corpus.py builds and
    caches them), asked once each."""

    def __init__(self, corpus_py):
        self.corpus_py = corpus_py
        self._bins = {}

    def path(self, name, timeout=900):
        if name not in self._bins:
            out = run_own([sys.executable, self.corpus_py, "path", name], timeout=timeout)
            if out.returncode != 0:
                raise RuntimeError(f"corpus build of {name} failed:\n{out.stderr}")
            self._bins[name] = out.stdout.strip()
        return self._bins[name]
