// shardcast-cli sub against a mock node (mock-node.mjs) that mimics protocol
// v1 and the coming redirect / move events.  These run without the real
// node, so every client-side path is covered whatever state the server is in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MockNode } from './mock-node.mjs';
import { freePort, sleep, startCli, runCli } from './lib.mjs';

const nodes = [];
async function mock(opts) {
  const n = await new MockNode(opts).listen();
  nodes.push(n);
  return n;
}
after(async () => {
  for (const n of nodes) await n.close().catch(() => {});
});

const subscribed = (n, count = 1) => n.log.filter((e) => e.frame.op === 'subscribe').length >= count;
const until = async (cond, ms = 10000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
};

test('--count 3 prints three messages, one per line, and exits 0', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--count', '3', n.url, 'news', 'chat.*']);
  await until(() => subscribed(n));
  assert.deepEqual(n.log[0].frame, { op: 'subscribe', channels: ['news', 'chat.*'], id: 1 });
  n.publish('news', 'hello');
  n.publish('chat.room1', 'hi there');
  n.publish('other', 'not for us');
  n.publish('news', 'third');
  n.publish('news', 'fourth, after the count');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'hello\nhi there\nthird\n');
  assert.equal(r.stderr, '');
});

test('the path defaults to /ws', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--count', '1', `ws://127.0.0.1:${n.port}`, 'news']);
  await until(() => subscribed(n));
  n.publish('news', 'x');
  assert.equal((await cli.wait()).code, 0);
  assert.equal(n.connections[0], '/ws');
});

test('payloads come out byte for byte: base64 decoded, NULs kept', async () => {
  const n = await mock();
  const binary = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x80, 0x41]);
  const cli = startCli(['sub', '--count', '3', n.url, 'blob']);
  await until(() => subscribed(n));
  n.publish('blob', binary);
  n.publish('blob', Buffer.from('a\u0000b é', 'utf8'));
  n.publish('blob', 'x'.repeat(300000));
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  const want = Buffer.concat([binary, Buffer.from('\n'), Buffer.from('a\u0000b é\n', 'utf8'), Buffer.from(`${'x'.repeat(300000)}\n`)]);
  assert.ok(r.stdout.equals(want), 'output differs from what was published');
});

test('--json prints frames as sent; missed events go to stdout and stderr', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--json', '--count', '2', n.url, 'news', 'n*']);
  await until(() => subscribed(n));
  n.missed('redis_reconnect');
  n.publish('news', 'hello');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    { op: 'missed', channels: ['news', 'n*'], reason: 'redis_reconnect' },
    { op: 'message', channel: 'news', data: 'hello' },
    { op: 'message', channel: 'news', pattern: 'n*', data: 'hello' },
  ]);
  assert.match(r.stderr, /missed messages on news, n\* \(redis_reconnect\)/);
});

test('missed events are reported on stderr in raw mode too', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--count', '1', n.url, 'news']);
  await until(() => subscribed(n));
  n.missed();
  n.publish('news', 'after');
  const r = await cli.wait();
  assert.equal(r.code, 0);
  assert.equal(r.stdout.toString(), 'after\n');
  assert.match(r.stderr, /missed messages on news \(redis_reconnect\)/);
});

test('frames that are not understood are skipped, not fatal', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--count', '1', n.url, 'news']);
  await until(() => subscribed(n));
  n.sendRaw('this is not json');
  n.sendRaw('{"op":"message","channel":"news","data":"x","encoding":"rot13"}');
  n.sendRaw('{"op":"from_the_future","x":1}');
  n.publish('news', 'still here');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'still here\n');
  assert.match(r.stderr, /ignoring a frame from the node: not a JSON object/);
  assert.match(r.stderr, /unknown payload encoding/);
});

test('a subscription the node refuses exits 4 with its message', async () => {
  const n = await mock();
  const r = await runCli(['sub', n.url, 'bad channel']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /subscription refused: bad_channel: bad channel name: bad channel/);
});

for (const code of [4000, 4003, 1000, 1008]) {
  test(`close ${code} (do not reconnect) exits 5`, async () => {
    const n = await mock();
    const cli = startCli(['sub', n.url, 'news']);
    await until(() => subscribed(n));
    n.closeAll(code, 'go away');
    const r = await cli.wait();
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, new RegExp(`connection closed \\(${code}.*go away\\).*not to reconnect`));
    assert.equal(n.connections.length, 1);
  });
}

for (const [how, drop] of [
  ['close 1001', (n) => n.closeAll(1001, 'shutting down')],
  ['close 4100', (n) => n.closeAll(4100, 'slow consumer')],
  ['a dropped TCP connection', (n) => n.dropAll()],
]) {
  test(`after ${how} it reconnects with backoff and resubscribes`, async () => {
    const n = await mock();
    const cli = startCli(['sub', '--json', '--count', '2', n.url, 'news']);
    await until(() => subscribed(n));
    n.publish('news', 'before');
    await cli.until((h) => h.lines().length === 1);
    drop(n);
    await until(() => subscribed(n, 2));
    n.publish('news', 'after');
    const r = await cli.wait();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, [
      { op: 'message', channel: 'news', data: 'before' },
      { op: 'missed', channels: ['news'], reason: 'client_reconnect' },
      { op: 'message', channel: 'news', data: 'after' },
    ]);
    assert.match(r.stderr, /reconnecting in \d+\.\d s/);
    assert.deepEqual(n.log[1].frame, { op: 'subscribe', channels: ['news'], id: 2 });
  });
}

test('-q keeps reconnect notices off stderr', async () => {
  const n = await mock();
  const cli = startCli(['sub', '-q', '--count', '1', n.url, 'news']);
  await until(() => subscribed(n));
  n.closeAll(1001);
  await until(() => subscribed(n, 2));
  n.publish('news', 'after');
  const r = await cli.wait();
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stderr, /reconnecting in/);
});

test('a redirect (event + close 4200) is followed at once, key kept', async () => {
  const target = await mock();
  const entry = await mock({ onConnect: (c) => entry.redirect(c, target.url, { shard: 's7', epoch: 3 }) });
  const started = Date.now();
  const cli = startCli(['sub', '--key', 'user/42', '--count', '1', entry.url, 'news']);
  await until(() => subscribed(target));
  assert.ok(Date.now() - started < 3000);
  target.publish('news', 'from the shard owner');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'from the shard owner\n');
  assert.deepEqual(entry.connections, ['/ws?key=user%2F42']);
  assert.deepEqual(target.connections, ['/ws?key=user%2F42']);
  assert.doesNotMatch(r.stderr, /reconnecting in/);
});

test('a move (event + close 4201) while subscribed is followed and reported as a gap', async () => {
  const target = await mock();
  const entry = await mock();
  const cli = startCli(['sub', '--json', '--count', '1', entry.url, 'news']);
  await until(() => subscribed(entry));
  entry.redirect([...entry.clients][0], target.url, { op: 'move', epoch: 9 });
  await until(() => subscribed(target));
  target.publish('news', 'moved');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.at(-1).data, 'moved');
  assert.equal(lines[0].reason, 'client_reconnect');
});

test('nodes redirecting to each other do not cause a reconnect storm', async () => {
  const a = await mock();
  const b = await mock({ onConnect: (c) => b.redirect(c, a.url) });
  a.opts.onConnect = (c) => a.redirect(c, b.url);
  const cli = startCli(['sub', a.url, 'news']);
  await sleep(2000);
  cli.child.kill('SIGTERM');
  const r = await cli.wait();
  assert.equal(r.code, 143);
  const attempts = a.connections.length + b.connections.length;
  assert.ok(attempts >= 6 && attempts < 25, `${attempts} connections in 2 s`);
  assert.match(r.stderr, /reconnecting in/);
});

test('an unreachable redirect target sends the client back to the original URL', async () => {
  const deadPort = await freePort();
  let redirected = 0;
  const entry = await mock({
    onConnect: (c) => {
      if (redirected++ === 0) entry.redirect(c, `ws://127.0.0.1:${deadPort}/ws`);
    },
  });
  const cli = startCli(['sub', '--count', '1', entry.url, 'news']);
  // The first connection may get its subscribe in before the redirect lands.
  await until(() => [...entry.clients].some((c) => c.index === 1 && c.channels.size), 15000);
  entry.publish('news', 'back home');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`going back to ${entry.url.replace(/[/.]/g, '\\$&')}`));
  assert.equal(entry.connections.length, 2);
});

test('--timeout exits 3 when no message arrives in time', async () => {
  const n = await mock();
  const started = Date.now();
  const r = await runCli(['sub', '--timeout', '0.6', n.url, 'news']);
  const took = Date.now() - started;
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /no message for 0\.6 s/);
  assert.ok(took >= 550 && took < 3000, `took ${took} ms`);
});

test('--timeout counts from the last message', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--timeout', '0.8', n.url, 'news']);
  await until(() => subscribed(n));
  for (let i = 0; i < 6; i++) {
    n.publish('news', `m${i}`);
    await sleep(300);
  }
  assert.equal(cli.child.exitCode, null, 'exited while messages were flowing');
  const r = await cli.wait();
  assert.equal(r.code, 3);
  assert.equal(r.stdout.toString().split('\n').length - 1, 6);
});

test('a node that accepts TCP but never answers the upgrade: exit 6 after --connect-timeout, not -t', async () => {
  const n = await mock({ silent: true });
  const started = Date.now();
  const r = await runCli(['sub', '--connect-timeout', '1', '-t', '0.3', n.url, 'news']);
  const took = Date.now() - started;
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws: timed out: TCP connect and WebSocket upgrade not done within 1 s \(--connect-timeout\)/);
  assert.doesNotMatch(r.stderr, /no message for/, '-t counts only once connected');
  assert.ok(took >= 950 && took < 4000, `took ${took} ms`);
  assert.equal(n.accepted, 1);
});

test('the connect timeout is 10 s by default', async () => {
  const n = await mock({ silent: true });
  const started = Date.now();
  const r = await runCli(['sub', n.url, 'news'], { timeout: 30000 });
  const took = Date.now() - started;
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /not done within 10 s \(--connect-timeout\)/);
  assert.ok(took >= 9900 && took < 14000, `took ${took} ms`);
});

test('a reconnect to a node that stopped answering times out and counts as a failed attempt', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--connect-timeout', '0.5', '--max-retries', '3', n.url, 'news']);
  await until(() => subscribed(n));
  const { port } = n;
  await n.close();
  const silent = await new MockNode({ silent: true }).listen(port);
  nodes.push(silent);
  const r = await cli.wait(20000);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /timed out: TCP connect and WebSocket upgrade not done within 0\.5 s/);
  assert.match(r.stderr, /giving up after 3 reconnect attempt/);
  assert.ok(silent.accepted >= 1, 'no attempt reached the silent node');
});

test('-v shows the node\'s hello as its greeting', async () => {
  const hello = { op: 'hello', shard: 's2', key: 'user-42', epoch: 7,
    shards: [{ id: 's1', url: 'ws://127.0.0.1:1/ws', weight: 1 }, { id: 's2', url: 'ws://127.0.0.1:2/ws', weight: 1 }] };
  const n = await mock({ onConnect: (c) => c.ws.send(JSON.stringify(hello)) });
  const cli = startCli(['sub', '-v', '--count', '1', n.url, 'news']);
  await until(() => subscribed(n));
  n.publish('news', 'hi');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the node's greeting: shard s2, key user-42, epoch 7, 2 shard\(s\) in the map/);
  assert.doesNotMatch(r.stderr, /does not know/);
});

test('the node losing Redis and getting it back is reported on stderr; -q keeps it quiet', async () => {
  for (const quiet of [false, true]) {
    const n = await mock();
    const cli = startCli(['sub', ...(quiet ? ['-q'] : []), '--count', '1', n.url, 'news']);
    await until(() => subscribed(n));
    n.sendRaw('{"op":"status","redis":"down"}');
    n.sendRaw('{"op":"status","redis":"up"}');
    n.missed();
    n.publish('news', 'after');
    const r = await cli.wait();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'after\n');
    const notices = [/the node lost Redis: no message can arrive until it is back/, /the node has Redis again/];
    for (const re of notices) {
      if (quiet) assert.doesNotMatch(r.stderr, re);
      else assert.match(r.stderr, re);
    }
    assert.match(r.stderr, /missed messages on news \(redis_reconnect\)/);
  }
});

test('a first connection that fails exits 1', async () => {
  const r = await runCli(['sub', `ws://127.0.0.1:${await freePort()}/ws`, 'news']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws/);
});

test('a first handshake refused with HTTP 503 exits 1 and says so', async () => {
  const n = await mock({ httpStatus: 503 });
  const r = await runCli(['sub', n.url, 'news']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /503/);
});

test('--max-retries gives up with exit 1 when the node stays away', async () => {
  const n = await mock();
  const cli = startCli(['sub', '--max-retries', '2', n.url, 'news']);
  await until(() => subscribed(n));
  await n.close();
  const r = await cli.wait();
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /giving up after 2 reconnect attempt/);
});

test('SIGINT exits 130', async () => {
  const n = await mock();
  const cli = startCli(['sub', n.url, 'news']);
  await until(() => subscribed(n));
  cli.child.kill('SIGINT');
  assert.equal((await cli.wait()).code, 130);
});

test('a closed stdout ends the run with status 1', async () => {
  const n = await mock();
  const cli = startCli(['sub', n.url, 'news']);
  await until(() => subscribed(n));
  cli.child.stdout.destroy();
  for (let i = 0; i < 5 && cli.child.exitCode === null; i++) {
    n.publish('news', 'into the void');
    await sleep(100);
  }
  assert.equal((await cli.wait()).code, 1);
});

// A throwaway self-signed certificate, or null when openssl is missing.
function selfSigned() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sc-cli-tls-'));
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    if (r.status !== 0) return null;
    return { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('wss://: a self-signed node is refused unless --insecure', async (t) => {
  const tls = selfSigned();
  if (!tls) return t.skip('openssl not available');
  const n = await mock({ tls });
  const refused = await runCli(['sub', n.url, 'news']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /cannot connect to wss:\/\/127\.0\.0\.1/);
  const cli = startCli(['sub', '--insecure', '--count', '1', n.url, 'news']);
  await until(() => [...n.clients].some((c) => c.channels.size));
  n.publish('news', 'over TLS');
  const r = await cli.wait();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'over TLS\n');
});
