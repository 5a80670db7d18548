/**
 * Stochastic Lanczos quadrature (SLQ) for the spectral density of a symmetric operator
 * (Ghorbani, Krishnan & Xiao 2019; PyHessian). For a unit probe v, m Lanczos steps give a
 * Gauss quadrature: nodes θ_i (Ritz values) and weights w_i = (first component of the i-th
 * Ritz vector of T)², with Σ w_i f(θ_i) = vᵀf(A)v exactly for polynomials f of degree ≤ 2m−1.
 * Averaged over random probes this estimates (1/n)·tr f(A), i.e. the normalized density
 * (1/n)Σ_j δ(λ − λ_j).
 */
import { createRng, normalArray } from '../util/random.ts';
import { lanczosTridiagonalize } from './krylov.ts';
import type { LinearOperator } from './operator.ts';
import { tridiagonalEigen } from './tridiagonalEigen.ts';
import { rademacherArray } from './vec.ts';

/** Gauss quadrature nodes and weights from one probe. */
export interface Quadrature {
  /** Ritz values θ_i, ascending. */
  readonly nodes: readonly number[];
  /** Weights w_i ≥ 0, summing to 1. */
  readonly weights: readonly number[];
}

/**
 * m-step Lanczos quadrature for the probe v (any nonzero vector; normalized internally, so the
 * rule integrates against v̂ᵀf(A)v̂ with v̂ = v/‖v‖). Stops early at an invariant subspace, where
 * the rule is already exact for every f. Costs one matvec per step actually done.
 */
export async function lanczosQuadrature(
  op: LinearOperator,
  v: Float64Array,
  steps: number,
): Promise<Quadrature & { readonly matvecs: number }> {
  // The rng only feeds restarts, which 'stop' never does.
  const kr = await lanczosTridiagonalize(op, v, { steps, rng: createRng(0), onBreakdown: 'stop' });
  kr.release(); // only T is needed: a basis in device memory is freed at once
  const { values, components } = tridiagonalEigen(kr.alpha, kr.beta, [0]);
  const first = components[0];
  return Object.freeze({
    nodes: Object.freeze(Array.from(values)),
    weights: Object.freeze(Array.from(first, (c) => c * c)),
    matvecs: kr.steps,
  });
}

export interface SlqOptions {
  /** Number of independent probes (default 10). */
  readonly runs?: number;
  /** Lanczos steps per probe (default 30; capped at dim). Memory: steps vectors of length dim. */
  readonly steps?: number;
  /** Seed (default 0). */
  readonly seed?: number;
  /** Probe entries: ±1 (default) or N(0,1), then normalized to unit length. */
  readonly probe?: 'rademacher' | 'gaussian';
}

export interface SlqResult {
  /** nodes[r] = Ritz values of run r, ascending. */
  readonly nodes: readonly (readonly number[])[];
  /** weights[r] = quadrature weights of run r (each run sums to 1). */
  readonly weights: readonly (readonly number[])[];
  /** Operator dimension n. */
  readonly dim: number;
  readonly matvecs: number;
}

/** SLQ: `runs` independent seeded probes, each an m-step Lanczos quadrature. */
export async function slq(op: LinearOperator, options: SlqOptions = {}): Promise<SlqResult> {
  const runs = options.runs ?? 10;
  const steps = options.steps ?? 30;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`slq: runs must be ≥ 1, got ${runs}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`slq: steps must be ≥ 1, got ${steps}`);
  const rng = createRng(options.seed ?? 0);
  const nodes: (readonly number[])[] = [];
  const weights: (readonly number[])[] = [];
  let matvecs = 0;
  for (let r = 0; r < runs; r++) {
    const v = options.probe === 'gaussian' ? normalArray(rng, op.dim) : rademacherArray(rng, op.dim);
    const q = await lanczosQuadrature(op, v, steps);
    nodes.push(q.nodes);
    weights.push(q.weights);
    matvecs += q.matvecs;
  }
  return Object.freeze({ nodes: Object.freeze(nodes), weights: Object.freeze(weights), dim: op.dim, matvecs });
}

export interface DensityOptions {
  /** Grid; defaults: min/max = extreme nodes ∓ 6σ, points = 1000. */
  readonly grid?: { readonly min?: number; readonly max?: number; readonly points?: number };
  /** Gaussian broadening std (default (max node − min node)/100, or 1e-2·max(1,|node|) if all equal). */
  readonly sigma?: number;
}

export interface Density {
  /** Grid points, ascending (length points). */
  readonly x: Float64Array;
  /** Estimated density at x, averaged over runs; ∫ρ = 1 when the grid covers the nodes ± several σ. */
  readonly density: Float64Array;
  /** Broadening used. */
  readonly sigma: number;
}

/** Smoothed spectral density ρ(x) = mean over runs of Σ_i w_i N(x; θ_i, σ²) on a grid. */
export function spectralDensity(q: Pick<SlqResult, 'nodes' | 'weights'>, options: DensityOptions = {}): Density {
  if (q.nodes.length === 0) throw new Error('spectralDensity: no runs');
  let lo = Infinity;
  let hi = -Infinity;
  for (const ns of q.nodes)
    for (const t of ns) {
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
  const sigma = options.sigma ?? (hi > lo ? (hi - lo) / 100 : 1e-2 * Math.max(1, Math.abs(hi)));
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`spectralDensity: sigma must be positive, got ${sigma}`);
  const min = options.grid?.min ?? lo - 6 * sigma;
  const max = options.grid?.max ?? hi + 6 * sigma;
  const points = options.grid?.points ?? 1000;
  if (!Number.isInteger(points) || points < 2)
    throw new Error(`spectralDensity: points must be an integer ≥ 2, got ${points}`);
  if (!(max > min)) throw new Error(`spectralDensity: grid max (${max}) must exceed min (${min})`);
  const x = new Float64Array(points);
  const density = new Float64Array(points);
  const step = (max - min) / (points - 1);
  for (let i = 0; i < points; i++) x[i] = min + i * step;
  const c = 1 / (sigma * Math.sqrt(2 * Math.PI) * q.nodes.length);
  for (let r = 0; r < q.nodes.length; r++) {
    const ns = q.nodes[r];
    const ws = q.weights[r];
    for (let j = 0; j < ns.length; j++) {
      const t = ns[j];
      const w = ws[j] * c;
      // Only grid points within 10σ contribute above ~1e-22 relative.
      const i0 = Math.max(0, Math.ceil((t - 10 * sigma - min) / step));
      const i1 = Math.min(points - 1, Math.floor((t + 10 * sigma - min) / step));
      for (let i = i0; i <= i1; i++) {
        const z = (x[i] - t) / sigma;
        density[i] += w * Math.exp(-0.5 * z * z);
      }
    }
  }
  return Object.freeze({ x, density, sigma });
}

export interface Moments {
  /** mean[p] = average over runs of Σ w_i θ_i^p ≈ tr(A^p)/n, p = 0..maxOrder. */
  readonly mean: readonly number[];
  /** Standard error of mean[p] across runs (NaN for one run). */
  readonly stdError: readonly number[];
  /** perRun[r][p] = Σ w_i θ_i^p for run r (= v_rᵀA^p v_r exactly when p ≤ 2m−1). */
  readonly perRun: readonly (readonly number[])[];
}

/** Spectral moments of orders 0..maxOrder from SLQ nodes and weights. */
export function moments(q: Pick<SlqResult, 'nodes' | 'weights'>, maxOrder: number): Moments {
  if (!Number.isInteger(maxOrder) || maxOrder < 0) throw new Error(`moments: maxOrder must be ≥ 0, got ${maxOrder}`);
  const R = q.nodes.length;
  if (R === 0) throw new Error('moments: no runs');
  const perRun = q.nodes.map((ns, r) => {
    const ws = q.weights[r];
    const out = new Array<number>(maxOrder + 1).fill(0);
    for (let j = 0; j < ns.length; j++) {
      let pw = ws[j];
      for (let p = 0; p <= maxOrder; p++) {
        out[p] += pw;
        pw *= ns[j];
      }
    }
    return Object.freeze(out);
  });
  const mean: number[] = [];
  const stdError: number[] = [];
  for (let p = 0; p <= maxOrder; p++) {
    const mu = perRun.reduce((a, row) => a + row[p], 0) / R;
    mean.push(mu);
    if (R < 2) stdError.push(NaN);
    else {
      let ss = 0;
      for (const row of perRun) ss += (row[p] - mu) ** 2;
      stdError.push(Math.sqrt(ss / (R - 1) / R));
    }
  }
  return Object.freeze({ mean: Object.freeze(mean), stdError: Object.freeze(stdError), perRun: Object.freeze(perRun) });
}
