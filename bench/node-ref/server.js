// Reference fan-out server written the way Node.js users usually write one:
// npm `ws` for WebSocket, node-redis v4 for Redis pub/sub, one Redis
// subscription per channel shared by every local client (refcounted).
// It speaks the subset of the shardcast protocol that shardcast-bench uses,
// so the two can be measured with the same client:
//   ws://HOST:PORT/ws?channels=a,b    subscribe at connect
//   {"op":"subscribe"|"unsubscribe","channels":[...],"id":..}  -> {"op":"ok","id":..}
//   {"op":"ping","id":..}             -> {"op":"ok","id":..}
//   delivery: {"op":"message","channel":"a","data":"..."}
//
// Usage: node server.js [--port N] [--host ADDR] [--redis redis://127.0.0.1:6379]
// Environment: PORT, HOST, REDIS_URL (flags win).

import http from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { createClient } from 'redis';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    redis: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: node server.js [--port N] [--host ADDR] [--redis URL]');
  process.exit(0);
}
const port = Number(args.port ?? process.env.PORT ?? 8080);
const host = args.host ?? process.env.HOST ?? '127.0.0.1';
const redisUrl = args.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAX_CHANNELS = 64;
const CHANNEL_RE = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;

const subscriber = createClient({ url: redisUrl });
subscriber.on('error', (err) => console.error('redis:', err.message));
await subscriber.connect();

// channel -> Set of sockets; the Redis subscription lives while the set does.
const channels = new Map();

function deliver(message, channel) {
  const set = channels.get(channel);
  if (!set) return;
  const frame = JSON.stringify({ op: 'message', channel, data: message });
  for (const ws of set) {
    if (ws.readyState === ws.OPEN) ws.send(frame);
  }
}

async function join(ws, channel) {
  if (ws.channels.has(channel)) return;
  ws.channels.add(channel);
  let set = channels.get(channel);
  if (!set) {
    set = new Set();
    channels.set(channel, set);
    set.add(ws);
    await subscriber.subscribe(channel, deliver);
  } else {
    set.add(ws);
  }
}

async function leave(ws, channel) {
  if (!ws.channels.delete(channel)) return;
  const set = channels.get(channel);
  if (!set) return;
  set.delete(ws);
  if (set.size === 0) {
    channels.delete(channel);
    // Pass the listener: node-redis 4.7 marks a channel "unsubscribing" only
    // then, and without the mark a subscribe() issued before the UNSUBSCRIBE
    // reply counts as already subscribed and is lost when that reply lands.
    await subscriber.unsubscribe(channel, deliver);
  }
}

function validChannels(list) {
  return Array.isArray(list) && list.length > 0 &&
    list.every((c) => typeof c === 'string' && CHANNEL_RE.test(c));
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

wss.on('connection', (ws, initial) => {
  ws.channels = new Set();
  initial.forEach((c) => join(ws, c).catch((e) => console.error(e.message)));

  ws.on('message', async (raw, isBinary) => {
    if (isBinary) return ws.close(1003);
    let req;
    try { req = JSON.parse(raw); } catch { req = null; }
    const reply = (extra) => ws.send(JSON.stringify({ ...extra, id: req?.id }));
    if (!req || typeof req !== 'object') return reply({ op: 'error', code: 'bad_json' });
    if (req.op === 'ping') return reply({ op: 'ok' });
    if (req.op !== 'subscribe' && req.op !== 'unsubscribe') {
      return reply({ op: 'error', code: 'unknown_op' });
    }
    if (!validChannels(req.channels)) return reply({ op: 'error', code: 'bad_request' });
    if (req.op === 'subscribe' &&
        new Set([...ws.channels, ...req.channels]).size > MAX_CHANNELS) {
      return reply({ op: 'error', code: 'too_many_channels' });
    }
    const fn = req.op === 'subscribe' ? join : leave;
    await Promise.all(req.channels.map((c) => fn(ws, c)));
    reply({ op: 'ok' });
  });

  ws.on('close', () => {
    for (const c of [...ws.channels]) leave(ws, c).catch(() => {});
  });
});

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  const list = url.searchParams.get('channels');
  const initial = list ? list.split(',') : [];
  if (url.pathname !== '/ws' || (list !== null && !validChannels(initial)) ||
      initial.length > MAX_CHANNELS) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, initial));
});

server.listen(port, host, () => {
  console.error(`node-ref listening on ${host}:${port}, redis ${redisUrl}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close();
    for (const ws of wss.clients) ws.terminate();
    subscriber.quit().finally(() => process.exit(0));
  });
}
