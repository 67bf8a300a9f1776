// The demo page in a real browser: Debian's chromium, driven by npm
// playwright-core (no browser download), against a real redis-server and two
// real shardcast nodes on loopback.
//  - the page, loaded from node A with a key A owns, connects to shard A;
//  - it subscribes to `news` through the form; `redis-cli PUBLISH` shows up;
//  - node A is killed (-9): the page, whose own origin is now gone, must find
//    shard B from the shard list of A's hello, resubscribe and keep receiving;
//  - a screenshot goes to tests/out/browser/demo.png.
// Browser console errors fail the test, except the failed WebSocket
// connects to the killed node, which are what reconnecting looks like.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startRedis, startNode, waitFor } from '../e2e/harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const WAIT = 20000; // bound of every single wait
const TTL = 1500;
const REHOME = 35000; // bound of the wait for the page to find shard b, see there
const OUT_DIR = fileURLToPath(new URL('../out/browser/', import.meta.url));
const SCREENSHOT = join(OUT_DIR, 'demo.png');

const nodeArgs = (id) => ['--shard-id', id, '--heartbeat-ttl', String(TTL)];

// Texts of a channel's message rows, newest first.
async function messageTexts(page, channel) {
  return page.$$eval(`#messages li.message[data-channel="${channel}"] .data`, (els) => els.map((e) => e.textContent));
}

async function shardOnPage(page) {
  return page.$eval('#shard', (e) => ({ text: e.textContent, source: e.dataset.source }));
}

async function numsub(redis, channel) {
  return Number((await redis.cli('PUBSUB', 'NUMSUB', channel)).trim().split('\n')[1]);
}

test('demo page in chromium: subscribe, receive, survive the loss of its node', {
  skip: !existsSync(CHROMIUM) && `${CHROMIUM} not installed`,
  timeout: 150000,
}, async (t) => {
  const t0 = Date.now();
  const step = (what) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const profile = mkdtempSync(join(tmpdir(), 'sc-chromium-'));
  let context = null;
  let redis = null;
  const nodes = [];
  after(async () => {
    await context?.close().catch(() => {});
    for (const n of nodes) await n.kill().catch(() => {});
    await redis?.stop();
    rmSync(profile, { recursive: true, force: true });
  });

  redis = await startRedis();
  const a = await startNode(redis, nodeArgs('a'));
  nodes.push(a);
  const b = await startNode(redis, nodeArgs('b'));
  nodes.push(b);
  await waitFor(async () => JSON.parse((await b.http('/shards')).body).shards.length === 2,
    { timeout: WAIT, what: '2 shards in the map' });

  // A key that shard a owns, per the node itself.
  let key = null;
  for (let i = 0; i < 200 && !key; i++) {
    const r = await b.http(`/route?key=user-${i}`);
    assert.equal(r.status, 200, r.body);
    if (JSON.parse(r.body).shard === 'a') key = `user-${i}`;
  }
  assert.ok(key, 'no key owned by shard a among 200');
  step(`redis :${redis.port}, node a :${a.port}, node b :${b.port}, key ${key} owned by a`);

  // Chromium as root needs --no-sandbox; the --disable-* flags keep it off
  // the internet (no component updates, sync, field trials...), and the
  // resolver rule makes any host name other than loopback fail to resolve.
  // The profile is a fresh temp dir (Playwright takes it as userDataDir,
  // not as a --user-data-dir argument).
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    viewport: { width: 1100, height: 900 },
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  context.setDefaultTimeout(WAIT);
  const page = context.pages()[0] ?? await context.newPage();
  step(`chromium ${context.browser()?.version() ?? ''} started`);

  // Every console error and uncaught page error, with the time it came.
  let killedAt = Infinity;
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push({ at: Date.now(), text: m.text(), where: m.location()?.url ?? '' });
  });
  page.on('pageerror', (e) => problems.push({ at: Date.now(), text: `uncaught: ${e.message}`, where: '' }));
  page.on('crash', () => problems.push({ at: Date.now(), text: 'page crashed', where: '' }));
  // After the kill, the browser reports each failed connect to node a.
  const deadNode = new RegExp(`WebSocket connection to 'ws://127\\.0\\.0\\.1:${a.port}/ws[^']*' failed`);
  const expected = (p) => p.at >= killedAt && deadNode.test(p.text);

  const pageUrl = `http://127.0.0.1:${a.port}/?key=${encodeURIComponent(key)}`;
  const res = await page.goto(pageUrl);
  assert.equal(res.status(), 200);

  await page.waitForSelector('#status[data-state="open"]');
  await page.waitForFunction(() => {
    const s = document.querySelector('#shard');
    return s.dataset.source === 'hello' && s.textContent === 'a';
  });
  assert.equal(await page.textContent('#endpoint'), `ws://127.0.0.1:${a.port}/ws?key=${key}`);
  step('page open on shard a');

  // Subscribe through the form, as a person would.
  await page.fill('#channel-input', 'news');
  await page.click('#subscribe-btn');
  await page.waitForSelector('#channels li[data-channel="news"]');
  assert.equal(await page.textContent('#publish-cmd'), 'redis-cli PUBLISH news hello');
  // Node a holds the Redis subscription once it has the page's.
  await waitFor(async () => (await numsub(redis, 'news')) === 1, { timeout: WAIT, what: 'news subscribed in Redis' });

  assert.equal((await redis.cli('PUBLISH', 'news', 'hello-1')).trim(), '1');
  await page.waitForSelector('#messages li.message[data-channel="news"]');
  assert.deepEqual(await messageTexts(page, 'news'), ['hello-1']);
  assert.equal(await page.textContent('#messages li.message .channel'), 'news');
  step('hello-1 on the page');

  // Lose node a, the page's own origin, without a goodbye.
  killedAt = Date.now();
  await a.kill();
  step('node a killed');

  // The library backs off between failed attempts (windows of 2, 4, 8, 16 s),
  // and node b redirects the page back to dead node a until a has left b's
  // map (heartbeat TTL): often one lost round, rarely more. REHOME covers
  // the windows of four attempts (2 + 4 + 8 + 16 s) and some slack.
  await page.waitForFunction(() => {
    const s = document.querySelector('#shard');
    return document.querySelector('#status').dataset.state === 'open' &&
      s.dataset.source === 'hello' && s.textContent === 'b';
  }, null, { timeout: REHOME });
  assert.equal(await page.textContent('#endpoint'), `ws://127.0.0.1:${b.port}/ws?key=${key}`);
  step(`page open on shard b, ${Date.now() - killedAt} ms after the kill`);
  // The resubscribe reached node b (node a's subscription died with it).
  await waitFor(async () => (await numsub(redis, 'news')) === 1, { timeout: WAIT, what: 'news resubscribed in Redis' });
  assert.deepEqual(await page.$$eval('#channels li', (els) => els.map((e) => e.dataset.channel)), ['news']);

  assert.equal((await redis.cli('PUBLISH', 'news', 'hello-2')).trim(), '1');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#messages li.message[data-channel="news"] .data')].some((e) => e.textContent === 'hello-2'));
  // Newest first.
  assert.deepEqual(await messageTexts(page, 'news'), ['hello-2', 'hello-1']);
  step('hello-2 on the page');

  const events = await page.$$eval('#events li', (els) => els.map((e) => `${e.dataset.event}: ${e.querySelector('span').textContent}`).reverse());
  t.diagnostic('connection log:');
  for (const l of events) t.diagnostic(`  ${l}`);
  for (const e of ['open', 'hello', 'close', 'reconnecting']) {
    assert.ok(events.some((l) => l.startsWith(`${e}:`)), `no ${e} event in the connection log`);
  }
  assert.ok(events.some((l) => l === `hello: shard b, key ${key}` || l.startsWith(`hello: shard b, key ${key},`)),
    'no hello from shard b in the log');

  mkdirSync(OUT_DIR, { recursive: true });
  rmSync(SCREENSHOT, { force: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  const size = statSync(SCREENSHOT).size;
  assert.ok(size > 0, 'screenshot is empty');
  assert.deepEqual([...readFileSync(SCREENSHOT).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'screenshot is not a PNG');
  step(`screenshot ${SCREENSHOT} (${size} bytes)`);

  const unexpected = problems.filter((p) => !expected(p));
  const tolerated = problems.filter(expected);
  if (tolerated.length) t.diagnostic(`${tolerated.length} expected console error(s) about the killed node, e.g. ${tolerated[0].text}`);
  assert.deepEqual(unexpected.map((p) => `${p.text}${p.where ? ` (${p.where})` : ''}`), [], 'browser console errors');
});
