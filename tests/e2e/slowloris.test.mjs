// Hardening 1, slowloris: 5,000 sockets that open and send nothing, or
// trickle header bytes one at a time, are closed at the handshake timeout;
// meanwhile well-behaved clients still connect (connect time within 2x of
// an idle node's) and receive every message, and the node's memory stays
// bounded. The attack runs in a child process (load.mjs) so its timers do
// not delay the connects this process measures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, publishAll, waitFor } from './harness.mjs';
import { startWorker, connectTimes, stats, sampleRss, rssKiB, fmt, heavyLock, sleep } from './load.mjs';

const TIMEOUT_S = 5;       // --handshake-timeout: long enough to measure inside the attack
const SILENT = 2500;
const TRICKLE = 2500;
const OPEN_MS = 1500;      // all attack sockets opened within this
const TRICKLE_MS = 250;    // one byte per trickling socket this often
const MARGIN_MS = 3000;    // lws checks timeouts once a second; plus scheduling
const CONNECTS = 50;       // sequential well-behaved connects per measurement,
const GAP_MS = 50;         // this far apart: spread over most of the attack window
const SUBSCRIBERS = 20;
const MESSAGES = 200;
const RSS_BOUND_KIB = 100 * 1024;
const STALL_MS = 1000;     // no single well-behaved connect may take this long

test('slowloris: 5,000 silent/trickling sockets are closed at the handshake timeout; honest clients unaffected', { timeout: 100000 }, async () => {
  const lock = await heavyLock();
  if (lock.waitedMs > 100) console.log(`waited ${lock.waitedMs} ms for the other heavy tests`);
  const t0 = Date.now();
  const redis = await startRedis();
  const node = await startNode(redis, ['--handshake-timeout', String(TIMEOUT_S)]);
  let attack, rss;
  const honest = [];
  after(async () => {
    rss?.stop();
    for (const c of honest) c.terminate();
    if (attack) await attack.kill9();
    try { await node.stop(); } finally { await redis.stop(); await lock.release(); }
  });
  const pid = node.proc.pid;
  const url = `${node.url}?channels=warm`;

  // Idle baseline, after a few warm-up connects.
  await connectTimes(url, 10);
  const idleTimes = await connectTimes(url, CONNECTS, GAP_MS);
  assert.deepEqual(idleTimes.failures, [], 'connects to the idle node');
  const idle = stats(idleTimes);
  const rssIdle = rssKiB(pid);
  console.log(`idle node: connect p50 ${fmt(idle.p50)}, p90 ${fmt(idle.p90)}, max ${fmt(idle.max)} ` +
    `(${CONNECTS} sequential, ${GAP_MS} ms apart); RSS ${(rssIdle / 1024).toFixed(1)} MiB`);

  // The attack.
  rss = sampleRss(pid, 50);
  attack = startWorker('slowloris', {
    port: node.port, silent: SILENT, trickle: TRICKLE, openMs: OPEN_MS, trickleMs: TRICKLE_MS,
    deadlineMs: OPEN_MS + TIMEOUT_S * 1000 + MARGIN_MS + 2000,
  });
  const conn = await attack.next('connected', 20000);
  const tAttack = Date.now();
  console.log(`attack: ${conn.connected} of ${SILENT} silent + ${TRICKLE} trickling sockets connected within ${conn.spreadMs} ms`);
  assert.equal(conn.connected, SILENT + TRICKLE, 'attack sockets connected');

  // Well-behaved clients during the attack: connect times ...
  const duringTimes = await connectTimes(url, CONNECTS, GAP_MS);
  const during = stats(duringTimes);
  const measuredMs = Date.now() - tAttack;
  console.log(`during attack: connect p50 ${fmt(during.p50)}, p90 ${fmt(during.p90)}, max ${fmt(during.max)}, ` +
    `${duringTimes.failures.length} failed ${JSON.stringify(duringTimes.failures.slice(0, 5))} ` +
    `(measured over the first ${measuredMs} ms of the attack)`);
  assert.deepEqual(duringTimes.failures, [], 'well-behaved clients failed to connect during the attack');
  // None waited anywhere near the handshake timeout (a client held back
  // until the attack sockets time out takes seconds) ...
  assert.ok(during.max < STALL_MS, `a well-behaved connect took ${fmt(during.max)} during the attack`);
  // ... so all were measured while the attack sockets were held.
  assert.ok(measuredMs < TIMEOUT_S * 1000 - 1000, `connects measured within the attack window (${measuredMs} ms)`);
  // ... and every message published meanwhile reaches every subscriber.
  for (let i = 0; i < SUBSCRIBERS; i++) honest.push(client(`${node.url}?channels=live`));
  await Promise.all(honest.map((c) => c.opened));
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'live')).split('\n')[1] === '1',
    { timeout: 5000, what: 'live subscribed in Redis' });
  await publishAll(redis, 'live', Array.from({ length: MESSAGES }, (_, i) => `m${i}`));
  await waitFor(() => honest.every((c) => c.messages.length >= MESSAGES),
    { timeout: 10000, what: 'every subscriber got every message' });
  const deliveredMs = Date.now() - tAttack;
  const heldAfter = (await node.metrics()).shardcast_connections;

  const done = await attack.next('done', OPEN_MS + TIMEOUT_S * 1000 + MARGIN_MS + 15000);
  const peak = rss.stop().max;
  console.log(`during attack: ${SUBSCRIBERS} subscribers got all ${MESSAGES} messages ${deliveredMs} ms into it`);
  for (const [kind, s] of Object.entries(done.byKind))
    console.log(`attack sockets closed by the node after connect (${kind}, n=${s.n}): min ${s.min} ms, ` +
      `p50 ${s.p50} ms, max ${s.max} ms` + (kind === 'trickle' ? `; most bytes trickled ${s.bytesMax}` : ''));
  console.log(`attack: ${done.neverClosed} never closed, ${done.connectFailed} failed to connect, ` +
    `${done.gotData} got a response, errors ${JSON.stringify(done.errors)}`);
  console.log(`node RSS: idle ${(rssIdle / 1024).toFixed(1)} MiB, peak during attack ${(peak / 1024).toFixed(1)} MiB ` +
    `(+${((peak - rssIdle) / (SILENT + TRICKLE)).toFixed(2)} KiB per attack socket)`);

  // Honest clients connect within 2x of the idle figures (with a floor of
  // a few ms, for noise on a 2-core box): a client blocked behind the
  // attack until the timeout would take seconds.
  const boundP50 = Math.max(2 * idle.p50, idle.p50 + 5);
  const boundP90 = Math.max(2 * idle.p90, idle.p90 + 10);
  assert.ok(during.p50 <= boundP50, `median connect ${fmt(during.p50)} during the attack, idle ${fmt(idle.p50)} (bound ${fmt(boundP50)})`);
  assert.ok(during.p90 <= boundP90, `p90 connect ${fmt(during.p90)} during the attack, idle ${fmt(idle.p90)} (bound ${fmt(boundP90)})`);
  for (const c of honest) {
    const seq = c.messages.filter((m) => m.op === 'message').map((m) => m.data);
    assert.deepEqual(seq, Array.from({ length: MESSAGES }, (_, i) => `m${i}`), 'every message, in order');
  }
  assert.equal(heldAfter, SUBSCRIBERS, 'attack sockets are not WebSocket connections');

  // Every attack socket was closed by the node, at the handshake timeout.
  assert.equal(done.connected, SILENT + TRICKLE, 'every attack socket connected');
  assert.equal(done.neverClosed, 0, 'sockets the node never closed');
  for (const [kind, s] of Object.entries(done.byKind)) {
    assert.equal(s.n, kind === 'silent' ? SILENT : TRICKLE);
    assert.ok(s.min >= TIMEOUT_S * 1000 - 1500, `${kind}: a socket closed after ${s.min} ms, before the timeout`);
    assert.ok(s.max <= TIMEOUT_S * 1000 + MARGIN_MS, `${kind}: a socket closed only after ${s.max} ms`);
  }
  assert.ok(peak < RSS_BOUND_KIB, `node RSS peaked at ${(peak / 1024).toFixed(1)} MiB`);

  // Afterwards the node is as it was: the honest subscribers still there.
  await sleep(200);
  assert.equal((await node.metrics()).shardcast_connections, SUBSCRIBERS);
  console.log(`slowloris test ran ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
