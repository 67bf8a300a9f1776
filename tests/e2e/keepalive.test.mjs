// Keep-alive: the node pings silent clients and closes the ones that do
// not answer with 4101; clients that answer stay.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, sleep } from './harness.mjs';

test('a client that never answers pings is closed with 4101; one that does stays', async () => {
  const redis = await startRedis();
  const node = await startNode(redis, ['--ping-interval', '1', '--pong-timeout', '1']);
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });
  const mute = client(node.url, { autoPong: false });
  const live = client(node.url);
  let pings = 0;
  live.on('ping', () => { pings++; });
  await Promise.all([mute.opened, live.opened]);
  const t0 = Date.now();
  const { code } = await mute.closed;
  const took = Date.now() - t0;
  assert.equal(code, 4101);
  assert.ok(took >= 1500 && took < 5000, `closed after ${took} ms`);
  await sleep(1500);
  assert.equal(live.readyState, live.OPEN);
  assert.ok(pings >= 1, 'the live client was pinged');
  const m = await node.metrics();
  assert.equal(m['shardcast_errors_total{kind="ping_timeout"}'], 1);
  live.terminate();
});
