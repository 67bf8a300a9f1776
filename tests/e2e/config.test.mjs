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

test('a port already in use fails with status 1, not a crash', async () => {
  const redis = await startRedis();
  const node = await startNode(redis);
  try {
    const r = run(['--port', String(node.port), '--host', '127.0.0.1', '--redis', `redis://127.0.0.1:${redis.port}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot listen/);
  } finally {
    await node.stop();
    await redis.stop();
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
