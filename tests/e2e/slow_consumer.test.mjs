// A client that stops reading is cut off at its queue bound with 4100,
// while everyone else receives every message and the node's memory stays
// bounded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startRedis, startNode, client, publishAll, waitFor } from './harness.mjs';

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
