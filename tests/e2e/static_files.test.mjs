// The web root (--web-root): files are served from inside it only. A
// symlink is followed while it stays inside the root; one that leads out
// of it (to a file or a directory) is answered 404, like a missing file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startNode } from './harness.mjs';

const base = mkdtempSync(join(tmpdir(), 'sc-www-'));
const root = join(base, 'www');
const outside = join(base, 'outside');
let redis, node;

before(async () => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'index.html'), '<html>shardcast test root</html>\n');
  writeFileSync(join(root, 'sub', 'inner.txt'), 'inside the root\n');
  writeFileSync(join(outside, 'secret.txt'), 'outside the root\n');
  writeFileSync(join(base, 'www-sibling.txt'), 'next to the root\n');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
  symlinkSync('/etc/passwd', join(root, 'passwd.txt'));
  symlinkSync(outside, join(root, 'outdir'));
  symlinkSync('../www-sibling.txt', join(root, 'sibling.txt'));
  symlinkSync('sub/inner.txt', join(root, 'inner-link.txt'));
  symlinkSync('sub', join(root, 'subdir'));
  redis = await startRedis();
  node = await startNode(redis, ['--web-root', root]);
});
after(async () => {
  try { await node?.stop(); } finally {
    await redis?.stop();
    rmSync(base, { recursive: true, force: true });
  }
});

test('files inside the web root are served, symlinks within it too', async () => {
  const index = await node.http('/');
  assert.equal(index.status, 200);
  assert.match(index.body, /shardcast test root/);
  for (const path of ['/sub/inner.txt', '/inner-link.txt', '/subdir/inner.txt']) {
    const r = await node.http(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.body, 'inside the root\n', path);
  }
});

test('a symlink out of the web root is 404, whatever it points at', async () => {
  for (const path of ['/link.txt', '/passwd.txt', '/outdir/secret.txt', '/sibling.txt']) {
    const r = await node.http(path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /outside the root|next to the root|root:/, path);
  }
  assert.equal((await node.http('/missing.txt')).status, 404);
});
