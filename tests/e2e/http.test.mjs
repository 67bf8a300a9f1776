// HTTP on the node's port: health, metrics, the demo page, and the
// connection limit answered at the handshake.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, waitFor } from './harness.mjs';

let redis, node;
before(async () => { redis = await startRedis(); node = await startNode(redis, ['--max-connections', '3']); });
after(async () => { try { await node.stop(); } finally { await redis.stop(); } });

test('/healthz reports state and counts as JSON', async () => {
  const c = client(`${node.url}?channels=h1,h2`);
  await c.opened;
  await waitFor(async () => JSON.parse((await node.http('/healthz')).body).channels === 2);
  const r = await node.http('/healthz');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /application\/json/);
  const h = JSON.parse(r.body);
  assert.equal(h.status, 'ok');
  assert.equal(h.redis, 'up');
  assert.equal(h.connections, 1);
  assert.equal(h.subscriptions, 2);
  c.terminate();
});

test('/metrics is Prometheus text with the documented series', async () => {
  const c = client(`${node.url}?channels=met`);
  await c.opened;
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'met')).split('\n')[1] === '1');
  await redis.cli('PUBLISH', 'met', 'x');
  await c.next((m) => m.op === 'message');
  const r = await node.http('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  for (const name of ['shardcast_connections', 'shardcast_subscriptions', 'shardcast_channels',
    'shardcast_redis_messages_total', 'shardcast_deliveries_total', 'shardcast_bytes_out_total',
    'shardcast_slow_consumer_disconnects_total', 'shardcast_redis_reconnects_total',
    'shardcast_errors_total{kind="bad_json"}', 'shardcast_redis_up']) {
    assert.match(r.body, new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} \\d`, 'm'), name);
  }
  const m = await node.metrics();
  assert.ok(m.shardcast_redis_messages_total >= 1);
  assert.ok(m.shardcast_deliveries_total >= 1);
  assert.ok(m.shardcast_bytes_out_total > 0);
  assert.equal(m.shardcast_redis_up, 1);
  c.terminate();
});

test('/ serves the demo page; unknown paths are 404', async () => {
  const r = await node.http('/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.equal((await node.http('/no-such-file.html')).status, 404);
  assert.equal((await node.http('/../../etc/passwd')).status, 404);
  assert.equal((await node.http('/ws')).status, 426);
});

test('past max-connections the upgrade is refused with 503', async () => {
  const held = [client(node.url), client(node.url), client(node.url)];
  await Promise.all(held.map((c) => c.opened));
  const extra = client(node.url);
  await assert.rejects(extra.opened, (e) => e.status === 503);
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="rejected_full"}'] >= 1);
  // A slot frees up when a client leaves.
  held[0].close();
  await held[0].closed;
  await waitFor(async () => JSON.parse((await node.http('/healthz')).body).connections === 2);
  const again = client(node.url);
  await again.opened;
  for (const c of [...held, again]) c.terminate();
});
