/**
 * Measures the studies' claims are judged with: pure functions of metric rows (metrics.jsonl)
 * and of plain number lists. Steps are update counts; a "ratio" is a curvature divided by its
 * stability threshold (both in 1/lr units), so 1 means "at the edge of stability".
 */
import type { MetricRow } from '../experiments/metrics.ts';
import type { StudyRun, Verdict } from './study.ts';
import type { Tolerances } from './tolerances.ts';
import { getPath } from '../experiments/configPaths.ts';
import { seriesOf as plotSeries } from '../report/figures.ts';

/** One measured value of a series. */
export interface Point {
  readonly step: number;
  readonly value: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** (step, row[key]) for the rows where `key` is a finite number, in row order (the report's series as points). */
export function seriesOf(rows: readonly MetricRow[], key: string): Point[] {
  return plotSeries(rows, key).map((p) => ({ step: p.x, value: p.y }));
}

/** Arithmetic mean (NaN for an empty list). */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * The q-quantile (q in [0, 1]) with linear interpolation between order statistics (the usual
 * "type 7" definition: position q·(n − 1) in the sorted list). NaN for an empty list.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1] (got ${q})`);
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** Interquartile range q75 − q25. */
export const iqr = (xs: readonly number[]): number => quantile(xs, 0.75) - quantile(xs, 0.25);

/** 1-based ranks, ties given the mean of the ranks they span. */
export function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const r = new Array<number>(xs.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]!] === xs[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Pearson correlation; NaN when fewer than 2 pairs or a list is constant. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`pearson: lengths differ (${x.length} vs ${y.length})`);
  if (x.length < 2) return Number.NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

/** Spearman rank correlation (Pearson correlation of the tie-averaged ranks). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`spearman: lengths differ (${x.length} vs ${y.length})`);
  return pearson(ranks(x), ranks(y));
}

/**
 * How a run ended against its train-accuracy target (train.stop_train_acc): trained (completed at
 * or above it, or completed without one), not trained (stopped by train.steps below it), diverged
 * or failed.
 */
export function trainingOutcome(r: StudyRun): 'trained' | 'not trained' | 'diverged' | 'failed' {
  if (r.summary.status === 'diverged') return 'diverged';
  if (r.summary.status !== 'completed') return 'failed';
  const target = r.config.train.stop_train_acc;
  const acc = r.summary.final.train_acc;
  return target === null || (acc !== null && acc >= target) ? 'trained' : 'not trained';
}

/** First point whose value is >= level (a number, or a function of the point's step); null if none. */
export function firstReach(points: readonly Point[], level: number | ((step: number) => number)): Point | null {
  for (const p of points) {
    const l = typeof level === 'number' ? level : level(p.step);
    if (p.value >= l) return p;
  }
  return null;
}

/** A curvature series divided by its per-row threshold (rows where both are finite and the threshold > 0). */
export function ratioSeries(rows: readonly MetricRow[], key = 'sharpness', thresholdKey = 'threshold'): Point[] {
  const out: Point[] = [];
  for (const r of rows) {
    const v = r[key];
    const t = r[thresholdKey];
    if (finite(v) && finite(t) && t > 0) out.push({ step: r.step, value: v / t });
  }
  return out;
}

/** What `edgeOfStability` found in one run. */
export interface EdgeStats {
  /** The curvature (and its ratio to the threshold) at the first measurement (the initialization). */
  readonly initial: number | null;
  readonly initialRatio: number | null;
  /**
   * Started at or above `fraction` and then fell below it (a catapult): the first step below;
   * null if the run started below, or never fell below.
   */
  readonly catapultStep: number | null;
  /** Smallest ratio measured between the start (or the catapult) and `reachStep` (or the end if never reached). */
  readonly minRatioBefore: number | null;
  readonly minRatioBeforeStep: number | null;
  /**
   * First step whose ratio was >= `fraction` after having been below it (from the start, or after
   * the catapult); 0 if it started above and never fell below; null = never.
   */
  readonly reachStep: number | null;
  /** Ratios measured from reachStep on (inclusive). */
  readonly after: number[];
  readonly median: number;
  readonly q25: number;
  readonly q75: number;
  /** Last measured ratio. */
  readonly last: number | null;
}

/**
 * The edge-of-stability statistics of one run: when the curvature `key` (sharpness, or
 * precond_sharpness for Adam) reached `fraction` of its threshold from below — from the start,
 * or, if it started above (a catapult), after it first fell below — and the median and quartiles
 * of curvature/threshold from then on.
 */
export function edgeOfStability(
  rows: readonly MetricRow[],
  o: { fraction: number; key?: string; thresholdKey?: string },
): EdgeStats {
  const key = o.key ?? 'sharpness';
  const ratios = ratioSeries(rows, key, o.thresholdKey ?? 'threshold');
  const raw = seriesOf(rows, key);
  let from = 0;
  let catapult: Point | null = null;
  let reach: Point | null = null;
  if (ratios.length > 0 && ratios[0]!.value >= o.fraction) {
    const i = ratios.findIndex((p) => p.value < o.fraction);
    if (i < 0) reach = ratios[0]!;
    else {
      catapult = ratios[i]!;
      from = i;
    }
  }
  if (reach === null) reach = firstReach(ratios.slice(from), o.fraction);
  const before = ratios.slice(from).filter((p) => reach === null || p.step < reach.step);
  let minB: Point | null = null;
  for (const p of before) if (minB === null || p.value < minB.value) minB = p;
  const after = reach === null ? [] : ratios.filter((p) => p.step >= reach.step).map((p) => p.value);
  return {
    initial: raw.length > 0 ? raw[0]!.value : null,
    initialRatio: ratios.length > 0 ? ratios[0]!.value : null,
    catapultStep: catapult?.step ?? null,
    minRatioBefore: minB?.value ?? null,
    minRatioBeforeStep: minB?.step ?? null,
    reachStep: reach?.step ?? null,
    after,
    median: median(after),
    q25: quantile(after, 0.25),
    q75: quantile(after, 0.75),
    last: ratios.length > 0 ? ratios[ratios.length - 1]!.value : null,
  };
}

/** Train-loss points of the rows with step in [from, to] (to = Infinity by default). */
export function lossPoints(
  rows: readonly MetricRow[],
  from = 0,
  to = Number.POSITIVE_INFINITY,
  key = 'train_loss',
): Point[] {
  return seriesOf(rows, key).filter((p) => p.step >= from && p.step <= to);
}

/** Steps t (of consecutive points) whose value rose above the previous point's by more than `rel` (relative). */
export function increaseSteps(points: readonly Point[], rel = 0): number[] {
  const out: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!.value;
    if (points[i]!.value > a + rel * Math.abs(a)) out.push(points[i]!.step);
  }
  return out;
}

/** What `windowedTrend` found. */
export interface WindowTrend {
  /** Mean value of each consecutive window of `window` steps (the last, partial window dropped). */
  readonly means: number[];
  /** Consecutive window pairs whose mean fell, and how many pairs there were. */
  readonly falling: number;
  readonly pairs: number;
  /** falling / pairs (NaN without pairs). */
  readonly fraction: number;
  /** Relative change of the mean from the first to the last window ((last − first)/first). */
  readonly netChange: number;
}

/**
 * Trend over longer windows: the points are cut into consecutive windows of `window` steps
 * starting at the first point's step; counts how often a window's mean is below the previous one's.
 */
export function windowedTrend(points: readonly Point[], window: number): WindowTrend {
  if (!(window > 0)) throw new Error(`windowedTrend: window must be > 0 (got ${window})`);
  if (points.length === 0) return { means: [], falling: 0, pairs: 0, fraction: Number.NaN, netChange: Number.NaN };
  const start = points[0]!.step;
  const last = points[points.length - 1]!.step;
  const full = Math.floor((last - start + 1) / window);
  const sums = new Array<number>(full).fill(0);
  const counts = new Array<number>(full).fill(0);
  for (const p of points) {
    const k = Math.floor((p.step - start) / window);
    if (k < full) {
      sums[k]! += p.value;
      counts[k]!++;
    }
  }
  const means = sums.map((s, k) => s / counts[k]!).filter((m) => Number.isFinite(m));
  let falling = 0;
  for (let k = 1; k < means.length; k++) if (means[k]! < means[k - 1]!) falling++;
  const pairs = Math.max(0, means.length - 1);
  return {
    means,
    falling,
    pairs,
    fraction: pairs > 0 ? falling / pairs : Number.NaN,
    netChange: means.length >= 2 ? (means[means.length - 1]! - means[0]!) / means[0]! : Number.NaN,
  };
}

/** Mean rotation 1 − ρ over the measured ρ (`eigvec_cos`) with step in [from, to]; NaN if none. */
export function meanRotation(
  rows: readonly MetricRow[],
  from = 0,
  to = Number.POSITIVE_INFINITY,
  key = 'eigvec_cos',
): number {
  return mean(
    seriesOf(rows, key)
      .filter((p) => p.step >= from && p.step <= to)
      .map((p) => 1 - p.value),
  );
}

/** Maximal runs of consecutive points (in order) whose value is below `level`: [first step, last step]. */
export function episodesBelow(points: readonly Point[], level: number): [number, number][] {
  const out: [number, number][] = [];
  let start: number | null = null;
  let last = 0;
  for (const p of points) {
    if (p.value < level) {
      if (start === null) start = p.step;
      last = p.step;
    } else if (start !== null) {
      out.push([start, last]);
      start = null;
    }
  }
  if (start !== null) out.push([start, last]);
  return out;
}

/** Whether some value of the ascending list `sorted` lies in [a, b] (binary search). */
export function anyWithin(sorted: readonly number[], a: number, b: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < a) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo]! <= b;
}

/** Fraction of `events` (steps) within `window` steps (either side) of some step in `marks`; NaN without events. */
export function coincidence(events: readonly number[], marks: readonly number[], window: number): number {
  if (events.length === 0) return Number.NaN;
  const sorted = [...marks].sort((a, b) => a - b);
  let hit = 0;
  for (const e of events) if (anyWithin(sorted, e - window, e + window)) hit++;
  return hit / events.length;
}

/**
 * Chance level of `coincidence`: the fraction of `steps` (all the steps an event could have
 * fallen on) that lie within `window` of a mark.
 */
export function coverage(steps: readonly number[], marks: readonly number[], window: number): number {
  return coincidence(steps, marks, window);
}

/** 'held' if value is in [lo, hi], 'did not hold' if it is a number outside, 'inconclusive' if not a finite number. */
export function judgeRange(value: number | null | undefined, lo: number, hi: number): Verdict {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'inconclusive';
  return value >= lo && value <= hi ? 'held' : 'did not hold';
}

/** Combines verdicts of parts of one claim: any 'did not hold' wins, then any 'inconclusive', else 'held' (empty → inconclusive). */
export function combineVerdicts(vs: readonly Verdict[]): Verdict {
  if (vs.length === 0) return 'inconclusive';
  if (vs.includes('did not hold')) return 'did not hold';
  if (vs.includes('inconclusive')) return 'inconclusive';
  return 'held';
}

/** A number for evidence text: 3 significant digits (NaN/null → 'n/a'). */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

/**
 * A tolerance by name; throws naming the study file key when it is missing. Over a study's typed
 * view (tolerances.ts, `tolerancesOf`) the name must be one the study declares (a type error
 * otherwise); a plain record takes any name.
 */
export function tol<N extends string>(t: Tolerances<N>, name: NoInfer<N>): number;
export function tol(t: Readonly<Record<string, number>>, name: string): number;
export function tol(t: Readonly<Record<string, number | undefined>>, name: string): number {
  const v = t[name];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new Error(`study tolerance '${name}' is missing from the study file (tolerances:)`);
  return v;
}

/** Several tolerances by name, in the order named (each as `tol`): `const [lo, hi] = tols(t, 'ratio_lo', 'ratio_hi')`. */
export function tols<N extends string, const M extends readonly NoInfer<N>[]>(
  t: Tolerances<N>,
  ...names: M
): { [K in keyof M]: number };
export function tols<const M extends readonly string[]>(
  t: Readonly<Record<string, number>>,
  ...names: M
): { [K in keyof M]: number };
export function tols(t: Readonly<Record<string, number | undefined>>, ...names: readonly string[]): number[] {
  return names.map((n) => tol(t as Readonly<Record<string, number>>, n));
}

/** A run's value at dotted `key` of its config (e.g. optimizer.lr). */
export function configValue(config: unknown, key: string): unknown {
  return getPath(config, key);
}

/** Seeds as a range where they are consecutive ('6–13'), else listed. */
export function seedRange(seeds: readonly number[]): string {
  const consecutive = seeds.length > 2 && seeds.every((x, i) => i === 0 || x === seeds[i - 1]! + 1);
  return consecutive ? `${seeds[0]}–${seeds[seeds.length - 1]}` : seeds.join(', ');
}
