// Shared helpers for the shardcast-cli tests: locating binaries, free ports,
// a private redis-server, a tiny RESP client, and running the CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const CLI = process.env.SC_CLI_BIN;
if (!CLI) {
  console.error('SC_CLI_BIN is not set: run these tests through ctest');
  process.exit(1);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A TCP port that was free a moment ago on the loopback interface.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Encode one RESP command.
function respCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Parse one RESP value at buf[pos]; returns [value, nextPos] or null when
// more bytes are needed.  Bulk strings stay Buffers: payloads are binary.
function respParse(buf, pos = 0) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('latin1', pos + 1, eol);
  if (type === '+') return [line, eol + 2];
  if (type === '-') return [new Error(line), eol + 2];
  if (type === ':') return [Number(line), eol + 2];
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return [null, eol + 2];
    if (buf.length < eol + 2 + n + 2) return null;
    return [buf.subarray(eol + 2, eol + 2 + n), eol + 2 + n + 2];
  }
  if (type === '*') {
    const items = [];
    let p = eol + 2;
    for (let i = 0; i < Number(line); i++) {
      const r = respParse(buf, p);
      if (!r) return null;
      items.push(r[0]);
      p = r[1];
    }
    return [items, p];
  }
  throw new Error(`bad RESP type ${type}`);
}

// A connection to Redis that yields every reply / push in order.
export class Resp {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new Resp(sock));
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.values = [];
    this.waiters = [];
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (let r; (r = respParse(this.buf)); ) {
        this.buf = this.buf.subarray(r[1]);
        const w = this.waiters.shift();
        if (w) w(r[0]);
        else this.values.push(r[0]);
      }
    });
    sock.on('error', () => {});
  }

  next() {
    if (this.values.length) return Promise.resolve(this.values.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async call(...args) {
    this.sock.write(respCommand(args));
    return this.next();
  }

  close() {
    this.sock.destroy();
  }
}

// A private redis-server on a free loopback port, in its own temp dir,
// stopped by PID.
export async function startRedis(extraArgs = []) {
  const exe = process.env.SC_REDIS_SERVER || 'redis-server';
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sc-cli-redis-'));
  const proc = spawn(exe, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log'), ...extraArgs], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      const c = await Resp.connect(port);
      const pong = await c.call('PING');
      c.close();
      // A password-protected server answers NOAUTH: it is up all the same.
      if (pong === 'PONG' || /NOAUTH/.test(pong?.message)) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`redis-server did not start on ${port}`);
    await sleep(50);
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Start the CLI; the handle collects output and can wait for lines.
export function startCli(args, { input } = {}) {
  const child = spawn(CLI, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const h = {
    child,
    stdout: Buffer.alloc(0),
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    waiters: [],
  };
  const poke = () => {
    h.waiters = h.waiters.filter((w) => !w());
  };
  child.stdout.on('data', (d) => {
    h.stdout = Buffer.concat([h.stdout, d]);
    poke();
  });
  child.stderr.on('data', (d) => {
    h.stderr += d.toString();
    poke();
  });
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  // Resolves once cond(h) holds; rejects after ms.
  h.until = (cond, ms = 10000, what = 'condition') =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${h.stderr}`)), ms);
      const check = () => {
        if (!cond(h)) return false;
        clearTimeout(timer);
        resolve(h);
        return true;
      };
      if (!check()) h.waiters.push(check);
    });
  h.lines = () => h.stdout.toString('utf8').split('\n').slice(0, -1);
  // Wait for exit, killing the CLI if it overstays ms.
  h.wait = async (ms = 15000) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const r = await h.exited;
    clearTimeout(timer);
    return { ...r, stdout: h.stdout, stderr: h.stderr };
  };
  return h;
}

// Run the CLI to completion.
export function runCli(args, opts = {}) {
  return startCli(args, opts).wait(opts.timeout);
}

// A real shardcast node (SHARDCAST_BIN, from CMake's $<TARGET_FILE:shardcast>)
// on a free loopback port, fed by the given redis; healthy before it returns.
export async function startNode(redis, { port, extraArgs = [] } = {}) {
  const bin = process.env.SHARDCAST_BIN;
  port = port ?? (await freePort());
  const proc = spawn(bin, ['--port', String(port), '--host', '127.0.0.1', '--redis', redis.url, ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`shardcast did not become healthy: ${stderr}`);
    await sleep(50);
  }
  return {
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    stderr: () => stderr,
    async stop(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

// redis-cli, the real one, as the brief's publisher.
export function redisCli(redis, ...args) {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-p', String(redis.port), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`redis-cli exited ${code}`))));
  });
}

// Resolves once Redis reports at least n subscribers (the node) on channel,
// so that a PUBLISH is sure to reach it.
export async function nodeSubscribed(redis, channel, n = 1) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const out = (await redisCli(redis, 'PUBSUB', 'NUMSUB', channel)).split('\n');
    if (Number(out[1]) >= n) return;
    if (Date.now() > deadline) throw new Error(`nobody subscribed to ${channel} in Redis`);
    await sleep(25);
  }
}
