// Scale by adding a shard, lose one: with a real Redis, real nodes and the
// project's own client library (client/web/shardcast.js) in Node.
//  - 1,000 clients with distinct keys enter through random nodes and each
//    ends on the owner that GET /route names;
//  - a 4th node joins: about 1/4 of the clients move, all of them onto it,
//    and clients that did not move miss nothing published meanwhile;
//  - kill -9 of a node: its clients are re-homed within TTL + 5 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { connect } from '../../client/web/shardcast.js';
import { ownerOf } from '../../client/web/shardhash.js';
import { startRedis, startNode, waitFor, sleep } from './harness.mjs';

const CLIENTS = 1000;
const TTL = 1500;
const nodeArgs = (id) => ['--shard-id', id, '--heartbeat-ttl', String(TTL)];

async function owners(node, keys) {
  const out = new Map();
  await Promise.all(keys.map(async (k) => {
    const r = await node.http(`/route?key=${encodeURIComponent(k)}`);
    assert.equal(r.status, 200, r.body);
    out.set(k, JSON.parse(r.body).shard);
  }));
  return out;
}

// Poll cheaply with the shared hashing code (one GET /shards per round),
// then confirm every client against GET /route once settled.
async function allSettled(clients, node, what) {
  await waitFor(async () => {
    const { shards } = JSON.parse((await node.http('/shards')).body);
    return clients.every((c) => c.state === 'open' && c.shard === ownerOf(c.key, shards).id);
  }, { timeout: 20000, interval: 100, what });
  const own = await owners(node, clients.map((c) => c.key));
  for (const c of clients) assert.equal(c.shard, own.get(c.key), `${c.key} per GET /route`);
  return own;
}

test('cluster: route, add a shard, lose a shard', async () => {
  const redis = await startRedis();
  const nodes = [];
  const clients = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const n of nodes) await n.kill().catch(() => {});
    await redis.stop();
  });
  for (const id of ['s1', 's2', 's3']) nodes.push(await startNode(redis, nodeArgs(id)));
  await waitFor(async () => JSON.parse((await nodes[0].http('/shards')).body).shards.length === 3,
    { what: '3 shards in the map' });

  const got = new Map(); // key -> list of sequence numbers received
  for (let i = 0; i < CLIENTS; i++) {
    const key = `user-${i}`;
    const entry = nodes[Math.floor(Math.random() * nodes.length)];
    const c = connect(entry.url, { key, WebSocket, initialDelay: 300, maxDelay: 1000 });
    got.set(key, []);
    c.subscribe('ticker', (data) => got.get(key).push(Number(data)));
    clients.push(c);
  }
  const own3 = await allSettled(clients, nodes[0], 'every client on its owner (3 shards)');
  const t = clients.map((c) => c.shard);
  console.log(`3 shards: ${['s1', 's2', 's3'].map((s) => `${s}=${t.filter((x) => x === s).length}`).join(' ')}`);
  await waitFor(async () => {
    const counts = await Promise.all(nodes.map(async (n) => (await redis.cli('PUBSUB', 'NUMSUB', 'ticker')).split('\n')[1]));
    return counts[0] === '3';
  }, { what: 'every node subscribed to ticker' });

  // Publish a numbered message every 20 ms through the whole change, with
  // one long-lived redis-cli reading commands from its stdin.
  let seq = 0;
  let publishing = true;
  const cli = spawn('redis-cli', ['-p', String(redis.port)], { stdio: ['pipe', 'ignore', 'inherit'] });
  const publisher = (async () => {
    while (publishing) {
      cli.stdin.write(`PUBLISH ticker ${seq++}\n`);
      await sleep(20);
    }
    cli.stdin.end();
    await new Promise((r) => cli.once('exit', r));
  })();
  await sleep(300);
  const firstDuring = seq;

  const before = new Map(clients.map((c) => [c.key, c.shard]));
  nodes.push(await startNode(redis, nodeArgs('s4')));
  const own4 = await allSettled(clients, nodes[0], 'every client on its owner (4 shards)');
  await sleep(300);
  publishing = false;
  await publisher;
  const lastDuring = seq - 1;

  const moved = clients.filter((c) => before.get(c.key) !== c.shard);
  const fraction = moved.length / CLIENTS;
  console.log(`adding s4 moved ${moved.length}/${CLIENTS} = ${fraction.toFixed(3)} of the clients`);
  assert.ok(moved.every((c) => c.shard === 's4'), 'every moved client is on the new shard');
  assert.ok(fraction > 0.15 && fraction < 0.35, `moved fraction ${fraction}`);
  assert.ok([...own4].every(([k, s]) => s === own3.get(k) || s === 's4'), 'only keys owned by s4 changed owner');

  await sleep(200);
  const stayed = clients.filter((c) => before.get(c.key) === c.shard);
  for (const c of stayed) {
    const seqs = got.get(c.key).filter((v) => v >= firstDuring && v <= lastDuring);
    assert.equal(seqs.length, lastDuring - firstDuring + 1, `${c.key} missed messages during the change`);
  }
  console.log(`${stayed.length} clients that stayed received all ${lastDuring - firstDuring + 1} messages published during the change`);

  // Lose s1: kill -9, no goodbye.
  const victims = clients.filter((c) => c.shard === 's1').length;
  const t0 = Date.now();
  await nodes[0].kill();
  await waitFor(async () => {
    const { shards } = JSON.parse((await nodes[1].http('/shards')).body);
    return shards.length === 3 && clients.every((c) => c.state === 'open' && c.shard === ownerOf(c.key, shards).id);
  }, { timeout: 20000, interval: 100, what: 'every client re-homed after kill -9 of s1' });
  const rehome = Date.now() - t0;
  await allSettled(clients, nodes[1], 'confirmed by GET /route');
  console.log(`kill -9 s1: its ${victims} clients re-homed in ${rehome} ms (TTL ${TTL} ms)`);
  assert.ok(rehome < TTL + 5000, `re-home took ${rehome} ms`);
  assert.ok(clients.every((c) => c.shard !== 's1'));
});

test('SIGTERM with --drain: out of the map first, clients moved, then exit 0', async () => {
  const redis = await startRedis();
  const clients = [];
  const a = await startNode(redis, [...nodeArgs('a'), '--drain', '--move-rate', '200']);
  const b = await startNode(redis, nodeArgs('b'));
  after(async () => {
    for (const c of clients) c.close();
    await b.kill().catch(() => {});
    await a.kill().catch(() => {});
    await redis.stop();
  });
  await waitFor(async () => JSON.parse((await a.http('/shards')).body).shards.length === 2);
  const moves = [];
  for (let i = 0; i < 200; i++) {
    const c = connect(a.url, { key: `d-${i}`, WebSocket, initialDelay: 300, maxDelay: 1000 });
    c.on('move', (m) => moves.push(m));
    clients.push(c);
  }
  await allSettled(clients, a, 'clients settled on a and b');
  const onA = clients.filter((c) => c.shard === 'a').length;
  assert.ok(onA > 50, `${onA} clients on a`);

  const t0 = Date.now();
  a.proc.kill('SIGTERM');
  const { code } = await a.proc.exited;
  const took = Date.now() - t0;
  assert.equal(code, 0);
  await allSettled(clients, b, 'every client on b');
  assert.equal(moves.length, onA, 'each client of a got exactly one move event');
  assert.ok(moves.every((m) => m.shard === 'b'));
  const { shards } = JSON.parse((await b.http('/shards')).body);
  assert.deepEqual(shards.map((s) => s.id), ['b']);
  // 200/s: the moves take about onA/200 s, not all at once.
  assert.ok(took >= (onA / 200) * 1000 * 0.8, `drained ${onA} clients in ${took} ms`);
  console.log(`drain: ${onA} clients moved from a to b in ${took} ms, then a exited 0`);
});

// A client the node redirects is routed before anything else: its
// ?channels= never reaches the node's registry, so Redis never sees a
// SUBSCRIBE (and UNSUBSCRIBE) for it. Checked with MONITOR, which shows
// every command Redis runs.
test('a redirected client never subscribes in Redis', async () => {
  const redis = await startRedis();
  const a = await startNode(redis, nodeArgs('a'));
  const b = await startNode(redis, nodeArgs('b'));
  const monitor = spawn('redis-cli', ['-p', String(redis.port), 'MONITOR'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let seen = '';
  monitor.stdout.on('data', (d) => { seen += d; });
  after(async () => {
    monitor.kill();
    await a.kill().catch(() => {});
    await b.kill().catch(() => {});
    await redis.stop();
  });
  await waitFor(async () => JSON.parse((await a.http('/shards')).body).shards.length === 2);
  await waitFor(() => seen.includes('OK') || seen.includes('"'), { what: 'MONITOR running' });
  let key = null;
  for (let i = 0; !key; i++)
    if (ownerOf(`r${i}`, [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }]).id === 'b') key = `r${i}`;

  const ws = new WebSocket(`${a.url}?key=${key}&channels=redir-only,redir-too.*`);
  const events = [];
  ws.on('message', (d) => events.push(JSON.parse(d.toString())));
  const code = await new Promise((resolve) => ws.on('close', (c) => resolve(c)));
  assert.equal(code, 4200);
  assert.deepEqual(events.map((e) => e.op), ['redirect']);
  assert.equal(events[0].shard, 'b');
  assert.equal((await a.metrics()).shardcast_redirects_total, 1);
  await sleep(300);
  assert.ok(!seen.includes('redir-'), `Redis saw: ${seen.split('\n').filter((l) => l.includes('redir-')).join(' | ')}`);

  // The same client at its owner does subscribe: MONITOR would show it.
  const ws2 = new WebSocket(`${b.url}?key=${key}&channels=redir-only,redir-too.*`);
  await new Promise((resolve) => ws2.on('open', resolve));
  await waitFor(() => /"SUBSCRIBE" "redir-only"/i.test(seen) && /"PSUBSCRIBE" "redir-too\.\*"/i.test(seen),
    { what: 'SUBSCRIBE seen by MONITOR' });
  ws2.close();
});
