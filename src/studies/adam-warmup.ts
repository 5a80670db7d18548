/**
 * Study `adam-warmup` (Gilmer et al. 2022; Xiong et al. 2020, "On Layer Normalization in the
 * Transformer Architecture"): a tiny pre-LN and post-LN Transformer (model.arch transformer)
 * trained with full-batch Adam on character-level text shipped in the repository (data.name
 * text-sonnets). Post-LN has the larger early preconditioned sharpness λ1(P⁻¹H) (relative to
 * Adam's threshold (2+2β1)/((1−β1)η)) and needs warmup to train at large η; pre-LN does not.
 *
 * A max-lr study like `warmup` (models = the LN placements, grid.variant = none and a warmup):
 * the runs are ordinary `edgewise train` runs made by executeMaxLrStudy (one max-lr search per
 * cell and seed, then the curve runs at one common η for both placements, chosen from the measured
 * η_max); the claims are a pure function of the loaded runs. Both η_max claims pair each seed's own
 * η_max with and without warmup (log2 ratios): "post-LN needs warmup" by pairedMaxLr; "pre-LN does
 * not" holds when warmup's gain is shown below `no_need_margin` (one-sided t test, the upper half
 * of TOST: as good or better without warmup) and fails when it is shown above it.
 */
import { equivalence } from './stats.ts';
import { followUpHead } from './followUp.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyRun } from './study.ts';
import { ADAM_WARMUP_TOLERANCES, tolerancesOf } from './tolerances.ts';
import {
  curveLrText,
  curveRunsOf,
  executeMaxLrStudy,
  f3 as g,
  failedCurves,
  judgeCurvePairs,
  judgeNotBelow,
  maxLrEvidence,
  maxLrStudyFigures,
  pairedMaxLr,
  raiseRule,
  resolutionText,
  runCurveStats,
  searchResolution,
  seedLogRatios,
  targetText,
  type CellSummary,
  type CurveStats,
} from './warmup.ts';

/** The adam-warmup claims from the loaded runs (cells `pre-ln_*` and `post-ln_*`). */
export function evaluateAdamWarmup(
  loaded: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const { plan, runs, cells, window, curves, followUp } = maxLrEvidence(loaded, ctx, 40);
  const t = tolerancesOf(ADAM_WARMUP_TOLERANCES, ctx.tolerances);
  const base = plan.variants.find((v) => v === 'none');
  const warm = plan.variants.find((v) => /^warmup/.test(v));
  if (!base || !warm) throw new Error(`studies/${ctx.file.name}.yaml: grid.variant needs none and a warmup-N`);
  const cell = (model: string, variant: string): CellSummary => {
    const c = cells.find((x) => x.model === model && x.variant === variant);
    if (!c)
      throw new Error(`studies/${ctx.file.name}.yaml: models need pre-ln and post-ln (no cell ${model}_${variant})`);
    return c;
  };
  const gain = t.min_lr_gain ?? 1.5;
  const margin = t.early_ratio_margin ?? 0;
  const noNeed = t.no_need_margin ?? 1.3;
  const pre0 = cell('pre-ln', base);
  const preW = cell('pre-ln', warm);
  const post0 = cell('post-ln', base);
  const postW = cell('post-ln', warm);
  const ePre = curves.get(pre0.cell);
  const ePost = curves.get(post0.cell);
  // Each seed's own η_max, warmup over none, paired by seed (log2 ratios).
  const postPaired = pairedMaxLr(postW, post0, gain);
  const { d: preD } = seedLogRatios(preW, pre0);
  const preJ = preD.length > 0 ? judgeNotBelow(preD, Math.log2(noNeed), -1) : null;
  const preEq = preD.length >= 2 ? equivalence(preD, Math.log2(noNeed)) : null;
  // Early λ1(P⁻¹H)/threshold, post-LN over pre-LN, paired by seed (each run's max over the first window steps).
  const earlyOf = (rs: readonly StudyRun[], alpha?: number) => {
    const failed = failedCurves(rs, [pre0.cell, post0.cell]);
    const preRuns = curveRunsOf(rs, pre0.cell);
    const judged = judgeCurvePairs(
      [...curveRunsOf(rs, post0.cell)].map(([seed, r]) => ({
        seed,
        a: runCurveStats(r, window).maxRatio,
        b: preRuns.has(seed) ? runCurveStats(preRuns.get(seed)!, window).maxRatio : null,
      })),
      1 + margin,
      failed.seeds,
      alpha,
    );
    return { failed, judged };
  };
  const { failed, judged: first } = earlyOf(runs);
  // Undecided on the study's curve seeds: judged on the follow-up's fresh seeds alone, at its level.
  const fu = first.verdict === 'inconclusive' && followUp ? earlyOf(followUp.runs, followUp.alpha) : null;
  const early = fu && fu.judged.n > 0 ? fu.judged : first;
  const fuText =
    fu && followUp
      ? ` ${followUpHead(
          followUp.runs.map((r) => r.config.train.seed),
          followUp.alpha,
        )} (held / did not hold at p < ${followUp.alpha}): post-LN over pre-LN, ${fu.judged.text}${fu.failed.text.length > 0 ? `; ${fu.failed.text.join(', ')}` : ''} → ${fu.judged.verdict}.`
      : '';
  const status = (c: CurveStats | undefined) => (c && c.diverged > 0 ? ` (${c.diverged} of ${c.runs} diverged)` : '');
  const values = {
    pre_none_max_lr: pre0.maxStableLr,
    pre_warmup_max_lr: preW.maxStableLr,
    post_none_max_lr: post0.maxStableLr,
    post_warmup_max_lr: postW.maxStableLr,
    pre_none_max_trained_lr: pre0.maxTrainedLr,
    post_none_max_trained_lr: post0.maxTrainedLr,
    pre_early_precond_ratio: ePre?.maxRatio ?? null,
    post_early_precond_ratio: ePost?.maxRatio ?? null,
    early_ratio_p: first.p,
    ...(fu ? { follow_up_early_ratio_p: fu.judged.p, follow_up_early_ratio: fu.judged.ratio } : {}),
    post_lr_gain_log2_seed_mean: postPaired?.cmp.mean ?? null,
    post_lr_gain_p: postPaired?.cmp.pValue ?? null,
    pre_lr_gain_log2_seed_mean: preJ?.mean ?? null,
    pre_no_gain_p: preJ?.p ?? null,
    pre_tost_p: preEq?.pValue ?? null,
  };
  const m = plan.maxLr;
  const steps = runs.find((r) => r.params.kind === 'trial')?.config.train.steps;
  const res = `Resolution (each seed's bracket, next unstable η / η_max; the search aims at ${g(searchResolution(m))}×): `;
  const fitted = `largest η reaching train loss ≤ ${m.stop_train_loss} after warmup (median over seeds): ${g(post0.maxTrainedLr)} (post-LN, ${base}), ${g(postW.maxTrainedLr)} (post-LN, ${warm})`;
  return [
    {
      claim:
        "Post-LN has the larger early preconditioned sharpness λ1(P⁻¹H), relative to Adam's threshold (2+2β1)/((1−β1)η).",
      evidence: `At ${curveLrText(runs, post0.cell) ?? 'no curve run'}, without warmup, max over the first ${window} steps of λ1(P⁻¹H)/threshold, medians over seeds: post-LN ${g(ePost?.maxRatio)}${status(ePost)}, pre-LN ${g(ePre?.maxRatio)}${status(ePre)}; post-LN over pre-LN, ${first.text}${failed.text.length > 0 ? `; ${failed.text.join(', ')}` : ''} → ${first.verdict}.${fuText} Held when the exact sign-flip test gives p < 0.05 with a geometric-mean ratio ≥ ${1 + margin}; did not hold when p < 0.05 the other way or the TOST test shows the ratio within ${1 + margin}^±1; else inconclusive; seeds where a run diverged or collapsed at the common η are left out.`,
      verdict: early.verdict,
      values,
    },
    {
      claim: 'Post-LN needs warmup: warmup raises its largest learning rate that does not diverge.',
      evidence: `post-LN η_max ${g(post0.maxStableLr)} (${base}) vs ${g(postW.maxStableLr)} (${warm}), medians over seeds; per seed, log2 of the η_max ratio (${warm} / ${base}): ${postPaired ? `${postPaired.text} → ${postPaired.verdict}` : 'n/a → inconclusive'}. ${raiseRule(gain)} Stable: ${targetText(m)} within ${steps ?? '—'} steps; ${fitted}. ${res}${resolutionText(post0)}; ${resolutionText(postW)}.`,
      verdict: postPaired?.verdict ?? 'inconclusive',
      values,
    },
    {
      claim:
        'Pre-LN does not need warmup (Xiong et al. 2020): warmup does not raise its largest learning rate that does not diverge.',
      evidence: `pre-LN η_max ${g(pre0.maxStableLr)} (${base}) vs ${g(preW.maxStableLr)} (${warm}), medians over seeds; post-LN without warmup ${g(post0.maxStableLr)}. Per seed, log2 of the η_max ratio (${warm} / ${base}): ${preJ ? preJ.text : 'n/a'}${preEq && Number.isFinite(preEq.pValue) ? `; two-sided TOST p = ${preEq.pValue.toFixed(3)} for a ratio within ${noNeed}^±1` : ''}. Held when the one-sided t test (the upper half of TOST) shows warmup's gain below ${noNeed}× (geometric mean over seeds) at p < 0.05 — a pre-LN net that trains as well or better without warmup does not need it; did not hold when the exact sign-flip test shows the gain above ${noNeed}× at p < 0.05; else inconclusive. ${res}${resolutionText(pre0)}; ${resolutionText(preW)}.`,
      verdict: preJ?.verdict ?? 'inconclusive',
      values,
    },
  ];
}

export const adamWarmupStudy: StudyDefinition = {
  name: 'adam-warmup',
  execute: executeMaxLrStudy,
  evaluate: evaluateAdamWarmup,
  figures: (runs, ctx) =>
    maxLrStudyFigures(runs, ctx, {
      defaultWindow: 40,
      earlyTitle: "Early preconditioned sharpness relative to Adam's threshold",
    }),
};
export default adamWarmupStudy;
