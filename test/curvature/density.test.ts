import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normalArray } from '../../src/util/random.ts';
import { denseOperator, diagonalOperator } from '../../src/curvature/operator.ts';
import { lanczosQuadrature, moments, slq, spectralDensity } from '../../src/curvature/density.ts';
import { dot, linspace, matvec, nrm, withSpectrum } from './helpers.ts';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

test('single probe: Σ w θ^p = vᵀA^p v exactly for p ≤ 2m−1, and not for p = 2m', async () => {
  const n = 80;
  const m = 8;
  const lambdas = linspace(-2, 3, n).map((x, i) => x + 0.05 * Math.cos(3 * i));
  const { A } = withSpectrum(lambdas, createRng(51));
  const v = normalArray(createRng(52), n);
  const vhat = v.map((x) => x / nrm(v));
  const q = await lanczosQuadrature(denseOperator(A, n), v, m);
  assert.equal(q.nodes.length, m);
  assert.equal(q.matvecs, m);
  assert.ok(Math.abs(sum(q.weights) - 1) < 1e-14);
  const normA = 3.2;
  let Apv: Float64Array = Float64Array.from(vhat); // A^p v̂
  for (let p = 0; p <= 2 * m; p++) {
    const exact = dot(vhat, Apv);
    const quad = sum(q.nodes.map((t, i) => q.weights[i] * t ** p));
    if (p <= 2 * m - 1) {
      assert.ok(Math.abs(quad - exact) <= 1e-10 * normA ** p, `p=${p}: ${quad} vs ${exact}`);
    } else {
      // Gauss quadrature is exact to degree 2m−1 only: the error at 2m is far above rounding.
      assert.ok(Math.abs(quad - exact) > 100 * 1e-10 * normA ** p, `p=2m should not be exact`);
    }
    Apv = matvec(A, n, Apv);
  }
  // Gauss nodes lie inside the spectrum.
  for (const t of q.nodes) assert.ok(t > -2.06 && t < 3.06);
});

test('with m = n steps the nodes are the eigenvalues and the weights (q_iᵀv̂)²', async () => {
  const n = 30;
  const lambdas = linspace(-1, 4, n);
  const { A, Q } = withSpectrum(lambdas, createRng(53));
  const v = normalArray(createRng(54), n);
  const q = await lanczosQuadrature(denseOperator(A, n), v, 100);
  assert.equal(q.nodes.length, n);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(q.nodes[i] - lambdas[i]) < 1e-10);
    const w = (dot(Q[i], v) / nrm(v)) ** 2;
    assert.ok(Math.abs(q.weights[i] - w) < 1e-10);
  }
});

test('an invariant Krylov subspace ends the quadrature early, exactly', async () => {
  const d = new Float64Array([2, 2, 2, -1, -1, 5, 5, 5, 5, 5]);
  const v = new Float64Array(10).fill(1);
  const q = await lanczosQuadrature(diagonalOperator(d), v, 8);
  assert.equal(q.matvecs, 3);
  [-1, 2, 5].forEach((l, i) => assert.ok(Math.abs(q.nodes[i] - l) < 1e-13));
  [0.2, 0.3, 0.5].forEach((w, i) => assert.ok(Math.abs(q.weights[i] - w) < 1e-13));
});

test('SLQ moments estimate tr(A^p)/n within statistical error', async () => {
  const n = 150;
  const lambdas = linspace(-1, 4, n).map((x, i) => x + 0.3 * Math.sin(i));
  const { A } = withSpectrum(lambdas, createRng(55));
  const r = await slq(denseOperator(A, n), { runs: 40, steps: 10, seed: 1 });
  assert.equal(r.matvecs, 400);
  const mo = moments(r, 6);
  assert.ok(Math.abs(mo.mean[0] - 1) < 1e-13);
  for (let p = 1; p <= 6; p++) {
    const truth = sum(lambdas.map((l) => l ** p)) / n;
    assert.ok(
      Math.abs(mo.mean[p] - truth) < 4 * mo.stdError[p] + 1e-12,
      `p=${p}: ${mo.mean[p]} vs ${truth} ± ${mo.stdError[p]}`,
    );
    assert.ok(mo.stdError[p] < 0.2 * Math.abs(truth), 'the estimate is informative');
  }
  assert.equal(mo.perRun.length, 40);
  // Gaussian probes also work.
  const g = moments(await slq(denseOperator(A, n), { runs: 40, steps: 10, seed: 2, probe: 'gaussian' }), 2);
  const t2 = sum(lambdas.map((l) => l * l)) / n;
  assert.ok(Math.abs(g.mean[2] - t2) < 4 * g.stdError[2]);
});

test('density integrates to 1 and its mean is the first moment', async () => {
  const n = 100;
  const lambdas = [...linspace(0, 0.5, 95), 3, 4, 6, 8, 10];
  const { A } = withSpectrum(lambdas, createRng(56));
  const r = await slq(denseOperator(A, n), { runs: 5, steps: 20, seed: 3 });
  const trapz = (x: Float64Array, y: ArrayLike<number>): number => {
    let s = 0;
    for (let i = 1; i < x.length; i++) s += 0.5 * (x[i] - x[i - 1]) * (y[i] + y[i - 1]);
    return s;
  };
  const dflt = spectralDensity(r);
  assert.equal(dflt.x.length, 1000);
  assert.ok(Math.abs(trapz(dflt.x, dflt.density) - 1) < 1e-6);
  const mean1 = trapz(
    dflt.x,
    Array.from(dflt.density, (y, i) => y * dflt.x[i]),
  );
  assert.ok(Math.abs(mean1 - moments(r, 1).mean[1]) < 1e-6);
  for (const y of dflt.density) assert.ok(y >= 0);
  const custom = spectralDensity(r, { grid: { min: -1, max: 11, points: 4001 }, sigma: 0.05 });
  assert.equal(custom.sigma, 0.05);
  assert.equal(custom.x[0], -1);
  assert.ok(Math.abs(custom.x[4000] - 11) < 1e-12);
  assert.ok(Math.abs(trapz(custom.x, custom.density) - 1) < 1e-6);
  assert.throws(() => spectralDensity(r, { sigma: 0 }), /sigma/);
});

test('SLQ is bit-reproducible for a seed', async () => {
  const { A } = withSpectrum(linspace(-1, 1, 40), createRng(57));
  const a = await slq(denseOperator(A, 40), { runs: 3, steps: 6, seed: 9 });
  const b = await slq(denseOperator(A, 40), { runs: 3, steps: 6, seed: 9 });
  assert.deepEqual(a, b);
  const c = await slq(denseOperator(A, 40), { runs: 3, steps: 6, seed: 10 });
  assert.notDeepEqual(a.nodes, c.nodes);
  assert.deepEqual(spectralDensity(a), spectralDensity(b));
});
