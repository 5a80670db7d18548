/**
 * `eos-gd`: full-batch GD below, near and at the edge of stability (Cohen et al. 2021). Each
 * cell (a loss and η = lr_multiple·2/λ0, λ0 measured per seed) runs six seeds; per cell, three
 * claims, each a test across its seeds (per-seed figures in the evidence):
 *   1. progressive sharpening: λ1/(2/η) rises from its post-initialization minimum until it first
 *      reaches `reach_fraction` (each seed's rise, minus sharpening_min_rise, by the sign-flip
 *      test; held also needs every seed to reach it; did not hold: the rise is below the minimum);
 *   2. then it hovers at 2/η: the per-seed median of λ1/(2/η) from the crossing on lies in
 *      [ratio_lo, ratio_hi] by TOST, with interquartile spreads not above ratio_iqr_max;
 *   3. in that phase the train loss is non-monotone (≥ min_loss_increases step-to-step rises in
 *      every seed) yet falls over windows of loss_window steps: each seed's Kendall τ of its window
 *      means (≥ 5 windows) is negative across seeds by the sign-flip test; did not hold: positive,
 *      or monotone in every seed.
 * Under cross-entropy, claims 2 and 3 are judged between the crossing and the first step with
 * train accuracy ≥ ce_saturation_acc (λ1 falls once the accuracy saturates), with windows of
 * ce_loss_window steps. The per-run forms of the claims (sharpeningClaim, hoverClaim, lossClaim)
 * are shared with eos-adam and give each seed's figures.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { EOS_GD_TOLERANCES, tolerancesOf, type EOS_HOVER_TOLERANCES, type Tolerances } from './tolerances.ts';
import {
  edgeOfStability,
  fmt,
  increaseSteps,
  lossPoints,
  ratioSeries,
  seriesOf,
  tol,
  windowedTrend,
  type EdgeStats,
} from './measures.ts';
import { medianBandFigure, perRunFigure, present } from './figures.ts';
import { DASH, lineChart, PALETTE } from '../report/spec.ts';
import { acrossSeedsBand, restrictPhase, saturationStep } from './claims/eos.ts';
import { ALPHA, judgePaired, mannKendall, mannKendallText, type PairedComparison } from './stats.ts';
import { LR_MULTIPLE, runMultiples } from './plan.ts';

/** eos-gd's tolerances, and the part its hovering claim reads (shared with eos-adam). */
type EosGdTolerances = Tolerances<(typeof EOS_GD_TOLERANCES)[number]>;
export type EosHoverTolerances = Tolerances<(typeof EOS_HOVER_TOLERANCES)[number]>;

/** `mse, η = 0.1 (2/η = 20)` (and `, seed 1` when the study sweeps seeds). */
export function gdLabel(r: StudyRun): string {
  const lr = r.config.optimizer.lr;
  return `${r.config.loss}, η = ${fmt(lr)} (2/η = ${fmt(2 / lr)})${r.params['train.seed'] !== undefined ? `, seed ${r.config.train.seed}` : ''}`;
}

/**
 * Claim 1 for one run. Held: λ1 reaches reach_fraction·2/η with a rise of at least
 * sharpening_min_rise from its post-initialization minimum. Did not hold: it never reaches it and
 * λ1/(2/η) falls over the run, after a catapult if any (Mann–Kendall on the measurements, S < 0,
 * p < 0.05: the opposite of sharpening). Else inconclusive. `ratios`: the run's λ1/(2/η) series.
 */
export function sharpeningClaim(
  label: string,
  e: EdgeStats,
  steps: number,
  t: EosGdTolerances,
  ratios: readonly { step: number; value: number }[] = [],
): ClaimResult {
  const frac = tol(t, 'reach_fraction');
  const minRise = tol(t, 'sharpening_min_rise');
  const claim = `[${label}] Progressive sharpening: λ1 rises until it reaches ≈ 2/η (first ${frac}·2/η)`;
  const values = {
    initial_ratio: e.initialRatio,
    catapult_step: e.catapultStep,
    min_ratio_before: e.minRatioBefore,
    min_ratio_step: e.minRatioBeforeStep,
    reach_step: e.reachStep,
    steps,
  };
  if (e.initialRatio === null) return { claim, evidence: 'no sharpness measured', verdict: 'inconclusive', values };
  if (e.minRatioBefore === null) {
    return {
      claim,
      evidence: `λ1/(2/η) = ${fmt(e.initialRatio)} at initialization and never fell below ${frac}: sharpening from below cannot be observed`,
      verdict: 'inconclusive',
      values,
    };
  }
  const minB = e.minRatioBefore;
  const start =
    e.catapultStep !== null
      ? `${fmt(e.initialRatio)} at step 0 (above: catapult, below ${frac} from step ${e.catapultStep})`
      : `${fmt(e.initialRatio)} at step 0`;
  if (e.reachStep === null) {
    // Never reached: a falling trend over the run (after a catapult, if any) is the opposite of sharpening.
    const after = ratios.filter((p) => p.step >= (e.catapultStep ?? 0));
    const mk = after.length >= MIN_TREND_WINDOWS ? mannKendall(after.map((p) => p.value)) : null;
    const falling = mk !== null && mk.pValue < ALPHA && mk.s < 0;
    return {
      claim,
      evidence: `λ1/(2/η): ${start}, minimum ${fmt(minB)} at step ${e.minRatioBeforeStep}, ${fmt(e.last)} at the end: ${frac}·2/η not reached within ${steps} steps${mk ? `; over the run${e.catapultStep !== null ? ' after the catapult' : ''}: ${mannKendallText(mk, fmt, 'measurement')}${falling ? ', λ1 falls' : ''}` : ''}`,
      verdict: falling ? 'did not hold' : 'inconclusive',
      values: { ...values, ...(mk ? { mann_kendall_s: mk.s, mann_kendall_p: mk.pValue } : {}) },
    };
  }
  const rise = frac / minB - 1;
  const evidence = `λ1/(2/η): ${start}, minimum ${fmt(minB)} at step ${e.minRatioBeforeStep}, reached ${frac} at step ${e.reachStep} (a rise of ${fmt(100 * rise)} % from the minimum; required ≥ ${fmt(100 * minRise)} %)`;
  return { claim, evidence, verdict: rise >= minRise ? 'held' : 'inconclusive', values: { ...values, rise } };
}

/** Claim 2 for one run. */
export function hoverClaim(label: string, e: EdgeStats, t: EosHoverTolerances, threshold = '2/η'): ClaimResult {
  const frac = tol(t, 'reach_fraction');
  const lo = tol(t, 'ratio_lo');
  const hi = tol(t, 'ratio_hi');
  const iqrMax = tol(t, 'ratio_iqr_max');
  const minPts = tol(t, 'min_hover_points');
  const claim = `[${label}] After first reaching ${frac}·${threshold}, the sharpness hovers at ${threshold}`;
  const values = {
    reach_step: e.reachStep,
    n: e.after.length,
    median_ratio: e.median,
    q25: e.q25,
    q75: e.q75,
    iqr: e.q75 - e.q25,
  };
  if (e.reachStep === null)
    return {
      claim,
      evidence: `never reached ${frac}·${threshold} (last ratio ${fmt(e.last)})`,
      verdict: 'inconclusive',
      values,
    };
  if (e.after.length < minPts) {
    return {
      claim,
      evidence: `reached at step ${e.reachStep} but only ${e.after.length} measurements after it (need ${minPts})`,
      verdict: 'inconclusive',
      values,
    };
  }
  const spread = e.q75 - e.q25;
  const ok = e.median >= lo && e.median <= hi && spread <= iqrMax;
  const evidence = `median ratio ${fmt(e.median)} (IQR ${fmt(e.q25)}–${fmt(e.q75)}, spread ${fmt(spread)}) over ${e.after.length} measurements from step ${e.reachStep}; tolerance: median in [${lo}, ${hi}], spread ≤ ${iqrMax}`;
  return { claim, evidence, verdict: ok ? 'held' : 'did not hold', values };
}

/** Claim 3 for one run (train loss from `from` on). */
export function lossClaim(
  label: string,
  r: StudyRun,
  from: number | null,
  t: EosGdTolerances,
  phase = 'the edge-of-stability phase',
  to = Number.POSITIVE_INFINITY,
): ClaimResult {
  const minInc = tol(t, 'min_loss_increases');
  const window = tol(t, 'loss_window');
  const claim = `[${label}] In ${phase} the train loss is non-monotone yet keeps falling over windows of ${window} steps`;
  if (from === null) return { claim, evidence: 'the phase was never entered', verdict: 'inconclusive' };
  const pts = lossPoints(r.rows, from).filter((p) => p.step < to);
  const inc = increaseSteps(pts);
  const w = windowedTrend(pts, window);
  const mk = mannKendall(w.means);
  const values = {
    from,
    points: pts.length,
    increases: inc.length,
    windows: w.means.length,
    mann_kendall_s: mk.s,
    mann_kendall_p: mk.pValue,
    sen_slope: mk.slope,
    net_change: w.netChange,
  };
  const rose = `the loss rose in ${inc.length} of ${Math.max(0, pts.length - 1)} steps (need ≥ ${minInc})`;
  if (inc.length < minInc && pts.length >= 2)
    return { claim, evidence: `from step ${from}: ${rose}: monotone`, verdict: 'did not hold', values };
  if (w.means.length < MIN_TREND_WINDOWS)
    return {
      claim,
      evidence: `from step ${from}: ${rose}; only ${w.means.length} full windows of ${window} steps (a trend test needs ≥ ${MIN_TREND_WINDOWS})`,
      verdict: 'inconclusive',
      values,
    };
  const significant = mk.pValue < ALPHA;
  const verdict = significant && mk.s < 0 ? 'held' : significant && mk.s > 0 ? 'did not hold' : 'inconclusive';
  const evidence = `from step ${from}: ${rose}; means of ${w.means.length} windows: ${mannKendallText(mk, fmt, 'window')}, net change ${fmt(100 * w.netChange)} % (held: a falling trend at p < ${ALPHA}; did not hold: a rising one)`;
  return { claim, evidence, verdict: inc.length >= minInc ? verdict : 'inconclusive', values };
}

/** Fewest window means a trend is judged from: with 4 the exact two-sided Mann–Kendall p is at least 2/24. */
export const MIN_TREND_WINDOWS = 5;

/** One seed's run in a cell, with its three per-run claims (their values feed the cell's tests). */
interface SeedResult {
  run: StudyRun;
  sharpening: ClaimResult;
  hover: ClaimResult;
  loss: ClaimResult;
}

/**
 * The cell a run belongs to: its loss and its place relative to the threshold (lr_multiple =
 * η·λ0/2 when the study sets η from λ0, else η itself); the key groups the seeds of a cell.
 */
function cellOf(r: StudyRun): { key: string; label: string; order: number } {
  const m = r.params[LR_MULTIPLE];
  const lr = r.config.optimizer.lr;
  if (typeof m === 'number')
    return { key: `${r.config.loss}|m${m}`, label: `${r.config.loss}, η = ${fmt(m)}·2/λ0`, order: m };
  return { key: `${r.config.loss}|${lr}`, label: `${r.config.loss}, η = ${fmt(lr)} (2/η = ${fmt(2 / lr)})`, order: lr };
}

/**
 * The per-run claims of one completed run, [sharpening, hover, loss] (under cross-entropy,
 * hovering and the loss are judged before saturation): each seed's figures in a cell's evidence.
 */
export function eosGdRunClaims(r: StudyRun, tolerances: Record<string, number>): ClaimResult[] {
  const x = seedResult(r, tolerancesOf(EOS_GD_TOLERANCES, tolerances));
  return [x.sharpening, x.hover, x.loss];
}

function seedResult(r: StudyRun, t: EosGdTolerances): SeedResult {
  const label = gdLabel(r);
  const e0 = edgeOfStability(r.rows, { fraction: tol(t, 'reach_fraction') });
  const sharpening = sharpeningClaim(label, e0, r.summary.steps, t, ratioSeries(r.rows, 'sharpness'));
  if (r.config.loss !== 'cross-entropy')
    return { run: r, sharpening, hover: hoverClaim(label, e0, t), loss: lossClaim(label, r, e0.reachStep, t) };
  const accSat = tol(t, 'ce_saturation_acc');
  const sat = saturationStep(r.rows, accSat);
  const e = restrictPhase(e0, r.rows, sat);
  const h = hoverClaim(label, e, t);
  const hover = { ...h, values: { ...h.values, saturation_step: sat } };
  const tc = { ...t, loss_window: tol(t, 'ce_loss_window') };
  const loss = lossClaim(
    label,
    r,
    e.reachStep,
    tc,
    'the phase before the train accuracy saturates',
    sat ?? Number.POSITIVE_INFINITY,
  );
  return { run: r, sharpening, hover, loss };
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
/** A per-run loss claim's Kendall τ: its Mann–Kendall S over the number of window pairs. */
const kendallTau = (v: Readonly<Record<string, unknown>>) => {
  const n = num(v.windows);
  return num(v.mann_kendall_s) / ((n * (n - 1)) / 2);
};
/** n, the t-interval and the sign-flip p of a cell test, for a claim's values. */
const testValues = (c: PairedComparison) => ({ n: c.n, lo: c.lo, hi: c.hi, p: c.pValue });
const seedOf = (x: SeedResult) => x.run.config.train.seed;
/** `seed 0: …; seed 1: …` for evidence text. */
const perSeed = (xs: readonly SeedResult[], f: (x: SeedResult) => string) =>
  xs.map((x) => `seed ${seedOf(x)}: ${f(x)}`).join('; ');

/**
 * Claim 1 for a cell: each seed's rise of λ1/(2/η) from its post-initialization minimum to the
 * first crossing of reach_fraction (or to its largest value after the minimum, for a seed that
 * never crossed), minus sharpening_min_rise, tested across seeds (held: positive at p < 0.05 and
 * every seed crossed; did not hold: negative at p < 0.05). Seeds that started above the level and
 * never fell below it cannot show sharpening from below and are left out.
 */
function cellSharpening(label: string, xs: readonly SeedResult[], t: EosGdTolerances): ClaimResult {
  const frac = tol(t, 'reach_fraction');
  const minRise = tol(t, 'sharpening_min_rise');
  const claim = `[${label}] Progressive sharpening: λ1 rises from below until it first reaches ${frac}·2/η`;
  const usable = xs.filter((x) => x.sharpening.values?.min_ratio_before !== null);
  const rises = usable.map((x) => {
    const v = x.sharpening.values!;
    const minB = num(v.min_ratio_before);
    if (v.reach_step !== null) return frac / minB - 1;
    const after = ratioSeries(x.run.rows, 'sharpness').filter((p) => p.step >= num(v.min_ratio_step));
    return Math.max(...after.map((p) => p.value)) / minB - 1;
  });
  const reached = usable.filter((x) => x.sharpening.values!.reach_step !== null).length;
  const j = judgePaired(
    rises.map((r) => r - minRise),
    'positive',
    fmt,
  );
  const verdict = j.verdict === 'held' && reached < usable.length ? 'inconclusive' : j.verdict;
  const left = xs.length - usable.length;
  const evidence = `rise of λ1/(2/η) from its minimum to the crossing, minus ${fmt(minRise)}: ${j.text}; ${reached} of ${usable.length} seeds reached ${frac}·2/η${left > 0 ? ` (${left} started above it and never fell below: left out)` : ''}. ${perSeed(
    usable,
    (x) => {
      const v = x.sharpening.values!;
      return `from ${fmt(num(v.initial_ratio))} (minimum ${fmt(num(v.min_ratio_before))} at step ${String(v.min_ratio_step)}) ${v.reach_step !== null ? `to ${frac} at step ${String(v.reach_step)}` : 'never reached'}`;
    },
  )}`;
  return {
    claim,
    evidence,
    verdict,
    values: {
      ...testValues(j.cmp),
      mean_excess_rise: j.cmp.mean,
      reached,
      seeds: xs.length,
    },
  };
}

/**
 * Claim 2 for a cell: each seed's median λ1/(2/η) after its first crossing (under cross-entropy,
 * before saturation), judged by judgeBand in [ratio_lo, ratio_hi]; held also needs the
 * interquartile spreads not to exceed ratio_iqr_max (did not hold when they exceed it at p < 0.05).
 */
function cellHover(label: string, xs: readonly SeedResult[], t: EosGdTolerances, ce: boolean): ClaimResult {
  const frac = tol(t, 'reach_fraction');
  const lo = tol(t, 'ratio_lo');
  const hi = tol(t, 'ratio_hi');
  const iqrMax = tol(t, 'ratio_iqr_max');
  const minPts = tol(t, 'min_hover_points');
  const claim = `[${label}] After first reaching ${frac}·2/η, the sharpness hovers at 2/η${ce ? ', until the train accuracy saturates' : ''}`;
  const judged = xs.filter((x) => x.hover.values?.reach_step !== null && num(x.hover.values?.n) >= minPts);
  const band = acrossSeedsBand(
    judged.map((x) => num(x.hover.values!.median_ratio)),
    lo,
    hi,
    fmt,
  );
  const spread = judgePaired(
    judged.map((x) => num(x.hover.values!.iqr) - iqrMax),
    'negative',
    fmt,
  );
  const tooWide = spread.verdict === 'did not hold';
  const verdict = band.verdict === 'did not hold' || tooWide ? 'did not hold' : band.verdict;
  const evidence = `mean of the per-seed median λ1/(2/η) ${band.text}; interquartile spread minus ${fmt(iqrMax)}: ${spread.text}${tooWide ? ' (too wide)' : ''}; ${judged.length} of ${xs.length} seeds judged (reached, ≥ ${minPts} measurements after). ${perSeed(
    judged,
    (x) => {
      const v = x.hover.values!;
      return `median ${fmt(num(v.median_ratio))} (IQR ${fmt(num(v.q25))}–${fmt(num(v.q75))}, ${String(v.n)} measurements from step ${String(v.reach_step)}${ce && v.saturation_step !== null && v.saturation_step !== undefined ? ` to ${String(v.saturation_step)}` : ''})`;
    },
  )}`;
  return {
    claim,
    evidence,
    verdict,
    values: {
      n: band.cmp.n,
      mean_median_ratio: band.cmp.mean,
      lo: band.cmp.lo,
      hi: band.cmp.hi,
      tost_p: band.eq.pValue,
      mean_iqr: spread.cmp.mean + iqrMax,
      seeds: xs.length,
    },
  };
}

/**
 * Claim 3 for a cell: each seed's Kendall τ of its loss-window means in the phase (Mann–Kendall S
 * over its pairs: −1 = falling in every pair), tested across seeds (held: negative at p < 0.05 and
 * the loss rose ≥ min_loss_increases times in every seed; did not hold: positive at p < 0.05, or
 * monotone in every seed). Seeds with fewer than MIN_TREND_WINDOWS windows are left out.
 */
function cellLoss(label: string, xs: readonly SeedResult[], t: EosGdTolerances, ce: boolean): ClaimResult {
  const minInc = tol(t, 'min_loss_increases');
  const window = tol(t, ce ? 'ce_loss_window' : 'loss_window');
  const claim = `[${label}] In the edge-of-stability phase${ce ? ' before the train accuracy saturates' : ''} the train loss is non-monotone yet falls over windows of ${window} steps`;
  const judged = xs.filter((x) => num(x.loss.values?.windows) >= MIN_TREND_WINDOWS);
  const taus = judged.map((x) => kendallTau(x.loss.values!));
  const j = judgePaired(taus, 'negative', fmt);
  const nonMonotone = judged.filter((x) => num(x.loss.values!.increases) >= minInc).length;
  const monotoneAll = judged.length > 0 && nonMonotone === 0;
  const verdict = monotoneAll
    ? 'did not hold'
    : j.verdict === 'held' && nonMonotone < judged.length
      ? 'inconclusive'
      : j.verdict;
  const fell = judged.filter(
    (x) => num(x.loss.values!.mann_kendall_p) < ALPHA && num(x.loss.values!.mann_kendall_s) < 0,
  ).length;
  const evidence = `Kendall τ of the window means (−1: falling in every pair): ${j.text}; the loss rose ≥ ${minInc} times in ${nonMonotone} of ${judged.length} seeds; each seed's own Mann–Kendall test finds a fall at p < ${ALPHA} in ${fell} of ${judged.length}${judged.length < xs.length ? `; ${xs.length - judged.length} seeds had < ${MIN_TREND_WINDOWS} windows in the phase (left out)` : ''}. ${perSeed(
    judged,
    (x) => {
      const v = x.loss.values!;
      return `τ ${fmt(kendallTau(v))} over ${String(v.windows)} windows from step ${String(v.from)}, ${String(v.increases)} rises, net ${fmt(100 * num(v.net_change))} %`;
    },
  )}`;
  return {
    claim,
    evidence,
    verdict,
    values: {
      ...testValues(j.cmp),
      mean_tau: j.cmp.mean,
      non_monotone: nonMonotone,
      seeds: xs.length,
    },
  };
}

/**
 * The claims of eos-gd: per cell (loss × place relative to the threshold), over its seeds,
 * sharpening, hovering and the falling non-monotone loss (see the module comment); a run that did
 * not complete is reported by itself and left out of its cell.
 */
export function evaluateEosGd(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(EOS_GD_TOLERANCES, ctx.tolerances);
  const out: ClaimResult[] = [];
  const cells = new Map<string, { label: string; order: number; ce: boolean; seeds: SeedResult[] }>();
  for (const r of runs) {
    if (r.summary.status !== 'completed') {
      out.push({
        claim: `[${gdLabel(r)}] run finished`,
        evidence: `status ${r.summary.status}: ${r.summary.reason ?? ''}`,
        verdict: 'inconclusive',
      });
      continue;
    }
    const c = cellOf(r);
    if (!cells.has(c.key))
      cells.set(c.key, { label: c.label, order: c.order, ce: r.config.loss === 'cross-entropy', seeds: [] });
    cells.get(c.key)!.seeds.push(seedResult(r, t));
  }
  const sorted = [...cells.values()].sort((a, b) => Number(a.ce) - Number(b.ce) || a.order - b.order);
  for (const c of sorted) {
    c.seeds.sort((a, b) => seedOf(a) - seedOf(b));
    const lrs = c.seeds.map((x) => x.run.config.optimizer.lr);
    const label =
      lrs.length > 1 && Math.min(...lrs) !== Math.max(...lrs)
        ? `${c.label}: η ${fmt(Math.min(...lrs))}–${fmt(Math.max(...lrs))}, ${lrs.length} seeds`
        : `${c.label}${lrs.length > 1 ? `, ${lrs.length} seeds` : ''}`;
    out.push(cellSharpening(label, c.seeds, t), cellHover(label, c.seeds, t, c.ce), cellLoss(label, c.seeds, t, c.ce));
  }
  return out;
}

export function eosFigures(
  runs: StudyRun[],
  label: (r: StudyRun) => string,
  key = 'sharpness',
  thr = '2/η',
): StudyFigure[] {
  return present([
    perRunFigure(runs, {
      id: 'ratio',
      title: `${key === 'sharpness' ? 'λ1' : 'λ1(P⁻¹H)'} / (${thr})`,
      caption: `Each run's ${key === 'sharpness' ? 'sharpness' : 'preconditioned sharpness'} divided by its threshold ${thr}; dashed: 1 (the edge of stability).`,
      key,
      yTitle: `ratio to ${thr}`,
      label,
      ruleY: 1,
      ratioTo: 'threshold',
    }),
    perRunFigure(runs, {
      id: 'train-loss',
      title: 'Train loss',
      caption:
        'Full-batch train loss of every run (log scale): non-monotone at the edge of stability, falling over longer windows.',
      key: 'train_loss',
      yTitle: 'train loss (log)',
      label,
      logY: true,
    }),
  ]);
}

/** One run per cell (its smallest seed), cells in order of η relative to the threshold. */
function oneSeedPerCell(runs: readonly StudyRun[]): StudyRun[] {
  const by = new Map<string, StudyRun>();
  for (const r of runs) {
    const k = cellOf(r).key;
    const cur = by.get(k);
    if (cur === undefined || r.config.train.seed < cur.config.train.seed) by.set(k, r);
  }
  return [...by.values()].sort((a, b) => cellOf(a).order - cellOf(b).order);
}

/** `η = 0.7·2/λ0` (or `η = 0.05`) for legends. */
const cellLegend = (r: StudyRun) => cellOf(r).label.replace(/^[^,]+, /, '');

/**
 * eos-gd's figures, per loss: Cohen et al.'s figure 1 (λ1 of one seed per cell with its 2/η
 * dashed in the same colour, and the train loss), and λ1/(2/η) per cell as the median over seeds
 * with the min–max band.
 */
export function eosGdFigures(runs: StudyRun[]): StudyFigure[] {
  const figs: (StudyFigure | null)[] = [];
  for (const loss of ['mse', 'cross-entropy'] as const) {
    const all = runs.filter((r) => r.config.loss === loss && r.summary.status === 'completed');
    if (all.length === 0) continue;
    const name = loss === 'mse' ? 'MSE' : 'cross-entropy';
    const id = loss === 'mse' ? 'mse' : 'ce';
    const shown = oneSeedPerCell(all);
    const seed = Math.min(...shown.map((r) => r.config.train.seed));
    const sharp = lineChart({
      title: `λ1 and 2/η, ${name} (seed ${seed})`,
      xTitle: 'step',
      yTitle: 'λ1 (top Hessian eigenvalue)',
      series: shown.map((r, i) => ({
        label: cellLegend(r),
        field: `y${i}`,
        points: seriesOf(r.rows, 'sharpness').map((p) => ({ x: p.step, y: p.value })),
        color: PALETTE[i % PALETTE.length]!,
        strokeWidth: 1.4,
      })),
      rules: shown.map((r, i) => ({ y: 2 / r.config.optimizer.lr, color: PALETTE[i % PALETTE.length]!, dash: DASH })),
      legend: true,
    });
    if (sharp !== null)
      figs.push({
        id: `sharpness-${id}`,
        title: `λ1 against 2/η (${name})`,
        caption: `Cohen et al.'s figure 1 for this study: the sharpness of one seed per cell rises until it reaches its own 2/η (dashed, same colour) and then hovers there.`,
        spec: sharp,
      });
    const lossChart = lineChart({
      title: `Train loss, ${name} (seed ${seed})`,
      xTitle: 'step',
      yTitle: 'train loss (log)',
      logY: true,
      series: shown.map((r, i) => ({
        label: cellLegend(r),
        field: `y${i}`,
        points: seriesOf(r.rows, 'train_loss').map((p) => ({ x: p.step, y: p.value })),
        color: PALETTE[i % PALETTE.length]!,
        strokeWidth: 1.1,
      })),
      legend: true,
    });
    if (lossChart !== null)
      figs.push({
        id: `train-loss-${id}`,
        title: `Train loss (${name})`,
        caption:
          'The same runs: the loss falls while λ1 sharpens, then keeps falling non-monotonically at the edge of stability.',
        spec: lossChart,
      });
    figs.push(
      medianBandFigure(all, {
        id: `ratio-${id}`,
        title: `λ1/(2/η) across seeds (${name})`,
        caption:
          'Per cell, the median over seeds of λ1/(2/η) at each measured step (line) and its range over the seeds (band); dashed: 1, the edge of stability. Steps where fewer than half of the seeds are still running are left out.',
        yTitle: 'λ1 / (2/η)',
        cell: (r) => ({ ...cellOf(r), label: cellLegend(r) }),
        series: (r) => ratioSeries(r.rows, 'sharpness'),
        ruleY: 1,
      }),
    );
  }
  return present(figs);
}

export const eosGd: StudyDefinition = {
  name: 'eos-gd',
  execute: (ctx) => runMultiples(ctx),
  evaluate: evaluateEosGd,
  figures: (runs) => eosGdFigures(runs),
};
