// Helpers for the shardctl tests: run the binary, start a small cluster on
// the e2e harness, and wait until every node agrees on the map.
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNode, startRedis, waitFor } from '../e2e/harness.mjs';

export const CTL = process.env.SHARDCTL_BIN;
if (!CTL) throw new Error('SHARDCTL_BIN must point at the shardctl binary');

/**
 * Run shardctl; never throws on a non-zero exit.
 * Resolves {code, signal, stdout, stderr, ms}.
 */
export function shardctl(args, { timeout = 60000 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    execFile(CTL, args, { timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, signal: err?.signal ?? null, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** shardctl bound to one Redis (and prefix, if given). */
export function ctlFor(redis, prefix) {
  const common = ['--redis', `redis://127.0.0.1:${redis.port}`];
  if (prefix) common.push('--prefix', prefix);
  return (...args) => shardctl([...common, ...args]);
}

/** A node with a shard id (and more options) on `redis`. */
export function startShard(redis, id, extra = []) {
  return startNode(redis, ['--shard-id', id, '--heartbeat-ttl', '1500', ...extra]);
}

/**
 * Wait until every node's GET /shards lists exactly `ids` with heartbeat
 * info, all at the same epoch. Returns that epoch.
 */
export async function settled(nodes, ids) {
  const want = [...ids].sort().join(',');
  return waitFor(async () => {
    const views = await Promise.all(nodes.map(async (n) => JSON.parse((await n.http('/shards')).body)));
    const epochs = new Set(views.map((v) => v.epoch));
    const ok = views.every((v) => v.shards.map((s) => s.id).sort().join(',') === want &&
      v.shards.every((s) => s.heartbeat_ms));
    return ok && epochs.size === 1 ? views[0].epoch : false;
  }, { timeout: 15000, what: `nodes to agree on shards ${want}` });
}

/** Random keys the node accepts (1..64 bytes, printable, URL-safe). */
export function randomKeys(n) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:~!*';
  const keys = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + randomInt(64);
    const bytes = randomBytes(len);
    keys.push(Array.from(bytes, (b) => alphabet[b % alphabet.length]).join(''));
  }
  return keys;
}

/** A stored map (docs/sharding.md) written by hand. */
export function mapJson(epoch, shards) {
  return JSON.stringify({ v: 1, epoch, shards: shards.map(([id, url, weight = 1]) => ({ id, url, weight })) });
}

/**
 * A redis-server started with extra arguments (e.g. --requirepass), for
 * cases the e2e harness does not cover. Returns {port, stop()}.
 */
export async function startRedisWith(extra) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sc-ctl-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], { stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  await waitFor(() => new Promise((resolve) => {
    execFile('redis-cli', ['-p', String(port), 'PING'], (err, out) =>
      // Up as soon as it answers at all (NOAUTH is an answer too).
      resolve(!err && /PONG|NOAUTH/.test(out)));
  }), { what: 'redis up' });
  return {
    port,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { startRedis, startNode, waitFor, freePort };
