// Hardening 2, running out of file descriptors: a node whose open-files
// limit (300) is below its --max-connections (1000) warns at start-up, and
// when 400 clients connect at once (accept() failing with EMFILE) it
// handles it the clean way: it does not crash, does not spin, its existing
// clients keep receiving, every newcomer is either served or refused (none
// left hanging), and once clients leave new ones connect again.
//
// KNOWN BUG (until fixed in server/): libwebsockets 4.1's listener treats
// an accept() failure other than EAGAIN by logging "accept: errno 24" and
// returning, with the listening socket still readable and still polled
// (level-triggered): the loop calls accept() again at once, forever. The
// node burns a core and writes ~100k log lines a second while the pending
// clients hang in the listen backlog. See the closing note of the
// "Hardening" issue for the proposed fix.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { BIN, startRedis, freePort, client, publishAll, waitFor } from './harness.mjs';
import { startNodePrefixed, cpuSeconds, fdCount, heavyLock, sleep } from './load.mjs';

const NOFILE = 300;
const MAX = 1000;
const STEADY = 20;           // clients connected before the flood
const FLOOD = 400;
const MESSAGES = 100;
const SETTLE_MS = 8000;      // every flood client opened or refused by then
const CPU_WINDOW_MS = 3000;
const CPU_BOUND_S = 0.5;

/** One flood client: resolves with 'open', 'http-<status>', 'closed' (by the node, no response), or 'error-<code>'. */
function floodClient(url, sink) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  sink.push(ws);
  return new Promise((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (req, res) => { res.resume(); req.destroy(); resolve(`http-${res.statusCode}`); });
    ws.on('error', (e) => {
      const k = e.code ?? e.message;
      resolve(['ECONNRESET', 'EPIPE'].includes(k) || /socket hang up|closed before/.test(e.message) ? 'closed' : `error-${k}`);
    });
  });
}

test('EMFILE: a node out of file descriptors neither crashes nor spins, and recovers', { timeout: 90000 }, async () => {
  const lock = await heavyLock();
  if (lock.waitedMs > 100) console.log(`waited ${lock.waitedMs} ms for the other heavy tests`);
  const t0 = Date.now();
  const redis = await startRedis();
  const node = await startNodePrefixed(BIN, redis, await freePort(),
    ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--'], ['--max-connections', String(MAX)]);
  const flood = [];
  const steady = [];
  const late = [];
  after(async () => {
    for (const c of [...flood, ...steady, ...late]) c.terminate();
    try {
      if (node.alive()) process.kill(node.proc.pid, 'SIGKILL');
      await node.proc.exited;
    } finally { await redis.stop(); await lock.release(); }
  });
  const pid = node.proc.pid;
  await waitFor(async () => (await node.http('/healthz')).status === 200, { what: 'node healthy' });

  // The start-up warning names the open-files limit.
  const warning = node.stderrHead().split('\n').find((l) => /max-connections/.test(l) && /warn/.test(l));
  console.log(`start-up warning: ${warning}`);
  assert.ok(warning, `no start-up warning about max-connections:\n${node.stderrHead()}`);
  assert.match(warning, new RegExp(`max-connections ${MAX}\\b`));
  assert.match(warning, new RegExp(`open files.*\\b${NOFILE}\\b`), 'names the open-files limit and its value');
  assert.match(warning, /ulimit -n/);

  // Clients already there, subscribed.
  for (let i = 0; i < STEADY; i++) steady.push(client(`${node.url}?channels=steady`));
  await Promise.all(steady.map((c) => c.opened));
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'steady')).split('\n')[1] === '1',
    { timeout: 5000, what: 'steady subscribed' });

  // The flood: more sockets than the node has descriptors for.
  const acceptErrors = node.countLines(/accept/i);
  const linesBefore = node.stderrLines();
  const tFlood = Date.now();
  const outcomes = Array.from({ length: FLOOD }, () => floodClient(`${node.url}?channels=flood`, flood));
  const settled = new Array(FLOOD).fill(null);
  outcomes.forEach((p, i) => p.then((o) => { settled[i] = o; }));
  await Promise.race([Promise.all(outcomes), sleep(SETTLE_MS)]);
  const settleMs = Date.now() - tFlood;
  const counts = {};
  for (const o of settled) counts[o ?? 'hanging'] = (counts[o ?? 'hanging'] ?? 0) + 1;
  const fdsNode = fdCount(pid);

  // Afterwards: CPU over a quiet window, while the existing clients get messages.
  const cpu0 = cpuSeconds(pid);
  const tCpu = Date.now();
  await publishAll(redis, 'steady', Array.from({ length: MESSAGES }, (_, i) => `s${i}`));
  await sleep(CPU_WINDOW_MS - (Date.now() - tCpu));
  const cpu = cpuSeconds(pid) - cpu0;
  const cpuWindow = Date.now() - tCpu;
  const aliveAfterFlood = node.alive();
  const steadyGot = steady.map((c) => c.messages.filter((m) => m.op === 'message').length);
  const logLines = node.stderrLines() - linesBefore;

  console.log(`flood of ${FLOOD} clients (nofile ${NOFILE}, ${STEADY} already connected): after ${settleMs} ms ` +
    `${JSON.stringify(counts)}; node holds ${fdsNode} fds`);
  console.log(`node CPU over ${cpuWindow} ms after the flood: ${cpu.toFixed(2)} s; ${logLines} log lines since ` +
    `the flood (${acceptErrors.n} about accept)${acceptErrors.n ? `, e.g. "${node.stderrTail().trim().split('\n').pop()}"` : ''}`);
  console.log(`existing clients received ${Math.min(...steadyGot)}..${Math.max(...steadyGot)} of ${MESSAGES} messages`);

  // Recovery: the flood leaves, newcomers are served.
  for (const ws of flood) ws.terminate();
  let recovered = null;
  const tRec = Date.now();
  try {
    await waitFor(async () => (await node.metrics()).shardcast_connections === STEADY,
      { timeout: 10000, what: 'flood clients gone' });
    for (let i = 0; i < 5; i++) late.push(client(`${node.url}?channels=late`));
    await Promise.all(late.map((c) => c.opened));
    await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'late')).split('\n')[1] === '1',
      { timeout: 5000, what: 'late subscribed' });
    await redis.cli('PUBLISH', 'late', 'welcome');
    await Promise.all(late.map((c) => c.next((m) => m.op === 'message')));
    recovered = Date.now() - tRec;
  } catch (e) {
    recovered = e;
  }
  console.log(`after the flood left: ${typeof recovered === 'number' ? `5 new clients connected and received in ${recovered} ms` : `no recovery: ${recovered.message}`}`);

  assert.ok(aliveAfterFlood && node.alive(), `node died: exit ${node.proc.exitCode ?? node.proc.signalCode}\n${node.stderrTail()}`);
  assert.ok(cpu < CPU_BOUND_S,
    `KNOWN BUG (EMFILE spin): the node used ${cpu.toFixed(2)} s of CPU in ${cpuWindow} ms after the flood ` +
    `(bound ${CPU_BOUND_S} s) and logged ${acceptErrors.n} accept errors: libwebsockets retries accept() ` +
    `on EMFILE in a loop. Fix in server/ (see the Hardening issue): keep accepted sockets below the ` +
    `open-files limit (refuse in LWS_CALLBACK_FILTER_NETWORK_CONNECTION) and cap max-connections to it.`);
  assert.deepEqual(steadyGot, new Array(STEADY).fill(MESSAGES), 'existing clients got every message');
  assert.equal(counts.hanging ?? 0, 0,
    `${counts.hanging} flood clients neither served nor refused after ${SETTLE_MS} ms (left in the listen backlog)`);
  const unclean = Object.keys(counts).filter((k) => k !== 'open' && k !== 'http-503' && k !== 'closed');
  assert.deepEqual(unclean, [], `flood outcomes other than served / 503 / closed: ${JSON.stringify(counts)}`);
  assert.equal(typeof recovered, 'number', `no new connection after the flood left: ${recovered?.message}`);

  // A clean stop.
  for (const c of [...steady, ...late]) c.terminate();
  const { code, signal } = await node.stop();
  assert.equal(code, 0, `node exit ${code ?? signal}`);
  console.log(`EMFILE test ran ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
