import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { tridiagonalEigen } from '../../src/curvature/tridiagonalEigen.ts';
import { absCos, dot, linspace, nrm, residual, withSpectrum } from './helpers.ts';

/** Checks A v_i = λ_i v_i and VᵀV = I for a decomposition of A. */
function checkDecomposition(
  A: Float64Array,
  n: number,
  values: Float64Array,
  vectors: Float64Array[],
  tol: number,
): void {
  const scale = Math.max(...Array.from(values, Math.abs), 1e-300);
  for (let i = 0; i < n; i++) {
    assert.ok(residual(A, n, values[i], vectors[i]) <= tol * scale, `residual of pair ${i}`);
    for (let j = 0; j <= i; j++) {
      const d = dot(vectors[i], vectors[j]);
      assert.ok(Math.abs(d - (i === j ? 1 : 0)) <= tol, `orthonormality (${i},${j}) = ${d}`);
    }
  }
  for (let i = 1; i < n; i++) assert.ok(values[i] <= values[i - 1], 'descending order');
}

test('diagonal matrix: sorted diagonal, unit basis vectors', () => {
  const d = [3, -1, 7, 0, 2.5];
  const n = d.length;
  const A = new Float64Array(n * n);
  d.forEach((x, i) => (A[i * n + i] = x));
  const { values, vectors } = symmetricEigen(A, n);
  assert.deepEqual(
    Array.from(values),
    [...d].sort((a, b) => b - a),
  );
  for (let i = 0; i < n; i++) {
    const k = d.indexOf(values[i]);
    assert.equal(vectors[i][k], 1); // sign fixed: largest entry positive
    assert.equal(nrm(vectors[i]), 1);
  }
});

test('2x2 closed form', () => {
  for (const [a, b, c] of [
    [2, 1, -3],
    [1e-3, 5, 1e-3],
    [4, 0, 4],
    [-2, -7.5, 10],
  ]) {
    const { values, vectors } = symmetricEigen(new Float64Array([a, b, b, c]), 2);
    const mid = (a + c) / 2;
    const rad = Math.hypot((a - c) / 2, b);
    assert.ok(Math.abs(values[0] - (mid + rad)) <= 1e-14 * (Math.abs(mid) + rad));
    assert.ok(Math.abs(values[1] - (mid - rad)) <= 1e-14 * (Math.abs(mid) + rad));
    checkDecomposition(new Float64Array([a, b, b, c]), 2, values, vectors, 1e-14);
  }
});

test('1x1 and zero matrices', () => {
  const one = symmetricEigen(new Float64Array([-4]), 1);
  assert.deepEqual(Array.from(one.values), [-4]);
  assert.deepEqual(Array.from(one.vectors[0]), [1]);
  const z = symmetricEigen(new Float64Array(16), 4);
  assert.deepEqual(Array.from(z.values), [0, 0, 0, 0]);
  checkDecomposition(new Float64Array(16), 4, z.values, z.vectors, 1e-15);
});

test('Q diag Qᵀ with random orthogonal Q: eigenvalues, A v = λ v, orthonormality (n = 60, 250)', () => {
  const rng = createRng(11);
  for (const n of [60, 250]) {
    const lambdas = linspace(-5, 9, n).map((x, i) => x + 0.01 * Math.sin(i));
    const { A, Q } = withSpectrum(lambdas, rng);
    const { values, vectors } = symmetricEigen(A, n);
    const sorted = [...lambdas].sort((a, b) => b - a);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(values[i] - sorted[i]) <= 1e-12 * 9, `λ${i}`);
    checkDecomposition(A, n, values, vectors, 1e-12);
    // Simple, separated eigenvalues: vectors match the construction up to sign.
    for (let i = 0; i < n; i++) {
      const k = lambdas.indexOf(sorted[i]);
      assert.ok(absCos(vectors[i], Q[k]) > 1 - 1e-10);
    }
  }
});

test('repeated eigenvalues still give an orthonormal eigenbasis', () => {
  const rng = createRng(3);
  const lambdas = [5, 5, 5, 1, 1, -2, -2, -2, -2, 0];
  const { A } = withSpectrum(lambdas, rng);
  const { values, vectors } = symmetricEigen(A, lambdas.length);
  const sorted = [...lambdas].sort((a, b) => b - a);
  values.forEach((v, i) => assert.ok(Math.abs(v - sorted[i]) < 1e-13 * 5));
  checkDecomposition(A, lambdas.length, values, vectors, 1e-13);
});

test('asymmetric rounding is symmetrized', () => {
  const rng = createRng(5);
  const n = 20;
  const { A } = withSpectrum(linspace(1, 2, n), rng);
  const B = Float64Array.from(A);
  B[1] += 1e-9; // A[0][1] only
  const e = symmetricEigen(B, n);
  const C = Float64Array.from(A);
  C[1] += 0.5e-9;
  C[n] += 0.5e-9;
  const f = symmetricEigen(C, n);
  e.values.forEach((v, i) => assert.ok(Math.abs(v - f.values[i]) < 1e-14));
});

test('tridiagonal QL agrees with the dense oracle, and tracked rows are rows of the full eigenvector matrix', () => {
  const rng = createRng(8);
  const n = 40;
  const diag = Array.from({ length: n }, () => rng.normal());
  const off = Array.from({ length: n - 1 }, () => rng.normal());
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) T[i * n + i] = diag[i];
  for (let i = 0; i < n - 1; i++) T[i * n + i + 1] = T[(i + 1) * n + i] = off[i];
  const dense = symmetricEigen(T, n);
  const full = tridiagonalEigen(diag, off);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(full.values[i] - dense.values[n - 1 - i]) < 1e-13 * 5);
  for (let i = 0; i < n; i++) {
    const v = new Float64Array(n);
    for (let r = 0; r < n; r++) v[r] = full.components[r][i];
    assert.ok(residual(T, n, full.values[i], v) < 1e-13 * 5);
    assert.ok(Math.abs(nrm(v) - 1) < 1e-13);
  }
  const part = tridiagonalEigen(diag, off, [0, n - 1]);
  for (let i = 0; i < n; i++) {
    assert.equal(part.values[i], full.values[i]);
    assert.ok(Math.abs(part.components[0][i] - full.components[0][i]) < 1e-14);
    assert.ok(Math.abs(part.components[1][i] - full.components[n - 1][i]) < 1e-14);
  }
});
