/**
 * Stochastic trace estimation from matvecs only: Hutchinson (Rademacher probes) and Hutch++
 * (Meyer, Musco, Musco & Woodruff 2021), which removes a sketched top subspace exactly first.
 */
import { createRng, normalArray, type Rng } from '../util/random.ts';
import { applyBlock, type LinearOperator } from './operator.ts';
import { axpy, dot, orthonormalize, rademacherArray } from './vec.ts';

/** Probe distribution: ±1 entries (lowest variance for trace) or N(0,1) entries. */
export type ProbeDistribution = 'rademacher' | 'gaussian';

function probe(rng: Rng, n: number, dist: ProbeDistribution): Float64Array {
  return dist === 'gaussian' ? normalArray(rng, n) : rademacherArray(rng, n);
}

function meanAndStdError(xs: readonly number[]): { mean: number; stdError: number } {
  const m = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / m;
  if (m < 2) return { mean, stdError: NaN };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, stdError: Math.sqrt(ss / (m - 1) / m) };
}

export interface HutchinsonOptions {
  /** Number of probes = matvecs (default 100). */
  readonly samples?: number;
  /** Seed (default 0). Probes are drawn in order, so batchSize does not change the result. */
  readonly seed?: number;
  /** Probe distribution (default 'rademacher'). */
  readonly distribution?: ProbeDistribution;
  /** Probes per block product when the operator has matmat (default 8). */
  readonly batchSize?: number;
}

export interface HutchinsonResult {
  /** Mean of the samples: unbiased estimate of tr(A). */
  readonly estimate: number;
  /** Sample standard deviation / √samples (NaN for one sample). */
  readonly stdError: number;
  /** zᵀAz for each probe z. */
  readonly samples: readonly number[];
  readonly matvecs: number;
}

/** Hutchinson's estimator tr(A) ≈ mean of zᵀAz over random probes z. */
export async function hutchinson(op: LinearOperator, options: HutchinsonOptions = {}): Promise<HutchinsonResult> {
  const count = options.samples ?? 100;
  if (!Number.isInteger(count) || count < 1) throw new Error(`hutchinson: samples must be ≥ 1, got ${count}`);
  const batch = Math.max(1, Math.floor(options.batchSize ?? 8));
  const dist = options.distribution ?? 'rademacher';
  const rng = createRng(options.seed ?? 0);
  const samples: number[] = [];
  while (samples.length < count) {
    const zs: Float64Array[] = [];
    for (let b = 0; b < batch && samples.length + zs.length < count; b++) zs.push(probe(rng, op.dim, dist));
    const Az = await applyBlock(op, zs);
    for (let b = 0; b < zs.length; b++) samples.push(dot(zs[b], Az[b]));
  }
  const { mean, stdError } = meanAndStdError(samples);
  return Object.freeze({ estimate: mean, stdError, samples: Object.freeze(samples), matvecs: count });
}

export interface HutchPlusPlusOptions {
  /** Matvec budget (default 99): ⌊budget/3⌋ sketch columns, as many for the exact part, the rest probes. */
  readonly matvecs?: number;
  /** Seed (default 0). */
  readonly seed?: number;
  /** Distribution of sketch and probe vectors (default 'rademacher'). */
  readonly distribution?: ProbeDistribution;
}

export interface HutchPlusPlusResult {
  /** lowRankTrace + residualTrace: unbiased estimate of tr(A). */
  readonly estimate: number;
  /** tr(QᵀAQ) for the orthonormal sketch basis Q of A·S (exact). */
  readonly lowRankTrace: number;
  /** Hutchinson estimate of tr((I−QQᵀ)A(I−QQᵀ)). */
  readonly residualTrace: number;
  /** Standard error of residualTrace (NaN with fewer than two probes). */
  readonly stdError: number;
  /** Rank of Q (sketch columns minus numerically dependent ones). */
  readonly rank: number;
  /** Residual probes used. */
  readonly probes: number;
  /** Matvecs used (≤ the budget). */
  readonly matvecs: number;
}

/**
 * Hutch++: tr(A) = tr(QᵀAQ) + tr((I−QQᵀ)A(I−QQᵀ)), the first exact on Q = orth(A·S) and the
 * second by Hutchinson on projected probes. Budget split: s = ⌊budget/3⌋ sketch columns, rank(Q)
 * matvecs for AQ, the rest (≥ ⌈budget/3⌉) probes; no probes if Q spans R^dim.
 */
export async function hutchPlusPlus(
  op: LinearOperator,
  options: HutchPlusPlusOptions = {},
): Promise<HutchPlusPlusResult> {
  const budget = options.matvecs ?? 99;
  if (!Number.isInteger(budget) || budget < 1) throw new Error(`hutchPlusPlus: matvecs must be ≥ 1, got ${budget}`);
  const n = op.dim;
  const dist = options.distribution ?? 'rademacher';
  const rng = createRng(options.seed ?? 0);
  const s = Math.min(Math.floor(budget / 3), n);

  const S: Float64Array[] = [];
  for (let j = 0; j < s; j++) S.push(probe(rng, n, dist));
  const Q = orthonormalize(await applyBlock(op, S), 'drop');
  const AQ = await applyBlock(op, Q);
  let lowRankTrace = 0;
  for (let j = 0; j < Q.length; j++) lowRankTrace += dot(Q[j], AQ[j]);

  const used = s + Q.length;
  const nProbes = Q.length === n ? 0 : budget - used;
  const samples: number[] = [];
  while (samples.length < nProbes) {
    const gs: Float64Array[] = [];
    for (let b = 0; b < 8 && samples.length + gs.length < nProbes; b++) {
      const g = probe(rng, n, dist);
      // g ← (I − QQᵀ)g, so gᵀAg = gᵀ(I−QQᵀ)A(I−QQᵀ)g.
      for (const q of Q) axpy(g, -dot(q, g), q);
      gs.push(g);
    }
    const Ag = await applyBlock(op, gs);
    for (let b = 0; b < gs.length; b++) samples.push(dot(gs[b], Ag[b]));
  }
  const { mean, stdError } = nProbes > 0 ? meanAndStdError(samples) : { mean: 0, stdError: 0 };
  return Object.freeze({
    estimate: lowRankTrace + mean,
    lowRankTrace,
    residualTrace: mean,
    stdError,
    rank: Q.length,
    probes: nProbes,
    matvecs: used + nProbes,
  });
}
