// Shared helpers for end-to-end tests: a real redis-server and real
// shardcast nodes on free loopback ports, each test with its own, all
// stopped by PID when the test ends.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import https from 'node:https';
import WebSocket from 'ws';

const execFileP = promisify(execFile);
export const BIN = process.env.SHARDCAST_BIN;
if (!BIN) throw new Error('SHARDCAST_BIN must point at the shardcast binary');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port nobody listens on right now (the kernel picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Poll fn until it returns a truthy value or the deadline passes. */
export async function waitFor(fn, { timeout = 10000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

const children = new Set();
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch {} });

function track(proc) {
  children.add(proc);
  proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
    children.delete(proc);
    resolve({ code, signal });
  }));
  return proc;
}

/** Start redis-server in a temp dir. Returns {port, proc, cli(), stop(), restart()}. */
export async function startRedis(port) {
  port = port ?? await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sc-redis-'));
  const r = { port, dir, proc: null };
  r.start = async () => {
    r.proc = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
    await waitFor(async () => (await r.cli('PING')).trim() === 'PONG', { what: 'redis up' });
  };
  r.cli = async (...args) => (await execFileP('redis-cli', ['-p', String(port), ...args])).stdout;
  r.kill = async (signal = 'SIGKILL') => {
    const p = r.proc;
    p.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await p.exited;
  };
  r.stop = async () => {
    if (r.proc && r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGCONT');
      await r.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await r.start();
  return r;
}

/** Start a node. Returns {port, url, proc, stderr(), http(path), stop()}. */
function httpsGet(url, ca) {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, headers: new Map(Object.entries(res.headers)) }));
    }).on('error', reject);
  });
}

export async function startNode(redis, extraArgs = [], { waitHealthy = true, ca = null } = {}) {
  const port = await freePort();
  const args = ['--port', String(port), '--host', '127.0.0.1',
    '--redis', `redis://127.0.0.1:${redis.port}`, ...extraArgs];
  // SHARDCAST_VALGRIND=1 runs the node under memcheck; any error or leak
  // makes it exit 99, which stop() reports as a failure.
  const cmd = process.env.SHARDCAST_VALGRIND
    ? ['valgrind', '--quiet', '--leak-check=full', '--show-leak-kinds=all',
      '--errors-for-leak-kinds=definite,indirect,possible', '--error-exitcode=99', BIN, ...args]
    : [BIN, ...args];
  const proc = track(spawn(cmd[0], cmd.slice(1),
    // Under ASan, a small quarantine keeps RSS about what the node really
    // holds, so memory-bound assertions mean the same in both builds.
    { stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ASAN_OPTIONS: `quarantine_size_mb=1:${process.env.ASAN_OPTIONS ?? ''}` } }));
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const n = {
    port, proc,
    url: `${ca ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`,
    stderr: () => err,
    // With ca (a TLS node), requests verify the node's certificate.
    http: async (path) => {
      if (ca) return httpsGet(`https://127.0.0.1:${port}${path}`, ca);
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text(), headers: res.headers };
    },
    metrics: async () => {
      const { body } = await n.http('/metrics');
      const out = {};
      for (const line of body.split('\n')) {
        const m = line.match(/^([a-z_]+(?:\{[^}]*\})?) (\S+)$/);
        if (m) out[m[1]] = Number(m[2]);
      }
      return out;
    },
    // A graceful stop that must succeed: under ASan this is also the leak
    // check of every test that started a node.
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const { code, signal } = await proc.exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`node exited with ${code ?? signal}:\n${err.slice(-4000)}`);
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await proc.exited;
    },
  };
  await waitFor(() => portOpen(port), { what: 'node listening' });
  if (waitHealthy)
    await waitFor(async () => (await n.http('/healthz')).status === 200, { what: 'node healthy' });
  return n;
}

/**
 * Open a WebSocket and collect what arrives. `next(pred)` resolves with the
 * next parsed message matching pred; `closed` resolves with {code, reason}.
 */
export function client(url, opts = {}) {
  const ws = new WebSocket(url, opts);
  const inbox = [];
  const waiters = [];
  ws.messages = inbox;
  ws.on('message', (data, isBinary) => {
    const msg = isBinary ? { binary: data } : JSON.parse(data.toString());
    inbox.push(msg);
    for (const w of [...waiters]) {
      if (w.pred(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
    }
    ws.emit('sc-message', msg);
  });
  ws.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
  });
  ws.opened.catch(() => {});
  ws.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.next = (pred = () => true, timeout = 5000) => {
    const seen = inbox.find(pred);
    if (seen) { inbox.splice(inbox.indexOf(seen), 1); return Promise.resolve(seen); }
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m) => { clearTimeout(t); inbox.splice(inbox.indexOf(m), 1); resolve(m); } };
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`no matching message within ${timeout} ms`));
      }, timeout);
      waiters.push(w);
    });
  };
  ws.request = async (obj, timeout) => {
    ws.send(JSON.stringify(obj));
    return ws.next((m) => (m.op === 'ok' || m.op === 'error') && m.id === obj.id, timeout);
  };
  return ws;
}

/** Publish with the real redis-cli, one process for the whole list. */
export async function publishAll(redis, channel, messages) {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-p', String(redis.port)], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli exit ${code}`))));
    for (const m of messages) p.stdin.write(`PUBLISH ${channel} "${m}"\n`);
    p.stdin.end();
  });
}
