// RFC 6455 conformance, server side, with raw frames (tests/e2e/rawws.mjs):
// what a client observes for each case, by RFC section. A failure must be
// answered with the documented close code in a close frame (never a bare
// TCP drop) after which the node ends the TCP connection; a bad handshake
// with its HTTP status, at once.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startNode, client, waitFor } from './harness.mjs';
import { OP, frame, closePayload, rawWs, rawRequest, upgradeHead, selfSignedCert } from './rawws.mjs';

const MAX = 1024; // --max-message-size of the node under test
let redis, node, tlsNode, bystander, certDir, seq = 0;

before(async () => {
  redis = await startRedis();
  node = await startNode(redis, ['--max-message-size', String(MAX)]);
  certDir = mkdtempSync(join(tmpdir(), 'sc-conf-'));
  const { cert, key, pem } = selfSignedCert(certDir);
  tlsNode = await startNode(redis, ['--tls-cert', cert, '--tls-key', key], { ca: pem });
  bystander = client(`${node.url}?channels=calm`);
  await bystander.opened;
  await waitFor(async () => (await redis.cli('PUBSUB', 'NUMSUB', 'calm')).split('\n')[1] === '1');
});

after(async () => {
  bystander.terminate();
  try {
    // Under ASan the stop is also the leak check.
    await node.stop();
    await tlsNode.stop();
  } finally {
    await redis.stop();
    rmSync(certDir, { recursive: true, force: true });
  }
});

const ping = (id, pad = '') => Buffer.from(JSON.stringify(pad ? { op: 'ping', id, pad } : { op: 'ping', id }));

/** A JSON ping request of exactly n bytes. */
function pingOfSize(id, n) {
  const base = JSON.stringify({ op: 'ping', id, pad: '' }).length;
  return ping(id, 'x'.repeat(n - base));
}

/**
 * Open, send bytes, expect a close frame with code and then the end of the
 * stream. ends: false for the two closes lws makes itself (1003 from the
 * node's receive callback, 1007 for text, which lws checks as it reads the
 * payload): lws then waits up to 5 s for the client's close frame.
 */
async function failsWith(bytes, code, { tls = false, trickle = false, withHead = false, ends = true } = {}) {
  const port = tls ? tlsNode.port : node.port;
  const c = await rawWs(port, { tls, after: withHead ? bytes : null });
  try {
    if (!withHead) await (trickle ? c.trickle(bytes) : c.write(bytes));
    const got = await c.closeFrame();
    assert.equal(got.code, code, `close code (reason "${got.reason}")`);
    // Nothing before it was a reply: the bad frame was not processed.
    assert.ok(!c.events.some((e) => e.type === 'frame' && e.opcode === OP.TEXT), 'no reply before the close');
    if (ends) await c.serverEnd();
  } finally {
    c.destroy();
  }
}

async function expectOk(c, id) {
  assert.deepEqual(await c.nextJson(), { op: 'ok', id });
}

describe('4.2.1 opening handshake: the client request', () => {
  test('a header line without a colon gets 400 at once, not a close at the handshake timeout', async () => {
    const t0 = Date.now();
    // No blank line: the request is not even complete.
    const c = await rawRequest(node.port, 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nno colon here\r\n');
    try {
      assert.equal((await c.httpAnswer(2000)).status, 400);
      assert.ok(Date.now() - t0 < 2000);
      await c.serverEnd();
    } finally { c.destroy(); }
  });

  test('the same line in a complete upgrade request is 400, not 101', async () => {
    const c = await rawRequest(node.port, upgradeHead('/ws', ['Broken header line']));
    try { assert.equal((await c.httpAnswer(2000)).status, 400); } finally { c.destroy(); }
  });

  test('a header line without a colon in a plain HTTP request is 400', async () => {
    const c = await rawRequest(node.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX\r\n\r\n');
    try { assert.equal((await c.httpAnswer(2000)).status, 400); } finally { c.destroy(); }
  });

  test('on a kept-alive connection the second request is checked too', async () => {
    const c = await rawRequest(node.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    try {
      assert.equal((await c.httpAnswer(2000)).status, 200);
      await new Promise((r) => setTimeout(r, 100));
      await c.write(Buffer.from('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon\r\n\r\n'));
      await c.waitEvent((e) => e.type === 'body' && /HTTP\/1\.1 400/.test(e.data), 2000, 'a 400 for the second request');
    } finally { c.destroy(); }
  });

  test('a request head over 4096 bytes gets 431', async () => {
    const c = await rawRequest(node.port, upgradeHead('/ws', [`X-Pad: ${'a'.repeat(5000)}`]));
    try { assert.equal((await c.httpAnswer(2000)).status, 431); } finally { c.destroy(); }
  });

  test('a valid upgrade with a large header is accepted (101)', async () => {
    const c = await rawRequest(node.port, upgradeHead('/ws', [`X-Pad: ${'a'.repeat(2500)}`]));
    try { assert.equal((await c.httpAnswer(2000)).status, 101); } finally { c.destroy(); }
  });
});

describe('5.1 masking', () => {
  test('an unmasked client frame fails the connection with 1002', () =>
    failsWith(frame(OP.TEXT, ping(1), { mask: false }), 1002));

  test('an unmasked control frame fails it too', () =>
    failsWith(frame(OP.PING, 'hi', { mask: false }), 1002));

  test('an unmasked frame sent together with the handshake: 1002', () =>
    failsWith(frame(OP.TEXT, ping(2), { mask: false }), 1002, { withHead: true }));

  test('a masked frame sent together with the handshake is answered', async () => {
    const c = await rawWs(node.port, { after: frame(OP.TEXT, ping(3)) });
    try { await expectOk(c, 3); } finally { c.destroy(); }
  });
});

describe('5.2 base framing', () => {
  for (const rsv of [4, 2, 1]) {
    test(`RSV bits ${rsv.toString(2).padStart(3, '0')} without an extension: 1002`, () =>
      failsWith(frame(OP.TEXT, ping(4), { rsv }), 1002));
  }
  for (const op of [3, 7, 0xb, 0xf]) {
    test(`reserved opcode 0x${op.toString(16)}: 1002`, () => failsWith(frame(op, 'x'), 1002));
  }

  test('a 64-bit length with the top bit set: 1002 with a close frame', () =>
    failsWith(frame(OP.TEXT, '', { len64: [0x80, 0, 0, 0, 0, 0, 0, 5] }), 1002));

  test('the same, sent one byte at a time', () =>
    failsWith(frame(OP.TEXT, '', { len64: [0x80, 0, 0, 0, 0, 0, 0, 5] }).subarray(0, 10), 1002, { trickle: true }));

  test('16-bit and (non-minimal) 64-bit length forms are accepted', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.TEXT, ping(5, 'y'.repeat(200))));
      await expectOk(c, 5);
      await c.write(frame(OP.TEXT, ping(6), { lenForm: '64' }));
      await expectOk(c, 6);
      await c.write(frame(OP.TEXT, ping(7), { lenForm: '16' }));
      await expectOk(c, 7);
    } finally { c.destroy(); }
  });

  test('a frame split at every byte boundary', async () => {
    const c = await rawWs(node.port);
    try {
      await c.trickle(frame(OP.TEXT, ping(8)));
      await expectOk(c, 8);
    } finally { c.destroy(); }
  });

  test('several frames in one write are answered in order', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(Buffer.concat([9, 10, 11].map((i) => frame(OP.TEXT, ping(i)))));
      for (const i of [9, 10, 11]) await expectOk(c, i);
    } finally { c.destroy(); }
  });
});

describe('5.4 fragmentation', () => {
  test('a fragmented message is reassembled', async () => {
    const c = await rawWs(node.port);
    const m = ping(12, 'z'.repeat(100));
    try {
      await c.write(Buffer.concat([
        frame(OP.TEXT, m.subarray(0, 10), { fin: false }),
        frame(OP.CONT, m.subarray(10, 60), { fin: false }),
        frame(OP.CONT, m.subarray(60)),
      ]));
      await expectOk(c, 12);
    } finally { c.destroy(); }
  });

  test('control frames between fragments are answered, the message still arrives', async () => {
    const c = await rawWs(node.port);
    const m = ping(13);
    try {
      await c.write(frame(OP.TEXT, m.subarray(0, 5), { fin: false }));
      await c.write(frame(OP.PING, 'between'));
      await c.write(frame(OP.PONG, 'unsolicited'));
      await c.write(frame(OP.CONT, m.subarray(5)));
      assert.equal((await c.nextFrame(OP.PONG)).payload.toString(), 'between');
      await expectOk(c, 13);
    } finally { c.destroy(); }
  });

  test('an empty first fragment (was undefined behaviour: aborted the sanitized node)', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.TEXT, '', { fin: false }));
      await c.write(frame(OP.CONT, ping(14)));
      await expectOk(c, 14);
    } finally { c.destroy(); }
  });

  test('a message of empty fragments only is an empty message: bad_json', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(Buffer.concat([frame(OP.TEXT, '', { fin: false }), frame(OP.CONT, '', { fin: false }),
        frame(OP.CONT, '')]));
      const r = await c.nextJson();
      assert.equal(r.op, 'error');
      assert.equal(r.code, 'bad_json');
      await c.write(frame(OP.TEXT, ping(15)));
      await expectOk(c, 15);
    } finally { c.destroy(); }
  });

  test('a continuation frame with no message to continue: 1002', () =>
    failsWith(frame(OP.CONT, ping(16)), 1002));

  test('a new text frame inside a fragmented message: 1002', () =>
    failsWith(Buffer.concat([frame(OP.TEXT, '{"op":', { fin: false }), frame(OP.TEXT, ping(17))]), 1002));
});

describe('5.5 control frames', () => {
  test('a ping with a payload gets a pong echoing it', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.PING, 'hello'));
      assert.equal((await c.nextFrame(OP.PONG)).payload.toString(), 'hello');
      const big = Buffer.alloc(125, 0x61);
      await c.write(frame(OP.PING, big));
      assert.deepEqual((await c.nextFrame(OP.PONG)).payload, big);
    } finally { c.destroy(); }
  });

  test('a control frame of 126 bytes: 1002 with a close frame', () =>
    failsWith(frame(OP.PING, Buffer.alloc(126, 0x61)), 1002));

  test('a control frame with a 64-bit length form: 1002', () =>
    failsWith(frame(OP.PONG, 'x', { lenForm: '64' }), 1002));

  test('a fragmented control frame: 1002', () =>
    failsWith(frame(OP.PING, 'x', { fin: false }), 1002));
});

describe('5.5.1 close', () => {
  test('a normal close (1000) is echoed, then the node ends the connection', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.CLOSE, closePayload(1000, 'bye')));
      const got = await c.closeFrame();
      assert.equal(got.code, 1000);
      await c.serverEnd();
    } finally { c.destroy(); }
  });

  test('a close frame without a payload is answered with one', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.CLOSE));
      assert.equal((await c.closeFrame()).code, null);
    } finally { c.destroy(); }
  });

  test('a close frame with a 1-byte payload: 1002', () =>
    failsWith(frame(OP.CLOSE, Buffer.from([0x03])), 1002));

  test('frames after the client\'s close frame are not processed', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(Buffer.concat([frame(OP.CLOSE, closePayload(1000)), frame(OP.TEXT, ping(18))]));
      assert.equal((await c.closeFrame()).code, 1000);
      await c.serverEnd();
      assert.ok(!c.events.some((e) => e.type === 'frame' && e.opcode === OP.TEXT));
    } finally { c.destroy(); }
  });
});

describe('7.4 status codes', () => {
  // 1004-1006 and 1015 are never sent, 1016-2999 reserved, 5000+ undefined.
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    test(`a close with code ${code}: 1002, the code is never echoed`, () =>
      failsWith(frame(OP.CLOSE, closePayload(code)), 1002));
  }
  // 1012-1014 are registered with IANA since RFC 6455.
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    test(`a close with code ${code} is echoed`, async () => {
      const c = await rawWs(node.port);
      try {
        await c.write(frame(OP.CLOSE, closePayload(code, 'r')));
        const got = await c.closeFrame();
        assert.equal(got.code, code);
        assert.equal(got.reason.toString(), 'r');
      } finally { c.destroy(); }
    });
  }

  test('an invalid code sent one byte at a time: 1002', () =>
    failsWith(frame(OP.CLOSE, closePayload(5000)), 1002, { trickle: true }));
});

describe('5.6 data frames', () => {
  test('a binary frame: 1003 (this protocol is text only)', () =>
    failsWith(frame(OP.BINARY, Buffer.from([1, 2, 3])), 1003, { ends: false }));
});

describe('8.1 UTF-8', () => {
  test('a text frame that is not UTF-8: 1007', () =>
    failsWith(frame(OP.TEXT, Buffer.from([0x7b, 0xff, 0x7d])), 1007, { ends: false }));

  test('a character split across fragments is fine', async () => {
    const c = await rawWs(node.port);
    const m = Buffer.from(JSON.stringify({ op: 'ping', id: 'x€y' }));
    const cut = m.indexOf(0xe2) + 1;
    try {
      await c.write(frame(OP.TEXT, m.subarray(0, cut), { fin: false }));
      await c.write(frame(OP.CONT, m.subarray(cut)));
      await expectOk(c, 'x€y');
    } finally { c.destroy(); }
  });

  for (const [what, bytes] of [['0xff', [0xff]], ['a truncated character', [0x61, 0xe2, 0x82]],
    ['a surrogate', [0xed, 0xa0, 0x80]], ['an overlong form', [0xc0, 0xaf]]]) {
    test(`a close reason with ${what}: 1007`, () =>
      failsWith(frame(OP.CLOSE, closePayload(1000, Buffer.from(bytes))), 1007));
  }

  test('a close reason in valid UTF-8 is echoed', async () => {
    const c = await rawWs(node.port);
    try {
      await c.write(frame(OP.CLOSE, closePayload(1001, 'grüße €')));
      const got = await c.closeFrame();
      assert.equal(got.code, 1001);
      assert.equal(got.reason.toString(), 'grüße €');
    } finally { c.destroy(); }
  });
});

describe('10.4 size limits (--max-message-size)', () => {
  test('a frame header announcing more: 1009 at once, before any payload', async () => {
    const t0 = Date.now();
    await failsWith(frame(OP.TEXT, '', { len: MAX + 1 }).subarray(0, 8), 1009);
    assert.ok(Date.now() - t0 < 2000);
  });

  test('a 64-bit length of 2^40: 1009 at once', () =>
    failsWith(frame(OP.TEXT, '', { len64: [0, 0, 1, 0, 0, 0, 0, 0] }), 1009));

  test('a fragment whose header takes the message past the limit: 1009 at once', () =>
    failsWith(Buffer.concat([frame(OP.TEXT, 'a'.repeat(600), { fin: false }),
      frame(OP.CONT, '', { len: MAX - 599 }).subarray(0, 4)]), 1009));

  test('a message of exactly the limit is served, whole or in fragments', async () => {
    const c = await rawWs(node.port);
    const m = pingOfSize(19, MAX);
    try {
      await c.write(frame(OP.TEXT, m));
      await expectOk(c, 19);
      const n = pingOfSize(20, MAX);
      await c.write(Buffer.concat([frame(OP.TEXT, n.subarray(0, 500), { fin: false }), frame(OP.CONT, n.subarray(500))]));
      await expectOk(c, 20);
    } finally { c.destroy(); }
  });
});

describe('the same over TLS (wss)', () => {
  test('fragments with a ping between them', async () => {
    const c = await rawWs(tlsNode.port, { tls: true });
    const m = ping(21);
    try {
      await c.write(frame(OP.TEXT, m.subarray(0, 3), { fin: false }));
      await c.write(frame(OP.PING, 'tls'));
      await c.trickle(frame(OP.CONT, m.subarray(3)));
      assert.equal((await c.nextFrame(OP.PONG)).payload.toString(), 'tls');
      await expectOk(c, 21);
    } finally { c.destroy(); }
  });

  test('an unmasked frame: 1002', () =>
    failsWith(frame(OP.TEXT, ping(22), { mask: false }), 1002, { tls: true }));

  test('a close with code 5000: 1002', () =>
    failsWith(frame(OP.CLOSE, closePayload(5000)), 1002, { tls: true }));

  test('a header line without a colon: 400', async () => {
    const c = await rawRequest(tlsNode.port, 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nnocolon\r\n', { tls: true });
    try { assert.equal((await c.httpAnswer(2000)).status, 400); } finally { c.destroy(); }
  });
});

test('other clients are unaffected, and the failures are counted', async () => {
  const data = `still-${++seq}`;
  await redis.cli('PUBLISH', 'calm', data);
  assert.equal((await bystander.next((m) => m.op === 'message')).data, data);
  const m = await node.metrics();
  assert.ok(m['shardcast_errors_total{kind="protocol_error"}'] >= 20);
  assert.ok(m['shardcast_errors_total{kind="message_too_big"}'] >= 3);
  assert.equal((await node.http('/healthz')).status, 200);
});
