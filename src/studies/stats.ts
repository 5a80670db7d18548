/**
 * Statistics the claims are judged with: means with seeded percentile-bootstrap intervals,
 * paired and unpaired difference intervals, and seeded permutation tests. Pure functions of plain
 * number lists; every random choice takes a seed (src/util/random.ts), so a claims table is
 * reproducible bit for bit. A comparison claim holds only if its interval excludes "no effect".
 */
import { createRng, type Rng } from '../util/random.ts';
import type { Verdict } from './study.ts';

/** Resamples of the bootstrap (≥ 2000 so the 2.5 % / 97.5 % quantiles are stable to a few %). */
export const BOOTSTRAP_RESAMPLES = 2000;

/** A point estimate with a (two-sided) confidence interval. */
export interface Interval {
  readonly estimate: number;
  readonly lo: number;
  readonly hi: number;
  /** Coverage of [lo, hi], e.g. 0.95. */
  readonly level: number;
  /** Sample size (for a difference: the smaller group, or the pairs). */
  readonly n: number;
}

export interface BootstrapOptions {
  /** Seed of the resampling stream (default 0). */
  seed?: number;
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

function meanOf(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

/** Sample standard deviation (n − 1 denominator); NaN for fewer than 2 values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = meanOf(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** Type-7 quantile of an already sorted array. */
function sortedQuantile(s: Float64Array, q: number): number {
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

function percentileInterval(stats: Float64Array, estimate: number, level: number, n: number): Interval {
  stats.sort();
  const a = (1 - level) / 2;
  return { estimate, lo: sortedQuantile(stats, a), hi: sortedQuantile(stats, 1 - a), level, n };
}

function check(o: BootstrapOptions): { rng: Rng; resamples: number; level: number } {
  const resamples = o.resamples ?? BOOTSTRAP_RESAMPLES;
  const level = o.level ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples >= 1))
    throw new Error(`bootstrap: resamples must be an integer ≥ 1 (got ${resamples})`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: level must be in (0, 1) (got ${level})`);
  return { rng: createRng(o.seed ?? 0), resamples, level };
}

const NAN_INTERVAL = (level: number, n: number): Interval => ({
  estimate: Number.NaN,
  lo: Number.NaN,
  hi: Number.NaN,
  level,
  n,
});

/** Mean of `xs` with its percentile-bootstrap interval (NaN interval for an empty list). */
export function bootstrapMean(xs: readonly number[], o: BootstrapOptions = {}): Interval {
  const { rng, resamples, level } = check(o);
  const n = xs.length;
  if (n === 0) return NAN_INTERVAL(level, 0);
  const stats = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[rng.int(n)]!;
    stats[b] = s / n;
  }
  return percentileInterval(stats, meanOf(xs), level, n);
}

/**
 * mean(a) − mean(b) with its percentile-bootstrap interval. `paired`: a[i] and b[i] belong
 * together (same seed), the pairs are resampled; else each group is resampled on its own.
 */
export function bootstrapDiff(
  a: readonly number[],
  b: readonly number[],
  o: BootstrapOptions & { paired?: boolean } = {},
): Interval {
  if (o.paired) {
    if (a.length !== b.length)
      throw new Error(`bootstrapDiff: paired groups differ in length (${a.length} vs ${b.length})`);
    return bootstrapMean(
      a.map((x, i) => x - b[i]!),
      o,
    );
  }
  const { rng, resamples, level } = check(o);
  const n = Math.min(a.length, b.length);
  if (n === 0) return NAN_INTERVAL(level, 0);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sa = 0;
    for (let i = 0; i < a.length; i++) sa += a[rng.int(a.length)]!;
    let sb = 0;
    for (let i = 0; i < b.length; i++) sb += b[rng.int(b.length)]!;
    stats[r] = sa / a.length - sb / b.length;
  }
  return percentileInterval(stats, meanOf(a) - meanOf(b), level, n);
}

/**
 * A statistic of paired observations (e.g. a rank correlation of (η, λ1) over runs) with its
 * percentile-bootstrap interval: the pairs are resampled; resamples where the statistic is not
 * finite (e.g. a constant resample) are dropped.
 */
export function bootstrapPairs(
  x: readonly number[],
  y: readonly number[],
  stat: (x: number[], y: number[]) => number,
  o: BootstrapOptions = {},
): Interval {
  if (x.length !== y.length) throw new Error(`bootstrapPairs: lengths differ (${x.length} vs ${y.length})`);
  const { rng, resamples, level } = check(o);
  const n = x.length;
  const estimate = n > 0 ? stat([...x], [...y]) : Number.NaN;
  if (n === 0 || !Number.isFinite(estimate)) return { ...NAN_INTERVAL(level, n), estimate };
  const vals: number[] = [];
  const bx = new Array<number>(n);
  const by = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      bx[i] = x[j]!;
      by[i] = y[j]!;
    }
    const v = stat(bx, by);
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length === 0) return { ...NAN_INTERVAL(level, n), estimate };
  return percentileInterval(Float64Array.from(vals), estimate, level, n);
}

/** Which difference the test is about: a > b ('greater'), a < b ('less') or either. */
export type Alternative = 'greater' | 'less' | 'two-sided';

export interface PermutationOptions {
  seed?: number;
  /** Monte Carlo permutations when the exact enumeration would be larger than this (default 10000). */
  resamples?: number;
  paired?: boolean;
  alternative?: Alternative;
}

export interface PermutationResult {
  /** The observed statistic, mean(a) − mean(b) (paired: the mean difference). */
  readonly statistic: number;
  readonly pValue: number;
  /** Whether every relabelling was enumerated (p exact) or they were sampled. */
  readonly exact: boolean;
  readonly permutations: number;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * Permutation test of mean(a) − mean(b): unpaired, the group labels are reassigned (all C(n+m, n)
 * splits when there are at most `resamples`, else random ones); paired, the signs of the
 * differences are flipped (all 2^n, or random). p = the fraction of relabellings whose statistic
 * is at least as extreme as the observed one (Monte Carlo: (1 + count)/(1 + resamples)).
 */
export function permutationTest(
  a: readonly number[],
  b: readonly number[],
  o: PermutationOptions = {},
): PermutationResult {
  const alt = o.alternative ?? 'two-sided';
  const resamples = o.resamples ?? 10000;
  const rng = createRng(o.seed ?? 0);
  if (a.length === 0 || b.length === 0)
    return { statistic: Number.NaN, pValue: Number.NaN, exact: true, permutations: 0 };
  // Float ties: relabellings equal to the observed statistic up to rounding count as extreme.
  const scale = Math.max(1e-300, ...a.map(Math.abs), ...b.map(Math.abs));
  const eps = 1e-9 * scale;
  let observed: number;
  let extreme: (s: number) => boolean;
  const makeExtreme = (obs: number) => (s: number) =>
    alt === 'greater' ? s >= obs - eps : alt === 'less' ? s <= obs + eps : Math.abs(s) >= Math.abs(obs) - eps;
  let count = 0;
  let total = 0;
  let exact: boolean;
  if (o.paired) {
    if (a.length !== b.length)
      throw new Error(`permutationTest: paired groups differ in length (${a.length} vs ${b.length})`);
    const d = a.map((x, i) => x - b[i]!);
    const n = d.length;
    observed = meanOf(d);
    extreme = makeExtreme(observed);
    exact = n <= 30 && 2 ** n <= resamples;
    if (exact) {
      for (let mask = 0; mask < 2 ** n; mask++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += mask & (1 << i) ? -d[i]! : d[i]!;
        if (extreme(s / n)) count++;
        total++;
      }
    } else {
      for (let r = 0; r < resamples; r++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += rng.uniform() < 0.5 ? -d[i]! : d[i]!;
        if (extreme(s / n)) count++;
      }
      total = resamples;
    }
  } else {
    const all = [...a, ...b];
    const na = a.length;
    const N = all.length;
    const sumAll = all.reduce((s, x) => s + x, 0);
    const stat = (sumA: number) => sumA / na - (sumAll - sumA) / (N - na);
    observed = meanOf(a) - meanOf(b);
    extreme = makeExtreme(observed);
    exact = binomial(N, na) <= resamples;
    if (exact) {
      // Every subset of na indices as group a (lexicographic combinations).
      const idx = Array.from({ length: na }, (_, i) => i);
      for (;;) {
        let s = 0;
        for (const i of idx) s += all[i]!;
        if (extreme(stat(s))) count++;
        total++;
        let k = na - 1;
        while (k >= 0 && idx[k] === N - na + k) k--;
        if (k < 0) break;
        idx[k]!++;
        for (let j = k + 1; j < na; j++) idx[j] = idx[j - 1]! + 1;
      }
    } else {
      const perm = all.slice();
      for (let r = 0; r < resamples; r++) {
        // Partial Fisher–Yates: the first na entries are a uniform random subset.
        for (let i = 0; i < na; i++) {
          const j = i + rng.int(N - i);
          const t = perm[i]!;
          perm[i] = perm[j]!;
          perm[j] = t;
        }
        let s = 0;
        for (let i = 0; i < na; i++) s += perm[i]!;
        if (extreme(stat(s))) count++;
      }
      total = resamples;
    }
  }
  const pValue = exact ? count / total : (1 + count) / (1 + total);
  return { statistic: observed, pValue, exact, permutations: total };
}

/**
 * Verdict of a directional comparison from its interval: 'held' when the whole interval lies on
 * the claimed side of `none` (no effect), 'did not hold' when the whole interval lies on the
 * other side or at it, 'inconclusive' when it straddles `none`, is not finite or rests on fewer
 * than `minN` values.
 */
export function judgeInterval(ci: Interval, direction: 'positive' | 'negative', none = 0, minN = 2): Verdict {
  // One value has no spread to judge an interval by.
  if (ci.n < minN || !Number.isFinite(ci.lo) || !Number.isFinite(ci.hi)) return 'inconclusive';
  const [lo, hi] = direction === 'positive' ? [ci.lo - none, ci.hi - none] : [none - ci.hi, none - ci.lo];
  if (lo > 0) return 'held';
  if (hi <= 0) return 'did not hold';
  return 'inconclusive';
}

/** Cohen's d of mean(a) − mean(b) with the pooled standard deviation; NaN if undefined. */
export function cohensD(a: readonly number[], b: readonly number[]): number {
  if (a.length < 2 || b.length < 2) return Number.NaN;
  const sa = sampleStd(a);
  const sb = sampleStd(b);
  const pooled = Math.sqrt(((a.length - 1) * sa * sa + (b.length - 1) * sb * sb) / (a.length + b.length - 2));
  return pooled > 0 ? (meanOf(a) - meanOf(b)) / pooled : Number.NaN;
}

/** `1.23 [95 % CI 1.1, 1.4] (n = 3)` for evidence text; `fmt` formats the numbers. */
export function intervalText(ci: Interval, fmt: (x: number) => string): string {
  return `${fmt(ci.estimate)} [${Math.round(100 * ci.level)} % CI ${fmt(ci.lo)}, ${fmt(ci.hi)}] (n = ${ci.n})`;
}
