// kill -9 of a node in the middle of a broadcast: the other node's clients
// notice nothing (every message, in order, no `missed`, no move), and Redis
// frees every subscription of the dead node as soon as its connection is
// gone, so publishers see one receiver fewer right away.
//  - two standalone nodes on one Redis;
//  - two shards of a cluster (the survivor's own clients stay put while
//    the dead shard leaves the map).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { startRedis, startNode, waitFor, sleep } from './harness.mjs';

const PER_NODE = 100;        // clients on each node
const TOTAL = 1500;          // messages in the broadcast
const RATE = 250;            // messages per second
const KILL_AT = 500;         // kill node A once this many were published
const CHANNEL = 'bcast';

const numsub = async (redis, ch) => Number((await redis.cli('PUBSUB', 'NUMSUB', ch)).split('\n')[1]);
const channels = async (redis, pattern) =>
  (await redis.cli('PUBSUB', 'CHANNELS', pattern)).split('\n').filter(Boolean);

/**
 * One long-lived redis-cli fed on stdin at a steady rate: `total` PUBLISHes
 * of "<seq>:<pad>", bounded in count and in time. Each reply (the number of
 * Redis clients that received the message) is kept, in order.
 */
function steadyPublisher(port, channel, { total, rate, pad = '', onSent = () => {} }) {
  const cli = spawn('redis-cli', ['-p', String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = [];
  let buf = '';
  cli.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) if (l.trim() !== '') replies.push(Number(l.trim()));
  });
  let sent = 0;
  const t0 = Date.now();
  const deadline = t0 + (total / rate) * 1000 * 3 + 5000;
  const done = new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate) + 1);
      let chunk = '';
      for (; sent < due; sent++) chunk += `PUBLISH ${channel} ${sent}:${pad}\n`;
      if (chunk) { cli.stdin.write(chunk); onSent(sent); }
      if (sent >= total || Date.now() > deadline) {
        clearInterval(timer);
        cli.stdin.end();
      }
    }, 5);
    cli.once('exit', (code) => {
      clearInterval(timer);
      if (code === 0) resolve({ sent, replies, ms: Date.now() - t0 });
      else reject(new Error(`redis-cli exit ${code}`));
    });
  });
  return { done, cli, sent: () => sent };
}

/** A WebSocket that checks the broadcast as it arrives instead of storing it. */
function counter(url) {
  const ws = new WebSocket(url);
  const st = { ws, next: 0, gaps: 0, other: [], times: [], closed: null, hello: null };
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.op === 'message' && m.channel === CHANNEL) {
      const seq = Number(m.data.split(':')[0]);
      if (seq !== st.next) st.gaps++;
      st.next = seq + 1;
      st.times.push(Date.now());
    } else if (m.op === 'hello' && !st.hello) {
      st.hello = m;
    } else {
      st.other.push(m);
    }
  });
  st.opened = new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  st.closedP = new Promise((resolve) => ws.once('close', (code) => { st.closed = code; resolve(code); }));
  ws.on('error', () => {});
  return st;
}

// Longest pause between two deliveries a client saw, in ms.
const maxGap = (times) => times.reduce((g, t, i) => (i ? Math.max(g, t - times[i - 1]) : g), 0);

async function scenario({ nodeArgs = () => [], clustered = false }) {
  const redis = await startRedis();
  const a = await startNode(redis, nodeArgs('a'));
  const b = await startNode(redis, nodeArgs('b'));
  const clients = [];
  let publisher = null;
  after(async () => {
    publisher?.cli.kill('SIGKILL');
    for (const c of clients) c.ws.terminate();
    try { await b.stop(); } finally { await a.kill().catch(() => {}); await redis.stop(); }
  });

  // Clients without a key: a clustered node gives each a key it owns, so
  // every one of them is served where it connected.
  const onA = Array.from({ length: PER_NODE }, () => counter(`${a.url}?channels=${CHANNEL}`));
  const onB = Array.from({ length: PER_NODE }, () => counter(`${b.url}?channels=${CHANNEL}`));
  clients.push(...onA, ...onB);
  await Promise.all(clients.map((c) => c.opened));
  if (clustered) {
    await waitFor(() => clients.every((c) => c.hello), { what: 'hello on every client' });
    assert.ok(onA.every((c) => c.hello.shard === 'a') && onB.every((c) => c.hello.shard === 'b'));
  }
  await waitFor(async () => (await numsub(redis, CHANNEL)) === 2, { what: 'both nodes subscribed' });
  // Each node's own subscriptions besides the clients': a standalone
  // node's liveness probe channel, a shard's cluster control channel.
  const liveBefore = await channels(redis, '__shardcast.live.*');
  if (clustered) assert.equal(await numsub(redis, 'shardcast:control'), 2);
  else assert.equal(liveBefore.length, 2, 'one liveness probe channel per node');
  const b0 = await b.metrics();

  let killAt = null;
  let killed = null;
  publisher = steadyPublisher(redis.port, CHANNEL, {
    total: TOTAL, rate: RATE, pad: 'p'.repeat(64),
    onSent: (n) => {
      if (n >= KILL_AT && !killAt) {
        killAt = { seq: n, t: Date.now() };
        killed = a.kill();
      }
    },
  });
  await waitFor(() => killAt !== null, { timeout: 15000, what: 'kill point reached' });
  await killed;
  // Redis sees the dead node's socket close: its subscriptions go with it.
  const t0 = killAt.t;
  await waitFor(async () => (await numsub(redis, CHANNEL)) === 1,
    { timeout: 5000, interval: 5, what: 'NUMSUB down to 1' });
  const numsubMs = Date.now() - t0;
  assert.deepEqual(await channels(redis, '__shardcast.live.*'),
    liveBefore.filter((ch) => ch.includes(`.${b.proc.pid}.`)), 'only the survivor\'s probe channel is left');
  if (clustered) assert.equal(await numsub(redis, 'shardcast:control'), 1);

  const { replies, ms } = await publisher.done;
  publisher = null;
  await waitFor(() => onB.every((c) => c.next >= TOTAL), { timeout: 15000, what: 'B clients got everything' });
  await Promise.all(onA.map((c) => c.closedP));

  // The survivor's clients: every message, in order, nothing else.
  for (const c of onB) {
    assert.equal(c.next, TOTAL);
    assert.equal(c.times.length, TOTAL, 'every message exactly once');
    assert.equal(c.gaps, 0, 'in order, no gap');
    assert.deepEqual(c.other, [], 'no missed, move or any other event');
    assert.equal(c.ws.readyState, WebSocket.OPEN);
  }
  // The dead node's clients: an abnormal close, and an in-order prefix.
  for (const c of onA) {
    assert.equal(c.closed, 1006);
    assert.equal(c.gaps, 0);
    assert.ok(c.next <= TOTAL);
  }
  // Every PUBLISH reached 2 nodes until the kill and 1 after, never 0 and
  // never back to 2.
  assert.equal(replies.length, TOTAL);
  const firstOne = replies.indexOf(1);
  assert.ok(firstOne > 0, 'the kill fell inside the broadcast');
  assert.ok(replies.slice(0, firstOne).every((r) => r === 2));
  assert.ok(replies.slice(firstOne).every((r) => r === 1), 'receivers went 2 -> 1 once');
  // ... right after the kill: within 200 ms of publishing (50 messages).
  assert.ok(firstOne <= killAt.seq + 50, `still 2 receivers ${firstOne - killAt.seq} messages after the kill`);

  if (clustered) {
    // a's heartbeat expires and b takes it out of the map; b's own clients
    // stay where they are.
    await waitFor(async () => JSON.parse((await b.http('/shards')).body).shards.length === 1,
      { timeout: 10000, what: 'dead shard out of the map' });
    await sleep(500);
    for (const c of onB) assert.deepEqual(c.other, [], 'no move after the map change');
  }
  const b1 = await b.metrics();
  assert.equal(b1.shardcast_redis_up, 1);
  assert.equal(b1.shardcast_redis_reconnects_total, b0.shardcast_redis_reconnects_total);
  assert.equal(b1.shardcast_missed_events_total, 0);
  assert.equal(b1.shardcast_slow_consumer_disconnects_total, 0);
  assert.equal(b1.shardcast_moves_total, 0);
  assert.equal(b1.shardcast_connections, PER_NODE);
  assert.equal(b1.shardcast_redis_messages_total - b0.shardcast_redis_messages_total, TOTAL);
  assert.equal(b1.shardcast_deliveries_total - b0.shardcast_deliveries_total, TOTAL * PER_NODE);
  for (const [k, v] of Object.entries(b1)) if (k.startsWith('shardcast_errors_total')) assert.equal(v, 0, k);
  assert.equal((await b.http('/healthz')).status, 200);

  const gapB = Math.max(...onB.map((c) => maxGap(c.times)));
  const gotA = onA.map((c) => c.next);
  console.log(`${clustered ? 'cluster' : 'standalone'}: ${TOTAL} msgs at ${RATE}/s in ${ms} ms; ` +
    `kill -9 of A once ${killAt.seq} were written to redis-cli; NUMSUB 2->1 seen ${numsubMs} ms after the kill; ` +
    `PUBLISH replies: ${firstOne} x 2 receivers then ${TOTAL - firstOne} x 1; A's clients got ${Math.min(...gotA)}..${Math.max(...gotA)} ` +
    `then 1006; B's ${PER_NODE} clients got ${TOTAL}/${TOTAL} in order, longest pause ${gapB} ms`);
  assert.ok(numsubMs < 2000, `Redis freed the subscriptions after ${numsubMs} ms`);
}

test('kill -9 of a standalone node during a broadcast: the other node\'s clients get everything', async () => {
  await scenario({});
});

test('kill -9 of a shard during a broadcast: the other shard\'s clients get everything and stay', async () => {
  await scenario({
    clustered: true,
    nodeArgs: (id) => ['--shard-id', id, '--heartbeat-ttl', '1500'],
  });
});
