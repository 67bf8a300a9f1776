// shardctl list: the map and each shard's heartbeat, as a table and as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client } from '../e2e/harness.mjs';
import { ctlFor, mapJson, settled, startRedis, startShard, waitFor } from './lib.mjs';

test('list shows both running nodes at the epoch the nodes serve', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const a = await startShard(redis, 'a');
  t.after(() => a.stop());
  const b = await startShard(redis, 'b', ['--weight', '3']);
  t.after(() => b.stop());
  const epoch = await settled([a, b], ['a', 'b']);
  const ctl = ctlFor(redis);

  const text = await ctl('list');
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stderr, '');
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `map shardcast:map: epoch ${epoch}, 2 shards`);
  assert.match(lines[1], /^ID\s+URL\s+WEIGHT\s+CONNS\s+HEARTBEAT\s+STARTED\s+EPOCH$/);
  assert.equal(lines.length, 4);
  const rowA = lines[2].split(/\s+/);
  const rowB = lines[3].split(/\s+/);
  assert.deepEqual(rowA.slice(0, 4), ['a', a.url, '1', '0']);
  assert.deepEqual(rowB.slice(0, 4), ['b', b.url, '3', '0']);
  for (const row of [rowA, rowB]) {
    assert.match(row[4], /^\d+\.\ds$/, 'heartbeat age in seconds, one decimal');
    assert.ok(Number(row[4].slice(0, -1)) < 2, `fresh heartbeat: ${row[4]}`);
    assert.match(`${row[5]} ${row[6]}`, /^\d+s ago$/);
  }

  const json = await ctl('list', '--json');
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout);
  const shards = JSON.parse((await a.http('/shards')).body);
  assert.equal(out.epoch, shards.epoch);
  assert.deepEqual(out.shards.map((s) => [s.id, s.url, s.weight]),
    shards.shards.map((s) => [s.id, s.url, s.weight]));
  const now = Date.now();
  for (const s of out.shards) {
    assert.equal(s.heartbeat, 'ok');
    assert.equal(s.connections, 0);
    assert.ok(Math.abs(now - s.heartbeat_ms) < 3000);
    assert.ok(s.heartbeat_age_ms >= -100 && s.heartbeat_age_ms < 3000, `age ${s.heartbeat_age_ms}`);
    assert.ok(s.started_ms <= s.heartbeat_ms);
    // What the node had adopted when it wrote the heartbeat: at most one
    // heartbeat tick behind the map.
    assert.ok(s.node_epoch <= epoch);
  }
  await waitFor(async () => {
    const r = await ctl('list', '--json');
    return JSON.parse(r.stdout).shards.every((s) => s.node_epoch === epoch);
  }, { what: 'heartbeats to report the current epoch' });
});

test('list counts connections from the heartbeats', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const a = await startShard(redis, 'solo');
  t.after(() => a.stop());
  await settled([a], ['solo']);
  const clients = [client(`${a.url}?key=k1`), client(`${a.url}?key=k2`), client(`${a.url}?key=k3`)];
  t.after(() => clients.forEach((c) => c.terminate()));
  await Promise.all(clients.map((c) => c.opened));
  const ctl = ctlFor(redis);
  const seen = await waitFor(async () => {
    const r = await ctl('list', '--json');
    return r.code === 0 && JSON.parse(r.stdout).shards[0].connections === 3 && r;
  }, { what: 'a heartbeat with 3 connections' });
  assert.ok(seen);
});

test('list of a map without nodes: missing and invalid heartbeats, empty map', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const ctl = ctlFor(redis);

  // No map stored yet: the nodes read that as an empty map at epoch 0.
  let r = await ctl('list');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'map shardcast:map: epoch 0, 0 shards\n');
  r = await ctl('list', '--json');
  assert.deepEqual(JSON.parse(r.stdout), { epoch: 0, shards: [] });

  await redis.cli('SET', 'shardcast:map', mapJson(41, [
    ['gone', 'ws://10.0.0.1:1/ws', 2], ['junk', 'ws://10.0.0.2:1/ws'], ['live', 'wss://live.example/ws']]));
  await redis.cli('SET', 'shardcast:hb:junk', 'not json', 'PX', '60000');
  const started = Date.now() - 3_725_000; // 1h02m05s ago
  await redis.cli('SET', 'shardcast:hb:live', JSON.stringify({
    id: 'live', url: 'wss://live.example/ws', weight: 1, started_ms: started,
    hb_ms: Date.now() - 1200, connections: 17, epoch: 40 }), 'PX', '60000');

  r = await ctl('list');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'map shardcast:map: epoch 41, 3 shards');
  assert.deepEqual(lines[2].split(/\s+/), ['gone', 'ws://10.0.0.1:1/ws', '2', '-', 'missing', '-', '-']);
  assert.deepEqual(lines[3].split(/\s+/), ['junk', 'ws://10.0.0.2:1/ws', '1', '-', 'invalid', '-', '-']);
  const live = lines[4].split(/\s+/);
  assert.deepEqual(live.slice(0, 4), ['live', 'wss://live.example/ws', '1', '17']);
  assert.match(live[4], /^\d+\.\ds$/);
  assert.ok(Number(live[4].slice(0, -1)) >= 1.2 && Number(live[4].slice(0, -1)) < 10, live[4]);
  assert.deepEqual(live.slice(5), ['1h02m', 'ago', '40']);
  assert.match(r.stdout, /missing: no heartbeat; the nodes remove such a shard from the map at their next check/);
  assert.match(r.stdout, /invalid: /);

  r = await ctl('list', '--json');
  const out = JSON.parse(r.stdout);
  assert.equal(out.epoch, 41);
  assert.deepEqual(out.shards[0], { id: 'gone', url: 'ws://10.0.0.1:1/ws', weight: 2, heartbeat: 'missing',
    connections: null, heartbeat_ms: null, heartbeat_age_ms: null, started_ms: null, node_epoch: null });
  assert.equal(out.shards[1].heartbeat, 'invalid');
  assert.equal(out.shards[2].heartbeat, 'ok');
  assert.equal(out.shards[2].connections, 17);
  assert.equal(out.shards[2].started_ms, started);
  assert.equal(out.shards[2].node_epoch, 40);
});
