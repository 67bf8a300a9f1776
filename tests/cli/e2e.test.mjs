// shardcast-cli end to end: a private redis-server, the real shardcast node
// (SHARDCAST_BIN), messages published with redis-cli and with our own pub.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { MockNode, loadWs } from './mock-node.mjs';
import { nodeSubscribed, redisCli, runCli, sleep, startCli, startNode, startRedis } from './lib.mjs';

let redis;
let node;
before(async () => {
  redis = await startRedis();
  node = await startNode(redis);
});
after(async () => {
  await node?.stop();
  await redis?.stop();
});

// Start `sub -v` and resolve once its subscription is live in the node and
// the node's is live in Redis, so nothing published after can be lost.
async function subscribed(args, channel) {
  const cli = startCli(['sub', '-v', ...args]);
  await cli.until((h) => /subscribed to/.test(h.stderr), 10000, 'the subscribe ok');
  if (channel) await nodeSubscribed(redis, channel);
  return cli;
}

test('sub --count 3 prints three messages published with redis-cli and exits 0', async () => {
  const cli = await subscribed(['--count', '3', node.url, 'e2e.news'], 'e2e.news');
  for (const m of ['one', 'two words', 'three']) await redisCli(redis, 'PUBLISH', 'e2e.news', m);
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'one\ntwo words\nthree\n');
});

test('sub --json through a pattern subscription', async () => {
  // PUBSUB NUMSUB does not count patterns: publish until one lands.
  const cli = await subscribed(['--json', '--count', '1', node.url, 'e2e.chat.*'], null);
  const r = cli.wait();
  while (cli.child.exitCode === null && !cli.stdout.length) {
    await redisCli(redis, 'PUBLISH', 'e2e.chat.room1', 'hi');
    await sleep(100);
  }
  const { code, stdout } = await r;
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout.toString().split('\n')[0]), {
    op: 'message', channel: 'e2e.chat.room1', pattern: 'e2e.chat.*', data: 'hi',
  });
});

test('binary payloads survive pub - -> Redis -> node (base64) -> sub', async () => {
  const payload = Buffer.concat([Buffer.from([0xff, 0x00, 0xc3]), randomBytes(4096).map((b) => (b === 0x0a ? 0x0b : b))]);
  const cli = await subscribed(['--count', '1', node.url, 'e2e.blob'], 'e2e.blob');
  const pub = await runCli(['pub', '--redis', redis.url, 'e2e.blob', '-'], { input: payload });
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(pub.stdout.toString(), '1\n', 'the node is the one Redis receiver');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.equals(Buffer.concat([payload, Buffer.from('\n')])), 'payload changed on the way');
});

test('--timeout exits 3 when nothing is published', async () => {
  const started = Date.now();
  const r = await runCli(['sub', '--timeout', '0.5', node.url, 'e2e.quiet']);
  assert.equal(r.code, 3, r.stderr);
  assert.ok(Date.now() - started < 5000);
  assert.match(r.stderr, /no message for 0\.5 s/);
});

test('a channel the node refuses exits 4 with the node\'s message', async () => {
  const r = await runCli(['sub', node.url, 'has,comma']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /subscription refused: bad_channel/);
});

test('a redirect (event + close 4200) from a stand-in node leads to the real node', async () => {
  loadWs();
  const entry = await new MockNode({
    onConnect: (c) => entry.redirect(c, node.url, { shard: 'e2e', epoch: 1 }),
  }).listen();
  try {
    const cli = await subscribed(['--key', 'k1', '--count', '2', entry.url, 'e2e.redir'], 'e2e.redir');
    await redisCli(redis, 'PUBLISH', 'e2e.redir', 'via redirect');
    await redisCli(redis, 'PUBLISH', 'e2e.redir', 'second');
    const r = await cli.wait();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'via redirect\nsecond\n');
    assert.deepEqual(entry.connections, ['/ws?key=k1']);
  } finally {
    await entry.close();
  }
});

test('a node restart: reconnect with backoff, resubscribe, carry on', async () => {
  const cli = await subscribed(['--json', '--count', '2', node.url, 'e2e.restart'], 'e2e.restart');
  await redisCli(redis, 'PUBLISH', 'e2e.restart', 'before');
  await cli.until((h) => h.lines().length === 1, 10000, 'the first message');
  const port = node.port;
  await node.stop('SIGTERM');
  node = await startNode(redis, { port });
  await cli.until((h) => /client_reconnect/.test(h.stdout.toString()), 20000, 'the resubscription');
  await nodeSubscribed(redis, 'e2e.restart');
  await redisCli(redis, 'PUBLISH', 'e2e.restart', 'after');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.data ?? l.reason), ['before', 'client_reconnect', 'after']);
  assert.match(r.stderr, /connection closed \((1001|1006)/);
});
