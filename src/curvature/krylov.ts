/**
 * The Lanczos three-term recurrence with full reorthogonalization: builds an orthonormal Krylov
 * basis Q and the tridiagonal T = QᵀAQ. Shared by the eigensolver (lanczos.ts) and stochastic
 * Lanczos quadrature (density.ts).
 */
import { normalArray, type Rng } from '../util/random.ts';
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
 * Runs up to `steps` Lanczos steps from `start` (any nonzero vector; normalized internally).
 * Each step is one matvec, the three-term recurrence, and full reorthogonalization: a blocked
 * classical Gram–Schmidt sweep against the whole basis, repeated when it cancels much (DGKS),
 * so with the recurrence as the first pass every vector is orthogonalized at least twice.
 * Vectors from the operator become basis vectors in place (no copies, no conversions).
 * Memory: one dim-length vector per step.
 */
export async function lanczosTridiagonalize(
  op: LinearOperator,
  start: Float64Array,
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

  const basis: Vec[] = [q0];
  const alpha: number[] = [];
  const beta: number[] = [];
  const breaks: Coupling[] = [];
  let couplings: Coupling[] = [];
  let normEst = 0;
  const coeffs = new Float64Array(steps);

  for (let j = 0; j < steps; j++) {
    const q = basis[j];
    const w = await prod.apply(q);
    let a = dot(q, w);
    const bPrev = j > 0 ? beta[j - 1] : 0;
    const n1 = Math.sqrt(threeTerm(w, a, q, bPrev, j > 0 ? basis[j - 1] : undefined));
    // Full reorthogonalization; the correction along q_j refines α.
    coeffs.fill(0, 0, j + 1);
    const b = reorthogonalize(w, basis, j + 1, coeffs, n1);
    a += coeffs[j];
    alpha.push(a);
    if (!Number.isFinite(b) || !Number.isFinite(a)) throw new Error(`Lanczos: non-finite value at step ${j} (operator returned NaN/Inf?)`);
    normEst = Math.max(normEst, Math.abs(a) + bPrev + b);
    const breakdown = b <= BREAKDOWN_RTOL * normEst;
    couplings = [...breaks, { row: j, beta: b }];
    if (j + 1 === steps) break;
    if (options.stopWhen?.({ alpha, beta, couplings })) break;
    if (!breakdown) {
      scaleInPlace(w, 1 / b);
      beta.push(b);
      basis.push(w);
      continue;
    }
    if (options.onBreakdown === 'stop') break;
    // Invariant subspace: continue in a random direction orthogonal to it. A and the basis span
    // are invariant, so T stays tridiagonal with a zero coupling here.
    let next: Vec | null = null;
    for (let attempt = 0; attempt < 5 && next === null; attempt++) {
      const r = prod.vector(normalArray(options.rng, n));
      const r0 = norm(r);
      orthogonalizeAgainst(r, basis, basis.length);
      const r1 = norm(r);
      if (r1 > 1e-8 * r0) {
        scaleInPlace(r, 1 / r1);
        next = r;
      }
    }
    if (next === null) break; // basis already spans R^n numerically
    breaks.push({ row: j, beta: b });
    beta.push(0);
    basis.push(next);
  }
  const m = alpha.length;
  basis.length = m;
  return { alpha, beta: beta.slice(0, m - 1), couplings, basis, steps: m };
}
