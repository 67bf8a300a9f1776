// A raw WebSocket client for conformance tests: it builds requests line by
// line and frames byte by byte (masked or not, any opcode, RSV bits, length
// encoding), sends them whole or split, and reports exactly what the server
// sent back: frames, a close frame's code and reason, the end of the TCP
// stream, or an HTTP answer to a handshake (exchange(): status line,
// headers, body, and whether the node closed). Every wait is bounded.
// rawClient() is the other use: a client that keeps sending after the
// node's close frame without answering it, stops reading while still
// writing, sends unsolicited pongs.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

/**
 * One client frame. Options: fin (true), rsv (0-7), mask (true), key (4
 * bytes, random), len (the length to announce instead of payload.length),
 * lenForm ('auto', '7', '16' or '64'), len64 (8 raw bytes for the 64-bit
 * length, overriding len).
 */
export function frame(opcode, payload = Buffer.alloc(0), opts = {}) {
  const { fin = true, rsv = 0, mask = true, lenForm = 'auto' } = opts;
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = opts.len ?? data.length;
  const head = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)];
  const form = opts.len64 ? '64' : lenForm === 'auto' ? (len < 126 ? '7' : len < 65536 ? '16' : '64') : lenForm;
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (form === '7') head.push(m | len);
  else if (form === '16') { head.push(m | 126); ext = Buffer.from([len >> 8, len & 0xff]); }
  else {
    head.push(m | 127);
    ext = opts.len64 ? Buffer.from(opts.len64) : Buffer.alloc(8);
    if (!opts.len64) ext.writeBigUInt64BE(BigInt(len));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = opts.key ?? randomBytes(4);
  const body = Buffer.from(data.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

/** A close frame's payload: code (2 bytes, big-endian) and reason bytes. */
export function closePayload(code, reason = Buffer.alloc(0)) {
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/**
 * A self-signed certificate for localhost and 127.0.0.1 in dir: {cert, key,
 * pem}; pem is also the CA that verifies it (the `tls` of rawRequest()).
 */
export function selfSignedCert(dir) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', 'raw.key', '-out', 'raw.pem', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
  return { cert: join(dir, 'raw.pem'), key: join(dir, 'raw.key'), pem: readFileSync(join(dir, 'raw.pem')) };
}

/** The Sec-WebSocket-Accept a server must answer to key (RFC 6455 4.2.2). */
export function acceptFor(key) {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

/**
 * A TCP (or TLS) connection that collects everything the server sends.
 * `events` holds {type:'frame', fin, opcode, payload}, {type:'end'} (the
 * server's FIN) and {type:'error', code}; waiters see them in order.
 */
class RawConn {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.http = null;        // the handshake answer, once parsed: see httpAnswer()
    this.events = [];
    this.waiters = [];
    this.ended = false;
    sock.setNoDelay(true);
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    sock.on('end', () => this.push({ type: 'end' }));
    sock.on('error', (e) => this.push({ type: 'error', code: e.code }));
    sock.on('close', () => { this.ended = true; this.push({ type: 'closed' }); });
  }

  push(ev) {
    this.events.push(ev);
    for (const w of [...this.waiters]) w();
  }

  parse() {
    if (this.mode === 'http') {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const [line, ...fields] = head.split('\r\n');
      const m = line.match(/^HTTP\/1\.1 (\d{3})/);
      const headers = new Map();
      for (const f of fields) {
        const i = f.indexOf(':');
        headers.set(f.slice(0, i).trim().toLowerCase(), f.slice(i + 1).trim());
      }
      this.buf = this.buf.subarray(end + 4);
      this.http = { status: m ? Number(m[1]) : 0, line, headers, head, body: Buffer.alloc(0) };
      this.mode = this.http.status === 101 ? 'ws' : 'body';
      this.push({ type: 'http', status: this.http.status, head });
    }
    if (this.mode === 'body') {
      // Everything after the head, a next response on the connection too.
      this.http.body = Buffer.concat([this.http.body, this.buf]);
      this.push({ type: 'body', data: this.buf.toString() });
      this.buf = Buffer.alloc(0);
      return;
    }
    while (this.mode === 'ws' && this.buf.length >= 2) {
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f, off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (b1 & 0x80) off += 4; // a server never masks; a frame that does is shown as is
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      this.push({ type: 'frame', fin: !!(b0 & 0x80), rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked: !!(b1 & 0x80), payload });
    }
  }

  /** Resolve with the first event (from index `from`) matching pred. */
  waitEvent(pred, ms, what, from = 0) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const i = this.events.findIndex((e, k) => k >= from && pred(e));
        if (i < 0) return false;
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve({ ev: this.events[i], index: i });
        return true;
      };
      this.waiters.push(check);
      check();
    }), ms, what);
  }

  write(bytes) {
    return new Promise((resolve) => this.sock.write(bytes, () => resolve()));
  }

  /** Send bytes one at a time (each its own TCP segment, gapMs apart). */
  async trickle(bytes, gapMs = 3) {
    for (const b of bytes) {
      await this.write(Buffer.from([b]));
      await pause(gapMs);
    }
  }

  /** Whether the server ended the connection (FIN, reset or close). */
  get closedByServer() {
    return this.events.some((e) => e.type === 'end' || e.type === 'error' || e.type === 'closed');
  }

  /**
   * The first frame from the server (of opcode op, when given) that no
   * earlier call returned; frames of other opcodes stay for later calls.
   */
  async nextFrame(op = null, ms = 3000) {
    const { ev } = await this.waitEvent(
      (e) => (e.type === 'frame' && !e.taken && (op === null || e.opcode === op)) || e.type === 'end' || e.type === 'error',
      ms, `a frame${op === null ? '' : ` of opcode ${op}`}`);
    if (ev.type !== 'frame') throw new Error(`the connection ended (${ev.type}${ev.code ? ` ${ev.code}` : ''}) before a frame`);
    ev.taken = true;
    return ev;
  }

  /** The next text message's JSON (a single frame from this server). */
  async nextJson(ms = 3000) {
    return JSON.parse((await this.nextFrame(OP.TEXT, ms)).payload.toString());
  }

  /**
   * The server's close frame: {code, reason} (code null for an empty
   * payload), after any other frames. Throws if the stream ends without
   * one: a bare TCP drop.
   */
  async closeFrame(ms = 3000) {
    const { ev } = await this.waitEvent(
      (e) => (e.type === 'frame' && e.opcode === OP.CLOSE) || e.type === 'end' || e.type === 'error' || e.type === 'closed',
      ms, 'a close frame');
    if (ev.type !== 'frame') throw new Error(`bare TCP drop (${ev.type}${ev.code ? ` ${ev.code}` : ''}) instead of a close frame`);
    const p = ev.payload;
    return { code: p.length >= 2 ? p.readUInt16BE(0) : null, reason: p.subarray(2) };
  }

  /** Resolves once the server has ended its side (FIN), bounded. */
  async serverEnd(ms = 3000) {
    await this.waitEvent((e) => e.type === 'end' || e.type === 'closed', ms, 'the end of the server stream');
  }

  /**
   * The HTTP answer's head, once it arrived: {status (the code, 0 if not
   * HTTP/1.1), line (the status line), headers (a Map, lower-case names),
   * head, body (a Buffer that grows as the rest arrives)}. Throws if the
   * connection ends first.
   */
  async httpAnswer(ms = 3000) {
    const { ev } = await this.waitEvent((e) => e.type === 'http' || e.type === 'end' || e.type === 'closed' || e.type === 'error', ms, 'an HTTP answer');
    if (ev.type !== 'http') throw new Error(`no HTTP answer, the connection ended (${ev.type})`);
    return this.http;
  }

  destroy() { this.sock.destroy(); }
}

/**
 * Open a connection and send head (a string of latin1 bytes or a Buffer;
 * null sends nothing) as the request. tls: the CA (a PEM) of the node's
 * certificate for localhost, which is verified; null for plain TCP.
 */
export async function rawRequest(port, head, { tls = null, ms = 3000 } = {}) {
  const sock = tls
    ? tlsConnect({ port, host: '127.0.0.1', ca: tls, servername: 'localhost' })
    : tcpConnect(port, '127.0.0.1');
  const c = new RawConn(sock);
  c.mode = 'http';
  await withTimeout(new Promise((resolve, reject) => {
    sock.once(tls ? 'secureConnect' : 'connect', resolve);
    sock.once('error', reject);
  }), ms, 'connect');
  if (head) await c.write(Buffer.isBuffer(head) ? head : Buffer.from(head, 'latin1'));
  return c;
}

/**
 * A request head, blank line included. The defaults make the upgrade a
 * browser sends, with a fresh random key; each option replaces a part, null
 * drops that header line, extra lines go after the others.
 */
export function upgradeHead({ method = 'GET', target = '/ws', version = 'HTTP/1.1', host = '127.0.0.1',
  upgrade = 'websocket', connection = 'Upgrade', key = randomBytes(16).toString('base64'), wsVersion = '13',
  extra = [] } = {}) {
  const lines = [`${method} ${target} ${version}`];
  if (host !== null) lines.push(`Host: ${host}`);
  if (upgrade !== null) lines.push(`Upgrade: ${upgrade}`);
  if (connection !== null) lines.push(`Connection: ${connection}`);
  if (key !== null) lines.push(`Sec-WebSocket-Key: ${key}`);
  if (wsVersion !== null) lines.push(`Sec-WebSocket-Version: ${wsVersion}`);
  return `${[...lines, ...extra].join('\r\n')}\r\n\r\n`;
}

/**
 * Send request (a string, or an array of parts written 50 ms apart) and
 * read the answer, all within 5 s: httpAnswer()'s fields with body as a
 * string, raw (everything received, as a string) and closed. A 101 returns
 * at once (closed false); any other answer once the node closed (closed
 * true) or, on a connection it keeps open, 1 s after the body is complete
 * (its Content-Length). Throws if the connection ends with no answer.
 */
export async function exchange(port, request, { tls = null } = {}) {
  const deadline = Date.now() + 5000;
  const c = await rawRequest(port, null, { tls, ms: 5000 });
  try {
    for (const part of Array.isArray(request) ? request : [request]) {
      await c.write(Buffer.from(part, 'latin1'));
      await pause(50);
    }
    const h = await c.httpAnswer(Math.max(deadline - Date.now(), 1));
    if (h.status !== 101) {
      // State checks, made at each event (the head's is the first).
      const complete = () => h.body.length >= Number(h.headers.get('content-length') ?? Infinity);
      await c.waitEvent(() => c.closedByServer || complete(), Math.max(deadline - Date.now(), 1), 'a whole response');
      if (!c.closedByServer)
        await c.waitEvent(() => c.closedByServer, 1000, 'the close').catch(() => {});
    }
    return { ...h, body: h.body.toString(), raw: `${h.head}\r\n\r\n${h.body}`, closed: c.closedByServer };
  } finally {
    c.destroy();
  }
}

/**
 * Connect and upgrade; `after` (bytes) goes in the same write as the
 * request, so frames reach the node together with the head. Resolves once
 * the 101 arrived. tls as for rawRequest().
 */
export async function rawWs(port, { path = '/ws', tls = null, after = null, ms = 3000 } = {}) {
  const head = Buffer.from(upgradeHead({ target: path }), 'latin1');
  const c = await rawRequest(port, after ? Buffer.concat([head, after]) : head, { tls, ms });
  const h = await c.httpAnswer(ms);
  if (h.status !== 101) throw new Error(`upgrade refused: HTTP ${h.status}`);
  return c;
}

/**
 * Connect to 127.0.0.1:port and upgrade at path. Resolves once the 101 has
 * arrived, with {sock, status, text(s), pong(s), destroy()}; rejects with
 * {status} if the node answers anything else. Bytes after the 101 are not
 * parsed (tests that use this only count on what the node does).
 */
export function rawClient(port, path) {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect(port, '127.0.0.1');
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const status = Number(head.subarray(0, end).toString().split(' ')[1]);
      if (status !== 101) {
        sock.destroy();
        reject(Object.assign(new Error(`HTTP ${status}`), { status }));
        return;
      }
      // Keep the socket flowing until the caller pauses it.
      sock.on('data', () => {});
      const w = (buf) => { if (!sock.destroyed && sock.writable) sock.write(buf); };
      resolve({
        sock,
        status,
        text: (s) => w(frame(0x1, s)),
        pong: (s) => w(frame(0xA, s)),
        destroy: () => sock.destroy(),
      });
    };
    sock.on('data', onData);
    sock.on('error', (e) => reject(e));
    sock.on('connect', () => {
      sock.write(upgradeHead({ target: path, host: `127.0.0.1:${port}` }));
    });
  });
}
