// A client that stops reading is cut off at its queue bound with 4100,
// while everyone else receives every message and the node's memory stays
// bounded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ownerOf } from '../../client/web/shardhash.js';
import { startRedis, startNode, client, publishAll, waitFor } from './harness.mjs';
import { rawClient } from './rawws.mjs';

const rssKiB = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

test('a reader that stalls is closed with 4100; the others get everything', async () => {
  const redis = await startRedis();
  const node = await startNode(redis, ['--max-queue-bytes', '262144']);
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });

  const readers = Array.from({ length: 5 }, () => client(`${node.url}?channels=firehose`));
  const slow = client(`${node.url}?channels=firehose`);
  await Promise.all([...readers, slow].map((c) => c.opened));
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'firehose')).split('\n')[1] === '1');
  // Stop reading from the socket: the kernel buffers fill, then the node's
  // queue for this client does.
  slow._socket.pause();
  const rss0 = rssKiB(node.proc.pid);

  const N = 6000;
  const pad = 'x'.repeat(1000);
  await publishAll(redis, 'firehose', Array.from({ length: N }, (_, i) => `${i}:${pad}`));
  await waitFor(async () => (await node.metrics()).shardcast_slow_consumer_disconnects_total === 1,
    { timeout: 20000, what: 'slow consumer cut off' });
  await waitFor(() => readers.every((c) => c.messages.length >= N), { timeout: 20000, what: 'readers complete' });
  for (const c of readers) {
    const seq = c.messages.map((m) => Number(m.data.split(':')[0]));
    assert.equal(seq.length, N);
    assert.ok(seq.every((v, i) => v === i), 'in order, none lost');
  }
  const rss1 = rssKiB(node.proc.pid);
  // 6 MB went through; the node may hold one queue bound per client, not
  // the whole backlog of the stalled one.
  assert.ok(rss1 - rss0 < 16 * 1024, `RSS grew ${rss1 - rss0} KiB`);

  slow._socket.resume();
  const { code } = await slow.closed;
  assert.equal(code, 4100);
  const got = slow.messages.filter((m) => m.op === 'message').length;
  assert.ok(got < N, `the slow client got ${got} of ${N} before the cut`);
  console.log(`slow client got ${got}/${N} before 4100; node RSS +${rss1 - rss0} KiB`);
  for (const c of readers) c.terminate();
});

// shardcast_queued_bytes is a running total kept by the queues themselves:
// it counts a stalled client's backlog, keeps counting it while that
// client is being moved to another shard (closing, its queue still to be
// sent), and is back to 0 once the client is gone.
test('queued bytes: a stalled client being moved still counts; 0 once it is gone', async () => {
  const redis = await startRedis();
  const a = await startNode(redis, ['--shard-id', 's1', '--max-queue-bytes', String(64 << 20)]);
  let b = null;
  after(async () => {
    try { await a.stop(); if (b) await b.stop(); } finally { await redis.stop(); }
  });
  // A key that s2 will own once it joins: its client moves then.
  let key = null;
  for (let i = 0; !key; i++)
    if (ownerOf(`k${i}`, [{ id: 's1', weight: 1 }, { id: 's2', weight: 1 }]).id === 's2') key = `k${i}`;
  const stalled = await rawClient(a.port, `/ws?key=${key}&channels=backlog`);
  after(() => stalled.destroy());
  stalled.sock.pause();
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'backlog')).split('\n')[1] === '1');
  const queued = async () => (await a.metrics()).shardcast_queued_bytes;
  assert.equal(await queued(), 0);
  const pad = 'q'.repeat(1000);
  for (let round = 0; round < 20 && (await queued()) < 1000000; round++)
    await publishAll(redis, 'backlog', Array.from({ length: 2000 }, (_, i) => `${i}:${pad}`));
  await waitFor(async () => (await a.metrics()).shardcast_deliveries_total >= 2000, { what: 'deliveries' });
  const before = await queued();
  assert.ok(before >= 1000000, `queued ${before} bytes for the stalled client`);

  b = await startNode(redis, ['--shard-id', 's2']);
  await waitFor(async () => (await a.metrics()).shardcast_moves_total === 1, { what: 'the client moved' });
  const moving = await queued();
  assert.ok(moving >= before, `${moving} bytes queued while moving, ${before} before`);
  stalled.destroy();
  await waitFor(async () => (await queued()) === 0, { what: 'queued bytes back to 0' });
});
