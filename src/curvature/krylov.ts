/**
 * The Lanczos three-term recurrence with full reorthogonalization: builds an orthonormal Krylov
 * basis Q and the tridiagonal T = QᵀAQ. Shared by the eigensolver (lanczos.ts) and stochastic
 * Lanczos quadrature (density.ts).
 */
import { normalArray, type Rng } from '../util/random.ts';
import type { LinearOperator } from './operator.ts';
import { axpy, dot, norm, orthogonalizeAgainst, scaleInPlace } from './vec.ts';

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
}

export interface KrylovResult extends KrylovState {
  /** The orthonormal Lanczos vectors q_0..q_{m−1}, each length dim. */
  readonly basis: Float64Array[];
  /** Steps done (= m = alpha.length = matvecs). */
  readonly steps: number;
}

/**
 * Runs up to `steps` Lanczos steps from `start` (any nonzero vector; normalized internally).
 * Each step is one matvec plus classical Gram–Schmidt against the whole basis, twice.
 * Memory: one dim-length Float64Array per step.
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
  const q0 = Float64Array.from(start);
  const n0 = norm(q0);
  if (!(n0 > 0) || !Number.isFinite(n0)) throw new Error('Lanczos start vector must be finite and nonzero');
  scaleInPlace(q0, 1 / n0);

  const basis: Float64Array[] = [q0];
  const alpha: number[] = [];
  const beta: number[] = [];
  const breaks: Coupling[] = [];
  let couplings: Coupling[] = [];
  let normEst = 0;
  const coeffs = new Float64Array(steps);

  for (let j = 0; j < steps; j++) {
    const q = basis[j];
    const w = await op.matvec(q);
    if (w.length !== n) throw new Error(`operator returned length ${w.length}, expected ${n}`);
    let a = dot(q, w);
    axpy(w, -a, q);
    const bPrev = j > 0 ? beta[j - 1] : 0;
    if (bPrev !== 0) axpy(w, -bPrev, basis[j - 1]);
    // Full reorthogonalization; the correction along q_j refines α.
    coeffs.fill(0, 0, j + 1);
    orthogonalizeAgainst(w, basis, j + 1, coeffs);
    a += coeffs[j];
    alpha.push(a);
    const b = norm(w);
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
    let next: Float64Array | null = null;
    for (let attempt = 0; attempt < 5 && next === null; attempt++) {
      const r = normalArray(options.rng, n);
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
