import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { loadDataset, type Dataset } from '../../src/data/dataset.ts';
import { fitPreprocess, applyPreprocess } from '../../src/data/preprocess.ts';
import { writeFakeFashion, type FakeSplit } from './fixtures.ts';

const TRAIN_COUNTS = [50, 45, 40, 35, 30, 25, 20, 20, 20, 15];
const fake = writeFakeFashion(TRAIN_COUNTS, [8, 8, 8, 8, 8, 8, 8, 8, 8, 8]);
after(() => rmSync(fake.dir, { recursive: true, force: true }));
const env = { EDGEWISE_DATA: fake.dir };
const D = 784;

/** Per-pixel mean and population std (float64) of rows of a Float32Array. */
function columnStats(x: Float32Array, n: number, d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + j];
    const m = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) q += (x[i * d + j] - m) ** 2;
    mean[j] = m;
    std[j] = Math.sqrt(q / n);
  }
  return { mean, std };
}

/** The oracle: byte/255 per pixel from the fake files' first n rows, in float64. */
function scaledRows(s: FakeSplit, n: number): Float64Array {
  const out = new Float64Array(n * D);
  for (let t = 0; t < n * D; t++) out[t] = s.pixels[t] / 255;
  return out;
}

function meanStd(v: Float64Array, n: number, j: number): [number, number] {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i * D + j];
  const m = s / n;
  let q = 0;
  for (let i = 0; i < n; i++) q += (v[i * D + j] - m) ** 2;
  return [m, Math.sqrt(q / n)];
}

const N = 120;
const load = async (
  preprocess: 'none' | 'scale' | 'center' | 'standardize' | 'global-standardize',
): Promise<{ train: Dataset; test: Dataset }> =>
  loadDataset({ name: 'fashion-mnist', train_size: N, test_size: 'all', subset: 'first', preprocess }, env);

describe('preprocessing (fitted on the training subset, applied to test)', () => {
  test('none keeps bytes 0..255; scale divides by 255', async () => {
    const none = await load('none');
    const scale = await load('scale');
    for (let t = 0; t < N * D; t += 97) {
      assert.equal(none.train.x[t], fake.train.pixels[t]);
      assert.equal(scale.train.x[t], Math.fround(fake.train.pixels[t] / 255));
    }
  });

  test('center: every pixel of the train subset has mean ≈ 0; test uses the train means', async () => {
    const { train, test } = await load('center');
    const { mean } = columnStats(train.x, N, D);
    for (let j = 0; j < D; j++) assert.ok(Math.abs(mean[j]) < 1e-6, `pixel ${j} mean ${mean[j]}`);
    const tr = scaledRows(fake.train, N);
    const te = scaledRows(fake.test, test.n);
    for (const j of [1, 10, 400, 783]) {
      const [m] = meanStd(tr, N, j);
      for (let i = 0; i < test.n; i += 7) assert.ok(Math.abs(test.x[i * D + j] - (te[i * D + j] - m)) < 1e-6);
    }
  });

  test('standardize: per-pixel mean ≈ 0 and std ≈ 1 on the train subset; constant pixels 0; test uses train stats', async () => {
    const { train, test } = await load('standardize');
    const { mean, std } = columnStats(train.x, N, D);
    for (let j = 0; j < D; j++) {
      assert.ok(Math.abs(mean[j]) < 1e-5, `pixel ${j} mean ${mean[j]}`);
      if (j === 0 || j === 5) assert.equal(std[j], 0, 'constant pixel stays constant (0)');
      else assert.ok(Math.abs(std[j] - 1) < 1e-5, `pixel ${j} std ${std[j]}`);
    }
    for (let i = 0; i < N; i++) assert.equal(train.x[i * D + 5], 0);
    // Test set: (x − mean_train) / std_train, with the constant pixels only centered.
    const tr = scaledRows(fake.train, N);
    const te = scaledRows(fake.test, test.n);
    for (const j of [0, 5, 10, 300, 783]) {
      const [m, s] = meanStd(tr, N, j);
      const div = s < 1e-6 ? 1 : s; // the documented floor: constant pixels are only centered
      for (let i = 0; i < test.n; i += 5) {
        const want = (te[i * D + j] - m) / div;
        assert.ok(Math.abs(test.x[i * D + j] - want) < 1e-5 * Math.max(1, Math.abs(want)), `test pixel ${j} row ${i}`);
      }
    }
    // The test set is not standardized by its own statistics.
    const testStats = columnStats(test.x, test.n, D);
    assert.ok(testStats.mean.some((m) => Math.abs(m) > 0.05));
  });

  test('global-standardize: one mean and one std; all train values have mean 0 and std 1', async () => {
    const { train, test } = await load('global-standardize');
    let s = 0;
    for (const v of train.x) s += v;
    const m = s / train.x.length;
    let q = 0;
    for (const v of train.x) q += (v - m) ** 2;
    assert.ok(Math.abs(m) < 1e-6);
    assert.ok(Math.abs(Math.sqrt(q / train.x.length) - 1) < 1e-6);
    // One affine map for every pixel: recover it from two pixels and check it elsewhere.
    const tr = scaledRows(fake.train, N);
    let gm = 0;
    for (const v of tr) gm += v;
    gm /= tr.length;
    let gq = 0;
    for (const v of tr) gq += (v - gm) ** 2;
    const gs = Math.sqrt(gq / tr.length);
    for (let t = 0; t < test.x.length; t += 131) {
      assert.ok(Math.abs(test.x[t] - (fake.test.pixels[t] / 255 - gm) / gs) < 1e-5);
    }
  });

  test('flatten: false gives [1, 28, 28] with the same values', async () => {
    const flat = await loadDataset(
      { name: 'fashion-mnist', train_size: 10, test_size: 3, preprocess: 'scale', flatten: true },
      env,
    );
    const img = await loadDataset(
      { name: 'fashion-mnist', train_size: 10, test_size: 3, preprocess: 'scale', flatten: false },
      env,
    );
    assert.deepEqual(flat.train.sampleShape, [784]);
    assert.deepEqual(img.train.sampleShape, [1, 28, 28]);
    assert.deepEqual(img.train.x, flat.train.x);
  });

  test('fitPreprocess/applyPreprocess on floats (scale 1): standardize against a float64 oracle', () => {
    const n = 50;
    const d = 3;
    const raw = Float32Array.from({ length: n * d }, (_, t) => Math.sin(t * 1.7) * (1 + (t % d)) + (t % d) * 10);
    const stats = fitPreprocess('standardize', raw, n, d, 1);
    const out = applyPreprocess(stats, raw);
    const { mean, std } = columnStats(out, n, d);
    for (let j = 0; j < d; j++) {
      assert.ok(Math.abs(mean[j]) < 1e-6);
      assert.ok(Math.abs(std[j] - 1) < 1e-6);
    }
    assert.equal(fitPreprocess('scale', raw, n, d, 1).scale, 1);
  });
});
