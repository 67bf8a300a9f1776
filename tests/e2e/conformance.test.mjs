// RFC 6455 conformance, server side, in raw bytes (tests/e2e/rawws.mjs):
// what a client observes for each case, by RFC section in order, then the
// same over TLS. The opening handshake is table driven, each case a
// request, the exact status line, the headers it must carry, and that the
// node answers it rather than dropping the connection: 4.1 (what a client
// may send: accepted), 4.2.1 (reading the client's handshake: refused, with
// which status, at once), 4.2.2 (the server's answer, also when policy
// refuses). After the handshake (5.1 to 10.4) a failure must be answered
// with the documented close code in a close frame (never a bare TCP drop)
// after which the node ends the TCP connection.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startNode, client, waitFor } from './harness.mjs';
import { OP, frame, closePayload, rawWs, rawRequest, exchange, acceptFor, selfSignedCert,
  upgradeHead as req } from './rawws.mjs';

const MAX = 1024; // --max-message-size of the nodes under test
const NODE_ARGS = ['--max-message-size', String(MAX), '--allowed-origins', 'https://good.example'];
const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // the sample nonce of RFC 6455 1.3
const S101 = 'HTTP/1.1 101 Switching Protocols';
const S400 = 'HTTP/1.1 400 Bad Request';
const S405 = 'HTTP/1.1 405 Method Not Allowed';
const S426 = 'HTTP/1.1 426 Upgrade Required';
// The main node (plain TCP), the others are started by the blocks that use them.
let redis, node, fullNode, holder, authNode, tlsNode, tlsCa, bystander, seq = 0;
const dir = mkdtempSync(join(tmpdir(), 'sc-conf-'));

before(async () => {
  redis = await startRedis();
  node = await startNode(redis, NODE_ARGS);
  bystander = client(`${node.url}?channels=calm`);
  await bystander.opened;
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'calm')).split('\n')[1] === '1');
});

after(async () => {
  bystander?.terminate();
  try {
    // Under ASan the stop is also the leak check.
    await node?.stop();
  } finally {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** What every answer that refuses an upgrade looks like. */
function assertRefusal(r, c) {
  assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8', `${c.name}: content-type`);
  assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(r.body), `${c.name}: content-length`);
  assert.ok(r.body.length > 1 && r.body.endsWith('\n'), `${c.name}: a plain-text reason`);
  assert.match(r.headers.get('connection') ?? '', /close/i, `${c.name}: Connection: close`);
  assert.ok(r.closed, `${c.name}: the node closes after the refusal`);
}

/**
 * Send a handshake case's request to its node (c.at(), the main node by
 * default) and check the answer: the exact status line, c.headers (a
 * string or a RegExp each), none of c.absent, the body against c.body,
 * with c.accept the Sec-WebSocket-Accept for the key sent, and for a
 * refusal what every refusal carries (unless c.noclose).
 */
async function check(c) {
  const n = c.at?.() ?? node;
  const r = await exchange(n.port, c.request, { tls: n === tlsNode ? tlsCa : null });
  assert.equal(r.line, c.status, `${c.name}: status line (body ${JSON.stringify(r.body)})`);
  if (c.accept) {
    const key = /^sec-websocket-key:[ \t]*(.*?)[ \t]*$/im.exec(c.request)[1];
    assert.equal(r.headers.get('sec-websocket-accept'), acceptFor(key), `${c.name}: Sec-WebSocket-Accept`);
  }
  for (const [h, want] of Object.entries(c.headers ?? {})) {
    const got = r.headers.get(h.toLowerCase());
    if (want instanceof RegExp) assert.match(got ?? '', want, `${c.name}: ${h}`);
    else assert.equal(got, want, `${c.name}: ${h}`);
  }
  if (c.absent) for (const h of c.absent) assert.equal(r.headers.get(h.toLowerCase()), undefined, `${c.name}: no ${h}`);
  if (c.body) assert.match(r.body, c.body, `${c.name}: body`);
  if (!c.status.startsWith(S101) && !c.noclose) assertRefusal(r, c);
}

/** One test per case of a handshake table. */
const testAll = (cases) => { for (const c of cases) test(c.name, () => check(c)); };

const accepted = (extra = {}) => ({ status: S101, accept: true,
  headers: { Upgrade: /^websocket$/i, Connection: /^upgrade$/i, ...extra } });

/** s in two writes, the first ending just after sep. */
const split = (s, sep) => [s.slice(0, s.indexOf(sep) + 1), s.slice(s.indexOf(sep) + 1)];

const ping = (id, pad = '') => Buffer.from(JSON.stringify(pad ? { op: 'ping', id, pad } : { op: 'ping', id }));

/** A JSON ping request of exactly n bytes. */
function pingOfSize(id, n) {
  const base = JSON.stringify({ op: 'ping', id, pad: '' }).length;
  return ping(id, 'x'.repeat(n - base));
}

/**
 * Open, send bytes, expect a close frame with code and then the end of the
 * stream. ends: false for the two closes lws makes itself (1003 from the
 * node's receive callback, 1007 for text, which lws checks as it reads the
 * payload): lws then waits up to 5 s for the client's close frame.
 */
async function failsWith(bytes, code, { tls = false, trickle = false, withHead = false, ends = true } = {}) {
  const port = tls ? tlsNode.port : node.port;
  const c = await rawWs(port, { tls: tls ? tlsCa : null, after: withHead ? bytes : null });
  try {
    if (!withHead) await (trickle ? c.trickle(bytes) : c.write(bytes));
    const got = await c.closeFrame();
    assert.equal(got.code, code, `close code (reason "${got.reason}")`);
    // Nothing before it was a reply: the bad frame was not processed.
    assert.ok(!c.events.some((e) => e.type === 'frame' && e.opcode === OP.TEXT), 'no reply before the close');
    if (ends) await c.serverEnd();
  } finally {
    c.destroy();
  }
}

async function expectOk(c, id) {
  assert.deepEqual(await c.nextJson(), { op: 'ok', id });
}

describe('4.1 opening handshake: what a client may send is accepted, with the right Sec-WebSocket-Accept', () => {
  testAll([
    { name: 'minimal valid upgrade', request: req(), ...accepted(), absent: ['Sec-WebSocket-Protocol'] },
    { name: 'header names and the Upgrade value in other cases', ...accepted(),
      request: req({ upgrade: 'WebSocket', connection: 'upgrade' }).replace('Sec-WebSocket-Key', 'sec-websocket-KEY') },
    { name: 'Connection as a list', request: req({ connection: 'keep-alive, Upgrade' }), ...accepted() },
    { name: 'extensions offered (none taken) up to 254 bytes', ...accepted(), absent: ['Sec-WebSocket-Extensions'],
      request: req({ extra: [`Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, ${'x'.repeat(200)}`] }) },
    { name: 'Host with a port', request: req({ host: '127.0.0.1:1' }), ...accepted() },
    { name: 'subprotocol shardcast is selected', request: req({ extra: ['Sec-WebSocket-Protocol: shardcast'] }),
      ...accepted({ 'Sec-WebSocket-Protocol': 'shardcast' }) },
    { name: 'shardcast among other subprotocols', request: req({ extra: ['Sec-WebSocket-Protocol: chat, shardcast'] }),
      ...accepted({ 'Sec-WebSocket-Protocol': 'shardcast' }) },
    { name: 'an allowed Origin', request: req({ extra: ['Origin: https://good.example'] }), ...accepted() },
    { name: 'percent-escaped channels (comma, dot, UTF-8 as ?channels= allows)',
      request: req({ target: '/ws?channels=a%2Eb%2Cc&key=k%41' }), ...accepted() },
  ]);

  test('?key= is found after a parameter longer than 256 bytes (a clustered node greets with it)', async () => {
    const shard = await startNode(redis, ['--shard-id', 'k1']);
    try {
      const c = client(`${shard.url}?pad=${'p'.repeat(300)}&key=user-42`);
      await c.opened;
      const hello = await c.next((m) => m.op === 'hello' || m.op === 'redirect');
      assert.deepEqual([hello.op, hello.key], ['hello', 'user-42']);
      c.terminate();
    } finally {
      await shard.stop();
    }
  });
});

// A request that is not a valid opening handshake is refused with the
// documented status and reason, never dropped.
const section421 = [
  { name: 'method other than GET', request: req({ method: 'POST', extra: ['Content-Length: 0'] }),
    status: S400, body: /GET/ },
  { name: 'method in lower case is still GET', request: req({ method: 'get', target: '/ws?channels=%zz' }),
    status: S400, body: /^bad_channel: / },
  { name: 'CONNECT (lws would keep the socket forever)', request: 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: x\r\n\r\n',
    status: S405, headers: { Allow: 'GET' }, body: /^GET only/ },
  { name: 'unknown method', request: req({ method: 'FOO' }), status: S405, headers: { Allow: 'GET' } },
  { name: 'not HTTP at all', request: '\x16\x03\x01\x00\x05hello\r\n\r\n', status: S400, body: /not an HTTP/ },
  { name: 'HEAD without upgrade', request: 'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n', plain: true,
    status: S405, headers: { Allow: 'GET' }, noclose: true },
  { name: 'HTTP/1.0', request: req({ version: 'HTTP/1.0' }), status: S400, body: /HTTP\/1\.1/ },
  { name: 'no Host', request: req({ host: null }), status: S400, body: /Host/ },
  { name: 'Connection without Upgrade', request: req({ connection: 'keep-alive' }), status: S400, body: /Connection/ },
  { name: 'no Connection', request: req({ connection: null }), status: S400, body: /Connection/ },
  { name: 'Connection list lws cannot read (a number first)', request: req({ connection: '1, Upgrade' }),
    status: S400, body: /Connection/ },
  { name: 'Connection list with an empty element', request: req({ connection: ', Upgrade' }), status: S400 },
  { name: 'no Sec-WebSocket-Key', request: req({ key: null }), status: S400, body: /Sec-WebSocket-Key/ },
  { name: 'empty Sec-WebSocket-Key', request: req({ key: '' }), status: S400, body: /Sec-WebSocket-Key/ },
  { name: 'Sec-WebSocket-Key not base64', request: req({ key: 'not a key!' }), status: S400, body: /Sec-WebSocket-Key/ },
  { name: 'Sec-WebSocket-Key of 15 bytes', request: req({ key: randomBytes(15).toString('base64') }), status: S400 },
  { name: 'Sec-WebSocket-Key of 17 bytes', request: req({ key: randomBytes(17).toString('base64') }), status: S400 },
  { name: 'Sec-WebSocket-Key with a bad character', request: req({ key: `${KEY.slice(0, 21)}*==` }), status: S400 },
  { name: 'two Sec-WebSocket-Key headers', request: req({ key: KEY, extra: [`Sec-WebSocket-Key: ${KEY}`] }), status: S400 },
  { name: 'Sec-WebSocket-Version 8', request: req({ wsVersion: '8' }), status: S426,
    headers: { 'Sec-WebSocket-Version': '13' }, body: /13/ },
  { name: 'no Sec-WebSocket-Version', request: req({ wsVersion: null }), status: S426,
    headers: { 'Sec-WebSocket-Version': '13', Upgrade: 'websocket' } },
  { name: 'two Sec-WebSocket-Version headers', request: req({ extra: ['Sec-WebSocket-Version: 8'] }),
    status: S426, headers: { 'Sec-WebSocket-Version': '13' } },
  { name: 'Upgrade other than websocket', request: req({ upgrade: 'foo' }), status: S400, body: /WebSocket upgrades/ },
  { name: 'Upgrade: h2c', request: req({ upgrade: 'h2c' }), status: S400, body: /WebSocket upgrades/ },
  { name: 'two Upgrade headers', request: req({ extra: ['Upgrade: websocket'] }), status: S400, body: /WebSocket upgrades/ },
  { name: 'no Upgrade header: GET /ws is not a handshake', request: req({ upgrade: null }), plain: true,
    status: S426, headers: { 'Sec-WebSocket-Version': '13', Upgrade: 'websocket' } },
  { name: 'plain GET /ws', request: 'GET /ws HTTP/1.1\r\nHost: x\r\n\r\n', status: S426, plain: true,
    headers: { 'Sec-WebSocket-Version': '13' }, body: /WebSocket/ },
  { name: 'Sec-WebSocket-Extensions of 255 bytes', request: req({ extra: [`Sec-WebSocket-Extensions: ${'x'.repeat(255)}`] }),
    status: S400, body: /Extensions/ },
  { name: 'subprotocol the node does not speak', request: req({ extra: ['Sec-WebSocket-Protocol: chat'] }),
    status: S400, body: /shardcast/ },
  { name: 'subprotocol naming the HTTP protocol', request: req({ extra: ['Sec-WebSocket-Protocol: http, shardcast'] }),
    status: S400, body: /shardcast/ },
  { name: 'malformed subprotocol list', request: req({ extra: ['Sec-WebSocket-Protocol: ,shardcast'] }), status: S400 },
  { name: 'subprotocol list with a number first', request: req({ extra: ['Sec-WebSocket-Protocol: 2, shardcast'] }),
    status: S400 },
  { name: 'unknown resource', request: req({ target: '/nope' }), status: 'HTTP/1.1 404 Not Found', body: /\/ws/ },
  // The request target: escapes as lws decodes them, answered by the node.
  { name: 'bad escape in ?channels=', request: req({ target: '/ws?channels=%zz' }), status: S400, body: /^bad_channel: .*percent-escape/ },
  { name: 'escape cut short in ?channels=', request: req({ target: '/ws?channels=ab%4' }), status: S400, body: /^bad_channel: / },
  { name: '%00 in ?channels=', request: req({ target: '/ws?channels=a%00b' }), status: S400, body: /^bad_channel: %00/ },
  { name: 'bad escape in ?key=', request: req({ target: '/ws?key=%GG' }), status: S400, body: /^bad_key: .*percent-escape/ },
  { name: '%00 in ?key=', request: req({ target: '/ws?channels=a&key=%00' }), status: S400, body: /^bad_key: %00/ },
  { name: 'bad escape in an escaped name (%6Bey is key)', request: req({ target: '/ws?%6Bey=%x1' }), status: S400, body: /^bad_key: / },
  { name: 'bad escape elsewhere in the query', request: req({ target: '/ws?token=%%' }), status: S400, body: /^bad_request: .*percent-escape/ },
  { name: 'bad escape in the path', request: req({ target: '/w%s' }), status: S400, body: /^bad_request: / },
  { name: 'bad escape sent across two TCP segments', request: split(req({ target: '/ws?channels=a%qq' }), '%'),
    status: S400, body: /^bad_channel: / },
  { name: '?key= longer than any buffer', request: req({ target: `/ws?key=${'k'.repeat(300)}` }), status: S400, body: /^bad_key: / },
  { name: '?key= after a long parameter, too long', request: req({ target: `/ws?pad=${'p'.repeat(300)}&key=${'k'.repeat(200)}` }),
    status: S400, body: /^bad_key: / },
  { name: 'bad channel name', request: req({ target: '/ws?channels=bad%20name' }), status: S400, body: /^bad_channel: / },
];

describe('4.2.1 opening handshake: a bad client request gets 400, 404, 405, 426 or 431 with a reason, at once, never a drop', () => {
  let rejectedBefore;
  before(async () => {
    rejectedBefore = (await node.metrics())['shardcast_errors_total{kind="rejected_request"}'] ?? 0;
  });

  testAll(section421);

  test('refused upgrades are counted as rejected_request (a plain GET /ws is not an upgrade)', async () => {
    const m = await node.metrics();
    assert.equal(m['shardcast_errors_total{kind="rejected_request"}'] - rejectedBefore,
      section421.filter((c) => !c.plain).length, 'refusals counted as rejected_request');
  });

  test('a keep-alive connection: the first request is served, a bad escape in the next refused', async () => {
    const r = await exchange(node.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', req({ target: '/ws?key=%zz' })]);
    assert.equal(r.line, 'HTTP/1.1 200 OK');
    assert.match(r.raw, /\r\n\r\n\{.*\}\nHTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\nbad_key: /);
    assert.ok(r.closed);
  });

  test('a header line without a colon gets 400 at once, not a close at the handshake timeout', async () => {
    const t0 = Date.now();
    // No blank line: the request is not even complete.
    const c = await rawRequest(node.port, 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nno colon here\r\n');
    try {
      assert.equal((await c.httpAnswer(2000)).status, 400);
      assert.ok(Date.now() - t0 < 2000);
      await c.serverEnd();
    } finally { c.destroy(); }
  });

  test('the same line in a complete upgrade request is 400, not 101', async () => {
    const c = await rawRequest(node.port, req({ extra: ['Broken header line'] }));
    try { assert.equal((await c.httpAnswer(2000)).status, 400); } finally { c.destroy(); }
  });

  test('a header line without a colon in a plain HTTP request is 400', async () => {
    const c = await rawRequest(node.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX\r\n\r\n');
    try { assert.equal((await c.httpAnswer(2000)).status, 400); } finally { c.destroy(); }
  });

  test('on a kept-alive connection the second request is checked too', async () => {
    const c = await rawRequest(node.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    try {
      assert.equal((await c.httpAnswer(2000)).status, 200);
      await new Promise((r) => setTimeout(r, 100));
      await c.write(Buffer.from('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon\r\n\r\n'));
      await c.waitEvent((e) => e.type === 'body' && /HTTP\/1\.1 400/.test(e.data), 2000, 'a 400 for the second request');
    } finally { c.destroy(); }
  });

  test('a request head over 4096 bytes gets 431', async () => {
    const c = await rawRequest(node.port, req({ extra: [`X-Pad: ${'a'.repeat(5000)}`] }));
    try { assert.equal((await c.httpAnswer(2000)).status, 431); } finally { c.destroy(); }
  });

  test('a valid upgrade with a large header is accepted (101)', async () => {
    const c = await rawRequest(node.port, req({ extra: [`X-Pad: ${'a'.repeat(2500)}`] }));
    try { assert.equal((await c.httpAnswer(2000)).status, 101); } finally { c.destroy(); }
  });
});

describe('4.2.2 opening handshake: policy refusals are HTTP/1.1 with a reason phrase', () => {
  before(async () => {
    fullNode = await startNode(redis, ['--max-connections', '1']);
    holder = client(fullNode.url);
    await holder.opened;
    writeFileSync(join(dir, 'secret'), 'x'.repeat(32));
    authNode = await startNode(redis, ['--auth', 'optional', '--jwt-secret-file', join(dir, 'secret')]);
  });
  after(async () => {
    holder?.terminate();
    for (const n of [fullNode, authNode]) await n?.stop();
  });

  const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const forged = `${b64u({ alg: 'HS256', typ: 'JWT' })}.${b64u({ sub: 'a', exp: 2e9 })}`;
  const sig = createHmac('sha256', 'wrong secret').update(forged).digest('base64url');
  testAll([
    { name: 'Origin not allowed: 403', request: req({ extra: ['Origin: https://evil.example'] }),
      status: 'HTTP/1.1 403 Forbidden', body: /origin/ },
    { name: 'node full: 503', at: () => fullNode, request: req(), status: 'HTTP/1.1 503 Service Unavailable', body: /limit/ },
    { name: 'bad token: 401', at: () => authNode, request: req({ target: `/ws?token=${forged}.${sig}` }),
      status: 'HTTP/1.1 401 Unauthorized', body: /^unauthorized: / },
  ]);
});

describe('5.1 masking', () => {
  test('an unmasked client frame fails the connection with 1002', () =>
    failsWith(frame(OP.TEXT, ping(1), { mask: false }), 1002));

  test('an unmasked control frame fails it too', () =>
    failsWith(frame(OP.PING, 'hi', { mask: false }), 1002));

  test('an unmasked frame sent together with the handshake: 1002', () =>
    failsWith(frame(OP.TEXT, ping(2), { mask: false }), 1002, { withHead: true }));

  test('a masked frame sent together with the handshake is answered', async () => {
    const c = await rawWs(node.port, { after: frame(OP.TEXT, ping(3)) });
    try { await expectOk(c, 3); } finally { c.destroy(); }
  });
});

describe('5.2 base framing', () => {
  for (const rsv of [4, 2, 1]) {
    test(`RSV bits ${rsv.toString(2).padStart(3, '0')} without an extension: 1002`, () =>
      failsWith(frame(OP.TEXT, ping(4), { rsv }), 1002));
  }
  for (const op of [3, 7, 0xb, 0xf]) {
    test(`reserved opcode 0x${op.toString(16)}: 1002`, () => failsWith(frame(op, 'x'), 1002));
  }

  test('a 64-bit length with the top bit set: 1002 with a close frame', () =>
    failsWith(frame(OP.TEXT, '', { len64: [0x80, 0, 0, 0, 0, 0, 0, 5] }), 1002));

  test('the same, sent one byte at a time', () =>
    failsWith(frame(OP.TEXT, '', { len64: [0x80, 0, 0, 0, 0, 0, 0, 5] }).subarray(0, 10), 1002, { trickle: true }));

  test('16-bit and (non-minimal) 64-bit length forms are accepted', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.TEXT, ping(5, 'y'.repeat(200))));
      await expectOk(c, 5);
      await c.write(frame(OP.TEXT, ping(6), { lenForm: '64' }));
      await expectOk(c, 6);
      await c.write(frame(OP.TEXT, ping(7), { lenForm: '16' }));
      await expectOk(c, 7);
    } finally { c.destroy(); }
  });

  test('a frame split at every byte boundary', async () => {
    const c = await rawWs(node.port);
    try {
      await c.trickle(frame(OP.TEXT, ping(8)));
      await expectOk(c, 8);
    } finally { c.destroy(); }
  });

  test('several frames in one write are answered in order', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(Buffer.concat([9, 10, 11].map((i) => frame(OP.TEXT, ping(i)))));
      for (const i of [9, 10, 11]) await expectOk(c, i);
    } finally { c.destroy(); }
  });
});

describe('5.4 fragmentation', () => {
  test('a fragmented message is reassembled', async () => {
    const c = await rawWs(node.port);
    const m = ping(12, 'z'.repeat(100));
    try {
      await c.write(Buffer.concat([
        frame(OP.TEXT, m.subarray(0, 10), { fin: false }),
        frame(OP.CONT, m.subarray(10, 60), { fin: false }),
        frame(OP.CONT, m.subarray(60)),
      ]));
      await expectOk(c, 12);
    } finally { c.destroy(); }
  });

  test('control frames between fragments are answered, the message still arrives', async () => {
    const c = await rawWs(node.port);
    const m = ping(13);
    try {
      await c.write(frame(OP.TEXT, m.subarray(0, 5), { fin: false }));
      await c.write(frame(OP.PING, 'between'));
      await c.write(frame(OP.PONG, 'unsolicited'));
      await c.write(frame(OP.CONT, m.subarray(5)));
      assert.equal((await c.nextFrame(OP.PONG)).payload.toString(), 'between');
      await expectOk(c, 13);
    } finally { c.destroy(); }
  });

  test('an empty first fragment (was undefined behaviour: aborted the sanitized node)', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.TEXT, '', { fin: false }));
      await c.write(frame(OP.CONT, ping(14)));
      await expectOk(c, 14);
    } finally { c.destroy(); }
  });

  test('a message of empty fragments only is an empty message: bad_json', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(Buffer.concat([frame(OP.TEXT, '', { fin: false }), frame(OP.CONT, '', { fin: false }),
        frame(OP.CONT, '')]));
      const r = await c.nextJson();
      assert.equal(r.op, 'error');
      assert.equal(r.code, 'bad_json');
      await c.write(frame(OP.TEXT, ping(15)));
      await expectOk(c, 15);
    } finally { c.destroy(); }
  });

  test('a continuation frame with no message to continue: 1002', () =>
    failsWith(frame(OP.CONT, ping(16)), 1002));

  test('a new text frame inside a fragmented message: 1002', () =>
    failsWith(Buffer.concat([frame(OP.TEXT, '{"op":', { fin: false }), frame(OP.TEXT, ping(17))]), 1002));
});

describe('5.5 control frames', () => {
  test('a ping with a payload gets a pong echoing it', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.PING, 'hello'));
      assert.equal((await c.nextFrame(OP.PONG)).payload.toString(), 'hello');
      const big = Buffer.alloc(125, 0x61);
      await c.write(frame(OP.PING, big));
      assert.deepEqual((await c.nextFrame(OP.PONG)).payload, big);
    } finally { c.destroy(); }
  });

  test('a control frame of 126 bytes: 1002 with a close frame', () =>
    failsWith(frame(OP.PING, Buffer.alloc(126, 0x61)), 1002));

  test('a control frame with a 64-bit length form: 1002', () =>
    failsWith(frame(OP.PONG, 'x', { lenForm: '64' }), 1002));

  test('a fragmented control frame: 1002', () =>
    failsWith(frame(OP.PING, 'x', { fin: false }), 1002));
});

describe('5.5.1 close', () => {
  test('a normal close (1000) is echoed, then the node ends the connection', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.CLOSE, closePayload(1000, 'bye')));
      const got = await c.closeFrame();
      assert.equal(got.code, 1000);
      await c.serverEnd();
    } finally { c.destroy(); }
  });

  test('a close frame without a payload is answered with one', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.CLOSE));
      assert.equal((await c.closeFrame()).code, null);
    } finally { c.destroy(); }
  });

  test('a close frame with a 1-byte payload: 1002', () =>
    failsWith(frame(OP.CLOSE, Buffer.from([0x03])), 1002));

  test('frames after the client\'s close frame are not processed', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(Buffer.concat([frame(OP.CLOSE, closePayload(1000)), frame(OP.TEXT, ping(18))]));
      assert.equal((await c.closeFrame()).code, 1000);
      await c.serverEnd();
      assert.ok(!c.events.some((e) => e.type === 'frame' && e.opcode === OP.TEXT));
    } finally { c.destroy(); }
  });
});

describe('5.6 data frames', () => {
  test('a binary frame: 1003 (this protocol is text only)', () =>
    failsWith(frame(OP.BINARY, Buffer.from([1, 2, 3])), 1003, { ends: false }));
});

describe('7.4 status codes', () => {
  // 1004-1006 and 1015 are never sent, 1016-2999 reserved, 5000+ undefined.
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    test(`a close with code ${code}: 1002, the code is never echoed`, () =>
      failsWith(frame(OP.CLOSE, closePayload(code)), 1002));
  }
  // 1012-1014 are registered with IANA since RFC 6455.
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    test(`a close with code ${code} is echoed`, async () => {
      const c = await rawWs(node.port);
      try {
        await c.write(frame(OP.CLOSE, closePayload(code, 'r')));
        const got = await c.closeFrame();
        assert.equal(got.code, code);
        assert.equal(got.reason.toString(), 'r');
      } finally { c.destroy(); }
    });
  }

  test('an invalid code sent one byte at a time: 1002', () =>
    failsWith(frame(OP.CLOSE, closePayload(5000)), 1002, { trickle: true }));
});

describe('8.1 UTF-8', () => {
  test('a text frame that is not UTF-8: 1007', () =>
    failsWith(frame(OP.TEXT, Buffer.from([0x7b, 0xff, 0x7d])), 1007, { ends: false }));

  test('a character split across fragments is fine', async () => {
    const c = await rawWs(node.port);
    const m = Buffer.from(JSON.stringify({ op: 'ping', id: 'x€y' }));
    const cut = m.indexOf(0xe2) + 1;
    try {
      await c.write(frame(OP.TEXT, m.subarray(0, cut), { fin: false }));
      await c.write(frame(OP.CONT, m.subarray(cut)));
      await expectOk(c, 'x€y');
    } finally { c.destroy(); }
  });

  for (const [what, bytes] of [['0xff', [0xff]], ['a truncated character', [0x61, 0xe2, 0x82]],
    ['a surrogate', [0xed, 0xa0, 0x80]], ['an overlong form', [0xc0, 0xaf]]]) {
    test(`a close reason with ${what}: 1007`, () =>
      failsWith(frame(OP.CLOSE, closePayload(1000, Buffer.from(bytes))), 1007));
  }

  test('a close reason in valid UTF-8 is echoed', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.CLOSE, closePayload(1001, 'grüße €')));
      const got = await c.closeFrame();
      assert.equal(got.code, 1001);
      assert.equal(got.reason.toString(), 'grüße €');
    } finally { c.destroy(); }
  });
});

describe('10.4 size limits (--max-message-size)', () => {
  test('a frame header announcing more: 1009 at once, before any payload', async () => {
    const t0 = Date.now();
    await failsWith(frame(OP.TEXT, '', { len: MAX + 1 }).subarray(0, 8), 1009);
    assert.ok(Date.now() - t0 < 2000);
  });

  test('a 64-bit length of 2^40: 1009 at once', () =>
    failsWith(frame(OP.TEXT, '', { len64: [0, 0, 1, 0, 0, 0, 0, 0] }), 1009));

  test('a fragment whose header takes the message past the limit: 1009 at once', () =>
    failsWith(Buffer.concat([frame(OP.TEXT, 'a'.repeat(600), { fin: false }),
      frame(OP.CONT, '', { len: MAX - 599 }).subarray(0, 4)]), 1009));

  test('a message of exactly the limit is served, whole or in fragments', async () => {
    const c = await rawWs(node.port);
    const m = pingOfSize(19, MAX);
    try {
      await c.write(frame(OP.TEXT, m));
      await expectOk(c, 19);
      const n = pingOfSize(20, MAX);
      await c.write(Buffer.concat([frame(OP.TEXT, n.subarray(0, 500), { fin: false }), frame(OP.CONT, n.subarray(500))]));
      await expectOk(c, 20);
    } finally { c.destroy(); }
  });
});

describe('the same over TLS (wss), and no HTTP/2 (whose WebSocket skips every check)', () => {
  before(async () => {
    const { cert, key, pem } = selfSignedCert(dir);
    tlsCa = pem;
    tlsNode = await startNode(redis, [...NODE_ARGS, '--tls-cert', cert, '--tls-key', key], { ca: pem });
  });
  after(async () => { await tlsNode?.stop(); });

  testAll([
    { name: 'tls: valid', at: () => tlsNode, request: req(), ...accepted() },
    { name: 'tls: bad escape', at: () => tlsNode, request: req({ target: '/ws?channels=%zz' }),
      status: S400, body: /^bad_channel: / },
    { name: 'tls: version', at: () => tlsNode, request: req({ wsVersion: '7' }), status: S426 },
  ]);

  test('fragments with a ping between them', async () => {
    const c = await rawWs(tlsNode.port, { tls: tlsCa });
    const m = ping(21);
    try {
      await c.write(frame(OP.TEXT, m.subarray(0, 3), { fin: false }));
      await c.write(frame(OP.PING, 'tls'));
      await c.trickle(frame(OP.CONT, m.subarray(3)));
      assert.equal((await c.nextFrame(OP.PONG)).payload.toString(), 'tls');
      await expectOk(c, 21);
    } finally { c.destroy(); }
  });

  test('an unmasked frame: 1002', () =>
    failsWith(frame(OP.TEXT, ping(22), { mask: false }), 1002, { tls: true }));

  test('a close with code 5000: 1002', () =>
    failsWith(frame(OP.CLOSE, closePayload(5000)), 1002, { tls: true }));

  test('a header line without a colon: 400', async () => {
    const c = await rawRequest(tlsNode.port, 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nnocolon\r\n', { tls: tlsCa });
    try { assert.equal((await c.httpAnswer(2000)).status, 400); } finally { c.destroy(); }
  });

  test('HTTP/2 is not offered: an RFC 8441 WebSocket does not open', async () => {
    // Over h2 an extended CONNECT would open a WebSocket with a foreign
    // Origin on any path. The node offers only http/1.1.
    const outcome = await new Promise((resolve) => {
      const s = http2.connect(`https://localhost:${tlsNode.port}`, { ca: tlsCa });
      const done = (v) => { s.destroy(); resolve(v); };
      s.on('error', (e) => done(`error ${e.code}`));
      s.on('remoteSettings', () => {
        const r = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/nope',
          ':scheme': 'https', ':authority': `localhost:${tlsNode.port}`, origin: 'https://evil.example',
          'sec-websocket-version': '13' });
        r.on('response', (h) => done(`status ${h[':status']}`));
        r.on('error', (e) => done(`error ${e.code}`));
      });
      setTimeout(() => done('timeout'), 4000);
    });
    assert.match(outcome, /^error/, `an h2 WebSocket must not open (${outcome})`);
  });
});

test('other clients are unaffected, and the failures are counted', async () => {
  const data = `still-${++seq}`;
  await redis.cli('PUBLISH', 'calm', data);
  assert.equal((await bystander.next((m) => m.op === 'message')).data, data);
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="protocol_error"}'] >= 20);
  assert.ok(m['shardcast_errors_total{kind="message_too_big"}'] >= 3);
  assert.equal((await node.http('/healthz')).status, 200);
});
