/**
 * Rotation statistics of one run (Wang & Roberts): per curvature measurement, the rotation of the
 * top eigenvector since the previous measurement, the relative eigengap, the parameter
 * displacement between the two, and whether the updates in between were unstable (λ1 ≥ 2/η at
 * the previous measurement). Near-degenerate measurements (a small eigengap: λ1 and λ2 may
 * exchange, which turns v1 by 90° without any rotation of the top eigenspace) are excluded.
 * Plus a circular-shift permutation test of "events coincide with marks" against chance.
 */
import type { MetricRow } from '../../experiments/metrics.ts';
import { createRng } from '../../util/random.ts';
import { anyWithin, episodesBelow } from '../measures.ts';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One rotation measurement (between the previous curvature measurement and this one). */
export interface RotationStep {
  readonly step: number;
  /** |cos| between successive top eigenvectors. */
  readonly rho: number;
  /** |cos| between this top eigenvector and the previous top-k eigenspace; null if not recorded. */
  readonly rhoSubspace: number | null;
  /** Angle arccos(ρ) in radians. */
  readonly angle: number;
  /** min over the two measurements of the relative eigengap (λ1 − λ2)/λ1; null without top-2 eigenvalues. */
  readonly gap: number | null;
  /** ‖Δθ‖ between the two measurements; null if not recorded. */
  readonly displacement: number | null;
  /** λ1/threshold at the previous measurement ≥ 1 (the updates in between were unstable along v1). */
  readonly unstable: boolean;
}

/** (λ1 − λ2)/λ1 from a row's `eigs` (top-k, descending); null without two finite eigenvalues or λ1 ≤ 0. */
export function relativeGap(row: MetricRow): number | null {
  const e = row.eigs;
  if (!Array.isArray(e) || e.length < 2 || !finite(e[0]) || !finite(e[1]) || !(e[0] > 0)) return null;
  return (e[0] - e[1]) / e[0];
}

/** The rotation steps of a run: rows with `eigvec_cos`, paired with the previous row that has `sharpness`. */
export function rotationSteps(rows: readonly MetricRow[]): RotationStep[] {
  const out: RotationStep[] = [];
  let prev: MetricRow | null = null;
  for (const r of rows) {
    if (!finite(r.sharpness)) continue;
    if (prev !== null && finite(r.eigvec_cos)) {
      const g0 = relativeGap(prev);
      const g1 = relativeGap(r);
      out.push({
        step: r.step,
        rho: r.eigvec_cos,
        rhoSubspace: finite(r.eigvec_subspace_cos) ? r.eigvec_subspace_cos : null,
        angle: Math.acos(Math.min(1, Math.max(0, r.eigvec_cos))),
        gap: g0 === null || g1 === null ? null : Math.min(g0, g1),
        displacement: finite(r.param_displacement) ? r.param_displacement : null,
        unstable: finite(prev.threshold) && prev.threshold > 0 && (prev.sharpness as number) >= prev.threshold,
      });
    }
    prev = r;
  }
  return out;
}

/** Splits steps into those whose eigengap is at least `gapMin` (kept) and the near-degenerate ones; a step without a gap is kept. */
export function splitDegenerate(
  steps: readonly RotationStep[],
  gapMin: number,
): { kept: RotationStep[]; degenerate: RotationStep[] } {
  const kept: RotationStep[] = [];
  const degenerate: RotationStep[] = [];
  for (const s of steps) (s.gap !== null && s.gap < gapMin ? degenerate : kept).push(s);
  return { kept, degenerate };
}

/** Rotation angle per unit parameter displacement (radians per unit ‖Δθ‖) of the steps with a displacement > 0. */
export function anglePerDisplacement(steps: readonly RotationStep[]): number[] {
  return steps.filter((s) => s.displacement !== null && s.displacement > 0).map((s) => s.angle / s.displacement!);
}

/** Maximal runs of consecutive steps (in order) with ρ < level: [first step, last step]. */
export function dropEpisodes(steps: readonly RotationStep[], level: number): [number, number][] {
  return episodesBelow(
    steps.map((s) => ({ step: s.step, value: s.rho })),
    level,
  );
}

/** Whether some mark lies in [a − w, b + w]. */
const near = (a: number, b: number, sortedMarks: readonly number[], w: number): boolean =>
  anyWithin(sortedMarks, a - w, b + w);

/** One run's material for the coincidence test: episodes [a, b], marks, the measured steps, in step units. */
export interface CoincidenceRun {
  readonly episodes: readonly (readonly [number, number])[];
  readonly marks: readonly number[];
  /** The steps the episodes could have fallen on (the run's measured steps, ascending). */
  readonly steps: readonly number[];
}

export interface CoincidenceTest {
  readonly hits: number;
  readonly total: number;
  /** Mean hits under the null (episodes circularly shifted over the measured steps). */
  readonly chanceHits: number;
  /** P(hits ≥ observed) under the null. */
  readonly pValue: number;
}

/** Episodes as index pairs into the run's measured steps. */
function episodeIndices(run: CoincidenceRun): [number, number][] {
  const idx = new Map(run.steps.map((s, i) => [s, i] as const));
  return run.episodes.map(([a, b]) => {
    const ia = idx.get(a);
    const ib = idx.get(b);
    if (ia === undefined || ib === undefined)
      throw new Error(`coincidence: episode [${a}, ${b}] is not on the measured steps`);
    return [ia, ib];
  });
}

function hitsOf(
  steps: readonly number[],
  eps: readonly [number, number][],
  marks: readonly number[],
  w: number,
  shift: number,
): number {
  const L = steps.length;
  let h = 0;
  for (const [ia, ib] of eps) {
    const ja = (ia + shift) % L;
    const jb = (ib + shift) % L;
    // An episode that wraps around the end is split into its two pieces.
    const hit =
      ja <= jb
        ? near(steps[ja]!, steps[jb]!, marks, w)
        : near(steps[ja]!, steps[L - 1]!, marks, w) || near(steps[0]!, steps[jb]!, marks, w);
    if (hit) h++;
  }
  return h;
}

/**
 * How many episodes lie within `window` steps of a mark, against chance: under the null the
 * episodes of each run are shifted together by a uniformly random number of measured steps
 * (circularly), which keeps their number, lengths and spacing. Exact over all shifts for a single
 * run with at most `resamples` steps, else `resamples` seeded draws (p = (1 + count)/(1 + draws)).
 */
export function coincidenceTest(
  runs: readonly CoincidenceRun[],
  window: number,
  o: { seed?: number; resamples?: number } = {},
): CoincidenceTest {
  const resamples = o.resamples ?? 2000;
  const used = runs.filter((r) => r.episodes.length > 0 && r.steps.length > 0);
  const sorted = used.map((r) => [...r.marks].sort((a, b) => a - b));
  const eps = used.map(episodeIndices);
  const hits = (i: number, shift: number) => hitsOf(used[i]!.steps, eps[i]!, sorted[i]!, window, shift);
  const observed = used.reduce((s, _r, i) => s + hits(i, 0), 0);
  const total = used.reduce((s, r) => s + r.episodes.length, 0);
  if (total === 0) return { hits: 0, total: 0, chanceHits: Number.NaN, pValue: Number.NaN };
  let count = 0;
  let sum = 0;
  if (used.length === 1 && used[0]!.steps.length <= resamples) {
    const L = used[0]!.steps.length;
    for (let k = 0; k < L; k++) {
      const h = hits(0, k);
      sum += h;
      if (h >= observed) count++;
    }
    return { hits: observed, total, chanceHits: sum / L, pValue: count / L };
  }
  const rng = createRng(o.seed ?? 0);
  for (let d = 0; d < resamples; d++) {
    let h = 0;
    for (let i = 0; i < used.length; i++) h += hits(i, rng.int(used[i]!.steps.length));
    sum += h;
    if (h >= observed) count++;
  }
  return { hits: observed, total, chanceHits: sum / resamples, pValue: (1 + count) / (1 + resamples) };
}

/** A per-update quantity and whether the update was unstable, in step order. */
export interface LabelledValue {
  readonly step: number;
  readonly value: number;
  readonly unstable: boolean;
}

/**
 * Unstable minus stable updates, compared within matched time windows: the steps are cut into
 * consecutive windows of `window` steps (from the first step); in every window holding both kinds,
 * the mean value of its unstable updates minus that of its stable ones; the result is the mean of
 * those differences (NaN without such a window). Comparing within windows removes slow drifts of
 * the quantity over training (e.g. the opening catapult) from the comparison.
 */
export function matchedWindowDifference(
  xs: readonly LabelledValue[],
  window: number,
): { diff: number; windows: number } {
  if (!(window >= 1)) throw new Error(`matchedWindowDifference: window must be ≥ 1 (got ${window})`);
  if (xs.length === 0) return { diff: Number.NaN, windows: 0 };
  const start = xs[0]!.step;
  const cells = new Map<number, { u: number[]; s: number[] }>();
  for (const x of xs) {
    if (!Number.isFinite(x.value)) continue;
    const k = Math.floor((x.step - start) / window);
    const c = cells.get(k) ?? cells.set(k, { u: [], s: [] }).get(k)!;
    (x.unstable ? c.u : c.s).push(x.value);
  }
  const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const diffs = [...cells.values()].filter((c) => c.u.length > 0 && c.s.length > 0).map((c) => avg(c.u) - avg(c.s));
  return { diff: diffs.length > 0 ? avg(diffs) : Number.NaN, windows: diffs.length };
}

/**
 * P(matched-window difference ≥ observed) when the unstable labels are shuffled in blocks of
 * `block` consecutive updates (the blocks permuted, their insides kept): a null that keeps the
 * labels' clustering in time but breaks their link to the values. `resamples` seeded draws,
 * p = (1 + count)/(1 + draws); NaN when the observed difference is.
 */
export function blockShuffleP(
  xs: readonly LabelledValue[],
  window: number,
  block: number,
  o: { seed?: number; resamples?: number } = {},
): number {
  const observed = matchedWindowDifference(xs, window).diff;
  if (!Number.isFinite(observed)) return Number.NaN;
  const resamples = o.resamples ?? 1000;
  const blocks: boolean[][] = [];
  for (let i = 0; i < xs.length; i += block) blocks.push(xs.slice(i, i + block).map((x) => x.unstable));
  const rng = createRng(o.seed ?? 0);
  let count = 0;
  for (let d = 0; d < resamples; d++) {
    const order = blocks.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const labels = order.flatMap((i) => blocks[i]!);
    const shuffled = xs.map((x, i) => ({ step: x.step, value: x.value, unstable: labels[i]! }));
    if (matchedWindowDifference(shuffled, window).diff >= observed) count++;
  }
  return (1 + count) / (1 + resamples);
}
