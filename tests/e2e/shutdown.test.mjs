// SIGTERM: every client sees 1001, the node leaves Redis, and exits 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startRedis, startNode, client, publishAll, waitFor, sleep } from './harness.mjs';
import { rawClient } from './rawws.mjs';

test('SIGTERM closes clients with 1001 and exits 0 within seconds', async () => {
  const redis = await startRedis();
  after(() => redis.stop());
  const node = await startNode(redis);
  const clients = Array.from({ length: 50 }, () => client(`${node.url}?channels=bye,bye.*`));
  await Promise.all(clients.map((c) => c.opened));
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'bye')).split('\n')[1] === '1');
  const t0 = Date.now();
  node.proc.kill('SIGTERM');
  const closes = await Promise.all(clients.map((c) => c.closed));
  assert.ok(closes.every((c) => c.code === 1001), JSON.stringify(closes.slice(0, 3)));
  const { code, signal } = await node.proc.exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.equal((await redis.cli('PUBSUB', 'NUMSUB', 'bye')).split('\n')[1], '0');
  assert.equal((await redis.cli('PUBSUB', 'NUMPAT')).trim(), '0');
});

test('SIGINT does the same', async () => {
  const redis = await startRedis();
  after(() => redis.stop());
  const node = await startNode(redis);
  const c = client(node.url);
  await c.opened;
  node.proc.kill('SIGINT');
  assert.equal((await c.closed).code, 1001);
  assert.equal((await node.proc.exited).code, 0);
});

// CPU seconds (user + system) the process has used so far.
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100)
};

// Connections the node is closing, here slow consumers cut with 4100 whose
// close frame cannot be written, that keep sending (requests on one, pongs
// on the other): the stop must neither spin on them nor wait for them past
// the shutdown timeout.
test('SIGTERM with closing clients that keep sending: exit in time, no spin', {
  skip: process.env.SHARDCAST_VALGRIND ? 'CPU and time bounds do not hold under valgrind' : false,
}, async () => {
  const redis = await startRedis();
  after(() => redis.stop());
  const node = await startNode(redis, ['--max-queue-bytes', '65536', '--shutdown-timeout', '2']);
  after(() => node.kill());
  const senders = [];
  after(() => { for (const s of senders) { clearInterval(s.timer); s.c.destroy(); } });
  for (const kind of ['text', 'pong']) {
    const c = await rawClient(node.port, '/ws?channels=flood');
    c.sock.pause(); // reads nothing from now on, writes on
    const timer = setInterval(() => (kind === 'text' ? c.text('{"op":"ping"}') : c.pong('pp')), 5);
    senders.push({ c, timer });
  }
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'flood')).split('\n')[1] === '1');
  const pad = 'x'.repeat(1000);
  for (let round = 0; round < 30; round++) {
    if ((await node.metrics()).shardcast_slow_consumer_disconnects_total >= 2) break;
    await publishAll(redis, 'flood', Array.from({ length: 2000 }, (_, i) => `${i}:${pad}`));
  }
  assert.equal((await node.metrics()).shardcast_slow_consumer_disconnects_total, 2);
  await sleep(300); // both keep sending while the node closes them

  const pid = node.proc.pid;
  const cpu0 = cpuSeconds(pid);
  let cpu1 = cpu0;
  const t0 = Date.now();
  node.proc.kill('SIGTERM');
  let gone = false;
  node.proc.exited.then(() => { gone = true; });
  // shutdown-timeout (2 s) + 1 s, sampling the CPU the node uses meanwhile.
  while (!gone && Date.now() - t0 < 3000) {
    try { cpu1 = cpuSeconds(pid); } catch { break; }
    await sleep(100);
  }
  const wall = (Date.now() - t0) / 1000;
  assert.ok(cpu1 - cpu0 < 0.5 * wall, `node used ${(cpu1 - cpu0).toFixed(2)} s CPU in ${wall.toFixed(2)} s`);
  const res = await Promise.race([node.proc.exited, sleep(200).then(() => null)]);
  assert.ok(res, `node still running ${Date.now() - t0} ms after SIGTERM`);
  assert.equal(res.code, 0);
});
