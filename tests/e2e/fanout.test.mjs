// 1,000 real WebSocket clients subscribe; 100 messages published with
// redis-cli reach every one exactly once and in order, through a single
// Redis subscription.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, publishAll, waitFor } from './harness.mjs';

const CLIENTS = 1000;
const MESSAGES = 100;

test('1000 clients x 100 messages: exactly once, in order', async () => {
  const redis = await startRedis();
  const node = await startNode(redis);
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });

  const t0 = Date.now();
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(client(`${node.url}?channels=news`));
  await Promise.all(clients.map((c) => c.opened));
  const connected = Date.now();

  // One Redis subscription serves every local subscriber.
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'news')).split('\n')[1] === '1',
    { what: 'news subscribed in Redis' });
  const health = JSON.parse((await node.http('/healthz')).body);
  assert.equal(health.connections, CLIENTS);
  assert.equal(health.subscriptions, CLIENTS);
  assert.equal(health.channels, 1);

  const sent = Array.from({ length: MESSAGES }, (_, i) => `m${i}`);
  const t1 = Date.now();
  await publishAll(redis, 'news', sent);
  await waitFor(() => clients.every((c) => c.messages.length >= MESSAGES),
    { timeout: 20000, what: 'all deliveries' });
  const delivered = Date.now();
  // Let any duplicate arrive before counting.
  await new Promise((r) => setTimeout(r, 200));
  for (const c of clients) {
    const got = c.messages.map((m) => (m.op === 'message' && m.channel === 'news' ? m.data : `?${m.op}`));
    assert.deepEqual(got, sent);
  }
  const m = await node.metrics();
  assert.equal(m.shardcast_deliveries_total, CLIENTS * MESSAGES);
  console.log(`connect ${CLIENTS}: ${connected - t0} ms; publish+deliver ${CLIENTS}x${MESSAGES}: ${delivered - t1} ms`);
  for (const c of clients) c.terminate();
});
