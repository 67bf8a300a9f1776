// A second, independent and strict client: Debian's python3-websockets
// (10.4) through tests/e2e/py/shardcast_client.py, run with /usr/bin/python3
// (the Debian interpreter that has the package, not whatever python3 is on
// PATH). Deliveries, pings, the size limit, and refusals as such a client
// sees them: it reads only HTTP/1.1 answers, so a refusal starting with
// "HTTP/1.0" reaches it as a broken response, not as its status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, startNode, client } from './harness.mjs';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'py', 'shardcast_client.py');

/** Run one scenario of the Python client; its JSON report. */
function py(args) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-I', SCRIPT, JSON.stringify(args)], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python client failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

let redis, node, authNode;
before(async () => {
  assert.ok(existsSync(PYTHON), 'needs Debian python3 with python3-websockets (scripts/deps)');
  redis = await startRedis();
  node = await startNode(redis, ['--max-connections', '2']);
  const dir = mkdtempSync(join(tmpdir(), 'sc-py-'));
  writeFileSync(join(dir, 'secret'), 's'.repeat(32));
  authNode = await startNode(redis, ['--auth', 'required', '--jwt-secret-file', join(dir, 'secret')]);
});
after(async () => {
  for (const n of [node, authNode]) await n?.stop();
  await redis?.stop();
});

test('python websockets: subscribes by URL and by request, receives UTF-8 and binary, pings', async () => {
  const text = Buffer.from('héllo ✓ "quoted"\n', 'utf8');
  const binary = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x80]);
  const r = await py({ scenario: 'deliveries', url: node.url, redis_port: redis.port,
    url_channel: 'py.url', request_channel: 'py.req',
    publish: [['py.url', text.toString('base64')], ['py.req', binary.toString('base64')]] });
  assert.equal(r.websockets, '10.4');
  assert.deepEqual(r.subscribe_reply, { op: 'ok', id: 1 });
  assert.deepEqual(r.messages[0], { op: 'message', channel: 'py.url', data: text.toString('utf8') });
  assert.equal(r.messages[1].channel, 'py.req');
  assert.equal(r.messages[1].encoding, 'base64');
  assert.deepEqual(Buffer.from(r.messages[1].data, 'base64'), binary);
  assert.equal(r.pong, true);
  assert.deepEqual(r.ping_reply, { op: 'ok', id: 'p' });
  assert.equal(r.close_code, 1000);
});

test('python websockets: a message over --max-message-size is closed with 1009', async () => {
  const r = await py({ scenario: 'oversized', url: node.url, size: 16385 });
  assert.equal(r.close_code, 1009);
});

test('python websockets: subprotocol shardcast is agreed', async () => {
  const r = await py({ scenario: 'handshake', url: node.url, subprotocols: ['shardcast'] });
  assert.deepEqual([r.open, r.subprotocol], [true, 'shardcast']);
});

test('python websockets: refusals arrive as their HTTP status (400, 401, 426, 503)', async () => {
  const status = async (args) => py({ scenario: 'handshake', ...args });
  assert.deepEqual(await status({ url: `${node.url}?channels=bad%20name` }), { status: 400, version: null, websockets: '10.4' });
  assert.equal((await status({ url: `${node.url}?channels=%zz` })).status, 400);
  assert.equal((await status({ url: `${node.url}?key=%00` })).status, 400);
  assert.equal((await status({ url: `${authNode.url}?token=not.a.token` })).status, 401);
  // A second Sec-WebSocket-Version (the library always sends 13 too).
  const v = await status({ url: node.url, headers: { 'Sec-WebSocket-Version': '8' } });
  assert.deepEqual([v.status, v.version], [426, '13']);
  assert.equal((await status({ url: node.url, subprotocols: ['chat'] })).status, 400);

  const held = [client(node.url), client(node.url)];
  await Promise.all(held.map((c) => c.opened));
  try {
    assert.equal((await status({ url: node.url })).status, 503);
  } finally {
    for (const c of held) c.terminate();
  }
});
