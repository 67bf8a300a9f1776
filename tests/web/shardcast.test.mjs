// Tests of the browser library client/web/shardcast.js against real WebSocket
// servers (npm ws) standing in for shardcast nodes. The library's timers run on
// a fake clock so backoff and keep-alive are tested without waiting; sockets
// are real. Needs `npm ci --prefix tests`.

import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { backoffDelay, closePolicy, connect, DEFAULTS } from '../../client/web/shardcast.js';

const TIMEOUT = { timeout: 10000 };

async function waitUntil(cond, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${cond}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// Whatever a test opened is closed after it, passed or failed, so a failure
// cannot keep the process alive.
const cleanups = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

// Timers that fire only when the test advances time. Zero-delay timers run on
// the next turn of the real event loop, as "reconnect at once" means.
class FakeClock {
  #now = 0;
  #timers = new Map();
  #seq = 0;

  now = () => this.#now;

  setTimeout = (fn, ms) => {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + ms, fn });
    if (ms <= 0) setImmediate(() => this.#timers.delete(id) && fn());
    return id;
  };

  clearTimeout = (id) => {
    this.#timers.delete(id);
  };

  advance(ms) {
    const end = this.#now + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.#timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }
}

// An unbounded queue whose shift() waits for the next item.
class Queue {
  #items = [];
  #waiters = [];
  push(item) {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }
  shift() {
    return this.#items.length ? Promise.resolve(this.#items.shift()) : new Promise((r) => this.#waiters.push(r));
  }
  get length() {
    return this.#items.length;
  }
}

// A stand-in node: accepts on /ws, answers each request with respond(request,
// conn) (by default "ok"), and lets the test send frames and close.
class FakeNode {
  static async start(options = {}) {
    const node = new FakeNode(options);
    await once(node.wss, 'listening');
    cleanups.push(() => node.stop());
    node.url = `ws://127.0.0.1:${node.wss.address().port}/ws`;
    return node;
  }

  constructor({ respond = (req) => ({ op: 'ok', id: req.id }), onConnection = () => {} }) {
    this.connections = new Queue();
    this.count = 0;
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
    this.wss.on('connection', (sock, req) => {
      const conn = new NodeConnection(sock, req.url);
      this.count += 1;
      sock.on('message', (frame) => {
        const request = JSON.parse(frame.toString());
        conn.requests.push(request);
        const reply = respond(request, conn);
        if (reply) conn.send(reply);
      });
      onConnection(conn);
      this.connections.push(conn);
    });
  }

  next() {
    return this.connections.shift();
  }

  async stop() {
    for (const client of this.wss.clients) client.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
  }
}

class NodeConnection {
  constructor(sock, path) {
    this.sock = sock;
    this.path = path; // request path with query, e.g. /ws?key=k
    this.requests = new Queue();
  }
  send(msg) {
    this.sock.send(JSON.stringify(msg));
  }
  close(code, reason) {
    this.sock.close(code, reason);
  }
  get closed() {
    return once(this.sock, 'close').then(([code]) => code);
  }
}

// Resolves with the next n payloads of event `name` (registering at once, so
// events emitted together are not missed).
function events(client, name, n) {
  const seen = [];
  return new Promise((resolve) => {
    const off = client.on(name, (payload) => {
      seen.push(payload);
      if (seen.length === n) {
        off();
        resolve(seen);
      }
    });
  });
}

function nextEvent(client, name) {
  return new Promise((resolve) => {
    const off = client.on(name, (payload) => {
      off();
      resolve(payload);
    });
  });
}

// A url on which nothing listens: connections to it are refused.
async function deadUrl() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return `ws://127.0.0.1:${port}/ws`;
}

function client(url, options = {}) {
  const clock = options.clock ?? new FakeClock();
  const c = connect(url, { WebSocket, clock, ...options });
  cleanups.push(() => c.close());
  return { c, clock };
}

// Lets the sockets' pending I/O run, for asserting that nothing happened.
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('backoff policy', () => {
  test('full jitter: uniform below a window that doubles up to the cap', () => {
    const opts = { initialDelay: 2000, maxDelay: 30000 };
    const almostOne = () => 0.999999;
    const windows = [2000, 4000, 8000, 16000, 30000, 30000, 30000];
    windows.forEach((w, attempt) => {
      assert.equal(backoffDelay(attempt, opts, () => 0), 0);
      assert.equal(backoffDelay(attempt, opts, () => 0.5), w / 2);
      assert.equal(backoffDelay(attempt, opts, almostOne), w - 1);
    });
    assert.equal(backoffDelay(5000, opts, almostOne), 29999, 'huge attempt counts stay capped');
  });

  test('close code ranges', () => {
    for (const code of [4000, 4001, 4099]) assert.equal(closePolicy(code), 'stop');
    for (const code of [4200, 4201, 4299]) assert.equal(closePolicy(code), 'now');
    for (const code of [1000, 1001, 1006, 1011, 3999, 4100, 4101, 4199, 4300]) assert.equal(closePolicy(code), 'backoff');
  });
});

describe('reconnect schedule', () => {
  test('failed attempts follow the doubling, capped windows', TIMEOUT, async () => {
    const url = await deadUrl();
    const { c, clock } = client(url, { random: () => 0.5 });
    const delays = [];
    for (let i = 0; i < 7; i++) {
      const { delay, attempt, url: next } = await nextEvent(c, 'reconnecting');
      assert.equal(attempt, i + 1);
      assert.equal(next, url);
      delays.push(delay);
      clock.advance(delay);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  test('the first delay after a node restart is random, so clients do not return together', TIMEOUT, async () => {
    const node = await FakeNode.start({ onConnection: (conn) => conn.close(1001, 'shutting down') });
    const clients = Array.from({ length: 20 }, () => client(node.url).c);
    const delays = await Promise.all(clients.map((c) => nextEvent(c, 'reconnecting').then((e) => e.delay)));
    for (const d of delays) assert.ok(d >= 0 && d < DEFAULTS.initialDelay, `delay ${d}`);
    assert.ok(new Set(delays).size > 10, `delays not spread: ${delays}`);
    assert.ok(Math.max(...delays) - Math.min(...delays) > 500, `delays not spread: ${delays}`);
  });

  test('a connection that stayed good resets the schedule; a short one does not', TIMEOUT, async () => {
    const node = await FakeNode.start();
    const { c, clock } = client(node.url, { random: () => 0.5 });
    const dropAfter = async (ms) => {
      const conn = await node.next();
      await nextEvent(c, 'open');
      clock.advance(ms);
      conn.close(1011, 'internal error');
      return (await nextEvent(c, 'reconnecting')).delay;
    };
    assert.equal(await dropAfter(0), 1000);
    clock.advance(1000);
    assert.equal(await dropAfter(DEFAULTS.stableAfter - 1), 2000, 'short-lived connection keeps backing off');
    clock.advance(2000);
    assert.equal(await dropAfter(DEFAULTS.stableAfter), 1000, 'good connection starts over');
  });

  test('no reconnect on 4000-4099; backoff on 4100-4199 and 1001', TIMEOUT, async () => {
    const node = await FakeNode.start();
    for (const [code, reconnect] of [[4000, false], [4001, false], [4099, false], [4100, true], [4199, true], [1001, true]]) {
      const { c, clock } = client(node.url, { random: () => 0.5 });
      const conn = await node.next();
      await nextEvent(c, 'open');
      const closed = nextEvent(c, 'close');
      const reconnecting = nextEvent(c, 'reconnecting');
      conn.close(code, 'bye');
      assert.deepEqual(await closed, { code, reason: 'bye', reconnect }, `code ${code}`);
      assert.equal(c.state, reconnect ? 'reconnecting' : 'closed');
      if (reconnect) {
        const { delay } = await reconnecting;
        assert.ok(delay > 0, `code ${code} backs off`);
        clock.advance(delay);
        await node.next();
      } else {
        const before = node.count;
        clock.advance(600000);
        await settle();
        assert.equal(node.count, before, `code ${code} must not reconnect`);
      }
    }
  });
});

describe('subscriptions', () => {
  test('subscribe and unsubscribe send requests with ids; handlers get their channel', TIMEOUT, async () => {
    const node = await FakeNode.start();
    const { c } = client(node.url);
    const conn = await node.next();
    await nextEvent(c, 'open');
    const got = [];
    const offA = c.subscribe('news', (data) => got.push(['a', data]));
    c.subscribe('news', (data) => got.push(['b', data]));
    const sub = await conn.requests.shift();
    assert.equal(sub.op, 'subscribe');
    assert.deepEqual(sub.channels, ['news']);
    assert.equal(typeof sub.id, 'number');
    assert.equal(conn.requests.length, 0, 'a second handler needs no second request');

    conn.send({ op: 'message', channel: 'news', data: 'one' });
    await nextEvent(c, 'message');
    offA();
    conn.send({ op: 'message', channel: 'news', data: 'two' });
    await nextEvent(c, 'message');
    assert.deepEqual(got, [['a', 'one'], ['b', 'one'], ['b', 'two']]);

    c.unsubscribe('news');
    const unsub = await conn.requests.shift();
    assert.deepEqual([unsub.op, unsub.channels], ['unsubscribe', ['news']]);
    assert.notEqual(unsub.id, sub.id);
    assert.deepEqual(c.channels, []);
  });

  test('after a reconnect everything is resubscribed in one request', TIMEOUT, async () => {
    const node = await FakeNode.start();
    const { c, clock } = client(node.url);
    const noop = () => {};
    c.subscribe('news', noop); // before the first open: goes with the first batch
    let conn = await node.next();
    await nextEvent(c, 'open');
    assert.deepEqual((await conn.requests.shift()).channels, ['news']);
    c.subscribe('chat.*', noop);
    c.subscribe('gone', noop);
    c.unsubscribe('gone');
    for (let i = 0; i < 3; i++) await conn.requests.shift();

    conn.sock.terminate();
    const { delay } = await nextEvent(c, 'reconnecting');
    c.subscribe('late', noop); // while disconnected
    clock.advance(delay);
    conn = await node.next();
    const resub = await conn.requests.shift();
    assert.equal(resub.op, 'subscribe');
    assert.deepEqual(resub.channels, ['news', 'chat.*', 'late']);
    assert.equal(typeof resub.id, 'number');
    await settle();
    assert.equal(conn.requests.length, 0, 'exactly one request');

    const got = nextEvent(c, 'message');
    conn.send({ op: 'message', channel: 'chat.room1', pattern: 'chat.*', data: 'hi' });
    assert.deepEqual(await got, { channel: 'chat.room1', pattern: 'chat.*', data: 'hi' });
  });

  test('an error reply is emitted with its channel, which is dropped', TIMEOUT, async () => {
    const node = await FakeNode.start({
      respond: (req) =>
        req.channels?.includes('bad channel')
          ? { op: 'error', id: req.id, code: 'bad_channel', message: 'channel has a byte outside the allowed set' }
          : { op: 'ok', id: req.id },
    });
    const { c } = client(node.url);
    await nextEvent(c, 'open');
    c.subscribe('news', () => {});
    c.subscribe('bad channel', () => {});
    const err = await nextEvent(c, 'error');
    assert.deepEqual(err, {
      code: 'bad_channel',
      message: 'channel has a byte outside the allowed set',
      op: 'subscribe',
      channel: 'bad channel',
    });
    assert.deepEqual(c.channels, ['news']);
  });

  test('a refused resubscribe is retried channel by channel', TIMEOUT, async () => {
    // This node allows two subscriptions per connection.
    const node = await FakeNode.start({
      respond: (req, conn) => {
        conn.subs ??= new Set();
        const after = new Set([...conn.subs, ...req.channels]);
        if (after.size > 2) return { op: 'error', id: req.id, code: 'too_many_channels', message: 'limit 2' };
        conn.subs = after;
        return { op: 'ok', id: req.id };
      },
    });
    const { c } = client(node.url);
    for (const ch of ['a', 'b', 'c']) c.subscribe(ch, () => {});
    const conn = await node.next();
    const err = await nextEvent(c, 'error');
    assert.equal(err.code, 'too_many_channels');
    assert.equal(err.channel, 'c');
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await conn.requests.shift()).channels);
    assert.deepEqual(seen, [['a', 'b', 'c'], ['a'], ['b'], ['c']]);
    assert.deepEqual(c.channels, ['a', 'b']);
    assert.deepEqual([...conn.subs], ['a', 'b']);
  });
});

describe('redirect and move', () => {
  for (const [op, code] of [['redirect', 4200], ['move', 4201]]) {
    test(`${op} + ${code}: reconnect at once to the new url, key kept, subscriptions carried`, TIMEOUT, async () => {
      const b = await FakeNode.start({ onConnection: (conn) => conn.send({ op: 'hello', shard: 'b', key: 'user42', epoch: 7 }) });
      const a = await FakeNode.start({
        onConnection: (conn) => {
          conn.send({ op: 'hello', shard: 'a', key: 'user42', epoch: 6 });
          conn.send({ op, url: b.url, shard: 'b', epoch: 7 });
          conn.close(code, op);
        },
      });
        const { c } = client(a.url, { key: 'user42' });
      c.subscribe('news', () => {});
      const events = [];
      for (const name of ['hello', op, 'close', 'reconnecting']) c.on(name, (e) => events.push([name, e]));
      const helloFromB = new Promise((resolve) => c.on('hello', (e) => e.shard === 'b' && resolve()));

      const first = await a.next();
      assert.equal(first.path, '/ws?key=user42');
      const second = await b.next(); // no clock advance: "at once"
      assert.equal(second.path, '/ws?key=user42');
      assert.deepEqual((await second.requests.shift()).channels, ['news']);
      await helloFromB;
      assert.equal(c.shard, 'b');
      assert.equal(c.url, `${b.url}?key=user42`);
      assert.deepEqual(events, [
        ['hello', { shard: 'a', key: 'user42', epoch: 6 }],
        [op, { url: `${b.url}?key=user42`, shard: 'b', epoch: 7 }],
        ['close', { code, reason: op, reconnect: true }],
        ['reconnecting', { delay: 0, attempt: 0, url: `${b.url}?key=user42` }],
        ['hello', { shard: 'b', key: 'user42', epoch: 7 }],
      ]);
    });
  }

  test('a redirect loop falls back to backoff after maxRedirects', TIMEOUT, async () => {
    const node = await FakeNode.start({ onConnection: (conn) => conn.close(4200, 'again') });
    const { c } = client(node.url, { random: () => 0.5 });
    const delays = [];
    for (let i = 0; i <= DEFAULTS.maxRedirects; i++) delays.push((await nextEvent(c, 'reconnecting')).delay);
    assert.deepEqual(delays, [0, 0, 0, 0, 0, 1000]);
  });

  test('when the redirect target cannot be reached the client goes back to its entry url', TIMEOUT, async () => {
    const gone = await deadUrl();
    const entry = await FakeNode.start({
      onConnection: (conn) => {
        conn.send({ op: 'redirect', url: gone, shard: 'x', epoch: 1 });
        conn.close(4200, 'redirect');
      },
    });
    const { c, clock } = client(entry.url, { random: () => 0.5 });
    await entry.next();
    assert.equal((await nextEvent(c, 'reconnecting')).url, gone);
    const retry = await nextEvent(c, 'reconnecting');
    assert.equal(retry.url, entry.url);
    assert.equal(retry.delay, 1000);
    clock.advance(retry.delay);
    await entry.next();
  });

  test('a url the WebSocket constructor refuses counts as a failed attempt', TIMEOUT, async () => {
    // As a browser refuses ws:// from an https page.
    class Refusing extends WebSocket {
      constructor(url) {
        if (url.startsWith('ws://refused.invalid')) throw new Error('insecure url');
        super(url);
      }
    }
    const entry = await FakeNode.start({
      onConnection: (conn) => {
        conn.send({ op: 'redirect', url: 'ws://refused.invalid/ws', shard: 'x', epoch: 1 });
        conn.close(4200, 'redirect');
      },
    });
    const { c, clock } = client(entry.url, { WebSocket: Refusing, random: () => 0.5 });
    await entry.next();
    const error = nextEvent(c, 'error');
    const closed = events(c, 'close', 2);
    const reconnecting = events(c, 'reconnecting', 2);
    assert.deepEqual(await error, { code: 'connect_failed', message: 'insecure url', op: null, channel: null });
    assert.deepEqual((await closed)[1], { code: 1006, reason: 'connect failed', reconnect: true });
    const [, retry] = await reconnecting;
    // A redirect target that cannot be reached is retried from the first
    // backoff window (the redirecting node's map will catch up), not a
    // growing one: the attempt counter does not move.
    assert.deepEqual(retry, { delay: 1000, attempt: 0, url: entry.url });
    clock.advance(retry.delay);
    await entry.next();
  });

  test('stale redirects retry soon, but only maxRedirects times before backing off', TIMEOUT, async () => {
    const entry = await FakeNode.start({
      onConnection: (conn) => {
        conn.send({ op: 'redirect', url: 'ws://127.0.0.1:1/ws', shard: 'gone', epoch: 1 });
        conn.close(4200, 'redirect');
      },
    });
    const { c, clock } = client(entry.url, { random: () => 0.5, maxRedirects: 2 });
    const seen = [];
    c.on('reconnecting', ({ delay, url }) => seen.push([url === entry.url ? 'entry' : 'gone', delay]));
    // The entry redirects (reconnect at once to the dead url), that fails,
    // and the client goes back to the entry: from the first backoff window
    // each time, until the redirect-loop guard (maxRedirects) steps in.
    for (let i = 0; i < 6; i++) {
      await waitUntil(() => seen.length > i);
      clock.advance(seen[i][1]);
    }
    assert.deepEqual(seen.slice(0, 4), [['gone', 0], ['entry', 1000], ['gone', 0], ['entry', 1000]]);
    // Past the guard the schedule grows again instead of spinning.
    assert.ok(seen.slice(4).some(([, d]) => d > 1000), JSON.stringify(seen));
  });
});

describe('dead connections', () => {
  test('pings when idle, and closes with 4101 when nothing comes back', TIMEOUT, async () => {
    const node = await FakeNode.start({ respond: () => null });
    const { c, clock } = client(node.url, { random: () => 0.5 });
    const conn = await node.next();
    await nextEvent(c, 'open');

    clock.advance(20000);
    conn.send({ op: 'message', channel: 'x', data: 'traffic' });
    await nextEvent(c, 'message');
    clock.advance(DEFAULTS.pingInterval - 1); // idle for just under the interval
    await settle();
    assert.equal(conn.requests.length, 0, 'traffic postponed the ping');
    clock.advance(1);
    const ping = await conn.requests.shift();
    assert.equal(ping.op, 'ping');
    assert.equal(typeof ping.id, 'number');

    clock.advance(DEFAULTS.pongTimeout - 1);
    assert.equal(c.state, 'open');
    const closed = nextEvent(c, 'close');
    const serverSide = conn.closed;
    clock.advance(1);
    assert.deepEqual(await closed, { code: 4101, reason: 'ping timeout', reconnect: true });
    assert.equal(c.state, 'reconnecting');
    await serverSide;
  });

  test('an answered ping keeps the connection', TIMEOUT, async () => {
    // The reply to a ping is followed by a delivery, so the test knows when the reply arrived.
    const node = await FakeNode.start({
      respond: (req, conn) => {
        conn.send({ op: 'ok', id: req.id });
        return { op: 'message', channel: 'x', data: 'after pong' };
      },
    });
    const { c, clock } = client(node.url);
    await nextEvent(c, 'open');
    for (let round = 0; round < 3; round++) {
      const delivered = nextEvent(c, 'message');
      // Idle since the last reply, which came pongTimeout ago after the first round.
      clock.advance(round === 0 ? DEFAULTS.pingInterval : DEFAULTS.pingInterval - DEFAULTS.pongTimeout);
      await delivered;
      clock.advance(DEFAULTS.pongTimeout);
      assert.equal(c.state, 'open');
    }
  });

  test('a handshake that never completes times out', TIMEOUT, async () => {
    const held = [];
    const server = net.createServer((sock) => held.push(sock)).listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => {
      held.forEach((s) => s.destroy());
      server.close();
    });
    const url = `ws://127.0.0.1:${server.address().port}/ws`;
    const { c, clock } = client(url, { random: () => 0.5 });
    await new Promise((r) => server.once('connection', r));
    const closed = nextEvent(c, 'close');
    clock.advance(DEFAULTS.connectTimeout);
    assert.deepEqual(await closed, { code: 1006, reason: 'connect timeout', reconnect: true });
  });
});

describe('deliveries and events', () => {
  test('base64 payloads arrive as bytes, others as strings', TIMEOUT, async () => {
    const node = await FakeNode.start();
    const { c } = client(node.url);
    const conn = await node.next();
    await nextEvent(c, 'open');
    const got = [];
    c.subscribe('blob', (data, info) => got.push([data, info.channel]));
    await conn.requests.shift();
    const delivered = events(c, 'message', 3);
    conn.send({ op: 'message', channel: 'blob', data: 'AAEC/w==', encoding: 'base64' });
    conn.send({ op: 'message', channel: 'blob', data: 'héllo' });
    conn.send({ op: 'message', channel: 'blob', data: '', encoding: 'base64' });
    await delivered;
    assert.ok(got[0][0] instanceof Uint8Array);
    assert.deepEqual([...got[0][0]], [0, 1, 2, 255]);
    assert.equal(got[1][0], 'héllo');
    assert.ok(got[2][0] instanceof Uint8Array);
    assert.equal(got[2][0].length, 0);
  });

  test('missed, hello, unknown ops, and a throwing handler', TIMEOUT, async () => {
    const node = await FakeNode.start();
    const { c } = client(node.url);
    const conn = await node.next();
    await nextEvent(c, 'open');
    assert.equal(c.shard, null, 'no hello yet');
    const missed = nextEvent(c, 'missed');
    conn.send({ op: 'future_op', whatever: 1 });
    conn.send({ op: 'missed', channels: ['news'], reason: 'redis_reconnect' });
    assert.deepEqual(await missed, { channels: ['news'], reason: 'redis_reconnect' });
    const hello = nextEvent(c, 'hello');
    conn.send({ op: 'hello', shard: 's3', key: 'k', epoch: 2 });
    await hello;
    assert.equal(c.shard, 's3');

    // A listener's error is rethrown in a microtask of its own (caught here
    // instead of failing the run); the other listeners still run.
    const boom = new Error('listener bug');
    const rethrown = [];
    const savedQueueMicrotask = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      try {
        fn();
      } catch (err) {
        rethrown.push(err);
      }
    };
    try {
      c.on('message', () => {
        throw boom;
      });
      const second = nextEvent(c, 'message');
      conn.send({ op: 'message', channel: 'x', data: 'y' });
      assert.equal((await second).data, 'y');
    } finally {
      globalThis.queueMicrotask = savedQueueMicrotask;
    }
    assert.deepEqual(rethrown, [boom]);
  });

  test('status events: Redis down and up on the node, reset by a new connection', TIMEOUT, async () => {
    // The second connection is told at once that Redis is still down, as a
    // node does for a client that connects while it is.
    let connections = 0;
    const node = await FakeNode.start({
      onConnection: (conn) => { if (++connections === 3) conn.send({ op: 'status', redis: 'down' }); },
    });
    const { c, clock } = client(node.url, { random: () => 0 });
    const seen = [];
    c.on('status', (e) => seen.push({ ...e, state: c.redis }));
    const conn = await node.next();
    await nextEvent(c, 'open');
    assert.equal(c.redis, 'up', 'no status event means up');

    const down = nextEvent(c, 'status');
    conn.send({ op: 'status', redis: 'down' });
    assert.deepEqual(await down, { redis: 'down' });
    assert.equal(c.redis, 'down');
    // A value this client does not know is ignored, like an unknown op.
    conn.send({ op: 'status', redis: 'sideways' });
    const up = nextEvent(c, 'status');
    conn.send({ op: 'status', redis: 'up' });
    assert.deepEqual(await up, { redis: 'up' });
    assert.equal(c.redis, 'up');
    assert.deepEqual(seen, [{ redis: 'down', state: 'down' }, { redis: 'up', state: 'up' }]);

    // Down, then the connection drops: the next node says nothing, so its
    // Redis is up as far as the client knows.
    const down2 = nextEvent(c, 'status');
    conn.send({ op: 'status', redis: 'down' });
    await down2;
    const reopened = nextEvent(c, 'open');
    conn.close(1001);
    await nextEvent(c, 'reconnecting');
    clock.advance(0);
    const conn2 = await node.next();
    await reopened;
    assert.equal(c.redis, 'up');

    // A node whose Redis is down says so right after the upgrade.
    const third = nextEvent(c, 'status');
    conn2.close(1001);
    await nextEvent(c, 'reconnecting');
    clock.advance(0);
    await node.next();
    assert.deepEqual(await third, { redis: 'down' });
    assert.equal(c.redis, 'down');
    assert.equal(seen.length, 4);
  });

  test('close() ends it for good', TIMEOUT, async () => {
    const node = await FakeNode.start();
    const { c, clock } = client(node.url);
    const conn = await node.next();
    await nextEvent(c, 'open');
    const closed = nextEvent(c, 'close');
    c.close();
    assert.deepEqual(await closed, { code: 1000, reason: 'client closed', reconnect: false });
    assert.equal(await conn.closed, 1000);
    clock.advance(600000);
    await settle();
    assert.equal(node.count, 1);
    assert.equal(c.state, 'closed');
  });

  test('close() from a close or reconnecting listener stops reconnecting', TIMEOUT, async () => {
    const node = await FakeNode.start();
    for (const name of ['close', 'reconnecting']) {
      const { c, clock } = client(node.url);
      const conn = await node.next();
      await nextEvent(c, 'open');
      const closed = events(c, 'close', 2);
      c.on(name, () => c.close());
      conn.close(1011, 'internal error');
      assert.deepEqual((await closed).map((e) => e.code), [1011, 1000]);
      assert.equal(c.state, 'closed');
      const before = node.count;
      clock.advance(600000);
      await settle();
      assert.equal(node.count, before, `close() from ${name}`);
    }
  });

  test('the WebSocket constructor defaults to globalThis.WebSocket', () => {
    const saved = globalThis.WebSocket;
    globalThis.WebSocket = undefined;
    try {
      assert.throws(() => connect('ws://127.0.0.1:1/ws'), /pass \{WebSocket\}/);
    } finally {
      globalThis.WebSocket = saved;
    }
  });
});
