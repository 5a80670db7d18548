/**
 * The curvature toolkit on real (tiny) networks: Lanczos through the Hessian operator (exact
 * HVPs, data in chunks) against a dense eigendecomposition of the Hessian assembled column by
 * column, and the Adam-preconditioned operator against the dense P^-1/2 H P^-1/2.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { buildModel } from '../../src/nn/model.ts';
import { objectiveSpec } from '../../src/nn/losses.ts';
import { DatasetObjective } from '../../src/train/datasetObjective.ts';
import { hessianOperator } from '../../src/curvature/hessian.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { materialize, preconditionedOperator } from '../../src/curvature/operator.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { createRng } from '../../src/util/random.ts';
import { makeGaussianMixture } from '../../src/data/synthetic.ts';
import { oneHot } from '../../src/data/dataset.ts';

async function tinyProblem(chunk: number) {
  const { train } = makeGaussianMixture({ numClasses: 3, dim: 5, separation: 2, trainSize: 23, testSize: 1, seed: 1 });
  const model = buildModel({ arch: 'mlp', widths: [6], activation: 'tanh' }, train.sampleShape, 3);
  const rt = new Runtime({ backend: 'reference' });
  const obj = new DatasetObjective(
    rt,
    (b) => objectiveSpec(model, 'mse', b, 'train', 'float64'),
    { n: train.n, arrays: { x: Float64Array.from(train.x), y: oneHot(train.y!, 3) } as never },
    chunk,
  );
  const theta = Float64Array.from(model.init(createRng(2)).params);
  return { obj, theta, dim: model.layout.size };
}

const cos = (a: Float64Array, b: Float64Array) => {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return Math.abs(d) / Math.sqrt(na * nb);
};

describe('curvature of a tiny network (float64 reference backend)', () => {
  it('Lanczos top-k matches the dense eigendecomposition of the assembled Hessian', async () => {
    const { obj, theta, dim } = await tinyProblem(23);
    const H = await hessianOperator(obj, theta);
    const dense = await materialize(H);
    const truth = symmetricEigen(dense, dim);
    const r = await lanczos(H, { k: 3, iterations: dim, seed: 0, earlyStop: false, tol: 1e-9 });
    for (let i = 0; i < 3; i++) {
      const rel = Math.abs(r.eigenvalues[i]! - truth.values[i]!) / Math.abs(truth.values[i]!);
      assert.ok(rel < 1e-8, `eigenvalue ${i}: ${r.eigenvalues[i]} vs ${truth.values[i]} (rel ${rel})`);
      assert.ok(
        cos(r.eigenvectors[i]!, truth.vectors[i]!) > 0.9999,
        `eigenvector ${i}: |cos| ${cos(r.eigenvectors[i]!, truth.vectors[i]!)}`,
      );
      assert.ok(r.converged[i], `pair ${i} converged, residual ${r.residuals[i]}`);
    }
    // The smallest eigenvalue (negative curvature) too.
    const low = await lanczos(H, { k: 1, iterations: dim, seed: 1, which: 'smallest', earlyStop: false });
    const lmin = truth.values[dim - 1]!;
    assert.ok(
      Math.abs(low.eigenvalues[0]! - lmin) < 1e-8 * Math.max(1, Math.abs(lmin)),
      `λmin ${low.eigenvalues[0]} vs ${lmin}`,
    );
  });

  it('chunking the data does not change the Hessian (exact weighting of a smaller last chunk)', async () => {
    const a = await tinyProblem(23);
    const b = await tinyProblem(5); // chunks of 5, 5, 5, 5, 3
    const rng = createRng(3);
    const v = Float64Array.from({ length: a.dim }, () => rng.normal());
    const ha = await (await hessianOperator(a.obj, a.theta)).matvec(v);
    const hb = await (await hessianOperator(b.obj, b.theta)).matvec(v);
    let err = 0,
      nrm = 0;
    for (let i = 0; i < ha.length; i++) {
      err += (ha[i]! - hb[i]!) ** 2;
      nrm += ha[i]! ** 2;
    }
    assert.ok(Math.sqrt(err / nrm) < 1e-13, `rel. difference ${Math.sqrt(err / nrm)}`);
  });

  it('the preconditioned operator equals the dense P^-1/2 H P^-1/2', async () => {
    const { obj, theta, dim } = await tinyProblem(23);
    const H = await hessianOperator(obj, theta);
    const dense = await materialize(H);
    const rng = createRng(4);
    const p = Float64Array.from({ length: dim }, () => 0.1 + rng.uniform());
    const want = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++)
      for (let j = 0; j < dim; j++) want[i * dim + j] = dense[i * dim + j]! / Math.sqrt(p[i]! * p[j]!);
    const got = await materialize(preconditionedOperator(H, p));
    let err = 0,
      nrm = 0;
    for (let i = 0; i < want.length; i++) {
      err += (got[i]! - want[i]!) ** 2;
      nrm += want[i]! ** 2;
    }
    assert.ok(Math.sqrt(err / nrm) < 1e-13, `rel. difference ${Math.sqrt(err / nrm)}`);
    const top = await lanczos(preconditionedOperator(H, p), { k: 1, iterations: dim, seed: 0, earlyStop: false });
    const truth = symmetricEigen(want, dim).values[0]!;
    assert.ok(
      Math.abs(top.eigenvalues[0]! - truth) < 1e-8 * Math.abs(truth),
      `λ1(P^-1/2 H P^-1/2) ${top.eigenvalues[0]} vs ${truth}`,
    );
  });
});
