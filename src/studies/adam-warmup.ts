/**
 * Study `adam-warmup` (Gilmer et al. 2022; Xiong et al. 2020, "On Layer Normalization in the
 * Transformer Architecture"): a tiny pre-LN and post-LN Transformer (model.arch transformer)
 * trained with full-batch Adam on character-level text shipped in the repository (data.name
 * text-sonnets). Post-LN has the larger early preconditioned sharpness λ1(P⁻¹H) (relative to
 * Adam's threshold (2+2β1)/((1−β1)η)) and needs warmup to train at large η; pre-LN does not.
 *
 * A max-lr study like `warmup` (models = the LN placements, grid.variant = none and a warmup):
 * the runs are ordinary `edgewise train` runs made by executeMaxLrStudy (the max-lr experiment
 * plus the common-η curve runs); the claims are a pure function of the loaded runs.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyRun } from './study.ts';
import { ADAM_WARMUP_TOLERANCES, tolerancesOf } from './tolerances.ts';
import {
  allOf,
  earlyRatioFigure,
  executeMaxLrStudy,
  f3 as g,
  maxLrEvidence,
  maxLrPlan,
  maxLrStudyFigures,
  pairedMaxLr,
  type CellSummary,
} from './warmup.ts';

/** The adam-warmup claims from the loaded runs (cells `pre-ln_*` and `post-ln_*`). */
export function evaluateAdamWarmup(
  runs: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const { plan, cells, window, curves } = maxLrEvidence(runs, ctx, 40);
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
  const pre0 = cell('pre-ln', base);
  const preW = cell('pre-ln', warm);
  const post0 = cell('post-ln', base);
  const postW = cell('post-ln', warm);
  const ePre = curves.get(pre0.cell);
  const ePost = curves.get(post0.cell);
  const values = {
    pre_none_max_lr: pre0.maxStableLr,
    pre_warmup_max_lr: preW.maxStableLr,
    post_none_max_lr: post0.maxStableLr,
    post_warmup_max_lr: postW.maxStableLr,
    pre_none_max_trained_lr: pre0.maxTrainedLr,
    post_none_max_trained_lr: post0.maxTrainedLr,
    pre_early_precond_ratio: ePre?.maxRatio ?? null,
    post_early_precond_ratio: ePost?.maxRatio ?? null,
  };
  const ratioOk =
    ePre?.maxRatio != null && ePost?.maxRatio != null ? ePost.maxRatio > (1 + margin) * ePre.maxRatio : null;
  // Raised: ≥ gain × and at or above the next η that diverged without warmup; a side with no η_max is decided by the other.
  const raised = (w: CellSummary, b: CellSummary): boolean | null => {
    if (w.maxStableLr === null || b.maxStableLr === null)
      return w.maxStableLr === null && b.maxStableLr === null ? null : b.maxStableLr === null;
    return w.maxStableLr >= gain * b.maxStableLr && (b.upper === null || w.maxStableLr >= b.upper);
  };
  const postNeeds = raised(postW, post0);
  const preNeeds = raised(preW, pre0);
  // Beside the seed rule: each seed's own η_max, warmup over none, paired by seed (log2 ratios).
  const postPaired = pairedMaxLr(postW, post0, gain);
  const prePaired = pairedMaxLr(preW, pre0, gain, { equivalence: true });
  const pairedNote = (j: typeof postPaired) =>
    j ? ` Per seed, log2 of the η_max ratio (${warm} / ${base}): ${j.text}.` : '';
  const status = (s: string | undefined) => (s === 'diverged' ? ' (diverged)' : '');
  const m = plan.maxLr;
  const steps = runs.find((r) => r.params.kind === 'trial')?.config.train.steps;
  return [
    {
      claim:
        "Post-LN has the larger early preconditioned sharpness λ1(P⁻¹H), relative to Adam's threshold (2+2β1)/((1−β1)η).",
      evidence: `At η = ${g(ePost?.lr)} without warmup, max over the first ${window} steps of λ1(P⁻¹H)/threshold: post-LN ${g(ePost?.maxRatio)}${status(ePost?.status)}, pre-LN ${g(ePre?.maxRatio)}${status(ePre?.status)}. Held when post > ${1 + margin} × pre.`,
      verdict: allOf([ratioOk]),
      values,
    },
    {
      claim: 'Post-LN needs warmup: warmup raises its largest learning rate that does not diverge.',
      evidence: `post-LN η_max ${g(post0.maxStableLr)} (${base}, next diverged ${g(post0.upper)}) vs ${g(postW.maxStableLr)} (${warm}). Raised = ≥ ${gain} × and above the next diverged η. η_max: no divergence within ${steps ?? '—'} steps; largest η reaching train loss ≤ ${m.stop_train_loss} after warmup: ${g(post0.maxTrainedLr)} (${base}), ${g(postW.maxTrainedLr)} (${warm}).${pairedNote(postPaired)}`,
      verdict: allOf([postNeeds]),
      values,
    },
    {
      claim:
        'Pre-LN does not need warmup: its largest learning rate that does not diverge is about the same without warmup as with it.',
      evidence: `pre-LN η_max ${g(pre0.maxStableLr)} (${base}) vs ${g(preW.maxStableLr)} (${warm}); post-LN without warmup ${g(post0.maxStableLr)}. Held when warmup does not raise pre-LN's by ${gain} ×.${pairedNote(prePaired)}`,
      verdict: preNeeds === null ? 'inconclusive' : preNeeds ? 'did not hold' : 'held',
      values,
    },
  ];
}

export const adamWarmupStudy: StudyDefinition = {
  name: 'adam-warmup',
  execute: executeMaxLrStudy,
  evaluate: evaluateAdamWarmup,
  figures: (runs, ctx) =>
    [
      ...maxLrStudyFigures(runs, ctx).filter((f) => f.id !== 'early-ratio'),
      earlyRatioFigure(runs, maxLrPlan(ctx).curves?.early_steps ?? 40, {
        title: "Early preconditioned sharpness relative to Adam's threshold",
      }),
    ].filter((f) => f !== null),
};
export default adamWarmupStudy;
