// SIGTERM: every client sees 1001, the node leaves Redis, and exits 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, waitFor } from './harness.mjs';

test('SIGTERM closes clients with 1001 and exits 0 within seconds', async () => {
  const redis = await startRedis();
  after(() => redis.stop());
  const node = await startNode(redis);
  const clients = Array.from({ length: 50 }, () => client(`${node.url}?channels=bye,bye.*`));
  await Promise.all(clients.map((c) => c.opened));
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'bye')).split('\n')[1] === '1');
  const t0 = Date.now();
  node.proc.kill('SIGTERM');
  const closes = await Promise.all(clients.map((c) => c.closed));
  assert.ok(closes.every((c) => c.code === 1001), JSON.stringify(closes.slice(0, 3)));
  const { code, signal } = await node.proc.exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.equal((await redis.cli('PUBSUB', 'NUMSUB', 'bye')).split('\n')[1], '0');
  assert.equal((await redis.cli('PUBSUB', 'NUMPAT')).trim(), '0');
});

test('SIGINT does the same', async () => {
  const redis = await startRedis();
  after(() => redis.stop());
  const node = await startNode(redis);
  const c = client(node.url);
  await c.opened;
  node.proc.kill('SIGINT');
  assert.equal((await c.closed).code, 1001);
  assert.equal((await node.proc.exited).code, 0);
});
