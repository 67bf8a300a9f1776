// Demo page logic. index.html documents the element ids and page parameters.
import { connect } from './shardcast.js';

// Rows kept in #messages and #events; older ones are dropped so a busy
// channel cannot grow the page without bound.
const MAX_ROWS = 300;
const WS_URL = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
// Subscribed on load when the page url has no ?channels=, so that the
// `redis-cli PUBLISH news hello` the page suggests shows up at once.
const DEFAULT_CHANNELS = ['news'];

const $ = (id) => document.getElementById(id);
let client = null;

function start(key, channels) {
  const previous = client;
  client = null; // events of the old client are ignored from here on
  previous?.close();
  const c = connect(WS_URL, { key: key || undefined });
  client = c;
  const listen = (name, fn) => c.on(name, (e) => c === client && fn(e));

  listen('open', () => {
    showConnected(c);
    showEndpoint(c);
    log('open', `connected to ${c.url}`);
  });
  // The node lost Redis (or got it back): the socket is fine, but nothing
  // published can arrive meanwhile, and "connected" alone would hide that.
  listen('status', (e) => {
    showConnected(c);
    log('status', e.redis === 'down'
      ? 'the node lost Redis: nothing can arrive until it is back'
      : 'the node has Redis again');
  });
  listen('hello', (e) => {
    showEndpoint(c);
    log('hello', `shard ${e.shard}${e.key ? `, key ${e.key}` : ''}${e.epoch !== undefined ? `, epoch ${e.epoch}` : ''}`);
  });
  listen('redirect', (e) => log('redirect', `redirected to shard ${e.shard} at ${e.url} (epoch ${e.epoch})`));
  listen('move', (e) => log('move', `shard map changed: moving to shard ${e.shard} at ${e.url} (epoch ${e.epoch})`));
  listen('close', (e) => {
    log('close', `closed ${e.code}${e.reason ? ` (${e.reason})` : ''}`);
    if (!e.reconnect) setStatus('closed', `closed (${e.code})`);
  });
  listen('reconnecting', (e) => {
    const timing = e.delay === 0 ? 'at once' : `in ${(e.delay / 1000).toFixed(1)} s`;
    setStatus('reconnecting', `reconnecting ${timing}`);
    log('reconnecting', `reconnecting to ${e.url} ${timing}`);
  });
  listen('missed', (e) => log('missed', `messages lost on ${e.channels.join(', ')} (${e.reason})`));
  listen('error', (e) => {
    log('error', `${e.code}: ${e.message}${e.channel ? ` [${e.channel}]` : ''}`);
    // A refused subscription is dropped by the client (and from the hint).
    renderChannels();
  });

  setStatus('connecting', 'connecting…');
  showEndpoint(c);
  for (const channel of channels) c.subscribe(channel, showMessage);
  renderChannels();
}

function subscribe(channel) {
  client.subscribe(channel, showMessage);
  renderChannels();
}

function unsubscribe(channel) {
  client.unsubscribe(channel);
  renderChannels();
}

function setStatus(state, text, redis = null) {
  const el = $('status');
  el.dataset.state = state;
  if (redis) el.dataset.redis = redis;
  else delete el.dataset.redis;
  el.textContent = text;
}

function showConnected(c) {
  if (c.redis === 'down') setStatus('open', 'connected, Redis unavailable: nothing can arrive', 'down');
  else setStatus('open', 'connected', 'up');
}

function showEndpoint(c) {
  $('endpoint').textContent = c.url;
  const shard = $('shard');
  shard.dataset.source = c.shard ? 'hello' : 'host';
  shard.textContent = c.shard ?? new URL(c.url).host;
}

function renderChannels() {
  showPublishHint(client.channels.at(-1) ?? null);
  const list = $('channels');
  list.replaceChildren(
    ...client.channels.map((channel) => {
      const button = el('button', { className: 'unsubscribe', type: 'button', title: `Unsubscribe from ${channel}` }, '×');
      button.dataset.channel = channel;
      const li = el('li', {}, channel, button);
      li.dataset.channel = channel;
      return li;
    }),
  );
  rememberInPageUrl();
}

function showMessage(data, { channel, pattern }) {
  const binary = data instanceof Uint8Array;
  const li = el(
    'li',
    { className: 'message' },
    el('time', {}, clockTime()),
    el('span', { className: 'channel' }, pattern ? `${channel} (${pattern})` : channel),
    el('span', { className: 'data' }, binary ? describeBytes(data) : data),
  );
  li.dataset.channel = channel;
  if (pattern) li.dataset.pattern = pattern;
  if (binary) li.dataset.binary = '';
  prepend($('messages'), li);
}

function log(event, text) {
  const li = el('li', {}, el('time', {}, clockTime()), el('span', {}, text));
  li.dataset.event = event;
  prepend($('events'), li);
}

function prepend(list, li) {
  list.prepend(li);
  while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
}

function el(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function clockTime() {
  const now = new Date();
  return `${now.toTimeString().slice(0, 8)}.${String(now.getMilliseconds()).padStart(3, '0')}`;
}

// Payloads that are not UTF-8 arrive as bytes: show their length and a hex dump of the start.
function describeBytes(bytes) {
  const shown = [...bytes.subarray(0, 64)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `[${bytes.length} bytes] ${shown}${bytes.length > 64 ? ' …' : ''}`;
}

// The hint follows the newest subscription the client still holds, so a
// refused or removed channel is never the one suggested.
function showPublishHint(channel) {
  const target = channel === null ? null : channelMatching(channel);
  $('publish-cmd').textContent =
    channel === null ? '# subscribe to a channel first, then publish to it'
      : target === null ? `# publish to a channel that ${channel} matches`
        : `redis-cli PUBLISH ${shellQuote(target)} hello`;
}

// A channel name the Redis glob pattern matches (the name itself when it is
// not a pattern), or null for a negated class, where guessing is not worth it.
function channelMatching(pattern) {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) out += pattern[++i];
    else if (ch === '*') out += 'demo';
    else if (ch === '?') out += 'x';
    else if (ch === '[' && pattern.indexOf(']', i + 2) > 0) {
      if (pattern[i + 1] === '^') return null;
      // The first character of the class (also the start of a range) matches.
      out += pattern[i + 1] === '\\' ? pattern[i + 2] : pattern[i + 1];
      i = pattern.indexOf(']', i + 2);
    } else out += ch;
  }
  return out;
}

// Channel names may hold shell metacharacters ($, ;, quotes...): quote them.
function shellQuote(text) {
  return /^[A-Za-z0-9._:/@%+=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

async function copyPublishCommand() {
  const code = $('publish-cmd');
  const button = $('copy-btn');
  try {
    // Only allowed in secure contexts (https, localhost).
    await navigator.clipboard.writeText(code.textContent);
    button.textContent = 'Copied';
  } catch {
    getSelection().selectAllChildren(code);
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = 'Copy'), 2000);
}

// Keeps ?key= and ?channels= in the address bar so a reload or a shared link
// comes back to the same key and subscriptions.
function rememberInPageUrl() {
  const url = new URL(location.href);
  const key = client.key;
  if (key) url.searchParams.set('key', key);
  else url.searchParams.delete('key');
  // An empty ?channels= keeps "none" across a reload (no parameter means the default).
  url.searchParams.set('channels', client.channels.join(','));
  history.replaceState(null, '', url);
}

const params = new URLSearchParams(location.search);
const initialChannels = params.has('channels')
  ? params.get('channels').split(',').filter(Boolean)
  : DEFAULT_CHANNELS;
$('key-input').value = params.get('key') ?? '';

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  start($('key-input').value.trim(), client.channels);
});
$('channel-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('channel-input');
  const channel = input.value.trim();
  if (!channel) return;
  subscribe(channel);
  input.value = '';
});
$('channels').addEventListener('click', (event) => {
  const button = event.target.closest('button.unsubscribe');
  if (button) unsubscribe(button.dataset.channel);
});
$('copy-btn').addEventListener('click', copyPublishCommand);
$('clear-btn').addEventListener('click', () => $('messages').replaceChildren());

start(params.get('key') ?? '', initialChannels);
