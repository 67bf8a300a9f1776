// shardcast-cli command line: help texts, exit status 2 for every kind of
// bad usage, each message naming what was wrong.  No network needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { CLI, runCli } from './lib.mjs';

test('--help of the program and both subcommands exits 0 with the exit table', async () => {
  for (const args of [['--help'], ['-h'], ['help'], ['sub', '--help'], ['pub', '--help'], ['help', 'sub']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    const out = r.stdout.toString();
    assert.match(out, /^Usage: shardcast-cli/, args.join(' '));
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ', '5 ', '6 ', '128+N']) assert.ok(out.includes(`  ${code}`), `${args.join(' ')} lacks exit ${code}`);
    assert.match(out, / {2}6 +--connect-timeout passed/, `${args.join(' ')}: exit 6 is the connect timeout`);
  }
  const sub = (await runCli(['sub', '--help'])).stdout.toString();
  for (const opt of ['--key', '--json', '--count', '--timeout', '--connect-timeout', '--max-retries', '--insecure', '--verbose']) assert.ok(sub.includes(opt), opt);
  const pub = (await runCli(['pub', '--help'])).stdout.toString();
  for (const opt of ['--redis', '--redis-password-file', '--connect-timeout']) assert.ok(pub.includes(opt), opt);
});

test('--version prints the version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout.toString(), /^shardcast-cli \d+\.\d+\.\d+\n$/);
});

const usageErrors = [
  [[], /Usage:/],
  [['frobnicate'], /unknown command 'frobnicate'/],
  [['--bogus'], /unknown option '--bogus'/],
  [['sub'], /missing URL and CHANNEL/],
  [['sub', 'ws://127.0.0.1:9/ws'], /missing CHANNEL/],
  [['sub', '--bogus', 'ws://h/ws', 'c'], /unknown option '--bogus'/],
  [['sub', '-x', 'ws://h/ws', 'c'], /unknown option '-x'/],
  [['sub', 'ws://h/ws', 'c', '--count'], /option '--count' needs a value/],
  [['sub', 'ws://h/ws', 'c', '-n'], /option '-n' needs a value/],
  [['sub', '--json=yes', 'ws://h/ws', 'c'], /option '--json' takes no value/],
  [['sub', '--count', '0', 'ws://h/ws', 'c'], /bad value '0' for --count/],
  [['sub', '--count', '3x', 'ws://h/ws', 'c'], /bad value '3x' for --count/],
  [['sub', '--timeout', '-1', 'ws://h/ws', 'c'], /bad value '-1' for --timeout/],
  [['sub', '--timeout', 'soon', 'ws://h/ws', 'c'], /bad value 'soon' for --timeout/],
  [['sub', '--max-retries', '-2', 'ws://h/ws', 'c'], /bad value '-2' for --max-retries/],
  [['sub', '--connect-timeout', '0', 'ws://h/ws', 'c'], /bad value '0' for --connect-timeout/],
  [['sub', '--connect-timeout', 'x', 'ws://h/ws', 'c'], /bad value 'x' for --connect-timeout/],
  [['pub', '--connect-timeout', '-3', 'c', 'm'], /bad value '-3' for --connect-timeout/],
  [['sub', '--key', '', 'ws://h/ws', 'c'], /bad value '' for --key/],
  // The node's key rule (shard/sc_names.h), checked before connecting: the
  // port-9 node is never reached.
  [['sub', '--max-retries', '0', '--key', 'a b', 'ws://127.0.0.1:9/ws', 'c'], /bad value 'a b' for --key/],
  [['sub', '--max-retries', '0', '--key', 'k'.repeat(129), 'ws://127.0.0.1:9/ws', 'c'], /for --key: want 1-128/],
  [['sub', '--max-retries', '0', '--key', 'caf\u00e9', 'ws://127.0.0.1:9/ws', 'c'], /for --key/],
  [['sub', 'http://h/ws', 'c'], /bad URL 'http:\/\/h\/ws'/],
  [['sub', 'ws://h:99999/ws', 'c'], /bad URL/],
  [['sub', 'ws://h/ws#frag', 'c'], /bad URL/],
  [['sub', '--key', 'a', 'ws://h/ws?key=b', 'c'], /already has a key/],
  [['pub'], /missing CHANNEL or MESSAGE/],
  [['pub', 'c', 'm', 'extra'], /too many arguments/],
  [['pub', '--redis'], /option '--redis' needs a value/],
  [['pub', '--redis', 'http://x', 'c', 'm'], /bad value 'http:\/\/x' for --redis/],
  [['pub', '--nope', 'c', 'm'], /unknown option '--nope'/],
];

for (const [args, re] of usageErrors) {
  test(`usage error exits 2: ${args.join(' ') || '(no arguments)'}`, async () => {
    const r = await runCli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stdout.length, 0);
  });
}

test('usage error exits 2: a CHANNEL that is not UTF-8', () => {
  // Node encodes arguments as UTF-8, so let the shell pass the raw byte.
  const r = spawnSync('bash', ['-c', 'exec "$0" sub ws://h/ws "$(printf \'\\377A\')"', CLI], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /not valid UTF-8/);
});
