/**
 * Study `interventions` (Gilmer et al. 2022): the same base model with each remedy for training
 * instability — none, warmup, gradient clipping (global norm), BatchNorm, LayerNorm, Fixup,
 * MetaInit, GradInit, init scale × 0.5 — the largest stable η and the test accuracy there (a
 * max-stable-lr search per remedy, several seeds), and the early λ1/threshold of one run per
 * remedy at a common η. A remedy a model cannot take (LayerNorm is for the MLP, Fixup for the
 * residual net) is listed as n/a. Runs and the table are made by `executeMaxLrStudy` (warmup.ts).
 */
import { lowerAfterWarmup } from './claims/warmup.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyRun } from './study.ts';
import { INTERVENTIONS_TOLERANCES, tolerancesOf } from './tolerances.ts';
import {
  allOf,
  compareMaxLr,
  curvesAfterWarmup,
  executeMaxLrStudy,
  f3 as g,
  maxLrEvidence,
  maxLrStudyFigures,
  pairedMaxLr,
  targetText,
} from './warmup.ts';

/** The interventions claims: a pure function of the loaded runs. */
export function evaluateInterventions(
  runs: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const { plan, cells, window, curves } = maxLrEvidence(runs, ctx);
  const t = tolerancesOf(INTERVENTIONS_TOLERANCES, ctx.tolerances);
  const gain = t.min_lr_gain ?? 1;
  const drop = t.early_ratio_drop ?? 0;
  const asEffective = t.as_effective_factor ?? 2;
  const raised: Array<boolean | null> = [];
  const raisedEv: string[] = [];
  const lowered: Array<boolean | null> = [];
  const loweredEv: string[] = [];
  const warm: Array<boolean | null> = [];
  const warmEv: string[] = [];
  const values: Record<string, number | string | boolean | null> = {};
  for (const model of plan.models) {
    const mine = cells.filter((c) => c.model === model && c.error === null);
    const none = mine.find((c) => c.variant === 'none');
    if (!none) throw new Error(`studies/${ctx.file.name}.yaml: the variants must include 'none'`);
    const cvNone = curves.get(none.cell);
    values[`${model}.none.max_lr`] = none.maxStableLr;
    const rs: string[] = [];
    const ls: string[] = [];
    for (const r of mine.filter((c) => c.variant !== 'none')) {
      const cmp = compareMaxLr(r, none, gain);
      raised.push(cmp === 'raised' ? true : cmp === 'not raised' ? false : null);
      const paired = pairedMaxLr(r, none, gain);
      rs.push(`${r.variant} ${g(r.maxStableLr)} (${cmp}${paired ? `; per seed log2 η_max ratio ${paired.text}` : ''})`);
      values[`${model}.${r.variant}.lr_gain_p`] = paired?.cmp.pValue ?? null;
      values[`${model}.${r.variant}.max_lr`] = r.maxStableLr;
      values[`${model}.${r.variant}.test_acc`] = r.testAcc;
      values[`${model}.${r.variant}.raised`] = cmp;
      const cv = curves.get(r.cell);
      if (cmp === 'raised') {
        // Remedies that raise η_max should do it by lowering the early curvature (relative to the
        // threshold), compared over the same window after the longer warmup of the two (inside a
        // warmup the threshold is at a tiny η_t; no warmup: the first `window` steps).
        const pair = curvesAfterWarmup(runs, none.cell, r.cell, window);
        const low = pair ? lowerAfterWarmup(pair[1], pair[0], drop) : null;
        lowered.push(low);
        ls.push(
          `${r.variant} ${g(pair?.[1].maxRatio)} vs none ${g(pair?.[0].maxRatio)} over steps ${pair ? `${pair[0].from}–${pair[0].to}` : 'n/a'}${low === false ? ' (not lower)' : ''}`,
        );
        values[`${model}.${r.variant}.max_early_ratio`] = cv?.maxRatio ?? null;
        values[`${model}.${r.variant}.max_ratio_compared`] = pair?.[1].maxRatio ?? null;
      }
    }
    raisedEv.push(`${model}: none ${g(none.maxStableLr)} (next unstable ${g(none.upper)}); ${rs.join(', ')}`);
    loweredEv.push(
      `${model}, η = ${g(cvNone?.lr)}: none ${g(cvNone?.maxRatio)}${cvNone?.status === 'diverged' ? ' (diverged)' : ''}; ${ls.length > 0 ? ls.join(', ') : 'no remedy raised η_max'}`,
    );
    const w = mine.find((c) => /^warmup/.test(c.variant));
    const others = mine.filter((c) => c.variant !== 'none' && !/^warmup/.test(c.variant) && c.maxStableLr !== null);
    const best = others.sort((a, b) => b.maxStableLr! - a.maxStableLr!)[0];
    if (w && best) {
      const ok = w.maxStableLr !== null && w.maxStableLr * asEffective >= best.maxStableLr!;
      warm.push(ok);
      warmEv.push(
        `${model}: ${w.variant} ${g(w.maxStableLr)} vs the best other remedy, ${best.variant}, ${g(best.maxStableLr)}`,
      );
      values[`${model}.warmup_over_best`] = w.maxStableLr === null ? null : w.maxStableLr / best.maxStableLr!;
    } else {
      warm.push(null);
      warmEv.push(`${model}: no warmup variant or no other stable remedy`);
    }
  }
  return [
    {
      claim:
        'Every remedy (warmup, clipping, BatchNorm, LayerNorm, Fixup, MetaInit, GradInit, smaller init) raises the largest stable learning rate.',
      evidence: `${raisedEv.join('; ')}. Raised = ≥ ${gain} × none's and above none's next unstable η; stable: ${targetText(plan.maxLr)}; the verdict follows that seed rule, the per-seed paired test (each seed's own η_max among the η tried) is reported beside it. Table: max-lr.md.`,
      verdict: allOf(raised),
      values,
    },
    {
      claim:
        'The remedies that raise the largest stable learning rate do so by lowering the early curvature: max early λ1/threshold at a common η.',
      evidence: `${loweredEv.join('; ')}. Max λ1/threshold over ${window} steps from the end of the longer warmup of the two runs compared (from step 0 without warmup), where both train at the same η. Lower = below ${1 - drop} × none's.`,
      verdict: allOf(lowered),
    },
    {
      claim: 'Warmup alone is about as effective as the best of the other remedies.',
      evidence: `${warmEv.join('; ')}. About as effective = within a factor ${asEffective}.`,
      verdict: allOf(warm),
    },
  ];
}

export const interventionsStudy: StudyDefinition = {
  name: 'interventions',
  execute: executeMaxLrStudy,
  evaluate: evaluateInterventions,
  figures: maxLrStudyFigures,
};
export default interventionsStudy;
