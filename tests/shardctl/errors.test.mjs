// shardctl failures: each has its exit status and a message that says
// where and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctlFor, freePort, shardctl, startRedis, startRedisWith } from './lib.mjs';

test('Redis unreachable: exit 1 naming host:port and the reason', async () => {
  const port = await freePort();
  for (const args of [['list'], ['owner', 'k'], ['drain', 'a'], ['list', '--json']]) {
    const r = await shardctl([...args, '--redis', `redis://127.0.0.1:${port}`]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `shardctl: cannot connect to Redis at 127.0.0.1:${port}: Connection refused\n`);
  }
});

test('a Redis that accepts but never answers: exit 1 after --timeout', async (t) => {
  const sockets = new Set();
  const srv = createServer((s) => { sockets.add(s); s.on('error', () => {}); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => { for (const s of sockets) s.destroy(); srv.close(); });
  const { port } = srv.address();

  const r = await shardctl(['list', '--redis', `redis://127.0.0.1:${port}`, '--timeout', '300']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `shardctl: Redis at 127.0.0.1:${port}: GET shardcast:map: no answer within 300 ms\n`);
  assert.ok(r.ms >= 300 && r.ms < 5000, `took ${r.ms} ms`);
});

test('a broken stored map: exit 6 with the parse error, for every command', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const ctl = ctlFor(redis);

  await redis.cli('SET', 'shardcast:map', 'garbage');
  for (const args of [['list'], ['list', '--json'], ['owner', 'k'], ['drain', 'a']]) {
    const r = await ctl(...args);
    assert.equal(r.code, 6, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^shardctl: stored map shardcast:map is invalid: .+\n$/);
  }
  // Valid JSON, wrong shape: the parser's reason is passed on.
  await redis.cli('SET', 'shardcast:map', '{"v":2,"epoch":1,"shards":[]}');
  let r = await ctl('list');
  assert.equal(r.code, 6);
  assert.match(r.stderr, /invalid: .*\bv\b/);
  // Not a string at all.
  await redis.cli('DEL', 'shardcast:map');
  await redis.cli('HSET', 'shardcast:map', 'epoch', '1');
  r = await ctl('owner', 'k');
  assert.equal(r.code, 6);
  assert.match(r.stderr, /stored map shardcast:map is invalid: not a string key/);
});

test('AUTH: a wrong or missing password is exit 1; the right one works', async (t) => {
  const redis = await startRedisWith(['--requirepass', 's3cret']);
  t.after(() => redis.stop());
  const at = (cred) => ['list', '--redis', `redis://${cred}127.0.0.1:${redis.port}`];

  let r = await shardctl(at(':wrong@'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^shardctl: Redis at 127\\.0\\.0\\.1:${redis.port}: AUTH failed: .*(WRONGPASS|invalid)`));
  r = await shardctl(at('nobody:s3cret@'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /AUTH failed/);
  r = await shardctl(at(''));
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`Redis at 127\\.0\\.0\\.1:${redis.port}: GET shardcast:map: NOAUTH`));

  r = await shardctl(at(':s3cret@'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'map shardcast:map: epoch 0, 0 shards\n');
  r = await shardctl(at('default:s3cret@'));
  assert.equal(r.code, 0, r.stderr);
});

test('--redis-password-file: the password from a file, not from argv', async (t) => {
  const redis = await startRedisWith(['--requirepass', 's3cret']);
  const dir = mkdtempSync(join(tmpdir(), 'sc-ctl-pw-'));
  t.after(async () => { await redis.stop(); rmSync(dir, { recursive: true, force: true }); });
  const file = (name, text) => { const p = join(dir, name); writeFileSync(p, text); return p; };
  const url = (cred) => `redis://${cred}127.0.0.1:${redis.port}`;

  let r = await shardctl(['list', '--redis', url(''), '--redis-password-file', file('ok', 's3cret\n')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'map shardcast:map: epoch 0, 0 shards\n');
  r = await shardctl(['list', '--redis', url('default@'), '--redis-password-file', file('ok2', 's3cret')]);
  assert.equal(r.code, 0, r.stderr);
  r = await shardctl(['list', '--redis', url(''), '--redis-password-file', file('wrong', 'nope\n')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /AUTH failed/);
  assert.ok(!r.stderr.includes('nope'));

  const empty = file('empty', '\n');
  for (const [args, re] of [
    [['--redis-password-file', empty], new RegExp(`--redis-password-file: ${empty}: empty`)],
    [['--redis-password-file', join(dir, 'missing')], /--redis-password-file: .*missing: No such file/],
    [['--redis', url(':s3cret@'), '--redis-password-file', file('both', 'x')],
      /--redis-password-file: the --redis URL holds a password too/],
    [['--redis', url('default@')], /--redis: expected redis:\/\/.*a user needs a password/],
  ]) {
    r = await shardctl(['list', '--redis', url(''), ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(!r.stderr.includes('s3cret'), r.stderr);
  }
});

test('--redis credentials are percent-decoded, as the node and shardcast-cli read them', async (t) => {
  const redis = await startRedisWith(['--requirepass', 'p@ss/w:rd %']);
  t.after(() => redis.stop());

  // Escaped '@', '/', ':', ' ' and '%'; a raw '@' also stands, since the
  // host starts after the last one.
  for (const cred of [':p%40ss%2Fw%3Ard%20%25@', ':p@ss%2fw:rd%20%25@', 'default:p%40ss%2Fw%3Ard%20%25@']) {
    const r = await shardctl(['list', '--redis', `redis://${cred}127.0.0.1:${redis.port}/0`]);
    assert.equal(r.code, 0, `${cred}: ${r.stderr}`);
    assert.equal(r.stdout, 'map shardcast:map: epoch 0, 0 shards\n');
  }
});

test('usage errors exit 2; --help exits 0 and documents the exit statuses', async () => {
  const help = await shardctl(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: shardctl /);
  for (const line of ['0  ok', '1  Redis unreachable', '2  usage', '3  unknown shard id',
    '4  drain: no node', '5  drain: timed out', '6  the stored map is invalid'])
    assert.ok(help.stdout.includes(line), line);
  assert.equal((await shardctl(['list', '-h'])).code, 0);

  const cases = [
    [[], /missing command/],
    [['frob'], /unknown command 'frob'/],
    [['list', 'extra'], /list: takes no arguments/],
    [['owner'], /owner: expected exactly one argument/],
    [['drain', 'a', 'b'], /drain: expected exactly one argument/],
    [['list', '--wait', '5'], /--wait applies to drain only/],
    [['drain', 'a', '--wait', '-1'], /--wait: expected seconds/],
    [['drain', 'a', '--wait', 'soon'], /--wait: expected seconds/],
    [['list', '--timeout', '0'], /--timeout: expected milliseconds/],
    [['list', '--timeout'], /--timeout: missing argument/],
    [['list', '--bogus'], /unknown option '--bogus'/],
    [['list', '--prefix', 'has space'], /--prefix: expected 1-64 bytes/],
    [['list', '--prefix', 'p'.repeat(65)], /--prefix: expected 1-64 bytes/],
    [['list', '--redis', 'http://127.0.0.1:6379'], /--redis: expected redis:\/\//],
    [['list', '--redis', 'redis://127.0.0.1:99999'], /--redis: expected redis:\/\//],
    [['list', '--redis', 'redis://pw@127.0.0.1'], /--redis: expected redis:\/\//],
    // The shared grammar (shard/sc_redis_url.h): after the host, only
    // "/db"; shardctl used to ignore whatever followed a '/'.
    [['list', '--redis', 'redis://127.0.0.1:1/x'], /--redis: expected redis:\/\//],
    [['list', '--redis', 'redis://127.0.0.1:1?db=1'], /--redis: expected redis:\/\//],
    [['drain', 'a/b'], /drain: ID must be 1-64 bytes/],
  ];
  for (const [args, re] of cases) {
    const r = await shardctl(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, re);
    assert.match(r.stderr, /Try 'shardctl --help'\.\n$/);
  }
});
