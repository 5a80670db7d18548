import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normalArray } from '../../src/util/random.ts';
import { denseOperator, diagonalOperator, type LinearOperator } from '../../src/curvature/operator.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { powerIteration } from '../../src/curvature/power.ts';
import { absCos, dot, linspace, residual, withSpectrum } from './helpers.ts';

/** n = 200, well-separated top 5 above a bulk in [-1, 3]. */
const top = [10, 8, 6, 5, 4.5];
const lambdas = [...top, ...linspace(-1, 3, 195)];
const n = lambdas.length;
const { A, Q } = withSpectrum(lambdas, createRng(1));
const op = denseOperator(A, n);

function countingOp(base: LinearOperator): LinearOperator & { calls: number } {
  const o = { dim: base.dim, calls: 0, matvec: (v: Float64Array) => (o.calls++, base.matvec(v)) };
  return o;
}

test('top-5 eigenpairs of Q diag Qᵀ: values to 1e-8 relative, |cos| > 0.9999, honest residuals', async () => {
  const counted = countingOp(op);
  const r = await lanczos(counted, { k: 5, iterations: 80, seed: 3, tol: 1e-8 });
  assert.equal(r.eigenvalues.length, 5);
  assert.equal(r.residualKind, 'exact');
  for (let i = 0; i < 5; i++) {
    assert.ok(Math.abs(r.eigenvalues[i] - top[i]) <= 1e-8 * top[i], `λ${i} = ${r.eigenvalues[i]}`);
    assert.ok(absCos(r.eigenvectors[i], Q[i]) > 0.9999);
    assert.ok(Math.abs(dot(r.eigenvectors[i], r.eigenvectors[i]) - 1) < 1e-12);
    const trueRes = residual(A, n, r.eigenvalues[i], r.eigenvectors[i]);
    assert.ok(Math.abs(r.residuals[i] - trueRes) <= 1e-12 * 10, 'reported residual is ‖Av−λv‖');
    assert.ok(r.converged[i]);
    assert.ok(r.residuals[i] <= 1e-8 * top[i]);
  }
  assert.equal(r.matvecs, r.iterations + 5);
  assert.equal(counted.calls, r.matvecs);
  assert.ok(r.iterations < 80, 'stops early once converged');
  assert.ok(Object.isFrozen(r) && Object.isFrozen(r.eigenvalues));
});

test('smallest eigenpairs of an indefinite matrix, ascending', async () => {
  const ls = [-7, -6, ...linspace(-4, 5, 98)];
  const { A: B, Q: QB } = withSpectrum(ls, createRng(2));
  const r = await lanczos(denseOperator(B, 100), { k: 2, which: 'smallest', iterations: 60, tol: 1e-9 });
  assert.ok(Math.abs(r.eigenvalues[0] + 7) < 1e-8 * 7);
  assert.ok(Math.abs(r.eigenvalues[1] + 6) < 1e-8 * 6);
  assert.ok(absCos(r.eigenvectors[0], QB[0]) > 0.9999);
  assert.ok(r.converged.every(Boolean));
});

test("'largest-magnitude' orders by |λ|, 'largest' by λ", async () => {
  const ls = [-12, 9, ...linspace(-5, 5, 78)];
  const { A: B, Q: QB } = withSpectrum(ls, createRng(4));
  const ob = denseOperator(B, 80);
  const mag = await lanczos(ob, { k: 2, which: 'largest-magnitude', iterations: 50, tol: 1e-9 });
  assert.ok(Math.abs(mag.eigenvalues[0] + 12) < 1e-8 * 12);
  assert.ok(Math.abs(mag.eigenvalues[1] - 9) < 1e-8 * 9);
  assert.ok(absCos(mag.eigenvectors[0], QB[0]) > 0.9999);
  const big = await lanczos(ob, { k: 2, which: 'largest', iterations: 50, tol: 1e-9 });
  assert.ok(Math.abs(big.eigenvalues[0] - 9) < 1e-8 * 9);
  assert.ok(Math.abs(big.eigenvalues[1] - 5) < 1e-8 * 5);
});

test('a warm start near the top eigenvector needs fewer iterations', async () => {
  const cold = await lanczos(op, { k: 1, iterations: 100, seed: 5, tol: 1e-10 });
  const near = Float64Array.from(Q[0]);
  const noise = normalArray(createRng(6), n, 1e-4);
  for (let i = 0; i < n; i++) near[i] += noise[i];
  const warm = await lanczos(op, { k: 1, iterations: 100, seed: 5, tol: 1e-10, start: near });
  const exact = await lanczos(op, { k: 1, iterations: 100, seed: 5, tol: 1e-10, start: Q[0] });
  for (const r of [cold, warm, exact]) {
    assert.ok(r.converged[0]);
    assert.ok(Math.abs(r.eigenvalues[0] - 10) < 1e-9 * 10);
  }
  assert.ok(warm.iterations < cold.iterations, `warm ${warm.iterations} vs cold ${cold.iterations}`);
  assert.ok(exact.iterations <= 2, `exact warm start took ${exact.iterations}`);
});

test('clustered spectrum with too few iterations: converged is false and residuals are still honest', async () => {
  const cl = [1, 1 - 1e-4, 1 - 2e-4, 1 - 3e-4, 1 - 4e-4, ...linspace(-1, 0.9, 115)];
  const { A: B } = withSpectrum(cl, createRng(7));
  const ob = denseOperator(B, 120);
  for (const exactResiduals of [true, false]) {
    const r = await lanczos(ob, { k: 3, iterations: 8, tol: 1e-8, exactResiduals });
    assert.equal(r.iterations, 8);
    assert.ok(r.converged.includes(false));
    r.eigenvalues.forEach((l, i) => {
      const trueRes = residual(B, 120, l, r.eigenvectors[i]);
      // The Lanczos bound equals the true residual up to rounding under full reorthogonalization.
      assert.ok(Math.abs(r.residuals[i] - trueRes) <= 1e-10, `${exactResiduals}: ${r.residuals[i]} vs ${trueRes}`);
      assert.equal(r.converged[i], trueRes <= 1e-8);
    });
  }
  // Enough iterations resolve the cluster.
  const full = await lanczos(ob, { k: 3, iterations: 120, tol: 1e-8 });
  assert.ok(full.converged.every(Boolean));
  full.eigenvalues.forEach((l, i) => assert.ok(Math.abs(l - cl[i]) < 1e-10));
});

test('breakdown (invariant Krylov subspace) restarts and still finds the top-k', async () => {
  const d = new Float64Array([5, 4, 3, 2, 1, 0, -1, -2, -3, -4]);
  const start = new Float64Array(10);
  start[1] = 1;
  start[3] = 1; // Krylov space of this start is span(e1, e3): β = 0 after two steps
  const r = await lanczos(diagonalOperator(d), { k: 4, iterations: 10, start, tol: 1e-10 });
  assert.deepEqual(
    r.eigenvalues.map((x) => Math.round(x * 1e9) / 1e9),
    [5, 4, 3, 2],
  );
  r.eigenvalues.forEach((l, i) => assert.ok(Math.abs(l - d[i]) < 1e-12));
  assert.ok(r.converged.every(Boolean));
  // The zero operator breaks down at every step.
  const z = await lanczos(diagonalOperator(new Float64Array(6)), { k: 2, iterations: 6 });
  assert.deepEqual([...z.eigenvalues], [0, 0]);
  assert.ok(z.converged.every(Boolean));
});

test('small dim caps iterations; k > iterations returns as many pairs as steps', async () => {
  const small = await lanczos(diagonalOperator(new Float64Array([2, -1, 7])), { k: 5, iterations: 50 });
  assert.equal(small.iterations, 3);
  assert.equal(small.eigenvalues.length, 3);
  [7, 2, -1].forEach((l, i) => assert.ok(Math.abs(small.eigenvalues[i] - l) < 1e-13));
  const capped = await lanczos(op, { k: 6, iterations: 4 });
  assert.equal(capped.iterations, 4);
  assert.equal(capped.eigenvalues.length, 4);
  for (let i = 1; i < 4; i++) assert.ok(capped.eigenvalues[i] < capped.eigenvalues[i - 1]);
  // Ritz values interlace: never above λ_max.
  assert.ok(capped.eigenvalues[0] <= 10 + 1e-12);
});

test('same seed gives bit-identical results; another seed the same eigenvalues', async () => {
  const a = await lanczos(op, { k: 3, iterations: 40, seed: 9 });
  const b = await lanczos(op, { k: 3, iterations: 40, seed: 9 });
  assert.deepEqual(a, b);
  assert.deepEqual(a.eigenvectors, b.eigenvectors);
  const c = await lanczos(op, { k: 3, iterations: 40, seed: 10 });
  assert.notDeepEqual(a.eigenvectors[0], c.eigenvectors[0]);
  a.eigenvalues.forEach((l, i) => assert.ok(Math.abs(l - c.eigenvalues[i]) < 1e-9 * 10));
});

test('earlyStop: false runs every iteration; bad options are rejected', async () => {
  const r = await lanczos(op, { k: 1, iterations: 30, earlyStop: false });
  assert.equal(r.iterations, 30);
  await assert.rejects(lanczos(op, { k: 0 }), /k must be/);
  await assert.rejects(lanczos(op, { which: 'top' as never }), /which/);
  await assert.rejects(lanczos(op, { start: new Float64Array(n) }), /nonzero/);
  await assert.rejects(lanczos(op, { start: new Float64Array(3) }), /length/);
});

/**
 * diag(d) with a float32 product (as the HVP on onnxruntime): matvec32 rounds v·d to float32,
 * and counts which path the solver used. Its spectrum is d itself, its eigenvectors e_i.
 */
function float32Diagonal(d: Float64Array) {
  const o = {
    dim: d.length,
    calls32: 0,
    calls64: 0,
    async matvec(v: Float64Array): Promise<Float64Array> {
      o.calls64++;
      return v.map((x, i) => x * d[i]);
    },
    async matvec32(v: Float32Array): Promise<Float32Array> {
      assert.ok(v instanceof Float32Array);
      o.calls32++;
      return v.map((x, i) => x * d[i]);
    },
  };
  return o;
}

test('float32 Lanczos vectors on diag(d): top-3 and bottom-2 to float32 accuracy; precision float64 still exact', async () => {
  // Known spectrum: three separated top values and a bulk on [-1, 5], shuffled positions.
  const m = 3000;
  const values = [10, 9, 8, ...linspace(-1, 5, m - 3)];
  const perm = Array.from({ length: m }, (_, i) => i);
  const rng = createRng(11);
  for (let i = m - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const d = new Float64Array(m);
  values.forEach((v, i) => (d[perm[i]] = v));
  const opf = float32Diagonal(d);
  // Float32 products and basis: errors of order eps32·‖A‖ ≈ 6e-7 (100 eps32 relative below).
  const r = await lanczos(opf, { k: 3, iterations: 80, seed: 1, tol: 1e-5 });
  assert.ok(opf.calls32 >= r.iterations, 'Krylov products went through matvec32');
  assert.equal(opf.calls64, 3, 'only the exact residuals use the float64 product');
  for (let i = 0; i < 3; i++) {
    const want = values[i];
    assert.ok(Math.abs(r.eigenvalues[i] - want) <= 100 * 2 ** -24 * 10, `λ${i} = ${r.eigenvalues[i]}, want ${want}`);
    const x = r.eigenvectors[i];
    assert.ok(x instanceof Float64Array);
    assert.ok(Math.abs(x[perm[i]]) > 1 - 1e-5, `eigenvector ${i} is e_${perm[i]}`);
    assert.ok(r.converged[i] && r.residuals[i] <= 1e-5 * want);
    for (let j = 0; j < i; j++) assert.ok(Math.abs(dot(x, r.eigenvectors[j])) < 1e-5);
  }
  const low = await lanczos(opf, {
    k: 2,
    which: 'smallest',
    iterations: 150,
    seed: 2,
    tol: 1e-3,
    exactResiduals: false,
  });
  assert.ok(Math.abs(low.eigenvalues[0] + 1) < 1e-4 && Math.abs(low.eigenvalues[1] - values[3 + 1]) < 1e-4);
  // The same operator forced to float64 vectors: matvec only, and the float64 accuracy.
  const op64 = float32Diagonal(d);
  const r64 = await lanczos(op64, { k: 3, iterations: 80, seed: 1, tol: 1e-10, precision: 'float64' });
  assert.equal(op64.calls32, 0);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(r64.eigenvalues[i] - values[i]) <= 1e-10 * values[i]);
  // Power iteration on the float32 path agrees with the closed form as well.
  const pw = await powerIteration(float32Diagonal(d), { k: 1, maxIterations: 400, tol: 1e-4, seed: 3 });
  assert.ok(Math.abs(pw.eigenvalues[0] - 10) < 1e-4 * 10 && pw.converged[0]);
});
