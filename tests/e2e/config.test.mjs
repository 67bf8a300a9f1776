// Configuration errors are caught before anything starts: a message that
// names the option, exit status 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startRedis, startNode } from './harness.mjs';

const run = (args) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 5000 });
const dir = mkdtempSync(join(tmpdir(), 'sc-config-'));
const file = (name, text) => { const p = join(dir, name); writeFileSync(p, text); return p; };

test('--help lists every option and exits 0', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  for (const opt of ['--port', '--redis', '--config', '--max-connections', '--max-message-size',
    '--max-channels', '--max-channel-length', '--max-queue-bytes', '--handshake-timeout',
    '--ping-interval', '--pong-timeout', '--redis-timeout'])
    assert.ok(r.stdout.includes(opt), opt);
});

for (const [args, mentions] of [
  [['--port', 'abc'], 'port'],
  [['--port', '70000'], 'port'],
  [['--bogus', '1'], '--bogus'],
  [['--max-channels'], 'max-channels'],
  [['--redis', 'http://x'], 'redis'],
  [['--channel-bytes', 'latin1'], 'channel-bytes'],
  [['--log-level', 'loud'], 'log-level'],
  [['positional'], 'positional'],
  [['--config', '/nonexistent/shardcast.json'], '/nonexistent/shardcast.json'],
  [['--config', file('unknown.json', '{"port": 1, "colour": "red"}')], 'colour'],
  [['--config', file('type.json', '{"port": "8080"}')], 'port'],
  [['--config', file('syntax.json', '{"port": 80,,}')], 'syntax.json'],
  [['--config', file('array.json', '[1]')], 'object'],
]) {
  test(`bad configuration ${JSON.stringify(args).slice(0, 70)} exits 2 naming ${mentions}`, () => {
    const r = run(args);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(mentions), r.stderr);
  });
}

test('a config file is used, and flags override it', async () => {
  const redis = await startRedis();
  const cfg = file('ok.json', JSON.stringify({ max_channels: 2, redis: 'redis://127.0.0.1:1' }));
  // The file points at a dead Redis; the flag (added by startNode) wins.
  const node = await startNode(redis, ['--config', cfg]);
  try {
    const { client } = await import('./harness.mjs');
    const c = client(node.url);
    await c.opened;
    const r = await c.request({ op: 'subscribe', channels: ['a', 'b', 'c'], id: 1 });
    assert.equal(r.code, 'too_many_channels');
    c.terminate();
  } finally {
    await node.stop();
    await redis.stop();
  }
});

// stderr lines other than the start-up warning that --auth off gives.
const problems = (stderr) => stderr.split('\n').filter((l) => l && !/warn +--auth off:/.test(l));

test('a port already in use: one clear line, status 1, no raw lws lines', async () => {
  const redis = await startRedis();
  const node = await startNode(redis);
  try {
    for (const host of [['--host', '127.0.0.1'], []]) {
      const r = run(['--port', String(node.port), ...host, '--redis', `redis://127.0.0.1:${redis.port}`]);
      assert.equal(r.status, 1, r.stderr);
      const shown = host.length ? '127.0.0.1' : '\\*';
      assert.deepEqual(problems(r.stderr).length, 1, r.stderr);
      assert.match(problems(r.stderr)[0],
        new RegExp(`^shardcast: cannot listen on ${shown}:${node.port}: address already in use$`));
      assert.doesNotMatch(r.stderr, /ERROR on binding|init server failed/);
    }
  } finally {
    await node.stop();
    await redis.stop();
  }
});

test('an address that is not local: one clear line and status 1, not a node without a listener', () => {
  // 192.0.2.0/24 is TEST-NET-1: assigned to no interface here.
  const r = run(['--port', '8080', '--host', '192.0.2.1', '--redis', 'redis://127.0.0.1:1']);
  assert.equal(r.status, 1, `status ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  assert.deepEqual(problems(r.stderr),
    ['shardcast: cannot listen on 192.0.2.1:8080: cannot assign requested address']);
});

test('boolean flags take true|false, =true|=false and --no-X; --help says so', async () => {
  const help = run(['--help']);
  for (const name of ['drain', 'key-from-token'])
    assert.ok(help.stdout.includes(`--${name} [BOOL], --no-${name}`), name);
  const redis = await startRedis();
  try {
    for (const args of [['--key-from-token', 'false', '--drain', 'true'],
      ['--key-from-token=false', '--drain=no'], ['--no-key-from-token', '--no-drain'],
      ['--key-from-token', '--drain', 'off']]) {
      const node = await startNode(redis, args);
      await node.stop();
    }
  } finally {
    await redis.stop();
  }
  const r = run(['--drain', 'maybe']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /maybe/);
});

test('a JSON key written with - names the key meant; a flag with _ too', () => {
  let r = run(['--config', file('dashed.json', '{"key-from-token": false}')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^shardcast: config .*dashed\.json: unknown key 'key-from-token' \(did you mean 'key_from_token'\?\)$/m);
  r = run(['--max_connections', '5']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unknown option '--max_connections' \(did you mean '--max-connections'\?\)/);
});

// Reported like every other configuration error: "shardcast: OPTION: ...",
// no log timestamp, status 2, before anything starts.
test('an unreadable or unusable TLS certificate or key is a configuration error', () => {
  const bad = file('garbage.pem', 'not a certificate\n');
  const cases = [
    [['--tls-cert', '/nonexistent/node.pem', '--tls-key', bad],
      /^shardcast: tls-cert: cannot read \/nonexistent\/node\.pem: No such file or directory$/],
    [['--tls-cert', bad, '--tls-key', dir],
      new RegExp(`^shardcast: tls-key: cannot read ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: Is a directory$`)],
    [['--tls-cert', bad, '--tls-key', bad], /^shardcast: tls-cert: .*garbage\.pem: no usable PEM certificate/],
  ];
  for (const [args, re] of cases) {
    const r = run(['--port', '1', '--redis', 'redis://127.0.0.1:1', ...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.deepEqual(problems(r.stderr).length, 1, r.stderr);
    assert.match(problems(r.stderr)[0], re);
  }
});

test('--host limits the listener to that address', async () => {
  const redis = await startRedis();
  const node = await startNode(redis); // the harness passes --host 127.0.0.1
  try {
    const { connect } = await import('node:net');
    const reach = (host) => new Promise((resolve) => {
      const s = connect(node.port, host);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    assert.equal(await reach('127.0.0.1'), true);
    assert.equal(await reach('127.0.0.2'), false);
  } finally {
    await node.stop();
    await redis.stop();
  }
});
