// shardcast browser client: protocol v1 (docs/protocol.md), documented in docs/client.md.
//
// A plain ES module with no dependencies and no build step. It runs in browsers
// and in Node 20; anything environment-specific (the WebSocket constructor,
// timers, randomness) can be injected so tests control time and sockets.

import { ownerOf } from './shardhash.js';

/** Defaults; every one can be overridden in connect()'s options. Times in ms. */
export const DEFAULTS = Object.freeze({
  // Backoff window of the first reconnect; each failed attempt doubles it.
  // Two seconds spreads the clients of a restarted node over two seconds
  // instead of letting them all arrive in the same instant.
  initialDelay: 2000,
  maxDelay: 30000,
  // A connection that stayed open this long counts as good: the next drop
  // starts the backoff schedule over.
  stableAfter: 5000,
  // Same numbers as the node's keep-alive (docs/protocol.md, "Keep-alive").
  pingInterval: 25000,
  pongTimeout: 10000,
  // A browser can take minutes to give up on an unreachable host.
  connectTimeout: 10000,
  // Immediate reconnects (4200-4299) allowed in a row before backing off, so
  // two nodes that disagree about the shard map cannot bounce a client forever.
  maxRedirects: 5,
});

/**
 * Delay before reconnect attempt number `attempt` (0 for the first): "full
 * jitter", uniform in [0, min(maxDelay, initialDelay * 2^attempt)).
 */
export function backoffDelay(attempt, { initialDelay, maxDelay }, random = Math.random) {
  const window = Math.min(maxDelay, initialDelay * 2 ** attempt);
  return Math.floor(random() * window);
}

/**
 * What a close code asks of the client, by the ranges of docs/protocol.md:
 * 'stop' (4000-4099), 'now' (4200-4299) or 'backoff' (everything else,
 * including 1001 "node shutting down" and 1006 "connection lost").
 */
export function closePolicy(code) {
  if (code >= 4000 && code <= 4099) return 'stop';
  if (code >= 4200 && code <= 4299) return 'now';
  return 'backoff';
}

/** Opens a client to `url` (ws:// or wss://, path /ws). See docs/client.md. */
export function connect(url, options = {}) {
  return new ShardcastClient(url, options);
}

// The local stand-ins for close codes the browser never reports: a dead
// connection is reported with the node's own code for the same condition.
const PING_TIMEOUT = 4101;
const ABNORMAL = 1006;

export class ShardcastClient {
  constructor(url, options = {}) {
    const { WebSocket = globalThis.WebSocket, clock, random = Math.random, key = null } = options;
    if (typeof WebSocket !== 'function') {
      throw new TypeError('shardcast: no WebSocket constructor; pass {WebSocket}');
    }
    this.options = { ...DEFAULTS };
    for (const name of Object.keys(DEFAULTS)) {
      if (options[name] !== undefined) this.options[name] = options[name];
    }
    this.key = key;
    // A string, or a function returning one (or a promise of one), called
    // before every connection: see docs/client.md, "Tokens".
    this._token = options.token ?? null;
    /** Where the client is (or will next be) connected. Changes on redirect and move. */
    this.url = withKey(url, key);
    /** 'connecting' | 'open' | 'reconnecting' | 'closed' */
    this.state = 'connecting';
    /** Shard id of the connected node, from its hello event; null when it sent none. */
    this.shard = null;
    /**
     * 'up' or 'down': the connected node's Redis, as its last status event
     * said. A node says nothing while Redis is up, so every connection starts at 'up'.
     */
    this.redis = 'up';

    this._WebSocket = WebSocket;
    this._clock = clock ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id),
      now: () => Date.now(),
    };
    this._random = random;
    this._entryUrl = this.url;
    this._known = []; // other shards' urls, from the last hello
    this._shards = []; // the shard list of the last hello: {id, url, weight}
    this._subs = new Map(); // channel or pattern -> Set of handlers
    this._listeners = new Map(); // event name -> Set of listeners
    this._pending = new Map(); // request id -> {op, channels, batch}
    this._nextId = 1;
    this._attempt = 0; // backoff attempts since the last good connection
    this._redirects = 0; // immediate reconnects since the last good connection
    this._staleRedirects = 0; // redirects to a node that could not be reached
    this._viaRedirect = false; // the current attempt follows a redirect or move
    this._ws = null;
    this._openedAt = null;
    this._lastRx = 0;
    this._target = null; // url given by a redirect or move, used by the next connect
    this._reconnectTimer = null;
    this._livenessTimer = null;
    this._open();
  }

  /** Channels and patterns currently subscribed, in subscription order. */
  get channels() {
    return [...this._subs.keys()];
  }

  /**
   * Calls handler(data, info) for each message on `channel` (a channel name or
   * a pattern). data is a string, or a Uint8Array when the node sent the
   * payload base64-encoded (it was not valid UTF-8). info is
   * {channel, pattern, data}. Returns a function that removes this handler.
   */
  subscribe(channel, handler) {
    if (typeof channel !== 'string' || channel === '') throw new TypeError('shardcast: channel must be a non-empty string');
    if (typeof handler !== 'function') throw new TypeError('shardcast: handler must be a function');
    let handlers = this._subs.get(channel);
    if (!handlers) {
      handlers = new Set();
      this._subs.set(channel, handlers);
      // When not open, the resubscribe on the next open carries it.
      if (this.state === 'open') this._request('subscribe', [channel]);
    }
    handlers.add(handler);
    return () => this.unsubscribe(channel, handler);
  }

  /** Removes one handler, or all of the channel's handlers when none is given. */
  unsubscribe(channel, handler) {
    const handlers = this._subs.get(channel);
    if (!handlers) return;
    if (handler) {
      handlers.delete(handler);
      if (handlers.size > 0) return;
    }
    this._subs.delete(channel);
    if (this.state === 'open') this._request('unsubscribe', [channel]);
  }

  /** Adds an event listener; returns a function that removes it. */
  on(name, listener) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(listener);
    return () => this.off(name, listener);
  }

  off(name, listener) {
    this._listeners.get(name)?.delete(listener);
  }

  /** Closes for good: no reconnect follows. */
  close() {
    if (this.state === 'closed') return;
    this._stopTimers();
    const ws = this._ws;
    this._ws = null;
    this.state = 'closed';
    ws?.close(1000, 'client closed');
    this._emit('close', { code: 1000, reason: 'client closed', reconnect: false });
  }

  // The token, when there is one, is fetched afresh for every connection
  // (a callback can refresh an expiring one) and never kept in this.url,
  // so it does not show up in events or logs.
  _open() {
    this.state = 'connecting';
    this.shard = null;
    this._openedAt = null;
    const token = this._token;
    if (typeof token !== 'function') {
      this._connect(token);
      return;
    }
    Promise.resolve()
      .then(() => token())
      .then(
        (t) => { if (this.state === 'connecting' && !this._ws) this._connect(t); },
        (err) => {
          if (this.state !== 'connecting') return;
          this._emit('error', { code: 'token_failed', message: String(err?.message ?? err), op: null, channel: null });
          if (this.state === 'connecting') this._closed(ABNORMAL, 'token failed');
        },
      );
  }

  _connect(token) {
    let ws;
    try {
      const url = new URL(this.url);
      if (token) url.searchParams.set('token', token);
      ws = new this._WebSocket(url.href);
    } catch (err) {
      // A browser refuses some urls outright, e.g. ws:// from an https page
      // (a redirect can lead there): count it as a failed attempt.
      this._emit('error', { code: 'connect_failed', message: String(err?.message ?? err), op: null, channel: null });
      // Unless an error listener called close().
      if (this.state === 'connecting') this._closed(ABNORMAL, 'connect failed');
      return;
    }
    this._ws = ws;
    // Every handler checks that its socket is still the current one: a socket
    // the client gave up on may still deliver events, which must be ignored.
    ws.onopen = () => {
      if (ws === this._ws) this._opened();
    };
    ws.onmessage = (event) => {
      if (ws !== this._ws) return;
      this._lastRx = this._clock.now();
      this._dispatch(event.data);
    };
    ws.onclose = (event) => {
      if (ws === this._ws) this._closed(event.code, event.reason);
    };
    // The close event that follows says all there is to say.
    ws.onerror = () => {};
    this._arm(this.options.connectTimeout, () => this._drop(ABNORMAL, 'connect timeout'));
  }

  _opened() {
    this.state = 'open';
    this.redis = 'up';
    this._openedAt = this._clock.now();
    this._lastRx = this._openedAt;
    this._watch();
    if (this._subs.size > 0) this._request('subscribe', this.channels, true);
    this._emit('open', { url: this.url });
  }

  // Dead-connection detection. The browser answers the node's WebSocket pings
  // without telling the page, so a silent link is found with protocol pings:
  // after pingInterval without receiving anything send {"op":"ping"}, and give
  // up if nothing at all arrives within pongTimeout after that.
  _watch() {
    const idle = this._clock.now() - this._lastRx;
    if (idle < this.options.pingInterval) {
      this._arm(this.options.pingInterval - idle, () => this._watch());
      return;
    }
    const sentAt = this._clock.now();
    this._send({ op: 'ping', id: this._nextId++ });
    this._arm(this.options.pongTimeout, () => {
      if (this._lastRx >= sentAt) this._watch();
      else this._drop(PING_TIMEOUT, 'ping timeout');
    });
  }

  // Gives up on the current socket without waiting for its close event, which
  // a dead link may not produce for minutes.
  _drop(code, reason) {
    const ws = this._ws;
    this._ws = null;
    ws.close();
    this._closed(code, reason);
  }

  _closed(code, reason) {
    const opened = this._openedAt !== null;
    if (opened && this._clock.now() - this._openedAt >= this.options.stableAfter) {
      this._attempt = 0;
      this._redirects = 0;
      this._staleRedirects = 0;
    }
    this._stopTimers();
    this._ws = null;
    this._pending.clear();

    // A redirect or move names the next node. A connection that never opened
    // sends the next attempt back to the url given to connect(), so a client
    // sent to a node that has since gone away asks the entry point again.
    // A node that vanished (1006 after a good connection) is likely gone:
    // try the next shard; one that is alive redirects us back at once.
    const failedRedirect = this._viaRedirect && !opened;
    this._viaRedirect = this._target !== null;
    if (this._target) this.url = this._target;
    else if (!opened || code === 1006) this.url = this._nextCandidate();
    this._target = null;

    const policy = closePolicy(code);
    let delay = null;
    if (policy === 'now' && this._redirects < this.options.maxRedirects) {
      this._redirects += 1;
      delay = 0;
    } else if (policy !== 'stop' && failedRedirect && this._staleRedirects < this.options.maxRedirects) {
      // A live node sent us to one that is gone: its map will drop the dead
      // shard within a heartbeat TTL, so retry soon instead of backing off
      // further (bounded, in case the advertised url is simply wrong).
      this._staleRedirects += 1;
      delay = backoffDelay(0, this.options, this._random);
    } else if (policy !== 'stop') {
      delay = backoffDelay(this._attempt, this.options, this._random);
      this._attempt += 1;
    }

    this.state = delay === null ? 'closed' : 'reconnecting';
    this._emit('close', { code, reason, reconnect: delay !== null });
    // A close listener may have called close().
    if (this.state !== 'reconnecting') return;
    // Armed before the event, so that a listener calling close() cancels it.
    this._reconnectTimer = this._clock.setTimeout(() => {
      this._reconnectTimer = null;
      this._open();
    }, delay);
    this._emit('reconnecting', { delay, attempt: this._attempt, url: this.url });
  }

  _dispatch(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this._emit('error', { code: 'bad_json', message: 'the node sent a frame that is not JSON', op: null, channel: null });
      return;
    }
    switch (msg.op) {
      case 'message':
        this._deliver(msg);
        break;
      case 'ok':
        this._pending.delete(msg.id);
        break;
      case 'error':
        this._rejected(msg);
        break;
      case 'missed':
        this._emit('missed', { channels: msg.channels, reason: msg.reason });
        break;
      case 'status':
        // Values from newer nodes are ignored, like unknown ops.
        if (msg.redis !== 'up' && msg.redis !== 'down') break;
        this.redis = msg.redis;
        this._emit('status', { redis: msg.redis });
        break;
      case 'hello':
        this.shard = msg.shard ?? null;
        this._learn(msg);
        this._emit('hello', { shard: msg.shard, key: msg.key, epoch: msg.epoch });
        break;
      case 'redirect':
      case 'move':
        this._redirected(msg);
        break;
      // Other ops come from newer nodes; ignoring them keeps this client working.
    }
  }

  // Keep the key a node picked for us, so reconnects land on the same
  // shard, and remember every shard, so a client whose node and entry point
  // are both gone can still find the cluster.
  _learn(hello) {
    if ((this.key === null || this.key === undefined) && typeof hello.key === 'string') {
      this.key = hello.key;
      this.url = withKey(this.url, this.key);
      this._entryUrl = withKey(this._entryUrl, this.key);
    }
    if (Array.isArray(hello.shards)) {
      this._shards = hello.shards.filter((s) => s && typeof s.url === 'string' && typeof s.id === 'string');
      this._known = this._shards
        .map((s) => { try { return withKey(s.url, this.key); } catch { return null; } })
        .filter(Boolean);
    }
  }

  // The shard that owns our key once the one at `failed` is gone, by the
  // same rendezvous hashing the nodes use (shardhash.js): removing a shard
  // hands each of its keys to that key's next-best shard, so this is where
  // the cluster will send us anyway, without a redirect. null if unknown.
  _ownerWithout(failed) {
    if (this.key === null || this.key === undefined || !this._shards?.length) return null;
    const live = this._shards.filter((s) => {
      try { return withKey(s.url, this.key) !== failed; } catch { return false; }
    });
    try {
      const owner = live.length ? ownerOf(this.key, live.map((s) => ({ id: s.id, url: s.url, weight: s.weight ?? 1 }))) : null;
      return owner ? withKey(owner.url, this.key) : null;
    } catch {
      return null; // a map this client cannot hash (an unknown id form): fall back
    }
  }

  // After a connection that never opened: the entry point first, then each
  // known shard in turn, so one dead node is not retried forever.
  _nextCandidate() {
    const owner = this._ownerWithout(this.url);
    if (owner) return owner;
    const all = [...new Set([this._entryUrl, ...this._known])];
    const i = all.indexOf(this.url);
    return i < 0 ? all[0] : all[(i + 1) % all.length];
  }

  _deliver(msg) {
    const data = msg.encoding === 'base64' ? decodeBase64(msg.data) : msg.data;
    const info = { channel: msg.channel, pattern: msg.pattern ?? null, data };
    // A delivery through a pattern subscription belongs to the pattern's handlers.
    const handlers = this._subs.get(msg.pattern ?? msg.channel);
    if (handlers) for (const handler of [...handlers]) call(handler, data, info);
    this._emit('message', info);
  }

  _rejected(msg) {
    const request = this._pending.get(msg.id);
    this._pending.delete(msg.id);
    if (request?.batch) {
      // Subscribing is all-or-nothing, so one channel the node refuses (another
      // node may have other limits) would cost every subscription. Ask again
      // one channel at a time; only the ones refused then are dropped.
      for (const channel of request.channels) {
        if (this._subs.has(channel)) this._request('subscribe', [channel]);
      }
      return;
    }
    const channel = request?.channels[0] ?? null;
    // The node did not subscribe it; keeping it would also break the next resubscribe.
    if (request?.op === 'subscribe') this._subs.delete(channel);
    this._emit('error', { code: msg.code, message: msg.message, op: request?.op ?? null, channel });
  }

  _redirected(msg) {
    try {
      this._target = withKey(msg.url, this.key);
    } catch {
      this._emit('error', { code: 'bad_redirect', message: `unusable ${msg.op} url: ${msg.url}`, op: msg.op, channel: null });
      return;
    }
    this._emit(msg.op, { url: this._target, shard: msg.shard, epoch: msg.epoch });
  }

  _request(op, channels, batch = false) {
    const id = this._nextId++;
    this._pending.set(id, { op, channels, batch });
    this._send({ op, channels, id });
  }

  _send(msg) {
    this._ws.send(JSON.stringify(msg));
  }

  // One timer watches the current socket: connect timeout, then idle/pong.
  _arm(ms, fn) {
    if (this._livenessTimer !== null) this._clock.clearTimeout(this._livenessTimer);
    this._livenessTimer = this._clock.setTimeout(() => {
      this._livenessTimer = null;
      fn();
    }, ms);
  }

  _stopTimers() {
    if (this._livenessTimer !== null) this._clock.clearTimeout(this._livenessTimer);
    if (this._reconnectTimer !== null) this._clock.clearTimeout(this._reconnectTimer);
    this._livenessTimer = null;
    this._reconnectTimer = null;
  }

  _emit(name, payload) {
    const listeners = this._listeners.get(name);
    if (listeners) for (const listener of [...listeners]) call(listener, payload);
  }
}

// A throwing handler must not stop the other handlers or leave the client
// half-way through a state change; the error is rethrown on its own so it
// still shows up (console, window.onerror, Node's uncaughtException).
function call(fn, ...args) {
  try {
    fn(...args);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

function withKey(url, key) {
  const u = new URL(url);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`shardcast: not a ws:// or wss:// url: ${url}`);
  // A url from the node that already names a key is the node's call.
  if (key !== null && key !== undefined && !u.searchParams.has('key')) u.searchParams.set('key', key);
  return u.href;
}

function decodeBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
