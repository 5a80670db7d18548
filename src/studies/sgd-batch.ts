/**
 * `sgd-batch`: SGD at several batch sizes B at one learning rate above the full-batch threshold,
 * η = m·2/λ0 with m > 1, the same η at every B (`sgd.lr_scaling: none`; `linear` would scale it
 * by B/N, which changes the noise and the step together), plus a control below the threshold
 * (m < 1) at every B, for the same number of epochs and several seeds, full-batch Lanczos every
 * epoch. Claims, at every batch size, paired by seed (stats.ts judgePaired: mean difference,
 * t-interval, exact sign-flip p; held at p < 0.05 with the claimed sign, did not hold at p < 0.05
 * with the other sign or when the TOST test puts the effect within its margin):
 *   1. flattening persists under minibatch noise: the run above the threshold ends flatter than
 *      the control (relative drop of the final full-batch λ1 > 0, and ≥ flatter_min to hold;
 *      TOST margin flatter_min);
 *   2. rotations persist: it has the larger mean rotation 1 − ρ per epoch (no TOST margin).
 * A claim holds when it holds at every batch size, did not hold when it fails at one; a batch
 * size whose above-threshold run diverged is listed and makes the claim inconclusive.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun, Verdict } from './study.ts';
import { SGD_BATCH_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { combineVerdicts, fmt, mean, meanRotation, seriesOf, tol } from './measures.ts';
import { judgePaired } from './stats.ts';
import { multipleOf, planMultiples } from './plan.ts';
import { runStudyRuns } from './run.ts';
import { perRunFigure, present } from './figures.ts';
import { setPath } from '../experiments/configPaths.ts';
import { resolveConfig } from '../experiments/config.ts';

interface SgdOptions {
  epochs: number;
  lr_scaling: 'linear' | 'none';
}

function options(ctx: StudyContext): SgdOptions {
  const o = ctx.file as unknown as { sgd?: Partial<SgdOptions>; quick?: { sgd?: Partial<SgdOptions> } };
  const merged = {
    epochs: 100,
    lr_scaling: 'none' as SgdOptions['lr_scaling'],
    ...o.sgd,
    ...(ctx.quick ? o.quick?.sgd : {}),
  };
  if (!(Number.isInteger(merged.epochs) && merged.epochs > 0))
    throw new Error(`studies/${ctx.file.name}.yaml: sgd.epochs must be an integer > 0`);
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
      out = setPath(out, ['train', 'steps'], o.epochs * perEpoch);
      out = setPath(out, ['curvature', 'every'], perEpoch);
      out = setPath(out, ['log', 'every'], perEpoch);
      out = setPath(out, ['log', 'test_every'], perEpoch * Math.max(1, Math.floor(o.epochs / 5)));
      return out;
    },
  });
  return runStudyRuns(ctx, plan.runs, plan.grid);
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

export function evaluateSgdBatch(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(SGD_BATCH_TOLERANCES, ctx.tolerances);
  const flatMin = tol(t, 'flatter_min');
  const batches = [...new Set(runs.map(batchOf))];
  const flat: { text: string; v: Verdict }[] = [];
  const rot: { text: string; v: Verdict }[] = [];
  const values: Record<string, number | null> = {};
  for (const b of batches) {
    const here = runs.filter((r) => batchOf(r) === b);
    const ctrl = here.filter((r) => mOf(r) < 1);
    const hi = here.filter((r) => mOf(r) > 1);
    const bad = [...ctrl, ...hi].filter((r) => r.summary.status !== 'completed');
    const seedOf = (r: StudyRun) => r.config.train.seed;
    const seeds = [...new Set(hi.map(seedOf))].filter((s) => ctrl.some((r) => seedOf(r) === s)).sort((x, y) => x - y);
    const pairs = seeds.map((s) => ({ c: ctrl.find((r) => seedOf(r) === s)!, h: hi.find((r) => seedOf(r) === s)! }));
    if (ctrl.length === 0 || hi.length === 0 || bad.length > 0 || pairs.length === 0) {
      const why =
        ctrl.length === 0
          ? 'no control below 2/λ0'
          : hi.length === 0
            ? 'no run above 2/λ0'
            : bad.length > 0
              ? `not completed: ${bad.map((r) => `${sgdLabel(r)}, seed ${seedOf(r)} (${r.summary.status})`).join(', ')}`
              : 'no seed with both runs';
      flat.push({ text: `B = ${b}: ${why}`, v: 'inconclusive' });
      rot.push({ text: `B = ${b}: ${why}`, v: 'inconclusive' });
      continue;
    }
    const mLo = mOf(pairs[0]!.c);
    const mHi = mOf(pairs[0]!.h);
    // 1. Relative flattening (λ_control − λ_above)/λ_control per seed.
    const rel = pairs.map((p) => (finalSharpness(p.c) - finalSharpness(p.h)) / finalSharpness(p.c));
    const jf = judgePaired(rel, 'positive', fmt, { margin: flatMin, minEffect: flatMin });
    flat.push({
      text: `B = ${b}: final λ1 ${fmt(mean(pairs.map((p) => finalSharpness(p.c))))} at ${fmt(mLo)}× vs ${fmt(mean(pairs.map((p) => finalSharpness(p.h))))} at ${fmt(mHi)}×, relative drop ${jf.text} (${jf.verdict})`,
      v: jf.verdict,
    });
    values[`flatter_B${b}`] = jf.cmp.mean;
    values[`flatter_p_B${b}`] = jf.cmp.pValue;
    // 2. Rotation difference (above − control) per seed.
    const d = pairs.map((p) => meanRotation(p.h.rows) - meanRotation(p.c.rows));
    const jr = judgePaired(d, 'positive', fmt);
    rot.push({
      text: `B = ${b}: mean 1 − ρ ${fmt(mean(pairs.map((p) => meanRotation(p.c.rows))))} at ${fmt(mLo)}× vs ${fmt(mean(pairs.map((p) => meanRotation(p.h.rows))))} at ${fmt(mHi)}×, difference ${jr.text} (${jr.verdict})`,
      v: jr.verdict,
    });
    values[`rotation_diff_B${b}`] = jr.cmp.mean;
    values[`rotation_p_B${b}`] = jr.cmp.pValue;
  }
  const count = (xs: { v: Verdict }[]) => xs.filter((x) => x.v === 'held').length;
  return [
    {
      claim:
        'Flattening persists under minibatch noise: at every batch size, at the same η above 2/λ0, the run ends flatter than the control below 2/λ0',
      evidence: `${count(flat)}/${flat.length} batch sizes (paired by seed; held: sign-flip p < 0.05 and a mean relative drop of the final λ1 ≥ ${fmt(100 * flatMin)} %; did not hold: p < 0.05 the other way, or TOST shows |drop| < ${fmt(100 * flatMin)} %); ${flat.map((x) => x.text).join('; ')}`,
      verdict: combineVerdicts(flat.map((x) => x.v)),
      values: { batch_sizes: flat.length, flatter: count(flat), ...values },
    },
    {
      claim:
        'Rotations persist under minibatch noise: at every batch size the run above 2/λ0 rotates more than the control',
      evidence: `${count(rot)}/${rot.length} batch sizes (paired by seed; held: sign-flip p < 0.05 with more rotation above 2/λ0; did not hold: p < 0.05 the other way); ${rot.map((x) => x.text).join('; ')}`,
      verdict: combineVerdicts(rot.map((x) => x.v)),
      values: { batch_sizes: rot.length, rotates_more: count(rot) },
    },
  ];
}

export function sgdFigures(runs: StudyRun[]): StudyFigure[] {
  const short = (r: StudyRun) => `B=${batchOf(r)} m=${fmt(mOf(r))} seed ${r.config.train.seed}`;
  return present([
    perRunFigure(runs, {
      id: 'sharpness',
      title: 'Full-batch sharpness (per epoch)',
      caption: 'λ1 of the full-batch Hessian, measured once per epoch.',
      key: 'sharpness',
      yTitle: 'λ1',
      label: short,
      logY: true,
    }),
    perRunFigure(runs, {
      id: 'rho',
      title: 'ρ per epoch',
      caption: '|cos| between the top eigenvectors of successive epochs.',
      key: 'eigvec_cos',
      yTitle: 'ρ',
      label: short,
      yDomain: [0, 1],
    }),
    perRunFigure(runs, {
      id: 'train-loss',
      title: 'Train loss (per epoch)',
      caption: 'Full training-set loss at the end of each epoch.',
      key: 'train_loss',
      yTitle: 'train loss (log)',
      label: short,
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
