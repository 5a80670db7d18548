import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normalArray } from '../../src/util/random.ts';

// fillNormal is an inlined copy of normal(): the oracle is normal() itself, draw by draw.
test('fillNormal gives exactly the draws of repeated normal() calls, and leaves the stream where they would', () => {
  for (const seed of [0, 1, 12345, 2 ** 40 + 7]) {
    for (const lead of [0, 1, 2, 3]) {
      for (const n of [0, 1, 2, 5, 8, 1001]) {
        const a = createRng(seed);
        const b = createRng(seed);
        // `lead` draws first, so that fills start both with and without a spare Box–Muller value.
        for (let i = 0; i < lead; i++) assert.equal(a.normal(), b.normal());
        const std = 0.37;
        const want = new Float64Array(n);
        for (let i = 0; i < n; i++) want[i] = a.normal() * std;
        const got = new Float64Array(n);
        b.fillNormal(got, std);
        assert.deepEqual(got, want, `seed ${seed}, lead ${lead}, n ${n}`);
        // The streams continue identically (state words and the spare value carried over).
        for (let i = 0; i < 3; i++) assert.equal(b.normal(), a.normal());
        assert.equal(b.nextUint32(), a.nextUint32());
      }
    }
  }
});

test('fillNormal into a Float32Array rounds the same draws', () => {
  const want = Float32Array.from(normalArray(createRng(5), 999, 2));
  const got = new Float32Array(999);
  createRng(5).fillNormal(got, 2);
  assert.deepEqual(got, want);
});

test('normal draws have mean 0 and variance 1 (10^5 draws, 5-sigma bounds)', () => {
  const n = 100_000;
  const x = normalArray(createRng(3), n);
  let m = 0;
  for (const v of x) m += v;
  m /= n;
  let s2 = 0;
  for (const v of x) s2 += (v - m) ** 2;
  s2 /= n - 1;
  assert.ok(Math.abs(m) < 5 / Math.sqrt(n), `mean ${m}`);
  // Var of the sample variance of N(0,1) is 2/(n−1).
  assert.ok(Math.abs(s2 - 1) < 5 * Math.sqrt(2 / (n - 1)), `variance ${s2}`);
});
