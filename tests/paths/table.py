#!/usr/bin/python3
"""The README's table of breakpoints in path layouts, from a record of tests/paths/test_layouts.py.

    table.py RECORD.json                    print the table (Markdown)
    table.py RECORD.json --check README.md  exit 1 (with a diff) if README's table is not this one
    table.py RECORD.json --update README.md write it there

The table sits in README.md between the lines `<!-- paths-table:begin -->` and
`<!-- paths-table:end -->`. One row per case: layout | plain dlv | dlvidx. A cell says what the
adapter answered to setBreakpoints with the editor's path: "✓ verified" (dlvidx: and by which rule
it mapped the path), or "✗" and the start of its message, absolute paths cut to "…/base name".
"""
import argparse
import difflib
import json
import re
import sys

BEGIN = "<!-- paths-table:begin -->"
END = "<!-- paths-table:end -->"
WIDTH = 90  # characters of a message shown, at most

PATH = re.compile(r"(?<![\w.])/[^\s,:()\"']+")


def short(message, phrase=None):
    """The first sentence of message (or, with phrase, its clauses up to the one with phrase: they
    end at ": " and ". "), absolute paths as …/BASE, at most WIDTH characters."""
    m = message.strip()
    if phrase and phrase in m:
        end = re.search(r": |\. |$", m[m.index(phrase) + len(phrase):])
        m = m[:m.index(phrase) + len(phrase) + end.start()]
    m = PATH.sub(lambda p: "…/" + p.group(0).rstrip("/.").rsplit("/", 1)[-1], m)
    m = re.split(r"(?<=[^.])\. ", m, maxsplit=1)[0].rstrip(".")
    if len(m) > WIDTH:
        m = m[:WIDTH].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return m.replace("|", "\\|")


def dlv_cell(out):
    if not out:
        return "(not run)"
    if out.get("verified"):
        return "✓ verified"
    return "✗ " + (short(out.get("message") or "") or "not verified")


def dlvidx_cell(case):
    out = case.get("dlvidx")
    if not out:
        return "(not run)"
    msg = out.get("message") or ""
    phrase = (case.get("phrases") or [None])[0]
    has_phrases = all(p in msg for p in case.get("phrases") or [])
    if out.get("verified"):
        if case["expect"] == "bind" or case.get("warning"):
            if out.get("address_ok") is False or out.get("stop_ok") is False:
                return "✗ verified, but not where dlv stops for the recorded path"
        cell = f"✓ verified ({out.get('rule') or 'no rule logged'})"
        if msg:
            cell += ", warns: " + short(msg, phrase)
        return cell
    if case["expect"] == "message" and has_phrases:
        return "✗ " + short(msg, phrase)
    return "✗ " + (short(msg) or "not verified, no message")


def table(record):
    rows = ["| layout | plain dlv | dlvidx |", "|---|---|---|"]
    for name, case in record["cases"].items():
        rows.append(f"| {case['title'].replace('|', chr(92) + '|')} | {dlv_cell(case.get('dlv'))} | "
                    f"{dlvidx_cell(case)} |")
    return "\n".join(rows) + "\n"


def section(text):
    """(before, inside, after) of README text around the markers, or None."""
    b, e = text.find(BEGIN), text.find(END)
    if b < 0 or e < b:
        return None
    b += len(BEGIN)
    return text[:b], text[b:e], text[e:]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("record", help="the JSON written by test_layouts.py --record")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", metavar="README", help="exit 1 if README's table differs (prints a diff)")
    g.add_argument("--update", metavar="README", help="write the table into README")
    a = ap.parse_args(argv)
    with open(a.record) as f:
        t = table(json.load(f))
    readme = a.check or a.update
    if not readme:
        sys.stdout.write(t)
        return 0
    with open(readme) as f:
        text = f.read()
    parts = section(text)
    if parts is None:
        print(f"{readme}: no {BEGIN} ... {END} section", file=sys.stderr)
        return 1
    before, inside, after = parts
    if a.update:
        with open(readme, "w") as f:
            f.write(before + "\n" + t + after)
        print(f"{readme}: table updated")
        return 0
    if inside.strip() == t.strip():
        print(f"{readme}: the path-layout table is up to date")
        return 0
    diff = difflib.unified_diff(inside.strip().splitlines(), t.strip().splitlines(),
                                f"{readme} (now)", "from the run", lineterm="")
    print("\n".join(diff))
    print(f"{readme}: the path-layout table differs from the run: "
          f"tests/paths/table.py {a.record} --update {readme}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
