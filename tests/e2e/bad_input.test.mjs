// Bad requests get an error reply and leave the connection usable; frames
// the protocol forbids close the connection with the documented code; a
// bystander keeps receiving throughout.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startNode, client, waitFor } from './harness.mjs';

let redis, node, bystander, seq = 0;
before(async () => {
  redis = await startRedis();
  node = await startNode(redis, ['--max-channels', '8', '--max-message-size', '4096']);
  bystander = client(`${node.url}?channels=calm`);
  await bystander.opened;
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'calm')).split('\n')[1] === '1');
});
after(async () => { bystander.terminate(); try { await node.stop(); } finally { await redis.stop(); } });

async function bystanderStillServed() {
  const data = `still-${++seq}`;
  await redis.cli('PUBLISH', 'calm', data);
  assert.equal((await bystander.next((m) => m.op === 'message')).data, data);
}

async function usable(c) {
  assert.deepEqual(await c.request({ op: 'ping', id: 'alive' }), { op: 'ok', id: 'alive' });
}

test('error replies keep the connection usable', async () => {
  const c = client(node.url);
  await c.opened;
  const cases = [
    ['{not json', 'bad_json', undefined],
    ['[1,2,3]', 'bad_json', undefined],
    [JSON.stringify({ op: 'dance', id: 1 }), 'unknown_op', 1],
    [JSON.stringify({ id: 2 }), 'bad_request', 2],
    [JSON.stringify({ op: 'subscribe', channels: 'news', id: 3 }), 'bad_request', 3],
    [JSON.stringify({ op: 'subscribe', channels: [], id: 4 }), 'bad_request', 4],
    [JSON.stringify({ op: 'subscribe', channels: [1], id: 5 }), 'bad_request', 5],
    [JSON.stringify({ op: 'subscribe', channels: ['has space'], id: 6 }), 'bad_channel', 6],
    [JSON.stringify({ op: 'subscribe', channels: ['x'.repeat(129)], id: 7 }), 'bad_channel', 7],
    [JSON.stringify({ op: 'subscribe', channels: Array.from({ length: 9 }, (_, i) => `c${i}`), id: 8 }), 'too_many_channels', 8],
    [JSON.stringify({ op: 'subscribe', channels: Array.from({ length: 5000 }, (_, i) => `c${i}`), id: 9 }).slice(0, 4000) + '"]}', 'bad_json', undefined],
    [JSON.stringify({ op: 'ping', id: { nested: true } }), 'bad_request', undefined],
    ['['.repeat(3000), 'bad_json', undefined],
    // Valid JSON with an integer jansson cannot hold: a bad request, not
    // bad JSON; an id that cannot be echoed unchanged is not echoed.
    ['{"op":"ping","id":9223372036854775808}', 'bad_request', undefined],
    ['{"op":"ping","id":-9223372036854775809}', 'bad_request', undefined],
    ['{"op":"ping","id":"s","n":18446744073709551616}', 'bad_request', 's'],
    [JSON.stringify({ op: 'subscribe', channels: ['a', ''], id: 13 }), 'bad_channel', 13],
  ];
  for (const [text, code, id] of cases) {
    c.send(text);
    const r = await c.next((m) => m.op === 'ok' || m.op === 'error');
    assert.equal(r.op, 'error', text.slice(0, 60));
    assert.equal(r.code, code, text.slice(0, 60));
    assert.equal(r.id, id);
    assert.equal(typeof r.message, 'string');
  }
  // The channel limit counts what the connection already holds.
  assert.equal((await c.request({ op: 'subscribe', channels: ['a', 'b', 'c', 'd', 'e', 'f'], id: 10 })).op, 'ok');
  const r = await c.request({ op: 'subscribe', channels: ['g', 'h', 'i'], id: 11 });
  assert.equal(r.code, 'too_many_channels');
  // All or nothing: none of g, h, i was taken, so two more still fit.
  assert.equal((await c.request({ op: 'subscribe', channels: ['g', 'h'], id: 12 })).op, 'ok');
  await usable(c);
  await bystanderStillServed();
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="bad_json"}'] >= 4);
  assert.ok(m['shardcast_errors_total{kind="too_many_channels"}'] >= 2);
  c.terminate();
});

test('a message over max-message-size closes with 1009', async () => {
  const c = client(node.url);
  await c.opened;
  c.send(JSON.stringify({ op: 'ping', pad: 'x'.repeat(5000) }));
  assert.equal((await c.closed).code, 1009);
  await bystanderStillServed();
});

test('a fragmented message over the limit closes with 1009', async () => {
  const c = client(node.url);
  await c.opened;
  const part = 'x'.repeat(1500);
  c.send(`{"op":"ping","pad":"${part}`, { fin: false });
  c.send(part, { fin: false });
  c.send(`${part}"}`, { fin: true });
  assert.equal((await c.closed).code, 1009);
  await bystanderStillServed();
});

test('a fragmented message within the limit is reassembled', async () => {
  const c = client(node.url);
  await c.opened;
  c.send('{"op":"ping",', { fin: false });
  c.send('"pad":"' + 'y'.repeat(1000) + '",', { fin: false });
  c.send('"id":77}', { fin: true });
  assert.deepEqual(await c.next((m) => m.op === 'ok'), { op: 'ok', id: 77 });
  c.terminate();
});

test('a binary frame closes with 1003', async () => {
  const c = client(node.url);
  await c.opened;
  c.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal((await c.closed).code, 1003);
  await bystanderStillServed();
});

test('invalid UTF-8 in a text frame closes with 1007', async () => {
  const c = client(node.url, { skipUTF8Validation: true });
  await c.opened;
  // ws validates outgoing text only when asked; send raw bytes as "text".
  c.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  assert.equal((await c.closed).code, 1007);
  await bystanderStillServed();
});

test('a bad ?channels= list is refused at the handshake with 400', async () => {
  const c = client(`${node.url}?channels=ok,${encodeURIComponent('bad name')}`);
  await assert.rejects(c.opened, (e) => e.status === 400);
  const d = client(node.url.replace('/ws', '/other'));
  await assert.rejects(d.opened, (e) => e.status === 404);
  await bystanderStillServed();
});

// ?channels= follows the rules of a subscribe request: an empty name
// (two commas, or one at either end) is bad_channel, refused at the
// handshake like any other bad name; the limit is the node's channel limit.
test('an empty name in ?channels= is refused with 400, as subscribe refuses ""', async () => {
  for (const list of ['a,,b', ',a', 'a,', ',']) {
    const c = client(`${node.url}?channels=${list}`);
    await assert.rejects(c.opened, (e) => e.status === 400, list);
  }
  await assert.rejects(client(`${node.url}?channels=${'abcdefghi'.split('').join(',')}`).opened,
    (e) => e.status === 400, 'nine names, max-channels 8');
  const ok = client(`${node.url}?channels=${'abcdefgh'.split('').join(',')}`);
  await ok.opened;
  ok.terminate();
  await bystanderStillServed();
});

test('a request flood is answered rate_limited, and the connection recovers', async () => {
  const c = client(node.url);
  await c.opened;
  for (let i = 0; i < 200; i++) c.send(JSON.stringify({ op: 'ping', id: i }));
  const replies = [];
  for (let i = 0; i < 200; i++) replies.push(await c.next((m) => m.op === 'ok' || m.op === 'error'));
  const limited = replies.filter((r) => r.code === 'rate_limited').length;
  const ok = replies.filter((r) => r.op === 'ok').length;
  // The default allows 50 per second with a burst of 50.
  assert.ok(ok >= 50 && ok < 80, `${ok} answered ok`);
  assert.equal(ok + limited, 200);
  await new Promise((r) => setTimeout(r, 1100));
  await usable(c);
  await bystanderStillServed();
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="rate_limited"}'] >= 100);
  c.terminate();
});
