/**
 * Statistics the claims are judged with. Comparisons across seeds are paired by seed:
 * pairedComparison gives the mean difference, its Student t interval and an exact two-sided
 * sign-flip permutation p (all 2^n sign patterns); equivalence is a TOST test of "no effect beyond
 * a stated margin"; mannKendall is a rank trend test (replacing fixed-fraction window rules);
 * decidePaired turns them into held / did not hold / inconclusive. The older percentile-bootstrap
 * helpers remain for descriptive intervals (with n = 3 a percentile interval is [min, max], so
 * verdicts no longer rest on them). Pure functions of plain number lists; every random choice
 * takes a seed (src/util/random.ts), so a claims table is reproducible bit for bit.
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

// ---------------------------------------------------------------------------------------------
// Distribution functions (float64): log Γ, the regularized incomplete beta and gamma functions,
// and from them the Student t and standard normal CDFs and the t quantile. Used for t-intervals,
// TOST equivalence tests and the Mann–Kendall normal approximation.

const LANCZOS_G = 7;
const LANCZOS_COEF = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, relative error ≈ 1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS_COEF[0]!;
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS_COEF.length; i++) a += LANCZOS_COEF[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const FPMIN = 1e-300;
const EPS = 1e-15;

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return h;
  }
  return h;
}

/** Regularized incomplete beta function I_x(a, b), a, b > 0, x ∈ [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new Error(`incompleteBeta: a and b must be > 0 (got ${a}, ${b})`);
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // The continued fraction converges fast for x < (a + 1)/(a + b + 2); else use the symmetry.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Regularized upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a), a > 0, x ≥ 0. */
export function incompleteGammaQ(a: number, x: number): number {
  if (!(a > 0)) throw new Error(`incompleteGammaQ: a must be > 0 (got ${a})`);
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  const lnFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series for P(a, x).
    let ap = a;
    let sum = 1 / a;
    let del = sum;
    for (let n = 0; n < 10000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(lnFront);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(lnFront) * h;
}

/** Standard normal CDF Φ(z) (via erfc(x) = Q(½, x²); accurate in both tails). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const q = 0.5 * incompleteGammaQ(0.5, (z * z) / 2);
  return z >= 0 ? 1 - q : q;
}

/** Student t CDF with `df` > 0 degrees of freedom (via I_{df/(df+t²)}(df/2, ½)). */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentTCdf: df must be > 0 (got ${df})`);
  if (Number.isNaN(t)) return Number.NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Student t quantile: the t with studentTCdf(t, df) = p, p ∈ (0, 1). Bracketed bisection on the
 * CDF (computed, not tabled) to float64 resolution.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentTQuantile: df must be > 0 (got ${df})`);
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return Number.NaN;
  }
  if (p === 0.5) return 0;
  // Solve on the upper half and mirror: the t distribution is symmetric.
  const q = p > 0.5 ? p : 1 - p;
  const tail = 1 - q;
  // Upper tail 0.5·I_{df/(df+t²)}(df/2, ½) = tail; it decreases in t.
  const upper = (t: number) => 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  let lo = 0;
  let hi = 1;
  while (upper(hi) > tail && hi < 1e300) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 2000 && hi - lo > 1e-15 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (upper(mid) > tail) lo = mid;
    else hi = mid;
  }
  const t = 0.5 * (lo + hi);
  return p > 0.5 ? t : -t;
}

// ---------------------------------------------------------------------------------------------
// Paired comparisons across seeds, equivalence and trend tests.

/** Largest n for which the sign-flip test enumerates all 2^n sign patterns (exact p). */
export const SIGN_FLIP_EXACT_MAX = 20;

/** A paired comparison: per-seed differences d_i = a_i − b_i, their mean, t-interval and sign-flip p. */
export interface PairedComparison {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation of the differences (NaN for n < 2). */
  readonly sd: number;
  /** Student t interval of the mean difference: mean ± t_{(1+level)/2, n−1}·sd/√n (NaN for n < 2). */
  readonly lo: number;
  readonly hi: number;
  readonly level: number;
  /** Two-sided sign-flip permutation p of the mean (exact over all 2^n patterns for n ≤ 20). */
  readonly pValue: number;
  /** Whether p was enumerated exactly (else a seeded Monte Carlo estimate). */
  readonly exact: boolean;
  /** Sign patterns enumerated or sampled. */
  readonly permutations: number;
}

export interface PairedOptions {
  /** Coverage of the t-interval (default 0.95). */
  level?: number;
  /** Seed of the Monte Carlo sign flips (n > 20 only; default 0). */
  seed?: number;
  /** Monte Carlo sign patterns (n > 20 only; default 100000). */
  resamples?: number;
}

/**
 * Paired comparison of per-seed differences `diffs` (e.g. λ1 at η_a minus λ1 at η_b, seed by
 * seed): mean, Student t interval and the two-sided sign-flip permutation p: the fraction of the
 * 2^n sign patterns whose |Σ ±d_i| is at least the observed |Σ d_i| (exact for n ≤ 20; above that
 * (1 + count)/(1 + resamples) over seeded random patterns). Non-finite differences are an error.
 */
export function pairedComparison(diffs: readonly number[], o: PairedOptions = {}): PairedComparison {
  const level = o.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`pairedComparison: level must be in (0, 1) (got ${level})`);
  for (const d of diffs)
    if (!Number.isFinite(d)) throw new Error(`pairedComparison: a difference is not finite (${d})`);
  const n = diffs.length;
  if (n === 0)
    return {
      n,
      mean: Number.NaN,
      sd: Number.NaN,
      lo: Number.NaN,
      hi: Number.NaN,
      level,
      pValue: Number.NaN,
      exact: true,
      permutations: 0,
    };
  const m = meanOf(diffs);
  const sd = sampleStd(diffs as number[]);
  let lo = Number.NaN;
  let hi = Number.NaN;
  if (n >= 2) {
    const half = (studentTQuantile((1 + level) / 2, n - 1) * sd) / Math.sqrt(n);
    lo = m - half;
    hi = m + half;
  }
  // Float ties: patterns equal to the observed |sum| up to rounding count as extreme.
  const scale = Math.max(1e-300, ...diffs.map(Math.abs));
  const eps = 1e-9 * scale;
  let obs = 0;
  for (const d of diffs) obs += d;
  const target = Math.abs(obs) - eps;
  let count = 0;
  let total: number;
  const exact = n <= SIGN_FLIP_EXACT_MAX;
  if (exact) {
    // Gray-code order: one sign changes per pattern, so each pattern's sum is an O(1) update.
    total = 2 ** n;
    let s = obs;
    let signs = 0;
    if (Math.abs(s) >= target) count++;
    for (let k = 1; k < total; k++) {
      const bit = 31 - Math.clz32(k & -k);
      const flipped = (signs >> bit) & 1;
      s += flipped ? 2 * diffs[bit]! : -2 * diffs[bit]!;
      signs ^= 1 << bit;
      if (Math.abs(s) >= target) count++;
    }
  } else {
    const resamples = o.resamples ?? 100000;
    const rng = createRng(o.seed ?? 0);
    for (let r = 0; r < resamples; r++) {
      let s = 0;
      for (const d of diffs) s += rng.uniform() < 0.5 ? -d : d;
      if (Math.abs(s) >= target) count++;
    }
    total = resamples;
  }
  const pValue = exact ? count / total : (1 + count) / (1 + total);
  return { n, mean: m, sd, lo, hi, level, pValue, exact, permutations: total };
}

/** Result of a two one-sided t tests (TOST) equivalence test of the mean difference against ±margin. */
export interface Equivalence {
  readonly n: number;
  readonly mean: number;
  readonly margin: number;
  /** p of H0: mean ≤ −margin, and of H0: mean ≥ +margin. */
  readonly pLower: number;
  readonly pUpper: number;
  /** max(pLower, pUpper): equivalence (|mean| < margin) is shown at level α when pValue < α. */
  readonly pValue: number;
}

/**
 * TOST equivalence test of the mean of `diffs` within (−margin, +margin), margin > 0: two
 * one-sided t tests with n − 1 degrees of freedom; p = the larger of the two one-sided p's. With
 * zero spread the p's are 0 or 1 (the mean is known exactly); n < 2 gives p = NaN.
 */
export function equivalence(diffs: readonly number[], margin: number): Equivalence {
  if (!(margin > 0)) throw new Error(`equivalence: margin must be > 0 (got ${margin})`);
  const n = diffs.length;
  const m = n > 0 ? meanOf(diffs) : Number.NaN;
  if (n < 2) return { n, mean: m, margin, pLower: Number.NaN, pUpper: Number.NaN, pValue: Number.NaN };
  const se = sampleStd(diffs as number[]) / Math.sqrt(n);
  let pLower: number;
  let pUpper: number;
  if (se === 0) {
    pLower = m > -margin ? 0 : 1;
    pUpper = m < margin ? 0 : 1;
  } else {
    pLower = 1 - studentTCdf((m + margin) / se, n - 1);
    pUpper = studentTCdf((m - margin) / se, n - 1);
  }
  return { n, mean: m, margin, pLower, pUpper, pValue: Math.max(pLower, pUpper) };
}

/** Mann–Kendall trend test of a series in order, with Sen's slope. */
export interface MannKendall {
  readonly n: number;
  /** S = Σ_{i<j} sign(x_j − x_i): > 0 rising, < 0 falling. */
  readonly s: number;
  /** Var(S) under no trend, with the tie correction. */
  readonly variance: number;
  /** Two-sided p: exact (all distinct orderings of the values) for n ≤ 10, else normal with continuity correction. */
  readonly pValue: number;
  readonly exact: boolean;
  /** Sen's slope: the median of (x_j − x_i)/(j − i) over i < j (units of x per index step). */
  readonly slope: number;
}

/** Largest n for which mannKendall enumerates the null distribution of S exactly. */
export const MANN_KENDALL_EXACT_MAX = 10;

/**
 * Exact null distribution of S for the multiset of `values`: every distinct ordering equally
 * likely. Dynamic programme over the counts still to place (≤ 2^10 states for n ≤ 10): placing a
 * value v after the placed ones adds (#placed < v) − (#placed > v) to S. Returns counts indexed
 * by S + n(n−1)/2.
 */
function mannKendallNull(values: readonly number[]): { counts: Float64Array; offset: number } {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  const total = distinct.map((v) => values.filter((x) => x === v).length);
  const n = values.length;
  const offset = (n * (n - 1)) / 2;
  const memo = new Map<string, Float64Array>();
  // Ways to place the remaining values (placed = total − remaining), by the S they add.
  const rec = (remaining: number[]): Float64Array => {
    const key = remaining.join(',');
    const have = memo.get(key);
    if (have) return have;
    const out = new Float64Array(2 * offset + 1);
    if (remaining.every((r) => r === 0)) {
      out[offset] = 1;
    } else {
      for (let k = 0; k < remaining.length; k++) {
        if (remaining[k] === 0) continue;
        let less = 0;
        let greater = 0;
        for (let j = 0; j < k; j++) less += total[j]! - remaining[j]!;
        for (let j = k + 1; j < total.length; j++) greater += total[j]! - remaining[j]!;
        const add = less - greater;
        remaining[k]!--;
        const sub = rec(remaining);
        remaining[k]!++;
        for (let i = 0; i < sub.length; i++) if (sub[i] !== 0) out[i + add] += sub[i]!;
      }
    }
    memo.set(key, out);
    return out;
  };
  return { counts: rec(total.slice()), offset };
}

/**
 * Mann–Kendall trend test of `series` (in time order; non-finite values are an error): S, its
 * tie-corrected null variance [n(n−1)(2n+5) − Σ t(t−1)(2t+5)]/18, the two-sided p (exact
 * enumeration of the orderings for n ≤ 10, else z = (S − sign S)/√Var with the normal CDF) and
 * Sen's slope. Fewer than 2 values: S = 0, p = 1.
 */
export function mannKendall(series: readonly number[]): MannKendall {
  for (const x of series) if (!Number.isFinite(x)) throw new Error(`mannKendall: a value is not finite (${x})`);
  const n = series.length;
  let s = 0;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      s += Math.sign(series[j]! - series[i]!);
      slopes.push((series[j]! - series[i]!) / (j - i));
    }
  const ties = new Map<number, number>();
  for (const x of series) ties.set(x, (ties.get(x) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of ties.values()) tieTerm += t * (t - 1) * (2 * t + 5);
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  slopes.sort((a, b) => a - b);
  const slope =
    slopes.length === 0
      ? Number.NaN
      : slopes.length % 2
        ? slopes[(slopes.length - 1) / 2]!
        : 0.5 * (slopes[slopes.length / 2 - 1]! + slopes[slopes.length / 2]!);
  if (n < 2 || variance === 0) return { n, s, variance, pValue: 1, exact: true, slope };
  if (n <= MANN_KENDALL_EXACT_MAX) {
    const { counts, offset } = mannKendallNull(series);
    let all = 0;
    let extreme = 0;
    for (let i = 0; i < counts.length; i++) {
      all += counts[i]!;
      if (Math.abs(i - offset) >= Math.abs(s)) extreme += counts[i]!;
    }
    return { n, s, variance, pValue: extreme / all, exact: true, slope };
  }
  const z = s === 0 ? 0 : (s - Math.sign(s)) / Math.sqrt(variance);
  return { n, s, variance, pValue: Math.min(1, 2 * normalCdf(-Math.abs(z))), exact: false, slope };
}

/** Significance level of the claims' tests. */
export const ALPHA = 0.05;

/**
 * Verdict of a directional paired comparison: 'held' when p < α and the mean difference has the
 * claimed sign; 'did not hold' when p < α with the opposite sign, or when `margin` is given and
 * the TOST equivalence test shows |mean| < margin at level α (no effect worth the name); else
 * 'inconclusive' (also for n < 2).
 */
export function decidePaired(
  cmp: PairedComparison,
  direction: 'positive' | 'negative',
  eq?: Equivalence | null,
  alpha = ALPHA,
): Verdict {
  if (cmp.n < 2 || !Number.isFinite(cmp.pValue)) return 'inconclusive';
  const claimed = direction === 'positive' ? cmp.mean > 0 : cmp.mean < 0;
  if (cmp.pValue < alpha) return claimed ? 'held' : 'did not hold';
  if (eq && eq.pValue < alpha) return 'did not hold';
  return 'inconclusive';
}

/**
 * `0.12 [95 % t-CI 0.05, 0.20], sign-flip p = 0.031 (exact, n = 6)` (and the TOST p when given)
 * for evidence text; `fmt` formats the effect and interval.
 */
export function pairedText(cmp: PairedComparison, fmt: (x: number) => string, eq?: Equivalence | null): string {
  const p = cmp.pValue < 0.001 ? cmp.pValue.toExponential(1) : cmp.pValue.toFixed(3);
  const ci = cmp.n >= 2 ? ` [${Math.round(100 * cmp.level)} % t-CI ${fmt(cmp.lo)}, ${fmt(cmp.hi)}]` : '';
  const tost =
    eq && Number.isFinite(eq.pValue) ? `, TOST p = ${eq.pValue.toFixed(3)} for |effect| < ${fmt(eq.margin)}` : '';
  return `${fmt(cmp.mean)}${ci}, sign-flip p = ${p} (${cmp.exact ? 'exact' : `Monte Carlo, ${cmp.permutations} patterns`}, n = ${cmp.n})${tost}`;
}

/** `S = 12, p = 0.004 (exact, n = 8), Sen slope −0.03/window` for evidence text. */
export function mannKendallText(mk: MannKendall, fmt: (x: number) => string, unit = 'step'): string {
  const p = mk.pValue < 0.001 ? mk.pValue.toExponential(1) : mk.pValue.toFixed(3);
  return `Mann–Kendall S = ${mk.s}, p = ${p} (${mk.exact ? 'exact' : 'normal approx.'}, n = ${mk.n}), Sen slope ${fmt(mk.slope)}/${unit}`;
}

/** A paired claim judged: the comparison, the equivalence test (when a margin was given), the verdict and its text. */
export interface PairedJudgement {
  readonly cmp: PairedComparison;
  readonly eq: Equivalence | null;
  readonly verdict: Verdict;
  /** pairedText(cmp, fmt, eq). */
  readonly text: string;
}

/**
 * Judges per-seed differences `diffs` (non-finite ones left out) against a directional claim: decidePaired with the TOST
 * margin `margin` (no test without one); with `minEffect` a significant effect of the claimed sign
 * but smaller than minEffect is 'inconclusive' (or 'did not hold' if the TOST shows it is within the margin);
 * every test at level `alpha` (default 0.05; a follow-up look uses a stricter one).
 */
export function judgePaired(
  diffs: readonly number[],
  direction: 'positive' | 'negative',
  fmt: (x: number) => string,
  o: { margin?: number; minEffect?: number; alpha?: number } = {},
): PairedJudgement {
  // A seed without a measurement (NaN) has no difference: it is left out, and n says so.
  const finite = diffs.filter((d) => Number.isFinite(d));
  const cmp = pairedComparison(finite);
  const alpha = o.alpha ?? ALPHA;
  const eq = o.margin !== undefined && o.margin > 0 ? equivalence(finite, o.margin) : null;
  let verdict = decidePaired(cmp, direction, eq, alpha);
  const signed = direction === 'positive' ? cmp.mean : -cmp.mean;
  if (verdict === 'held' && o.minEffect !== undefined && signed < o.minEffect)
    verdict = eq && eq.pValue < alpha ? 'did not hold' : 'inconclusive';
  return { cmp, eq, verdict, text: pairedText(cmp, fmt, eq) };
}

/** A "the mean lies in [lo, hi]" claim judged across seeds. */
export interface BandJudgement {
  readonly cmp: PairedComparison;
  /** TOST of lo < mean < hi (equivalence about the centre with margin (hi − lo)/2). */
  readonly eq: Equivalence;
  readonly verdict: Verdict;
  readonly text: string;
}

/**
 * Judges "the mean of `values` (one per seed; non-finite ones left out) lies in [lo, hi]": held when the TOST test shows
 * lo < mean < hi at α (its p = the larger one-sided t p); did not hold when the mean lies below lo
 * or above hi by the exact sign-flip test of values − lo (or − hi) at α; else inconclusive.
 */
export function judgeBand(
  values: readonly number[],
  lo: number,
  hi: number,
  fmt: (x: number) => string,
  alpha = ALPHA,
): BandJudgement {
  if (!(hi > lo)) throw new Error(`judgeBand: need lo < hi (got ${lo}, ${hi})`);
  values = values.filter((v) => Number.isFinite(v));
  const cmp = pairedComparison(values);
  const centre = (lo + hi) / 2;
  const eq = equivalence(
    values.map((v) => v - centre),
    (hi - lo) / 2,
  );
  const below = pairedComparison(values.map((v) => v - lo));
  const above = pairedComparison(values.map((v) => v - hi));
  let verdict: Verdict = 'inconclusive';
  if (cmp.n >= 2) {
    if (eq.pValue < alpha) verdict = 'held';
    else if ((below.pValue < alpha && below.mean < 0) || (above.pValue < alpha && above.mean > 0))
      verdict = 'did not hold';
  }
  const p = (x: number) => (x < 0.001 ? x.toExponential(1) : x.toFixed(3));
  const outside =
    below.mean < 0
      ? `below ${fmt(lo)}: sign-flip p = ${p(below.pValue)}`
      : above.mean > 0
        ? `above ${fmt(hi)}: sign-flip p = ${p(above.pValue)}`
        : '';
  const text = `${fmt(cmp.mean)}${cmp.n >= 2 ? ` [${Math.round(100 * cmp.level)} % t-CI ${fmt(cmp.lo)}, ${fmt(cmp.hi)}]` : ''} (n = ${cmp.n}); inside [${fmt(lo)}, ${fmt(hi)}]: TOST p = ${Number.isFinite(eq.pValue) ? p(eq.pValue) : 'n/a'}${outside ? `; ${outside}` : ''}`;
  return { cmp, eq, verdict, text };
}
