// shardcast-cli pub against a private redis-server: the receiver count it
// prints, byte-exact payloads (argv and stdin), AUTH, and failures.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Resp, freePort, runCli, startRedis } from './lib.mjs';
import { MockNode } from './mock-node.mjs';

let redis;
let secured;
before(async () => {
  redis = await startRedis();
  secured = await startRedis(['--requirepass', 's3cret:x']);
});
after(async () => {
  await redis?.stop();
  await secured?.stop();
});

// Subscribe a raw RESP connection; resolves once Redis confirmed it.
async function subscriber(port, cmd, channel) {
  const c = await Resp.connect(port);
  const ack = await c.call(cmd, channel);
  assert.equal(ack[0].toString(), cmd.toLowerCase());
  return c;
}

test('prints 0 when nobody listens', async () => {
  const r = await runCli(['pub', '--redis', redis.url, 'nobody', 'hello']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), '0\n');
});

test('prints the receiver count and delivers the argument as is', async () => {
  const s1 = await subscriber(redis.port, 'SUBSCRIBE', 'news');
  const s2 = await subscriber(redis.port, 'PSUBSCRIBE', 'n*');
  const r = await runCli(['pub', '-r', redis.url, 'news', 'héllo wörld']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), '2\n');
  const m = await s1.next();
  assert.equal(m[0].toString(), 'message');
  assert.equal(m[2].toString('utf8'), 'héllo wörld');
  assert.equal((await s2.next())[3].toString('utf8'), 'héllo wörld');
  s1.close();
  s2.close();
});

test('MESSAGE "-" reads stdin byte for byte', async () => {
  const s = await subscriber(redis.port, 'SUBSCRIBE', 'blob');
  const payload = Buffer.concat([Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80]), randomBytes(1 << 20)]);
  const r = await runCli(['pub', '--redis', redis.url, 'blob', '-'], { input: payload });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), '1\n');
  const m = await s.next();
  assert.ok(m[2].equals(payload), 'payload changed on the way');
  s.close();
});

test('an empty stdin publishes an empty message', async () => {
  const s = await subscriber(redis.port, 'SUBSCRIBE', 'empty');
  const r = await runCli(['pub', '--redis', redis.url, 'empty', '-'], { input: '' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await s.next())[2].length, 0);
  s.close();
});

test('"--" lets a message start with a dash', async () => {
  const s = await subscriber(redis.port, 'SUBSCRIBE', 'dash');
  const r = await runCli(['pub', '--redis', redis.url, '--', 'dash', '-5']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await s.next())[2].toString(), '-5');
  s.close();
});

test('AUTH with a percent-encoded password from the URL', async () => {
  const url = `redis://:s3cret%3Ax@127.0.0.1:${secured.port}`;
  const r = await runCli(['pub', '--redis', url, 'c', 'm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), '0\n');
  const r2 = await runCli(['pub', '--redis', `redis://default:s3cret%3Ax@127.0.0.1:${secured.port}/0`, 'c', 'm']);
  assert.equal(r2.code, 0, r2.stderr);
});

test('a wrong password or none exits 1 with Redis\'s reason', async () => {
  const wrong = await runCli(['pub', '--redis', `redis://:nope@127.0.0.1:${secured.port}`, 'c', 'm']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /Redis AUTH failed: .*(WRONGPASS|invalid)/i);
  const none = await runCli(['pub', '--redis', `redis://127.0.0.1:${secured.port}`, 'c', 'm']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /Redis PUBLISH failed: NOAUTH/);
});

test('a Redis that accepts TCP but never answers: exit 6 after --connect-timeout, saying so', async () => {
  const silent = await new MockNode({ silent: true }).listen();
  try {
    const started = Date.now();
    const r = await runCli(['pub', '--connect-timeout', '1', '--redis', `redis://127.0.0.1:${silent.port}`, 'c', 'm']);
    const took = Date.now() - started;
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /Redis did not answer PUBLISH within 1 s \(--connect-timeout\)/);
    assert.doesNotMatch(r.stderr, /Resource temporarily unavailable/);
    assert.ok(took >= 950 && took < 4000, `took ${took} ms`);
    assert.equal(r.stdout.length, 0);
  } finally {
    await silent.close();
  }
});

test('an unreachable Redis exits 1', async () => {
  const port = await freePort();
  const r = await runCli(['pub', '--redis', `redis://127.0.0.1:${port}`, 'c', 'm']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot connect to Redis at 127\\.0\\.0\\.1:${port}`));
  assert.equal(r.stdout.length, 0);
});
