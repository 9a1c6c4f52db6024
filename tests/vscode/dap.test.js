'use strict';
// DAP scenarios for `dlvidx dap` (the shim) and plain `dlv dap` (the
// reference), driven by @vscode/debugadapter-testsupport's DebugClient, the
// client VS Code's own debug adapters are tested with. Run: npm test
//
// Env: DLVIDX (default ../../build/release/tools/dlvidx), DLV (/usr/bin/dlv),
// ADAPTER_KINDS (dlv,shim).
//
// Each test starts its own adapter the way vscode-go does
// (`ADAPTER dap --listen=127.0.0.1:PORT --log-dest=3`, listening line on
// fd 3) and connects with dc.start(port). In that server mode DebugClient
// disables its own timeouts, so every wait here goes through within().

const { describe, it, before, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');
const { ADAPTER_ENV, WAIT_MS, within, freePort, startAdapter, stopAdapter, waitEvent } = require('./adapters');

const DLVIDX = path.resolve(__dirname, process.env.DLVIDX || '../../build/release/tools/dlvidx');
const DLV = process.env.DLV || '/usr/bin/dlv';
const MAIN_GO = path.resolve(__dirname, '../fixtures/example/main.go');
const EXAMPLE_DIR = path.dirname(MAIN_GO);
const EXIT_MS = 10000;       // adapter exit after disconnect
const TEST_MS = 90000;       // backstop per test

// ADAPTER_KINDS (e.g. "shim"): which of them to run (default both).
const KINDS = (process.env.ADAPTER_KINDS || 'dlv,shim').split(',');
const ADAPTERS = [
  { kind: 'dlv', cmd: DLV, args: ['dap'] },
  { kind: 'shim', cmd: DLVIDX, args: ['dap', '--dlv', DLV] },
].filter((a) => KINDS.includes(a.kind));

// ---- the fixture ----------------------------------------------------------

const SRC = fs.readFileSync(MAIN_GO, 'utf8').split('\n');

/** 1-based number of the one line of `src` (main.go's by default) whose trimmed text equals `text`. */
function lineOf(text, src = SRC, name = 'main.go') {
  const hits = [];
  src.forEach((l, i) => { if (l.trim() === text) hits.push(i + 1); });
  assert.equal(hits.length, 1, `expected exactly one line '${text}' in ${name}, got ${hits}`);
  return hits[0];
}

/** The first line after `n` that is neither blank nor a `//` comment. */
function nextCodeLine(n) {
  for (let i = n; i < SRC.length; i++) {
    const t = SRC[i].trim();
    if (t !== '' && !t.startsWith('//')) return i + 1;
  }
  throw new Error(`no code after line ${n}`);
}

const L = {
  loop: lineOf('record(s.Area())'),                   // runs 4 times, in shapesDemo
  afterLoop: lineOf('c := shapes.NewCircle(2)'),      // after that loop
  inner: lineOf('m = max(m, x)'),                     // closure loop over inputs {3,1,4,1,5}
  comment: lineOf('// Store instantiated with two different type-argument lists.'),
};
L.commentNext = nextCodeLine(L.comment);

// spin.go: `example spin` calls tick every millisecond until killed.
const SPIN_GO = path.resolve(EXAMPLE_DIR, 'spin.go');
const SPIN_SRC = fs.readFileSync(SPIN_GO, 'utf8').split('\n');
const S = {
  tick: lineOf('doubled := i * 2', SPIN_SRC, 'spin.go'),
  sleep: lineOf('time.Sleep(time.Millisecond)', SPIN_SRC, 'spin.go'),
};

let PROGRAM;
before(() => {
  PROGRAM = cp.execFileSync('python3', ['../corpus/corpus.py', 'path', 'example-go127-linux-amd64'],
    { cwd: __dirname, encoding: 'utf8', timeout: 300000 }).trim();
  assert.ok(fs.existsSync(PROGRAM), `program ${PROGRAM} missing`);
});

// ---- helpers --------------------------------------------------------------

/** An adapter started without fd 3 (--client-addr, or by hand), with exit tracking. */
function spawnTracked(cmd, args) {
  const proc = cp.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: ADAPTER_ENV });
  proc.log = [];
  proc.stderr.on('data', (d) => proc.log.push(`[stderr] ${d}`));
  proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  proc.exitInfo = null;
  proc.exited.then((x) => { proc.exitInfo = x; });
  return proc;
}


async function topFrame(dc, threadId) {
  const st = await within(WAIT_MS, dc.stackTraceRequest({ threadId, startFrame: 0, levels: 20 }), 'stackTrace');
  assert.ok(st.body.stackFrames.length > 0, 'empty stack');
  return st.body.stackFrames[0];
}

async function evaluate(dc, frameId, expression) {
  const r = await within(WAIT_MS, dc.evaluateRequest({ expression, frameId, context: 'watch' }), `evaluate ${expression}`);
  return r.body.result;
}

/**
 * initialize + launch exec; on 'initialized' set `bps` (array of
 * DebugProtocol.SourceBreakpoint) in main.go and send configurationDone.
 * Resolves with the setBreakpoints response.
 */
async function launchWith(dc, bps) {
  let setResp;
  await within(WAIT_MS, Promise.all([
    waitEvent(dc, 'initialized').then(async () => {
      setResp = await dc.setBreakpointsRequest({ source: { path: MAIN_GO }, breakpoints: bps });
      await dc.configurationDoneRequest();
    }),
    dc.initializeRequest().then(() => dc.launchRequest({ mode: 'exec', program: PROGRAM })),
  ]), 'initialize/launch/configurationDone');
  return setResp;
}

/** dc.hitBreakpoint (launch exec, one breakpoint at `line`), plus the thread that stopped. */
async function hit(dc, line) {
  const stop = waitEvent(dc, 'stopped');
  const [, , st] = await within(WAIT_MS,
    dc.hitBreakpoint({ mode: 'exec', program: PROGRAM }, { path: MAIN_GO, line }), 'hitBreakpoint');
  const ev = await stop;
  return { st, threadId: ev.body.threadId };
}

// ---- tests ----------------------------------------------------------------

for (const adapter of ADAPTERS) {
  describe(`${adapter.kind} dap`, () => {
    let session = null;   // { proc, dc }

    async function open() {
      const { proc, port } = await startAdapter(adapter);
      const dc = new DebugClient('node', 'unused', 'go');
      session = { proc, dc };
      await within(WAIT_MS, dc.start(port), 'connect');
      // The adapter may close the socket first (e.g. after disconnect); a
      // later write must not become an unhandled 'error' event.
      if (dc._socket) dc._socket.on('error', () => {});
      return dc;
    }

    afterEach(async (t) => {
      if (!session) return;
      const { proc, dc } = session;
      session = null;
      if (proc.exitInfo) dc.stopAdapter();   // already gone: just close the socket
      else await within(5000, dc.stop(), 'dc.stop()').catch(() => dc.stopAdapter());
      await stopAdapter(proc);
      if (t && t.passed === false) process.stderr.write(proc.log.join(''));
    });

    it('hits a breakpoint; stack, scopes, variables, evaluate', { timeout: TEST_MS }, async () => {
      const dc = await open();
      const { st } = await hit(dc, L.loop);
      const frame = st.body.stackFrames[0];
      assert.equal(frame.line, L.loop);
      assert.equal(frame.source.path, MAIN_GO);
      assert.match(frame.name, /shapesDemo/);
      assert.ok(st.body.stackFrames.some((f) => /main\.run/.test(f.name)), 'main.run on the stack');

      const scopes = await within(WAIT_MS, dc.scopesRequest({ frameId: frame.id }), 'scopes');
      assert.ok(scopes.body.scopes.length > 0, 'no scopes');
      const locals = scopes.body.scopes[0];
      const vars = await within(WAIT_MS, dc.variablesRequest({ variablesReference: locals.variablesReference }), 'variables');
      assert.ok(vars.body.variables.length > 0, 'no variables');
      assert.ok(vars.body.variables.some((v) => v.name === 'all'), `'all' among ${vars.body.variables.map((v) => v.name)}`);

      assert.equal(await evaluate(dc, frame.id, 'len(all)'), '4');
      assert.equal(await evaluate(dc, frame.id, 'st.n'), '0');
    });

    it('next stops with reason step; continue reaches a second breakpoint', { timeout: TEST_MS }, async () => {
      const dc = await open();
      const { st, threadId } = await hit(dc, L.loop);
      assert.equal(st.body.stackFrames[0].line, L.loop);

      let stop = waitEvent(dc, 'stopped');
      await within(WAIT_MS, dc.nextRequest({ threadId }), 'next');
      let ev = await stop;
      assert.equal(ev.body.reason, 'step');
      let f = await topFrame(dc, ev.body.threadId);
      assert.notEqual(f.line, L.loop, 'next moved off the breakpoint line');
      assert.match(f.name, /shapesDemo/);

      const set = await within(WAIT_MS, dc.setBreakpointsRequest({
        source: { path: MAIN_GO }, breakpoints: [{ line: L.afterLoop }],
      }), 'setBreakpoints');
      assert.equal(set.body.breakpoints[0].verified, true);
      stop = waitEvent(dc, 'stopped');
      await within(WAIT_MS, dc.continueRequest({ threadId: ev.body.threadId }), 'continue');
      ev = await stop;
      assert.equal(ev.body.reason, 'breakpoint');
      f = await topFrame(dc, ev.body.threadId);
      assert.equal(f.line, L.afterLoop);
    });

    it('conditional breakpoint stops with the condition true', { timeout: TEST_MS }, async () => {
      const dc = await open();
      const stop = waitEvent(dc, 'stopped');
      const set = await launchWith(dc, [{ line: L.inner, condition: 'x == 4' }]);
      assert.equal(set.body.breakpoints[0].verified, true);
      const ev = await stop;
      assert.equal(ev.body.reason, 'breakpoint');
      const f = await topFrame(dc, ev.body.threadId);
      assert.equal(f.line, L.inner);
      assert.equal(await evaluate(dc, f.id, 'x'), '4');
      assert.equal(await evaluate(dc, f.id, 'x == 4'), 'true');
      assert.equal(await evaluate(dc, f.id, 'm'), '3');   // max of 3, 1 so far
    });

    it('log point emits an output event with its message', { timeout: TEST_MS }, async () => {
      const dc = await open();
      const out = waitEvent(dc, 'output', (e) => /vscode-logpoint x=3\b/.test(e.body.output));
      const set = await launchWith(dc, [{ line: L.inner, logMessage: 'vscode-logpoint x={x}' }]);
      assert.equal(set.body.breakpoints[0].verified, true);
      const ev = await out;
      assert.match(ev.body.output, /vscode-logpoint x=3/);
    });

    it('breakpoint on a comment line inside a function', { timeout: TEST_MS }, async () => {
      const dc = await open();
      const stop = adapter.kind === 'shim' ? waitEvent(dc, 'stopped') : null;
      const set = await launchWith(dc, [{ line: L.comment }]);
      const bp = set.body.breakpoints[0];
      if (adapter.kind === 'dlv') {
        assert.equal(bp.verified, false, JSON.stringify(bp));
      } else {
        assert.equal(bp.verified, true, JSON.stringify(bp));
        assert.equal(bp.line, L.commentNext);
        assert.ok(typeof bp.message === 'string' && bp.message.startsWith('moved from line'), JSON.stringify(bp));
        const ev = await stop;
        assert.equal(ev.body.reason, 'breakpoint');
        const f = await topFrame(dc, ev.body.threadId);
        assert.equal(f.line, L.commentNext);
      }
    });

    it('launch debug: the adapter builds the program directory and stops', { timeout: TEST_MS }, async () => {
      const dc = await open();
      const stop = waitEvent(dc, 'stopped');
      await within(WAIT_MS * 2, dc.hitBreakpoint({ mode: 'debug', program: EXAMPLE_DIR, dlvCwd: EXAMPLE_DIR },
        { path: MAIN_GO, line: L.loop }), 'hitBreakpoint (debug)');
      const ev = await stop;
      assert.equal((await topFrame(dc, ev.body.threadId)).line, L.loop);
    });

    it('breakpoints replaced during the session take effect on continue', { timeout: TEST_MS }, async () => {
      const dc = await open();
      const { threadId } = await hit(dc, L.loop);
      const set = await within(WAIT_MS, dc.setBreakpointsRequest({ source: { path: MAIN_GO },
        breakpoints: [{ line: L.afterLoop }] }), 'setBreakpoints at a stop');
      assert.equal(set.body.breakpoints.length, 1);
      assert.equal(set.body.breakpoints[0].verified, true, JSON.stringify(set.body));
      const stop = waitEvent(dc, 'stopped');
      await within(WAIT_MS, dc.continueRequest({ threadId }), 'continue');
      const ev = await stop;
      assert.equal((await topFrame(dc, ev.body.threadId)).line, L.afterLoop, 'stopped at the new breakpoint, not the old');
    });

    it('breakpoints set, cleared and set again while the program runs', { timeout: TEST_MS }, async () => {
      const dc = await open();
      // Launch `example spin` with no breakpoints: it runs until killed.
      await within(WAIT_MS, Promise.all([
        waitEvent(dc, 'initialized').then(() => dc.configurationDoneRequest()),
        dc.initializeRequest().then(() => dc.launchRequest({ mode: 'exec', program: PROGRAM, args: ['spin'] })),
      ]), 'launch spin');
      await new Promise((r) => setTimeout(r, 300));   // let it run

      // Running: a new breakpoint is verified, and the program stops there.
      let stop = waitEvent(dc, 'stopped');
      let set = await within(WAIT_MS, dc.setBreakpointsRequest({ source: { path: SPIN_GO },
        breakpoints: [{ line: S.tick }] }), 'setBreakpoints while running');
      assert.equal(set.body.breakpoints[0].verified, true, JSON.stringify(set.body));
      assert.equal(set.body.breakpoints[0].line, S.tick);
      let ev = await stop;
      assert.equal(ev.body.reason, 'breakpoint');
      let f = await topFrame(dc, ev.body.threadId);
      assert.equal(f.line, S.tick);
      assert.match(f.name, /main\.tick/);
      const i1 = Number(await evaluate(dc, f.id, 'i'));

      // Clear at the stop, continue: it runs on without stopping.
      set = await within(WAIT_MS, dc.setBreakpointsRequest({ source: { path: SPIN_GO }, breakpoints: [] }), 'clear');
      assert.equal(set.body.breakpoints.length, 0);
      const noStop = waitEvent(dc, 'stopped', () => true, 500).then(() => 'stopped', () => 'running');
      await within(WAIT_MS, dc.continueRequest({ threadId: ev.body.threadId }), 'continue');
      assert.equal(await noStop, 'running', 'stopped with no breakpoints set');

      // Running again: a breakpoint on another line; the loop variable has moved on.
      stop = waitEvent(dc, 'stopped');
      set = await within(WAIT_MS, dc.setBreakpointsRequest({ source: { path: SPIN_GO },
        breakpoints: [{ line: S.sleep }] }), 'setBreakpoints while running, again');
      assert.equal(set.body.breakpoints[0].verified, true, JSON.stringify(set.body));
      ev = await stop;
      f = await topFrame(dc, ev.body.threadId);
      assert.equal(f.line, S.sleep);
      assert.match(f.name, /main\.spin/);
      const i2 = Number(await evaluate(dc, f.id, 'i'));
      assert.ok(i2 > i1, `loop went on while running: i ${i1} then ${i2}`);
    });

    it('--client-addr: the adapter dials in (console: integratedTerminal)', { timeout: TEST_MS }, async () => {
      const server = net.createServer();
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const port = server.address().port;
      const accepted = new Promise((r) => server.once('connection', r));
      const proc = spawnTracked(adapter.cmd, [...adapter.args, `--client-addr=127.0.0.1:${port}`]);
      const dc = new DebugClient('node', 'unused', 'go');
      session = { proc, dc };
      try {
        const sock = await within(WAIT_MS, accepted, 'the adapter dialing in');
        sock.on('error', () => {});
        dc.connect(sock, sock);
        const { st } = await hit(dc, L.loop);
        assert.ok(st, 'stopped');
        await within(WAIT_MS, dc.disconnectRequest({ terminateDebuggee: true }), 'disconnect');
        await within(EXIT_MS, proc.exited, 'adapter exit');
      } finally {
        server.close();
      }
    });

    it('debugServer: started by hand with --listen, then the client connects', { timeout: TEST_MS }, async () => {
      const port = await freePort();
      const proc = spawnTracked(adapter.cmd, [...adapter.args, `--listen=127.0.0.1:${port}`]);
      const dc = new DebugClient('node', 'unused', 'go');
      session = { proc, dc };
      await within(WAIT_MS, new Promise((resolve) => {
        let buf = '';
        proc.stdout.on('data', (d) => { buf += d; if (buf.includes(`DAP server listening at: 127.0.0.1:${port}`)) resolve(); });
      }), 'listening line on stdout');
      await within(WAIT_MS, dc.start(port), 'connect');
      if (dc._socket) dc._socket.on('error', () => {});
      const { st } = await hit(dc, L.loop);
      assert.ok(st, 'stopped');
    });

    it('disconnect with terminateDebuggee ends the adapter', { timeout: TEST_MS }, async () => {
      const dc = await open();
      await hit(dc, L.loop);
      await within(WAIT_MS, dc.disconnectRequest({ terminateDebuggee: true }), 'disconnect');
      const x = await within(EXIT_MS, session.proc.exited, 'adapter exit after disconnect');
      assert.equal(x.signal, null, `adapter killed by ${x.signal}`);
    });
  });
}

