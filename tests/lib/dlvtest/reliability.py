"""Reliability records: each group writes one JSON file of rows into $DLVIDX_RELIABILITY_DIR, which
tests/reliability/report.py turns into docs/reliability.md."""
import json
import os

FIELDS = ("area", "case", "cases", "handled", "crashes", "hangs", "leaks", "result")


def write_records(suite, rows):
    """rows: dicts with FIELDS (and optional extras, such as "dlv"). Nothing is written unless
    DLVIDX_RELIABILITY_DIR is set."""
    out = os.environ.get("DLVIDX_RELIABILITY_DIR")
    if not out:
        return None
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{suite}.json")
    with open(path, "w") as f:
        json.dump({"suite": suite, "rows": list(rows)}, f, indent=1)
        f.write("\n")
    return path
