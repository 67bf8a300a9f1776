// RFC 6455 opening handshake, server side, in raw bytes over TCP (and one
// TLS block): each case is a request, the exact status line, the headers
// it must carry, and that the node answers it rather than dropping the
// connection. Grouped by the RFC's sections: 4.1 (what a client may send:
// accepted), 4.2.1 (reading the client's handshake: refused, with which
// status), 4.2.2 (the server's answer, also when policy refuses). Table
// driven and self-contained.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startNode, client, sleep } from './harness.mjs';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = createHash('sha1').update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
const S400 = 'HTTP/1.1 400 Bad Request';
const S426 = 'HTTP/1.1 426 Upgrade Required';
const S405 = 'HTTP/1.1 405 Method Not Allowed';
const S101 = 'HTTP/1.1 101 Switching Protocols';

/** A request: lines (without CRLF) after the request line; null drops a default. */
function req({ method = 'GET', target = '/ws', version = 'HTTP/1.1', host = '127.0.0.1',
  upgrade = 'websocket', connection = 'Upgrade', key = KEY, wsVersion = '13', extra = [] } = {}) {
  const lines = [`${method} ${target} ${version}`];
  if (host !== null) lines.push(`Host: ${host}`);
  if (upgrade !== null) lines.push(`Upgrade: ${upgrade}`);
  if (connection !== null) lines.push(`Connection: ${connection}`);
  if (key !== null) lines.push(`Sec-WebSocket-Key: ${key}`);
  if (wsVersion !== null) lines.push(`Sec-WebSocket-Version: ${wsVersion}`);
  return `${[...lines, ...extra].join('\r\n')}\r\n\r\n`;
}

/**
 * Send the request (a string, or an array of parts written 50 ms apart)
 * and read the answer: {status, headers, body, closed} once a 101 head,
 * or a whole response and the server's close, has arrived. A connection
 * closed with no answer rejects.
 */
function exchange(port, request, { tls = null } = {}) {
  return new Promise((resolve, reject) => {
    const sock = tls ? tlsConnect({ port, host: '127.0.0.1', ca: tls, servername: 'localhost' })
      : tcpConnect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let res = null;
    let settle = null;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer within 5 s; got ${JSON.stringify(buf.toString())}`)); }, 5000);
    const finish = (closed) => { clearTimeout(timer); clearTimeout(settle); sock.destroy(); resolve({ ...res, closed }); };
    const parse = () => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [status, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map();
      for (const l of lines) {
        const i = l.indexOf(':');
        headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      res = { status, headers, body: buf.subarray(end + 4).toString(), raw: () => buf.toString() };
      if (status.startsWith('HTTP/1.1 101')) finish(false);
    };
    sock.on(tls ? 'secureConnect' : 'connect', async () => {
      for (const part of Array.isArray(request) ? request : [request]) {
        sock.write(part);
        await sleep(50);
      }
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!res) parse();
      else res.body = buf.subarray(buf.indexOf('\r\n\r\n') + 4).toString();
      // A whole response on a connection kept open: done after a grace.
      if (res && !settle && Buffer.byteLength(res.body) >= Number(res.headers.get('content-length') ?? Infinity))
        settle = setTimeout(() => finish(false), 1000);
    });
    const closed = () => {
      if (res) return finish(true);
      clearTimeout(timer);
      reject(new Error(`connection closed with no answer (${buf.length} bytes: ${JSON.stringify(buf.toString())})`));
    };
    sock.on('end', closed);
    sock.on('error', (e) => (res ? finish(true) : (clearTimeout(timer), reject(e))));
  });
}

/** What every answer that refuses an upgrade looks like. */
function assertRefusal(r, c) {
  assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8', `${c.name}: content-type`);
  assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(r.body), `${c.name}: content-length`);
  assert.ok(r.body.length > 1 && r.body.endsWith('\n'), `${c.name}: a plain-text reason`);
  assert.match(r.headers.get('connection') ?? '', /close/i, `${c.name}: Connection: close`);
  assert.ok(r.closed, `${c.name}: the node closes after the refusal`);
}

async function check(port, c, opts) {
  const r = await exchange(port, c.request, opts);
  assert.equal(r.status, c.status, `${c.name}: status line (body ${JSON.stringify(r.body)})`);
  for (const [h, want] of Object.entries(c.headers ?? {})) {
    const got = r.headers.get(h.toLowerCase());
    if (want instanceof RegExp) assert.match(got ?? '', want, `${c.name}: ${h}`);
    else assert.equal(got, want, `${c.name}: ${h}`);
  }
  if (c.absent) for (const h of c.absent) assert.equal(r.headers.get(h.toLowerCase()), undefined, `${c.name}: no ${h}`);
  if (c.body) assert.match(r.body, c.body, `${c.name}: body`);
  if (!c.status.startsWith(S101) && !c.noclose) assertRefusal(r, c);
  return r;
}

/** s in two writes, the first ending just after sep. */
const split = (s, sep) => [s.slice(0, s.indexOf(sep) + 1), s.slice(s.indexOf(sep) + 1)];

/** Run every case, then fail once listing all that failed. */
async function checkAll(cases, portOf, opts) {
  const failed = [];
  for (const c of cases) {
    try {
      await check(portOf(c), c, opts);
    } catch (e) {
      const msg = e.message.split('\n')[0];
      failed.push(msg.startsWith(c.name) ? msg : `${c.name}: ${msg}`);
    }
  }
  assert.deepEqual(failed, []);
}

const accepted = (extra = {}) => ({ status: S101, headers: { 'Sec-WebSocket-Accept': ACCEPT,
  Upgrade: /^websocket$/i, Connection: /^upgrade$/i, ...extra } });

// Section 4.1: the forms a conforming client may send are all accepted.
const section41 = [
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
];

// Section 4.2.1: a request that is not a valid opening handshake is
// refused with the documented status and reason, never dropped.
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
  { name: 'two Sec-WebSocket-Key headers', request: req({ extra: [`Sec-WebSocket-Key: ${KEY}`] }), status: S400 },
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

// Section 4.2.2: the server's answer. Refusals for policy reasons are
// still HTTP/1.1 with a reason phrase (strict clients refuse HTTP/1.0).
const section422 = (full) => [
  { name: 'Origin not allowed: 403', request: req({ extra: ['Origin: https://evil.example'] }),
    status: 'HTTP/1.1 403 Forbidden', body: /origin/ },
  { name: 'node full: 503', port: full, request: req(), status: 'HTTP/1.1 503 Service Unavailable', body: /limit/ },
];

let redis, node, fullNode, authNode, holder;
const dir = mkdtempSync(join(tmpdir(), 'sc-hs-'));
before(async () => {
  redis = await startRedis();
  node = await startNode(redis, ['--allowed-origins', 'https://good.example']);
  fullNode = await startNode(redis, ['--max-connections', '1']);
  holder = client(fullNode.url);
  await holder.opened;
  writeFileSync(join(dir, 'secret'), 'x'.repeat(32));
  authNode = await startNode(redis, ['--auth', 'optional', '--jwt-secret-file', join(dir, 'secret')]);
});
after(async () => {
  holder?.terminate();
  for (const n of [node, fullNode, authNode]) await n?.stop();
  await redis?.stop();
});

test('RFC 6455 4.1: valid client handshakes are accepted with the right Sec-WebSocket-Accept', async () => {
  await checkAll(section41, () => node.port);
});

test('RFC 6455 4.2.1: invalid client handshakes get 400, 404, 405 or 426 with a reason, never a drop', async () => {
  await checkAll(section421, () => node.port);
  // Refused upgrades are counted (a plain GET /ws is not an upgrade).
  const m = await node.metrics();
  assert.equal(m['shardcast_errors_total{kind="rejected_request"}'],
    section421.filter((c) => !c.plain).length, 'refusals counted as rejected_request');
});

test('a keep-alive connection: the first request is served, a bad escape in the next refused', async () => {
  const r = await exchange(node.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', req({ target: '/ws?key=%zz' })]);
  assert.equal(r.status, 'HTTP/1.1 200 OK');
  assert.match(r.raw(), /\r\n\r\n\{.*\}\nHTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\nbad_key: /);
  assert.ok(r.closed);
});

test('RFC 6455 4.2.2: policy refusals are HTTP/1.1 with a reason phrase', async () => {
  await checkAll(section422(fullNode.port), (c) => c.port ?? node.port);
  const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const forged = `${b64u({ alg: 'HS256', typ: 'JWT' })}.${b64u({ sub: 'a', exp: 2e9 })}`;
  const sig = createHmac('sha256', 'wrong secret').update(forged).digest('base64url');
  await check(authNode.port, { name: 'bad token: 401', request: req({ target: `/ws?token=${forged}.${sig}` }),
    status: 'HTTP/1.1 401 Unauthorized', body: /^unauthorized: / });
});

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

test('over TLS: the same answers, and no HTTP/2 (whose WebSocket skips every check)', async () => {
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'node.key',
    '-out', 'node.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  const ca = readFileSync(join(dir, 'node.pem'));
  const tlsNode = await startNode(redis, ['--tls-cert', join(dir, 'node.pem'), '--tls-key', join(dir, 'node.key'),
    '--allowed-origins', 'https://good.example'], { ca });
  try {
    await check(tlsNode.port, { name: 'tls: valid', request: req(), ...accepted() }, { tls: ca });
    await check(tlsNode.port, { name: 'tls: bad escape', request: req({ target: '/ws?channels=%zz' }),
      status: S400, body: /^bad_channel: / }, { tls: ca });
    await check(tlsNode.port, { name: 'tls: version', request: req({ wsVersion: '7' }), status: S426 }, { tls: ca });
    // RFC 8441: over h2 an extended CONNECT would open a WebSocket with a
    // foreign Origin on any path. The node offers only http/1.1.
    const outcome = await new Promise((resolve) => {
      const s = http2.connect(`https://localhost:${tlsNode.port}`, { ca });
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
  } finally {
    await tlsNode.stop();
  }
});
