// Global-norm clipping against a float64 norm computed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import { clipGradNorm, globalNorm } from '../../src/train/index.ts';
import { assertClose } from './approx.ts';

function norm64(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function randomVec(n: number, seed: number, scale: number): Float32Array {
  const rng = createRng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return v;
}

test('globalNorm: closed forms, float64 accumulation, no overflow', () => {
  assert.equal(globalNorm(new Float32Array([3, 4])), 5);
  assert.equal(globalNorm(new Float64Array(0)), 0);
  // 1e6 entries of 0.1f: float32 accumulation is off by ~7e-3 relative; float64 by ~1e-12.
  const many = new Float32Array(1_000_000).fill(0.1);
  const want = Math.sqrt(1e6) * Math.fround(0.1);
  assertClose(globalNorm(many), want, 1e-10, 'norm of 1e6 × 0.1f');
  const huge = new Float64Array([1e200, -1e200, 1e200, 1e200]);
  assertClose(globalNorm(huge), 2e200, 1e-14, 'norm without overflow');
  assert.ok(Number.isNaN(globalNorm(new Float64Array([1, Number.NaN]))), 'NaN propagates');
  assert.equal(globalNorm(new Float64Array([1, Infinity])), Infinity);
});

test('clipping scales to exactly max_norm and keeps the direction', () => {
  const g = randomVec(1000, 3, 2);
  const before = g.slice();
  const n0 = norm64(before);
  const res = clipGradNorm(g, 1.5);
  assertClose(res.norm, n0, 1e-13, 'pre-clip norm');
  assertClose(res.scale, 1.5 / n0, 1e-13, 'scale');
  assertClose(norm64(g), 1.5, 1e-6, 'float32 clipped norm');
  for (let i = 0; i < g.length; i++) assert.equal(g[i], Math.fround(before[i] * res.scale));

  const g64 = new Float64Array(before);
  clipGradNorm(g64, 1.5);
  assertClose(norm64(g64), 1.5, 1e-14, 'float64 clipped norm');
});

test('no clipping below max_norm, with null, or for a non-finite gradient', () => {
  const g = randomVec(50, 4, 0.01);
  const before = g.slice();
  const res = clipGradNorm(g, 10);
  assert.equal(res.scale, 1);
  assert.deepEqual(g, before);
  assertClose(res.norm, norm64(before), 1e-13, 'norm when not clipping');
  assert.equal(clipGradNorm(g, null).scale, 1);
  assert.equal(clipGradNorm(g, undefined).scale, 1);
  assert.deepEqual(g, before);
  const bad = new Float32Array([1, Infinity, 2]);
  const r = clipGradNorm(bad, 1);
  assert.equal(r.norm, Infinity);
  assert.equal(r.scale, 1);
  assert.deepEqual(Array.from(bad), [1, Infinity, 2]);
  assert.throws(() => clipGradNorm(g, 0), /clip\.max_norm/);
  assert.throws(() => clipGradNorm(g, -1), /clip\.max_norm/);
});
