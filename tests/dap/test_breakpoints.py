"""Breakpoints: lines without code (snapped by the shim), conditions, logpoints, hit conditions,
replacing and clearing, setting while running, breakpointLocations, every line of the example."""

import json
import os
import re
import time

import pytest

from dlvtest import dap
from dlvtest.example import BIN_127, EXAMPLE_DIR, MAIN_GO, SPIN_GO, WORK_GO, exec_launch, read_lines
from harness import STOP_TIMEOUT
from records import compare_records


def test_snap_lines(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    # (requested line, what it is, the next line with code in the same function)
    cases = [(L.blank_in_run, "blank line", L.mean),
             (L.store_comment, "// comment line", L.by_name),
             (L.brace_in_run, "lone }", L.work_println)]
    bps = s.set_bps(MAIN_GO, [n for n, _, _ in cases])
    t.require("one breakpoint per requested line", len(bps) == len(cases), json.dumps(bps))
    if t.kind == "dlv":
        for (n, what, _), b in zip(cases, bps):
            want = f"could not find statement at {MAIN_GO}:{n}, please use a line with a statement"
            t.check(f"{what} {n}: verified false", b.get("verified") is False, json.dumps(b))
            t.check(f"{what} {n}: message {want!r}", b.get("message") == want, json.dumps(b))
        s.configuration_done()
        s.expect_terminated("no breakpoint")
    else:
        for (n, what, target), b in zip(cases, bps):
            want = f"moved from line {n}: no statement on line {n}"
            t.check(f"{what} {n}: verified true", b.get("verified") is True, json.dumps(b))
            t.check(f"{what} {n}: line {target}", b.get("line") == target, json.dumps(b))
            t.check(f"{what} {n}: message {want!r}", b.get("message") == want, json.dumps(b))
        s.configuration_done()
        # Execution order: run() reaches `mean :=`, calls storeDemo (via
        # the store: println) and then reaches `work:` println.
        order = sorted(zip(cases, bps), key=lambda cb: [L.mean, L.by_name, L.work_println].index(cb[0][2]))
        for i, ((n, what, target), b) in enumerate(order):
            ev = s.expect_stopped(f"stop {i + 1} ({what} {n})")
            s.check_stop_at(f"stop {i + 1} ({what} {n} -> {target})", ev, MAIN_GO, target, b.get("id"))
            s.cont(ev["body"].get("threadId"))
        s.expect_terminated("after the snapped breakpoints")
    s.disconnect_and_finish()


def test_conditional(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(MAIN_GO, [{"line": L.loop_body, "condition": "x == 4"}])
    t.check("conditional breakpoint verified", bps and bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    ev = s.expect_stopped("conditional stop")
    frame = s.check_stop_at("conditional stop", ev, MAIN_GO, L.loop_body, bps[0].get("id"))
    x = s.evaluate("x", frame["id"])
    t.check("x == 4 at the stop", x == "4", f"x = {x}", show=True)
    m = s.evaluate("m", frame["id"])
    t.check("m == 3 at the stop (inputs 3, 1 seen before)", m == "3", f"m = {m}")
    s.cont(ev["body"].get("threadId"))
    s.expect_terminated("stops only once")
    s.disconnect_and_finish()


def test_logpoint(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    bps = s.set_bps(MAIN_GO, [{"line": L.loop_body, "logMessage": "x is {x}"}])
    t.check("logpoint verified", bps and bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    try:
        ev = s.c.wait_event("output", lambda e: "x is 3" in e["body"].get("output", ""), timeout=STOP_TIMEOUT)
        t.check("output event with 'x is 3'", True, repr(ev["body"]["output"]), show=True)
    except dap.DAPError as e:
        t.check("output event with 'x is 3'", False, str(e))
    s.expect_terminated("logpoint does not stop")
    logs = [e["body"]["output"] for e in s.c.events("output") if "x is " in e["body"].get("output", "")]
    got = [re.search(r"x is (\S+)", o).group(1) for o in logs]
    t.check("one log line per iteration, in order (3 1 4 1 5)", got == ["3", "1", "4", "1", "5"], repr(logs))
    t.check("no stopped event at all", not s.c.events("stopped"), json.dumps(s.c.events("stopped")))
    s.disconnect_and_finish()


def test_hit_condition(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    # Delve's syntax: "N" or "OP N" with OP in == >= <= > < % !=; a bare
    # number means "== N" (pkg/proc/target_group.go parseHitCondition).
    bps = s.set_bps(MAIN_GO, [{"line": L.loop_body, "hitCondition": "3"}])
    t.check("hit-condition breakpoint verified", bps and bps[0].get("verified"), json.dumps(bps))
    s.configuration_done()
    ev = s.expect_stopped("first stop")
    frame = s.check_stop_at("first stop", ev, MAIN_GO, L.loop_body, bps[0].get("id"))
    x = s.evaluate("x", frame["id"])
    t.check("first stop is the 3rd hit (x == 4: inputs 3, 1, 4)", x == "4", f"x = {x}")
    s.cont(ev["body"].get("threadId"))
    s.expect_terminated("\"3\" means == 3: no 4th/5th stop")
    s.disconnect_and_finish()


def test_replace_and_clear(t):
    L = t.r.lines
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    a = s.set_bps(MAIN_GO, [L.note_greeting, L.mean])
    t.check("file A: 2 verified", len(a) == 2 and all(b.get("verified") for b in a), json.dumps(a))
    b = s.set_bps(WORK_GO, [L.calls])
    t.check("file B: 1 verified", len(b) == 1 and b[0].get("verified"), json.dumps(b))
    a2 = s.set_bps(MAIN_GO, [L.log_println])
    t.check("file A replaced: response has 1 breakpoint",
            len(a2) == 1 and a2[0].get("verified") and a2[0].get("line") == L.log_println, json.dumps(a2))
    a3 = s.set_bps(MAIN_GO, [])
    t.check("file A cleared: response has 0 breakpoints", a3 == [], json.dumps(a3))
    s.configuration_done()
    ev = s.expect_stopped("only B")
    s.check_stop_at("only B", ev, WORK_GO, L.calls, b[0].get("id"))
    s.cont(ev["body"].get("threadId"))
    s.expect_terminated("A's breakpoints are gone")
    s.disconnect_and_finish()


def test_session_start_pipelined(t):
    """Session start as an editor sends it: setBreakpoints for several files and configurationDone
    without waiting for any answer. Every breakpoint is verified and hit: configurationDone reached
    dlv only after they were armed (the shim answers from the index and arms them together)."""
    L = t.r.lines
    s = t.start(["--log", "--log-output=dap"] if t.kind == "shim" else [])  # the shim's frames, in order
    s.launch(exec_launch(t.binary(BIN_127)))
    want = [(MAIN_GO, L.mean), (WORK_GO, L.calls), (SPIN_GO, L.tick)]  # spin.go: not run without args
    seqs = [s.c.send_request("setBreakpoints", {"source": {"name": os.path.basename(p), "path": p},
                                                "breakpoints": [{"line": n}]}) for p, n in want]
    done = s.c.send_request("configurationDone")
    ids = {}
    for (p, n), seq in zip(want, seqs):
        r = s.c.wait_response(seq)
        b = (r.get("body") or {}).get("breakpoints") or [{}]
        t.check(f"{os.path.basename(p)}:{n}: verified at its line",
                r.get("success") and b[0].get("verified") is True and b[0].get("line") == n, json.dumps(r))
        ids[(p, n)] = b[0].get("id")
    t.require("configurationDone succeeds", s.c.wait_response(done).get("success"))
    hit = []
    for i in range(2):
        ev = s.expect_stopped(f"stop {i + 1}")
        frame = s.top_frame(ev["body"].get("threadId"))
        at = next(((p, n) for p, n in want[:2] if frame.get("line") == n and
                   os.path.realpath((frame.get("source") or {}).get("path", "")) == os.path.realpath(p)), None)
        t.check(f"stop {i + 1}: at a breakpoint set before configurationDone", at is not None, json.dumps(frame))
        if at:
            t.check(f"stop {i + 1}: hitBreakpointIds has its id", ids[at] in (ev["body"].get("hitBreakpointIds") or []),
                    json.dumps(ev["body"]))
            hit.append(at)
        s.cont(ev["body"].get("threadId"))
    t.check("both breakpoints that run were hit", sorted(hit) == sorted(want[:2]), repr(hit))
    s.expect_terminated("after both")
    s.disconnect_and_finish()
    if t.kind == "shim":
        # What dlv was sent, in order: each arming answered before configurationDone went to dlv,
        # and the three files armed in at most two requests (the first, then the rest together).
        log = "".join(s.proc.fd3_lines + s.proc.stderr_lines).splitlines()  # (--log-dest=3, as vscode-go)
        # (A traced frame's body is the line after its "--> Content-Length" header.)
        conf = next((i for i, ln in enumerate(log) if ln.startswith("{") and
                     '"type":"request","command":"configurationDone"' in ln), None)
        t.require("the shim's log has configurationDone sent to dlv", conf is not None, "\n".join(log[-20:]))
        sent = [i for i, ln in enumerate(log) if ln.startswith("{") and
                '"type":"request","command":"setInstructionBreakpoints"' in ln]
        answered = [i for i, ln in enumerate(log) if re.search(r"arming \d+ answered", ln)]
        t.check("every arming sent before configurationDone was answered before it went to dlv",
                sent and all(i < conf for i in sent) and len([i for i in answered if i < conf]) == len(sent),
                f"armings sent at log lines {sent}, answered at {answered}, configurationDone at {conf}", show=True)
        t.check("three files armed in at most two setInstructionBreakpoints", 1 <= len(sent) <= 2, repr(sent))


def test_refused_after_answer(t):
    """A line whose address dlv already holds a breakpoint for (a function breakpoint on main.main,
    at the line main.main starts at): dlv refuses it. Direct dlv says so in its answer; the shim,
    which answered from the index first, says so in a breakpoint event (reason changed, verified
    false, dlv's reason) before the program can run."""
    s = t.start()
    s.launch(exec_launch(t.binary(BIN_127)))
    r = s.c.request("setFunctionBreakpoints", {"breakpoints": [{"name": "main.main"}]})
    fb = ((r.get("body") or {}).get("breakpoints") or [{}])[0]
    t.require("function breakpoint main.main verified, with its line", r.get("success") and fb.get("verified")
              and fb.get("line"), json.dumps(r))
    line = fb["line"]
    bps = s.set_bps(MAIN_GO, [line])
    refused = "Breakpoint exists at "
    if t.kind == "dlv":
        t.check(f"main.go:{line}: refused in the answer", bps[0].get("verified") is False and
                bps[0].get("message", "").startswith(refused), json.dumps(bps))
    else:
        t.check(f"main.go:{line}: answered from the index, verified", bps[0].get("verified") is True, json.dumps(bps))
        ev = s.c.wait_event("breakpoint", lambda e: e["body"]["breakpoint"].get("id") == bps[0].get("id"), timeout=10)
        b = ev["body"]["breakpoint"]
        t.check("then a breakpoint event: changed, verified false, dlv's reason",
                ev["body"].get("reason") == "changed" and b.get("verified") is False and
                b.get("message", "").startswith(refused) and b.get("line") == line and
                (b.get("source") or {}).get("path") == MAIN_GO, json.dumps(ev["body"]), show=True)
    s.configuration_done()
    ev = s.expect_stopped("the function breakpoint")
    s.check_stop_at("the function breakpoint", ev, MAIN_GO, line, fb.get("id"), reason="function breakpoint")
    s.cont(ev["body"].get("threadId"))
    s.expect_terminated("after main.main")
    s.disconnect_and_finish()


def test_set_while_running(t):
    """Breakpoints set, cleared and set again while the program runs (no stop
    in between): each new one is verified and hit, a cleared one is not."""
    L = t.r.lines
    s = t.start()
    s.launch(dict(exec_launch(t.binary(BIN_127)), args=["spin"]))
    s.configuration_done()
    time.sleep(0.3)  # let it run

    def set_and_stop(label, line):
        """Sets one breakpoint on spin.go while running; returns (stop event, loop variable i)."""
        bps = s.set_bps(SPIN_GO, [line])
        t.check(f"{label}: new breakpoint verified at its line",
                bps[0].get("verified") is True and bps[0].get("line") == line, json.dumps(bps))
        ev = s.expect_stopped(f"{label}: stop")
        frame = s.check_stop_at(f"{label}: stop", ev, SPIN_GO, line, bps[0].get("id"))
        return ev, int(s.evaluate("i", frame["id"]))

    ev, i1 = set_and_stop("running", L.tick)
    t.check("stopped: cleared breakpoints answer empty", s.set_bps(SPIN_GO, []) == [])
    s.cont(ev["body"].get("threadId"))
    try:
        ev = s.c.wait_event("stopped", timeout=0.5)
        t.check("cleared: runs on without stopping", False, json.dumps(ev))
    except dap.DAPTimeout:
        t.check("cleared: runs on without stopping", True)
    ev, i2 = set_and_stop("running again", L.sleep)
    t.check(f"the loop went on while running (i {i1} then {i2})", i2 > i1)
    s.disconnect_and_finish()


def test_breakpoint_locations(t):
    L = t.r.lines
    s = t.start()
    cap = s.caps.get("supportsBreakpointLocationsRequest")
    if t.kind == "dlv":
        t.check("capability supportsBreakpointLocationsRequest absent/false", not cap, f"{cap!r}")
    else:
        t.check("capability supportsBreakpointLocationsRequest true", cap is True, f"{cap!r}")
    s.launch(exec_launch(t.binary(BIN_127)))
    a, b = L.run_func, L.main_end
    r = s.c.request("breakpointLocations", {"source": {"name": "main.go", "path": MAIN_GO}, "line": a, "endLine": b})
    if t.kind == "dlv":
        t.check("breakpointLocations: error response", r.get("success") is False,
                f"{r.get('message')!r} {json.dumps(r.get('body'))}", show=True)
    else:
        t.require("breakpointLocations succeeds", r.get("success"), r.get("message"))
        locs = (r.get("body") or {}).get("breakpoints")
        t.require("body.breakpoints is a list", isinstance(locs, list), json.dumps(r.get("body")))
        lines = [x.get("line") for x in locs]
        t.check(f"all lines within [{a}, {b}], ascending, no duplicates",
                all(isinstance(n, int) and a <= n <= b for n in lines) and lines == sorted(set(lines)), repr(lines))
        for n in (L.note_greeting, L.mean, L.work_println, L.log_println):
            t.check(f"line {n} (code) listed", n in lines, repr(lines))
        for n in (L.blank_in_run, L.brace_in_run, L.block_comment, L.block_comment + 1,
                  L.block_comment + 2, L.block_comment + 3):
            t.check(f"line {n} ({L.text(n).strip() or 'blank'}) not listed", n not in lines, repr(lines))
        want = t.r.dlv_verified_lines(MAIN_GO, a, b)
        if want is not None:
            t.check(f"lines == the lines in [{a}, {b}] plain dlv verifies", lines == want,
                    f"extra {sorted(set(lines) - set(want))}, missing {sorted(set(want) - set(lines))}")
    s.disconnect_and_finish()


@pytest.mark.slow
def test_every_line(t):
    """Sets a breakpoint on every line of main.go (one at a time, replacing
    the previous one) and records verified/line/message per line."""
    files = [MAIN_GO] if not t.args.every_line_all else sorted(
        os.path.join(dp, f) for dp, _, fs in os.walk(EXAMPLE_DIR) for f in fs if f.endswith(".go") and not f.endswith("_test.go"))
    s = t.start()
    binary_name = BIN_127
    s.launch(exec_launch(t.binary(binary_name)))
    record = {"kind": t.kind, "adapter": t.args.adapter, "binary": binary_name, "files": {}}
    for path in files:
        rows = []
        text = read_lines(path)
        for n in range(1, len(text) + 1):
            r = s.c.request("setBreakpoints", {"source": {"name": os.path.basename(path), "path": path},
                                               "breakpoints": [{"line": n}]})
            if not r.get("success"):
                rows.append({"line": n, "text": text[n - 1], "error": r.get("message")})
                continue
            b = r["body"]["breakpoints"][0]
            rows.append({"line": n, "text": text[n - 1], "verified": bool(b.get("verified")),
                         "bp_line": b.get("line"), "source": (b.get("source") or {}).get("path"),
                         "message": b.get("message")})
        s.set_bps(path, [])
        rel = os.path.relpath(path, EXAMPLE_DIR)
        record["files"][rel] = rows
        errors = [x for x in rows if "error" in x]
        t.check(f"{rel}: every setBreakpoints request answered with success", not errors, repr(errors[:3]))
        ver = [x for x in rows if x.get("verified")]
        unver = [x for x in rows if "error" not in x and not x.get("verified")]
        # dlv quirk: a package-level variable initializer line (main.go:25)
        # is verified, but the breakpoint lands in main.init and dlv reports
        # it at <autogenerated>:1.
        auto = [x for x in ver if x["source"] == "<autogenerated>" and x["bp_line"] == 1 and not x["message"]]
        ver = [x for x in ver if x not in auto]
        if auto:
            t.check(f"{rel}: {len(auto)} verified but reported at <autogenerated>:1 (package var initializers)",
                    all(x["text"].strip() and not x["text"].lstrip().startswith(("func", "//")) for x in auto),
                    repr(auto[:3]), show=True)
        if t.kind == "dlv":
            bad = [x for x in ver if not (x["bp_line"] == x["line"] and x["source"] == path and not x["message"])]
            t.check(f"{rel}: {len(ver)} verified at the requested file:line", not bad, repr(bad[:3]))
            pat = re.compile(r"could not find statement at (.*):(\d+), please use a line with a statement$")
            bad = [x for x in unver if not (pat.match(x["message"] or "")
                                            and pat.match(x["message"]).group(1) == path
                                            and int(pat.match(x["message"]).group(2)) == x["line"])]
            t.check(f"{rel}: {len(unver)} unverified, all with 'could not find statement at {rel}:N, ...'",
                    not bad, repr(bad[:3]))
        else:
            def ok_row(x):
                if os.path.realpath(x["source"] or "") != os.path.realpath(path):
                    return False
                if x["bp_line"] == x["line"]:
                    return not x.get("message")
                n = x["line"]
                return (isinstance(x["bp_line"], int) and x["bp_line"] > n
                        and x.get("message") == f"moved from line {n}: no statement on line {n}")
            bad = [x for x in ver if not ok_row(x)]
            moved = sum(1 for x in ver if x["bp_line"] != x["line"])
            t.check(f"{rel}: {len(ver)} verified ({moved} moved), each exact or 'moved from line N: ...'",
                    not bad, repr(bad[:3]))
            bad = [x for x in unver if not x.get("message")]
            t.check(f"{rel}: {len(unver)} unverified, each with a message", not bad, repr(bad[:3]))
        if path == MAIN_GO:
            L = t.r.lines
            by = {x["line"]: x for x in rows}
            for n in (L.note_greeting, L.mean, L.work_println, L.log_println):
                t.check(f"main.go:{n} (code) verified at {n}",
                        by[n].get("verified") and by[n].get("bp_line") == n, json.dumps(by[n]))
    s.disconnect_and_finish()
    if t.args.record:
        with open(t.args.record, "w") as f:
            json.dump(record, f, indent=1)
        t.check(f"per-line results written to {t.args.record}", True)
    if t.args.compare_with:
        with open(t.args.compare_with) as f:
            other = json.load(f)
        compare_records(t.check, other, record)
