/** The pure-TypeScript SHA-256 (the browser's hasher) against node:crypto, over chunkings and block edges. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sha256 } from '../../src/util/sha256.ts';
import { createRng } from '../../src/util/random.ts';

const nodeHex = (parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const ours = (parts: (string | Uint8Array)[]): string => {
  const h = new Sha256();
  for (const p of parts) h.update(p);
  return h.digest();
};

test('SHA-256 matches node:crypto on the empty message, strings with non-ASCII text, and every length around the padding boundary', () => {
  assert.equal(ours([]), nodeHex([]));
  assert.equal(ours(['abc']), nodeHex(['abc']));
  assert.equal(ours(['λ₁ ≤ 2/η', '|float32|3,4|']), nodeHex(['λ₁ ≤ 2/η', '|float32|3,4|']));
  const rng = createRng(7);
  for (let n = 0; n <= 200; n++) {
    const b = Uint8Array.from({ length: n }, () => Math.floor(rng.uniform() * 256));
    assert.equal(ours([b]), nodeHex([b]), `length ${n}`);
  }
});

test('SHA-256 gives the same digest however a long message is split into updates', () => {
  const rng = createRng(11);
  const b = Uint8Array.from({ length: 5000 }, () => Math.floor(rng.uniform() * 256));
  const want = nodeHex([b]);
  for (const step of [1, 3, 63, 64, 65, 1000]) {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < b.length; i += step) parts.push(b.subarray(i, i + step));
    assert.equal(ours(parts), want, `chunks of ${step}`);
  }
});
