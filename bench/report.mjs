#!/usr/bin/env node
// bench/report.mjs: writes docs/benchmarks.md from one scripts/bench run.
//
//   node bench/report.mjs RESULTS_DIR [OUT.md]     (default: stdout)
//
// Reads RESULTS_DIR/results.jsonl (one shardcast-bench --json object per
// run, labelled by scripts/bench with scenario, server_kind, phase, nodes,
// pass), RESULTS_DIR/meta.json (machine, versions, command line) and
// RESULTS_DIR/perf-*.txt (profiles). Every number in the report comes from
// those files; the prose around them is fixed. No dependencies.

import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const outFile = process.argv[3];
if (!dir) {
  console.error('usage: node bench/report.mjs RESULTS_DIR [OUT.md]');
  process.exit(2);
}
const runs = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const meta = fs.existsSync(path.join(dir, 'meta.json'))
  ? JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) : {};
const SERVERS = ['shardcast', 'node', 'resp'];
const NAMES = { shardcast: 'shardcast', node: 'Node reference', resp: "Redis's own fan-out (RESP)" };
const KiB = 1024;
const MiB = 1024 * 1024;

// ------------------------------------------------------------ formatting
const int = (v) => (v == null || !Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US'));
const fix = (v, d = 2) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(d));
const ms = (us) => (us == null ? '–' : us >= 1e6 ? `${(us / 1e6).toFixed(2)} s`
  : us >= 10e3 ? `${(us / 1e3).toFixed(0)} ms` : `${(us / 1e3).toFixed(2)} ms`);
const si = (v) => (v == null || !Number.isFinite(v) ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} M`
  : v >= 1e4 ? `${(v / 1e3).toFixed(0)} k` : int(v));
// A ratio a / b, where either figure may be a bound on the true value:
// 'upper' (the true value is below it: no ramp step passed) or 'lower' (the
// true value is at least it: every step passed). Returns the ratio with
// '>' / '<' when it is itself a bound, '–' when the bounds leave it open.
function ratio(a, b, bb = null, ab = null) {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  const r = a / b;
  const num = r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
  const up = (ab === 'lower') || (bb === 'upper');   // the true ratio is higher
  const down = (ab === 'upper') || (bb === 'lower'); // the true ratio is lower
  if (up && down) return '–';
  return `${up ? '> ' : down ? '< ' : ''}${num}×`;
}
function table(head, rows) {
  const esc = (c) => String(c ?? '–').replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}
const out = [];
const p = (...l) => out.push(...l);

// ------------------------------------------------------------ derived figures
const find = (f) => runs.filter(f);
const one = (f) => runs.find(f);
// Delivery copies per published message (16,000 for broadcast, 10 for many channels).
const perMsg = (r) => (r.published.count ? r.deliveries.expected / r.published.count : 0);
// Deliveries per second the run sustained: the publishing rate achieved (never
// above the one asked for) times the copies per message.
const sustained = (r) => Math.min(r.rate, r.published.rate || r.rate) * perMsg(r);
// CPU cores the server / Redis used while publishing and delivering.
const cores = (cpu, r) => (r.deliveries.secs > 0 ? cpu / r.deliveries.secs : null);
const srvCores = (r) => (r.server ? cores(r.server.cpu_publish, r) : null);
const redisCores = (r) => (r.server_kind !== 'resp' && r.redis ? cores(r.redis.cpu_publish, r) : null);
// The bench's CPU covers the whole run; spread over its phases (approximate).
const benchCores = (r) => {
  const t = r.connections.connect_secs + (r.server?.hold_secs ?? 0) + 0.2 + r.deliveries.secs;
  return t > 0 ? r.bench.cpu_secs / t : null;
};
// Deliveries per CPU-second of the server, and of the server plus Redis (for
// resp the server is Redis).
const perCpu = (r) => r.server?.deliveries_per_cpu_sec ?? null;
const perCpuAll = (r) => {
  const c = (r.server?.cpu_publish ?? 0) + (r.server_kind === 'resp' ? 0 : r.redis?.cpu_publish ?? 0);
  return c > 0 ? r.deliveries.received / c : null;
};
const why = (r) => (r.fail_reasons?.length ? r.fail_reasons.join(', ') : '');

// A ramp's outcome for (scenario, server): the highest passing step and the
// lowest failing one.
function rampOf(scenario, server) {
  const steps = find((r) => r.scenario === scenario && r.server_kind === server && r.phase === 'ramp')
    .sort((a, b) => a.rate - b.rate);
  if (!steps.length) return null;
  const passed = steps.filter((r) => r.pass);
  const best = passed.length ? passed.reduce((a, b) => (sustained(b) > sustained(a) ? b : a)) : null;
  const failed = steps.filter((r) => !r.pass);
  const firstFail = failed.length ? failed[0] : null;
  return { steps, best, firstFail };
}
// The figure to compare: sustained deliveries/s of the best step. When no
// step passed, the lowest failing step's offered load is an upper bound;
// when no step failed, the best one is a lower bound.
function rampFigure(ramp) {
  if (!ramp) return { v: null, bound: null };
  if (ramp.best) return { v: sustained(ramp.best), bound: ramp.firstFail ? null : 'lower' };
  if (ramp.firstFail) return { v: ramp.firstFail.rate * perMsg(ramp.firstFail), bound: 'upper' };
  return { v: null, bound: null };
}
const boundMark = (f) => (f.bound === 'upper' ? '< ' : f.bound === 'lower' ? '≥ ' : '');
function rampRatio(scenario, base) {
  const s = rampFigure(rampOf(scenario, 'shardcast'));
  const b = rampFigure(rampOf(scenario, base));
  return ratio(s.v, b.v, b.bound, s.bound);
}

// What stopped an idle run short of its request.
function stoppedBy(r) {
  const c = r.connections, f = c.failures;
  const parts = [];
  if (r.limit) parts.push(`the bench's own ${r.limit.reason} at ${int(r.limit.reached)}`);
  if (f.http_503) parts.push(`${int(f.http_503)} refused with HTTP 503 (max-connections)`);
  if (f.reset) parts.push(`${int(f.reset)} reset by the server`);
  if (f.protocol) parts.push(`${int(f.protocol)} refused by the server${r.server_kind === 'resp' ? ' ("max number of clients reached")' : ''}`);
  if (f.timeout) parts.push(`${int(f.timeout)} timed out`);
  if (f.refused) parts.push(`${int(f.refused)} refused (listen backlog)`);
  if (f.http - f.http_503 > 0) parts.push(`${int(f.http - f.http_503)} other HTTP errors`);
  if (f.other) parts.push(`${int(f.other)} other failures`);
  if (r.server_log?.emfile_lines) parts.push(`the server log has ${int(r.server_log.emfile_lines)} line(s) about EMFILE on accept`);
  return parts.length ? parts.join('; ') : 'nothing (all requested connections subscribed)';
}

// ------------------------------------------------------------ header
const dur = meta.end_epoch && meta.start_epoch ? meta.end_epoch - meta.start_epoch : null;
const loads = runs.map((r) => r.loadavg_1m).filter((v) => v != null);
const others = runs.map((r) => r.machine?.other_cores).filter((v) => v != null);
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
p('# Benchmarks', '',
  '<!-- Generated by scripts/bench (bench/report.mjs) from one run\'s results.jsonl.',
  '     Do not edit the numbers by hand: rerun the script. -->', '',
  `Generated by \`${meta.command ?? 'scripts/bench'}\` (${meta.mode ?? '?'} pass) on ${meta.start_date ?? '?'};` +
  ` the pass took ${dur != null ? `${Math.floor(dur / 60)} min ${dur % 60} s` : '?'}.` +
  ' Every figure below comes from that one run; all servers were measured in it, one after another,' +
  ' on the same machine, with the same load generator and the same private Redis.', '');

// ------------------------------------------------------------ targets
const idleMax = (s) => one((r) => r.scenario === 'idle' && r.phase === 'max' && r.server_kind === s);
const idleShards = one((r) => r.scenario === 'idle' && r.phase === 'shards' && r.server_kind === 'shardcast');
const lat = (s) => one((r) => r.scenario === 'broadcast' && r.phase === 'latency' && r.server_kind === s);
const targets = [];
const status = (ok) => (ok == null ? 'not measured' : ok ? '**met**' : '**missed**');
{
  const r = idleMax('shardcast');
  const v = r?.server?.rss_per_conn;
  const sv = idleShards?.server?.rss_per_conn;
  const over = sv != null && sv > 2 * KiB;
  targets.push(['RSS per idle subscribed connection', '≤ 2 KiB',
    r ? `${fix(v / KiB)} KiB at ${int(r.connections.subscribed)} connections on one node` +
      (sv != null ? `; ${fix(sv / KiB)} KiB per connection across ${idleShards.nodes} shards in cluster mode` +
        ' (each client also holds a shard key and a route entry there)' : '') : '–',
    r ? `${status(v <= 2 * KiB)}${over ? ` on one node; over by ${fix(100 * (sv / (2 * KiB) - 1), 1)}% in cluster mode` : ''}` : status(null)]);
}
{
  const r = idleMax('shardcast');
  const fd = meta.fd_limit;
  let ok = null, txt = '–';
  if (r) {
    const c = r.connections;
    const onlyFd = c.failed === c.failures.http_503 && c.closed_after_subscribe === 0 && !r.limit;
    ok = onlyFd && c.subscribed >= fd - 64;
    txt = `${int(c.subscribed)} of ${int(r.conns)} requested with an open-files limit of ${int(fd)}; stopped by: ${stoppedBy(r)}`;
  }
  targets.push(['A node holds connections up to its fd limit, nothing else giving out first',
    `≥ fd limit − 64 (${int((meta.fd_limit ?? 0) - 64)}), only the fd-limit cap refusing`, txt, status(ok)]);
}
{
  const r = idleShards;
  targets.push(['100,000 connections across shards on one machine', '≥ 100,000 subscribed, none failed',
    r ? `${int(r.connections.subscribed)} subscribed, ${int(r.connections.failed)} failed, on ${r.nodes} shards at ${int(r.connections.connect_rate)}/s` : '–',
    status(r ? r.connections.subscribed >= 100000 && r.connections.failed === 0 : null)]);
}
{
  const s = rampFigure(rampOf('broadcast', 'shardcast'));
  for (const [base, want] of [['node', 5], ['resp', 0.5]]) {
    const b = rampFigure(rampOf('broadcast', base));
    let ok = null;
    if (s.v != null && b.v != null) {
      const r = s.v / b.v;
      // A bound decides only when it points the right way.
      const low = s.bound === 'upper' || b.bound === 'lower'; // true ratio may be lower
      const high = s.bound === 'lower' || b.bound === 'upper'; // true ratio may be higher
      if (r >= want && !low) ok = true;
      else if (r < want && !high) ok = false;
    }
    targets.push([`Broadcast at saturation, 16,000 subscribers: shardcast ÷ ${base === 'node' ? 'Node reference' : "Redis's fan-out"}`,
      `≥ ${want}× deliveries/s, zero loss`,
      s.v != null && b.v != null ? `${boundMark(s)}${si(s.v)} ÷ ${boundMark(b)}${si(b.v)} deliveries/s = ${ratio(s.v, b.v, b.bound, s.bound)}` : '–',
      status(ok)]);
  }
}
{
  const a = lat('shardcast'), b = lat('resp');
  const ok = a && b ? a.latency_us.p99 <= b.latency_us.p99 && a.pass : null;
  targets.push(['p99 publish-to-receive at moderate load (2,000 subscribers, 50 msg/s)', "≤ Redis's own fan-out",
    a && b ? `${ms(a.latency_us.p99)} vs ${ms(b.latency_us.p99)} (${ratio(a.latency_us.p99, b.latency_us.p99)})` : '–',
    status(ok)]);
}
p('## Targets', '');
if (meta.mode === 'smoke') p('*Smoke pass: sizes far below the targets\' (this only checks the plumbing).*', '');
p(table(['target', 'required', 'measured in this run', 'status'], targets), '');
const missed = targets.filter((t) => t[3] === '**missed**').length;
p(missed ? `${missed} of ${targets.length} targets missed; see [What bounds each figure](#what-bounds-each-figure).`
  : 'Every measured target met.', '');

// ------------------------------------------------------------ machine
p('## Machine and run', '', table(['', ''], [
  ['CPU', `${meta.cpu ?? '?'}, ${meta.cores ?? '?'} cores (shared by the servers, Redis and the load generator)`],
  ['memory', meta.memory], ['OS / kernel', `${meta.os ?? '?'} / ${meta.kernel ?? '?'}`],
  ['open files (per process, hard)', int(meta.fd_limit)], ['ephemeral ports', meta.port_range],
  ['redis-server', meta.redis], ['node', meta.node],
  ['libwebsockets (Debian package)', meta.lws], ['libuv', meta.libuv],
  ['node-ref: ws / redis (npm)', `${meta.npm_ws} / ${meta.npm_redis}`],
  ['shardcast measured', `${meta.shardcast_source ?? '?'}, RelWithDebInfo`],
  ['repository HEAD at the start', `${meta.head ?? '?'}${meta.bench_dirty && meta.bench_dirty !== 'none' ? ` (bench files not yet committed: ${meta.bench_dirty})` : ''}`],
  ['command', `\`${meta.command}\``],
  ['started / ended', `${meta.start_date} / ${meta.end_date ?? '?'}`],
  ['load average (1/5/15 min) at start / end', `${meta.start_loadavg ?? '?'} / ${meta.end_loadavg ?? '?'}`],
  ['1-min load at each run\'s start', loads.length ? `${fix(Math.min(...loads))} – ${fix(Math.max(...loads))} (median ${fix(median(loads))})` : '–'],
  ['other processes during the runs (cores, ≈)', others.length ? `median ${fix(median(others))}, max ${fix(Math.max(...others))} (of ${meta.cores})` : '–'],
  ['profiler', meta.perf],
]), '',
'All traffic is loopback. Redis, the server under test and `shardcast-bench` share the machine\'s cores, so',
'a run itself keeps the load average near the core count. *Other processes* is the machine\'s busy CPU during',
'each run (from /proc/stat) minus what the run\'s own processes used: work on the machine that was not this',
'pass (other builds and tests on the same cores); where it is high, that run\'s figures are lower than the',
'machine allows.', '');

// ------------------------------------------------------------ idle
p('## Idle connections', '',
  '### One node, more connections than its open-files limit allows', '',
  'A fresh server process; the bench asks for the hard open-files limit + 1,000 connections, each subscribed',
  'to one channel, then holds them idle. RSS per connection is (RSS with everyone subscribed − RSS before) ÷',
  'subscribed connections.', '');
{
  const rows = [];
  for (const s of SERVERS) {
    const r = idleMax(s);
    if (!r) continue;
    const sv = r.server ?? {};
    rows.push([NAMES[s], int(r.conns), int(r.connections.subscribed), int(r.connections.connect_rate),
      fix(sv.rss_before / MiB, 1), fix(sv.rss_subscribed / MiB, 1), fix(sv.rss_per_conn / KiB),
      sv.hold_secs ? fix((100 * sv.cpu_idle) / sv.hold_secs, 1) : '–', stoppedBy(r)]);
  }
  p(table(['server', 'requested', 'subscribed', 'connect rate /s', 'RSS before MiB', 'RSS subscribed MiB',
    'RSS/conn KiB', 'idle CPU % of a core', 'what stopped it'], rows), '');
  const a = idleMax('shardcast');
  if (a) {
    const rr = [];
    for (const b of ['node', 'resp']) {
      const x = idleMax(b);
      if (!x) continue;
      rr.push([`shardcast ÷ ${NAMES[b]}`, ratio(a.server?.rss_per_conn, x.server?.rss_per_conn),
        ratio(a.connections.connect_rate, x.connections.connect_rate)]);
    }
    if (rr.length) p(table(['ratio', 'RSS/conn (lower is better)', 'connect rate (higher is better)'], rr), '');
  }
}
if (idleShards) {
  const r = idleShards, sv = r.server ?? {};
  p('### 100,000 connections across shards', '',
    `${r.nodes} shardcast processes started as shards s1..s${r.nodes} of one shard map (\`--shard-id\`), each with`,
    'its own open-files limit; the bench (split over several processes with `--fork`, source addresses',
    '127.0.0.2-9 with `--src`) spreads the connections round-robin; clients carry no key, so each shard',
    'gives them one it owns. RSS is summed over the shard processes.', '',
    table(['shards', 'requested', 'subscribed', 'failed', 'connect rate /s', 'RSS before MiB (all shards)',
      'RSS subscribed MiB', 'RSS/conn KiB', 'idle CPU % of a core (all shards)', 'what stopped it'],
    [[r.nodes, int(r.conns), int(r.connections.subscribed), int(r.connections.failed),
      int(r.connections.connect_rate), fix(sv.rss_before / MiB, 1), fix(sv.rss_subscribed / MiB, 1),
      fix(sv.rss_per_conn / KiB), sv.hold_secs ? fix((100 * sv.cpu_idle) / sv.hold_secs, 1) : '–',
      stoppedBy(r)]]), '');
}

// ------------------------------------------------------------ ramps
function rampSection(scenario, title, intro, servers) {
  const present = servers.filter((s) => rampOf(scenario, s));
  if (!present.length) return;
  p(`### ${title}`, '', ...intro, '');
  const rows = [];
  for (const s of present) {
    const ramp = rampOf(scenario, s), b = ramp.best, f = ramp.firstFail;
    const fig = rampFigure(ramp);
    rows.push([NAMES[s] + (ramp.steps[0].nodes > 1 ? ` (${ramp.steps[0].nodes} processes)` : ''),
      b ? `${fix(b.rate, b.rate < 10 ? 1 : 0)}${f ? '' : ' (highest tried)'}` : `none (lowest tried ${f?.rate})`,
      `${boundMark(fig)}${si(fig.v)}`, b ? si(perCpu(b)) : '–', b ? si(perCpuAll(b)) : '–',
      b ? ms(b.latency_us.p99) : '–',
      f ? `${fix(f.rate, f.rate < 10 ? 1 : 0)} msg/s: ${why(f)}` : 'none (highest rate tried passed)',
      s === 'shardcast' ? '' : rampRatio(scenario, s)]);
  }
  p(table(['server', 'highest sustained msg/s', 'sustained deliveries/s', 'deliveries per server CPU-s',
    'per CPU-s incl. Redis', 'p99 there', 'first rate not sustained', 'shardcast ÷ this'], rows), '');
  const steps = [];
  for (const s of present) {
    for (const r of rampOf(scenario, s).steps) {
      steps.push([s, fix(r.rate, r.rate < 10 ? 1 : 0), si(r.rate * perMsg(r)), `${int(r.deliveries.lost)}`,
        ms(r.latency_us.p50), ms(r.latency_us.p99), si(r.deliveries.per_sec), fix(srvCores(r)),
        r.server_kind === 'resp' ? '(is the server)' : fix(redisCores(r)), fix(benchCores(r)),
        fix(r.machine?.other_cores), fix(r.loadavg_1m), r.pass ? 'yes' : `no: ${why(r)}`]);
    }
  }
  p('<details><summary>every step</summary>', '',
    table(['server', 'msg/s', 'offered deliveries/s', 'lost', 'p50', 'p99', 'measured deliveries/s',
      'server cores', 'Redis cores', 'bench cores (≈)', 'other processes, cores (≈)', 'load 1m', 'sustained'], steps), '',
    '*Server / Redis cores*: their CPU time while publishing and delivering ÷ that time. *Bench cores*: the',
    'bench\'s CPU over the whole run ÷ its phases. *Other processes*: the machine\'s busy CPU over the run',
    '(/proc/stat) minus the server\'s, Redis\'s and the bench\'s: work on the machine that was not this run.', '',
    '</details>', '');
}

p('## Broadcast', '');
{
  const rows = [];
  for (const s of SERVERS) {
    const r = lat(s);
    if (!r) continue;
    const l = r.latency_us;
    rows.push([NAMES[s], int(r.connections.subscribed), `${int(r.deliveries.lost)} / ${int(r.deliveries.expected)}`,
      ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max), fix(srvCores(r))]);
  }
  if (rows.length) {
    const r0 = lat(SERVERS.find((s) => lat(s)));
    p('### Latency at moderate load', '',
      `${int(r0.conns)} subscribers of one channel, ${fix(r0.rate, 0)} messages/s of ${r0.size} bytes for`,
      `${fix(r0.published.secs + 1 / r0.rate, 0)} s; publish-to-receive on one monotonic clock, the payload stamped when the`,
      'PUBLISH is queued in the bench.', '',
      table(['server', 'subscribed', 'lost / expected', 'p50', 'p90', 'p99', 'p99.9', 'max', 'server cores'], rows), '');
    const a = lat('shardcast');
    if (a) {
      const rr = ['node', 'resp'].filter((b) => lat(b)).map((b) => [`shardcast ÷ ${NAMES[b]}`,
        ratio(a.latency_us.p50, lat(b).latency_us.p50), ratio(a.latency_us.p99, lat(b).latency_us.p99)]);
      if (rr.length) p(table(['ratio (lower is better)', 'p50', 'p99'], rr), '');
    }
  }
}
rampSection('broadcast', 'Saturation: 16,000 subscribers of one channel', [
  'One channel, 64-byte messages at rising rates; a step is *sustained* when every subscriber got every',
  'message (nothing lost within the drain bound), p99 < 1 s, and the publisher kept at least 95% of the rate',
  '(Redis serves PUBLISH on the loop that also fans out, so a saturated Redis slows the publisher down instead',
  'of queueing the messages, and the latency of messages never sent would not show). The ramp multiplies the rate until a step is',
  'not sustained, then bisects (geometrically) between the last sustained and the first failed rate.',
  '*Sustained deliveries/s* = achieved publish rate × subscribers, at the highest sustained step.',
  'Resp\'s "server" is Redis itself, which also serves the PUBLISH commands.'], SERVERS);
rampSection('many-channels', 'Many channels: 10,000 channels × 10 subscribers', [
  '10,000 connections, each subscribed to 10 channels, 10 subscribers per channel; every round of messages',
  'publishes once to each channel in a scrambled order (`shardcast-bench --random`), rising rates as above.'],
SERVERS);
rampSection('cluster', 'Cluster: the broadcast ramp against 2 processes', [
  'The 16,000 subscribers of one channel spread round-robin over 2 processes: for shardcast, 2 shards of one',
  'shard map (`--shard-id`), for the Node reference 2 independent node-ref processes. Redis\'s fan-out is one',
  'process, so it has no cluster run; the ratio to it below uses its single-process broadcast figure.',
  'The ramp starts at the rate the single process sustained and doubles from there.'], ['shardcast', 'node']);
{
  const c = rampFigure(rampOf('cluster', 'shardcast'));
  const r = rampFigure(rampOf('broadcast', 'resp'));
  const s1 = rampFigure(rampOf('broadcast', 'shardcast'));
  if (c.v != null && (r.v != null || s1.v != null)) {
    p(table(['cluster figure', 'value'], [
      ['shardcast, 2 shards ÷ 1 shardcast node', ratio(c.v, s1.v, s1.bound, c.bound)],
      ["shardcast, 2 shards ÷ Redis's fan-out (1 process)", ratio(c.v, r.v, r.bound, c.bound)]]), '');
  }
}

// ------------------------------------------------------------ what bounds
p('## What bounds each figure', '');
const bounds = [];
{
  const r = idleMax('shardcast');
  if (r) {
    bounds.push(`**Idle connections, one node.** ${int(r.connections.subscribed)} connections subscribed; what stopped the` +
      ` rest: ${stoppedBy(r)}. The node's default \`--max-connections\` is the open-files limit − 64` +
      ` (${int(meta.fd_limit - 64)} here): past it the upgrade is answered with HTTP 503, so the limit that` +
      ' ends the run is the per-process open-files limit itself (the hard limit is fixed for this machine),' +
      ' not memory or ports. RSS per connection is the per-connection state of the node plus what the' +
      ` allocator keeps around it: ${fix(r.server.rss_per_conn / KiB)} KiB here` +
      (idleMax('node') ? `, against ${fix(idleMax('node').server.rss_per_conn / KiB)} KiB for the Node reference` : '') +
      (idleMax('resp') ? ` and ${fix(idleMax('resp').server.rss_per_conn / KiB)} KiB for a Redis RESP subscriber` : '') + '.');
  }
  if (idleShards) {
    bounds.push(`**100,000 across shards.** ${idleShards.nodes} processes, ${int(Math.ceil(idleShards.conns / idleShards.nodes))}` +
      ' connections each, stay under each process\'s open-files limit; the bench needs several processes' +
      ' for the same reason and 8 loopback source addresses for local ports. The connect rate' +
      ` (${int(idleShards.connections.connect_rate)}/s) is shared by the shards, the bench and Redis on` +
      ` ${meta.cores} cores.`);
  }
}
// Shares by object in the profile of a scenario (perf-NAME.txt), if any.
function profileShares(name) {
  const f = path.join(dir, `perf-${name}.txt`);
  if (!fs.existsSync(f)) return null;
  const txt = fs.readFileSync(f, 'utf8');
  const part = txt.split(/^## /m).find((x) => x.startsWith('by object\n'));
  if (!part) return null;
  const shares = {};
  for (const m of part.matchAll(/^\s*([0-9.]+)%\s+(\S+)/gm)) shares[m[2]] = +m[1];
  const pick = (re) => Object.entries(shares).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
  const self = txt.split(/^## /m).find((x) => x.startsWith('self\n')) ?? '';
  const own = [...self.matchAll(/^\s*([0-9.]+)%\s+shardcast\s+\[\.\]\s+(\S+)/gm)].slice(0, 3)
    .map((m) => `${m[2]} ${fix(+m[1], 0)}%`);
  return { kernel: pick(/kernel/), shardcast: pick(/^shardcast$/), lws: pick(/libwebsockets/),
    libc: pick(/^libc/), other: 100 - pick(/kernel|^shardcast$|libwebsockets|^libc/), own };
}
function profileNote(name) {
  const sh = profileShares(name);
  if (!sh) return '';
  return ` Its profile ([below](#profile-shardcast-${name})) puts ${fix(sh.kernel, 0)}% of the server's samples in the kernel` +
    ' (the writev of each connection\'s frames: TCP over loopback, which also runs the receiving side\'s' +
    ` softirq in the sender's time), ${fix(sh.shardcast, 0)}% in shardcast itself` +
    (sh.own.length ? ` (by self time: ${sh.own.join(', ')})` : '') +
    `, ${fix(sh.lws, 0)}% in libwebsockets and ${fix(sh.libc + sh.other, 0)}% elsewhere (libc, libuv, hiredis).`;
}
function rampBound(scenario, label) {
  const ramp = rampOf(scenario, 'shardcast');
  if (!ramp) return;
  const f = ramp.firstFail, b = ramp.best;
  if (!f) {
    bounds.push(`**${label}.** Every rate tried was sustained (highest ${b?.rate} msg/s): the ramp's bound, not the node's, ends it.`);
    return;
  }
  const sc = srvCores(f), rc = redisCores(f), bc = benchCores(f);
  const other = f.machine?.other_cores ?? 0;
  const total = (sc ?? 0) + (rc ?? 0) + (bc ?? 0);
  const per = f.nodes > 1 ? ` (${f.nodes} processes)` : '';
  const parts = `server${per} ${fix(sc)}, Redis ${fix(rc)}, bench ≈ ${fix(bc)}, other processes ≈ ${fix(other)} cores` +
    ` (load average ${fix(f.loadavg_1m)} at the step's start)`;
  let verdict;
  if (sc != null && sc >= 0.85 * f.nodes) {
    verdict = `${parts}: the server's event loop${f.nodes > 1 ? 's were' : ' was'} busy all the time, so shardcast's own CPU cost per delivery bounds it`;
  } else if (total + other >= 0.85 * meta.cores) {
    verdict = `${parts}: the machine's ${meta.cores} cores were used up` +
      (other >= 0.3 ? `, ${fix(other)} of them by work outside this run,` : '') +
      ' and the server, which needs a core of its own to keep up, did not get one';
  } else {
    verdict = `${parts}: no process had a full core and the cores were not used up, so waiting (not CPU) bounds it`;
  }
  // Steps of this ramp where the node dropped its Redis link.
  const resets = ramp.steps.filter((r) => (r.server_log?.redis_link_lost ?? 0) > 0 || r.frames.missed > 0);
  let resetNote = '';
  if (resets.length) {
    const t = resets.reduce((a, r) => a + (r.server_log?.redis_timeout ?? 0), 0);
    const lost = resets.reduce((a, r) => a + (r.server_log?.redis_link_lost ?? 0), 0);
    resetNote = ` **Loss here is the node's own doing**: at ${resets.map((r) => `${r.rate}`).join(', ')} msg/s it logged its Redis` +
      ` connection lost ${lost}× (${t}× "no answer within redis-timeout") and sent its clients` +
      ` ${int(resets.reduce((a, r) => a + r.frames.missed, 0))} \`missed\` events after resubscribing. Redis was up:` +
      ' the node had fallen behind the stream of messages, its liveness probe (a reply on the same Pub/Sub' +
      ' connection) waited behind that backlog for longer than `--redis-timeout`, and the node dropped a busy' +
      ' link for a dead one, losing what was published until it had resubscribed.';
  }
  bounds.push(`**${label}.** Highest sustained: ${b ? `${b.rate} msg/s (${si(sustained(b))} deliveries/s, ${si(perCpu(b))} per server CPU-second)` : 'none'};` +
    ` at ${f.rate} msg/s (${si(f.rate * perMsg(f))} deliveries/s offered) it was not sustained (${why(f)}); there ${verdict}.` +
    profileNote(scenario) + resetNote);
}
rampBound('broadcast', 'Broadcast, 16,000 subscribers');
{
  const a = lat('shardcast'), b = lat('resp');
  if (a && b) {
    bounds.push(`**Latency at moderate load.** shardcast p99 ${ms(a.latency_us.p99)} (p50 ${ms(a.latency_us.p50)}) against` +
      ` ${ms(b.latency_us.p99)} (p50 ${ms(b.latency_us.p50)}) for Redis's own fan-out. Each message reaches` +
      ` ${int(a.conns)} sockets; the last subscriber written waits for all the writes before it, in the server` +
      ' and in the bench that reads them, so the tail is the time to write and read one message to every' +
      ` subscriber (server cores used: ${fix(srvCores(a))}; Redis, as the server: ${fix(srvCores(b))}).`);
  }
}
rampBound('many-channels', 'Many channels');
rampBound('cluster', 'Cluster, 2 shards');
p(...bounds.flatMap((b) => [b, '']));

// ------------------------------------------------------------ profiles
const profiles = fs.readdirSync(dir).filter((f) => /^perf-.*\.txt$/.test(f)).sort();
for (const f of profiles) {
  const name = f.replace(/^perf-|\.txt$/g, '');
  const prun = one((r) => r.phase === 'profile' && r.scenario === name);
  const txt = fs.readFileSync(path.join(dir, f), 'utf8');
  const sect = (h) => {
    const m = txt.split(/^## /m).find((s) => s.startsWith(`${h}\n`));
    return m ? m.slice(h.length + 1).trimEnd() : '';
  };
  const samples = /# Samples: (\S+)/.exec(sect('samples'));
  const sampleLine = samples ? `${samples[1]} samples` : '';
  p(`### Profile: shardcast, ${name}`, '',
    prun ? `\`perf record --call-graph dwarf -F 299 -p <shardcast>\` during one extra run at ${prun.rate} msg/s` +
      ` (${si(prun.rate * perMsg(prun))} deliveries/s offered; this run: lost ${int(prun.deliveries.lost)},` +
      ` p99 ${ms(prun.latency_us.p99)}, server cores ${fix(srvCores(prun))}), not counted in the tables above.` +
      ' Sampling starts at the first PUBLISH Redis sees and lasts as long as the step publishes, so opening' +
      ' and closing the connections is not in it.' + (sampleLine ? ` ${sampleLine}.` : '') : '', '',
    'Self time (`perf report --no-children --sort dso,sym`):', '', '```', sect('self'), '```', '',
    'Inclusive time of named functions (`perf report --children --sort sym`):', '', '```', sect('inclusive'), '```', '',
    'By object:', '', '```', sect('by object'), '```', '');
  if (/libwebsockets\.so\.\d+\s+\[\.\] 0x/.test(sect('self'))) {
    p('Addresses in libwebsockets without a name are its static functions (the Debian package ships no debug' +
      ' symbols); `objdump -d` of the library at those offsets shows which.', '');
  }
}

// ------------------------------------------------------------ all runs
p('## Every run', '', '<details><summary>results.jsonl of this pass, one row per shardcast-bench run</summary>', '',
  table(['scenario', 'server', 'phase', 'procs', 'conns', 'subscribed', 'msg/s', 'lost / expected', 'p50', 'p99',
    'deliveries/s', 'server CPU-s', 'deliveries / server CPU-s', 'RSS/conn KiB', 'Redis link lost', 'load 1m', 'sustained'],
  runs.map((r) => [r.scenario, r.server_kind, r.phase, r.nodes, int(r.conns), int(r.connections.subscribed),
    r.published.count ? fix(r.rate, r.rate < 10 ? 1 : 0) : '–', `${int(r.deliveries.lost)} / ${int(r.deliveries.expected)}`,
    r.published.count ? ms(r.latency_us.p50) : '–', r.published.count ? ms(r.latency_us.p99) : '–',
    si(r.deliveries.per_sec), fix(r.server?.cpu_publish), si(perCpu(r)),
    r.scenario === 'idle' ? fix((r.server?.rss_per_conn ?? 0) / KiB) : '–',
    r.server_log?.redis_link_lost ? `${r.server_log.redis_link_lost}×` : '', fix(r.loadavg_1m), r.pass ? 'yes' : 'no'])), '', '</details>', '',
  'Reproduce: `scripts/bench` (quick, about 5 minutes) or `scripts/bench --full`; both rewrite this file.',
  'The raw results stay in `build-bench/bench-results/DATE/` (results.jsonl, meta.json, server logs, profiles).', '');

const text = out.join('\n');
if (outFile) fs.writeFileSync(outFile, text);
else process.stdout.write(text);
