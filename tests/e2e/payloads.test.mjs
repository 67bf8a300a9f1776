// Payloads are binary-safe: what is published in Redis is what the client
// gets back, as a JSON string when it is UTF-8 and base64 otherwise.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startRedis, startNode, client, waitFor } from './harness.mjs';

let redis, node, c;
before(async () => {
  redis = await startRedis();
  node = await startNode(redis);
  c = client(`${node.url}?channels=bin`);
  await c.opened;
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'bin')).split('\n')[1] === '1');
});
after(async () => { c.terminate(); try { await node.stop(); } finally { await redis.stop(); } });

// redis-cli -x takes the last argument from stdin, byte for byte.
function publishBytes(buf) {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-p', String(redis.port), '-x', 'PUBLISH', 'bin'], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli ${code}`))));
    p.stdin.end(buf);
  });
}

function decode(m) {
  return m.encoding === 'base64' ? Buffer.from(m.data, 'base64') : Buffer.from(m.data, 'utf8');
}

test('random bytes round-trip exactly', async () => {
  for (const size of [1, 2, 3, 100, 4096, 70000]) {
    const buf = randomBytes(size);
    buf[0] = 0xff; // never valid UTF-8, so this takes the base64 path
    await publishBytes(buf);
    const m = await c.next((x) => x.op === 'message');
    assert.equal(m.encoding, 'base64');
    assert.ok(decode(m).equals(buf), `size ${size}`);
  }
});

test('UTF-8 text arrives as a JSON string, escapes and all', async () => {
  const text = 'quote " backslash \\ newline \n tab \t nul \u0000 del \u007f é 漢字 🎉 end';
  await publishBytes(Buffer.from(text, 'utf8'));
  const m = await c.next((x) => x.op === 'message');
  assert.equal(m.encoding, undefined);
  assert.equal(m.data, text);
});

test('an empty payload is delivered', async () => {
  await redis.cli('PUBLISH', 'bin', '');
  const m = await c.next((x) => x.op === 'message');
  assert.equal(m.data, '');
});
