// Redis is a live dependency: the node keeps its clients through a Redis
// crash or freeze, reports the truth in /healthz and /metrics meanwhile,
// comes back by itself, resubscribes, and tells subscribers what they may
// have missed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, waitFor } from './harness.mjs';

const FAST = ['--redis-ping-interval', '200', '--redis-timeout', '1000',
  '--redis-backoff-min', '50', '--redis-backoff-max', '500'];

const health = async (node) => {
  const r = await node.http('/healthz');
  return { ...JSON.parse(r.body), code: r.status };
};
const numsub = async (redis, ch) => Number((await redis.cli('PUBSUB', 'NUMSUB', ch)).split('\n')[1]);

test('Redis killed and restarted: 503 then 200, missed event, delivery resumes', async () => {
  const redis = await startRedis();
  const node = await startNode(redis, FAST);
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });
  const c = client(`${node.url}?channels=news,alerts.*`);
  const other = client(`${node.url}?channels=quiet`);
  await Promise.all([c.opened, other.opened]);
  await waitFor(async () => (await numsub(redis, 'news')) === 1);

  await redis.kill('SIGKILL');
  const down = await waitFor(async () => { const h = await health(node); return h.code === 503 && h; },
    { what: 'health 503' });
  assert.equal(down.code, 503);
  assert.equal(down.status, 'degraded');
  assert.notEqual(down.redis, 'up');
  assert.equal(down.connections, 2, 'clients are kept while Redis is away');
  assert.equal((await node.metrics()).shardcast_redis_up, 0);
  // Every client is told, once, however many reconnects fail meanwhile.
  assert.deepEqual(await c.next((m) => m.op === 'status'), { op: 'status', redis: 'down' });
  assert.deepEqual(await other.next((m) => m.op === 'status'), { op: 'status', redis: 'down' });
  // A client that connects while Redis is away learns it at once.
  const late = client(`${node.url}?channels=news`);
  await late.opened;
  assert.deepEqual(await late.next((m) => m.op === 'status', 2000), { op: 'status', redis: 'down' });
  await new Promise((r) => setTimeout(r, 1200)); // a few failed reconnects (backoff max 500 ms)
  assert.equal(c.messages.filter((m) => m.op === 'status').length, 0, 'status repeated while down');

  await redis.start();
  await waitFor(async () => (await health(node)).code === 200, { what: 'health 200 again' });
  assert.deepEqual(await c.next((m) => m.op === 'status', 5000), { op: 'status', redis: 'up' });
  const missed = await c.next((m) => m.op === 'missed', 5000);
  assert.deepEqual(missed.channels.sort(), ['alerts.*', 'news']);
  assert.equal(missed.reason, 'redis_reconnect');
  const otherEvents = [];
  for (let i = 0; i < 2; i++) otherEvents.push(await other.next((m) => m.op === 'status' || m.op === 'missed', 5000));
  // "up" comes first: the resubscribe (then missed) follows.
  assert.deepEqual(otherEvents, [{ op: 'status', redis: 'up' }, { op: 'missed', channels: ['quiet'], reason: 'redis_reconnect' }]);
  assert.deepEqual(await late.next((m) => m.op === 'status', 5000), { op: 'status', redis: 'up' });

  // Every channel is back in Redis and delivery works again.
  assert.equal(await numsub(redis, 'news'), 1);
  await redis.cli('PUBLISH', 'news', 'after');
  await redis.cli('PUBLISH', 'alerts.fire', 'pattern-after');
  assert.equal((await c.next((m) => m.op === 'message' && m.channel === 'news')).data, 'after');
  assert.equal((await c.next((m) => m.op === 'message' && m.channel === 'alerts.fire')).data, 'pattern-after');
  const m = await node.metrics();
  assert.ok(m.shardcast_redis_reconnects_total >= 1);
  assert.equal(c.messages.filter((m) => m.op === 'status').length, 0, 'status repeated after up');
  c.terminate(); other.terminate(); late.terminate();
});

test('Redis frozen (SIGSTOP): detected by the liveness check, recovered after SIGCONT', async () => {
  const redis = await startRedis();
  const node = await startNode(redis, FAST);
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });
  const c = client(`${node.url}?channels=frozen`);
  await c.opened;
  await waitFor(async () => (await numsub(redis, 'frozen')) === 1);

  redis.proc.kill('SIGSTOP');
  const t0 = Date.now();
  await waitFor(async () => (await health(node)).code === 503, { what: 'freeze detected' });
  const detectMs = Date.now() - t0;
  assert.ok(detectMs < 3000, `detected after ${detectMs} ms`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await health(node)).code, 503, 'stays degraded while frozen');

  redis.proc.kill('SIGCONT');
  await waitFor(async () => (await health(node)).code === 200, { timeout: 15000, what: 'recovered' });
  await c.next((m) => m.op === 'missed', 5000);
  await waitFor(async () => (await numsub(redis, 'frozen')) >= 1);
  await redis.cli('PUBLISH', 'frozen', 'thawed');
  assert.equal((await c.next((m) => m.op === 'message')).data, 'thawed');
  console.log(`freeze detected in ${detectMs} ms`);
  c.terminate();
});

test('a node started before Redis serves clients and subscribes once Redis appears', async () => {
  const redis = await startRedis();
  await redis.kill('SIGKILL');
  const node = await startNode(redis, FAST, { waitHealthy: false });
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });
  assert.equal((await health(node)).code, 503);
  const c = client(`${node.url}?channels=early`);
  await c.opened;
  assert.deepEqual(await c.next((m) => m.op === 'status', 2000), { op: 'status', redis: 'down' });
  await redis.start();
  await waitFor(async () => (await health(node)).code === 200, { what: 'up' });
  assert.deepEqual(await c.next((m) => m.op === 'status', 5000), { op: 'status', redis: 'up' });
  await waitFor(async () => (await numsub(redis, 'early')) === 1, { what: 'subscribed' });
  await redis.cli('PUBLISH', 'early', 'hello');
  assert.equal((await c.next((m) => m.op === 'message')).data, 'hello');
  c.terminate();
});

// The node's own channels are not the clients': its control channel (the
// cluster's liveness probe) and anything under "<cluster-prefix>:", and a
// standalone node's private probe channel. A client subscribed there would
// take the probe's confirmations for its own: the resync after a Redis
// restart would never finish (no missed event) and every stop would wait
// out its timeout.
test('reserved channels are refused, patterns included; resync and stop stay prompt', async () => {
  const redis = await startRedis();
  const node = await startNode(redis, [...FAST, '--shard-id', 's1']);
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });
  const c = client(`${node.url}?channels=news`);
  await c.opened;
  await c.next((m) => m.op === 'hello');
  for (const ch of ['shardcast:control', 'shardcast:*', 'shardcast:map', 'shard?ast:control',
    'shardcast[:]x', '*', '*.control', '__shardcast.live.1.2', '__shardcast*']) {
    const r = await c.request({ op: 'subscribe', channels: [ch], id: ch });
    assert.equal(r.code, 'forbidden', ch);
  }
  // All or nothing, as any refused name.
  assert.equal((await c.request({ op: 'subscribe', channels: ['alerts', 'shardcast:control'], id: 'mix' })).code,
    'forbidden');
  // Their neighbours are ordinary channels.
  for (const ch of ['shardcast', 'shardcast.news', 'news.*', 'x:shardcast:control'])
    assert.equal((await c.request({ op: 'subscribe', channels: [ch], id: ch })).op, 'ok', ch);
  await assert.rejects(client(`${node.url}?channels=news,shardcast:control`).opened, (e) => e.status === 403);
  await assert.rejects(client(`${node.url}?channels=shardcast:*`).opened, (e) => e.status === 403);
  assert.equal(await numsub(redis, 'shardcast:control'), 1, 'the node alone listens there');

  await redis.kill('SIGKILL');
  await waitFor(async () => (await health(node)).code === 503, { what: 'health 503' });
  await redis.start();
  const missed = await c.next((m) => m.op === 'missed', 10000);
  assert.deepEqual(missed.channels.sort(), ['news', 'news.*', 'shardcast', 'shardcast.news', 'x:shardcast:control']);
  const t0 = Date.now();
  c.terminate();
  await node.stop();
  assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
});
