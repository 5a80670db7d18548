/**
 * "Warmup lowers the early curvature relative to the stability threshold" (Gilmer et al. 2022),
 * judged where the comparison can fail: λ1/threshold measured inside the warmup is divided by a
 * threshold at a tiny η_t (2/η_t is huge), so it is small whatever the curvature does. The runs
 * are compared over the same window right after the LONGEST warmup among them ends, where every
 * run trains at the same, full η.
 */
import type { MetricRow } from '../../experiments/metrics.ts';
import type { Verdict } from '../study.ts';

/** One run of the comparison: its metric rows, warmup length (updates) and final status. */
export interface WarmupRun {
  readonly name: string;
  readonly rows: readonly MetricRow[];
  readonly warmup: number;
  readonly status: string;
}

/** λ1/threshold of one run over the common post-warmup window. */
export interface PostWarmupCurvature {
  readonly name: string;
  readonly warmup: number;
  /** The window [from, to] in steps (from = the longest warmup of the compared runs, or the run's own: curvatureAtFullLr). */
  readonly from: number;
  readonly to: number;
  /** Max and median of λ1/threshold over the measurements in the window; null without any. */
  readonly maxRatio: number | null;
  readonly medianRatio: number | null;
  readonly points: number;
  /** The run diverged before the window ended. */
  readonly diverged: boolean;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** λ1/threshold of a row (λ1(P⁻¹H) where the row's threshold is for it); null if not measured. */
export function rowRatio(r: MetricRow): number | null {
  const key = r.threshold_quantity === 'preconditioned_sharpness' ? 'precond_sharpness' : 'sharpness';
  const v = r[key];
  return finite(v) && finite(r.threshold) && r.threshold > 0 ? v / r.threshold : null;
}

/** One run's λ1/threshold over steps [from, to]; with grid > 0 only at from, from + grid, from + 2·grid, …. */
function windowCurvature(r: WarmupRun, from: number, to: number, grid: number): PostWarmupCurvature {
  const xs: number[] = [];
  for (const row of r.rows) {
    if (row.step < from || row.step > to || (grid > 0 && (row.step - from) % grid !== 0)) continue;
    const q = rowRatio(row);
    if (q !== null) xs.push(q);
  }
  const s = [...xs].sort((a, b) => a - b);
  const lastStep = r.rows.length > 0 ? r.rows[r.rows.length - 1]!.step : 0;
  return {
    name: r.name,
    warmup: r.warmup,
    from,
    to,
    maxRatio: xs.length > 0 ? s[s.length - 1]! : null,
    medianRatio: xs.length > 0 ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : null,
    points: xs.length,
    diverged: r.status === 'diverged' && lastStep <= to,
  };
}

/** Each run's λ1/threshold over [W, W + window], W = the longest warmup among `runs`. */
export function curvatureAfterWarmup(runs: readonly WarmupRun[], window: number): PostWarmupCurvature[] {
  const from = Math.max(0, ...runs.map((r) => r.warmup));
  return runs.map((r) => windowCurvature(r, from, from + window, 0));
}

/**
 * Each run's λ1/threshold over its own first `window` steps at the full η, [W, W + window] with W
 * its own warmup (0 without): the curvature each run meets when it arrives at the full η. Only
 * steps W, W + grid, W + 2·grid, … count (grid > 0) when the windows start at different steps, so
 * a run measured densely early (the one without warmup) and one measured every `grid` steps later
 * are maxima over as many measurements; windows that start together keep every measurement.
 */
export function curvatureAtFullLr(runs: readonly WarmupRun[], window: number, grid: number): PostWarmupCurvature[] {
  const together = runs.every((r) => r.warmup === runs[0]?.warmup);
  return runs.map((r) => windowCurvature(r, r.warmup, r.warmup + window, together ? 0 : grid));
}

/** 'held' if every comparison is true, 'did not hold' if one is false, else 'inconclusive'. */
export function verdictOf(items: readonly (boolean | null)[]): Verdict {
  if (items.length === 0) return 'inconclusive';
  if (items.some((x) => x === false)) return 'did not hold';
  return items.every((x) => x === true) ? 'held' : 'inconclusive';
}
