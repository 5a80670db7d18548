import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import { denseOperator, diagonalOperator } from '../../src/curvature/operator.ts';
import { hutchinson, hutchPlusPlus } from '../../src/curvature/trace.ts';
import { linspace, meanSE, withSpectrum } from './helpers.ts';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

test('Rademacher Hutchinson is exact on a diagonal matrix (zᵀDz = tr D for z ∈ {±1}ⁿ)', async () => {
  const d = Float64Array.from(linspace(-3, 5, 17));
  const r = await hutchinson(diagonalOperator(d), { samples: 6, seed: 2 });
  for (const s of r.samples) assert.ok(Math.abs(s - sum(Array.from(d))) < 1e-12);
  assert.ok(r.stdError < 1e-12);
  assert.equal(r.matvecs, 6);
});

test('Hutchinson is unbiased over many seeds and its standard error matches the closed-form variance', async () => {
  const n = 60;
  const lambdas = linspace(-1, 3, n);
  const { A } = withSpectrum(lambdas, createRng(41));
  const op = denseOperator(A, n);
  const tr = sum(lambdas);
  // Var(zᵀAz) = 2‖A‖_F² for Gaussian z, 2(‖A‖_F² − Σ A_ii²) for Rademacher z.
  let fro2 = 0;
  let diag2 = 0;
  for (let i = 0; i < n * n; i++) fro2 += A[i] * A[i];
  for (let i = 0; i < n; i++) diag2 += A[i * n + i] ** 2;
  const samples = 5;
  const seeds = 400;
  for (const [distribution, variance] of [
    ['rademacher', 2 * (fro2 - diag2)],
    ['gaussian', 2 * fro2],
  ] as const) {
    const estimates: number[] = [];
    const reportedVar: number[] = [];
    for (let seed = 0; seed < seeds; seed++) {
      const r = await hutchinson(op, { samples, seed, distribution });
      estimates.push(r.estimate);
      reportedVar.push(r.stdError ** 2 * samples);
    }
    const se = Math.sqrt(variance / samples / seeds);
    const mean = sum(estimates) / seeds;
    assert.ok(Math.abs(mean - tr) < 4 * se, `${distribution}: mean ${mean} vs trace ${tr} (se ${se})`);
    // stdError² is an unbiased estimate of Var(estimate).
    const ratio = sum(reportedVar) / seeds / variance;
    assert.ok(ratio > 0.85 && ratio < 1.15, `${distribution}: variance ratio ${ratio}`);
  }
});

test('Hutchinson: batching does not change the probes; same seed is bit-identical', async () => {
  const { A } = withSpectrum(linspace(0, 1, 30), createRng(42));
  const op = denseOperator(A, 30);
  const a = await hutchinson(op, { samples: 13, seed: 7, batchSize: 1 });
  const b = await hutchinson(op, { samples: 13, seed: 7, batchSize: 5 });
  assert.deepEqual(a, b);
});

test('Hutch++ beats Hutchinson at the same matvec budget on low-rank-plus-noise, and is unbiased', async () => {
  const n = 200;
  const lambdas = [...linspace(50, 100, 10), ...linspace(0, 1, n - 10)];
  const { A } = withSpectrum(lambdas, createRng(43));
  const op = denseOperator(A, n);
  const tr = sum(lambdas);
  const budget = 60;
  const errH: number[] = [];
  const errPP: number[] = [];
  for (let seed = 0; seed < 30; seed++) {
    const h = await hutchinson(op, { samples: budget, seed });
    const pp = await hutchPlusPlus(op, { matvecs: budget, seed });
    assert.equal(pp.matvecs, budget);
    assert.equal(pp.rank, 20);
    assert.equal(pp.probes, 20);
    errH.push(h.estimate - tr);
    errPP.push(pp.estimate - tr);
  }
  const rms = (xs: number[]): number => Math.sqrt(sum(xs.map((x) => x * x)) / xs.length);
  assert.ok(rms(errPP) < 0.2 * rms(errH), `Hutch++ rms ${rms(errPP)} vs Hutchinson ${rms(errH)}`);
  const { mean, se } = meanSE(errPP);
  assert.ok(Math.abs(mean) < 4 * se + 1e-9, `Hutch++ bias ${mean} (se ${se})`);
});

test('Hutch++ is exact for a low-rank matrix and when the sketch spans the space', async () => {
  const lambdas = [4, 3, -2, 1.5, 0.5, ...new Array(45).fill(0)];
  const { A } = withSpectrum(lambdas, createRng(44));
  const op = denseOperator(A, 50);
  const r = await hutchPlusPlus(op, { matvecs: 30, seed: 1 });
  assert.equal(r.rank, 5); // dependent sketch columns dropped, budget moved to probes
  assert.equal(r.matvecs, 30);
  assert.ok(Math.abs(r.estimate - 7) < 1e-10);
  assert.ok(Math.abs(r.residualTrace) < 1e-10);

  const { A: B } = withSpectrum(linspace(1, 2, 10), createRng(45)); // full rank
  const full = await hutchPlusPlus(denseOperator(B, 10), { matvecs: 40 });
  assert.equal(full.rank, 10);
  assert.equal(full.probes, 0);
  assert.equal(full.matvecs, 20);
  assert.ok(Math.abs(full.estimate - 15) < 1e-12);

  // A budget below 3 falls back to plain Hutchinson probes.
  const tiny = await hutchPlusPlus(denseOperator(B, 10), { matvecs: 2 });
  assert.equal(tiny.rank, 0);
  assert.equal(tiny.probes, 2);
});
