// shardctl drain: the node moves its clients away and exits; the tool
// waits until the shard is gone, and fails clearly when it cannot be done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { client } from '../e2e/harness.mjs';
import { ctlFor, mapJson, randomKeys, settled, startRedis, startShard, waitFor } from './lib.mjs';

/** A key that `node` owns under the current map (asked of the node). */
async function keyOwnedBy(node, id) {
  for (const key of randomKeys(200)) {
    const r = JSON.parse((await node.http(`/route?key=${encodeURIComponent(key)}`)).body);
    if (r.shard === id) return key;
  }
  throw new Error(`no key owned by ${id} in 200 tries`);
}

test('drain one of two nodes: its client is moved, it exits 0, list shows one shard', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const a = await startShard(redis, 'a');
  t.after(() => a.stop());
  const b = await startShard(redis, 'b');
  t.after(() => b.stop());
  await settled([a, b], ['a', 'b']);
  const ctl = ctlFor(redis);

  const key = await keyOwnedBy(b, 'b');
  const ws = client(`${b.url}?key=${encodeURIComponent(key)}`);
  t.after(() => ws.terminate());
  const hello = await ws.next((m) => m.op === 'hello');
  assert.equal(hello.shard, 'b');

  const r = await ctl('drain', 'b', '--wait', '30');
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^drain b: request received by 2 nodes listening on shardcast:control\n/);
  assert.match(r.stdout, /\nb is gone: out of the map \(epoch \d+\), heartbeat deleted, after \d+\.\ds\n$/);

  const move = await ws.next((m) => m.op === 'move', 10000);
  assert.equal(move.shard, 'a');
  assert.equal(move.url, a.url);
  assert.equal((await ws.closed).code, 4201);

  let timer;
  const exit = await Promise.race([b.proc.exited,
    new Promise((r) => { timer = setTimeout(() => r('still running'), 20000); })]);
  clearTimeout(timer);
  assert.deepEqual(exit, { code: 0, signal: null }, b.stderr().slice(-2000));

  const list = await ctl('list', '--json');
  assert.equal(list.code, 0, list.stderr);
  const shards = JSON.parse(list.stdout).shards;
  assert.deepEqual(shards.map((s) => s.id), ['a']);
  assert.equal((await ctl('list')).stdout.split('\n')[0].endsWith(', 1 shard'), true);

  // Once gone, it is an unknown shard.
  const again = await ctl('drain', 'b');
  assert.equal(again.code, 3);
});

test('drain --json --wait 0 reports the publish and does not wait', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const a = await startShard(redis, 'a');
  t.after(() => a.stop());
  const b = await startShard(redis, 'b');
  t.after(() => b.stop());
  await settled([a, b], ['a', 'b']);
  const ctl = ctlFor(redis);

  const r = await ctl('drain', 'a', '--json', '--wait', '0');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { shard: 'a', received: 2, gone: null, elapsed_ms: 0 });
  assert.deepEqual(await a.proc.exited, { code: 0, signal: null });

  // --json with waiting: progress on stderr, one object on stdout.
  const c = await startShard(redis, 'c');
  t.after(() => c.stop());
  await settled([b, c], ['b', 'c']);
  const w = await ctl('drain', 'c', '--json', '--wait', '30');
  assert.equal(w.code, 0, w.stderr);
  const out = JSON.parse(w.stdout);
  assert.equal(out.shard, 'c');
  assert.equal(out.received, 2);
  assert.equal(out.gone, true);
  assert.ok(out.elapsed_ms >= 0 && out.elapsed_ms < 30000);
  assert.match(w.stderr, /c is gone/);
  assert.deepEqual(await c.proc.exited, { code: 0, signal: null });
});

test('drain of an id not in the map exits 3 and publishes nothing', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const a = await startShard(redis, 'a');
  t.after(() => a.stop());
  await settled([a], ['a']);
  const ctl = ctlFor(redis);

  const r = await ctl('drain', 'nosuch');
  assert.equal(r.code, 3);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /unknown shard 'nosuch': not in the map shardcast:map \(epoch \d+; shards: a\)/);
  const malformed = await ctl('drain', 'bad id');
  assert.equal(malformed.code, 2, 'an id the node could never have is a usage error');
  // a is untouched.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.proc.exitCode, null);
  assert.equal((await a.http('/healthz')).status, 200);
});

test('drain that nobody hears exits 4; one the shard ignores times out with 5', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const ctl = ctlFor(redis);

  // A shard in the map whose node is down, and no node listening at all.
  await redis.cli('SET', 'shardcast:map', mapJson(3, [['ghost', 'ws://127.0.0.1:1/ws']]));
  let r = await ctl('drain', 'ghost');
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /drain ghost: no node with that id is listening on shardcast:control/);

  // Someone listens (not the shard), and the shard's heartbeat stays:
  // nothing will ever take it out, so --wait runs out.
  await redis.cli('SET', 'shardcast:hb:ghost', JSON.stringify({ id: 'ghost', hb_ms: Date.now(),
    started_ms: Date.now(), connections: 7, epoch: 3 }), 'PX', '60000');
  const sub = spawn('redis-cli', ['-p', String(redis.port), 'SUBSCRIBE', 'shardcast:control'],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => sub.kill('SIGKILL'));
  await new Promise((resolve) => sub.stdout.once('data', resolve));
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'shardcast:control')).split('\n')[1] === '1',
    { what: 'subscriber' });

  r = await ctl('drain', 'ghost', '--wait', '1');
  assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^drain ghost: request received by 1 node listening on shardcast:control\n/);
  assert.match(r.stdout, /ghost: in the map \(epoch 3\), heartbeat present, 7 connections left\n/);
  assert.match(r.stderr, /timed out after 1s waiting for ghost to be gone: in the map/);
  assert.ok(r.ms >= 1000 && r.ms < 5000, `took ${r.ms} ms`);

  r = await ctl('drain', 'ghost', '--wait', '1', '--json');
  assert.equal(r.code, 5);
  const out = JSON.parse(r.stdout);
  assert.equal(out.gone, false);
  assert.equal(out.received, 1);
});
