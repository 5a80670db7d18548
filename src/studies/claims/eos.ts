/**
 * Edge-of-stability phases. Under cross-entropy λ1 falls once the train accuracy saturates (the
 * margins grow and the loss flattens out), so "hovers at 2/η" is judged between the first
 * crossing of the threshold and the saturation of the train accuracy — not over the rest of the
 * run, where a fall of λ1 is expected and says nothing about the edge of stability.
 */
import type { MetricRow } from '../../experiments/metrics.ts';
import { quantile, median, ratioSeries, type EdgeStats } from '../measures.ts';
import { judgeBand, judgePaired, type BandJudgement, type PairedJudgement } from '../stats.ts';

/** First step whose train accuracy is ≥ `acc`; null if never. */
export function saturationStep(rows: readonly MetricRow[], acc: number): number | null {
  for (const r of rows) if (typeof r.train_acc === 'number' && r.train_acc >= acc) return r.step;
  return null;
}

/**
 * `e` with its hovering phase cut to the steps before `to` (exclusive; null = no cut): `after`,
 * the median and the quartiles are recomputed from the rows' ratios (key/thresholdKey as for e).
 */
export function restrictPhase(
  e: EdgeStats,
  rows: readonly MetricRow[],
  to: number | null,
  key = 'sharpness',
  thresholdKey = 'threshold',
): EdgeStats {
  if (to === null || e.reachStep === null) return e;
  const from = e.reachStep;
  const after = ratioSeries(rows, key, thresholdKey)
    .filter((p) => p.step >= from && p.step < to)
    .map((p) => p.value);
  return { ...e, after, median: median(after), q25: quantile(after, 0.25), q75: quantile(after, 0.75) };
}

/**
 * "Across seeds the per-seed values (e.g. each seed's median λ1/(2/η)) lie in [lo, hi]": judgeBand
 * (held: TOST inside the band at p < 0.05; did not hold: outside it by the exact sign-flip test).
 */
export function acrossSeedsBand(
  values: readonly number[],
  lo: number,
  hi: number,
  fmt: (x: number) => string,
): BandJudgement {
  return judgeBand(
    values.filter((v) => Number.isFinite(v)),
    lo,
    hi,
    fmt,
  );
}

/** "Across seeds the per-seed values lie below `max`": judgePaired on values − max (held: below at p < 0.05). */
export function acrossSeedsBelow(values: readonly number[], max: number, fmt: (x: number) => string): PairedJudgement {
  return judgePaired(
    values.filter((v) => Number.isFinite(v)).map((v) => v - max),
    'negative',
    fmt,
  );
}
