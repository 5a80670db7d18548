/**
 * Lanczos with the basis in one float32 matrix and its Gram–Schmidt sweeps on onnxruntime's
 * kernels (operators with basisKernels, as the Hessian on an ort Runtime): known spectra of
 * float32 diagonal operators, and the same tridiagonal as the JS path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBasisKernels } from '../../src/engine/basisKernels.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { lanczosTridiagonalize } from '../../src/curvature/krylov.ts';
import { materialize, type LinearOperator } from '../../src/curvature/operator.ts';
import { hessian } from '../../src/curvature/modelHessian.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { buildModel } from '../../src/nn/model.ts';
import { makeGaussianMixture } from '../../src/data/synthetic.ts';
import { createRng, normalArray } from '../../src/util/random.ts';
import { dot, linspace } from './helpers.ts';
import { dot as vdot } from '../../src/curvature/vec.ts';

const kernels = createBasisKernels(1);
const eps32 = 2 ** -24;

/** diag(d) with a float32 product (rounded like an HVP on onnxruntime), with or without kernels. */
function float32Diagonal(d: Float64Array, native: boolean): LinearOperator & { calls32: number } {
  const o = {
    dim: d.length,
    calls32: 0,
    ...(native ? { basisKernels: kernels } : {}),
    async matvec(v: Float64Array): Promise<Float64Array> {
      return v.map((x, i) => x * d[i]);
    },
    async matvec32(v: Float32Array): Promise<Float32Array> {
      o.calls32++;
      return v.map((x, i) => x * d[i]);
    },
  };
  return o;
}

/** Known spectrum: three separated top values and a bulk on [-1, 5], at shuffled positions. */
function spectrum(m: number, seed: number): { d: Float64Array; values: number[]; perm: number[] } {
  const values = [10, 9, 8, ...linspace(-1, 5, m - 3)];
  const perm = Array.from({ length: m }, (_, i) => i);
  const rng = createRng(seed);
  for (let i = m - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const d = new Float64Array(m);
  values.forEach((v, i) => (d[perm[i]] = v));
  return { d, values, perm };
}

test('native basis: top-3 eigenpairs of a float32 diagonal to float32 accuracy', async () => {
  const { d, values, perm } = spectrum(3000, 11);
  const op = float32Diagonal(d, true);
  const r = await lanczos(op, { k: 3, iterations: 80, seed: 1, tol: 1e-5 });
  assert.ok(op.calls32 >= r.iterations);
  for (let i = 0; i < 3; i++) {
    assert.ok(
      Math.abs(r.eigenvalues[i] - values[i]) <= 100 * eps32 * 10,
      `λ${i} = ${r.eigenvalues[i]}, want ${values[i]}`,
    );
    const x = r.eigenvectors[i];
    assert.ok(x instanceof Float64Array);
    assert.ok(Math.abs(x[perm[i]]) > 1 - 1e-5, `eigenvector ${i} is e_${perm[i]}`);
    assert.ok(r.converged[i] && r.residuals[i] <= 1e-5 * values[i]);
    for (let j = 0; j < i; j++) assert.ok(Math.abs(dot(x, r.eigenvectors[j])) < 1e-5);
  }
});

test('native basis: orthonormal to float32 rounding, and the same tridiagonal as the JS sweeps', async () => {
  const { d } = spectrum(20_000, 5);
  const start = normalArray(createRng(2), d.length);
  const steps = 30;
  for (const reorthogonalization of ['full', 'partial'] as const) {
    const opts = { steps, rng: createRng(3), onBreakdown: 'restart' as const, reorthogonalization };
    const nat = await lanczosTridiagonalize(float32Diagonal(d, true), start, opts);
    const js = await lanczosTridiagonalize(float32Diagonal(d, false), start, { ...opts, rng: createRng(3) });
    assert.ok(nat.matrix instanceof Float32Array && js.matrix === undefined);
    assert.equal(nat.steps, steps);
    // Orthonormality of the float32 basis, in float64.
    let off = 0;
    let diag = 0;
    for (let i = 0; i < steps; i++) {
      diag = Math.max(diag, Math.abs(vdot(nat.basis[i], nat.basis[i]) - 1));
      for (let j = 0; j < i; j++) off = Math.max(off, Math.abs(vdot(nat.basis[i], nat.basis[j])));
    }
    // 'full': float32-accumulated dots leave ~10 ε32 off the diagonal; 'partial' keeps the basis
    // semi-orthogonal (≤ √ε, ε = 1e-6 for float32 products). Norms: a few ε32 (float32 sums).
    assert.ok(
      off < (reorthogonalization === 'full' ? 30 * eps32 : 1e-3),
      `${reorthogonalization}: max |q_iᵀq_j| = ${off}`,
    );
    assert.ok(diag < 30 * eps32, `${reorthogonalization}: max |q_iᵀq_i − 1| = ${diag}`);
    // Both are the Lanczos tridiagonal of the same (float32-rounded) operator and start: they agree
    // to float32 rounding amplified by the recurrence, far below the entries' size (‖A‖ = 10).
    for (let j = 0; j < steps; j++)
      assert.ok(Math.abs(nat.alpha[j] - js.alpha[j]) < 1e-3, `α${j}: ${nat.alpha[j]} vs ${js.alpha[j]}`);
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(nat.alpha[j] - js.alpha[j]) < 1e-5, `early α${j}`);
    for (let j = 0; j < steps - 1; j++)
      assert.ok(Math.abs(nat.beta[j] - js.beta[j]) < 1e-3, `β${j}: ${nat.beta[j]} vs ${js.beta[j]}`);
  }
});

test('native basis: breakdown (invariant Krylov subspace) restarts and still finds the top-k', async () => {
  const d = new Float64Array([5, 4, 3, 2, 1, 0, -1, -2, -3, -4]);
  const start = new Float64Array(10);
  start[1] = 1;
  start[3] = 1; // Krylov space of this start is span(e1, e3): β = 0 after two steps
  const r = await lanczos(float32Diagonal(d, true), { k: 4, iterations: 10, start, tol: 1e-5 });
  r.eigenvalues.forEach((l, i) => assert.ok(Math.abs(l - d[i]) < 1e-5, `λ${i} = ${l}`));
  assert.ok(r.converged.every(Boolean));
});

test('Hessian on an ort Runtime: Lanczos takes the native path and finds the dense top-3 of the float64 Hessian', async () => {
  const { train } = makeGaussianMixture({ numClasses: 3, dim: 4, separation: 2, trainSize: 40, testSize: 1, seed: 3 });
  const model = buildModel({ arch: 'mlp', widths: [8], activation: 'tanh' }, train.sampleShape, 3);
  const params = model.init(createRng(4)).params;
  const ref = await hessian(model, 'cross-entropy', train, params, { backend: 'reference' });
  const H = await hessian(model, 'cross-entropy', train, params, { backend: 'ort' });
  try {
    assert.ok(H.basisKernels && !ref.basisKernels, 'float32 Hessian brings basis kernels, the float64 one does not');
    const n = H.dim;
    const { values } = symmetricEigen(await materialize(ref), n);
    const dense = Array.from(values).sort((a, b) => b - a);
    const scale = Math.max(...dense.map(Math.abs));
    const r = await H.eigenvalues(3, { iterations: 40, tol: 1e-4 });
    for (let i = 0; i < 3; i++) {
      assert.ok(
        Math.abs(r.eigenvalues[i] - dense[i]) <= 1e-4 * scale,
        `λ${i} = ${r.eigenvalues[i]}, dense ${dense[i]}`,
      );
      assert.ok(r.residuals[i] <= 1e-3 * scale, `residual ${r.residuals[i]}`);
    }
  } finally {
    await H.dispose();
    await ref.dispose();
  }
});
