// A stand-in for a shardcast node, speaking protocol v1 (docs/protocol.md)
// closely enough to exercise shardcast-cli: subscribe / ok / error replies,
// message deliveries (base64 for non-UTF-8 payloads), missed events, and the
// coming redirect / move events.  Tests script it through its methods; it
// keeps a log of what clients sent so tests can check resubscription.
//
// Run by hand for development: `node mock-node.mjs [port]` publishes a
// counter on every subscribed channel each second.
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import net from 'node:net';

const require = createRequire(import.meta.url);

// npm `ws` comes from tests/node_modules (`npm ci --prefix tests`); NODE_PATH
// is honoured too, for running outside the tree.
export function loadWs() {
  try {
    return require('ws');
  } catch (e) {
    console.error('mock-node: cannot load npm package "ws": run `npm ci --prefix tests`');
    throw e;
  }
}

const CHANNEL_RE = /^[\x21-\x7e]{1,128}$/;

// Redis-style glob match, enough for the '*' and '?' tests use.
function globMatch(pattern, name) {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

function isPattern(ch) {
  return /[*?[]/.test(ch);
}

export class MockNode {
  // opts.onConnect(client) runs for every new connection before any frame
  // is read; opts.onSubscribe(client, req) may return a reply object to
  // send instead of {"op":"ok"} (e.g. an error), or null to send nothing.
  constructor(opts = {}) {
    this.opts = opts;
    this.clients = new Set();
    this.log = [];          // { url, frame } for every client frame
    this.connections = [];  // request URLs in connection order
  }

  // opts.tls = { key, cert } serves wss:// instead of ws://.
  // opts.silent accepts TCP connections and never answers anything (a node
  // wedged before its handshake, or a Redis that stopped answering); the
  // sockets are counted in this.accepted.
  async listen(port = 0) {
    if (this.opts.silent) return this.#listenSilent(port);
    const { WebSocketServer } = loadWs();
    const verifyClient = (info, cb) => {
      if (this.opts.httpStatus) return cb(false, this.opts.httpStatus, 'refused by mock');
      cb(new URL(info.req.url, 'http://x').pathname === '/ws', 404);
    };
    if (this.opts.tls) {
      this.https = createHttpsServer(this.opts.tls);
      this.https.listen(port, '127.0.0.1');
      await once(this.https, 'listening');
      this.wss = new WebSocketServer({ server: this.https, verifyClient });
      this.port = this.https.address().port;
    } else {
      this.wss = new WebSocketServer({ host: '127.0.0.1', port, verifyClient });
      await once(this.wss, 'listening');
      this.port = this.wss.address().port;
    }
    this.url = `${this.opts.tls ? 'wss' : 'ws'}://127.0.0.1:${this.port}/ws`;
    this.wss.on('connection', (ws, req) => this.#accept(ws, req));
    return this;
  }

  async #listenSilent(port) {
    this.accepted = 0;
    this.sockets = new Set();
    this.tcp = net.createServer((sock) => {
      this.accepted++;
      this.sockets.add(sock);
      sock.on('error', () => {});
      sock.on('close', () => this.sockets.delete(sock));
    });
    this.tcp.listen(port, '127.0.0.1');
    await once(this.tcp, 'listening');
    this.port = this.tcp.address().port;
    this.url = `ws://127.0.0.1:${this.port}/ws`;
    return this;
  }

  #accept(ws, req) {
    const client = { ws, url: req.url, index: this.connections.length, channels: new Set() };
    this.connections.push(req.url);
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('message', (data, isBinary) => this.#onFrame(client, data, isBinary));
    this.opts.onConnect?.(client);
    this.#emit('connection', client);
  }

  #onFrame(client, data, isBinary) {
    if (isBinary) return client.ws.close(1003);
    let req;
    try {
      req = JSON.parse(data.toString('utf8'));
    } catch {
      return this.#send(client, { op: 'error', code: 'bad_json', message: 'not JSON' });
    }
    this.log.push({ url: client.url, frame: req });
    this.#emit('request', client, req);
    const id = req.id === undefined ? {} : { id: req.id };
    if (req.op === 'ping') return this.#send(client, { op: 'ok', ...id });
    if (req.op !== 'subscribe' && req.op !== 'unsubscribe') {
      return this.#send(client, { op: 'error', ...id, code: 'unknown_op', message: 'unknown op' });
    }
    if (!Array.isArray(req.channels) || !req.channels.length || req.channels.some((c) => typeof c !== 'string')) {
      return this.#send(client, { op: 'error', ...id, code: 'bad_request', message: 'channels must be a non-empty array of strings' });
    }
    const bad = req.channels.find((c) => !CHANNEL_RE.test(c) || c.includes(','));
    if (bad !== undefined) {
      return this.#send(client, { op: 'error', ...id, code: 'bad_channel', message: `bad channel name: ${bad}` });
    }
    if (req.op === 'subscribe' && this.opts.onSubscribe) {
      const reply = this.opts.onSubscribe(client, req);
      if (reply === null) return;
      if (reply) return this.#send(client, { ...reply, ...id });
    }
    for (const c of req.channels) {
      if (req.op === 'subscribe') client.channels.add(c);
      else client.channels.delete(c);
    }
    this.#send(client, { op: 'ok', ...id });
    this.#emit('subscribed', client, req);
  }

  #send(client, obj) {
    client.ws.send(JSON.stringify(obj));
  }

  // Deliver like a node would: once per matching subscription; a Buffer
  // that is not valid UTF-8 goes base64-encoded.
  publish(channel, payload) {
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(String(payload), 'utf8');
    let utf8 = true;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      utf8 = false;
    }
    const body = utf8 ? { data: buf.toString('utf8') } : { data: buf.toString('base64'), encoding: 'base64' };
    let n = 0;
    for (const client of this.clients) {
      for (const sub of client.channels) {
        const hit = isPattern(sub) ? globMatch(sub, channel) : sub === channel;
        if (!hit) continue;
        const frame = { op: 'message', channel, ...(isPattern(sub) ? { pattern: sub } : {}), ...body };
        this.#send(client, frame);
        n++;
      }
    }
    return n;
  }

  // Send a raw text frame to every client (for malformed-frame tests).
  sendRaw(text) {
    for (const client of this.clients) client.ws.send(text);
  }

  missed(reason = 'redis_reconnect') {
    for (const client of this.clients) {
      this.#send(client, { op: 'missed', channels: [...client.channels], reason });
    }
  }

  // The coming shard events: announce, then close with the code that says
  // "reconnect at once".
  redirect(client, url, { op = 'redirect', shard = 's1', epoch = 1, code = op === 'move' ? 4201 : 4200 } = {}) {
    this.#send(client, { op, url, shard, epoch });
    client.ws.close(code, op);
  }

  closeAll(code, reason = '') {
    for (const client of this.clients) client.ws.close(code, reason);
  }

  // Drop every TCP connection without a close frame (a network failure).
  dropAll() {
    for (const client of this.clients) client.ws.terminate();
  }

  // Resolve with the args of the next occurrence of event matching pred.
  waitFor(event, pred = () => true) {
    return new Promise((resolve) => {
      (this.waiters ??= []).push({ event, pred, resolve });
    });
  }

  #emit(event, ...args) {
    const keep = [];
    for (const w of this.waiters ?? []) {
      if (w.event === event && w.pred(...args)) w.resolve(args);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  async close() {
    if (this.tcp) {
      for (const sock of this.sockets) sock.destroy();
      await new Promise((resolve) => this.tcp.close(resolve));
      return;
    }
    for (const client of this.clients) client.ws.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
    if (this.https) await new Promise((resolve) => this.https.close(resolve));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const node = await new MockNode().listen(Number(process.argv[2] ?? 0));
  console.log(`mock node on ${node.url}`);
  let i = 0;
  setInterval(() => {
    i++;
    for (const client of node.clients) for (const c of client.channels) if (!isPattern(c)) node.publish(c, `tick ${i}`);
  }, 1000);
}
