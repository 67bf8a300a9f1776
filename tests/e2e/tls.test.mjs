// wss:// and https:// on the node's port, with a CA this test makes, and
// real clients (npm ws, Node https) that verify the certificate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startNode, client, waitFor } from './harness.mjs';

function makeCa(dir) {
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=shardcast test CA');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ossl('x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'node.pem', '-days', '2', '-extfile', 'ext.cnf');
  return { ca: readFileSync(join(dir, 'ca.pem')), cert: join(dir, 'node.pem'), key: join(dir, 'node.key') };
}

test('wss and https with a verified certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sc-tls-'));
  const { ca, cert, key } = makeCa(dir);
  const redis = await startRedis();
  const node = await startNode(redis, ['--tls-cert', cert, '--tls-key', key], { ca });
  after(async () => { try { await node.stop(); } finally { await redis.stop(); } });

  const h = await node.http('/healthz');
  assert.equal(h.status, 200);
  assert.equal(JSON.parse(h.body).status, 'ok');
  assert.match((await node.http('/')).body, /shardcast/);

  const c = client(`${node.url}?channels=secure`, { ca });
  await c.opened;
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'secure')).split('\n')[1] === '1');
  await redis.cli('PUBLISH', 'secure', 'over tls');
  assert.equal((await c.next((m) => m.op === 'message')).data, 'over tls');
  // Many frames in one go still arrive whole through TLS.
  for (let i = 0; i < 200; i++) await redis.cli('PUBLISH', 'secure', `n${i}`);
  await waitFor(() => c.messages.filter((m) => m.op === 'message').length >= 200, { what: '200 over tls' });
  c.terminate();

  // A client that does not trust the CA refuses the node.
  const untrusting = client(node.url);
  await assert.rejects(untrusting.opened);
});
