'use strict';
// Starting DAP adapters the way vscode-go does, and bounded waits: shared by
// dap.test.js and paths.test.js. An adapter is started as
// `ADAPTER dap [args] --listen=127.0.0.1:PORT --log-dest=3` with its
// listening line (and, with --log, its log) on fd 3. In that server mode
// DebugClient disables its own timeouts, so every wait goes through within().

const cp = require('node:child_process');
const net = require('node:net');

// `mode: debug` builds the program: the adapter needs `go` (Go 1.27) on PATH.
const ADAPTER_ENV = { ...process.env, PATH: `/usr/lib/go-1.27/bin:${process.env.PATH}`, GOTOOLCHAIN: 'local', GOPROXY: 'off' };
const WAIT_MS = 30000;       // any single DAP wait

/** `promise`, or a rejection (err.timedOut) after `ms`. */
function within(ms, promise, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(Object.assign(new Error(`timed out after ${ms} ms: ${what}`), { timedOut: true })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Start ADAPTER ({cmd, args}) like vscode-go; resolve once it says it is listening.
 *  proc.log: everything it wrote (for a failure's report); proc.fd3: its fd 3 as written. */
async function startAdapter(adapter) {
  const port = await freePort();
  const args = [...adapter.args, `--listen=127.0.0.1:${port}`, '--log-dest=3'];
  const proc = cp.spawn(adapter.cmd, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: ADAPTER_ENV });
  proc.log = [];
  proc.fd3 = '';
  proc.exitInfo = null;
  proc.exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (err) => resolve({ error: err.message }));   // e.g. ENOENT: never started
  }).then((x) => { proc.exitInfo = x; return x; });
  proc.stdout.on('data', (d) => proc.log.push(`[stdout] ${d}`));
  proc.stderr.on('data', (d) => proc.log.push(`[stderr] ${d}`));
  const listening = new Promise((resolve, reject) => {
    let buf = '';
    proc.stdio[3].on('data', (d) => {
      buf += d;
      proc.fd3 += d;
      proc.log.push(`[fd3] ${d}`);
      if (buf.split('\n').some((l) => l.startsWith('DAP server listening at:'))) resolve();
    });
    proc.exited.then((x) => reject(new Error(`adapter exited before listening: ${JSON.stringify(x)}\n${proc.log.join('')}`)));
  });
  try {
    await within(WAIT_MS, listening, `'DAP server listening at:' from ${adapter.cmd} ${args.join(' ')}`);
  } catch (e) {
    await stopAdapter(proc);
    throw e;
  }
  return { proc, port };
}

/** SIGTERM the adapter's PID only; SIGKILL it if still there after 5 s. */
async function stopAdapter(proc) {
  if (proc.exitInfo) return;
  proc.kill('SIGTERM');
  try {
    await within(5000, proc.exited, 'adapter exit after SIGTERM');
  } catch {
    proc.kill('SIGKILL');
    await within(5000, proc.exited, 'adapter exit after SIGKILL').catch(() => {});
  }
}

/** Wait for an event of `type` matching `pred` (registered immediately). */
function waitEvent(dc, type, pred = () => true, ms = WAIT_MS) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (ev) => { if (pred(ev)) resolve(ev); };
    dc.on(type, handler);
  });
  const w = within(ms, p, `event '${type}'`).finally(() => dc.removeListener(type, handler));
  w.catch(() => {});   // awaited (or deliberately dropped) by the caller
  return w;
}

module.exports = { ADAPTER_ENV, WAIT_MS, within, freePort, startAdapter, stopAdapter, waitEvent };
