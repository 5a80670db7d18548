/**
 * `flatness-lr`: GD at learning rates from 0.5× to past the divergence point in multiples of
 * 2/λ0, several seeds, each trained to a fixed train accuracy (train.stop_train_acc), then the
 * final state's curvature (λ1, λmin, trace; final-analysis.ts). Claims:
 *   1. the sweep reaches past the divergence point (some multiple diverges);
 *   2. past 2/λ0 the final sharpness tracks 2/η: median final λ1/(2/η) in [ratio_lo, ratio_hi];
 *   3. flatter for larger η: Spearman(η/(2/λ0), final λ1) ≤ −spearman_min (and the trace, as a
 *      second measure of flatness, in the evidence);
 *   4. test accuracy improves past the threshold (the best mean test accuracy is at a multiple > 1
 *      and beats the best below 2/λ0 by ≥ acc_gain_min) and then falls (by ≥ acc_gain_min) or
 *      diverges at larger η;
 *   5. rank correlations across the trained runs: Spearman(test accuracy, final λ1) ≤ −corr_min
 *      and Spearman(test accuracy, mean rotation 1 − ρ) ≥ corr_min.
 * Runs that hit train.steps before the target accuracy are "not trained" and left out of 2–5.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { fmt, mean, meanRotation, median, spearman, tol } from './measures.ts';
import { multipleOf, runMultiples } from './plan.ts';
import { finalCurvatures, readFinalCurvature } from './final-analysis.ts';
import { lineChart, PALETTE, THRESHOLD_COLOR, DASH } from '../report/spec.ts';
import { present } from './figures.ts';

export interface FinalPoint {
  run: StudyRun;
  multiple: number;
  lr: number;
  seed: number;
  status: 'trained' | 'not trained' | 'diverged' | 'failed';
  sharpness: number;
  lambdaMin: number;
  trace: number;
  testAcc: number;
  rotation: number;
}

/** What each run ended with; `target` = the train accuracy it was trained to. */
export function finalPoints(runs: readonly StudyRun[]): FinalPoint[] {
  return runs.map((r) => {
    const { multiple } = multipleOf(r);
    const target = r.config.train.stop_train_acc;
    const acc = r.summary.final.train_acc;
    const status: FinalPoint['status'] = r.summary.status === 'diverged' ? 'diverged' : r.summary.status !== 'completed' ? 'failed'
      : target === null || (acc !== null && acc >= target) ? 'trained' : 'not trained';
    const a = readFinalCurvature(r.dir);
    return {
      run: r,
      multiple,
      lr: r.config.optimizer.lr,
      seed: r.config.train.seed,
      status,
      sharpness: a?.eigs[0] ?? r.summary.final.sharpness ?? Number.NaN,
      lambdaMin: a?.lambda_min ?? Number.NaN,
      trace: a?.trace ?? Number.NaN,
      testAcc: r.summary.final.test_acc ?? Number.NaN,
      rotation: meanRotation(r.rows),
    };
  });
}

/** Mean of `f` over the points of each multiple (sorted by multiple). */
function byMultiple(ps: readonly FinalPoint[], f: (p: FinalPoint) => number): { m: number; v: number; n: number }[] {
  const ms = [...new Set(ps.map((p) => p.multiple.toPrecision(6)))].map(Number).sort((a, b) => a - b);
  return ms.map((m) => {
    const xs = ps.filter((p) => p.multiple.toPrecision(6) === m.toPrecision(6)).map(f).filter((v) => Number.isFinite(v));
    return { m, v: mean(xs), n: xs.length };
  });
}

export function evaluateFlatness(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = ctx.tolerances;
  const lo = tol(t, 'ratio_lo');
  const hi = tol(t, 'ratio_hi');
  const spMin = tol(t, 'spearman_min');
  const gain = tol(t, 'acc_gain_min');
  const corrMin = tol(t, 'corr_min');
  const ps = finalPoints(runs);
  const trained = ps.filter((p) => p.status === 'trained');
  const out: ClaimResult[] = [];
  const statusLine = byMultiple(ps, () => 0).map(({ m }) => {
    const here = ps.filter((p) => p.multiple.toPrecision(6) === m.toPrecision(6));
    const counts = ['trained', 'not trained', 'diverged', 'failed'].map((s) => [s, here.filter((p) => p.status === s).length] as const).filter(([, n]) => n > 0);
    return `${fmt(m)}×: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}`;
  }).join('; ');

  // 1. Past the divergence point.
  {
    const div = ps.filter((p) => p.status === 'diverged').map((p) => p.multiple);
    out.push({
      claim: 'The sweep reaches past the divergence point',
      evidence: `${statusLine}${div.length > 0 ? `; smallest diverging multiple ${fmt(Math.min(...div))}×2/λ0` : ''}`,
      verdict: div.length > 0 ? 'held' : 'inconclusive',
      values: { smallest_diverging_multiple: div.length > 0 ? Math.min(...div) : null },
    });
  }
  // 2. Final sharpness ≈ 2/η past the threshold.
  const past = trained.filter((p) => p.multiple > 1 && Number.isFinite(p.sharpness));
  {
    const claim = 'Past 2/λ0 the final sharpness tracks 2/η (final λ1·η/2 ≈ 1)';
    if (past.length === 0) out.push({ claim, evidence: 'no trained run past 2/λ0', verdict: 'inconclusive' });
    else {
      const ratios = past.map((p) => (p.sharpness * p.lr) / 2);
      const m = median(ratios);
      out.push({
        claim,
        evidence: `median final λ1/(2/η) ${fmt(m)} over ${past.length} runs (tolerance [${lo}, ${hi}]); per multiple: ${byMultiple(past, (p) => (p.sharpness * p.lr) / 2).map((x) => `${fmt(x.m)}×: ${fmt(x.v)}`).join(', ')}`,
        verdict: m >= lo && m <= hi ? 'held' : 'did not hold',
        values: { median_ratio: m },
      });
    }
  }
  // 3. Flatter for larger η.
  {
    const claim = 'Flatter for larger η: the final sharpness falls with η';
    const pts = trained.filter((p) => Number.isFinite(p.sharpness));
    const distinct = new Set(pts.map((p) => p.multiple.toPrecision(6))).size;
    if (distinct < 3) out.push({ claim, evidence: `${distinct} trained learning rates (need 3)`, verdict: 'inconclusive' });
    else {
      const rs = spearman(pts.map((p) => p.multiple), pts.map((p) => p.sharpness));
      const withTrace = pts.filter((p) => Number.isFinite(p.trace));
      const rt = withTrace.length >= 3 ? spearman(withTrace.map((p) => p.multiple), withTrace.map((p) => p.trace)) : Number.NaN;
      out.push({
        claim,
        evidence: `Spearman(η, final λ1) = ${fmt(rs)} over ${pts.length} trained runs (need ≤ −${spMin}); Spearman(η, trace) = ${fmt(rt)}; mean per multiple — λ1: ${byMultiple(pts, (p) => p.sharpness).map((x) => `${fmt(x.m)}×: ${fmt(x.v)}`).join(', ')}; |λmin|: ${byMultiple(pts, (p) => Math.abs(p.lambdaMin)).map((x) => `${fmt(x.m)}×: ${fmt(x.v)}`).join(', ')}; trace: ${byMultiple(pts, (p) => p.trace).map((x) => `${fmt(x.m)}×: ${fmt(x.v)}`).join(', ')}`,
        verdict: Number.isFinite(rs) ? (rs <= -spMin ? 'held' : 'did not hold') : 'inconclusive',
        values: { spearman_lr_sharpness: rs, spearman_lr_trace: rt },
      });
    }
  }
  // 4. Test accuracy against η.
  {
    const claim = 'Test accuracy improves past 2/λ0, then falls or diverges at larger η';
    const acc = byMultiple(ps, (p) => (p.status === 'trained' ? p.testAcc : Number.NaN)).filter((x) => x.n > 0 && Number.isFinite(x.v));
    const belowBest = acc.filter((x) => x.m < 1);
    if (acc.length < 2 || belowBest.length === 0) out.push({ claim, evidence: `trained learning rates: ${acc.map((x) => `${fmt(x.m)}×`).join(', ') || 'none'} (need one below 2/λ0 and more past it)`, verdict: 'inconclusive' });
    else {
      const best = acc.reduce((a, b) => (b.v > a.v ? b : a));
      const refBelow = belowBest.reduce((a, b) => (b.v > a.v ? b : a));
      const larger = byMultiple(ps, () => 0).map((x) => x.m).filter((m) => m > best.m);
      const fallsOrDiverges = larger.some((m) => {
        const here = ps.filter((p) => p.multiple.toPrecision(6) === m.toPrecision(6));
        const a = acc.find((x) => x.m.toPrecision(6) === m.toPrecision(6));
        return here.some((p) => p.status === 'diverged') || (a !== undefined && a.v <= best.v - gain);
      });
      const improves = best.m > 1 && best.v - refBelow.v >= gain;
      out.push({
        claim,
        evidence: `mean test accuracy per multiple: ${acc.map((x) => `${fmt(x.m)}×: ${fmt(100 * x.v)} %`).join(', ')}; best at ${fmt(best.m)}× (${fmt(100 * (best.v - refBelow.v))} points over the best below 2/λ0, need ≥ ${fmt(100 * gain)}); larger η ${larger.length === 0 ? 'not in the sweep' : fallsOrDiverges ? 'falls or diverges' : 'does not fall'}`,
        verdict: larger.length === 0 && improves ? 'inconclusive' : improves && fallsOrDiverges ? 'held' : 'did not hold',
        values: { best_multiple: best.m, best_acc: best.v, best_below_acc: refBelow.v },
      });
    }
  }
  // 5. Rank correlations.
  {
    const claim = 'Test accuracy is rank-correlated negatively with final sharpness and positively with mean rotation';
    const pts = trained.filter((p) => Number.isFinite(p.testAcc) && Number.isFinite(p.sharpness) && Number.isFinite(p.rotation));
    if (pts.length < 4) out.push({ claim, evidence: `${pts.length} trained runs with all measures (need 4)`, verdict: 'inconclusive' });
    else {
      const rs = spearman(pts.map((p) => p.testAcc), pts.map((p) => p.sharpness));
      const rr = spearman(pts.map((p) => p.testAcc), pts.map((p) => p.rotation));
      out.push({
        claim,
        evidence: `over ${pts.length} trained runs: Spearman(test acc, final λ1) = ${fmt(rs)} (need ≤ −${corrMin}), Spearman(test acc, mean 1 − ρ) = ${fmt(rr)} (need ≥ ${corrMin})`,
        verdict: Number.isFinite(rs) && Number.isFinite(rr) ? (rs <= -corrMin && rr >= corrMin ? 'held' : 'did not hold') : 'inconclusive',
        values: { spearman_acc_sharpness: rs, spearman_acc_rotation: rr },
      });
    }
  }
  return out;
}

/** Final λ1, |λmin|, trace and test accuracy against η/(2/λ0), one point per trained run. */
export function flatnessFigures(runs: StudyRun[]): StudyFigure[] {
  const ps = finalPoints(runs).filter((p) => p.status === 'trained');
  const fig = (id: string, title: string, yTitle: string, f: (p: FinalPoint) => number, logY = false, ref?: boolean): StudyFigure | null => {
    const seeds = [...new Set(ps.map((p) => p.seed))].sort((a, b) => a - b);
    const series = seeds.map((s, i) => ({ label: `seed ${s}`, field: `s${i}`, points: ps.filter((p) => p.seed === s).sort((a, b) => a.multiple - b.multiple).map((p) => ({ x: p.multiple, y: f(p) })), color: PALETTE[i % PALETTE.length]!, showPoints: true }));
    if (ref) {
      const ms = [...new Set(ps.map((p) => p.multiple))].sort((a, b) => a - b);
      const l0 = mean(ps.map((p) => multipleOf(p.run).lambda0));
      series.push({ label: '2/η', field: 'thr', points: ms.map((m) => ({ x: m, y: l0 / m })), color: THRESHOLD_COLOR, showPoints: false, dash: DASH } as never);
    }
    const spec = lineChart({ title, xTitle: 'η / (2/λ0)', xField: 'multiple', yTitle, series, logX: true, logY, legend: true });
    return spec === null ? null : { id, title, caption: `${title} of every run trained to the target accuracy, against its learning rate in units of 2/λ0.`, spec };
  };
  return present([
    fig('final-sharpness', 'Final sharpness λ1', 'λ1', (p) => p.sharpness, true, true),
    fig('final-lambda-min', 'Final |λmin|', '|λmin|', (p) => Math.abs(p.lambdaMin), true),
    fig('final-trace', 'Final Hessian trace', 'trace', (p) => p.trace, true),
    fig('test-acc', 'Test accuracy', 'test accuracy', (p) => p.testAcc),
    fig('rotation', 'Mean rotation 1 − ρ', 'mean 1 − ρ', (p) => p.rotation),
  ]);
}

export const flatnessLr: StudyDefinition = {
  name: 'flatness-lr',
  async execute(ctx) {
    const runs = await runMultiples(ctx);
    await finalCurvatures(ctx, runs);
    return runs;
  },
  evaluate: evaluateFlatness,
  figures: (runs) => flatnessFigures(runs),
};
