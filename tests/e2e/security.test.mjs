// Authenticated connections and channel permissions (--auth), the Origin
// allowlist, and that no token or secret ever reaches the node's log.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startNode, client, waitFor, sleep } from './harness.mjs';

const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const SECRET = randomBytes(32).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'sc-auth-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, SECRET);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pemFile = join(dir, 'rsa.pem');
writeFileSync(pemFile, rsa.publicKey.export({ type: 'spki', format: 'pem' }));

function jwt(claims, { alg = 'HS256', key = SECRET, header = {} } = {}) {
  const h = b64u(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const p = b64u(JSON.stringify(claims));
  const data = `${h}.${p}`;
  let sig = '';
  if (alg === 'HS256') sig = b64u(createHmac('sha256', key).update(data).digest());
  else if (alg === 'RS256') sig = b64u(sign('sha256', Buffer.from(data), key));
  return `${data}.${sig}`;
}
const good = (extra = {}) => jwt({ sub: 'alice', exp: now() + 600, channels: ['news', 'team.42.*'], ...extra });

let redis, node;
before(async () => {
  redis = await startRedis();
  node = await startNode(redis, ['--auth', 'optional', '--jwt-secret-file', secretFile,
    '--jwt-public-key-file', pemFile, '--jwt-audience', 'shardcast', '--public-channels', 'lobby',
    '--user-namespaces', 'user.{sub}.*', '--allowed-origins', 'https://app.example',
    '--jwt-leeway', '0']);
});
after(async () => { try { await node.stop(); } finally { await redis.stop(); } });

const withToken = (t, q = '') => `${node.url}?token=${encodeURIComponent(t)}${q}`;
async function refused(url, status, opts) {
  const c = client(url, opts);
  await assert.rejects(c.opened, (e) => e.status === status, url.slice(0, 80));
}

test('a valid token reads its channels, its namespace and public ones', async () => {
  const c = client(withToken(good({ aud: 'shardcast' }), '&channels=news'));
  await c.opened;
  for (const ch of ['team.42.x', 'team.42.*', 'user.alice.inbox', 'lobby'])
    assert.equal((await c.request({ op: 'subscribe', channels: [ch], id: ch })).op, 'ok', ch);
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'news')).split('\n')[1] === '1');
  await redis.cli('PUBLISH', 'news', 'hi');
  assert.equal((await c.next((m) => m.op === 'message')).data, 'hi');
  c.terminate();
});

test('refused at the handshake with 401: forged, wrong alg, none, expired, not yet valid, audience', async () => {
  const aud = { aud: 'shardcast' };
  const forged = good(aud).replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A'));
  await refused(withToken(forged), 401);
  await refused(withToken(jwt({ sub: 'a', exp: now() + 60, ...aud }, { key: 'x'.repeat(32) })), 401);
  // HS256 signed with the RSA public key's PEM text: the classic confusion.
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  await refused(withToken(jwt({ sub: 'a', exp: now() + 60, ...aud }, { key: pem })), 401);
  const none = `${b64u('{"alg":"none","typ":"JWT"}')}.${b64u(JSON.stringify({ sub: 'a', exp: now() + 60, ...aud }))}.`;
  await refused(withToken(none), 401);
  await refused(withToken(good({ ...aud, exp: now() - 10 })), 401);
  await refused(withToken(good({ ...aud, nbf: now() + 600 })), 401);
  await refused(withToken(good({ aud: 'someone-else' })), 401);
  // RS256 with the configured public key is accepted.
  const rs = client(withToken(jwt({ sub: 'bob', exp: now() + 60, ...aud }, { alg: 'RS256', key: rsa.privateKey })));
  await rs.opened;
  rs.terminate();
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="unauthorized"}'] >= 7);
});

test('permissions: outside the list, a widening pattern, another user\'s namespace', async () => {
  const c = client(withToken(good({ aud: 'shardcast' })));
  await c.opened;
  for (const ch of ['secret', 'team.*', 'team.4?.x', '*', 'user.bob.inbox', 'user.*']) {
    const r = await c.request({ op: 'subscribe', channels: [ch], id: ch });
    assert.equal(r.code, 'forbidden', ch);
  }
  // All or nothing: one forbidden channel refuses the whole request.
  const r = await c.request({ op: 'subscribe', channels: ['news', 'secret'], id: 'mix' });
  assert.equal(r.code, 'forbidden');
  assert.equal(JSON.parse((await node.http('/healthz')).body).subscriptions, 0);
  c.terminate();
  await refused(withToken(good({ aud: 'shardcast' }), '&channels=secret'), 403);
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="forbidden"}'] >= 8);
});

test('optional mode: no token reads only public channels; a token can come as a message', async () => {
  const c = client(node.url);
  await c.opened;
  assert.equal((await c.request({ op: 'subscribe', channels: ['lobby'], id: 1 })).op, 'ok');
  assert.equal((await c.request({ op: 'subscribe', channels: ['news'], id: 2 })).code, 'forbidden');
  assert.equal((await c.request({ op: 'auth', token: 'garbage', id: 3 })).code, 'unauthorized');
  assert.equal((await c.request({ op: 'auth', token: good({ aud: 'shardcast' }), id: 4 })).op, 'ok');
  assert.equal((await c.request({ op: 'subscribe', channels: ['news'], id: 5 })).op, 'ok');
  c.terminate();
});

test('a browser Origin not on the list is refused with 403; a listed one and none are fine', async () => {
  await refused(node.url, 403, { origin: 'https://evil.example' });
  const ok = client(node.url, { origin: 'https://app.example' });
  await ok.opened;
  ok.terminate();
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="origin"}'] >= 1);
});

test('a token expiring on an open connection closes it with 4102', async () => {
  const c = client(withToken(good({ aud: 'shardcast', exp: now() + 2 })));
  await c.opened;
  const { code } = await c.closed;
  assert.equal(code, 4102);
});

test('the log never shows a token or the secret', async () => {
  await sleep(100);
  const log = node.stderr();
  assert.ok(!log.includes(SECRET), 'secret in log');
  assert.ok(!log.includes(good().split('.')[2]), 'signature in log');
  assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(log), 'a JWT-looking string in log');
  const metrics = (await node.http('/metrics')).body;
  assert.ok(!metrics.includes('eyJ') && !metrics.includes(SECRET));
});

test('required mode: no token, no subscription; authenticate in time or get 4001', async () => {
  const n2 = await startNode(redis, ['--auth', 'required', '--jwt-secret-file', secretFile,
    '--handshake-timeout', '2', '--public-channels', 'lobby']);
  try {
    await refused(`${n2.url}?channels=lobby`, 401);
    const a = client(n2.url);
    await a.opened;
    assert.equal((await a.request({ op: 'subscribe', channels: ['lobby'], id: 1 })).code, 'unauthorized');
    assert.equal((await a.request({ op: 'auth', token: good(), id: 2 })).op, 'ok');
    assert.equal((await a.request({ op: 'subscribe', channels: ['news'], id: 3 })).op, 'ok');
    const b = client(n2.url);
    await b.opened;
    assert.equal((await b.closed).code, 4001);
    a.terminate();
  } finally {
    await n2.stop();
  }
});

// docs/security.md: a refused auth in required mode is answered, then the
// connection closes with 4001 (the reply must not be dropped by the close).
test('required mode: a refused auth is answered unauthorized, then closed with 4001', async () => {
  const n3 = await startNode(redis, ['--auth', 'required', '--jwt-secret-file', secretFile]);
  try {
    const c = client(n3.url);
    await c.opened;
    const r = await c.request({ op: 'auth', token: jwt({ sub: 'eve', exp: now() + 60 }, { key: 'x'.repeat(32) }), id: 7 });
    assert.deepEqual([r.op, r.code, r.id, r.message], ['error', 'unauthorized', 7, 'token refused: bad_signature']);
    assert.equal((await c.closed).code, 4001);
    // An authenticated connection that sends a bad token is only told so.
    const d = client(n3.url);
    await d.opened;
    assert.equal((await d.request({ op: 'auth', token: good(), id: 1 })).op, 'ok');
    assert.equal((await d.request({ op: 'auth', token: 'not.a.token', id: 2 })).code, 'unauthorized');
    assert.equal((await d.request({ op: 'ping', id: 3 })).op, 'ok');
    d.terminate();
  } finally {
    await n3.stop();
  }
});

// A token is verified once per connection: at the upgrade, whose claims
// the connection then takes over (RS256 and ES256 cost the node's one
// loop real time in a reconnect storm); and once per auth message.
test('each token is verified once: at the upgrade, or per auth message', async () => {
  const count = async () => (await node.metrics()).shardcast_token_verifications_total;
  const before = await count();
  assert.equal(typeof before, 'number');
  const withTok = [
    client(withToken(good({ aud: 'shardcast' }), '&channels=news')),
    client(withToken(good({ aud: 'shardcast' }))),
    client(withToken(jwt({ sub: 'bob', exp: now() + 60, aud: 'shardcast' }, { alg: 'RS256', key: rsa.privateKey }))),
  ];
  const anon = client(node.url);
  await Promise.all([...withTok, anon].map((c) => c.opened));
  assert.equal(await count(), before + 3, 'one per upgrade with a token');
  await refused(withToken(good({ aud: 'elsewhere' })), 401);
  assert.equal(await count(), before + 4, 'a refused token was verified once too');
  assert.equal((await anon.request({ op: 'auth', token: good({ aud: 'shardcast' }), id: 1 })).op, 'ok');
  assert.equal(await count(), before + 5, 'and one per auth message');
  // Each connection holds its own token's claims: alice's grants, bob's
  // namespace and not alice's.
  assert.equal((await withTok[1].request({ op: 'subscribe', channels: ['news'], id: 'n' })).op, 'ok');
  assert.equal((await withTok[2].request({ op: 'subscribe', channels: ['user.bob.x'], id: 'u' })).op, 'ok');
  for (const ch of ['user.alice.x', 'news'])
    assert.equal((await withTok[2].request({ op: 'subscribe', channels: [ch], id: ch })).code, 'forbidden', ch);
  for (const c of [...withTok, anon]) c.terminate();
});

test('bad auth configuration stops the node with status 2, naming the option', async () => {
  const { spawnSync } = await import('node:child_process');
  const run = (args) => spawnSync(process.env.SHARDCAST_BIN, args, { encoding: 'utf8', timeout: 5000 });
  const short = join(dir, 'short');
  writeFileSync(short, 'too-short');
  for (const [args, name] of [
    [['--auth', 'required'], 'auth'],
    [['--auth', 'maybe'], 'auth'],
    [['--auth', 'required', '--jwt-secret-file', short], 'jwt-secret-file'],
    [['--auth', 'required', '--jwt-secret-file', join(dir, 'missing')], 'jwt-secret-file'],
    [['--tls-cert', pemFile], 'tls'],
  ]) {
    const r = run(['--port', '1', ...args]);
    assert.equal(r.status, 2, `${args}: ${r.stderr}`);
    assert.ok(r.stderr.includes(name), r.stderr);
  }
});

test('the client library refreshes an expiring token through its callback', async () => {
  const { connect } = await import('../../client/web/shardcast.js');
  const { default: WebSocket } = await import('ws');
  let minted = 0;
  const c = connect(node.url, {
    WebSocket, initialDelay: 200,
    token: async () => { minted++; return good({ aud: 'shardcast', exp: now() + 2 }); },
  });
  const got = [];
  c.subscribe('news', (d) => got.push(d));
  const closes = [];
  c.on('close', (e) => closes.push(e.code));
  try {
    await waitFor(() => closes.includes(4102), { timeout: 8000, what: 'expiry close' });
    await waitFor(() => c.state === 'open' && minted >= 2, { what: 'reconnected with a new token' });
    await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'news')).split('\n')[1] === '1');
    await redis.cli('PUBLISH', 'news', 'after-refresh');
    await waitFor(() => got.includes('after-refresh'), { what: 'delivery after refresh' });
  } finally {
    c.close();
  }
});
