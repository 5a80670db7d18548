/**
 * `eos-gd`: full-batch GD at several η (Cohen et al. 2021). Per run, three claims:
 *   1. progressive sharpening: λ1 rises from its post-initialization minimum until it first reaches
 *      `reach_fraction`·2/η (inconclusive for runs that start above that level — the catapult
 *      regime — or never reach it within the budget while not falling; did not hold when it never
 *      reaches it and falls over the run, Mann–Kendall p < 0.05);
 *   2. then it hovers at 2/η: the median of λ1/(2/η) from that step on lies in
 *      [ratio_lo, ratio_hi] and its interquartile range is at most ratio_iqr_max;
 *   3. in that phase the train loss is non-monotone (at least min_loss_increases step-to-step
 *      increases) yet keeps falling over longer windows: a Mann–Kendall trend test on the means of
 *      consecutive windows of loss_window steps (≥ 5 windows) finds a fall (S < 0, p < 0.05).
 *      Did not hold: the loss never rose min_loss_increases times (monotone), or the window means
 *      rise (S > 0, p < 0.05); no significant trend is inconclusive.
 * Under cross-entropy, claims 2 and 3 are judged between the first crossing and the first step
 * with train accuracy ≥ ce_saturation_acc (λ1 falls once the accuracy saturates). With several
 * seeds, one more row per (loss, η): the mean of the per-seed median ratios, held when a TOST test
 * puts it inside [ratio_lo, ratio_hi] (p < 0.05), did not hold when it is outside (exact sign-flip
 * p < 0.05), with its t-interval (claims/eos.ts acrossSeedsBand).
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { EOS_GD_TOLERANCES, tolerancesOf, type EOS_HOVER_TOLERANCES, type Tolerances } from './tolerances.ts';
import {
  edgeOfStability,
  fmt,
  increaseSteps,
  lossPoints,
  ratioSeries,
  tol,
  windowedTrend,
  type EdgeStats,
} from './measures.ts';
import { perRunFigure, present } from './figures.ts';
import { acrossSeedsBand, restrictPhase, saturationStep } from './claims/eos.ts';
import { ALPHA, mannKendall, mannKendallText } from './stats.ts';
import { runMultiples } from './plan.ts';

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

export function evaluateEosGd(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(EOS_GD_TOLERANCES, ctx.tolerances);
  const out: ClaimResult[] = [];
  const medians = new Map<string, { label: string; values: number[] }>();
  for (const r of runs) {
    const label = gdLabel(r);
    if (r.summary.status !== 'completed') {
      out.push({
        claim: `[${label}] run finished`,
        evidence: `status ${r.summary.status}: ${r.summary.reason ?? ''}`,
        verdict: 'inconclusive',
      });
      continue;
    }
    const e0 = edgeOfStability(r.rows, { fraction: tol(t, 'reach_fraction') });
    out.push(sharpeningClaim(label, e0, r.summary.steps, t, ratioSeries(r.rows, 'sharpness')));
    if (r.config.loss === 'cross-entropy') {
      // Hovering is judged before the train accuracy saturates (λ1 falls after that under cross-entropy).
      const accSat = tol(t, 'ce_saturation_acc');
      const sat = saturationStep(r.rows, accSat);
      const e = restrictPhase(e0, r.rows, sat);
      const note =
        sat === null
          ? ` (train accuracy never reached ${accSat})`
          : ` (train accuracy ≥ ${accSat} from step ${sat}: the phase ends there)`;
      const h = hoverClaim(label, e, t);
      out.push({
        ...h,
        claim: `${h.claim}, until the train accuracy saturates`,
        evidence: `${h.evidence}${note}`,
        values: { ...h.values, saturation_step: sat },
      });
      out.push(
        lossClaim(
          label,
          r,
          e.reachStep,
          t,
          'the edge-of-stability phase before the train accuracy saturates',
          sat ?? Number.POSITIVE_INFINITY,
        ),
      );
      if (e.after.length > 0) push(medians, r, e.median);
    } else {
      out.push(hoverClaim(label, e0, t));
      out.push(lossClaim(label, r, e0.reachStep, t));
      if (e0.after.length > 0) push(medians, r, e0.median);
    }
  }
  // Across seeds: the mean of the per-seed median ratios with its 95 % interval must lie in the tolerance band.
  const lo = tol(t, 'ratio_lo');
  const hi = tol(t, 'ratio_hi');
  for (const { label, values } of medians.values()) {
    if (values.length < 2) continue;
    const j = acrossSeedsBand(values, lo, hi, fmt);
    out.push({
      claim: `[${label}] Across seeds, the sharpness hovers at 2/η`,
      evidence: `mean of the per-seed median λ1/(2/η) ${j.text} (held: TOST shows the mean inside [${lo}, ${hi}] at p < 0.05; did not hold: outside it at p < 0.05)`,
      verdict: j.verdict,
      values: {
        mean_median_ratio: j.cmp.mean,
        lo: j.cmp.lo,
        hi: j.cmp.hi,
        tost_p: j.eq.pValue,
        seeds: j.cmp.n,
      },
    });
  }
  return out;
}

/** Collects a run's median ratio under its label without the seed. */
function push(m: Map<string, { label: string; values: number[] }>, r: StudyRun, v: number): void {
  const lr = r.config.optimizer.lr;
  const label = `${r.config.loss}, η = ${fmt(lr)} (2/η = ${fmt(2 / lr)})`;
  const k = `${r.config.loss}|${lr}`;
  if (!m.has(k)) m.set(k, { label, values: [] });
  m.get(k)!.values.push(v);
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

export const eosGd: StudyDefinition = {
  name: 'eos-gd',
  execute: (ctx) => runMultiples(ctx),
  evaluate: evaluateEosGd,
  figures: (runs) =>
    eosFigures(runs, (r) => `${r.config.loss === 'cross-entropy' ? 'CE' : 'MSE'} η=${fmt(r.config.optimizer.lr)}`),
};
