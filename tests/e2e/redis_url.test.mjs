// The node's --redis takes the one redis:// grammar that shardctl,
// shardcast-cli and the bench take too (shard/sc_redis_url.h): credentials
// are percent-decoded, and nothing but "/db" may follow the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { BIN, client, freePort, startRedis, startNode, waitFor } from './harness.mjs';

const execFileP = promisify(execFile);

test('a --redis URL with more than /db after the host exits 2 naming redis', async () => {
  const port = await freePort();
  // The node used to ignore whatever followed a '/', and read '?', '#' and
  // spaces as part of the host name.
  for (const url of ['redis://127.0.0.1:1/x', 'redis://127.0.0.1:1/0/1', 'redis://127.0.0.1:1?db=1',
    'redis://127.0.0.1:1#x', 'redis://127.0.0.1 x:1']) {
    const r = spawnSync(BIN, ['--port', String(port), '--host', '127.0.0.1', '--redis', url],
      { encoding: 'utf8', timeout: 5000 });
    assert.equal(r.status, 2, `${url}: status ${r.status ?? r.signal}, ${r.stderr}`);
    assert.match(r.stderr, /redis/);
  }
});

test('--redis credentials are percent-decoded before AUTH', async () => {
  const redis = await startRedis();
  const password = 'p@ss/w:rd %';
  const cli = (...args) => execFileP('redis-cli', ['-p', String(redis.port), '--no-auth-warning', '-a', password, ...args]);
  let node;
  try {
    await redis.cli('CONFIG', 'SET', 'requirepass', password);
    // startNode's own --redis comes first; this one wins.
    node = await startNode(redis, ['--redis', `redis://:${encodeURIComponent(password)}@127.0.0.1:${redis.port}/0`]);
    const c = client(`${node.url}?channels=news`);
    await c.opened;
    await waitFor(async () => (await cli('PUBSUB', 'NUMSUB', 'news')).stdout.split('\n')[1] === '1',
      { what: 'news subscribed in Redis' });
    await cli('PUBLISH', 'news', 'through AUTH');
    const m = await c.next((x) => x.op === 'message');
    assert.equal(m.data, 'through AUTH');
    c.terminate();
  } finally {
    try { if (node) await node.stop(); } finally { await redis.stop(); }
  }
});
