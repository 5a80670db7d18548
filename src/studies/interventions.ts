/**
 * Study `interventions` (Gilmer et al. 2022): the same base model with each remedy for training
 * instability — none, warmup (100 and 1000 updates), gradient clipping (global norm), BatchNorm,
 * LayerNorm, Fixup, MetaInit, GradInit, init scale × 0.5 — each seed's own largest stable η (one
 * max-stable-lr search per remedy and seed) and the test accuracy there, and the early
 * λ1/threshold of one run per remedy at a common η chosen from the measured η_max. "Raises η_max"
 * is judged on the per-seed η_max paired by seed (pairedMaxLr); "warmup is about as effective"
 * compares the warmup with the larger η_max with the best other remedy. A remedy a model cannot
 * take (LayerNorm is for the MLP, Fixup for the residual net) is listed as n/a. Runs and the table
 * are made by `executeMaxLrStudy` (warmup.ts). Follow-up curve runs (followUp.ts, kind
 * 'follow-up') judge an early-curvature comparison the curve seeds left undecided on their own
 * fresh seeds at their level; they enter no other claim.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyRun } from './study.ts';
import { logMedian } from '../experiments/maxLr.ts';
import { judgePaired } from './stats.ts';
import { seedsText } from './followUp.ts';
import { INTERVENTIONS_TOLERANCES, tolerancesOf } from './tolerances.ts';
import {
  allOf,
  asItem,
  curveLrText,
  executeMaxLrStudy,
  f3 as g,
  judgeNotBelow,
  lowerCurvature,
  lowerRule,
  windowRuleOf,
  maxLrEvidence,
  maxLrStudyFigures,
  pairedMaxLr,
  pairSeeds,
  raiseRule,
  resolutionText,
  searchResolution,
  seedLogRatios,
  targetText,
  type CellSummary,
} from './warmup.ts';

/** The cell with the largest η_max (median over seeds) among `cs`, or undefined. */
const strongest = (cs: readonly CellSummary[]): CellSummary | undefined =>
  cs.filter((c) => c.maxStableLr !== null).sort((a, b) => b.maxStableLr! - a.maxStableLr!)[0];

/**
 * A BatchNorm cell as judged on its effective learning rate: each seed's η_max over the growth of
 * its normalized weights' squared norm in that run (CellSummary.seedEffectiveLr), the median over
 * seeds in log η; any other cell unchanged. The seeds' brackets (which say whether an η_max is
 * only a lower bound) stay the searches'.
 */
export function onEffectiveLr(c: CellSummary): CellSummary {
  const eff = c.seedEffectiveLr;
  if (!eff) return c;
  return { ...c, seedMaxStableLr: eff, maxStableLr: logMedian(Object.values(eff)) };
}

/** Test accuracy in points, remedy − none, each seed at its own η_max (seeds with both). */
export function seedAccGains(r: CellSummary, base: CellSummary): { d: number[]; seeds: number[] } {
  const pairs = pairSeeds(r.seedTestAcc ?? {}, base.seedTestAcc ?? {});
  return { d: pairs.map((p) => 100 * (p.x - p.y)), seeds: pairs.map((p) => p.seed) };
}

/** The interventions claims: a pure function of the loaded runs. */
export function evaluateInterventions(
  loaded: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const { plan, runs, cells, window, curves, followUp } = maxLrEvidence(loaded, ctx);
  const t = tolerancesOf(INTERVENTIONS_TOLERANCES, ctx.tolerances);
  const gain = t.min_lr_gain ?? 1;
  const drop = t.early_ratio_drop ?? 0;
  const asEffective = t.as_effective_factor ?? 2;
  const accGain = 100 * (t.acc_gain_min ?? 0.005);
  const better: Array<boolean | null> = [];
  const betterEv: string[] = [];
  const raised: Array<boolean | null> = [];
  const raisedEv: string[] = [];
  const resolution: string[] = [];
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
    resolution.push(`${model}, ${resolutionText(none)}`);
    const rs: string[] = [];
    const ls: string[] = [];
    const as: string[] = [];
    for (const r of mine.filter((c) => c.variant !== 'none')) {
      resolution.push(`${model}, ${resolutionText(r)}`);
      // BatchNorm is judged on its effective η (the raw η it tolerates is mostly norm growth).
      const judged = onEffectiveLr(r);
      const paired = pairedMaxLr(judged, none, gain);
      const verdict = paired?.verdict ?? 'inconclusive';
      raised.push(asItem(verdict));
      const effective =
        judged === r
          ? ''
          : `: raw η_max ${g(r.maxStableLr)}, effective ${g(judged.maxStableLr)} (η_max over the growth of the normalized weights' squared norm in that run), judged on the effective`;
      rs.push(
        `${r.variant} ${g(judged.maxStableLr)}${effective} (per seed log2 η_max ratio ${paired ? paired.text : 'n/a'} → ${verdict})`,
      );
      if (judged !== r) values[`${model}.${r.variant}.effective_max_lr`] = judged.maxStableLr;
      values[`${model}.${r.variant}.lr_gain_log2_seed_mean`] = paired?.cmp.mean ?? null;
      values[`${model}.${r.variant}.lr_gain_p`] = paired?.cmp.pValue ?? null;
      values[`${model}.${r.variant}.max_lr`] = r.maxStableLr;
      values[`${model}.${r.variant}.test_acc`] = r.testAcc;
      values[`${model}.${r.variant}.raised`] = verdict;
      const cv = curves.get(r.cell);
      if (verdict === 'held') {
        // What the larger η buys: test accuracy at each seed's own η_max, paired by seed with none's.
        const { d } = seedAccGains(r, none);
        const acc = d.length > 0 ? judgePaired(d, 'positive', g, { minEffect: accGain, margin: accGain }) : null;
        better.push(asItem(acc?.verdict));
        as.push(
          `${r.variant} ${acc ? `${acc.text} → ${acc.verdict}` : 'n/a (no seed with a test accuracy on both sides) → inconclusive'}`,
        );
        values[`${model}.${r.variant}.test_acc_gain_points`] = acc?.cmp.mean ?? null;
        values[`${model}.${r.variant}.test_acc_gain_p`] = acc?.cmp.pValue ?? null;
        // Remedies that raise η_max should do it by lowering the early curvature (relative to the
        // threshold), compared at the full η only (inside a warmup the threshold is at a tiny η_t;
        // no warmup: the first `window` steps): curves.align places each run's window.
        const rule = windowRuleOf(plan.curves);
        const low = lowerCurvature(runs, none.cell, r.cell, window, drop, rule);
        // Undecided on the study's curve seeds: judged on the follow-up's fresh seeds alone, at its level.
        const fu =
          low?.judged.verdict === 'inconclusive' && followUp
            ? {
                alpha: followUp.alpha,
                seeds: followUp.runs.map((x) => x.config.train.seed),
                low: lowerCurvature(followUp.runs, none.cell, r.cell, window, drop, rule, followUp.alpha),
              }
            : null;
        const fuLow = fu?.low ?? null;
        lowered.push(fuLow ? asItem(fuLow.judged.verdict) : low ? asItem(low.judged.verdict) : null);
        ls.push(
          `${r.variant}: ${low ? low.text : 'no curve runs → inconclusive'}${fu?.low ? `; follow-up on fresh ${seedsText(fu.seeds)} at α = ${fu.alpha} (held / did not hold at p < ${fu.alpha}): ${fu.low.text}` : ''}`,
        );
        if (fuLow) {
          values[`${model}.${r.variant}.follow_up_max_ratio_compared`] = fuLow.cellMedian;
          values[`${model}.${r.variant}.follow_up_max_ratio_compared_p`] = fuLow.judged.p;
        }
        values[`${model}.${r.variant}.max_early_ratio`] = cv?.maxRatio ?? null;
        values[`${model}.${r.variant}.max_ratio_compared`] = low?.cellMedian ?? null;
        values[`${model}.${r.variant}.max_ratio_compared_p`] = low?.judged.p ?? null;
      }
    }
    betterEv.push(
      `${model}: none ${g(none.testAcc === null ? null : 100 * none.testAcc)} % (mean over seeds at their own η_max); remedy − none in points: ${as.length > 0 ? as.join(', ') : 'no remedy raised η_max'}`,
    );
    raisedEv.push(`${model}: none ${g(none.maxStableLr)} (next unstable ${g(none.upper)}); ${rs.join(', ')}`);
    loweredEv.push(
      `${model}, ${curveLrText(runs, none.cell) ?? 'no curve run'}: none ${g(cvNone?.maxRatio)} over its first ${window} steps (median over seeds); ${ls.length > 0 ? ls.join('; ') : 'no remedy raised η_max'}`,
    );
    // The strongest warmup (largest η_max) against the strongest other remedy, paired by seed.
    const w = strongest(mine.filter((c) => /^warmup/.test(c.variant)));
    const best = strongest(mine.filter((c) => c.variant !== 'none' && !/^warmup/.test(c.variant)).map(onEffectiveLr));
    if (w && best) {
      const { d } = seedLogRatios(w, best);
      const j = d.length > 0 ? judgeNotBelow(d, Math.log2(asEffective)) : null;
      warm.push(asItem(j?.verdict));
      warmEv.push(
        `${model}: ${w.variant} (the warmup with the largest η_max) ${g(w.maxStableLr)} vs the best other remedy, ${best.variant}, ${g(best.maxStableLr)}; per seed log2 η_max ratio ${j ? `${j.text} → ${j.verdict}` : 'n/a → inconclusive'}`,
      );
      values[`${model}.warmup_variant`] = w.variant;
      values[`${model}.warmup_over_best`] = w.maxStableLr! / best.maxStableLr!;
    } else {
      warm.push(null);
      warmEv.push(`${model}: no warmup variant or no other stable remedy`);
    }
  }
  return [
    {
      claim:
        'Every remedy (warmup, clipping, BatchNorm, LayerNorm, Fixup, MetaInit, GradInit, smaller init) raises the largest stable learning rate.',
      evidence: `${raisedEv.join('; ')}. Stable: ${targetText(plan.maxLr)}. ${raiseRule(gain)} BatchNorm's weights before a norm are scale-invariant, so a step η turns them by about η/‖W‖² and growing norms shrink the step that matters: it is judged on its effective η_max, η_max × ‖W_0‖²/‖W_T‖² (geometric mean over its normalized weights, first and last checkpoint of the seed's η_max run). Resolution (each seed's bracket, next unstable η / η_max; the search aims at ${g(searchResolution(plan.maxLr))}×): ${resolution.join('; ')}. Table: max-lr.md.`,
      verdict: allOf(raised),
      values,
    },
    {
      claim:
        'The remedies that raise the largest stable learning rate do so by lowering the early curvature: max early λ1/threshold at a common η.',
      evidence: `${loweredEv.join('; ')}. ${lowerRule(window, drop, 'remedy', windowRuleOf(plan.curves))} The window starts at step 0 when neither run has a warmup; the common η is at or below every compared remedy's per-seed η_max.`,
      verdict: allOf(lowered),
    },
    {
      claim: 'Warmup alone is about as effective as the best of the other remedies.',
      evidence: `${warmEv.join('; ')}. BatchNorm enters with its effective η_max. About as effective (held) = the one-sided t test shows the geometric-mean η_max ratio (warmup / best other, paired by seed) above 1/${asEffective} at p < 0.05; did not hold when the exact sign-flip test shows it below 1/${asEffective}; else inconclusive.`,
      verdict: allOf(warm),
    },
    {
      claim:
        'A remedy that raises the largest stable learning rate also reaches a higher test accuracy: each seed at its own η_max, remedy against none.',
      evidence: `${betterEv.join('; ')}. Per remedy that raised η_max (the first claim), paired by seed: held when the exact sign-flip test gives p < 0.05 and the mean gain is ≥ ${g(accGain)} points; did not hold when p < 0.05 the other way or the TOST test shows the difference within ±${g(accGain)} points; else inconclusive; held overall when every such remedy is held. Test accuracy on the held-out set at the run's last step.`,
      verdict: allOf(better),
    },
  ];
}

export const interventionsStudy: StudyDefinition = {
  name: 'interventions',
  execute: executeMaxLrStudy,
  evaluate: evaluateInterventions,
  figures: maxLrStudyFigures,
};
/** The same claims on the unnormalized ResNet (studies/interventions-resnet.yaml): ~7× the tanh MLP's compute. */
export const interventionsResnetStudy: StudyDefinition = { ...interventionsStudy, name: 'interventions-resnet' };
export default interventionsStudy;
