/**
 * The Gauss–Newton operator G = Jᵀ ∇²_f ℓ J against a dense oracle assembled independently on a
 * tiny network (float64 reference backend): J column by column from forward-mode products of the
 * network's outputs alone (checked against central differences), ∇²_f ℓ in closed form (I/n for
 * MSE, (diag(p) − ppᵀ)/n per sample for cross-entropy). Also: G is symmetric positive
 * semi-definite, equals H for a model linear in θ under MSE, differs from H where the network
 * is not linear, and Lanczos finds its dense top eigenvalues on onnxruntime (float32).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { GraphBuilder, type Tensor } from '../../src/engine/builder.ts';
import { jvp } from '../../src/engine/autodiff/transforms.ts';
import { buildModel, type Model } from '../../src/nn/model.ts';
import { modelOutput, objectiveSpec, type LossName } from '../../src/nn/losses.ts';
import { DatasetObjective } from '../../src/train/datasetObjective.ts';
import { ggnOperator, hessianOperator } from '../../src/curvature/hessian.ts';
import { gaussNewton } from '../../src/curvature/modelHessian.ts';
import { materialize, restrictedOperator } from '../../src/curvature/operator.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { createRng } from '../../src/util/random.ts';
import { makeGaussianMixture } from '../../src/data/synthetic.ts';
import { oneHot } from '../../src/data/dataset.ts';

const K = 3;
const { train } = makeGaussianMixture({ numClasses: K, dim: 4, separation: 2, trainSize: 7, testSize: 1, seed: 11 });
const x = Float64Array.from(train.x);
const y = Float64Array.from(oneHot(train.y!, K));
const N = train.n;

function objectiveOf(model: Model, loss: LossName, backend: 'reference' | 'ort', chunk = 4): DatasetObjective {
  const dtype = backend === 'reference' ? 'float64' : 'float32';
  return new DatasetObjective(
    new Runtime({ backend }),
    (b) => objectiveSpec(model, loss, b, 'train', dtype),
    { n: N, arrays: { x, y } },
    chunk,
  );
}

/** The outputs f(θ) [N·K] and J [N·K × dim] (row-major), J's columns by forward mode on the network alone. */
async function jacobian(model: Model, theta: Float64Array): Promise<{ f: Float64Array; J: Float64Array }> {
  const b = new GraphBuilder();
  const ps: Record<string, Tensor> = {};
  const ts: Tensor[] = [];
  for (const s of model.params) {
    ps[s.name] = b.input(s.name, s.shape, 'float64');
    ts.push(b.input(`t:${s.name}`, s.shape, 'float64'));
  }
  const d = { x: b.input('x', [N, ...model.inputShape], 'float64'), y: b.input('y', [N, K], 'float64') };
  const f = modelOutput(model, 'train', ps, d);
  const [jf] = jvp(
    [f],
    model.params.map((s) => ps[s.name]!),
    ts,
  );
  const exe = await new Runtime({ backend: 'reference' }).compile(b.build({ f, jf: jf! }));
  const dim = theta.length;
  const rows = N * K;
  const J = new Float64Array(rows * dim);
  let f0 = new Float64Array(0);
  for (let j = 0; j < dim; j++) {
    const e = new Float64Array(dim);
    e[j] = 1;
    const feeds: Record<string, Float64Array> = { ...model.layout.split(theta), x, y };
    for (const [k, v] of Object.entries(model.layout.split(e))) feeds[`t:${k}`] = v as Float64Array;
    const out = await exe.run(feeds);
    f0 = Float64Array.from(out.f!);
    for (let r = 0; r < rows; r++) J[r * dim + j] = out.jf![r]!;
  }
  return { f: f0, J };
}

/** ∇²_f ℓ [N·K × N·K] in closed form: I/N for MSE; block-diagonal (diag(p_i) − p_i p_iᵀ)/N for cross-entropy. */
function outputHessian(loss: LossName, f: Float64Array): Float64Array {
  const m = N * K;
  const HL = new Float64Array(m * m);
  for (let i = 0; i < N; i++) {
    const z = Array.from(f.subarray(i * K, i * K + K));
    const zmax = Math.max(...z);
    const ez = z.map((v) => Math.exp(v - zmax));
    const sum = ez.reduce((a, c) => a + c, 0);
    const p = ez.map((v) => v / sum);
    for (let a = 0; a < K; a++)
      for (let c = 0; c < K; c++) {
        const r = i * K + a;
        const col = i * K + c;
        HL[r * m + col] = loss === 'mse' ? (a === c ? 1 / N : 0) : ((a === c ? p[a]! : 0) - p[a]! * p[c]!) / N;
      }
  }
  return HL;
}

/** Jᵀ HL J, dense [dim × dim]. */
function sandwich(J: Float64Array, HL: Float64Array, rows: number, dim: number): Float64Array {
  const HJ = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++)
    for (let s = 0; s < rows; s++) {
      const h = HL[r * rows + s]!;
      if (h !== 0) for (let j = 0; j < dim; j++) HJ[r * dim + j] += h * J[s * dim + j]!;
    }
  const G = new Float64Array(dim * dim);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < dim; i++) {
      const jri = J[r * dim + i]!;
      if (jri !== 0) for (let j = 0; j < dim; j++) G[i * dim + j] += jri * HJ[r * dim + j]!;
    }
  return G;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const tanhNet = buildModel({ arch: 'mlp', widths: [5], activation: 'tanh' }, train.sampleShape, K);
const theta = Float64Array.from(tanhNet.init(createRng(5)).params);
const dim = tanhNet.layout.size;

describe('ggnOperator: Jᵀ ∇²_f ℓ J against a dense oracle (reference backend, float64)', () => {
  let J: Float64Array;
  let f: Float64Array;
  before(async () => {
    ({ J, f } = await jacobian(tanhNet, theta));
  });

  it('the oracle Jacobian is the Jacobian: central differences of the outputs agree', async () => {
    const h = 1e-5;
    for (const j of [0, 9, dim - 1]) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[j] += h;
      minus[j] -= h;
      const fp = (await jacobian(tanhNet, plus)).f;
      const fm = (await jacobian(tanhNet, minus)).f;
      for (let r = 0; r < N * K; r++) {
        const fd = (fp[r]! - fm[r]!) / (2 * h);
        assert.ok(Math.abs(fd - J[r * dim + j]!) < 1e-7, `J[${r}, ${j}] = ${J[r * dim + j]} vs FD ${fd}`);
      }
    }
  });

  for (const loss of ['mse', 'cross-entropy'] as const) {
    it(`${loss}: the operator's matrix equals Jᵀ HL J, is symmetric and positive semi-definite`, async () => {
      const oracle = sandwich(J, outputHessian(loss, f), N * K, dim);
      // Chunks of 4 over 7 samples: the chunk weighting is part of what is checked.
      const G = await materialize(await ggnOperator(objectiveOf(tanhNet, loss, 'reference'), theta));
      const scale = maxAbs(oracle);
      assert.ok(scale > 0);
      assert.ok(maxAbsDiff(G, oracle) <= 1e-12 * scale, `max |G − oracle| = ${maxAbsDiff(G, oracle)}`);
      for (let i = 0; i < dim; i++)
        for (let j = 0; j < i; j++) assert.ok(Math.abs(G[i * dim + j]! - G[j * dim + i]!) <= 1e-13 * scale);
      const eig = symmetricEigen(G, dim).values;
      assert.ok(Math.min(...eig) >= -1e-12 * scale, `smallest eigenvalue ${Math.min(...eig)}`);
    });

    it(`${loss}: G differs from H on a tanh network (the Hessian's non-Gauss–Newton part is not zero)`, async () => {
      const obj = objectiveOf(tanhNet, loss, 'reference');
      const G = await materialize(await ggnOperator(obj, theta));
      const H = await materialize(await hessianOperator(obj, theta));
      assert.ok(maxAbsDiff(G, H) > 1e-3 * maxAbs(H), `max |G − H| = ${maxAbsDiff(G, H)}`);
    });
  }

  it('per-layer blocks: the restricted operator is the oracle block', async () => {
    const oracle = sandwich(J, outputHessian('cross-entropy', f), N * K, dim);
    const G = await ggnOperator(objectiveOf(tanhNet, 'cross-entropy', 'reference'), theta);
    const off = tanhNet.layout.offsets[2]!; // fc2.weight
    const idx = Array.from({ length: 15 }, (_, i) => off + i);
    const block = await materialize(restrictedOperator(G, idx));
    for (let a = 0; a < idx.length; a++)
      for (let c = 0; c < idx.length; c++)
        assert.ok(Math.abs(block[a * idx.length + c]! - oracle[idx[a]! * dim + idx[c]!]!) <= 1e-12 * maxAbs(oracle));
  });
});

describe('ggnOperator on a model linear in θ under MSE', () => {
  it('equals the Hessian at any θ (float64)', async () => {
    const linear = buildModel({ arch: 'mlp', widths: [] }, train.sampleShape, K);
    for (const seed of [1, 2]) {
      const th = Float64Array.from(linear.init(createRng(seed)).params);
      for (let i = 0; i < th.length; i++) th[i] += 3 * Math.sin(7 * i + seed); // far from the init scale
      const obj = objectiveOf(linear, 'mse', 'reference');
      const G = await materialize(await ggnOperator(obj, th));
      const H = await materialize(await hessianOperator(obj, th));
      assert.ok(maxAbs(H) > 0);
      assert.ok(maxAbsDiff(G, H) <= 1e-14 * maxAbs(H) * linear.layout.size, `max |G − H| = ${maxAbsDiff(G, H)}`);
    }
  });
});

describe('gaussNewton(model, loss, data, params) on onnxruntime (float32)', () => {
  it('eigenvalues(3) match the dense oracle; trace matches tr(G)', async () => {
    const { J, f } = await jacobian(tanhNet, theta);
    const oracle = sandwich(J, outputHessian('cross-entropy', f), N * K, dim);
    const dense = symmetricEigen(oracle, dim).values;
    const G = await gaussNewton(tanhNet, 'cross-entropy', train, theta, { chunkSize: 4 });
    try {
      const top = await G.eigenvalues(3, { iterations: dim });
      for (let i = 0; i < 3; i++)
        assert.ok(
          Math.abs(top.eigenvalues[i]! - dense[i]!) <= 1e-4 * dense[0]!,
          `λ${i + 1} ${top.eigenvalues[i]} vs ${dense[i]}`,
        );
      // Lanczos directly, seeded, on the same operator: the same top eigenvalue.
      const l = await lanczos(G, { k: 1, iterations: dim, seed: 3 });
      assert.ok(Math.abs(l.eigenvalues[0]! - dense[0]!) <= 1e-4 * dense[0]!);
      let tr = 0;
      for (let i = 0; i < dim; i++) tr += oracle[i * dim + i]!;
      const t = await G.trace({ samples: 400, seed: 1 });
      assert.ok(
        Math.abs(t.estimate - tr) <= 4 * t.stdError + 1e-4 * tr,
        `trace ${t.estimate} ± ${t.stdError} vs ${tr}`,
      );
    } finally {
      await G.dispose();
    }
  });
});
