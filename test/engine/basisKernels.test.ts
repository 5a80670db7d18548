/**
 * The native basis kernels (onnxruntime CPU) against float64 computations in plain JS: a
 * Gram–Schmidt sweep over views of a larger basis matrix, and a linear combination.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBasisKernels } from '../../src/engine/basisKernels.ts';
import { createRng } from '../../src/util/random.ts';

const kernels = createBasisKernels(1);
const eps32 = 2 ** -24;

function randomF32(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

test('sweep: h = Q·w, out = w − Qᵀh, ‖out‖² and out/‖out‖ as in float64, on a view of the first k rows', async () => {
  const n = 50_001; // odd, not a multiple of any SIMD width
  const kMax = 6;
  const Q = randomF32(kMax * n, 1);
  const w = randomF32(n, 2);
  for (const k of [1, 2, 5]) {
    const out = new Float32Array(n);
    const unit = new Float32Array(n);
    const { h, ss } = await kernels.sweep(Q.subarray(0, k * n), k, w, out, unit);
    assert.equal(h.length, k);
    // Oracle: the same products in float64 from the float32 inputs.
    const h64 = Array.from({ length: k }, (_, i) => {
      let s = 0;
      for (let t = 0; t < n; t++) s += Q[i * n + t]! * w[t]!;
      return s;
    });
    const scale = n; // ‖q_i‖·‖w‖ ≈ n for standard normal entries
    for (let i = 0; i < k; i++)
      assert.ok(Math.abs(h[i]! - h64[i]!) <= 10 * eps32 * scale, `h[${i}] = ${h[i]}, want ${h64[i]}`);
    let ss64 = 0;
    let maxErr = 0;
    for (let t = 0; t < n; t++) {
      let r = w[t]!;
      for (let i = 0; i < k; i++) r -= h[i]! * Q[i * n + t]!; // with the kernel's h: tests the subtraction alone
      maxErr = Math.max(maxErr, Math.abs(out[t]! - r));
      ss64 += out[t]! * out[t]!;
    }
    // Each entry is a k-term sum of magnitude ≲ Σ|h_i q_it| (|h_i| ~ √n, |q_it| ≲ 5).
    assert.ok(maxErr <= 20 * eps32 * k * Math.sqrt(n) * 5, `out max error ${maxErr}`);
    assert.ok(Math.abs(ss - ss64) <= 1e-5 * ss64, `ss ${ss} vs ${ss64}`);
    let un = 0;
    for (let t = 0; t < n; t++) {
      un += unit[t]! * unit[t]!;
      assert.ok(Math.abs(unit[t]! * Math.sqrt(ss64) - out[t]!) <= 1e-5 * (Math.abs(out[t]!) + 1e-3));
    }
    assert.ok(Math.abs(un - 1) < 1e-5);
  }
});

test('sweep against orthonormal rows leaves w orthogonal to them (to float32 rounding)', async () => {
  const n = 20_000;
  const k = 4;
  // Orthonormal rows: disjoint supports, unit norm.
  const Q = new Float32Array(k * n);
  for (let i = 0; i < k; i++) for (let t = i; t < n; t += k) Q[i * n + t] = 1 / Math.sqrt(n / k);
  const w = randomF32(n, 3);
  const out = new Float32Array(n);
  const unit = new Float32Array(n);
  await kernels.sweep(Q, k, w, out, unit);
  for (let i = 0; i < k; i++) {
    let d = 0;
    for (let t = 0; t < n; t++) d += Q[i * n + t]! * unit[t]!;
    assert.ok(Math.abs(d) < 1e-5, `q${i}ᵀu = ${d}`);
  }
});

test('project: the same h and out as sweep, ‖out‖² to float32 summation accuracy', async () => {
  const n = 30_007;
  const k = 3;
  const Q = randomF32(k * n, 7);
  const w = randomF32(n, 8);
  const out1 = new Float32Array(n);
  const out2 = new Float32Array(n);
  const a = await kernels.sweep(Q, k, w, out1, new Float32Array(n));
  const b = await kernels.project(Q, k, w, out2);
  assert.deepEqual([...b.h], [...a.h]);
  assert.deepEqual(out2, out1);
  assert.ok(Math.abs(b.ss - a.ss) <= 1e-4 * a.ss, `ss ${b.ss} vs ${a.ss}`);
});

test('combine: Qᵀc as in float64; bad shapes are rejected', async () => {
  const n = 30_001;
  const k = 5;
  const Q = randomF32((k + 2) * n, 4);
  const c = Float32Array.from([0.5, -2, 0, 1.25, 3]);
  const out = new Float32Array(n);
  await kernels.combine(Q, k, c, out);
  for (let t = 0; t < n; t++) {
    let s = 0;
    let a = 0;
    for (let i = 0; i < k; i++) {
      s += c[i]! * Q[i * n + t]!;
      a += Math.abs(c[i]! * Q[i * n + t]!);
    }
    assert.ok(Math.abs(out[t]! - s) <= 4 * eps32 * a + 1e-30, `out[${t}] = ${out[t]}, want ${s}`);
  }
  await assert.rejects(kernels.combine(Q, k, c.subarray(1), out), /c has length/);
  await assert.rejects(kernels.sweep(Q.subarray(0, n), 2, out, new Float32Array(n), new Float32Array(n)), /fewer than/);
  await assert.rejects(kernels.sweep(Q, 1, out, new Float32Array(n - 1), new Float32Array(n)), /length/);
});
