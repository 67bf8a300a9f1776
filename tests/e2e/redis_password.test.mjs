// --redis-password-file: the Redis password comes from a file read at
// start-up, so it never shows in `ps` or /proc/PID/cmdline, and a wrong one
// leaves the node running and degraded, not crashed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, startRedis, startNode, client, sleep, waitFor } from './harness.mjs';

const execFileP = promisify(execFile);
const PASSWORD = `pw-${process.pid}-Zq81xT`;
const dir = mkdtempSync(join(tmpdir(), 'sc-redis-pw-'));
const secret = (name, text) => { const p = join(dir, name); writeFileSync(p, text, { mode: 0o600 }); return p; };
let redis;

// redis-cli with the password, given through REDISCLI_AUTH (not argv).
const cli = async (...args) => (await execFileP('redis-cli', ['-p', String(redis.port), ...args],
  { env: { ...process.env, REDISCLI_AUTH: PASSWORD } })).stdout;

before(async () => {
  redis = await startRedis();
  await redis.cli('CONFIG', 'SET', 'requirepass', PASSWORD);
});
after(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a node with --redis-password-file serves, and its command line does not hold the password', async () => {
  const node = await startNode(redis, ['--redis-password-file', secret('ok', `${PASSWORD}\n`)]);
  try {
    const c = client(`${node.url}?channels=locked`);
    await c.opened;
    await waitFor(async () => (await cli('PUBSUB', 'NUMSUB', 'locked')).split('\n')[1] === '1',
      { what: 'subscribed through an authenticated connection' });
    await cli('PUBLISH', 'locked', 'through auth');
    assert.equal((await c.next((m) => m.op === 'message')).data, 'through auth');
    c.terminate();

    const cmdline = readFileSync(`/proc/${node.proc.pid}/cmdline`, 'utf8');
    assert.ok(cmdline.includes('--redis-password-file'), cmdline);
    assert.ok(!cmdline.includes(PASSWORD), 'password in /proc/PID/cmdline');
    const { stdout: ps } = await execFileP('ps', ['-ww', '-o', 'args=', '-p', String(node.proc.pid)]);
    assert.ok(ps.includes('shardcast'), ps);
    assert.ok(!ps.includes(PASSWORD), 'password in ps');
    assert.ok(!node.stderr().includes(PASSWORD), 'password in the log');
  } finally {
    await node.stop();
  }
});

test('a wrong password: the node runs on, degraded, and says AUTH was refused', async () => {
  const node = await startNode(redis, ['--redis-password-file', secret('wrong', 'not-the-password\n'),
    '--redis-backoff-max', '200'], { waitHealthy: false });
  try {
    await waitFor(() => /AUTH refused/.test(node.stderr()), { what: 'AUTH refused in the log' });
    await sleep(500); // several refused reconnects
    const h = await node.http('/healthz');
    assert.equal(h.status, 503);
    assert.equal(JSON.parse(h.body).status, 'degraded');
    assert.equal(node.proc.exitCode, null);
    assert.ok(!node.stderr().includes('not-the-password'), 'password in the log');
  } finally {
    await node.stop(); // exits 0: a clean stop, not a crash
  }
});

test('an empty or unreadable password file is a configuration error that never shows the secret', () => {
  const run = (args) => spawnSync(BIN, ['--redis', `redis://127.0.0.1:${redis.port}`, ...args],
    { encoding: 'utf8', timeout: 5000 });
  for (const [path, why] of [[secret('empty', ''), 'empty'], [secret('newline', '\n'), 'empty'],
    [join(dir, 'missing'), 'No such file or directory'], [dir, 'Is a directory']]) {
    const r = run(['--redis-password-file', path]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `shardcast: redis-password-file: ${path}: ${why}\n`);
  }
  const r = run(['--redis', `redis://:${PASSWORD}@127.0.0.1:${redis.port}`,
    '--redis-password-file', secret('both', 'x\n')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^shardcast: redis-password-file: the --redis URL holds a password too/);
  assert.ok(!r.stderr.includes(PASSWORD));
});
