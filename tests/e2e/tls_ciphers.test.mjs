// The TLS profile (docs/security.md): TLS 1.2 and 1.3 only, and for TLS 1.2
// only ECDHE suites with AEAD ciphers, checked with `openssl s_client`
// offering one suite or one version at a time. --tls-ciphers and
// --tls-min-version change the profile; a cipher list that selects nothing
// is a configuration error.
//
// The certificate is RSA so that the obsolete suites (static RSA and
// ECDHE-RSA with CBC) could be negotiated at all if the node offered them.
// s_client runs with OPENSSL_CONF=/dev/null so that a system-wide OpenSSL
// setting cannot make the client refuse on its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startRedis, startNode } from './harness.mjs';

const dir = mkdtempSync(join(tmpdir(), 'sc-tls-ciphers-'));
const cert = join(dir, 'node.pem');
const key = join(dir, 'node.key');
let redis;

before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
    '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1'], { stdio: 'pipe' });
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One handshake; resolves {ok, protocol, cipher, out}. */
function handshake(port, args) {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-brief', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({
        ok: code === 0 && out.includes('CONNECTION ESTABLISHED'),
        protocol: out.match(/^Protocol version: (\S+)/m)?.[1],
        cipher: out.match(/^Ciphersuite: (\S+)/m)?.[1],
        out,
      });
    });
  });
}

async function tlsNode(extra = []) {
  return startNode(redis, ['--tls-cert', cert, '--tls-key', key, ...extra], { waitHealthy: false });
}

async function served(port, args, protocol, cipher) {
  const r = await handshake(port, args);
  assert.ok(r.ok, `${args.join(' ')} refused:\n${r.out}`);
  assert.equal(r.protocol, protocol);
  if (cipher) assert.equal(r.cipher, cipher);
}

async function refused(port, args, alert) {
  const r = await handshake(port, args);
  assert.ok(!r.ok, `${args.join(' ')} served: ${r.protocol} ${r.cipher}`);
  assert.match(r.out, alert, r.out);
}

const HANDSHAKE_FAILURE = /alert handshake failure/;
const PROTOCOL_VERSION = /alert protocol version/;

test('default: AEAD suites for TLS 1.2, TLS 1.3, nothing older, no CBC', async () => {
  const node = await tlsNode();
  try {
    // CBC only (LUCKY13), static RSA key exchange: refused.
    await refused(node.port, ['-tls1_2', '-cipher', 'AES128-SHA'], HANDSHAKE_FAILURE);
    await refused(node.port, ['-tls1_2', '-cipher', 'AES256-GCM-SHA384'], HANDSHAKE_FAILURE);
    await refused(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA'], HANDSHAKE_FAILURE);
    await refused(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-SHA384'], HANDSHAKE_FAILURE);
    // AEAD with ECDHE: served.
    await served(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'], 'TLSv1.2',
      'ECDHE-RSA-AES128-GCM-SHA256');
    await served(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384'], 'TLSv1.2',
      'ECDHE-RSA-AES256-GCM-SHA384');
    await served(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305'], 'TLSv1.2',
      'ECDHE-RSA-CHACHA20-POLY1305');
    // A client offering everything gets an AEAD suite.
    const any = await handshake(node.port, ['-tls1_2', '-cipher', 'ALL:@SECLEVEL=0']);
    assert.ok(any.ok, any.out);
    assert.match(any.cipher, /^ECDHE-RSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/);
    await served(node.port, ['-tls1_3'], 'TLSv1.3');
    // TLS 1.1 and 1.0 are refused as versions, not for a lack of suites.
    await refused(node.port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], PROTOCOL_VERSION);
    await refused(node.port, ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'], PROTOCOL_VERSION);
  } finally {
    await node.stop();
  }
});

test('--tls-min-version 1.3 refuses TLS 1.2 clients', async () => {
  const node = await tlsNode(['--tls-min-version', '1.3']);
  try {
    await refused(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'], PROTOCOL_VERSION);
    await served(node.port, ['-tls1_3'], 'TLSv1.3');
  } finally {
    await node.stop();
  }
});

test('--tls-ciphers replaces the TLS 1.2 list', async () => {
  const node = await tlsNode(['--tls-ciphers', 'ECDHE-RSA-CHACHA20-POLY1305']);
  try {
    await refused(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'], HANDSHAKE_FAILURE);
    await served(node.port, ['-tls1_2', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305'], 'TLSv1.2',
      'ECDHE-RSA-CHACHA20-POLY1305');
    await served(node.port, ['-tls1_3'], 'TLSv1.3');
  } finally {
    await node.stop();
  }
});

test('a cipher list that selects no suite, or a TLS option without TLS, is a configuration error', () => {
  const run = (args) => spawnSync(BIN, ['--port', '1', '--redis', 'redis://127.0.0.1:1', ...args],
    { encoding: 'utf8', timeout: 5000 });
  let r = run(['--tls-cert', cert, '--tls-key', key, '--tls-ciphers', 'NO-SUCH-SUITE:ALSO-NOT']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^shardcast: tls-ciphers: NO-SUCH-SUITE:ALSO-NOT: selects no TLS 1\.2 cipher suite/m);
  r = run(['--tls-cert', cert, '--tls-key', key, '--tls-min-version', '1.1']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^shardcast: tls-min-version: expected 1\.2 or 1\.3, got '1\.1'$/m);
  r = run(['--tls-min-version', '1.3']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^shardcast: tls-min-version: applies to TLS only/m);
});
