// Load helpers for the hardening tests (slowloris, connection storm,
// EMFILE): /proc readings of the node, statistics, a node started under a
// command prefix (prlimit), and load workers run as child processes so the
// load does not share an event loop (or an open-files limit) with the
// process taking the measurements.
//
// As a module: import the helpers. As a script (`node load.mjs worker`),
// it is one worker, driven over the fork IPC channel; every worker has a
// hard deadline and exits by itself, and the parent kills it by PID anyway.
import { fork, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const SELF = fileURLToPath(import.meta.url);
const CLK_TCK = 100; // Linux USER_HZ: /proc/PID/stat counts in 1/100 s
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process, KiB. */
export function rssKiB(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
}

/** CPU time (user + system) a process has used, seconds. */
export function cpuSeconds(pid) {
  // Fields after "(comm) ": state is [0], utime [11], stime [12].
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/**
 * Whether a running process is an AddressSanitizer build (libasan mapped).
 * Its redzones add a fixed cost to every allocation, so per-connection
 * memory bounds get an allowance there.
 */
export function isAsan(pid) {
  return /libasan/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

/** Open file descriptors of a process. */
export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Sample a process's RSS every intervalMs until stop(); returns {max, min, last}. */
export function sampleRss(pid, intervalMs = 100) {
  let max = 0, min = Infinity, last = 0;
  const take = () => {
    try { last = rssKiB(pid); max = Math.max(max, last); min = Math.min(min, last); } catch {}
  };
  take();
  const t = setInterval(take, intervalMs);
  t.unref(); // a failed test must not be kept alive by its sampler
  return { stop: () => { clearInterval(t); take(); return { max, min, last }; } };
}

/** Order statistics of a list of numbers. */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, min: s[0], p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}

export const fmt = (ms) => `${ms.toFixed(1)} ms`;

/**
 * Time one WebSocket connect: from construction to 'open' (TCP connect,
 * HTTP upgrade request, 101). The socket is dropped at once. Rejects on any
 * failure, or after timeoutMs.
 */
export function timeConnect(url, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ws = new WebSocket(url);
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`connect took over ${timeoutMs} ms`)); }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      ws.terminate();
      resolve(ms);
    });
    ws.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/**
 * count sequential connect times (ms), gapMs apart. A connect that fails
 * counts with the time it took to fail, and its error is listed in
 * `failures` (the returned array's property).
 */
export async function connectTimes(url, count, gapMs = 0) {
  const out = [];
  out.failures = [];
  for (let i = 0; i < count; i++) {
    if (i && gapMs) await sleep(gapMs);
    const t0 = process.hrtime.bigint();
    try {
      out.push(await timeConnect(url));
    } catch (e) {
      out.push(Number(process.hrtime.bigint() - t0) / 1e6);
      out.failures.push(e.code ?? e.message);
    }
  }
  return out;
}

const tracked = new Set();
process.on('exit', () => { for (const p of tracked) try { process.kill(p.pid, 'SIGKILL'); } catch {} });
function track(proc) {
  tracked.add(proc);
  proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
    tracked.delete(proc);
    resolve({ code, signal });
  }));
  return proc;
}

/**
 * Run one heavy test at a time across processes (ctest runs tests in
 * parallel; two of these at once on a 2-core machine would measure each
 * other). Holds an flock(1) on HEAVY_LOCK through a child that keeps it
 * until release() or until this process dies (its stdin closes). A lock
 * file of its own, not the one heavy runs are wrapped in by hand, so a
 * wrapped ctest does not wait for itself.
 */
const HEAVY_LOCK = '/tmp/shardcast-e2e-heavy.lock';
export async function heavyLock(timeoutS = 60) {
  const t0 = Date.now();
  const p = track(spawn('flock', ['-w', String(timeoutS), HEAVY_LOCK, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'ignore'] }));
  await new Promise((resolve, reject) => {
    p.stdout.once('data', resolve);
    p.exited.then(({ code }) => reject(new Error(`could not take ${HEAVY_LOCK} in ${timeoutS} s (flock exit ${code})`)));
  });
  return {
    waitedMs: Date.now() - t0,
    release: async () => { p.stdin.end(); await p.exited; },
  };
}

/**
 * Start a load worker (this file, in a child process). Returns the child,
 * with `next(type, timeoutMs)` resolving with its next message of that type
 * and `send(obj)`; `kill9()` kills it by PID.
 */
export function startWorker(mode, params) {
  const proc = track(fork(SELF, ['worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const inbox = [];
  const waiters = [];
  proc.on('message', (m) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  proc.next = (type, timeoutMs = 60000) => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = { type, resolve: (m) => { clearTimeout(t); resolve(m); } };
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`worker ${mode} (pid ${proc.pid}): no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      t.unref(); // the IPC channel keeps the process up while the worker runs
      waiters.push(w);
      proc.exited.then(({ code, signal }) => {
        if (waiters.includes(w)) {
          waiters.splice(waiters.indexOf(w), 1);
          clearTimeout(t);
          reject(new Error(`worker ${mode} (pid ${proc.pid}) exited (${code ?? signal}) before '${type}'`));
        }
      });
    });
  };
  proc.kill9 = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      try { process.kill(proc.pid, 'SIGKILL'); } catch {}
    }
    await proc.exited;
  };
  proc.send({ mode, params });
  return proc;
}

/**
 * Start a node with a command prefix (e.g. ['prlimit', '--nofile=300:300',
 * '--']; prlimit execs, so proc.pid is the node's). stderr is kept to its
 * first and last 64 KiB (a node logging in a loop must not fill the test's
 * memory); `stderrLines()` counts every line, `countLines(re)` the lines
 * matching re from then on, including those not kept.
 */
export async function startNodePrefixed(bin, redis, port, prefix, extraArgs = []) {
  const args = ['--port', String(port), '--host', '127.0.0.1',
    '--redis', `redis://127.0.0.1:${redis.port}`, ...extraArgs];
  const cmd = [...prefix, bin, ...args];
  const proc = track(spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }));
  const KEEP = 64 * 1024;
  let head = '', tail = '', lines = 0, partial = '';
  const counters = new Map();
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    if (head.length < KEEP) head += d.slice(0, KEEP - head.length);
    tail = (tail + d).slice(-KEEP);
    const parts = (partial + d).split('\n');
    partial = parts.pop();
    lines += parts.length;
    for (const [re, c] of counters) for (const l of parts) if (re.test(l)) c.n++;
  });
  const n = {
    port, proc, url: `ws://127.0.0.1:${port}/ws`,
    stderrHead: () => head,
    stderrTail: () => tail,
    stderrLines: () => lines,
    /** Start counting stderr lines matching re from now on. */
    countLines: (re) => { const c = { n: 0 }; counters.set(re, c); return c; },
    alive: () => proc.exitCode === null && proc.signalCode === null,
    http: async (path) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text() };
    },
    metrics: async () => {
      const out = {};
      for (const line of (await n.http('/metrics')).body.split('\n')) {
        const m = line.match(/^([a-z_]+(?:\{[^}]*\})?) (\S+)$/);
        if (m) out[m[1]] = Number(m[2]);
      }
      return out;
    },
    stop: async () => {
      if (n.alive()) process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL'); } catch {} }, 10000);
      const { code, signal } = await proc.exited;
      clearTimeout(timer);
      return { code, signal };
    },
  };
  const end = Date.now() + 10000;
  for (;;) {
    if (!n.alive()) throw new Error(`node exited at start-up:\n${head}`);
    if (await new Promise((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    })) break;
    if (Date.now() > end) throw new Error(`node not listening:\n${head}`);
    await sleep(50);
  }
  return n;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */
/* ------------------------------------------------------------------------ */

const HARD_DEADLINE_MS = 150000; // no worker outlives this, whatever happens

/**
 * slowloris: open `silent` sockets that send nothing and `trickle` sockets
 * that send a never-ending HTTP request one byte per trickleMs, spread over
 * openMs. Reports 'connected' once all are connected, then 'done' when all
 * are closed by the node or at deadlineMs (the rest are destroyed then):
 * per kind, how long after its connect each socket was closed.
 */
async function workerSlowloris({ port, host = '127.0.0.1', silent, trickle, openMs, trickleMs, deadlineMs }) {
  const head = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
  const pad = 'X-Pad: aaaaaaaa\r\n'; // repeated after head: the blank line never comes
  const total = silent + trickle;
  const socks = [];
  const res = { connectFailed: 0, gotData: 0, errors: {} };
  let connected = 0, closed = 0;
  const t0 = Date.now();
  let doneResolve;
  const allClosed = new Promise((r) => { doneResolve = r; });

  const open = (kind) => {
    const rec = { kind, tConnect: 0, tClose: 0, pos: 0, s: null };
    const s = tcpConnect(port, host);
    rec.s = s;
    s.setNoDelay(true);
    const connectSettled = () => {
      if (connected + res.connectFailed === total)
        process.send({ type: 'connected', connected, spreadMs: Date.now() - t0 });
    };
    s.on('connect', () => {
      rec.tConnect = Date.now();
      connected++;
      connectSettled();
    });
    s.on('data', () => { res.gotData++; });
    s.on('error', (e) => {
      res.errors[e.code] = (res.errors[e.code] ?? 0) + 1;
      if (!rec.tConnect) {
        res.connectFailed++;
        connectSettled();
      }
    });
    s.on('close', () => {
      rec.tClose = Date.now();
      if (++closed === total) doneResolve();
    });
    socks.push(rec);
  };
  // Batches every 50 ms, so all are open within openMs.
  const batches = Math.max(1, Math.floor(openMs / 50));
  // Interleave kinds so both are spread over the whole opening window.
  const order = [];
  for (let i = 0, j = 0; i < silent || j < trickle; ) {
    if (i++ < silent) order.push('silent');
    if (j++ < trickle) order.push('trickle');
  }
  const per = Math.ceil(total / batches);
  for (let b = 0; b * per < total; b++) {
    for (const k of order.slice(b * per, (b + 1) * per)) open(k);
    await sleep(50);
  }
  // One timer writes the next byte of every open trickling socket.
  const trickleTimer = setInterval(() => {
    for (const r of socks) {
      if (r.kind !== 'trickle' || !r.tConnect || r.tClose || r.s.destroyed) continue;
      const text = r.pos < head.length ? head : pad;
      const i = r.pos < head.length ? r.pos : (r.pos - head.length) % pad.length;
      r.s.write(text[i]);
      r.pos++;
    }
  }, trickleMs);
  const deadline = sleep(deadlineMs - (Date.now() - t0));
  await Promise.race([allClosed, deadline]);
  clearInterval(trickleTimer);
  const byKind = {};
  let neverClosed = 0;
  for (const r of socks) {
    if (!r.tClose) { neverClosed++; r.s.destroy(); continue; }
    if (!r.tConnect) continue;
    (byKind[r.kind] ??= []).push(r.tClose - r.tConnect);
  }
  const summary = {};
  for (const [k, v] of Object.entries(byKind)) {
    v.sort((a, b) => a - b);
    summary[k] = { n: v.length, min: v[0], p50: v[Math.floor(v.length / 2)], max: v[v.length - 1],
      bytesMax: k === 'trickle' ? Math.max(...socks.filter((r) => r.kind === k).map((r) => r.pos)) : 0 };
  }
  process.send({ type: 'done', total, connected, neverClosed, byKind: summary, ...res,
    elapsedMs: Date.now() - t0 });
}

/**
 * storm: open `count` WebSockets from localAddress, at most `concurrency`
 * handshakes in flight, as fast as they complete. Counts opened, HTTP
 * statuses and errors exactly; keeps the opened ones. Reports 'done', then
 * obeys {cmd:'close', n} (close n opened ones, report 'closed') and
 * {cmd:'exit'}.
 */
async function workerStorm({ url, count, localAddress, concurrency, handshakeTimeoutMs, deadlineMs }) {
  const t0 = Date.now();
  const open = [];
  const res = { opened: 0, status: {}, errors: {}, closedEarly: 0 };
  let started = 0, settled = 0, firstOpenMs = null, lastOpenMs = 0;
  await new Promise((resolve) => {
    const startOne = () => {
      if (started >= count) return;
      started++;
      const ws = new WebSocket(url, { localAddress, handshakeTimeout: handshakeTimeoutMs, perMessageDeflate: false });
      let done = false;
      const settle = () => {
        if (done) return;
        done = true;
        if (++settled === count) resolve();
        else startOne();
      };
      ws.once('open', () => {
        res.opened++;
        const t = Date.now() - t0;
        firstOpenMs ??= t;
        lastOpenMs = t;
        open.push(ws);
        ws.once('close', () => { if (!ws.byUs) res.closedEarly++; });
        settle();
      });
      ws.once('unexpected-response', (req, r) => {
        res.status[r.statusCode] = (res.status[r.statusCode] ?? 0) + 1;
        r.resume();
        req.destroy();
        settle();
      });
      ws.on('error', (e) => {
        if (done) return;
        const k = e.code ?? e.message;
        res.errors[k] = (res.errors[k] ?? 0) + 1;
        settle();
      });
    };
    for (let i = 0; i < Math.min(concurrency, count); i++) startOne();
    setTimeout(resolve, deadlineMs);
  });
  process.send({ type: 'done', count, started, settled, ...res, firstOpenMs, lastOpenMs,
    elapsedMs: Date.now() - t0 });
  process.on('message', async (m) => {
    if (m.cmd === 'close') {
      const some = open.splice(0, m.n);
      await Promise.all(some.map((ws) => new Promise((r) => {
        ws.byUs = true;
        ws.once('close', r);
        ws.close(1000);
        setTimeout(() => { ws.terminate(); r(); }, 5000);
      })));
      process.send({ type: 'closed', n: some.length, stillOpen: open.length, closedEarly: res.closedEarly });
    } else if (m.cmd === 'report') {
      process.send({ type: 'report', stillOpen: open.filter((ws) => ws.readyState === WebSocket.OPEN).length,
        closedEarly: res.closedEarly });
    } else if (m.cmd === 'exit') {
      for (const ws of open) { ws.byUs = true; ws.terminate(); }
      process.exit(0);
    }
  });
}

if (process.argv[1] === SELF && process.argv[2] === 'worker') {
  setTimeout(() => process.exit(3), HARD_DEADLINE_MS).unref();
  process.once('message', ({ mode, params }) => {
    const run = { slowloris: workerSlowloris, storm: workerStorm }[mode];
    run(params).catch((e) => { console.error(e); process.exit(4); });
  });
  process.on('disconnect', () => process.exit(0)); // the parent went away
}
