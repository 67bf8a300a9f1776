// Two clusters in one Redis under different prefixes: shardctl sees and
// acts on the one its --prefix names, never the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctlFor, settled, startRedis, startShard } from './lib.mjs';

test('a second prefix in the same Redis is independent', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const a1 = await startShard(redis, 'a1');
  t.after(() => a1.stop());
  const a2 = await startShard(redis, 'a2');
  t.after(() => a2.stop());
  const x1 = await startShard(redis, 'x1', ['--cluster-prefix', 'other']);
  t.after(() => x1.stop());
  const epochA = await settled([a1, a2], ['a1', 'a2']);
  const epochX = await settled([x1], ['x1']);
  const def = ctlFor(redis);
  const other = ctlFor(redis, 'other');

  const la = JSON.parse((await def('list', '--json')).stdout);
  const lx = JSON.parse((await other('list', '--json')).stdout);
  assert.equal(la.epoch, epochA);
  assert.deepEqual(la.shards.map((s) => s.id), ['a1', 'a2']);
  assert.equal(lx.epoch, epochX);
  assert.deepEqual(lx.shards.map((s) => [s.id, s.url, s.heartbeat]), [['x1', x1.url, 'ok']]);
  assert.match((await other('list')).stdout, /^map other:map: epoch \d+, 1 shard\n/);

  assert.equal((await other('owner', 'k1')).stdout, `x1 ${x1.url}\n`);
  assert.match((await def('owner', 'k1')).stdout, /^a[12] /);

  // Each prefix's ids are unknown under the other.
  let r = await def('drain', 'x1');
  assert.equal(r.code, 3);
  assert.match(r.stderr, /unknown shard 'x1': not in the map shardcast:map/);
  r = await other('drain', 'a1');
  assert.equal(r.code, 3);
  assert.match(r.stderr, /not in the map other:map/);

  // Draining the only shard of `other` is heard by its node alone.
  r = await other('drain', 'x1', '--wait', '30');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^drain x1: request received by 1 node listening on other:control\n/);
  assert.deepEqual(await x1.proc.exited, { code: 0, signal: null });
  assert.deepEqual(JSON.parse((await other('list', '--json')).stdout).shards, []);

  // The default cluster did not notice.
  const after = JSON.parse((await def('list', '--json')).stdout);
  assert.equal(after.epoch, epochA);
  assert.deepEqual(after.shards.map((s) => s.id), ['a1', 'a2']);
  assert.equal(a1.proc.exitCode, null);
  assert.equal(a2.proc.exitCode, null);
});
