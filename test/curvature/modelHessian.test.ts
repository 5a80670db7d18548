/**
 * The PyHessian-style entry `hessian(model, loss, data, params)` and the operator shortcuts
 * `topEigenpairs`, `trace`, `density`, against a dense Hessian built by central finite
 * differences of the gradient (float64 reference backend, an objective assembled separately).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { buildModel } from '../../src/nn/model.ts';
import { objectiveSpec } from '../../src/nn/losses.ts';
import { DatasetObjective } from '../../src/train/datasetObjective.ts';
import { hessian, type ModelHessian } from '../../src/curvature/modelHessian.ts';
import { density, topEigenpairs, trace } from '../../src/curvature/shortcuts.ts';
import { denseOperator } from '../../src/curvature/operator.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { createRng } from '../../src/util/random.ts';
import { makeGaussianMixture } from '../../src/data/synthetic.ts';
import { oneHot } from '../../src/data/dataset.ts';

const { train } = makeGaussianMixture({ numClasses: 3, dim: 4, separation: 2, trainSize: 40, testSize: 1, seed: 3 });
const model = buildModel({ arch: 'mlp', widths: [5], activation: 'tanh' }, train.sampleShape, 3);
const params = model.init(createRng(4)).params;
const n = model.layout.size;

/** Dense H by central differences of the float64 gradient, symmetrized: H[:, j] ≈ (g(θ+he_j) − g(θ−he_j)) / 2h. */
async function finiteDifferenceHessian(): Promise<Float64Array> {
  const obj = new DatasetObjective(
    new Runtime({ backend: 'reference' }),
    (b) => objectiveSpec(model, 'cross-entropy', b, 'train', 'float64'),
    { n: train.n, arrays: { x: Float64Array.from(train.x), y: Float64Array.from(oneHot(train.y!, 3)) } },
    1000,
  );
  const h = 1e-4;
  const A = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const plus = Float64Array.from(params);
    const minus = Float64Array.from(params);
    plus[j] += h;
    minus[j] -= h;
    const gp = (await obj.lossAndGrad(plus)).grad;
    const gm = (await obj.lossAndGrad(minus)).grad;
    for (let i = 0; i < n; i++) A[i * n + j] = (gp[i]! - gm[i]!) / (2 * h);
  }
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) A[i * n + j] = A[j * n + i] = (A[i * n + j] + A[j * n + i]) / 2;
  return A;
}

describe('hessian(model, loss, data, params)', () => {
  let A: Float64Array;
  let H: ModelHessian;
  let scale: number;
  before(async () => {
    A = await finiteDifferenceHessian();
    H = await hessian(model, 'cross-entropy', train, params, { backend: 'reference', chunkSize: 16 });
    scale = Math.max(...Array.from(A, Math.abs));
  });

  it('is the Hessian: H·e_j matches the finite-difference columns', async () => {
    assert.equal(H.dim, n);
    for (const j of [0, 7, n - 1]) {
      const e = new Float64Array(n);
      e[j] = 1;
      const col = await H.matvec(e);
      for (let i = 0; i < n; i++)
        assert.ok(Math.abs(col[i]! - A[i * n + j]!) <= 1e-6 * scale, `H[${i}, ${j}] = ${col[i]} vs ${A[i * n + j]}`);
    }
  });

  it('eigenvalues(3): the dense top 3, descending, converged', async () => {
    const dense = symmetricEigen(A, n).values;
    const top = await H.eigenvalues(3);
    assert.equal(top.eigenvalues.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.ok(
        Math.abs(top.eigenvalues[i]! - dense[i]!) <= top.residuals[i]! + 1e-6 * scale,
        `λ${i + 1} ${top.eigenvalues[i]} vs ${dense[i]}`,
      );
      assert.ok(top.converged[i], `pair ${i + 1} converged`);
    }
  });

  it('trace(): the same probes as on the dense matrix, and within 4 standard errors of tr(H)', async () => {
    let exact = 0;
    for (let i = 0; i < n; i++) exact += A[i * n + i]!;
    const est = await H.trace({ samples: 60, seed: 5 });
    const ref = await trace(denseOperator(A, n), { samples: 60, seed: 5 });
    assert.ok(
      Math.abs(est.estimate - ref.estimate) <= 1e-6 * scale * n,
      `${est.estimate} vs ${ref.estimate} on dense H`,
    );
    assert.ok(Math.abs(est.estimate - exact) <= 4 * est.stdError, `${est.estimate} ± ${est.stdError} vs tr = ${exact}`);
  });

  it('density(): the quadrature of the dense matrix, nodes inside its spectrum, unit mass', async () => {
    const d = await H.density({ runs: 3, steps: 10, seed: 2, grid: { points: 400 } });
    const ref = await density(denseOperator(A, n), { runs: 3, steps: 10, seed: 2, grid: { points: 400 } });
    const eig = symmetricEigen(A, n).values;
    for (let r = 0; r < 3; r++) {
      d.quadrature.nodes[r]!.forEach((t, i) => {
        assert.ok(
          Math.abs(t - ref.quadrature.nodes[r]![i]!) <= 1e-5 * scale,
          `run ${r} node ${i}: ${t} vs ${ref.quadrature.nodes[r]![i]}`,
        );
        assert.ok(
          t <= eig[0]! + 1e-6 * scale && t >= eig[n - 1]! - 1e-6 * scale,
          `node ${t} inside [${eig[n - 1]}, ${eig[0]}]`,
        );
      });
    }
    let mass = 0;
    for (let i = 1; i < d.x.length; i++) mass += ((d.density[i]! + d.density[i - 1]!) / 2) * (d.x[i]! - d.x[i - 1]!);
    assert.ok(Math.abs(mass - 1) < 1e-3, `∫ρ = ${mass}`);
  });

  it('one-hot targets give the same Hessian as labels; a wrong parameter count is an error', async () => {
    const withTargets = await hessian(
      model,
      'cross-entropy',
      { ...train, y: null, targets: oneHot(train.y!, 3) },
      params,
      { backend: 'reference' },
    );
    const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const a = await H.matvec(v);
    const b = await withTargets.matvec(v);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-12 * scale * n);
    await assert.rejects(
      hessian(model, 'cross-entropy', train, params.subarray(1), { backend: 'reference' }),
      /params has length/,
    );
  });

  it('topEigenpairs on a dense operator: the k largest eigenvalues of a known spectrum', async () => {
    const m = 30;
    const D = new Float64Array(m * m);
    for (let i = 0; i < m; i++) D[i * m + i] = i - 10;
    const r = await topEigenpairs(denseOperator(D, m), 4);
    r.eigenvalues.forEach((e, i) => assert.ok(Math.abs(e - (19 - i)) < 1e-8, `${e} vs ${19 - i}`));
  });
});
