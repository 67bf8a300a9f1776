// Redis replaced behind the same address: the node knows Redis only as
// host:port, and here that is a small TCP proxy (in this test) in front of
// whichever Redis is current. The Redis behind it dies and a new one comes
// up on a different port; the proxy is pointed at it, as a service address
// or a load balancer would be. The node must ride through the outage with
// its clients, tell the truth in /healthz and /metrics meanwhile (also
// while the address accepts TCP but nothing behind it answers), and come
// back on the new Redis with every subscription and one `missed` event.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect } from 'node:net';
import { startRedis, startNode, client, waitFor, freePort, sleep } from './harness.mjs';

const TIMEOUT_MS = 1000;
const FAST = ['--redis-ping-interval', '200', '--redis-timeout', String(TIMEOUT_MS),
  '--redis-backoff-min', '50', '--redis-backoff-max', '400'];

/**
 * A TCP proxy on a fixed loopback port. mode 'forward' pipes each accepted
 * connection to 127.0.0.1:target (closing it when the upstream refuses or
 * closes); 'blackhole' accepts, reads and never answers; 'reset' accepts
 * and closes at once. stall() silences the connections already open, in
 * both directions, without closing them: a path that died quietly. `open`
 * holds the accepted connections the peer has not closed yet.
 */
async function tcpProxy(target) {
  const port = await freePort();
  const p = { port, target, mode: 'forward', accepted: 0, open: new Set(), pairs: new Set() };
  const server = createServer((down) => {
    p.accepted++;
    p.open.add(down);
    down.on('close', () => p.open.delete(down));
    down.on('error', () => {});
    if (p.mode === 'reset') { down.destroy(); return; }
    if (p.mode === 'blackhole') { down.on('data', () => {}); return; }
    const up = tcpConnect(p.target, '127.0.0.1');
    const pair = { down, up };
    p.pairs.add(pair);
    up.on('error', () => down.destroy());
    up.on('close', () => { p.pairs.delete(pair); down.destroy(); });
    down.on('close', () => up.destroy());
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  p.stall = () => {
    for (const { down, up } of p.pairs) {
      // Read and drop: nothing gets through, but a close is still seen.
      down.unpipe(up); up.unpipe(down);
      down.on('data', () => {}).resume();
      up.on('data', () => {}).resume();
    }
    p.pairs.clear();
  };
  p.close = () => new Promise((r) => {
    for (const s of p.open) s.destroy();
    server.close(r);
  });
  return p;
}

const health = async (node) => {
  const r = await node.http('/healthz');
  return { ...JSON.parse(r.body), code: r.status };
};
const numsub = async (redis, ch) => Number((await redis.cli('PUBSUB', 'NUMSUB', ch)).split('\n')[1]);
const pubsubClients = async (redis) =>
  (await redis.cli('CLIENT', 'LIST')).split('\n').filter((l) => / flags=P /.test(l)).length;

/** Sample /healthz and /metrics until stop() and report what was seen. */
function watch(node) {
  const seen = { samples: 0, up: new Set(), health: new Set(), reconnects: new Set(), connections: new Set() };
  let running = true;
  const loop = (async () => {
    while (running) {
      const [h, m] = await Promise.all([health(node), node.metrics()]);
      seen.samples++;
      seen.health.add(h.code);
      seen.up.add(m.shardcast_redis_up);
      seen.reconnects.add(m.shardcast_redis_reconnects_total);
      seen.connections.add(h.connections);
      await sleep(50);
    }
  })();
  return { seen, stop: async () => { running = false; await loop; return seen; } };
}

async function setup() {
  const old = await startRedis();
  const proxy = await tcpProxy(old.port);
  // The node is given the proxy's address, never a Redis port.
  const node = await startNode({ port: proxy.port }, FAST);
  const state = { fresh: null };
  after(async () => {
    try { await node.stop(); } finally {
      await proxy.close();
      await old.stop();
      await state.fresh?.stop();
    }
  });
  const c = client(`${node.url}?channels=news,alerts.*`);
  const other = client(`${node.url}?channels=quiet`);
  await Promise.all([c.opened, other.opened]);
  await waitFor(async () => (await numsub(old, 'news')) === 1 && (await numsub(old, 'quiet')) === 1,
    { what: 'subscribed through the proxy' });
  await old.cli('PUBLISH', 'news', 'before');
  assert.equal((await c.next((m) => m.op === 'message')).data, 'before');
  const m0 = await node.metrics();
  assert.equal(m0.shardcast_redis_up, 1);
  return { old, proxy, node, c, other, m0, state };
}

/** During an outage each client has been told, once, that Redis is down. */
async function outageTold({ c, other }) {
  for (const ws of [c, other]) {
    assert.deepEqual(await ws.next(() => true, 2000), { op: 'status', redis: 'down' });
    assert.deepEqual(ws.messages, [], 'only the down status during the outage');
  }
}

/** After the switch: the new Redis holds every subscription and delivers. */
async function checkRecovered({ node, c, other, m0, proxy }, fresh, outageStart) {
  await waitFor(async () => (await health(node)).code === 200, { timeout: 10000, what: 'health 200 again' });
  const recoverMs = Date.now() - outageStart;
  // Told Redis is back, then, once resubscribed, what was missed.
  assert.deepEqual(await c.next(() => true, 5000), { op: 'status', redis: 'up' });
  assert.deepEqual(await other.next(() => true, 5000), { op: 'status', redis: 'up' });
  const missed = await c.next((m) => m.op === 'missed', 5000);
  assert.deepEqual(missed.channels.sort(), ['alerts.*', 'news']);
  assert.equal(missed.reason, 'redis_reconnect');
  const missedOther = await other.next((m) => m.op === 'missed', 5000);
  assert.deepEqual(missedOther.channels, ['quiet']);

  assert.equal(await numsub(fresh, 'news'), 1);
  assert.equal(await numsub(fresh, 'quiet'), 1);
  assert.equal(Number((await fresh.cli('PUBSUB', 'NUMPAT')).trim()), 1);
  assert.equal(await pubsubClients(fresh), 1, 'one Pub/Sub connection from the node');

  // Delivery resumes, through the new Redis directly and through the
  // shared address alike.
  await fresh.cli('PUBLISH', 'news', 'after');
  await fresh.cli('PUBLISH', 'alerts.fire', 'pattern-after');
  await fresh.cli('-p', String(proxy.port), 'PUBLISH', 'quiet', 'via-proxy');
  assert.equal((await c.next((m) => m.op === 'message' && m.channel === 'news')).data, 'after');
  assert.equal((await c.next((m) => m.op === 'message' && m.channel === 'alerts.fire')).data, 'pattern-after');
  assert.equal((await other.next((m) => m.op === 'message')).data, 'via-proxy');

  // Exactly one status event and one missed event each, however many
  // attempts failed, and nothing else arrived.
  await sleep(300);
  assert.deepEqual(c.messages, []);
  assert.deepEqual(other.messages, []);
  const m1 = await node.metrics();
  assert.equal(m1.shardcast_redis_up, 1);
  assert.equal(m1.shardcast_redis_reconnects_total, m0.shardcast_redis_reconnects_total + 1,
    'one re-established connection, whatever failed before it');
  assert.equal(m1.shardcast_missed_events_total, m0.shardcast_missed_events_total + 2);
  assert.equal(m1.shardcast_connections, 2);
  assert.equal(m1['shardcast_errors_total{kind="redis_protocol"}'], 0);
  const h = await health(node);
  assert.equal(h.status, 'ok');
  assert.equal(h.redis, 'up');
  // The node holds exactly one connection through the proxy: none of the
  // failed attempts was left open.
  await waitFor(() => proxy.open.size === 1, { timeout: 3000, what: `one proxied connection (have ${proxy.open.size})` });
  return recoverMs;
}

test('Redis restarted on a different port behind the same address', async () => {
  const s = await setup();
  const { old, proxy, node, c, m0 } = s;

  // Redis dies; the proxy drops the node's connection with it.
  const t0 = Date.now();
  await old.kill('SIGKILL');
  const down = await waitFor(async () => { const h = await health(node); return h.code === 503 && h; },
    { what: 'health 503' });
  const detectMs = Date.now() - t0;
  assert.equal(down.status, 'degraded');
  assert.notEqual(down.redis, 'up');
  assert.equal(down.connections, 2, 'clients are kept while Redis is away');
  const w = watch(node);

  // Phase 1: the address still accepts TCP, the proxy's upstream refuses,
  // so every attempt connects and is closed at once.
  let acc = proxy.accepted;
  await sleep(1500);
  const refusedAttempts = proxy.accepted - acc;
  assert.ok(refusedAttempts >= 2, `the node kept retrying (${refusedAttempts} attempts)`);

  // Phase 2: the address accepts and then nothing answers (the new Redis
  // is not ready, a half-configured balancer): the connect must time out.
  proxy.mode = 'blackhole';
  acc = proxy.accepted;
  await sleep(TIMEOUT_MS * 2 + 800);
  const heldAttempts = proxy.accepted - acc;
  assert.ok(heldAttempts >= 1, 'the node tried the silent address');
  // Every silent attempt but perhaps the last was given up by the node.
  assert.ok(proxy.open.size <= 1, `${proxy.open.size} silent connections still open`);
  assert.match(node.stderr(), /connect timed out/);

  // During the whole outage: 503, redis_up 0, no reconnect counted, and
  // the clients kept.
  const seen = await w.stop();
  assert.deepEqual([...seen.health], [503]);
  assert.deepEqual([...seen.up], [0]);
  assert.deepEqual([...seen.reconnects], [m0.shardcast_redis_reconnects_total]);
  assert.deepEqual([...seen.connections], [2]);
  // Told once that Redis is down, however many attempts failed; no early
  // missed event.
  await outageTold(s);

  // A new Redis on another port; the shared address now leads to it.
  const fresh = await startRedis();
  s.state.fresh = fresh;
  assert.notEqual(fresh.port, old.port);
  proxy.target = fresh.port;
  proxy.mode = 'forward';
  const recoverMs = await checkRecovered(s, fresh, t0);
  console.log(`Redis on ${old.port} killed: 503 after ${detectMs} ms; outage ${seen.samples} samples all 503/redis_up 0; ` +
    `${refusedAttempts} attempts refused, ${heldAttempts} silent ones timed out; ` +
    `back on ${fresh.port} (same address ${proxy.port}) ${recoverMs} ms after the kill, one missed event each`);
});

test('Path to Redis goes silent, a new Redis appears behind the same address', async () => {
  const s = await setup();
  const { old, proxy, node, c } = s;

  // Fail over: the old connection's path goes quiet without a FIN or RST
  // (the old Redis is still alive and still holds the node's
  // subscriptions); only the liveness check can tell. Until the new Redis
  // is wired in, the address refuses: otherwise the node may be back within
  // milliseconds, too soon to see the 503 in between.
  const t0 = Date.now();
  proxy.stall();
  proxy.mode = 'reset';
  await waitFor(async () => (await health(node)).code === 503,
    { timeout: TIMEOUT_MS + 2000, what: 'silent path detected' });
  const detectMs = Date.now() - t0;
  assert.ok(detectMs < TIMEOUT_MS + 1500, `detected after ${detectMs} ms`);
  assert.equal((await node.metrics()).shardcast_redis_up, 0);
  await outageTold(s);

  const fresh = await startRedis();
  s.state.fresh = fresh;
  proxy.target = fresh.port;
  proxy.mode = 'forward';
  const recoverMs = await checkRecovered(s, fresh, t0);
  // A message on the old Redis no longer reaches anyone through the node.
  await old.cli('PUBLISH', 'news', 'stale');
  await sleep(200);
  assert.deepEqual(c.messages, [], 'nothing from the old Redis');
  console.log(`silent path: 503 after ${detectMs} ms (redis-timeout ${TIMEOUT_MS} ms); ` +
    `resubscribed on the new Redis ${recoverMs} ms after the stall`);
});
