// The demo page in a real browser: Debian's chromium, driven by npm
// playwright-core (no browser download), against a real redis-server and two
// real shardcast nodes on loopback.
//  - the page, loaded from node A with a key A owns and no ?channels=,
//    connects to shard A already subscribed to `news`: the
//    `redis-cli PUBLISH news hello` it suggests shows up without a click;
//  - a channel subscribed through the form becomes the hint; one the node
//    refuses is dropped and never becomes the hint;
//  - a page opened with ?channels= (as scripts/demo's banner links it)
//    subscribes to exactly those;
//  - node A is killed (-9): the page, whose own origin is now gone, must find
//    shard B from the shard list of A's hello, resubscribe and keep receiving;
//  - Redis is killed: the page says nothing can arrive; Redis restarted: the
//    page says connected again and messages arrive;
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

const WEB_ROOT = fileURLToPath(new URL('../../client/web/', import.meta.url));
// The page of this tree, whatever copy is installed; Redis reconnects
// retried within a second.
const nodeArgs = (id) => ['--shard-id', id, '--heartbeat-ttl', String(TTL), '--web-root', WEB_ROOT,
  '--redis-backoff-max', '1000'];

// Texts of a channel's message rows, newest first.
async function messageTexts(page, channel) {
  return page.$$eval(`#messages li.message[data-channel="${channel}"] .data`, (els) => els.map((e) => e.textContent));
}

async function channelsOnPage(page) {
  return page.$$eval('#channels li', (els) => els.map((e) => e.dataset.channel));
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

  mkdirSync(OUT_DIR, { recursive: true });
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
  assert.equal(await page.textContent('#status'), 'connected');
  step('page open on shard a');

  // No click: the page subscribed to news as it opened, and says so.
  assert.deepEqual(await channelsOnPage(page), ['news']);
  assert.equal(await page.textContent('#publish-cmd'), 'redis-cli PUBLISH news hello');
  // Node a holds the Redis subscription once it has the page's.
  await waitFor(async () => (await numsub(redis, 'news')) === 1, { timeout: WAIT, what: 'news subscribed in Redis' });

  assert.equal((await redis.cli('PUBLISH', 'news', 'hello')).trim(), '1');
  await page.waitForSelector('#messages li.message[data-channel="news"]');
  assert.deepEqual(await messageTexts(page, 'news'), ['hello']);
  assert.equal(await page.textContent('#messages li.message .channel'), 'news');
  step('hello on the page without a click');

  // Subscribe through the form, as a person would: the hint follows.
  await page.fill('#channel-input', 'sports');
  await page.click('#subscribe-btn');
  await page.waitForSelector('#channels li[data-channel="sports"]');
  assert.equal(await page.textContent('#publish-cmd'), 'redis-cli PUBLISH sports hello');
  // A channel the node refuses (a space is not allowed) is dropped, and the
  // hint goes back to one that works.
  await page.fill('#channel-input', 'no such');
  await page.click('#subscribe-btn');
  await page.waitForSelector('#events li[data-event="error"]');
  assert.match(await page.textContent('#events li[data-event="error"]'), /bad_channel.*\[no such\]/);
  assert.deepEqual(await channelsOnPage(page), ['news', 'sports']);
  assert.equal(await page.textContent('#publish-cmd'), 'redis-cli PUBLISH sports hello');
  step('refused channel dropped; the hint names sports');

  // The page url scripts/demo prints: ?channels= is honoured as given.
  const other = await context.newPage();
  await other.goto(`http://127.0.0.1:${a.port}/?channels=weather,alerts.*`);
  await other.waitForSelector('#status[data-state="open"]');
  assert.deepEqual(await channelsOnPage(other), ['weather', 'alerts.*']);
  assert.equal(await other.textContent('#publish-cmd'), 'redis-cli PUBLISH alerts.demo hello');
  await waitFor(async () => (await numsub(redis, 'weather')) === 1, { timeout: WAIT, what: 'weather subscribed in Redis' });
  assert.equal((await redis.cli('PUBLISH', 'weather', 'rain')).trim(), '1');
  await other.waitForSelector('#messages li.message[data-channel="weather"]');
  assert.deepEqual(await messageTexts(other, 'weather'), ['rain']);
  assert.equal(await numsub(redis, 'news'), 1, 'the ?channels= page subscribed to news too');
  await other.close();
  step('?channels=weather,alerts.* honoured');

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
  assert.deepEqual(await channelsOnPage(page), ['news', 'sports']);

  assert.equal((await redis.cli('PUBLISH', 'news', 'hello-2')).trim(), '1');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#messages li.message[data-channel="news"] .data')].some((e) => e.textContent === 'hello-2'));
  // Newest first.
  assert.deepEqual(await messageTexts(page, 'news'), ['hello-2', 'hello']);
  step('hello-2 on the page');

  // Redis goes away: the WebSocket is still open, but the page must not
  // just say "connected" while nothing can arrive.
  await redis.kill('SIGKILL');
  await page.waitForSelector('#status[data-state="open"][data-redis="down"]');
  assert.equal(await page.textContent('#status'), 'connected, Redis unavailable: nothing can arrive');
  assert.match(await page.textContent('#events li[data-event="status"]'), /lost Redis/);
  step('Redis killed: the page shows it');
  await page.screenshot({ path: join(OUT_DIR, 'demo-redis-down.png'), fullPage: true });

  await redis.start();
  await page.waitForSelector('#status[data-state="open"][data-redis="up"]', { timeout: REHOME });
  assert.equal(await page.textContent('#status'), 'connected');
  // The node resubscribes (its "missed" event follows); then delivery resumes.
  await waitFor(async () => (await numsub(redis, 'news')) === 1, { timeout: WAIT, what: 'news subscribed in the new Redis' });
  assert.equal((await redis.cli('PUBLISH', 'news', 'hello-3')).trim(), '1');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#messages li.message[data-channel="news"] .data')].some((e) => e.textContent === 'hello-3'));
  assert.equal(await page.textContent('#status'), 'connected');
  step('Redis back: the page says connected, hello-3 arrived');

  const events = await page.$$eval('#events li', (els) => els.map((e) => `${e.dataset.event}: ${e.querySelector('span').textContent}`).reverse());
  t.diagnostic('connection log:');
  for (const l of events) t.diagnostic(`  ${l}`);
  for (const e of ['open', 'hello', 'close', 'reconnecting', 'status', 'missed']) {
    assert.ok(events.some((l) => l.startsWith(`${e}:`)), `no ${e} event in the connection log`);
  }
  assert.ok(events.some((l) => l === `hello: shard b, key ${key}` || l.startsWith(`hello: shard b, key ${key},`)),
    'no hello from shard b in the log');

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
