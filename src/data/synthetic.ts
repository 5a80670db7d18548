/**
 * Seeded synthetic datasets for fast tests and toy experiments.
 *
 * Gaussian mixture: k class means in R^d, x = mean[y] + N(0, I). When k ≤ d the means are
 * (separation/√2)·(orthonormal random directions), so every pair of means is exactly
 * `separation` apart (in units of the noise std); when k > d they are (separation/√2)·(random
 * unit vectors) and distances vary. Labels are balanced (counts differ by at most 1), in random
 * order.
 *
 * Regression: x ~ N(0, I_d); y = A x / √d ('linear', A ~ N(0,1) of shape [outputs, d]) or
 * y = W2 tanh(W1 x / √d) / √h ('tanh', h = SYNTHETIC_TEACHER_HIDDEN); plus noise·N(0, 1).
 *
 * Train and test share the means / teacher and use independent streams forked from one seed.
 */
import { createRng, permutation, type Rng } from '../util/random.ts';
import type { Dataset, TeacherKind } from './types.ts';

export const SYNTHETIC_TEACHER_HIDDEN = 32;

export interface GmmOptions {
  /** Number of classes k ≥ 2. */
  readonly numClasses: number;
  /** Input dimension d ≥ 1. */
  readonly dim: number;
  /** Distance between class means (k ≤ d: exact for every pair), noise std 1. */
  readonly separation: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly seed: number;
}

export interface GmmResult {
  readonly train: Dataset;
  readonly test: Dataset;
  /** Class means, k * d row-major (float64). */
  readonly means: Float64Array;
}

export interface RegressionOptions {
  /** Input dimension d ≥ 1. */
  readonly dim: number;
  /** Number of outputs ≥ 1. */
  readonly numOutputs: number;
  /** Std of the additive Gaussian noise on targets (≥ 0). */
  readonly noise: number;
  readonly teacher: TeacherKind;
  readonly trainSize: number;
  readonly testSize: number;
  readonly seed: number;
}

export interface RegressionResult {
  readonly train: Dataset;
  readonly test: Dataset;
  /** 'linear': A (outputs * d); 'tanh': W1 (h * d) then W2 (outputs * h); row-major, float64. */
  readonly teacherWeights: { readonly A?: Float64Array; readonly W1?: Float64Array; readonly W2?: Float64Array };
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${v}`);
}

/** k mean vectors (k * d) as described in the module comment. */
export function gmmMeans(rng: Rng, k: number, d: number, separation: number): Float64Array {
  const means = new Float64Array(k * d);
  const r = separation / Math.SQRT2;
  for (let c = 0; c < k; c++) {
    const v = means.subarray(c * d, (c + 1) * d);
    // Redraw in the (measure-zero) case that Gram–Schmidt leaves nothing.
    for (let attempt = 0; ; attempt++) {
      for (let j = 0; j < d; j++) v[j] = rng.normal();
      if (k <= d) {
        for (let p = 0; p < c; p++) {
          const u = means.subarray(p * d, (p + 1) * d);
          let dot = 0;
          for (let j = 0; j < d; j++) dot += u[j] * v[j];
          for (let j = 0; j < d; j++) v[j] -= (dot / (r * r)) * u[j];
        }
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += v[j] * v[j];
      norm = Math.sqrt(norm);
      if (norm > 1e-8 || attempt > 100) {
        for (let j = 0; j < d; j++) v[j] *= r / norm;
        break;
      }
    }
  }
  return means;
}

function gmmSplit(rng: Rng, means: Float64Array, k: number, d: number, n: number): Dataset {
  const order = permutation(rng, n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[order[i]] = i % k;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = y[i];
    for (let j = 0; j < d; j++) x[i * d + j] = means[c * d + j] + rng.normal();
  }
  return { x, y, targets: null, n, sampleShape: [d], numClasses: k };
}

/** Seeded Gaussian-mixture classification: train/test sets sharing the class means. */
export function makeGaussianMixture(opts: GmmOptions): GmmResult {
  const { numClasses: k, dim: d, separation, trainSize, testSize, seed } = opts;
  checkInt('num_classes', k, 2);
  checkInt('input_dim', d, 1);
  checkInt('train_size', trainSize, 0);
  checkInt('test_size', testSize, 0);
  if (!(separation >= 0 && Number.isFinite(separation)))
    throw new Error(`separation must be a finite number ≥ 0, got ${separation}`);
  const root = createRng(seed);
  const means = gmmMeans(root.fork(), k, d, separation);
  const train = gmmSplit(root.fork(), means, k, d, trainSize);
  const test = gmmSplit(root.fork(), means, k, d, testSize);
  return { train, test, means };
}

function gaussianMatrix(rng: Rng, rows: number, cols: number): Float64Array {
  const m = new Float64Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal();
  return m;
}

/** Teacher outputs (float64) for one input x (length d). */
export function teacherForward(
  kind: TeacherKind,
  w: RegressionResult['teacherWeights'],
  x: ArrayLike<number>,
  d: number,
  outputs: number,
): Float64Array {
  const out = new Float64Array(outputs);
  const sd = 1 / Math.sqrt(d);
  if (kind === 'linear') {
    const A = w.A!;
    for (let o = 0; o < outputs; o++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += A[o * d + j] * x[j];
      out[o] = s * sd;
    }
    return out;
  }
  const W1 = w.W1!;
  const W2 = w.W2!;
  const h = SYNTHETIC_TEACHER_HIDDEN;
  const hid = new Float64Array(h);
  for (let u = 0; u < h; u++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += W1[u * d + j] * x[j];
    hid[u] = Math.tanh(s * sd);
  }
  const sh = 1 / Math.sqrt(h);
  for (let o = 0; o < outputs; o++) {
    let s = 0;
    for (let u = 0; u < h; u++) s += W2[o * h + u] * hid[u];
    out[o] = s * sh;
  }
  return out;
}

function regressionSplit(rng: Rng, opts: RegressionOptions, w: RegressionResult['teacherWeights'], n: number): Dataset {
  const { dim: d, numOutputs: k, noise, teacher } = opts;
  const x = new Float32Array(n * d);
  const targets = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const xi = x.subarray(i * d, (i + 1) * d);
    for (let j = 0; j < d; j++) xi[j] = rng.normal();
    // The teacher sees the float32 inputs the model will see.
    const f = teacherForward(teacher, w, xi, d, k);
    for (let o = 0; o < k; o++) targets[i * k + o] = f[o] + noise * rng.normal();
  }
  return { x, y: null, targets, n, sampleShape: [d], numClasses: k };
}

/** Seeded multi-output regression with a random teacher: train/test sets sharing the teacher. */
export function makeRegression(opts: RegressionOptions): RegressionResult {
  const { dim: d, numOutputs: k, noise, teacher, trainSize, testSize, seed } = opts;
  checkInt('input_dim', d, 1);
  checkInt('num_outputs', k, 1);
  checkInt('train_size', trainSize, 0);
  checkInt('test_size', testSize, 0);
  if (!(noise >= 0 && Number.isFinite(noise))) throw new Error(`noise must be a finite number ≥ 0, got ${noise}`);
  if (teacher !== 'linear' && teacher !== 'tanh')
    throw new Error(`teacher must be one of linear, tanh; got ${String(teacher)}`);
  const root = createRng(seed);
  const wr = root.fork();
  const h = SYNTHETIC_TEACHER_HIDDEN;
  const teacherWeights =
    teacher === 'linear'
      ? { A: gaussianMatrix(wr, k, d) }
      : { W1: gaussianMatrix(wr, h, d), W2: gaussianMatrix(wr, k, h) };
  const train = regressionSplit(root.fork(), opts, teacherWeights, trainSize);
  const test = regressionSplit(root.fork(), opts, teacherWeights, testSize);
  return { train, test, teacherWeights };
}
