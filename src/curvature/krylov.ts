/**
 * The Lanczos three-term recurrence with full reorthogonalization: builds an orthonormal Krylov
 * basis Q and the tridiagonal T = QᵀAQ. Shared by the eigensolver (lanczos.ts) and stochastic
 * Lanczos quadrature (density.ts).
 */
import type { Rng } from '../util/random.ts';
import type { BasisKernels } from '../engine/basisKernels.ts';
import { workingProduct, type LinearOperator, type Precision } from './operator.ts';
import { dot, norm, orthogonalizeAgainst, reorthogonalize, scaleInPlace, type Vec } from './vec.ts';

/** β below this × (running estimate of ‖T‖) counts as an invariant subspace (breakdown). */
export const BREAKDOWN_RTOL = 1e-12;

/**
 * A residual coupling of T: row `row` of T is coupled by `beta` to a direction outside the basis
 * (the next Lanczos vector, or a direction dropped at a breakdown). For a Ritz pair (θ, s),
 * ‖A Qs − θ Qs‖ = √(Σ (beta·s[row])²) up to rounding.
 */
export interface Coupling {
  readonly row: number;
  readonly beta: number;
}

/** The tridiagonal so far, as seen by a stopping test. */
export interface KrylovState {
  /** Diagonal of T (length m). */
  readonly alpha: readonly number[];
  /** Off-diagonal of T (length m−1; 0 after a breakdown restart). */
  readonly beta: readonly number[];
  /** Couplings to outside the basis: breakdowns so far, and the last row. */
  readonly couplings: readonly Coupling[];
}

export interface KrylovOptions {
  /** Maximum number of Lanczos steps (capped at dim). */
  readonly steps: number;
  /** Draws restart vectors after a breakdown. */
  readonly rng: Rng;
  /**
   * On breakdown (β≈0, Krylov space invariant): 'restart' continues from a random vector
   * orthogonal to the basis (the eigensolver, so later eigenvalues are still found); 'stop'
   * ends the recurrence (quadrature, which is then exact for the start vector).
   */
  readonly onBreakdown: 'restart' | 'stop';
  /** Called after each step; returning true ends the recurrence early. */
  readonly stopWhen?: (state: KrylovState) => boolean;
  /**
   * 'auto' (default): the basis is float32 when the operator offers matvec32 (its products are
   * float32 anyway; sums are still float64, orthogonality holds to float32 rounding);
   * 'float64' forces float64 vectors.
   */
  readonly precision?: Precision;
}

export interface KrylovResult extends KrylovState {
  /** The orthonormal Lanczos vectors q_0..q_{m−1}, each length dim (float32 when the operator's products are). */
  readonly basis: Vec[];
  /** Steps done (= m = alpha.length = matvecs). */
  readonly steps: number;
  /**
   * With the operator's basis kernels: the basis as one row-major float32 matrix (at least
   * m rows of length dim; basis[i] are views of its rows), for native products with Q.
   */
  readonly matrix?: Float32Array;
}

/**
 * w ← w − a·q − b·p (the three-term recurrence), in one sweep; returns ‖w‖² afterwards.
 * p is ignored when b = 0.
 */
function threeTerm(w: Vec, a: number, q: Vec, b: number, p: Vec | undefined): number {
  const n = w.length;
  let ss = 0;
  if (b !== 0 && p) {
    for (let i = 0; i < n; i++) {
      w[i] = w[i] - a * q[i] - b * p[i];
      const x = w[i];
      ss += x * x;
    }
  } else {
    for (let i = 0; i < n; i++) {
      w[i] = w[i] - a * q[i];
      const x = w[i];
      ss += x * x;
    }
  }
  return ss;
}

/**
 * Reorthogonalization with native kernels: w (the HVP result) is first swept against the last
 * two basis vectors (the three-term recurrence, with the projections recomputed), then against
 * the whole basis Q[0..count) by classical Gram–Schmidt, repeated while it cancels much (DGKS,
 * at most 3 sweeps). Each full sweep also writes the normalized result into `unit` (the next
 * basis row). Returns α (q_{count−1}ᵀAq_{count−1}, corrected by every sweep) and β = ‖w‖ after.
 */
async function nativeStep(
  kernels: BasisKernels,
  Q: Float32Array,
  count: number,
  w: Float32Array,
  scratch: readonly [Float32Array, Float32Array],
  unit: Float32Array,
): Promise<{ a: number; b: number }> {
  const n = w.length;
  const j = count - 1;
  const lo = Math.max(0, j - 1);
  const local = await kernels.project(Q.subarray(lo * n, count * n), count - lo, w, scratch[0]);
  let a = local.h[j - lo]!;
  let before = Math.sqrt(local.ss);
  let after = before;
  let cur = 0;
  for (let sweep = 0; sweep < 3; sweep++) {
    const r = await kernels.sweep(Q, count, scratch[cur]!, scratch[1 - cur]!, unit);
    cur = 1 - cur;
    a += r.h[j]!;
    after = Math.sqrt(r.ss);
    if (!(after < Math.SQRT1_2 * before)) break;
    before = after;
  }
  return { a, b: after };
}

/**
 * Runs up to `steps` Lanczos steps from `start` (any nonzero vector; normalized internally).
 * Each step is one matvec, the three-term recurrence, and full reorthogonalization: a blocked
 * classical Gram–Schmidt sweep against the whole basis, repeated when it cancels much (DGKS),
 * so with the recurrence as the first pass every vector is orthogonalized at least twice.
 * Vectors from the operator become basis vectors in place (no copies, no conversions). When
 * the operator brings basis kernels (float32 HVPs from onnxruntime), the basis is one
 * preallocated steps×dim float32 matrix and every pass over it runs natively (nativeStep).
 * Memory: one dim-length vector per step.
 */
export async function lanczosTridiagonalize(
  op: LinearOperator,
  start: Vec,
  options: KrylovOptions,
): Promise<KrylovResult> {
  const n = op.dim;
  if (start.length !== n) throw new Error(`Lanczos start vector has length ${start.length}, operator dim is ${n}`);
  const steps = Math.min(Math.floor(options.steps), n);
  if (!(steps >= 1)) throw new Error(`Lanczos needs at least one step, got ${options.steps}`);
  const prod = workingProduct(op, options.precision);
  const q0 = prod.vector(start);
  const n0 = norm(q0);
  if (!(n0 > 0) || !Number.isFinite(n0)) throw new Error('Lanczos start vector must be finite and nonzero');
  scaleInPlace(q0, 1 / n0);

  const kernels = prod.float32 ? op.basisKernels : undefined;
  // Native path: the basis lives in one steps×n matrix; basis[i] are views of its rows.
  const Q = kernels ? new Float32Array(steps * n) : undefined;
  const row = (i: number): Float32Array => Q!.subarray(i * n, (i + 1) * n);
  if (Q) Q.set(q0);
  const scratch: [Float32Array, Float32Array] | undefined = Q ? [new Float32Array(n), new Float32Array(n)] : undefined;
  let spare: Float32Array | undefined;

  const basis: Vec[] = [Q ? row(0) : q0];
  const alpha: number[] = [];
  const beta: number[] = [];
  const breaks: Coupling[] = [];
  let couplings: Coupling[] = [];
  let normEst = 0;
  const coeffs = new Float64Array(steps);

  for (let j = 0; j < steps; j++) {
    const q = basis[j];
    const w = await prod.apply(q);
    const bPrev = j > 0 ? beta[j - 1] : 0;
    let a: number;
    let b: number;
    // Native: the normalized next vector is written straight into its row of Q.
    const next = Q ? (j + 1 < steps ? row(j + 1) : (spare ??= new Float32Array(n))) : undefined;
    if (Q && next) {
      ({ a, b } = await nativeStep(kernels!, Q, j + 1, w as Float32Array, scratch!, next));
    } else {
      a = dot(q, w);
      const n1 = Math.sqrt(threeTerm(w, a, q, bPrev, j > 0 ? basis[j - 1] : undefined));
      // Full reorthogonalization; the correction along q_j refines α.
      coeffs.fill(0, 0, j + 1);
      b = reorthogonalize(w, basis, j + 1, coeffs, n1);
      a += coeffs[j];
    }
    alpha.push(a);
    if (!Number.isFinite(b) || !Number.isFinite(a))
      throw new Error(`Lanczos: non-finite value at step ${j} (operator returned NaN/Inf?)`);
    normEst = Math.max(normEst, Math.abs(a) + bPrev + b);
    const breakdown = b <= BREAKDOWN_RTOL * normEst;
    couplings = [...breaks, { row: j, beta: b }];
    if (j + 1 === steps) break;
    if (options.stopWhen?.({ alpha, beta, couplings })) break;
    if (!breakdown) {
      beta.push(b);
      if (next) {
        basis.push(next);
      } else {
        scaleInPlace(w, 1 / b);
        basis.push(w);
      }
      continue;
    }
    if (options.onBreakdown === 'stop') break;
    // Invariant subspace: continue in a random direction orthogonal to it. A and the basis span
    // are invariant, so T stays tridiagonal with a zero coupling here.
    let restart: Vec | null = null;
    for (let attempt = 0; attempt < 5 && restart === null; attempt++) {
      const r = prod.randomNormal(options.rng);
      const r0 = norm(r);
      orthogonalizeAgainst(r, basis, basis.length);
      const r1 = norm(r);
      if (r1 > 1e-8 * r0) {
        scaleInPlace(r, 1 / r1);
        restart = r;
      }
    }
    if (restart === null) break; // basis already spans R^n numerically
    breaks.push({ row: j, beta: b });
    beta.push(0);
    if (Q) {
      row(j + 1).set(restart);
      basis.push(row(j + 1));
    } else {
      basis.push(restart);
    }
  }
  const m = alpha.length;
  basis.length = m;
  return { alpha, beta: beta.slice(0, m - 1), couplings, basis, steps: m, ...(Q ? { matrix: Q } : {}) };
}
