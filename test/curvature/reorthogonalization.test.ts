/**
 * Partial reorthogonalization (Simon's ω-recurrence) against oracles, on spectra where Lanczos
 * without reorthogonalization grows ghost copies of the converged eigenvalues: the top Ritz
 * values match the known spectrum with no duplicates, the basis stays semi-orthogonal
 * (|q_iᵀq_k| ≤ √ε), and far fewer steps sweep the whole basis than with 'full'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normalArray } from '../../src/util/random.ts';
import { createBasisKernels } from '../../src/engine/basisKernels.ts';
import { lanczosTridiagonalize, NOISE_FLOOR, type KrylovResult } from '../../src/curvature/krylov.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { lanczosQuadrature } from '../../src/curvature/density.ts';
import { denseOperator, type LinearOperator } from '../../src/curvature/operator.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { tridiagonalEigen } from '../../src/curvature/tridiagonalEigen.ts';
import { dot as vdot } from '../../src/curvature/vec.ts';
import { linspace, matvec, withSpectrum } from './helpers.ts';

const kernels = createBasisKernels(1);

/** A product rounded to float32 (as an HVP on onnxruntime), optionally with the native basis kernels. */
function float32Op(mv: (v: Float64Array) => Float64Array, n: number, native = false): LinearOperator {
  return {
    dim: n,
    ...(native ? { basisKernels: kernels } : {}),
    async matvec(v: Float64Array): Promise<Float64Array> {
      return mv(v);
    },
    async matvec32(v: Float32Array): Promise<Float32Array> {
      return Float32Array.from(mv(Float64Array.from(v)));
    },
  };
}

/** Five separated top eigenvalues over a dense cluster on [0, 7], at shuffled positions. */
const top = [10, 9.5, 9, 8.5, 8];
function diagonal(m: number, seed: number): Float64Array {
  const values = [...top, ...linspace(0, 7, m - top.length)];
  const rng = createRng(seed);
  for (let i = m - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return Float64Array.from(values);
}

/** Ritz values (ascending) of textbook Lanczos in float64 with no reorthogonalization at all. */
function plainLanczosRitz(mv: (v: Float64Array) => Float64Array, start: Float64Array, steps: number): Float64Array {
  const n = start.length;
  let q = start.map((x) => x / Math.sqrt(vdot(start, start)));
  let prev = new Float64Array(n);
  const alpha: number[] = [];
  const beta: number[] = [];
  for (let j = 0; j < steps; j++) {
    const w = mv(q);
    const a = vdot(q, w);
    const b0 = j > 0 ? beta[j - 1] : 0;
    for (let i = 0; i < n; i++) w[i] -= a * q[i] + b0 * prev[i];
    alpha.push(a);
    const b = Math.sqrt(vdot(w, w));
    if (j + 1 < steps) beta.push(b);
    prev = q;
    q = w.map((x) => x / b);
  }
  return tridiagonalEigen(alpha, beta).values;
}

/** How many of `values` lie within tol of x. */
const near = (values: ArrayLike<number>, x: number, tol: number): number =>
  Array.from(values).filter((v) => Math.abs(v - x) <= tol).length;

/** max_{i≠k} |q_iᵀq_k| and max_i |q_iᵀq_i − 1| over the basis, summed in float64. */
function orthogonality(kr: KrylovResult): { off: number; diag: number } {
  let off = 0;
  let diag = 0;
  for (let i = 0; i < kr.basis.length; i++) {
    diag = Math.max(diag, Math.abs(vdot(kr.basis[i], kr.basis[i]) - 1));
    for (let k = 0; k < i; k++) off = Math.max(off, Math.abs(vdot(kr.basis[i], kr.basis[k])));
  }
  return { off, diag };
}

test('the test spectrum grows ghosts without reorthogonalization', () => {
  const d = diagonal(1500, 1);
  const start = normalArray(createRng(2), d.length);
  const ritz = plainLanczosRitz((v) => v.map((x, i) => x * d[i]), start, 150);
  // Plain Lanczos finds λ_max several times over: the failure partial reorthogonalization prevents.
  assert.ok(near(ritz, 10, 1e-5) >= 2, `copies of 10: ${near(ritz, 10, 1e-5)}`);
});

for (const native of [false, true]) {
  test(`partial, float32 products, ${native ? 'native' : 'JS'} basis: top-5 without ghosts, semi-orthogonal, few full sweeps`, async () => {
    const d = diagonal(1500, 1);
    const op = float32Op((v) => v.map((x, i) => x * d[i]), d.length, native);
    const start = normalArray(createRng(2), d.length);
    const steps = 150;
    const kr = await lanczosTridiagonalize(op, start, { steps, rng: createRng(3), onBreakdown: 'restart' });
    assert.equal(kr.steps, steps);
    assert.equal(kr.basis.length, steps);
    const { values } = tridiagonalEigen(kr.alpha, kr.beta);
    const desc = Array.from(values).reverse();
    // The top-5 Ritz values are the top-5 eigenvalues (float32 products: ~ε32·‖A‖ apart), each once.
    top.forEach((l, i) => assert.ok(Math.abs(desc[i]! - l) <= 1e-4, `θ${i} = ${desc[i]}, want ${l}`));
    for (const l of top) assert.equal(near(values, l, 1e-2), 1, `one Ritz value at ${l}`);
    assert.ok(desc[5]! <= 7 + 1e-4, `θ5 = ${desc[5]} is in the cluster`);
    // Semi-orthogonal: |q_iᵀq_k| ≤ √ε, ε the float32 noise floor (the diagonal is exactly symmetric).
    const { off, diag } = orthogonality(kr);
    assert.ok(off <= Math.sqrt(NOISE_FLOOR.float32), `max |q_iᵀq_k| = ${off}`);
    assert.ok(diag <= 1e-5, `max |q_iᵀq_i − 1| = ${diag}`);
    // Some steps needed the whole basis (else ghosts), far from all of them.
    assert.ok(kr.fullSweeps > 0 && kr.fullSweeps <= 0.4 * steps, `full sweeps: ${kr.fullSweeps} of ${steps}`);
    // The eigensolver on top: the same values, converged, with exact residuals.
    const r = await lanczos(op, { k: 5, iterations: steps, earlyStop: false, seed: 4, tol: 1e-5 });
    top.forEach((l, i) => assert.ok(Math.abs(r.eigenvalues[i]! - l) <= 1e-4, `λ${i} = ${r.eigenvalues[i]}`));
    assert.ok(r.converged.every(Boolean), `residuals ${r.residuals.join(', ')}`);
  });
}

test('partial on a dense rotated matrix (float32 and float64 products): the dense oracle, no ghosts', async () => {
  const n = 300;
  const ls = [...top, ...linspace(-2, 7, n - top.length)];
  const { A } = withSpectrum(ls, createRng(5));
  const oracle = Array.from(symmetricEigen(A, n).values).sort((a, b) => b - a);
  const mv = (v: Float64Array) => matvec(A, n, v);
  const start = normalArray(createRng(6), n);
  const steps = 120;
  const plain = plainLanczosRitz(mv, start, steps);
  assert.ok(near(plain, oracle[0]!, 1e-5) >= 2, 'plain Lanczos has ghosts here too');
  for (const [op, eps, tol] of [
    [float32Op(mv, n), NOISE_FLOOR.float32, 1e-4],
    [denseOperator(A, n), NOISE_FLOOR.float64, 1e-10],
  ] as const) {
    const kr = await lanczosTridiagonalize(op, start, { steps, rng: createRng(7), onBreakdown: 'restart' });
    const values = tridiagonalEigen(kr.alpha, kr.beta).values;
    const desc = Array.from(values).reverse();
    for (let i = 0; i < top.length; i++) {
      assert.ok(Math.abs(desc[i]! - oracle[i]!) <= tol * 10, `θ${i} = ${desc[i]}, oracle ${oracle[i]}`);
      assert.equal(near(values, oracle[i]!, 1e-2), 1, `one Ritz value at ${oracle[i]}`);
    }
    // A 120-step Krylov space of a 300-dim matrix resolves the bulk's ends too.
    assert.ok(Math.abs(values[0]! - oracle[n - 1]!) <= 1e-3, `θ_min = ${values[0]}, oracle ${oracle[n - 1]}`);
    // The asymmetry estimate may raise ε a little above the floor (float64: rounding of the sums).
    const { off } = orthogonality(kr);
    assert.ok(off <= 2 * Math.sqrt(eps), `max |q_iᵀq_k| = ${off} (ε = ${eps})`);
    assert.ok(kr.fullSweeps > 0 && kr.fullSweeps <= 0.4 * steps, `full sweeps: ${kr.fullSweeps} of ${steps}`);
  }
});

test("'full' sweeps the whole basis at every step and keeps it orthonormal to rounding", async () => {
  const d = diagonal(1500, 1);
  const start = normalArray(createRng(2), d.length);
  const steps = 60;
  for (const native of [false, true]) {
    const op = float32Op((v) => v.map((x, i) => x * d[i]), d.length, native);
    const opts = { steps, rng: createRng(3), onBreakdown: 'restart' as const };
    const full = await lanczosTridiagonalize(op, start, { ...opts, reorthogonalization: 'full' });
    assert.ok(full.fullSweeps >= steps - 1, `full sweeps: ${full.fullSweeps}`);
    assert.ok(orthogonality(full).off <= 30 * 2 ** -24, `max |q_iᵀq_k| = ${orthogonality(full).off}`);
    // Partial finds the same tridiagonal's top Ritz values with fewer sweeps.
    const part = await lanczosTridiagonalize(op, start, { ...opts, rng: createRng(3) });
    assert.ok(part.fullSweeps < full.fullSweeps / 2, `partial ${part.fullSweeps} vs full ${full.fullSweeps}`);
    const tf = Array.from(tridiagonalEigen(full.alpha, full.beta).values).reverse();
    const tp = Array.from(tridiagonalEigen(part.alpha, part.beta).values).reverse();
    for (let i = 0; i < top.length; i++) assert.ok(Math.abs(tf[i]! - tp[i]!) <= 1e-5, `θ${i}: ${tf[i]} vs ${tp[i]}`);
  }
  await assert.rejects(
    lanczosTridiagonalize(
      float32Op((v) => v, 4),
      new Float64Array([1, 0, 0, 0]),
      {
        steps: 2,
        rng: createRng(0),
        onBreakdown: 'stop',
        reorthogonalization: 'none' as never,
      },
    ),
    /reorthogonalization/,
  );
});

test('stochastic Lanczos quadrature on the partial basis: the same Gauss rule as with full reorthogonalization', async () => {
  const d = diagonal(1500, 1);
  const op = float32Op((v) => v.map((x, i) => x * d[i]), d.length);
  const v = normalArray(createRng(8), d.length);
  const q = await lanczosQuadrature(op, v, 80);
  const full = await lanczosTridiagonalize(op, v, {
    steps: 80,
    rng: createRng(0),
    onBreakdown: 'stop',
    reorthogonalization: 'full',
  });
  const { values, components } = tridiagonalEigen(full.alpha, full.beta, [0]);
  // Moments vᵀA^p v / ‖v‖² for p ≤ 4 (exact on the diagonal) agree with both rules.
  const vv = vdot(v, v);
  for (let p = 0; p <= 4; p++) {
    let exact = 0;
    for (let i = 0; i < d.length; i++) exact += v[i] * v[i] * d[i] ** p;
    exact /= vv;
    const part = q.nodes.reduce((s, t, i) => s + q.weights[i]! * t ** p, 0);
    const fullRule = values.reduce((s, t, i) => s + components[0]![i]! ** 2 * t ** p, 0);
    assert.ok(Math.abs(part - exact) <= 1e-5 * 10 ** p, `p=${p}: partial ${part} vs ${exact}`);
    assert.ok(Math.abs(fullRule - exact) <= 1e-5 * 10 ** p, `p=${p}: full ${fullRule} vs ${exact}`);
  }
});
