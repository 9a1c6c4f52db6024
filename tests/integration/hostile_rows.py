"""Reliability rows of the hostile-input tests (issue #6): one Row per kind of input, counting its
cases, the handled ones, crashes, hangs and leaks; report() prints them and writes the suite's records
for docs/reliability.md (dlvtest.reliability: $DLVIDX_RELIABILITY_DIR/<suite>.json)."""
from dlvtest.reliability import FIELDS, write_records

MiB = 1 << 20


class Row:
    def __init__(self, area, case):
        self.area, self.case = area, case
        self.cases = self.handled = self.crashes = self.hangs = self.leaks = 0
        self.failures = []
        self.samples = []  # a few messages of handled cases, for the log
        self.peak_kb = 0
        self.result = ""

    def add(self, ok, label, why="", results=()):
        self.cases += 1
        crashed = any(r.crashed for r in results)
        hung = any(r.timed_out for r in results)
        leaked = any(r.leaked for r in results)
        for r in results:
            self.peak_kb = max(self.peak_kb, r.rss_kb)
        self.crashes += crashed
        self.hangs += hung
        self.leaks += leaked
        ok = ok and not crashed and not hung and not leaked
        self.handled += ok
        if ok and results and self.cases % 37 == 1 and len(self.samples) < 4 and results[0].err.strip():
            self.samples.append(f"{label}: {results[0].err.strip().splitlines()[0][:240]}")
        if not ok:
            detail = why
            for r in results:
                if r.crashed or r.timed_out or r.leaked:
                    detail += f" [{'hang' if r.timed_out else 'crash'} rc={r.rc}: {r.err.strip()[-300:]}]"
            self.failures.append(f"{label}: {detail}")
        return ok

    def record(self):
        return {k: getattr(self, k) for k in FIELDS}


class Guard:
    """A test step that raises (a regression can leave files the test did not expect) counts as one
    failed case instead of ending the suite."""

    def __init__(self, row):
        self.row = row

    def __enter__(self):
        return self

    def __exit__(self, typ, e, tb):
        if e is not None and issubclass(typ, Exception):
            self.row.add(False, "test step", f"{typ.__name__}: {e}")
            return True
        return False




def report(suite, rows):
    """Prints every row; writes the records. Returns the rows that did not handle every case."""
    failed = []
    for r in rows:
        good = r.handled == r.cases
        if not good:
            failed.append(f"[{r.area}] {r.case}: {r.handled}/{r.cases} handled")
        print(f"{'ok  ' if good else 'FAIL'} [{r.area}] {r.case}: {r.handled}/{r.cases} handled, "
              f"{r.crashes} crashes, {r.hangs} hangs, {r.leaks} leaks; {r.result}")
        for m in r.samples:
            print(f"       e.g. {m}")
        for f in r.failures[:15]:
            print(f"       FAILED {f}")
        if len(r.failures) > 15:
            print(f"       ... {len(r.failures) - 15} more")
    write_records(suite, [r.record() for r in rows])
    total = sum(r.cases for r in rows)
    print(f"{suite}: {sum(r.handled for r in rows)}/{total} inputs handled")
    return failed
