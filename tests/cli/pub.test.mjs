// shardcast-cli pub against a private redis-server: the receiver count it
// prints, byte-exact payloads (argv and stdin), AUTH (password in the URL or
// in --redis-password-file), and failures.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Resp, freePort, runCli, startRedis } from './lib.mjs';
import { MockNode } from './mock-node.mjs';

let redis;
let secured;
let secrets;
before(async () => {
  redis = await startRedis();
  secured = await startRedis(['--requirepass', 's3cret:x']);
  secrets = mkdtempSync(path.join(tmpdir(), 'sc-cli-secrets-'));
});
after(async () => {
  await redis?.stop();
  await secured?.stop();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

// A password file holding content, mode 0600 like the docs ask.
function secretFile(name, content) {
  const file = path.join(secrets, name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

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

test('--redis-password-file: AUTH with the password from the file', async () => {
  // A subscriber that authenticated itself: the count proves PUBLISH ran.
  const s = await Resp.connect(secured.port);
  assert.equal(await s.call('AUTH', 's3cret:x'), 'OK');
  assert.equal((await s.call('SUBSCRIBE', 'filed'))[0].toString(), 'subscribe');
  const lf = secretFile('lf', 's3cret:x\n');
  const r = await runCli(['pub', '--redis', `redis://127.0.0.1:${secured.port}`, '--redis-password-file', lf, 'filed', 'one']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), '1\n');
  assert.equal((await s.next())[2].toString(), 'one');
  // CRLF dropped as well; a user alone in the URL takes the file's password.
  const crlf = secretFile('crlf', 's3cret:x\r\n');
  const r2 = await runCli(['pub', '--redis-password-file', crlf, '-r', `redis://default@127.0.0.1:${secured.port}/0`, 'filed', 'two']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(r2.stdout.toString(), '1\n');
  assert.equal((await s.next())[2].toString(), 'two');
  s.close();
});

test('--redis-password-file: a wrong password exits 1 with Redis\'s reason, not the password', async () => {
  const file = secretFile('wrong', 'n0t-the-pa55word\n');
  const r = await runCli(['pub', '--redis', `redis://127.0.0.1:${secured.port}`, '--redis-password-file', file, 'c', 'm']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Redis AUTH failed: .*(WRONGPASS|invalid)/i);
  assert.doesNotMatch(r.stderr, /n0t-the-pa55word/);
  assert.equal(r.stdout.length, 0);
});

// Refused before connecting (to a Redis without a password, where sending
// no AUTH would go unnoticed), exit 2, the password never shown.  Each entry
// gives the arguments after 'pub'.
const passwordUsageErrors = [
  ['a user alone in the URL, no file', () => ['--redis', `redis://alice@127.0.0.1:${redis.port}`, 'c', 'm'],
    /bad value 'redis:\/\/\*\*\*@127\.0\.0\.1:\d+' for --redis: a user needs a password \(redis:\/\/USER:PASSWORD@HOST, or --redis-password-file\)/],
  ['a password in the URL and a file',
    () => ['--redis', `redis://:hunter2@127.0.0.1:${redis.port}`, '--redis-password-file', secretFile('both', 'hunter2\n'), 'c', 'm'],
    /--redis-password-file: the --redis URL holds a password too; give it in one place/],
  ['an empty file', () => ['--redis', redis.url, '--redis-password-file', secretFile('empty', ''), 'c', 'm'],
    /--redis-password-file: .*\/empty: empty\n/],
  ['a file of one line ending', () => ['--redis', redis.url, '--redis-password-file', secretFile('newline', '\r\n'), 'c', 'm'],
    /--redis-password-file: .*\/newline: empty\n/],
  ['a missing file', () => ['--redis', redis.url, '--redis-password-file', path.join(secrets, 'absent'), 'c', 'm'],
    /--redis-password-file: .*\/absent: No such file or directory/],
  ['a file holding a NUL', () => ['--redis', redis.url, '--redis-password-file', secretFile('nul', 'hunter2\0x'), 'c', 'm'],
    /--redis-password-file: .*\/nul: holds a NUL byte/],
  ['the option without its FILE', () => ['--redis', redis.url, 'c', 'm', '--redis-password-file'],
    /option '--redis-password-file' needs a value/],
  ['a bad URL holding a password', () => ['--redis', 'redis://:hunter2@127.0.0.1:99999', 'c', 'm'],
    /bad value 'redis:\/\/\*\*\*@127\.0\.0\.1:99999' for --redis: want redis:\/\//],
];

for (const [what, args, re] of passwordUsageErrors) {
  test(`--redis-password-file: usage error exits 2: ${what}`, async () => {
    const r = await runCli(['pub', ...args()]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /hunter2/);
    assert.equal(r.stdout.length, 0);
  });
}
