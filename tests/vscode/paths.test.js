'use strict';
// Path layouts (issue #12) through VS Code's own DebugClient: for every case
// of a layouts file, plain `dlv dap` and `dlvidx dap` (the shim) are launched
// on the same binary and asked for the same breakpoint on the client's path.
// Plain dlv is the reference: a breakpoint on the path the binary recorded
// gives the address dlv itself stops at. The shim must bind the client's path
// at that address and stop there, with the frame showing the client's path;
// a case that cannot bind must say why (case.phrases) in the message.
//
// Run: cd tests/vscode && LAYOUT_CASES=/path/cases.json node --test paths.test.js
// The cases file is written by tests/lib/dlvtest/layouts.py
// (`layouts.py --out DIR --cases FILE.json`); without LAYOUT_CASES every test
// is skipped. Env: DLVIDX (default ../../build/release/tools/dlvidx), DLV
// (/usr/bin/dlv), LAYOUT_ONLY (comma-separated case names), LAYOUT_RESULTS
// (write what dlv and the shim did, per case, to this JSON file).
//
// Adapters are started the way vscode-go does (`ADAPTER dap
// --listen=127.0.0.1:PORT --log-dest=3`, listening line on fd 3), as in
// dap.test.js; in that server mode DebugClient has no timeouts of its own, so
// every wait goes through within().

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');
const { WAIT_MS, within, startAdapter, stopAdapter, waitEvent } = require('./adapters');

const DLVIDX = path.resolve(__dirname, process.env.DLVIDX || '../../build/release/tools/dlvidx');
const DLV = process.env.DLV || '/usr/bin/dlv';
const EXIT_MS = 10000;       // adapter (and its children) gone after disconnect
const TEST_MS = 120000;      // backstop per test
const WARNING = 'was modified after the binary was built';   // the one message on a verified breakpoint

const DLV_ADAPTER = { kind: 'dlv', cmd: DLV, args: ['dap'] };
const SHIM_ADAPTER = { kind: 'shim', cmd: DLVIDX, args: ['dap', '--dlv', DLV] };

// ---- the cases ------------------------------------------------------------

const CASES_FILE = process.env.LAYOUT_CASES;
let CASES = [];
if (CASES_FILE) {
  CASES = JSON.parse(fs.readFileSync(CASES_FILE, 'utf8'));
  assert.ok(Array.isArray(CASES) && CASES.length > 0, `${CASES_FILE}: expected a non-empty JSON list of cases`);
  if (process.env.LAYOUT_ONLY) {
    const only = process.env.LAYOUT_ONLY.split(',');
    CASES = CASES.filter((c) => only.includes(c.name));
    assert.ok(CASES.length > 0, `LAYOUT_ONLY=${process.env.LAYOUT_ONLY} matches no case of ${CASES_FILE}`);
  }
}

/** A verified breakpoint is expected from the shim: bind cases, and a warning (the modified-source one). */
const shimVerifies = (c) => c.expect === 'bind' || (c.expect === 'message' && (c.warning ?? c.phrase === WARNING));
/** What the message must contain: every one of case.phrases (or case.phrase). */
const phrasesOf = (c) => (Array.isArray(c.phrases) && c.phrases.length ? c.phrases : [c.phrase]);
/** dlv's own address (recorded path) is needed where the shim must bind. */
const needsAddress = (c) => shimVerifies(c) && !c.launch?.noDebug;

// ---- processes: what the adapter started must be gone after it ------------

/** [pid, ppid, starttime, state] from /proc/PID/stat, or null. */
function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');   // fields from 3 (state) on
    return { pid, state: f[0], ppid: Number(f[1]), start: f[19] };
  } catch {
    return null;
  }
}

/** Every live descendant of PID (the shim's dlv, dlv's debuggee). */
function descendants(pid) {
  const all = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => procStat(Number(d))).filter(Boolean);
  const out = [];
  let frontier = [pid];
  while (frontier.length) {
    const next = all.filter((p) => frontier.includes(p.ppid));
    out.push(...next);
    frontier = next.map((p) => p.pid);
  }
  return out;
}

/** Processes running BINARY (by /proc/PID/exe), e.g. a debuggee that outlived its adapter. */
function runningBinary(binary) {
  let real;
  try { real = fs.realpathSync(binary); } catch { return []; }
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readlinkSync(`/proc/${d}/exe`) === real) {
        const st = procStat(Number(d));
        if (st && st.state !== 'Z') out.push(st);
      }
    } catch { /* gone, or not ours to read */ }
  }
  return out;
}

const alive = (p) => { const s = procStat(p.pid); return s && s.start === p.start && s.state !== 'Z'; };

// ---- one session ------------------------------------------------------------

/**
 * Start ADAPTER, connect a DebugClient, run fn(dc); then disconnect
 * (terminateDebuggee) and require the adapter to exit by itself within
 * EXIT_MS and nothing it started (nor anything running c.binary) to be left.
 */
async function session(adapter, c, fn) {
  const { proc, port } = await startAdapter(adapter);
  const since = Number(procStat(proc.pid)?.start ?? 0);
  const dc = new DebugClient('node', 'unused', 'go');
  let kids = [];
  let result;
  let failure = null;
  try {
    await within(WAIT_MS, dc.start(port), 'connect');
    if (dc._socket) dc._socket.on('error', () => {});   // the adapter may close first
    result = await fn(dc, () => { kids = descendants(proc.pid); });
  } catch (e) {
    failure = e;
  }
  // Disconnect cleanly, even after a failure (then only best effort).
  const problems = [];
  if (kids.length === 0 && !proc.exitInfo) kids = descendants(proc.pid);
  if (!proc.exitInfo) {
    await within(WAIT_MS, dc.disconnectRequest({ terminateDebuggee: true }), 'disconnect')
      .catch((e) => problems.push(`disconnect: ${e.message}`));
  }
  const exit = await within(EXIT_MS, proc.exited, `${adapter.kind} exit after disconnect`)
    .catch((e) => { problems.push(e.message); return null; });
  dc.stopAdapter();   // close the socket
  if (exit && (exit.signal || exit.code !== 0)) problems.push(`${adapter.kind} exit after disconnect: ${JSON.stringify(exit)}`);
  if (!exit) await stopAdapter(proc);
  // What it started (seen while it ran; or running c.binary, started since): gone within EXIT_MS.
  const deadline = Date.now() + EXIT_MS;
  const others = () => runningBinary(c.binary).filter((p) => Number(p.start) >= since && !kids.some((k) => k.pid === p.pid));
  const left = () => [...kids.filter(alive), ...others()];
  while (left().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const stray = left();
  if (stray.length) {
    problems.push(`left running after ${adapter.kind} exited: ${stray.map((p) => p.pid).join(', ')}`);
    // Only its own children, by PID (seen as its descendants): nothing else is ours to end.
    for (const p of kids.filter(alive)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  if (failure || problems.length) {
    process.stderr.write(`---- ${adapter.kind} log (${c.name}) ----\n${proc.log.join('')}\n`);
    if (failure) {
      if (problems.length) failure.message += `\n(and at the end: ${problems.join('; ')})`;
      throw failure;
    }
    assert.fail(problems.join('; '));
  }
  result.log = proc.fd3;
  return result;
}

/** initialize + launch exec (c.launch on top); resolves after 'initialized' (noDebug: after the launch response). */
async function launch(dc, c) {
  const args = { mode: 'exec', program: c.binary, cwd: c.cwd, ...(c.launch || {}) };
  const init = args.noDebug ? null : waitEvent(dc, 'initialized');
  await within(WAIT_MS, dc.initializeRequest(), 'initialize');
  await within(WAIT_MS * 2, dc.launchRequest(args), 'launch');
  if (init) await init;
  return args;
}

/** setBreakpoints on FILE at LINE (none: clear); the breakpoint, or { error } if the request failed. */
async function setBp(dc, file, line) {
  try {
    const r = await within(WAIT_MS, dc.setBreakpointsRequest({
      source: { path: file, name: path.basename(file) },
      breakpoints: line == null ? [] : [{ line }],
    }), `setBreakpoints ${file}:${line}`);
    if (line == null) return null;
    assert.equal(r.body.breakpoints.length, 1, `one breakpoint back: ${JSON.stringify(r.body)}`);
    return r.body.breakpoints[0];
  } catch (e) {
    if (e.code === 'ERR_ASSERTION' || e.timedOut) throw e;
    return { error: e.message };   // the adapter's error response
  }
}

async function topFrame(dc, threadId) {
  const st = await within(WAIT_MS, dc.stackTraceRequest({ threadId, startFrame: 0, levels: 20 }), 'stackTrace');
  assert.ok(st.body.stackFrames.length > 0, 'empty stack');
  return st.body.stackFrames[0];
}

const brief = (bp) => {
  if (!bp) return '-';
  if (bp.error) return `error "${bp.error}"`;
  let s = bp.verified ? `verified line ${bp.line}` : 'unverified';
  if (bp.instructionReference) s += ` @${bp.instructionReference}`;
  if (bp.message) s += ` "${bp.message}"`;
  return s;
};

// ---- the two flows ----------------------------------------------------------

/**
 * Plain dlv: what it does with the client's path (rec.client); where the shim
 * must bind, a breakpoint on the recorded path and the address dlv stops at.
 */
async function dlvReference(dc, c, rec, noteKids) {
  await launch(dc, c);
  rec.client = await setBp(dc, c.client_path, c.line);
  if (!needsAddress(c)) { noteKids(); return {}; }
  // (the modified-source warning case may leave recorded_path out: it is the client's file)
  const recorded = c.recorded_path || (c.expect === 'message' ? c.client_path : null);
  assert.ok(recorded, `case ${c.name}: recorded_path needed for dlv's address`);
  rec.recorded_path = recorded;
  if (recorded === c.client_path) {
    rec.recorded = rec.client;
  } else {
    if (rec.client && rec.client.verified) await setBp(dc, c.client_path, null);   // one breakpoint at a time
    rec.recorded = await setBp(dc, recorded, c.line);
  }
  assert.ok(rec.recorded && rec.recorded.verified,
    `dlv did not bind the recorded path ${recorded}:${c.line}: ${brief(rec.recorded)}`);
  const stopped = waitEvent(dc, 'stopped');
  await within(WAIT_MS, dc.configurationDoneRequest(), 'configurationDone');
  const ev = await stopped;
  assert.equal(ev.body.reason, 'breakpoint');
  const f = await topFrame(dc, ev.body.threadId);
  noteKids();
  assert.equal(f.line, c.line, 'dlv stopped on the line');
  assert.match(f.instructionPointerReference || '', /^0x[0-9a-f]+$/, 'dlv frame has an instructionPointerReference');
  rec.address = f.instructionPointerReference;
  rec.stop = { path: f.source?.path, line: f.line };
  return {};
}

/** The shim: the client's path binds at dlv's address and stops there, or the breakpoint says why not. */
async function shimCheck(dc, c, ref, rec, noteKids) {
  const verifies = shimVerifies(c);
  await launch(dc, c);
  const bp = await setBp(dc, c.client_path, c.line);
  rec.client = bp;
  assert.ok(!bp.error, `setBreakpoints failed: ${bp.error}`);
  if (c.expect === 'message') {
    for (const phrase of phrasesOf(c)) {
      assert.ok(typeof bp.message === 'string' && bp.message.includes(phrase),
        `message should contain "${phrase}": ${JSON.stringify(bp)}`);
    }
  }
  assert.equal(bp.verified, verifies, `verified: ${JSON.stringify(bp)}`);
  if (!verifies || !needsAddress(c)) { noteKids(); return {}; }
  assert.equal(bp.instructionReference, ref.address, `armed at dlv's address: ${JSON.stringify(bp)}`);
  const stop = within(WAIT_MS, dc.assertStoppedLocation('breakpoint', { path: c.client_path, line: c.line }),
    'assertStoppedLocation');
  stop.catch(() => {});
  await within(WAIT_MS, dc.configurationDoneRequest(), 'configurationDone');
  const st = await stop;
  noteKids();
  const f = st.body.stackFrames[0];
  rec.stop = { path: f.source?.path, line: f.line };
  rec.address = f.instructionPointerReference;
  assert.equal(f.instructionPointerReference, ref.address, "stopped at dlv's address");
  return {};
}

/**
 * An unbound breakpoint is logged once at warn level (the default level) with
 * its message: `breakpoint FILE:LINE not bound: ...`.
 */
function checkShimLog(c, log) {
  const said = log.split('\n').filter((l) => l.includes(`breakpoint ${c.client_path}:${c.line} not bound: `));
  assert.equal(said.length, 1, `one 'breakpoint ${c.client_path}:${c.line} not bound: ...' line in the shim's log:\n${log}`);
  assert.ok(said[0].includes(c.phrase), `the log line gives the message: ${said[0]}`);
}

const failed = (e) => {
  let s = `FAIL: ${e.message.split('\n')[0]}`;
  if (e.code === 'ERR_ASSERTION' && typeof e.actual === 'string') s += ` (got ${e.actual})`;
  return s;
};

// ---- the tests ------------------------------------------------------------

const RESULTS = {};   // name -> { dlv: { record, summary }, shim: { record, summary } }

function report() {
  const lines = CASES.map((c) => {
    const r = RESULTS[c.name] || {};
    return `${c.name} [${c.expect}${c.rule ? ` ${c.rule}` : ''}${c.phrase ? ` "${c.phrase}"` : ''}]`
      + `\n    dlv:  ${r.dlv ? r.dlv.summary : 'not run'}\n    shim: ${r.shim ? r.shim.summary : 'not run'}`;
  });
  process.stdout.write(`path layouts: ${CASES.length} cases\n${lines.join('\n')}\n`);
  if (process.env.LAYOUT_RESULTS) {
    const out = CASES.map((c) => ({ name: c.name, title: c.title, expect: c.expect, rule: c.rule, phrase: c.phrase,
      dlv: RESULTS[c.name]?.dlv?.record ?? null, shim: RESULTS[c.name]?.shim?.record ?? null }));
    fs.writeFileSync(process.env.LAYOUT_RESULTS, `${JSON.stringify(out, null, 1)}\n`);
  }
}

describe('path layouts (VS Code DebugClient)', () => {
  if (!CASES_FILE) {
    it('every layout case', { skip: 'LAYOUT_CASES is not set: write a cases file with '
      + '`/usr/bin/python3 tests/lib/dlvtest/layouts.py --out DIR --cases FILE.json` and set LAYOUT_CASES=FILE.json' }, () => {});
    return;
  }
  after(report);

  for (const c of CASES) {
    describe(`${c.name}: ${c.title || ''}`, () => {
      it('plain dlv', { timeout: TEST_MS }, async (t) => {
        const rec = { client: null, recorded_path: null, recorded: null, address: null, stop: null };
        RESULTS[c.name] = { dlv: { record: rec, summary: 'not finished' } };
        try {
          await session(DLV_ADAPTER, c, (dc, noteKids) => dlvReference(dc, c, rec, noteKids));
        } catch (e) {
          RESULTS[c.name].dlv.summary = failed(e);
          throw e;
        }
        let s = `${c.client_path}:${c.line} ${brief(rec.client)}`;
        if (rec.recorded && rec.recorded !== rec.client) s += `; ${rec.recorded_path}:${c.line} ${brief(rec.recorded)}`;
        if (rec.address) s += `; stops @${rec.address}`;
        RESULTS[c.name].dlv.summary = s;
        t.diagnostic(`dlv:  ${s}`);
      });

      it('dlvidx dap', { timeout: TEST_MS }, async (t) => {
        const ref = RESULTS[c.name]?.dlv?.record;
        const rec = { client: null, address: null, stop: null, ok: false };
        RESULTS[c.name] = { ...RESULTS[c.name], shim: { record: rec, summary: 'not finished' } };
        let failure = null;
        try {
          if (needsAddress(c)) assert.ok(ref && ref.address, 'no reference address: the plain dlv test of this case failed');
          const out = await session(SHIM_ADAPTER, c, (dc, noteKids) => shimCheck(dc, c, ref, rec, noteKids));
          if (!shimVerifies(c)) checkShimLog(c, out.log);
          rec.ok = true;
        } catch (e) {
          failure = e;
        }
        let s = brief(rec.client);
        if (rec.stop) s += `; stopped ${rec.stop.path}:${rec.stop.line} @${rec.address}`;
        s += failure ? ` -- ${failed(failure)}` : ' -- ok';
        RESULTS[c.name].shim.summary = s;
        t.diagnostic(`shim: ${s}`);
        if (failure) throw failure;
      });
    });
  }
});
