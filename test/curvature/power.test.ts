import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import { denseOperator } from '../../src/curvature/operator.ts';
import { powerIteration } from '../../src/curvature/power.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { absCos, linspace, residual, withSpectrum } from './helpers.ts';

const lambdas = [10, 7, 5, ...linspace(0, 3, 97)];
const n = lambdas.length;
const { A } = withSpectrum(lambdas, createRng(31));
const op = denseOperator(A, n);

test('power iteration with deflation agrees with the dense oracle and with Lanczos', async () => {
  const dense = symmetricEigen(A, n);
  const p = await powerIteration(op, { k: 3, tol: 1e-9, maxIterations: 3000, seed: 1 });
  const l = await lanczos(op, { k: 3, iterations: 60, tol: 1e-9 });
  for (let i = 0; i < 3; i++) {
    assert.ok(p.converged[i]);
    assert.ok(Math.abs(p.eigenvalues[i] - dense.values[i]) < 1e-8 * dense.values[i]);
    assert.ok(Math.abs(p.eigenvalues[i] - l.eigenvalues[i]) < 1e-8 * dense.values[i]);
    assert.ok(absCos(p.eigenvectors[i], dense.vectors[i]) > 0.9999);
    assert.ok(Math.abs(p.residuals[i] - residual(A, n, p.eigenvalues[i], p.eigenvectors[i])) < 1e-12 * 10);
  }
  assert.equal(p.matvecs, p.iterations);
});

test('a shift reaches the other end of the spectrum', async () => {
  const ls = [-5, ...linspace(-2, 8, 59)];
  const { A: B } = withSpectrum(ls, createRng(32));
  const r = await powerIteration(denseOperator(B, 60), { shift: 8, tol: 1e-8, maxIterations: 2000 });
  assert.ok(r.converged[0]);
  assert.ok(Math.abs(r.eigenvalues[0] + 5) < 1e-8 * 5);
});

test('too few iterations: converged false, residual honest', async () => {
  const r = await powerIteration(op, { k: 1, maxIterations: 3, tol: 1e-9 });
  assert.equal(r.iterations, 3);
  assert.equal(r.converged[0], false);
  assert.ok(Math.abs(r.residuals[0] - residual(A, n, r.eigenvalues[0], r.eigenvectors[0])) < 1e-12 * 10);
});

test('seeded: identical results for the same seed', async () => {
  const a = await powerIteration(op, { k: 2, seed: 4, maxIterations: 50 });
  const b = await powerIteration(op, { k: 2, seed: 4, maxIterations: 50 });
  assert.deepEqual(a, b);
});

/**
 * Textbook power iteration (float64, exact residual every iteration, same start vector and
 * stopping rule): the iteration count and eigenpair powerIteration must reproduce, whatever
 * shortcuts it takes per iteration.
 */
function referencePower(B: Float64Array, m: number, start: Float64Array, tol: number, maxIt: number, shift = 0) {
  let v = Float64Array.from(start);
  const nrm = (x: Float64Array) => Math.sqrt(x.reduce((s, a) => s + a * a, 0));
  v = v.map((x) => x / nrm(v));
  for (let it = 1; ; it++) {
    const w = new Float64Array(m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) w[i] += B[i * m + j]! * v[j]!;
    const theta = v.reduce((s, x, i) => s + x * w[i]!, 0);
    const res = nrm(w.map((x, i) => x - theta * v[i]!));
    if (res <= tol * Math.max(1, Math.abs(theta)) || it === maxIt) return { theta, res, it };
    const next = w.map((x, i) => x - shift * v[i]!);
    v = next.map((x) => x / nrm(next));
  }
}

test('the same iterations, eigenvalue and residual as textbook power iteration, shifted or not', async () => {
  const start = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const ls = [-5, ...linspace(-2, 8, 59)];
  const { A: B } = withSpectrum(ls, createRng(33));
  for (const [M, m, shift, tol] of [
    [A, n, 0, 1e-6],
    [A, n, 0, 1e-10],
    [B, 60, 8, 1e-7],
  ] as const) {
    const s = start.subarray(0, m);
    const want = referencePower(M, m, s, tol, 5000, shift);
    const got = await powerIteration(denseOperator(M, m), { start: s, tol, maxIterations: 5000, shift });
    assert.equal(got.iterations, want.it, `shift ${shift}, tol ${tol}`);
    assert.ok(Math.abs(got.eigenvalues[0]! - want.theta) <= 1e-9 * Math.abs(want.theta));
    assert.ok(got.converged[0]);
    assert.ok(got.residuals[0]! <= tol * Math.max(1, Math.abs(want.theta)));
  }
});
