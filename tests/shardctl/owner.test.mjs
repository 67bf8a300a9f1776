// shardctl owner: the same answer as the nodes' GET /route, key for key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctlFor, mapJson, randomKeys, settled, startRedis, startShard } from './lib.mjs';

test('owner agrees with GET /route for 50 random keys', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const a = await startShard(redis, 'a');
  t.after(() => a.stop());
  const b = await startShard(redis, 'b', ['--weight', '2']);
  t.after(() => b.stop());
  const epoch = await settled([a, b], ['a', 'b']);
  const ctl = ctlFor(redis);
  const urls = { a: a.url, b: b.url };
  const owners = new Set();

  for (const [i, key] of randomKeys(50).entries()) {
    const node = i % 2 ? a : b;
    const route = await node.http(`/route?key=${encodeURIComponent(key)}`);
    assert.equal(route.status, 200, route.body);
    const want = JSON.parse(route.body);
    assert.equal(want.epoch, epoch);

    // `--`: a random key may start with '-'.
    const text = await ctl('owner', '--', key);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, `${want.shard} ${urls[want.shard]}\n`, `key ${key}`);

    const json = await ctl('owner', '--json', '--', key);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), want, `key ${key}`);
    assert.equal(json.stdout.trim(), route.body.trim(), 'same members in the same order');
    owners.add(want.shard);
  }
  assert.deepEqual([...owners].sort(), ['a', 'b'], 'the keys spread over both shards');
});

test('owner: keys the node refuses are usage errors; an empty map owns nothing', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const ctl = ctlFor(redis);

  for (const bad of ['', 'has space', 'x'.repeat(129), 'caf\u00e9']) {
    const r = await ctl('owner', bad);
    assert.equal(r.code, 2, `key ${JSON.stringify(bad)}: ${r.stderr}`);
    assert.match(r.stderr, /KEY must be 1-128 bytes/);
  }
  // A key that looks like an option, after `--`.
  await redis.cli('SET', 'shardcast:map', mapJson(5, [['only', 'ws://only.example/ws']]));
  let r = await ctl('owner', '--', '-dash');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'only ws://only.example/ws\n');
  r = await ctl('owner', 'x'.repeat(128), '--json');
  assert.deepEqual(JSON.parse(r.stdout), { shard: 'only', url: 'ws://only.example/ws', epoch: 5 });

  await redis.cli('SET', 'shardcast:map', mapJson(6, []));
  r = await ctl('owner', 'k');
  assert.equal(r.code, 3);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /no shard owns 'k': the map shardcast:map is empty \(epoch 6\)/);
  await redis.cli('DEL', 'shardcast:map');
  r = await ctl('owner', 'k');
  assert.equal(r.code, 3);
  assert.match(r.stderr, /is empty \(epoch 0\)/);
});
