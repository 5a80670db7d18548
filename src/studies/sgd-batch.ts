/**
 * `sgd-batch`: SGD at several batch sizes B at one learning rate above the full-batch threshold,
 * η = m·2/λ0 with m > 1, the same η at every B (`sgd.lr_scaling: none`; `linear` would scale it
 * by B/N, which changes the noise and the step together), plus a control below the threshold
 * (m < 1) at every B, several seeds. Every run trains to the same whole-set train accuracy
 * (train.stop_train_acc, capped at train.steps updates), so runs are compared at the same fit
 * rather than after the same number of epochs (which gives B = 16 63× the updates of full batch).
 * Full-batch Lanczos (top 2, with rotation) at least every `sgd.measure_every` updates, rounded up
 * to whole epochs. Claims, at every batch size, paired by seed (stats.ts judgePaired: mean
 * difference, t-interval, exact sign-flip p; held at p < 0.05 with the claimed sign, did not hold
 * at p < 0.05 with the other sign or when the TOST test puts the effect within its margin):
 *   1. flattening persists under minibatch noise: the run above the threshold ends flatter than
 *      the control by λ1 after settling (settle.ts: at the edge of stability the final λ1 is pinned
 *      at 2/η, so the raw final λ1 cannot show flatness; the raw value is reported beside it):
 *      relative drop > 0 and ≥ flatter_min to hold; TOST margin flatter_min;
 *   2. rotations persist: it rotates more per unit parameter displacement (arccos ρ / ‖Δθ‖, the
 *      rotation study's measure, over measurements whose eigengap is at least gap_min; a 4× larger
 *      η moves θ further, which turns the eigenvectors by itself).
 * A claim holds when it holds at every batch size, did not hold when it fails at one; a batch
 * size with a run that diverged or did not reach the target is listed and makes it inconclusive.
 * Follow-up cells (followUp.ts) judge a batch size's rotation comparison that the study's seeds
 * left undecided on their own seeds at their level (their runs are not settled: rotation only).
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun, Verdict } from './study.ts';
import { SGD_BATCH_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { combineVerdicts, fmt, mean, meanRotation, ratioSeries, seriesOf, tol, trainingOutcome } from './measures.ts';
import { judgePaired, type PairedJudgement } from './stats.ts';
import { followUpAlpha, followUpHead, splitFollowUp, unjudgedFollowUp } from './followUp.ts';
import { multipleOf, planMultiples } from './plan.ts';
import { runStudyRuns } from './run.ts';
import { medianBandFigure, present } from './figures.ts';
import { readSettled, settleCompletedRuns } from './settle.ts';
import { anglePerDisplacement, rotationSteps, splitDegenerate } from './claims/rotation.ts';
import { setPath } from '../experiments/configPaths.ts';
import { resolveConfig } from '../experiments/config.ts';

interface SgdOptions {
  lr_scaling: 'linear' | 'none';
  /** Curvature at least every this many updates (rounded up to whole epochs). */
  measure_every: number;
}

function options(ctx: StudyContext): SgdOptions {
  const o = ctx.file as unknown as { sgd?: Partial<SgdOptions>; quick?: { sgd?: Partial<SgdOptions> } };
  const merged = {
    lr_scaling: 'none' as SgdOptions['lr_scaling'],
    measure_every: 10,
    ...o.sgd,
    ...(ctx.quick ? o.quick?.sgd : {}),
  };
  if (!(Number.isInteger(merged.measure_every) && merged.measure_every > 0))
    throw new Error(`studies/${ctx.file.name}.yaml: sgd.measure_every must be an integer > 0`);
  if (merged.lr_scaling !== 'linear' && merged.lr_scaling !== 'none')
    throw new Error(`studies/${ctx.file.name}.yaml: sgd.lr_scaling must be linear or none`);
  return merged;
}

export async function executeSgdBatch(ctx: StudyContext): Promise<StudyRun[]> {
  const o = options(ctx);
  const plan = await planMultiples(ctx, {
    adjust: (raw, _p, lr) => {
      const c = resolveConfig(raw);
      if (c.data.train_size === 'all') throw new Error('sgd-batch: data.train_size must be a number');
      const n = c.data.train_size;
      const b = c.optimizer.batch_size === 'full' ? n : c.optimizer.batch_size;
      const perEpoch = Math.ceil(n / b);
      let out = setPath(raw, ['optimizer', 'lr'], o.lr_scaling === 'linear' ? (lr * b) / n : lr);
      out = setPath(out, ['curvature', 'every'], perEpoch * Math.ceil(o.measure_every / perEpoch));
      // The whole-set loss and accuracy once per epoch (the stop target is judged on them).
      out = setPath(out, ['log', 'every'], perEpoch);
      return out;
    },
  });
  const runs = await runStudyRuns(ctx, plan.runs, plan.grid);
  // The follow-up judges rotation only: its runs are not settled.
  await settleCompletedRuns(ctx, splitFollowUp(runs).main);
  return runs;
}

function batchOf(r: StudyRun): string {
  return String(r.config.optimizer.batch_size);
}

/** `B = 16, m = 2 (η = 0.1)`. */
export function sgdLabel(r: StudyRun): string {
  return `B = ${batchOf(r)}, m = ${fmt(mOf(r))} (η = ${fmt(r.config.optimizer.lr)})`;
}

/** The run's lr_multiple (its grid value; else η·λ0/2). */
function mOf(r: StudyRun): number {
  const m = r.params.lr_multiple;
  return typeof m === 'number' ? m : multipleOf(r).multiple;
}

function finalSharpness(r: StudyRun): number {
  const sh = seriesOf(r.rows, 'sharpness');
  return sh.length > 0 ? sh[sh.length - 1]!.value : Number.NaN;
}

/** λ1 after settling (params.settled_sharpness, else the run's settled record); NaN if not settled. */
function settledSharpness(r: StudyRun): number {
  const p = r.params.settled_sharpness;
  return typeof p === 'number' ? p : (readSettled(r.dir)?.sharpness ?? Number.NaN);
}

/** Mean rotation per unit displacement (rad per unit ‖Δθ‖) over the run's non-degenerate measurements; NaN if none. */
export function rotationPerDisplacement(r: StudyRun, gapMin: number): number {
  return mean(anglePerDisplacement(splitDegenerate(rotationSteps(r.rows), gapMin).kept));
}

/** Why a run does not count: diverged, failed, or stopped by train.steps before its train-accuracy target. */
function notTrained(r: StudyRun): string | null {
  const o = trainingOutcome(r);
  if (o === 'trained') return null;
  return o === 'not trained'
    ? `train accuracy ${fmt(r.summary.final.train_acc)} < ${fmt(r.config.train.stop_train_acc)} after ${r.summary.steps} updates`
    : r.summary.status;
}

export function evaluateSgdBatch(
  all: StudyRun[],
  ctx: Pick<StudyContext, 'tolerances'> & Partial<Pick<StudyContext, 'file' | 'quick'>>,
): ClaimResult[] {
  const t = tolerancesOf(SGD_BATCH_TOLERANCES, ctx.tolerances);
  const flatMin = tol(t, 'flatter_min');
  const gapMin = tol(t, 'gap_min');
  // Follow-up cells (followUp.ts) decide only the comparisons the study's seeds left open.
  const { main: runs, followUp } = splitFollowUp(all);
  const fuAlpha = followUpAlpha(ctx, followUp);
  const batches = [...new Set(runs.map(batchOf))];
  const flat: { text: string; v: Verdict }[] = [];
  const rot: { text: string; v: Verdict }[] = [];
  const values: Record<string, number | null> = {};
  const seedOf = (r: StudyRun) => r.config.train.seed;
  for (const b of batches) {
    const here = runs.filter((r) => batchOf(r) === b);
    const ctrl = here.filter((r) => mOf(r) < 1);
    const hi = here.filter((r) => mOf(r) > 1);
    const bad = [...ctrl, ...hi].filter((r) => notTrained(r) !== null);
    const seeds = [...new Set(hi.map(seedOf))].filter((s) => ctrl.some((r) => seedOf(r) === s)).sort((x, y) => x - y);
    const pairs = seeds.map((s) => ({ c: ctrl.find((r) => seedOf(r) === s)!, h: hi.find((r) => seedOf(r) === s)! }));
    if (ctrl.length === 0 || hi.length === 0 || bad.length > 0 || pairs.length === 0) {
      const why =
        ctrl.length === 0
          ? 'no control below 2/λ0'
          : hi.length === 0
            ? 'no run above 2/λ0'
            : bad.length > 0
              ? `not trained: ${bad.map((r) => `${sgdLabel(r)}, seed ${seedOf(r)} (${notTrained(r)})`).join(', ')}`
              : 'no seed with both runs';
      flat.push({ text: `B = ${b}: ${why}`, v: 'inconclusive' });
      rot.push({ text: `B = ${b}: ${why}`, v: 'inconclusive' });
      continue;
    }
    const mLo = mOf(pairs[0]!.c);
    const mHi = mOf(pairs[0]!.h);
    const updates = (xs: StudyRun[]) =>
      `${Math.min(...xs.map((r) => r.summary.steps))}–${Math.max(...xs.map((r) => r.summary.steps))}`;
    const reached = `updates to the target ${updates(pairs.map((p) => p.c))} at ${fmt(mLo)}×, ${updates(pairs.map((p) => p.h))} at ${fmt(mHi)}×`;
    // 1. Relative flattening of the settled λ1, (λ_control − λ_above)/λ_control per seed.
    const sc = pairs.map((p) => settledSharpness(p.c));
    const sh = pairs.map((p) => settledSharpness(p.h));
    if (![...sc, ...sh].every(Number.isFinite)) {
      flat.push({ text: `B = ${b}: not every run has a settled λ1`, v: 'inconclusive' });
    } else {
      const rel = pairs.map((_p, i) => (sc[i]! - sh[i]!) / sc[i]!);
      const jf = judgePaired(rel, 'positive', fmt, { margin: flatMin, minEffect: flatMin });
      flat.push({
        text: `B = ${b}: settled λ1 ${fmt(mean(sc))} at ${fmt(mLo)}× vs ${fmt(mean(sh))} at ${fmt(mHi)}×, relative drop ${jf.text} (${jf.verdict}); raw final λ1 ${fmt(mean(pairs.map((p) => finalSharpness(p.c))))} vs ${fmt(mean(pairs.map((p) => finalSharpness(p.h))))}; ${reached}`,
        v: jf.verdict,
      });
      values[`flatter_B${b}`] = jf.cmp.mean;
      values[`flatter_p_B${b}`] = jf.cmp.pValue;
    }
    // 2. Rotation per unit displacement, above − control per seed.
    const jr = rotationJudgement(pairs, gapMin);
    if (jr === null) {
      rot.push({ text: `B = ${b}: a run has no non-degenerate rotation measurement`, v: 'inconclusive' });
    } else {
      const first = `B = ${b}: rotation per unit ‖Δθ‖ ${jr.text} (${jr.j.verdict}); unnormalized mean 1 − ρ per measurement ${fmt(mean(pairs.map((p) => meanRotation(p.c.rows))))} vs ${fmt(mean(pairs.map((p) => meanRotation(p.h.rows))))} (not judged: the larger η moves θ further)`;
      values[`rotation_diff_B${b}`] = jr.j.cmp.mean;
      values[`rotation_p_B${b}`] = jr.j.cmp.pValue;
      // An undecided batch size with follow-up runs: judged again on those seeds alone, at fuAlpha.
      const fu =
        jr.j.verdict === 'inconclusive' && fuAlpha !== null
          ? followUpRotation(
              followUp.filter((r) => batchOf(r) === b),
              gapMin,
              fuAlpha,
            )
          : null;
      if (fu) {
        values[`follow_up_rotation_diff_B${b}`] = fu.j.cmp.mean;
        values[`follow_up_rotation_p_B${b}`] = fu.j.cmp.pValue;
        values[`follow_up_alpha`] = fuAlpha;
      }
      rot.push({ text: fu ? `${first}. ${fu.text}` : first, v: fu ? fu.j.verdict : jr.j.verdict });
    }
  }
  const count = (xs: { v: Verdict }[]) => xs.filter((x) => x.v === 'held').length;
  return [
    {
      claim:
        'Flattening persists under minibatch noise: at every batch size, at the same η above 2/λ0, the run ends flatter (λ1 after settling) than the control below 2/λ0',
      evidence: `${count(flat)}/${flat.length} batch sizes (paired by seed, every run trained to the same train accuracy; held: sign-flip p < 0.05 and a mean relative drop of the settled λ1 ≥ ${fmt(100 * flatMin)} %; did not hold: p < 0.05 the other way, or TOST shows |drop| < ${fmt(100 * flatMin)} %); ${flat.map((x) => x.text).join('; ')}`,
      verdict: combineVerdicts(flat.map((x) => x.v)),
      values: { batch_sizes: flat.length, flatter: count(flat), ...values },
    },
    {
      claim:
        'Rotations persist under minibatch noise: at every batch size the run above 2/λ0 rotates more per unit parameter displacement than the control',
      evidence: `${count(rot)}/${rot.length} batch sizes (paired by seed; arccos ρ / ‖Δθ‖ between successive measurements with eigengap ≥ ${fmt(gapMin)}; held: sign-flip p < 0.05 with more rotation above 2/λ0; did not hold: p < 0.05 the other way); ${rot.map((x) => x.text).join('; ')}`,
      verdict: combineVerdicts(rot.map((x) => x.v)),
      values: { batch_sizes: rot.length, rotates_more: count(rot) },
    },
  ];
}

/** Control and above-threshold runs of one batch size, paired by seed. */
type SeedPair = { c: StudyRun; h: StudyRun };

/** Rotation per unit displacement, above − control per seed (judgePaired at `alpha`); null if a run has no measurement. */
function rotationJudgement(
  pairs: readonly SeedPair[],
  gapMin: number,
  alpha?: number,
): { j: PairedJudgement; text: string } | null {
  const rc = pairs.map((p) => rotationPerDisplacement(p.c, gapMin));
  const rh = pairs.map((p) => rotationPerDisplacement(p.h, gapMin));
  if (![...rc, ...rh].every(Number.isFinite)) return null;
  const j = judgePaired(
    rh.map((x, i) => x - rc[i]!),
    'positive',
    fmt,
    alpha !== undefined ? { alpha } : {},
  );
  const mLo = mOf(pairs[0]!.c);
  const mHi = mOf(pairs[0]!.h);
  return { j, text: `${fmt(mean(rc))} rad at ${fmt(mLo)}× vs ${fmt(mean(rh))} at ${fmt(mHi)}×, difference ${j.text}` };
}

/**
 * The rotation comparison on one batch size's follow-up runs alone, at `alpha`: every follow-up
 * run must have trained (else inconclusive, listed); null when there are no follow-up runs.
 */
function followUpRotation(
  runs: readonly StudyRun[],
  gapMin: number,
  alpha: number,
): { j: PairedJudgement; text: string } | null {
  if (runs.length === 0) return null;
  const seedOf = (r: StudyRun) => r.config.train.seed;
  const seeds = [...new Set(runs.map(seedOf))].sort((x, y) => x - y);
  const head = followUpHead(seeds, alpha);
  const bad = runs.filter((r) => notTrained(r) !== null);
  if (bad.length > 0)
    return unjudgedFollowUp(
      head,
      `not trained: ${bad.map((r) => `${sgdLabel(r)}, seed ${seedOf(r)} (${notTrained(r)})`).join(', ')}`,
    );
  const pairs = seeds.flatMap((s) => {
    const c = runs.find((r) => seedOf(r) === s && mOf(r) < 1);
    const h = runs.find((r) => seedOf(r) === s && mOf(r) > 1);
    return c && h ? [{ c, h }] : [];
  });
  if (pairs.length < seeds.length)
    return unjudgedFollowUp(head, `${seeds.length - pairs.length} seeds without both runs`);
  const jr = rotationJudgement(pairs, gapMin, alpha);
  if (jr === null) return unjudgedFollowUp(head, 'a run has no non-degenerate rotation measurement');
  return {
    j: jr.j,
    text: `${head}, judged on its own seeds: ${jr.text} → ${jr.j.verdict} (held: p < ${alpha} with more rotation above 2/λ0; did not hold: p < ${alpha} the other way)`,
  };
}

/** One cell per batch size and multiple, ordered by batch size (full last), then multiple. */
function sgdCell(r: StudyRun): { key: string; label: string; order: number } {
  const b = r.config.optimizer.batch_size;
  const m = mOf(r);
  return { key: `${b}|${fmt(m)}`, label: `B = ${b}, ${fmt(m)}×2/λ0`, order: (b === 'full' ? 1e6 : b) * 100 + m };
}

export function sgdFigures(all: StudyRun[]): StudyFigure[] {
  const runs = splitFollowUp(all).main;
  const band = (what: string) =>
    `${what} The line is the median over seeds at each step, the band their minimum to maximum.`;
  return present([
    medianBandFigure(runs, {
      id: 'ratio',
      title: 'Full-batch λ1 / (2/η)',
      caption: band('The full-batch sharpness over the full-batch threshold; dashed: 1.'),
      yTitle: 'λ1 / (2/η) (log)',
      cell: sgdCell,
      series: (r) => ratioSeries(r.rows, 'sharpness'),
      logY: true,
      ruleY: 1,
    }),
    medianBandFigure(runs, {
      id: 'rotation',
      title: 'Rotation per unit displacement, arccos ρ / ‖Δθ‖ (log scale)',
      caption: band(
        'The angle between successive top eigenvectors over the distance θ travelled in between, measurements with eigengap ≥ 5 %, averaged over bins of 60 steps.',
      ),
      yTitle: 'rad per unit ‖Δθ‖ (log)',
      cell: sgdCell,
      series: (r) =>
        splitDegenerate(rotationSteps(r.rows), 0.05)
          .kept.filter((x) => x.displacement !== null && x.displacement > 0)
          .map((x) => ({ step: x.step, value: x.angle / x.displacement! })),
      bin: 60,
      logY: true,
    }),
    medianBandFigure(runs, {
      id: 'train-loss',
      title: 'Train loss (whole training set, once per epoch)',
      caption: band('Every run stops when its whole-set train accuracy reaches the target.'),
      yTitle: 'train loss (log)',
      cell: sgdCell,
      series: (r) => seriesOf(r.rows, 'train_loss'),
      logY: true,
    }),
  ]);
}

export const sgdBatch: StudyDefinition = {
  name: 'sgd-batch',
  execute: executeSgdBatch,
  evaluate: evaluateSgdBatch,
  figures: (runs) => sgdFigures(runs),
};
