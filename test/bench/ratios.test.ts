import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedRatios, parseOnly, quantile } from '../../src/bench/run.ts';

test('quantile interpolates linearly between order statistics', () => {
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(quantile([10, 20], 0.25), 12.5);
  assert.equal(quantile([7], 0.75), 7);
});

test('pairedRatios: median, min–max and IQR of a_i/b_i, pairs kept together', () => {
  // Ratios 2, 1, 4, 3 (b varies per pair, as with a drifting machine): not median(a)/median(b).
  const r = pairedRatios([4, 3, 8, 12], [2, 3, 2, 4]);
  assert.equal(r.median, 2.5);
  assert.deepEqual(r.spread, [1, 4]);
  assert.deepEqual(r.iqr, [1.75, 3.25]);
  assert.throws(() => pairedRatios([1, 2], [1]), /paired/);
  assert.throws(() => pairedRatios([], []), /paired/);
});

test('parseOnly accepts workload ids case-insensitively and rejects unknown ones', () => {
  assert.deepEqual(parseOnly('W1,w4'), ['W1', 'W4']);
  assert.deepEqual(parseOnly(' gemm , Scaling '), ['GEMM', 'scaling']);
  assert.throws(() => parseOnly('W1,W9'), /unknown workload 'W9'/);
});
