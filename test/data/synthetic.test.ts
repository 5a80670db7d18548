import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadDataset } from '../../src/data/dataset.ts';
import { makeGaussianMixture, makeRegression, SYNTHETIC_TEACHER_HIDDEN } from '../../src/data/synthetic.ts';

/** Solves the symmetric positive definite system M z = b (Gaussian elimination, float64). */
function solve(M: number[][], b: number[]): number[] {
  const n = b.length;
  const A = M.map((row, i) => [...row, b[i]]);
  for (let p = 0; p < n; p++) {
    for (let r = p + 1; r < n; r++) {
      const f = A[r][p] / A[p][p];
      for (let c = p; c <= n; c++) A[r][c] -= f * A[p][c];
    }
  }
  const z = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = A[r][n];
    for (let c = r + 1; c < n; c++) s -= A[r][c] * z[c];
    z[r] = s / A[r][r];
  }
  return z;
}

describe('synthetic Gaussian mixture', () => {
  const k = 4;
  const d = 6;
  const sep = 2.5;
  const r = makeGaussianMixture({ numClasses: k, dim: d, separation: sep, trainSize: 4000, testSize: 401, seed: 9 });

  test('every pair of class means is exactly `separation` apart (k ≤ d)', () => {
    for (let a = 0; a < k; a++) {
      for (let b = a + 1; b < k; b++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (r.means[a * d + j] - r.means[b * d + j]) ** 2;
        assert.ok(Math.abs(Math.sqrt(s) - sep) < 1e-9, `|μ${a} − μ${b}| = ${Math.sqrt(s)}`);
      }
    }
  });

  test('balanced labels; class sample means ≈ μ_c and unit noise (within 5 standard errors)', () => {
    assert.equal(r.train.n, 4000);
    assert.equal(r.test.n, 401);
    const counts = new Array(k).fill(0);
    for (const c of r.train.y!) counts[c]++;
    assert.deepEqual(counts, [1000, 1000, 1000, 1000]);
    const testCounts = new Array(k).fill(0);
    for (const c of r.test.y!) testCounts[c]++;
    assert.ok(Math.max(...testCounts) - Math.min(...testCounts) <= 1);
    const sum = new Float64Array(k * d);
    let sq = 0;
    for (let i = 0; i < r.train.n; i++) {
      const c = r.train.y![i];
      for (let j = 0; j < d; j++) {
        const e = r.train.x[i * d + j] - r.means[c * d + j];
        sum[c * d + j] += e;
        sq += e * e;
      }
    }
    for (let t = 0; t < k * d; t++)
      assert.ok(Math.abs(sum[t] / 1000) < 5 / Math.sqrt(1000), `mean error ${sum[t] / 1000}`);
    const variance = sq / (4000 * d);
    assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / (4000 * d)), `noise variance ${variance}`);
  });

  test('reproducible for a seed, different for another; k > d still works', () => {
    const again = makeGaussianMixture({
      numClasses: k,
      dim: d,
      separation: sep,
      trainSize: 4000,
      testSize: 401,
      seed: 9,
    });
    assert.deepEqual(again.train.x, r.train.x);
    assert.deepEqual(again.test.y, r.test.y);
    const other = makeGaussianMixture({
      numClasses: k,
      dim: d,
      separation: sep,
      trainSize: 4000,
      testSize: 401,
      seed: 10,
    });
    assert.notDeepEqual(other.train.x, r.train.x);
    const wide = makeGaussianMixture({ numClasses: 5, dim: 2, separation: 4, trainSize: 10, testSize: 10, seed: 1 });
    for (let c = 0; c < 5; c++)
      assert.ok(Math.abs(Math.hypot(wide.means[2 * c], wide.means[2 * c + 1]) - 4 / Math.SQRT2) < 1e-9);
  });
});

describe('synthetic regression', () => {
  test('linear teacher: least squares on the training set recovers A/√d (float64 normal equations)', () => {
    const d = 5;
    const outs = 3;
    const n = 3000;
    const noise = 0.1;
    const r = makeRegression({
      dim: d,
      numOutputs: outs,
      noise,
      teacher: 'linear',
      trainSize: n,
      testSize: 10,
      seed: 4,
    });
    const A = r.teacherWeights.A!;
    const XtX = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < n; i++)
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) XtX[a][b] += r.train.x[i * d + a] * r.train.x[i * d + b];
    for (let o = 0; o < outs; o++) {
      const Xty = new Array<number>(d).fill(0);
      for (let i = 0; i < n; i++)
        for (let a = 0; a < d; a++) Xty[a] += r.train.x[i * d + a] * r.train.targets![i * outs + o];
      const w = solve(XtX, Xty);
      for (let a = 0; a < d; a++) {
        // Standard error ≈ noise/√n ≈ 0.002.
        assert.ok(
          Math.abs(w[a] - A[o * d + a] / Math.sqrt(d)) < 0.015,
          `output ${o} input ${a}: ${w[a]} vs ${A[o * d + a] / Math.sqrt(d)}`,
        );
      }
    }
    assert.equal(r.train.y, null);
    assert.equal(r.train.numClasses, outs);
  });

  test('tanh teacher: residual y − W2 tanh(W1 x/√d)/√h has mean ≈ 0 and std ≈ noise', () => {
    const d = 4;
    const outs = 2;
    const n = 2000;
    const noise = 0.3;
    const h = SYNTHETIC_TEACHER_HIDDEN;
    const r = makeRegression({ dim: d, numOutputs: outs, noise, teacher: 'tanh', trainSize: n, testSize: n, seed: 2 });
    const { W1, W2 } = r.teacherWeights as { W1: Float64Array; W2: Float64Array };
    for (const split of [r.train, r.test]) {
      let s = 0;
      let q = 0;
      for (let i = 0; i < n; i++) {
        const hid = Array.from({ length: h }, (_, u) => {
          let z = 0;
          for (let j = 0; j < d; j++) z += W1[u * d + j] * split.x[i * d + j];
          return Math.tanh(z / Math.sqrt(d));
        });
        for (let o = 0; o < outs; o++) {
          let f = 0;
          for (let u = 0; u < h; u++) f += W2[o * h + u] * hid[u];
          const e = split.targets![i * outs + o] - f / Math.sqrt(h);
          s += e;
          q += e * e;
        }
      }
      const m = n * outs;
      assert.ok(Math.abs(s / m) < (5 * noise) / Math.sqrt(m));
      assert.ok(Math.abs(Math.sqrt(q / m) - noise) < 0.05 * noise);
    }
  });

  test('loadDataset: synthetic sets are standardized on train, targets untouched, sizes default to 1000', async () => {
    const a = await loadDataset(
      { name: 'synthetic-regression', train_size: 300, test_size: 50, preprocess: 'none', input_dim: 3, seed: 1 },
      {},
    );
    const b = await loadDataset(
      {
        name: 'synthetic-regression',
        train_size: 300,
        test_size: 50,
        preprocess: 'standardize',
        input_dim: 3,
        seed: 1,
      },
      {},
    );
    assert.deepEqual(a.train.targets, b.train.targets);
    assert.deepEqual(b.train.sampleShape, [3]);
    for (let j = 0; j < 3; j++) {
      let s = 0;
      let q = 0;
      for (let i = 0; i < 300; i++) s += b.train.x[i * 3 + j];
      for (let i = 0; i < 300; i++) q += (b.train.x[i * 3 + j] - s / 300) ** 2;
      assert.ok(Math.abs(s / 300) < 1e-6);
      assert.ok(Math.abs(Math.sqrt(q / 300) - 1) < 1e-6);
    }
    const g = await loadDataset({ name: 'synthetic-gmm', num_classes: 5, separation: 1 }, {});
    assert.equal(g.train.n, 1000);
    assert.equal(g.test.n, 1000);
    assert.equal(g.train.numClasses, 5);
    assert.deepEqual(g.info.train.classCounts, [200, 200, 200, 200, 200]);
    assert.equal(g.info.synthetic?.means?.length, 5 * 10);
  });
});
