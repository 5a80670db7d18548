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
