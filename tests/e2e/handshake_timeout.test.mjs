// A connection that does not finish its HTTP request and upgrade within
// --handshake-timeout is dropped, whether it sends nothing or trickles.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startRedis, startNode, client } from './harness.mjs';

let redis, node;
before(async () => { redis = await startRedis(); node = await startNode(redis, ['--handshake-timeout', '2']); });
after(async () => { try { await node.stop(); } finally { await redis.stop(); } });

function timeToClose(port, trickle) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect(port, '127.0.0.1');
    let timer;
    if (trickle) {
      const req = 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n';
      let i = 0;
      timer = setInterval(() => { if (i < req.length) s.write(req[i++]); }, 200);
    }
    s.on('error', () => {});
    s.on('close', () => { clearInterval(timer); resolve(Date.now() - t0); });
  });
}

test('a silent socket is closed at the handshake timeout', async () => {
  const ms = await timeToClose(node.port, false);
  assert.ok(ms >= 1500 && ms < 6000, `closed after ${ms} ms`);
});

test('a socket trickling header bytes is closed too', async () => {
  const ms = await timeToClose(node.port, true);
  assert.ok(ms >= 1500 && ms < 6000, `closed after ${ms} ms`);
});

test('a normal client connects while slow ones hang', async () => {
  const slow = Array.from({ length: 50 }, () => timeToClose(node.port, true));
  const c = client(`${node.url}?channels=fine`);
  await c.opened;
  c.terminate();
  await Promise.all(slow);
});
