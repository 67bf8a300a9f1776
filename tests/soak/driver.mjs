// Soak driver for scripts/soak (not part of CI): against one running node
// and its Redis, keep N WebSocket clients connected with steady churn,
// publish at a steady rate through one long-lived redis-cli, count every
// delivery and every loss per client, sample the node's RSS to a CSV, and
// print a summary. Exit status 0 only if nothing was lost, no error was
// counted, and RSS did not grow faster than --max-slope-kib-h over the
// second half of the run.
//
// Every loop here is bounded in count and time: the run ends after
// --minutes, and the driver gives up --grace-s seconds after that whatever
// happens. All traffic goes to the loopback addresses it is given.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, appendFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },              // ws://127.0.0.1:PORT/ws
    http: { type: 'string' },             // http://127.0.0.1:PORT
    'redis-port': { type: 'string' },
    'node-pid': { type: 'string' },
    minutes: { type: 'string', default: '30' },
    clients: { type: 'string', default: '2000' },
    channels: { type: 'string', default: '100' },
    'per-client': { type: 'string', default: '3' },     // channels per client, at most
    rate: { type: 'string', default: '200' },           // messages per second, all channels
    churn: { type: 'string', default: '2' },            // % of clients replaced per second
    payload: { type: 'string', default: '256' },        // bytes of data per message
    'sample-s': { type: 'string', default: '10' },
    csv: { type: 'string' },
    'max-slope-kib-h': { type: 'string', default: '1024' },
    'grace-s': { type: 'string', default: '120' },
  },
});
for (const k of ['url', 'http', 'redis-port', 'node-pid', 'csv'])
  if (!o[k]) { console.error(`driver: --${k} is required`); process.exit(2); }

const MINUTES = Number(o.minutes);
const CLIENTS = Number(o.clients);
const CHANNELS = Number(o.channels);
const PER_CLIENT = Number(o['per-client']);
const RATE = Number(o.rate);
const CHURN = Number(o.churn) / 100;
const PAYLOAD = Number(o.payload);
const SAMPLE_MS = Number(o['sample-s']) * 1000;
const MAX_SLOPE = Number(o['max-slope-kib-h']);
const NODE_PID = Number(o['node-pid']);
const RUN_MS = MINUTES * 60_000;
const HARD_STOP_MS = RUN_MS + Number(o['grace-s']) * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const elapsed = () => Date.now() - t0;
const log = (...a) => console.log(`[soak ${(elapsed() / 1000).toFixed(0).padStart(5)} s]`, ...a);

// The driver must end whatever happens.
setTimeout(() => {
  console.error('driver: hard time limit reached; giving up');
  process.exit(3);
}, HARD_STOP_MS).unref();

const rssKiB = () => Number(readFileSync(`/proc/${NODE_PID}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
const openFds = () => readdirSync(`/proc/${NODE_PID}/fd`).length;

async function metrics() {
  const res = await fetch(`${o.http}/metrics`, { signal: AbortSignal.timeout(5000) });
  const out = {};
  for (const line of (await res.text()).split('\n')) {
    const m = line.match(/^([a-z_]+(?:\{[^}]*\})?) (\S+)$/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

async function healthy() {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${o.http}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return true;
    } catch {}
    await sleep(100);
  }
  return false;
}

// --- publishing -----------------------------------------------------------

const chName = (i) => `soak.${i}`;
const written = new Array(CHANNELS).fill(0);   // messages handed to redis-cli per channel
let publishedTotal = 0;
const pad = 'p'.repeat(Math.max(0, PAYLOAD - 24));
const cli = spawn('redis-cli', ['-p', o['redis-port']], { stdio: ['pipe', 'pipe', 'inherit'] });
let cliReplies = 0;
let cliErrors = 0;
let cliBuf = '';
cli.stdout.on('data', (d) => {
  cliBuf += d;
  const lines = cliBuf.split('\n');
  cliBuf = lines.pop();
  for (const l of lines) {
    if (/^\d+$/.test(l.trim())) cliReplies++;
    else if (l.trim()) { cliErrors++; if (cliErrors <= 5) console.error(`redis-cli: ${l}`); }
  }
});
const cliExit = new Promise((r) => cli.once('exit', (code) => r(code)));
let publishing = true;
let pubTimer = null;
let nextCh = 0;
function startPublishing() {
  const start = Date.now();
  pubTimer = setInterval(() => {
    if (!publishing) return;
    const due = Math.floor(((Date.now() - start) / 1000) * RATE);
    let chunk = '';
    // Round-robin over the channels, each with its own sequence.
    for (; publishedTotal < due; publishedTotal++) {
      const ch = nextCh;
      nextCh = (nextCh + 1) % CHANNELS;
      chunk += `PUBLISH ${chName(ch)} ${written[ch]++}:${pad}\n`;
    }
    if (chunk) cli.stdin.write(chunk);
  }, 20);
}

// --- clients ----------------------------------------------------------------

let nextId = 0;
const live = new Set();
const totals = {
  opened: 0, closedByUs: 0, unexpectedClose: 0, failedOpen: 0, deliveries: 0,
  gaps: 0, gapMessages: 0, lateStart: 0, tailLost: 0, otherOps: 0, closeCodes: {},
};

function pickChannels() {
  const k = 1 + Math.floor(Math.random() * PER_CLIENT);
  const s = new Set();
  while (s.size < k) s.add(Math.floor(Math.random() * CHANNELS));
  return [...s];
}

/**
 * Per channel: `first` and `last` sequence received; `w1` = how many had
 * been written 1 s after the open (everything from then on must arrive).
 */
function openClient() {
  const chans = pickChannels();
  const c = { id: nextId++, chans, st: new Map(), open: false, leaving: false };
  for (const ch of chans) c.st.set(ch, { first: -1, last: -1, w1: Infinity, n: 0 });
  const ws = new WebSocket(`${o.url}?channels=${chans.map(chName).join(',')}`);
  c.ws = ws;
  live.add(c);
  ws.on('open', () => {
    c.open = true;
    totals.opened++;
    setTimeout(() => { for (const ch of chans) c.st.get(ch).w1 = written[ch]; }, 1000).unref();
  });
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.op !== 'message') { totals.otherOps++; return; }
    const ch = Number(m.channel.slice(5));
    const s = c.st.get(ch);
    const seq = Number(m.data.slice(0, m.data.indexOf(':')));
    totals.deliveries++;
    s.n++;
    if (s.first < 0) {
      s.first = seq;
    } else if (seq !== s.last + 1) {
      totals.gaps++;
      totals.gapMessages += Math.max(0, seq - s.last - 1);
    }
    s.last = seq;
  });
  ws.on('error', () => {});
  ws.on('close', (code) => {
    live.delete(c);
    if (!c.open) { totals.failedOpen++; return; }
    if (c.leaving) { totals.closedByUs++; return; }
    totals.unexpectedClose++;
    totals.closeCodes[code] = (totals.closeCodes[code] ?? 0) + 1;
  });
  return c;
}

// A client's losses at the start: messages written from 1 s after its open
// on must all arrive, so a first sequence past that point means some did
// not.
function startLoss(c) {
  let lost = 0;
  for (const s of c.st.values())
    if (s.first >= 0 && s.w1 !== Infinity && s.first > s.w1) lost += s.first - s.w1;
  return lost;
}

function leave(c) {
  c.leaving = true;
  totals.lateStart += startLoss(c);
  c.ws.close(1000);
}

// --- sampling ---------------------------------------------------------------

const samples = [];   // [seconds, rss KiB, open fds, connections]
writeFileSync(o.csv, 't_s,rss_kib,fds,connections,subscriptions,queued_bytes,redis_messages,deliveries,clients_live\n');
async function sample() {
  let m = {};
  try { m = await metrics(); } catch {}
  const rss = rssKiB();
  const fds = openFds();
  const t = elapsed() / 1000;
  samples.push([t, rss, fds, m.shardcast_connections ?? NaN]);
  appendFileSync(o.csv, `${t.toFixed(1)},${rss},${fds},${m.shardcast_connections ?? ''},${m.shardcast_subscriptions ?? ''},` +
    `${m.shardcast_queued_bytes ?? ''},${m.shardcast_redis_messages_total ?? ''},${m.shardcast_deliveries_total ?? ''},${live.size}\n`);
  return { rss, m };
}

function slopeKiBPerHour(pts) {
  const n = pts.length;
  if (n < 3) return NaN;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of pts) { sxy += (x - mx) * (y - my); sxx += (x - mx) ** 2; }
  return (sxy / sxx) * 3600;
}

// --- the run ----------------------------------------------------------------

async function main() {
  if (!(await healthy())) { console.error('driver: node not healthy'); process.exit(1); }
  const m0 = await metrics();
  log(`node pid ${NODE_PID}: ${CLIENTS} clients, ${CHANNELS} channels (1..${PER_CLIENT} each), ` +
    `${RATE} msg/s of ${PAYLOAD} B, churn ${o.churn}%/s, ${MINUTES} min, RSS every ${SAMPLE_MS / 1000} s`);

  // Ramp up: 200 connections at a time.
  for (let i = 0; i < CLIENTS; i += 200) {
    for (let j = i; j < Math.min(CLIENTS, i + 200); j++) openClient();
    await sleep(100);
  }
  for (let i = 0; i < 100 && totals.opened < CLIENTS; i++) await sleep(100);
  log(`${totals.opened} clients connected`);
  startPublishing();
  await sample();
  const sampler = setInterval(() => { sample().catch(() => {}); }, SAMPLE_MS);

  // Churn every second until the end of the run; report every minute.
  const perSecond = Math.max(1, Math.round(CLIENTS * CHURN));
  const end = t0 + RUN_MS;
  let lastReport = Date.now();
  while (Date.now() < end) {
    await sleep(1000);
    const open = [...live].filter((c) => c.open && !c.leaving);
    for (let i = 0; i < perSecond && open.length; i++) {
      const k = Math.floor(Math.random() * open.length);
      leave(open[k]);
      open.splice(k, 1);
    }
    // Top up to the target (replaces the churned ones, still closing, and
    // any lost).
    for (let n = [...live].filter((c) => !c.leaving).length; n < CLIENTS; n++) openClient();
    if (Date.now() - lastReport >= 60_000) {
      lastReport = Date.now();
      const s = samples[samples.length - 1];
      log(`published ${publishedTotal}, deliveries ${totals.deliveries}, live ${live.size}, ` +
        `opened ${totals.opened}, gaps ${totals.gaps}, unexpected closes ${totals.unexpectedClose}, RSS ${s?.[1]} KiB`);
    }
  }

  // Churn stops; the last clients opened get 2 s to connect and receive
  // while publishing goes on, so that they count among those that stayed.
  await sleep(2000);
  // Stop publishing, let the last messages arrive, then count the tail.
  publishing = false;
  clearInterval(pubTimer);
  cli.stdin.end();
  const cliCode = await Promise.race([cliExit, sleep(30_000).then(() => 'timeout')]);
  clearInterval(sampler);
  const last = await sample();
  const stayed = [...live].filter((c) => c.open && !c.leaving);
  const caughtUp = () => stayed.every((c) => [...c.st].every(([ch, s]) => s.last === written[ch] - 1 || written[ch] === 0));
  for (let i = 0; i < 100 && !caughtUp(); i++) await sleep(100);
  let stayedDeliveries = 0;
  for (const c of stayed) {
    totals.lateStart += startLoss(c);
    for (const [ch, s] of c.st) {
      stayedDeliveries += s.n;
      if (s.first >= 0) totals.tailLost += Math.max(0, written[ch] - 1 - s.last);
      else if (s.w1 !== Infinity) totals.tailLost += Math.max(0, written[ch] - s.w1);
    }
  }
  const m1 = await metrics();
  for (const c of [...live]) { c.leaving = true; c.ws.terminate(); }

  // --- summary --------------------------------------------------------------
  const rss = samples.map((s) => s[1]);
  const half = samples.filter((s) => s[0] >= samples[samples.length - 1][0] / 2);
  const slope = slopeKiBPerHour(half);
  const errors = Object.entries(m1).filter(([k, v]) => k.startsWith('shardcast_errors_total') && v > 0);
  const delta = (k) => (m1[k] ?? 0) - (m0[k] ?? 0);
  const lost = totals.gapMessages + totals.lateStart + totals.tailLost;
  const problems = [];
  if (lost > 0) problems.push(`${lost} messages lost`);
  if (totals.unexpectedClose > 0) problems.push(`${totals.unexpectedClose} clients closed by the node`);
  if (errors.length) problems.push(`errors in /metrics: ${errors.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (delta('shardcast_slow_consumer_disconnects_total') > 0) problems.push('slow-consumer disconnects');
  if (delta('shardcast_redis_reconnects_total') > 0) problems.push('Redis reconnects');
  if (cliCode !== 0 || cliErrors > 0) problems.push(`redis-cli exit ${cliCode}, ${cliErrors} error replies`);
  if (cliReplies !== publishedTotal) problems.push(`redis-cli answered ${cliReplies} of ${publishedTotal} PUBLISHes`);
  if (!(slope <= MAX_SLOPE)) problems.push(`RSS slope ${slope.toFixed(0)} KiB/h above ${MAX_SLOPE} KiB/h`);
  if (totals.otherOps > 0) problems.push(`${totals.otherOps} unexpected events (missed, ...)`);
  // Open files beyond one per connection, first sample against last: a
  // leak of sockets or files shows here.
  const spare = (s) => s[2] - s[3];
  const fdFirst = samples[0];
  const fdLast = samples[samples.length - 1];
  if (spare(fdLast) > spare(fdFirst) + 16) problems.push(`open files besides connections grew ${spare(fdFirst)} -> ${spare(fdLast)}`);

  console.log('');
  console.log('== soak summary');
  console.log(`duration          ${(elapsed() / 60000).toFixed(1)} min (publishing ${MINUTES} min)`);
  console.log(`clients           target ${CLIENTS}, connections opened ${totals.opened}, closed by us ${totals.closedByUs}, ` +
    `failed to open ${totals.failedOpen}, closed by the node ${totals.unexpectedClose} ${JSON.stringify(totals.closeCodes)}`);
  console.log(`                  stayed to the end: ${stayed.length}`);
  console.log(`published         ${publishedTotal} (${RATE}/s over ${CHANNELS} channels), redis-cli replies ${cliReplies}`);
  console.log(`node              redis messages ${delta('shardcast_redis_messages_total')}, deliveries ${delta('shardcast_deliveries_total')}, ` +
    `connections accepted ${delta('shardcast_connections_total')}`);
  console.log(`deliveries        received ${totals.deliveries} (by clients that stayed: ${stayedDeliveries})`);
  console.log(`lost              ${lost} (gaps ${totals.gapMessages} in ${totals.gaps} places, late start ${totals.lateStart}, ` +
    `tail of clients that stayed ${totals.tailLost})`);
  console.log(`RSS               first ${rss[0]} KiB, last ${rss[rss.length - 1]} KiB, max ${Math.max(...rss)} KiB, ` +
    `min ${Math.min(...rss)} KiB, ${rss.length} samples -> ${o.csv}`);
  console.log(`open files        first ${fdFirst[2]} (${fdFirst[3]} connections), last ${fdLast[2]} (${fdLast[3]} connections), ` +
    `max ${Math.max(...samples.map((s) => s[2]))}`);
  console.log(`RSS slope         ${slope.toFixed(0)} KiB/hour over the second half (${half.length} samples; limit ${MAX_SLOPE})`);
  console.log(`metrics           errors ${errors.length ? errors.map(([k, v]) => `${k}=${v}`).join(' ') : 'none'}; ` +
    `slow-consumer ${delta('shardcast_slow_consumer_disconnects_total')}, redis reconnects ${delta('shardcast_redis_reconnects_total')}, ` +
    `redis_up ${m1.shardcast_redis_up}, queued bytes ${last.m.shardcast_queued_bytes ?? '?'}`);
  console.log(problems.length ? `RESULT: FAIL (${problems.join('; ')})` : 'RESULT: PASS');
  process.exit(problems.length ? 1 : 0);
}

main().catch((e) => { console.error('driver:', e); process.exit(1); });
