// A WebSocket client on a bare TCP socket, for tests that need what a
// well-behaved library will not do: keep sending after the node's close
// frame without ever answering it, stop reading while still writing, send
// unsolicited pongs.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

/** One masked client frame (RFC 6455 5.2): FIN set, opcode, payload. */
export function frame(opcode, payload) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '');
  const len = data.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
    : len < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(len));
        return b;
      })()]);
  const mask = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = data[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/**
 * Connect to 127.0.0.1:port and upgrade at path. Resolves once the 101 has
 * arrived, with {sock, status, text(s), pong(s), destroy()}; rejects with
 * {status} if the node answers anything else. Bytes after the 101 are not
 * parsed (tests that use this only count on what the node does).
 */
export function rawClient(port, path) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const status = Number(head.subarray(0, end).toString().split(' ')[1]);
      if (status !== 101) {
        sock.destroy();
        reject(Object.assign(new Error(`HTTP ${status}`), { status }));
        return;
      }
      // Keep the socket flowing until the caller pauses it.
      sock.on('data', () => {});
      const w = (buf) => { if (!sock.destroyed && sock.writable) sock.write(buf); };
      resolve({
        sock,
        status,
        text: (s) => w(frame(0x1, s)),
        pong: (s) => w(frame(0xA, s)),
        destroy: () => sock.destroy(),
      });
    };
    sock.on('data', onData);
    sock.on('error', (e) => reject(e));
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n');
    });
  });
}
