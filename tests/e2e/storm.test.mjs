// Hardening 2, connection storm: with --max-connections 10000, 15,000
// clients connect as fast as the machine allows. The first 10,000 are
// served, the other 5,000 are refused with HTTP 503, the node's memory per
// connection stays within its bound, nothing crashes, and the node serves
// new clients once some leave. The clients run in three child processes
// (load.mjs; open files are capped at 20,000 per process), each from its
// own loopback source address so ephemeral ports are never short.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, waitFor } from './harness.mjs';
import { startWorker, sampleRss, rssKiB, fdCount, isAsan, heavyLock, sleep } from './load.mjs';

const MAX = 10000;
const WORKERS = 3;
const PER_WORKER = 5000;
const TOTAL = WORKERS * PER_WORKER;
const CONCURRENCY = 1000;        // handshakes in flight per worker (x3: below somaxconn 4096)
// Node RSS per held connection, over the idle node. The figure includes
// what the allocator keeps of the header buffers of the handshakes that
// were in flight (up to 3,000 here, 4 KiB each); under AddressSanitizer
// every allocation also carries redzones, hence its allowance.
const PER_CONN_BOUND_KIB = 4;
const ASAN_PER_CONN_BOUND_KIB = 6;
const CLOSE_SOME = 100;

test('connection storm: 15,000 clients against a 10,000 maximum: 10,000 served, 5,000 get 503', { timeout: 110000 }, async () => {
  const lock = await heavyLock();
  if (lock.waitedMs > 100) console.log(`waited ${lock.waitedMs} ms for the other heavy tests`);
  const t0 = Date.now();
  const redis = await startRedis();
  const node = await startNode(redis, ['--max-connections', String(MAX)]);
  const workers = [];
  let late;
  after(async () => {
    if (late) late.terminate();
    await Promise.all(workers.map((w) => w.kill9()));
    try { await node.stop(); } finally { await redis.stop(); await lock.release(); }
  });
  const pid = node.proc.pid;
  const asan = isAsan(pid);
  const perConnBound = asan ? ASAN_PER_CONN_BOUND_KIB : PER_CONN_BOUND_KIB;
  assert.doesNotMatch(node.stderr(), /exceeds what open files allow/, 'no open-files warning at 10,000');
  const rssIdle = rssKiB(pid);
  const rss = sampleRss(pid, 100);

  // The storm.
  const tStorm = Date.now();
  for (let i = 0; i < WORKERS; i++) {
    workers.push(startWorker('storm', {
      url: `${node.url}?channels=storm`, count: PER_WORKER, localAddress: `127.0.0.${2 + i}`,
      concurrency: CONCURRENCY, handshakeTimeoutMs: 30000, deadlineMs: 60000,
    }));
  }
  const results = await Promise.all(workers.map((w) => w.next('done', 80000)));
  const stormMs = Date.now() - tStorm;
  const sum = { opened: 0, status: {}, errors: {}, settled: 0 };
  for (const r of results) {
    sum.opened += r.opened;
    sum.settled += r.settled;
    for (const [k, v] of Object.entries(r.status)) sum.status[k] = (sum.status[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.errors)) sum.errors[k] = (sum.errors[k] ?? 0) + v;
  }
  for (const [i, r] of results.entries())
    console.log(`worker ${i} (127.0.0.${2 + i}): ${r.opened} opened, statuses ${JSON.stringify(r.status)}, ` +
      `errors ${JSON.stringify(r.errors)}, settled ${r.settled}/${r.count} in ${r.elapsedMs} ms ` +
      `(first open at ${r.firstOpenMs} ms, last at ${r.lastOpenMs} ms)`);
  console.log(`storm: ${TOTAL} clients settled in ${stormMs} ms (${Math.round(TOTAL / stormMs * 1000)}/s): ` +
    `${sum.opened} opened, HTTP ${JSON.stringify(sum.status)}, errors ${JSON.stringify(sum.errors)}`);

  // Settled: what the node holds, and its memory for it.
  await sleep(500);
  const m = await node.metrics();
  const rssHeld = rssKiB(pid);
  const peak = rss.stop().max;
  const perConn = (rssHeld - rssIdle) / Math.max(1, m.shardcast_connections);
  const fds = fdCount(pid);
  console.log(`node: ${m.shardcast_connections} connections, ${m['shardcast_errors_total{kind="rejected_full"}']} ` +
    `rejected_full, ${fds} open fds; RSS idle ${(rssIdle / 1024).toFixed(1)} MiB, holding ` +
    `${(rssHeld / 1024).toFixed(1)} MiB (${perConn.toFixed(2)} KiB per connection), peak during the storm ` +
    `${(peak / 1024).toFixed(1)} MiB${asan ? ' (AddressSanitizer build)' : ''}`);
  const reports = await Promise.all(workers.map((w) => { w.send({ cmd: 'report' }); return w.next('report', 10000); }));
  const stillOpen = reports.reduce((a, r) => a + r.stillOpen, 0);
  const closedEarly = reports.reduce((a, r) => a + r.closedEarly, 0);

  assert.ok(node.proc.exitCode === null && node.proc.signalCode === null, 'node alive after the storm');
  assert.equal(sum.settled, TOTAL, 'every client opened or was refused within the deadline');
  assert.equal(sum.opened, MAX, 'clients served');
  assert.deepEqual(sum.status, { 503: TOTAL - MAX }, 'refusals: exactly the rest, all HTTP 503');
  assert.deepEqual(sum.errors, {}, 'no other failures (resets, timeouts)');
  assert.equal(m.shardcast_connections, MAX);
  assert.equal(m['shardcast_errors_total{kind="rejected_full"}'], TOTAL - MAX);
  assert.equal(stillOpen, MAX, 'served clients still connected');
  assert.equal(closedEarly, 0, 'served clients closed by the node');
  assert.ok(perConn < perConnBound, `node RSS ${perConn.toFixed(2)} KiB per connection (bound ${perConnBound} KiB)`);
  assert.ok(peak < rssIdle + MAX * perConnBound + 64 * 1024,
    `node RSS peaked at ${(peak / 1024).toFixed(1)} MiB during the storm`);

  // Healthy afterwards: at the limit a newcomer is refused, once some
  // leave a newcomer is served and receives.
  await assert.rejects(client(node.url).opened, (e) => e.status === 503, 'a newcomer at the limit gets 503');
  workers[0].send({ cmd: 'close', n: CLOSE_SOME });
  await workers[0].next('closed', 15000);
  await waitFor(async () => (await node.metrics()).shardcast_connections === MAX - CLOSE_SOME,
    { timeout: 10000, what: 'closed connections gone' });
  late = client(`${node.url}?channels=after`);
  await late.opened;
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'after')).split('\n')[1] === '1',
    { timeout: 5000, what: 'after subscribed' });
  await redis.cli('PUBLISH', 'after', 'still-here');
  assert.equal((await late.next((x) => x.op === 'message')).data, 'still-here');
  assert.equal((await node.http('/healthz')).status, 200);
  const storm = client(`${node.url}?channels=storm`);
  await storm.opened;
  await redis.cli('PUBLISH', 'storm', 'to-all');
  assert.equal((await storm.next((x) => x.op === 'message')).data, 'to-all');
  storm.terminate();

  // Everyone leaves; the node stops cleanly (harness stop: exit status 0).
  for (const w of workers) w.send({ cmd: 'exit' });
  await Promise.all(workers.map((w) => w.exited));
  late.terminate();
  late = null;
  await waitFor(async () => (await node.metrics()).shardcast_connections === 0,
    { timeout: 15000, what: 'all connections gone' });
  console.log(`storm test ran ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
