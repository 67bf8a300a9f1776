// Pattern subscriptions, unsubscribe, and the reference count of the
// node's own Redis subscriptions (PUBSUB NUMSUB / NUMPAT).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, waitFor, sleep } from './harness.mjs';

let redis, node;
before(async () => { redis = await startRedis(); node = await startNode(redis, ['--max-requests-per-second', '1000']); });
after(async () => { try { await node.stop(); } finally { await redis.stop(); } });

const numsub = async (ch) => Number((await redis.cli('PUBSUB', 'NUMSUB', ch)).split('\n')[1]);
const numpat = async () => Number((await redis.cli('PUBSUB', 'NUMPAT')).trim());

test('a pattern subscription delivers with the pattern named', async () => {
  const c = client(node.url);
  await c.opened;
  const r = await c.request({ op: 'subscribe', channels: ['chat.*'], id: 1 });
  assert.deepEqual(r, { op: 'ok', id: 1 });
  await waitFor(async () => (await numpat()) === 1, { what: 'PSUBSCRIBE' });
  await redis.cli('PUBLISH', 'chat.room1', 'hi');
  const m = await c.next((x) => x.op === 'message');
  assert.deepEqual(m, { op: 'message', channel: 'chat.room1', pattern: 'chat.*', data: 'hi' });
  await c.request({ op: 'unsubscribe', channels: ['chat.*'], id: 2 });
  await waitFor(async () => (await numpat()) === 0, { what: 'PUNSUBSCRIBE' });
  c.terminate();
});

test('unsubscribe stops delivery; the last one out removes the Redis subscription', async () => {
  const a = client(`${node.url}?channels=news`);
  const b = client(`${node.url}?channels=news`);
  await Promise.all([a.opened, b.opened]);
  await waitFor(async () => (await numsub('news')) === 1, { what: 'SUBSCRIBE news' });

  assert.equal((await a.request({ op: 'unsubscribe', channels: ['news'], id: 'u' })).op, 'ok');
  // Still one subscriber left on the node: Redis keeps the subscription.
  assert.equal(await numsub('news'), 1);
  await redis.cli('PUBLISH', 'news', 'one');
  assert.equal((await b.next((x) => x.op === 'message')).data, 'one');
  await sleep(200);
  assert.equal(a.messages.filter((x) => x.op === 'message').length, 0, 'a unsubscribed');

  await b.request({ op: 'unsubscribe', channels: ['news'], id: 2 });
  await waitFor(async () => (await numsub('news')) === 0, { what: 'UNSUBSCRIBE news' });
  const h = JSON.parse((await node.http('/healthz')).body);
  assert.equal(h.channels, 0);
  a.terminate(); b.terminate();
});

test('a disconnect releases its subscriptions', async () => {
  const c = client(`${node.url}?channels=gone1,gone2`);
  await c.opened;
  await waitFor(async () => (await numsub('gone1')) === 1 && (await numsub('gone2')) === 1,
    { what: 'subscribed' });
  c.terminate();
  await waitFor(async () => (await numsub('gone1')) === 0 && (await numsub('gone2')) === 0,
    { what: 'released after disconnect' });
});

test('churn: subscribe/unsubscribe quickly leaves Redis consistent and delivery working', async () => {
  const c = client(node.url);
  await c.opened;
  for (let i = 0; i < 50; i++) {
    c.send(JSON.stringify({ op: 'subscribe', channels: ['flip'] }));
    c.send(JSON.stringify({ op: 'unsubscribe', channels: ['flip'] }));
  }
  await c.request({ op: 'subscribe', channels: ['flip'], id: 'last' });
  await waitFor(async () => (await numsub('flip')) === 1, { what: 'flip subscribed' });
  await redis.cli('PUBLISH', 'flip', 'x');
  assert.equal((await c.next((x) => x.op === 'message')).data, 'x');
  c.terminate();
  await waitFor(async () => (await numsub('flip')) === 0, { what: 'flip released' });
});

test('the same message reaches both an exact and a pattern subscription', async () => {
  const c = client(`${node.url}?channels=dup.a,dup.*`);
  await c.opened;
  await waitFor(async () => (await numsub('dup.a')) === 1 && (await numpat()) === 1, { what: 'subscribed' });
  await redis.cli('PUBLISH', 'dup.a', 'z');
  const got = [await c.next((x) => x.op === 'message'), await c.next((x) => x.op === 'message')];
  assert.deepEqual(got.map((m) => m.pattern ?? null).sort(), ['dup.*', null].sort());
  c.terminate();
});
