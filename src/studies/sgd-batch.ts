/**
 * `sgd-batch`: SGD at several batch sizes B with the learning rate scaled with the batch
 * (η_B = m·(2/λ0)·B/N, N = the training set: η/B fixed across batch sizes; `sgd.lr_scaling:
 * none` keeps η_B = m·2/λ0), for the same number of epochs, full-batch Lanczos every epoch. At
 * each batch size a small and a large multiple m are compared. Claims:
 *   1. flattening persists under minibatch noise: at every B the larger m ends flatter (final
 *      full-batch λ1 lower by at least flatter_min, relative);
 *   2. rotations persist: at every B the larger m has the larger mean rotation 1 − ρ (per epoch).
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { fmt, meanRotation, seriesOf, tol } from './measures.ts';
import { multipleOf, planMultiples } from './plan.ts';
import { runStudyRuns } from './run.ts';
import { perRunFigure, present } from './figures.ts';
import { setPath } from '../experiments/loadConfig.ts';
import { resolveConfig } from '../experiments/config.ts';

interface SgdOptions {
  epochs: number;
  lr_scaling: 'linear' | 'none';
}

function options(ctx: StudyContext): SgdOptions {
  const o = (ctx.file as unknown as { sgd?: Partial<SgdOptions>; quick?: { sgd?: Partial<SgdOptions> } });
  const merged = { epochs: 100, lr_scaling: 'linear' as const, ...o.sgd, ...(ctx.quick ? o.quick?.sgd : {}) };
  if (!(Number.isInteger(merged.epochs) && merged.epochs > 0)) throw new Error(`studies/${ctx.file.name}.yaml: sgd.epochs must be an integer > 0`);
  if (merged.lr_scaling !== 'linear' && merged.lr_scaling !== 'none') throw new Error(`studies/${ctx.file.name}.yaml: sgd.lr_scaling must be linear or none`);
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

export function sgdLabel(r: StudyRun): string {
  return `B = ${batchOf(r)}, η = ${fmt(multipleOf(r).multiple)}·2/λ0·B/N`;
}

export function evaluateSgdBatch(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = ctx.tolerances;
  const flatMin = tol(t, 'flatter_min');
  const batches = [...new Set(runs.map(batchOf))];
  const rowsFlat: string[] = [];
  const rowsRot: string[] = [];
  let flatOk = 0;
  let rotOk = 0;
  let judged = 0;
  for (const b of batches) {
    const rs = runs.filter((r) => batchOf(r) === b && r.summary.status === 'completed');
    const ms = rs.map((r) => ({ r, m: (r.params.lr_multiple as number | undefined) ?? multipleOf(r).multiple })).sort((a, c) => a.m - c.m);
    const divergedHere = runs.filter((r) => batchOf(r) === b && r.summary.status === 'diverged');
    if (ms.length < 2) {
      rowsFlat.push(`B = ${b}: ${ms.length} completed run(s)${divergedHere.length ? `, ${divergedHere.length} diverged` : ''}`);
      rowsRot.push(`B = ${b}: not enough runs`);
      continue;
    }
    judged++;
    const lo = ms[0]!;
    const hi = ms[ms.length - 1]!;
    const s = (x: StudyRun) => {
      const sh = seriesOf(x.rows, 'sharpness');
      return sh.length > 0 ? sh[sh.length - 1]!.value : Number.NaN;
    };
    const sLo = s(lo.r);
    const sHi = s(hi.r);
    const flatter = sHi <= sLo * (1 - flatMin);
    if (flatter) flatOk++;
    rowsFlat.push(`B = ${b}: final λ1 ${fmt(sLo)} at ${fmt(lo.m)}× vs ${fmt(sHi)} at ${fmt(hi.m)}×`);
    const rLo = meanRotation(lo.r.rows);
    const rHi = meanRotation(hi.r.rows);
    if (rHi > rLo) rotOk++;
    rowsRot.push(`B = ${b}: mean 1 − ρ ${fmt(rLo)} at ${fmt(lo.m)}× vs ${fmt(rHi)} at ${fmt(hi.m)}×`);
  }
  const verdict = (ok: number) => (judged === 0 ? 'inconclusive' : ok === judged ? 'held' : ok === 0 ? 'did not hold' : 'inconclusive') as ClaimResult['verdict'];
  return [
    { claim: 'Flattening persists under minibatch noise: at every batch size the larger η ends flatter', evidence: `${flatOk}/${judged} batch sizes (need final λ1 lower by ≥ ${fmt(100 * flatMin)} %); ${rowsFlat.join('; ')}`, verdict: verdict(flatOk), values: { batch_sizes: judged, flatter: flatOk } },
    { claim: 'Rotations persist under minibatch noise: at every batch size the larger η rotates more', evidence: `${rotOk}/${judged} batch sizes; ${rowsRot.join('; ')}`, verdict: verdict(rotOk), values: { batch_sizes: judged, rotates_more: rotOk } },
  ];
}

export function sgdFigures(runs: StudyRun[]): StudyFigure[] {
  const short = (r: StudyRun) => `B=${batchOf(r)} m=${fmt(multipleOf(r).multiple)}`;
  return present([
    perRunFigure(runs, { id: 'sharpness', title: 'Full-batch sharpness (per epoch)', caption: 'λ1 of the full-batch Hessian, measured once per epoch.', key: 'sharpness', yTitle: 'λ1', label: short, logY: true }),
    perRunFigure(runs, { id: 'rho', title: 'ρ per epoch', caption: '|cos| between the top eigenvectors of successive epochs.', key: 'eigvec_cos', yTitle: 'ρ', label: short, yDomain: [0, 1] }),
    perRunFigure(runs, { id: 'train-loss', title: 'Train loss (per epoch)', caption: 'Full training-set loss at the end of each epoch.', key: 'train_loss', yTitle: 'train loss (log)', label: short, logY: true }),
  ]);
}

export const sgdBatch: StudyDefinition = {
  name: 'sgd-batch',
  execute: executeSgdBatch,
  evaluate: evaluateSgdBatch,
  figures: (runs) => sgdFigures(runs),
};
