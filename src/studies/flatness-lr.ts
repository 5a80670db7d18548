/**
 * `flatness-lr`: GD at learning rates from 0.5× to past the divergence point in multiples of
 * 2/λ0, several seeds, each trained to a fixed train accuracy (train.stop_train_acc), then the
 * final state's curvature (λ1, λmin, trace; final-analysis.ts) and λ1 after a settling phase at
 * a small common η (settle.ts: at the edge of stability λ1 is pinned at 2/η, so "larger η ends
 * with a smaller λ1" is the edge of stability itself, not flatness). Claims:
 *   1. (a check of the sweep) it reaches past the divergence point;
 *   2. past 2/λ0 the final sharpness tracks 2/η, over the runs back at the edge of stability
 *      (backAtEdge: returned to edge_reach·2/η after the catapult): each seed's median final λ1/(2/η) over its runs
 *      past 2/λ0, judged across seeds against [ratio_lo, ratio_hi] (stats.ts judgeBand: TOST);
 *   3. flatter for larger η by the trace: one Spearman(η, final Hutchinson trace) per seed, their
 *      mean ≤ −spearman_min at exact sign-flip p < 0.05; |λmin| over time is reported alongside;
 *   4. flatter for larger η by λ1 after settling: the same test on the settled λ1;
 *   5. test accuracy improves past the threshold: paired by seed, acc at acc_above_multiple minus
 *      acc at acc_below_multiple (both fixed in the study file): judgePaired (t-interval, exact
 *      sign-flip p < 0.05, mean ≥ acc_gain_min; TOST with margin acc_gain_min for 'did not hold');
 *   6. and falls again at larger η among runs that trained (diverged runs do not count): acc at
 *      acc_above_multiple minus acc at the largest multiple every seed trained at, the same test;
 *   7. rank correlations across the trained runs, per seed and tested across seeds as in 3:
 *      Spearman(test accuracy, final trace) ≤ −corr_min and Spearman(test accuracy, mean rotation
 *      1 − ρ) ≥ corr_min.
 * Runs that hit train.steps before the target accuracy are "not trained" and left out of 2–7.
 * Follow-up cells (followUp.ts) judge claim 6, when the study's seeds leave it undecided, on their
 * own seeds at their level; their runs enter no other claim and get no final analysis or settling.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun, Verdict } from './study.ts';
import { FLATNESS_LR_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { edgeOfStability, fmt, mean, meanRotation, median, spearman, tols, trainingOutcome } from './measures.ts';
import { multipleOf, runMultiples } from './plan.ts';
import { finalCurvatures, readFinalCurvature } from './final-analysis.ts';
import { readSettled, settleCompletedRuns } from './settle.ts';
import {
  bootstrapDiff,
  bootstrapMean,
  cohensD,
  intervalText,
  judgeBand,
  judgePaired,
  type Interval,
  type PairedJudgement,
} from './stats.ts';
import { lineChart, PALETTE, THRESHOLD_COLOR, DASH } from '../report/spec.ts';
import { present } from './figures.ts';
import { followUpAlpha, followUpHead, splitFollowUp } from './followUp.ts';

export interface FinalPoint {
  run: StudyRun;
  multiple: number;
  lr: number;
  seed: number;
  status: 'trained' | 'not trained' | 'diverged' | 'failed';
  sharpness: number;
  lambdaMin: number;
  trace: number;
  /** λ1 after the settling phase (NaN if not settled). */
  settled: number;
  testAcc: number;
  rotation: number;
}

/** What each run ended with (its status against the train accuracy it was trained to: trainingOutcome). */
export function finalPoints(runs: readonly StudyRun[]): FinalPoint[] {
  return runs.map((r) => {
    const { multiple } = multipleOf(r);
    const status = trainingOutcome(r);
    const a = readFinalCurvature(r.dir);
    const settled =
      typeof r.params.settled_sharpness === 'number' ? r.params.settled_sharpness : readSettled(r.dir)?.sharpness;
    return {
      run: r,
      multiple,
      lr: r.config.optimizer.lr,
      seed: r.config.train.seed,
      status,
      sharpness: a?.eigs[0] ?? r.summary.final.sharpness ?? Number.NaN,
      lambdaMin: a?.lambda_min ?? Number.NaN,
      trace: a?.trace ?? Number.NaN,
      settled: settled ?? Number.NaN,
      testAcc: r.summary.final.test_acc ?? Number.NaN,
      rotation: meanRotation(r.rows),
    };
  });
}

const key = (m: number) => m.toPrecision(6);

/** Mean of `f` over the points of each multiple (sorted by multiple), with its bootstrap interval across seeds. */
function byMultiple(
  ps: readonly FinalPoint[],
  f: (p: FinalPoint) => number,
): { m: number; v: number; n: number; ci: Interval }[] {
  const ms = [...new Set(ps.map((p) => key(p.multiple)))].map(Number).sort((a, b) => a - b);
  return ms.map((m) => {
    const xs = ps
      .filter((p) => key(p.multiple) === key(m))
      .map(f)
      .filter((v) => Number.isFinite(v));
    return { m, v: mean(xs), n: xs.length, ci: bootstrapMean(xs, { seed: 7 }) };
  });
}

const perMultiple = (rows: ReturnType<typeof byMultiple>, scale = 1) =>
  rows
    .filter((x) => x.n > 0)
    .map(
      (x) =>
        `${fmt(x.m)}×: ${fmt(scale * x.v)}${x.n > 1 ? ` [${fmt(scale * x.ci.lo)}, ${fmt(scale * x.ci.hi)}]` : ''} (n = ${x.n})`,
    )
    .join(', ');

/**
 * Claim "Spearman(x, y) ≤ −min (or ≥ min)" judged across seeds: one Spearman per seed over its
 * points (seeds with ≥ 3 distinct x), their mean tested with judgePaired (held: exact sign-flip
 * p < 0.05 with the claimed sign and |mean| ≥ min; did not hold: p < 0.05 with the other sign, or
 * a TOST test puts the mean within ±min — a correlation shown weaker than claimed).
 * The pooled Spearman over all points is reported alongside.
 */
function rankClaim(
  pts: readonly FinalPoint[],
  x: (p: FinalPoint) => number,
  y: (p: FinalPoint) => number,
  sign: -1 | 1,
  min: number,
): { rs: number; j: PairedJudgement; verdict: Verdict; text: string } {
  const rs = spearman(pts.map(x), pts.map(y));
  const seeds = [...new Set(pts.map((p) => p.seed))].sort((a, b) => a - b);
  const per: { seed: number; rs: number }[] = [];
  for (const sd of seeds) {
    const mine = pts.filter((p) => p.seed === sd);
    if (new Set(mine.map((p) => x(p))).size < 3) continue;
    const r = spearman(mine.map(x), mine.map(y));
    if (Number.isFinite(r)) per.push({ seed: sd, rs: r });
  }
  const j = judgePaired(
    per.map((p) => p.rs),
    sign < 0 ? 'negative' : 'positive',
    fmt,
    { minEffect: min, margin: min },
  );
  const text = `per-seed Spearman ${per.map((p) => `${p.seed}: ${fmt(p.rs)}`).join(', ')}; mean ${j.text} (held: p < 0.05 and mean ${sign < 0 ? `≤ −${min}` : `≥ ${min}`}; did not hold: p < 0.05 with the other sign, or TOST shows |mean| < ${min}); pooled over ${pts.length} runs ${fmt(rs)}`;
  return { rs, j, verdict: j.verdict, text };
}

/** Test accuracy of each seed at multiple `m` among trained runs. */
function accBySeed(ps: readonly FinalPoint[], m: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of ps)
    if (p.status === 'trained' && key(p.multiple) === key(m) && Number.isFinite(p.testAcc)) out.set(p.seed, p.testAcc);
  return out;
}

/** Paired (by seed) test-accuracy difference acc(a) − acc(b) over the seeds that trained at both. */
function pairedAcc(
  ps: readonly FinalPoint[],
  a: number,
  b: number,
): { diffs: number[]; d: number; seeds: number[]; xa: number[]; xb: number[] } {
  const A = accBySeed(ps, a);
  const B = accBySeed(ps, b);
  const seeds = [...A.keys()].filter((s) => B.has(s)).sort((x, y) => x - y);
  const xa = seeds.map((s) => A.get(s)!);
  const xb = seeds.map((s) => B.get(s)!);
  return { diffs: seeds.map((_, i) => xa[i]! - xb[i]!), d: cohensD(xa, xb), seeds, xa, xb };
}

/** Paired accuracy differences (fractions) judged in points: held at sign-flip p < 0.05 and a mean gain ≥ `gain`; TOST margin `gain`. */
function accJudgement(diffs: number[], gain: number, alpha?: number): PairedJudgement {
  return judgePaired(
    diffs.map((x) => 100 * x),
    'positive',
    fmt,
    { margin: 100 * gain, minEffect: 100 * gain, ...(alpha !== undefined ? { alpha } : {}) },
  );
}

const accRule = (gain: number, alpha = 0.05) =>
  `held: exact sign-flip p < ${alpha} and a mean gain ≥ ${fmt(100 * gain)} points; did not hold: p < ${alpha} the other way, or TOST shows |difference| < ${fmt(100 * gain)} points`;

/**
 * The same paired accuracy comparison on the follow-up seeds alone, at level `alpha`; seeds that
 * did not train at both multiples are left out and counted.
 */
function followUpAcc(
  fps: readonly FinalPoint[],
  a: number,
  b: number,
  gain: number,
  alpha: number,
): { j: PairedJudgement; c: ReturnType<typeof pairedAcc>; text: string } | null {
  const seeds = [...new Set(fps.filter((p) => [a, b].some((m) => key(p.multiple) === key(m))).map((p) => p.seed))];
  if (seeds.length === 0) return null;
  const c = pairedAcc(fps, a, b);
  const j = accJudgement(c.diffs, gain, alpha);
  const left = seeds.length - c.seeds.length;
  const notTrained = (m: number) => fps.filter((p) => key(p.multiple) === key(m) && p.status !== 'trained').length;
  return {
    j,
    c,
    text: `${followUpHead(seeds, alpha)}, judged on its own seeds: acc(${fmt(a)}×) − acc(${fmt(b)}×) in points ${j.text}, Cohen's d ${fmt(c.d)}${left > 0 ? `; ${left} seeds left out (not trained at ${fmt(a)}×: ${notTrained(a)}, at ${fmt(b)}×: ${notTrained(b)})` : ''} → ${j.verdict} (${accRule(gain, alpha)})`,
  };
}

/** `{a: 1}` → `{prefix_a: 1}`. */
const prefixed = <T>(prefix: string, o: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [`${prefix}${k}`, v]));

const accValues = (j: PairedJudgement, d: number, seeds: number) => ({
  diff: j.cmp.mean / 100,
  diff_lo: j.cmp.lo / 100,
  diff_hi: j.cmp.hi / 100,
  p: j.cmp.pValue,
  tost_p: j.eq?.pValue ?? null,
  cohens_d: d,
  seeds,
});

/** |λmin| at measured steps with λ1 ≥ 2/η vs λ1 < 2/η, over the given runs (rows with lambda_min). */
function negativeCurvature(ps: readonly FinalPoint[]): { unstable: number[]; stable: number[] } {
  const unstable: number[] = [];
  const stable: number[] = [];
  for (const p of ps) {
    for (const r of p.run.rows) {
      if (typeof r.lambda_min !== 'number' || typeof r.sharpness !== 'number' || typeof r.threshold !== 'number')
        continue;
      (r.sharpness >= r.threshold ? unstable : stable).push(Math.abs(Math.min(0, r.lambda_min)));
    }
  }
  return { unstable, stable };
}

/**
 * Whether a run past 2/λ0 is back at the edge of stability at its end: after its first measured
 * λ1/(2/η) below `reach` (the catapult), a later one is at or above `reach`; a run that never fell
 * below counts (edgeOfStability's reach step).
 */
export function backAtEdge(r: StudyRun, reach: number): boolean {
  return edgeOfStability(r.rows, { fraction: reach }).reachStep !== null;
}

/** `1.5×: 3, 2×: 1` — how many of the points sit at each multiple. */
function perMultipleCount(ps: readonly FinalPoint[]): string {
  const ms = [...new Set(ps.map((p) => key(p.multiple)))].map(Number).sort((a, b) => a - b);
  return ms.map((m) => `${fmt(m)}×: ${ps.filter((p) => key(p.multiple) === key(m)).length}`).join(', ');
}

export function evaluateFlatness(
  runs: StudyRun[],
  ctx: Pick<StudyContext, 'tolerances'> & Partial<Pick<StudyContext, 'file' | 'quick'>>,
): ClaimResult[] {
  const t = tolerancesOf(FLATNESS_LR_TOLERANCES, ctx.tolerances);
  const [lo, hi, spMin, gain, corrMin, mBelow, mAbove, edgeReach] = tols(
    t,
    'ratio_lo',
    'ratio_hi',
    'spearman_min',
    'acc_gain_min',
    'corr_min',
    'acc_below_multiple',
    'acc_above_multiple',
    'edge_reach',
  );
  // Follow-up cells (followUp.ts) decide only the accuracy comparisons the study's seeds left open.
  const split = splitFollowUp(runs);
  const fuAlpha = followUpAlpha(ctx, split.followUp);
  const ps = finalPoints(split.main);
  const fps = finalPoints(split.followUp);
  const trained = ps.filter((p) => p.status === 'trained');
  const out: ClaimResult[] = [];
  const statusLine = byMultiple(ps, () => 0)
    .map(({ m }) => {
      const here = ps.filter((p) => key(p.multiple) === key(m));
      const counts = ['trained', 'not trained', 'diverged', 'failed']
        .map((s) => [s, here.filter((p) => p.status === s).length] as const)
        .filter(([, n]) => n > 0);
      return `${fmt(m)}×: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}`;
    })
    .join('; ');

  // 1. Past the divergence point (a check of the sweep, not a claim of the papers).
  {
    const div = ps.filter((p) => p.status === 'diverged').map((p) => p.multiple);
    out.push({
      claim: '(Sweep check) The sweep reaches past the divergence point',
      evidence: `${statusLine}${div.length > 0 ? `; smallest diverging multiple ${fmt(Math.min(...div))}×2/λ0` : ''}`,
      verdict: div.length > 0 ? 'held' : 'inconclusive',
      values: { smallest_diverging_multiple: div.length > 0 ? Math.min(...div) : null },
      scope: 'design',
    });
  }
  // 2. Final sharpness ≈ 2/η past the threshold, judged on the runs back at the edge of stability
  // (runs that reached the target while still re-sharpening after the catapult cannot show it).
  const past = trained.filter((p) => p.multiple > 1 && Number.isFinite(p.sharpness));
  {
    const claim = 'Past 2/λ0, once back at the edge of stability, the final sharpness tracks 2/η (final λ1·η/2 ≈ 1)';
    const ratio = (p: FinalPoint) => (p.sharpness * p.lr) / 2;
    const isBack = new Map(past.map((p) => [p, backAtEdge(p.run, edgeReach)]));
    const back = past.filter((p) => isBack.get(p));
    const away = past.filter((p) => !isBack.get(p));
    const awayText =
      away.length > 0
        ? `; not judged, reached the target before returning to ${fmt(edgeReach)}·2/η: ${away.length} runs (${perMultipleCount(away)}), final λ1/(2/η) ${fmt(Math.min(...away.map(ratio)))}–${fmt(Math.max(...away.map(ratio)))}`
        : '';
    const seeds = [...new Set(back.map((p) => p.seed))].sort((a, b) => a - b);
    if (back.length === 0)
      out.push({ claim, evidence: `no trained run past 2/λ0 back at the edge${awayText}`, verdict: 'inconclusive' });
    else {
      const m = median(back.map(ratio));
      // Per seed the median over its judged runs; across seeds judged against the band (judgeBand).
      const perSeed = seeds.map((sd) => median(back.filter((p) => p.seed === sd).map(ratio)));
      const j = judgeBand(perSeed, lo, hi, fmt);
      out.push({
        claim,
        evidence: `per-seed median final λ1/(2/η) over the ${back.length} runs past 2/λ0 back at the edge (${perMultipleCount(back)}), mean across seeds ${j.text} (held: TOST inside [${lo}, ${hi}] at p < 0.05; did not hold: outside it at p < 0.05); median over those runs ${fmt(m)}; mean [95 % CI across seeds] per multiple: ${perMultiple(byMultiple(back, ratio))}${awayText}`,
        verdict: j.verdict,
        values: {
          median_ratio: m,
          mean_ratio: j.cmp.mean,
          mean_ratio_lo: j.cmp.lo,
          mean_ratio_hi: j.cmp.hi,
          tost_p: j.eq.pValue,
          runs_judged: back.length,
          runs_not_back: away.length,
        },
      });
    }
  }
  // 3. Flatter for larger η, by the trace (not pinned by the dynamics).
  {
    const claim = 'Flatter for larger η: the final Hessian trace falls with η';
    const pts = trained.filter((p) => Number.isFinite(p.trace));
    const distinct = new Set(pts.map((p) => key(p.multiple))).size;
    const nc = negativeCurvature(trained.filter((p) => p.multiple > 1));
    const ncText =
      nc.unstable.length + nc.stable.length > 0
        ? `|λmin| during training in the runs past 2/λ0: mean ${fmt(mean(nc.unstable))} over ${nc.unstable.length} measurements with λ1 ≥ 2/η vs ${fmt(mean(nc.stable))} over ${nc.stable.length} with λ1 < 2/η${nc.unstable.length >= 2 && nc.stable.length >= 2 ? ` (difference ${intervalText(bootstrapDiff(nc.unstable, nc.stable, { seed: 10 }), fmt)})` : ''}`
        : '|λmin| not tracked during training (curvature.lambda_min_every)';
    const rawRs = spearman(
      trained.filter((p) => Number.isFinite(p.sharpness)).map((p) => p.multiple),
      trained.filter((p) => Number.isFinite(p.sharpness)).map((p) => p.sharpness),
    );
    if (distinct < 3)
      out.push({
        claim,
        evidence: `${distinct} trained learning rates with a final trace (need 3); ${ncText}`,
        verdict: 'inconclusive',
      });
    else {
      const r = rankClaim(
        pts,
        (p) => p.multiple,
        (p) => p.trace,
        -1,
        spMin,
      );
      out.push({
        claim,
        evidence: `Spearman(η, final trace): ${r.text}; mean trace per multiple: ${perMultiple(byMultiple(pts, (p) => p.trace))}; mean final |λmin| per multiple: ${perMultiple(byMultiple(pts, (p) => Math.abs(p.lambdaMin)))}; ${ncText}. (Spearman(η, final λ1) = ${fmt(rawRs)} is not judged: λ1 is pinned at 2/η past the threshold.)`,
        verdict: r.verdict,
        values: {
          spearman_lr_trace: r.rs,
          spearman_lr_trace_seed_mean: r.j.cmp.mean,
          spearman_lr_trace_lo: r.j.cmp.lo,
          spearman_lr_trace_hi: r.j.cmp.hi,
          p: r.j.cmp.pValue,
          spearman_lr_sharpness: rawRs,
          lambda_min_unstable: mean(nc.unstable),
          lambda_min_stable: mean(nc.stable),
        },
      });
    }
  }
  // 4. Flatter for larger η, by λ1 after settling at a small common η.
  {
    const claim = 'Flatter for larger η: λ1 after settling at a small common η falls with η';
    const pts = trained.filter((p) => Number.isFinite(p.settled));
    const distinct = new Set(pts.map((p) => key(p.multiple))).size;
    if (distinct < 3)
      out.push({
        claim,
        evidence: `${distinct} trained learning rates with a settled λ1 (need 3)`,
        verdict: 'inconclusive',
      });
    else {
      const r = rankClaim(
        pts,
        (p) => p.multiple,
        (p) => p.settled,
        -1,
        spMin,
      );
      out.push({
        claim,
        evidence: `Spearman(η, settled λ1): ${r.text}; mean settled λ1 per multiple: ${perMultiple(byMultiple(pts, (p) => p.settled))}`,
        verdict: r.verdict,
        values: {
          spearman_lr_settled: r.rs,
          spearman_lr_settled_seed_mean: r.j.cmp.mean,
          spearman_lr_settled_lo: r.j.cmp.lo,
          spearman_lr_settled_hi: r.j.cmp.hi,
          p: r.j.cmp.pValue,
        },
      });
    }
  }
  // 5–6. Test accuracy against η, at multiples fixed in the study file (no choosing the best after the fact).
  const accLine = `mean test accuracy (%) per multiple among trained runs: ${perMultiple(
    byMultiple(trained, (p) => p.testAcc),
    100,
  )}`;
  {
    const claim = `Test accuracy improves past 2/λ0 (${fmt(mAbove)}× vs ${fmt(mBelow)}× 2/λ0, paired by seed)`;
    const c = pairedAcc(ps, mAbove, mBelow);
    if (c.seeds.length === 0)
      out.push({
        claim,
        evidence: `no seed trained at both ${fmt(mBelow)}× and ${fmt(mAbove)}×; ${accLine}`,
        verdict: 'inconclusive',
      });
    else {
      const j = accJudgement(c.diffs, gain);
      out.push({
        claim,
        evidence: `difference in points ${j.text} over seeds ${c.seeds.join(', ')}, Cohen's d ${fmt(c.d)} (${accRule(gain)}); ${accLine}`,
        verdict: j.verdict,
        values: accValues(j, c.d, c.seeds.length),
      });
    }
  }
  {
    const claim = `Test accuracy falls again at larger η among the runs that trained (${fmt(mAbove)}× vs the largest multiple every seed trained at)`;
    const seeds = [...new Set(ps.map((p) => p.seed))];
    const allTrained = [...new Set(trained.map((p) => key(p.multiple)))]
      .map(Number)
      .filter((m) => m > mAbove && seeds.every((s) => trained.some((p) => p.seed === s && key(p.multiple) === key(m))));
    if (allTrained.length === 0)
      out.push({
        claim,
        evidence: `no multiple above ${fmt(mAbove)}× trained at every seed (diverged runs do not count as a fall); ${statusLine}`,
        verdict: 'inconclusive',
      });
    else {
      const mTop = Math.max(...allTrained);
      const c = pairedAcc(ps, mAbove, mTop);
      const j = accJudgement(c.diffs, gain);
      const first = `acc(${fmt(mAbove)}×) − acc(${fmt(mTop)}×) in points ${j.text} over seeds ${c.seeds.join(', ')}, Cohen's d ${fmt(c.d)} (${accRule(gain)})`;
      const fu =
        j.verdict === 'inconclusive' && fuAlpha !== null ? followUpAcc(fps, mAbove, mTop, gain, fuAlpha) : null;
      out.push({
        claim,
        evidence: fu ? `${first} → inconclusive. ${fu.text}` : first,
        verdict: fu ? fu.j.verdict : j.verdict,
        values: {
          largest_trained_multiple: mTop,
          ...accValues(j, c.d, c.seeds.length),
          ...(fu
            ? { follow_up_alpha: fuAlpha, ...prefixed('follow_up_', accValues(fu.j, fu.c.d, fu.c.seeds.length)) }
            : {}),
        },
      });
    }
  }
  // 7. Rank correlations.
  {
    const claim = 'Test accuracy is rank-correlated negatively with the final trace and positively with mean rotation';
    const pts = trained.filter(
      (p) => Number.isFinite(p.testAcc) && Number.isFinite(p.trace) && Number.isFinite(p.rotation),
    );
    if (pts.length < 4)
      out.push({ claim, evidence: `${pts.length} trained runs with all measures (need 4)`, verdict: 'inconclusive' });
    else {
      const a = rankClaim(
        pts,
        (p) => p.testAcc,
        (p) => p.trace,
        -1,
        corrMin,
      );
      const b = rankClaim(
        pts,
        (p) => p.testAcc,
        (p) => p.rotation,
        1,
        corrMin,
      );
      const both = [a.verdict, b.verdict];
      out.push({
        claim,
        evidence: `over ${pts.length} trained runs: Spearman(test acc, final trace): ${a.text}. Spearman(test acc, mean 1 − ρ): ${b.text}`,
        verdict: both.includes('did not hold')
          ? 'did not hold'
          : both.includes('inconclusive')
            ? 'inconclusive'
            : 'held',
        values: { spearman_acc_trace: a.rs, spearman_acc_rotation: b.rs },
      });
    }
  }
  return out;
}

/** Final λ1, |λmin|, trace and test accuracy against η/(2/λ0), one point per trained run. */
export function flatnessFigures(runs: StudyRun[]): StudyFigure[] {
  const ps = finalPoints(splitFollowUp(runs).main).filter((p) => p.status === 'trained');
  const fig = (
    id: string,
    title: string,
    yTitle: string,
    f: (p: FinalPoint) => number,
    logY = false,
    ref?: boolean,
  ): StudyFigure | null => {
    const seeds = [...new Set(ps.map((p) => p.seed))].sort((a, b) => a - b);
    const series = seeds.map((s, i) => ({
      label: `seed ${s}`,
      field: `s${i}`,
      points: ps
        .filter((p) => p.seed === s)
        .sort((a, b) => a.multiple - b.multiple)
        .map((p) => ({ x: p.multiple, y: f(p) })),
      color: PALETTE[i % PALETTE.length]!,
      showPoints: true,
    }));
    if (ref) {
      const ms = [...new Set(ps.map((p) => p.multiple))].sort((a, b) => a - b);
      const l0 = mean(ps.map((p) => multipleOf(p.run).lambda0));
      series.push({
        label: '2/η',
        field: 'thr',
        points: ms.map((m) => ({ x: m, y: l0 / m })),
        color: THRESHOLD_COLOR,
        showPoints: false,
        dash: DASH,
      } as never);
    }
    const spec = lineChart({
      title,
      xTitle: 'η / (2/λ0)',
      xField: 'multiple',
      yTitle,
      series,
      logX: true,
      logY,
      legend: true,
    });
    return spec === null
      ? null
      : {
          id,
          title,
          caption: `${title} of every run trained to the target accuracy, against its learning rate in units of 2/λ0.`,
          spec,
        };
  };
  return present([
    fig('final-sharpness', 'Final sharpness λ1', 'λ1', (p) => p.sharpness, true, true),
    fig('final-lambda-min', 'Final |λmin|', '|λmin|', (p) => Math.abs(p.lambdaMin), true),
    fig('final-trace', 'Final Hessian trace', 'trace', (p) => p.trace, true),
    fig('settled-sharpness', 'λ1 after settling at a small η', 'settled λ1', (p) => p.settled, true),
    fig('test-acc', 'Test accuracy', 'test accuracy', (p) => p.testAcc),
    fig('rotation', 'Mean rotation 1 − ρ', 'mean 1 − ρ', (p) => p.rotation),
  ]);
}

export const flatnessLr: StudyDefinition = {
  name: 'flatness-lr',
  async execute(ctx) {
    const runs = await runMultiples(ctx);
    // The follow-up judges test accuracy only: no final curvature or settling for its runs.
    const main = splitFollowUp(runs).main;
    await finalCurvatures(ctx, main);
    await settleCompletedRuns(ctx, main);
    return runs;
  },
  evaluate: evaluateFlatness,
  figures: (runs) => flatnessFigures(runs),
};
