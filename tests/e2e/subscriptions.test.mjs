// Pattern subscriptions, unsubscribe, and the reference count of the
// node's own Redis subscriptions (PUBSUB NUMSUB / NUMPAT).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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

// The channel limit can be 100,000: ?channels= takes as many names as the
// node's limit and the URL allow (none silently dropped), and one request
// of 100,000 channels, then one unsubscribing them all, each take time
// linear in the names, with memory to match.
const bigNode = async () => {
  const n = await startNode(redis, ['--max-channels', '100000', '--max-message-size', '4194304']);
  after(() => n.stop());
  n.subs = async () => JSON.parse((await n.http('/healthz')).body).subscriptions;
  return n;
};

test('--max-channels 100000: ?channels= with 1,000 names subscribes all 1,000', async () => {
  const big = await bigNode();
  // Names of two characters: about 3 KB of URL, within the 4 KiB the node
  // takes for a request's head.
  const names = Array.from({ length: 1000 }, (_, i) => i.toString(36).padStart(2, '0'));
  const u = client(`${big.url}?channels=${names.join(',')}`);
  await u.opened;
  await waitFor(async () => (await big.subs()) === 1000, { what: '1000 subscriptions from the URL' });
  await waitFor(async () => (await numsub('00')) === 1 && (await numsub('rr')) === 1, { what: 'first and last in Redis' });
  u.terminate();
  await waitFor(async () => (await big.subs()) === 0, { what: 'released' });
});

test('--max-channels 100000: subscribe and unsubscribe 100,000 channels in one request each', {
  skip: process.env.SHARDCAST_VALGRIND ? 'its time bound does not hold under valgrind' : false,
}, async () => {
  const big = await bigNode();
  const rssKiB = () => Number(readFileSync(`/proc/${big.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
  const c = client(big.url);
  await c.opened;
  const rss0 = rssKiB();
  const all = Array.from({ length: 100000 }, (_, i) => `c${i}`);
  // Named twice, and with a name held already: each is one subscription.
  assert.deepEqual(await c.request({ op: 'subscribe', channels: ['c0', 'c1', 'c0'], id: 0 }), { op: 'ok', id: 0 });
  let t0 = Date.now();
  assert.deepEqual(await c.request({ op: 'subscribe', channels: all, id: 1 }, 20000), { op: 'ok', id: 1 });
  const tSub = Date.now() - t0;
  assert.equal(await big.subs(), 100000);
  const r = await c.request({ op: 'subscribe', channels: ['one-more'], id: 2 });
  assert.equal(r.code, 'too_many_channels');
  const grown = rssKiB() - rss0;
  t0 = Date.now();
  assert.deepEqual(await c.request({ op: 'unsubscribe', channels: all, id: 3 }, 20000), { op: 'ok', id: 3 });
  const tUnsub = Date.now() - t0;
  assert.equal(await big.subs(), 0);
  console.log(`100,000 channels: subscribe ${tSub} ms, unsubscribe ${tUnsub} ms, RSS +${grown} KiB`);
  // Quadratic work would take minutes here; linear takes well under a
  // second (a few under ASan).
  assert.ok(tSub < 5000 && tUnsub < 5000, `subscribe ${tSub} ms, unsubscribe ${tUnsub} ms`);
  // About 250 bytes a channel (entry, link, hash slot, the request's JSON).
  assert.ok(grown < 128 * 1024, `RSS grew ${grown} KiB`);
  await waitFor(async () => (await numsub('c99999')) === 0, { timeout: 20000, what: 'unsubscribed in Redis' });
  c.terminate();
});
