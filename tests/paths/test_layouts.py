"""Breakpoints in real path layouts (issue #12), plain dlv beside dlvidx.

For every case of dlvtest.layouts (one test each):
  plain dlv   `dlv dap`, exec launch (+ the case's launch extras), setBreakpoints with the client's
              path: verified / message recorded. For a case that must bind, the breakpoint then goes
              on the path the binary records; configurationDone; the stop's top frame's
              instructionPointerReference is the address dlv itself picks.
  dlvidx      `dlvidx dap --dlv DLV --log`, the same launch, setBreakpoints with the client's path:
              a bind case is verified with instructionReference == dlv's address, mapped by the rule
              expected for the layout (the shim's log line `source CLIENT -> RECORDED (RULE)`), and after
              configurationDone stops there (reason breakpoint, top frame PC == that address, its
              source.path the client's path); a message case carries its phrases (verified only for
              a warning, which then stops like a bind case), and is logged once at warn level as
              `breakpoint CLIENT:N not bound: ...`.
Plain dlv's answers are recorded, not judged (the README shows them beside dlvidx's).
"""

import json
import os
import re
import time

import pytest

from dlvtest import adapters, dap, layouts
from dlvtest.example import INITIALIZE_ARGS

STOP_TIMEOUT = 30.0
EXIT_TIMEOUT = 10.0


class Failures(list):
    def check(self, label, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {label}" + ("" if ok or not detail else f" -- {detail}"), flush=True)
        if not ok:
            self.append(label + (f" -- {detail}" if detail else ""))
        return bool(ok)


class Session:
    """One adapter process and its client; ended (and its processes checked) by close()."""

    def __init__(self, argv, name, cwd):
        self.proc, host, port = adapters.start_adapter(argv, env=adapters.adapter_env(), cwd=cwd)
        try:
            self.c = dap.DAPClient.connect(host, port, timeout=10, name=name)
        except Exception:
            self.close()
            raise

    def request(self, command, args=None, timeout=dap.DEFAULT_TIMEOUT):
        return self.c.request(command, args, timeout=timeout)

    def start(self, case):
        """initialize + launch (+ initialized, which dlv does not send for noDebug); the launch response."""
        r = self.request("initialize", INITIALIZE_ARGS)
        if not r.get("success"):
            raise dap.DAPError(f"initialize failed: {r.get('message')}")
        r = self.request("launch", case.launch_args(), timeout=120)
        if not r.get("success"):
            raise dap.DAPError(f"launch failed: {r.get('message')} {json.dumps(r.get('body'))}")
        if not case.launch.get("noDebug"):
            self.c.wait_event("initialized", timeout=10)
        return r

    def set_bp(self, path, line):
        """setBreakpoints for one line (none: clear) of path; (response, breakpoint or None)."""
        r = self.request("setBreakpoints", {"source": {"name": os.path.basename(path), "path": path},
                                            "breakpoints": [] if line is None else [{"line": line}]})
        bps = (r.get("body") or {}).get("breakpoints") or []
        return r, (bps[0] if bps else None)

    def run_to_stop(self):
        """configurationDone, then the first stopped (or terminated) event and the top frame."""
        r = self.request("configurationDone")
        if not r.get("success"):
            return {"error": f"configurationDone failed: {r.get('message')}"}, None
        ev = self.c.wait_any_event(["stopped", "terminated"], timeout=STOP_TIMEOUT)
        if ev.get("event") != "stopped":
            return ev, None
        st = self.request("stackTrace", {"threadId": ev["body"].get("threadId"), "startFrame": 0, "levels": 5})
        frames = (st.get("body") or {}).get("stackFrames") or []
        return ev, (frames[0] if frames else None)

    def log_text(self):
        return "".join(self.proc.fd3_lines)

    def close(self):
        """disconnect (terminateDebuggee), then the adapter's end; returns what it left running."""
        c = getattr(self, "c", None)
        if c is not None and not c.closed:
            try:
                c.request("disconnect", {"restart": False, "terminateDebuggee": True}, timeout=EXIT_TIMEOUT)
            except dap.DAPError:
                pass
            adapters.wait_exit(self.proc, EXIT_TIMEOUT)
            c.close()
        left = adapters.stop_adapter(self.proc, settle=3)
        if left:
            adapters.kill_leftovers(self.proc)
        return left


def addr(s):
    try:
        return int(s, 16) if isinstance(s, str) else None
    except ValueError:
        return None


def bp_outcome(resp, bp):
    if not resp.get("success"):
        return {"verified": False, "message": f"error: {resp.get('message')}", "response_error": True}
    if bp is None:
        return {"verified": False, "message": "no breakpoint in the response"}
    return {"verified": bool(bp.get("verified")), "message": bp.get("message") or "",
            "line": bp.get("line"), "instructionReference": bp.get("instructionReference")}


def mapping_rule(log, client):
    """The rule of the shim's `source CLIENT -> RECORDED (RULE[: detail])` line, and RECORDED."""
    for line in log.splitlines():
        i = line.find(f"source {client} -> ")
        if i < 0:
            continue
        rest = line[i + len(f"source {client} -> "):].rstrip()
        j = rest.find(" (")
        if j < 0 or not rest.endswith(")"):
            continue
        return rest[j + 2:-1].split(": ")[0], rest[:j]
    return None, None


def plain_dlv(opts, case, cwd, f):
    """Plain dlv: the client path's answer; for bind cases (and warnings) dlv's own address."""
    out = {}
    s = Session([opts.dlv, "dap"], f"dlv-{case.name}", cwd)
    try:
        s.start(case)
        try:
            out.update(bp_outcome(*s.set_bp(case.client_path, case.line)))
        except dap.DAPError as e:  # noDebug: dlv may not answer at all
            out.update(verified=False, message=f"no answer: {e}")
        print(f"     plain dlv: verified={out['verified']} message={out['message'][:160]!r}", flush=True)
        if case.expect == "bind" or case.warning:
            if case.client_path != case.recorded_path:
                s.set_bp(case.client_path, None)
                r, bp = s.set_bp(case.recorded_path, case.line)
                if not f.check(f"plain dlv verifies {case.recorded_path}:{case.line} (the recorded path)",
                               bp and bp.get("verified"), json.dumps(r.get("body") or r.get("message"))):
                    return out
            ev, frame = s.run_to_stop()
            if f.check("plain dlv stops at the recorded path", frame is not None, json.dumps(ev)):
                out["address"] = frame.get("instructionPointerReference")
                out["stop_line"] = frame.get("line")
                f.check("plain dlv's stop has an address", addr(out["address"]) is not None, json.dumps(frame))
    finally:
        left = s.close()
        f.check("plain dlv: nothing left running", not left, str(left))
    return out


def shim(opts, case, cwd, cache, dlv_address, f):
    out = {}
    argv = [opts.dlvidx, "dap", "--dlv", opts.dlv, "--cache-dir", cache, "--log"]
    s = Session(argv, f"dlvidx-{case.name}", cwd)
    try:
        s.start(case)
        r, bp = s.set_bp(case.client_path, case.line)
        out.update(bp_outcome(r, bp))
        deadline = time.monotonic() + 2  # the log line is written before the response; its pipe may lag
        while True:
            out["rule"], out["mapped_to"] = mapping_rule(s.log_text(), case.client_path)
            if out["rule"] or time.monotonic() > deadline or not out["verified"]:
                break
            time.sleep(0.05)
        print(f"     dlvidx:    verified={out['verified']} rule={out['rule']!r} "
              f"message={out['message'][:160]!r}", flush=True)
        f.check("dlvidx: setBreakpoints succeeds", r.get("success"), r.get("message"))
        bind = case.expect == "bind" or case.warning
        if case.expect == "message":
            msg = out["message"]
            for p in case.phrases:
                f.check(f"dlvidx: message has {p!r}", p in msg, repr(msg))
            f.check(f"dlvidx: verified is {case.warning}", out["verified"] == case.warning, json.dumps(bp))
            if not case.warning:
                pat = rf"warn\w* dlvidx: breakpoint {re.escape(case.client_path)}:{case.line} not bound: "
                deadline = time.monotonic() + 2  # (a breakpoint left to dlv is logged on dlv's answer)
                while not re.search(pat, s.log_text()) and time.monotonic() < deadline:
                    time.sleep(0.05)
                warned = re.findall(pat, s.log_text())
                f.check("dlvidx: logged once at warn level as not bound", len(warned) == 1,
                        f"{len(warned)} `breakpoint ... not bound` lines")
        if bind:
            ok = f.check("dlvidx: verified", out["verified"], json.dumps(bp))
            if case.rule:
                f.check(f"dlvidx: mapped by rule {case.rule!r}", out["rule"] == case.rule,
                        f"rule {out['rule']!r} (to {out['mapped_to']!r})")
            want = addr(dlv_address)
            got = addr(out.get("instructionReference"))
            out["address_ok"] = want is not None and got == want
            f.check("dlvidx: instructionReference == dlv's address", out["address_ok"],
                    f"dlvidx {out.get('instructionReference')!r}, dlv {dlv_address!r}")
            if ok:
                ev, frame = s.run_to_stop()
                body = ev.get("body") or {}
                stop_ok = f.check("dlvidx: stopped, reason breakpoint",
                                  ev.get("event") == "stopped" and body.get("reason") == "breakpoint", json.dumps(ev))
                if frame is not None:
                    pc = addr(frame.get("instructionPointerReference"))
                    src = (frame.get("source") or {}).get("path")
                    out["stop_pc"] = frame.get("instructionPointerReference")
                    out["stop_path"] = src
                    stop_ok &= f.check("dlvidx: top frame PC == dlv's address", want is not None and pc == want,
                                       f"pc {frame.get('instructionPointerReference')!r}, dlv {dlv_address!r}")
                    stop_ok &= f.check("dlvidx: top frame source.path == the client's path",
                                       src == case.client_path, f"{src!r}")
                else:
                    stop_ok = False
                out["stop_ok"] = bool(stop_ok)
    finally:
        left = s.close()
        f.check("dlvidx: nothing left running", not left, str(left))
    return out


@pytest.mark.parametrize("name", layouts.NAMES)
def test_layout(name, layout_cases, options, cache_dir, record, tmp_path):
    case = layout_cases[name]
    f = Failures()
    print(f"\n# {name}: {case.title}\n#   client {case.client_path}:{case.line}\n#   recorded {case.recorded_path}",
          flush=True)
    rec = {"title": case.title, "expect": case.expect, "rule": case.rule, "phrases": case.phrases,
           "warning": case.warning, "client_path": case.client_path, "recorded_path": case.recorded_path,
           "line": case.line}
    record["cases"][name] = rec
    t0 = time.monotonic()
    try:
        rec["dlv"] = plain_dlv(options, case, str(tmp_path), f)
        rec["dlvidx"] = shim(options, case, str(tmp_path), cache_dir, rec["dlv"].get("address"), f)
    except Exception as e:
        f.check("the case ran", False, f"{type(e).__name__}: {e}")
        raise
    finally:
        rec["failures"] = list(f)
        rec["passed"] = not f
        rec["seconds"] = round(time.monotonic() - t0, 2)
    if f:
        pytest.fail(f"{len(f)} checks failed:\n" + "\n".join(f"  FAIL {x}" for x in f), pytrace=False)
