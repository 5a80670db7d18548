/**
 * λ1 after a settling phase: from a run's final checkpoint, `steps` full-batch GD updates at a
 * small learning rate η_s (2/η_s well above the curvature), then the top Hessian eigenvalue. At
 * the edge of stability λ1 is pinned at 2/η by the dynamics, so "a larger η ends with a smaller
 * λ1" follows from the edge of stability alone; after settling at a common small η the pinning
 * is released and the comparison is about the region the run ended in.
 * The result is written to RUN_DIR/curvature/settled-step-NNNNNN.json and reused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { openCheckpoint } from '../experiments/runModel.ts';
import { curvatureSnapshotPath, RunStore } from '../experiments/runStore.ts';
import { writeJsonAtomic } from '../experiments/atomicWrite.ts';
import { hessianOperator } from '../curvature/hessian.ts';
import { lanczos } from '../curvature/lanczos.ts';
import type { StudyContext, StudyRun } from './study.ts';
import { multipleOf } from './plan.ts';

export interface SettleOptions {
  /** Learning rate of the settling phase (1/curvature units). */
  lr: number;
  /** Full-batch GD updates (≥ 0). */
  steps: number;
  /** Lanczos steps for λ1 (default 30). */
  iters?: number;
}

export interface Settled {
  /** The checkpoint settled from. */
  step: number;
  lr: number;
  steps: number;
  /** λ1 before and after settling. */
  sharpness_before: number;
  sharpness: number;
  loss_before: number;
  loss: number;
}

function settledFile(dir: string, step: number): string {
  return curvatureSnapshotPath(dir, 'settled', step);
}

/** The settled record of `dir`'s latest checkpoint if already written (and made with the same lr and steps), else null. */
export function readSettled(dir: string, o?: Pick<SettleOptions, 'lr' | 'steps'>): Settled | null {
  try {
    const step = new RunStore(dir).latestCheckpoint();
    if (step === null || step === 0) return null;
    const f = settledFile(dir, step);
    if (!existsSync(f)) return null;
    const s = JSON.parse(readFileSync(f, 'utf8')) as Settled;
    return o === undefined || (s.lr === o.lr && s.steps === o.steps) ? s : null;
  } catch {
    return null;
  }
}

/** Settles `dir`'s latest checkpoint (see the module comment); null without a checkpoint after the initialization. */
export async function settleRun(dir: string, o: SettleOptions): Promise<Settled | null> {
  if (!(o.lr > 0) || !(Number.isInteger(o.steps) && o.steps >= 0))
    throw new Error(`settle: lr must be > 0 and steps an integer ≥ 0 (got ${o.lr}, ${o.steps})`);
  const have = readSettled(dir, o);
  if (have) return have;
  const step = new RunStore(dir).latestCheckpoint();
  if (step === null || step === 0) return null;
  const ck = await openCheckpoint(dir, step);
  try {
    const obj = ck.objective({ mode: 'train' });
    const iters = o.iters ?? 30;
    const top1 = async (th: typeof ck.theta) =>
      (
        await lanczos(await hessianOperator(obj, th), {
          k: 1,
          iterations: iters,
          seed: 1,
          tol: 1e-3,
          earlyStop: false,
          exactResiduals: false,
        })
      ).eigenvalues[0]!;
    const theta = ck.theta.slice();
    const before = await top1(theta);
    const lossBefore = (await obj.evaluate(theta)).loss;
    for (let s = 0; s < o.steps; s++) {
      const g = (await obj.lossAndGrad(theta)).grad;
      for (let i = 0; i < theta.length; i++) theta[i] -= o.lr * g[i]!;
    }
    const out: Settled = {
      step,
      lr: o.lr,
      steps: o.steps,
      sharpness_before: before,
      sharpness: await top1(theta),
      loss_before: lossBefore,
      loss: (await obj.evaluate(theta)).loss,
    };
    writeJsonAtomic(settledFile(dir, step), out);
    return out;
  } finally {
    await ck.dispose();
  }
}

/** The study file's `settle:` section (its `quick.settle` merged over it under --quick). */
export function settleOptions(ctx: Pick<StudyContext, 'file' | 'quick'>): { lr_multiple: number; steps: number } {
  const f = ctx.file as unknown as {
    settle?: Partial<{ lr_multiple: number; steps: number }>;
    quick?: { settle?: Partial<{ lr_multiple: number; steps: number }> };
  };
  const o = { lr_multiple: 0.25, steps: 100, ...f.settle, ...(ctx.quick ? f.quick?.settle : {}) };
  if (!(o.lr_multiple > 0 && o.lr_multiple < 1))
    throw new Error(`studies/${ctx.file.name}.yaml: settle.lr_multiple must be in (0, 1) (a stable η)`);
  if (!(Number.isInteger(o.steps) && o.steps >= 0))
    throw new Error(`studies/${ctx.file.name}.yaml: settle.steps must be an integer ≥ 0`);
  return o;
}

/**
 * Settles every completed run at η_s = settle.lr_multiple·2/λ_ref, λ_ref = `reference(run)` (by
 * default its seed's λ0: a common η_s per seed), logging λ1 before → after; a run whose reference is
 * not a positive number is left unsettled.
 */
export async function settleCompletedRuns(
  ctx: Pick<StudyContext, 'file' | 'quick' | 'log'>,
  runs: readonly StudyRun[],
  reference: (r: StudyRun) => number = (r) => multipleOf(r).lambda0,
): Promise<void> {
  const so = settleOptions(ctx);
  for (const r of runs.filter((x) => x.summary.status === 'completed')) {
    const ref = reference(r);
    if (!(ref > 0)) continue;
    const lr = (so.lr_multiple * 2) / ref;
    const st = await settleRun(r.dir, { lr, steps: so.steps });
    ctx.log(
      `settled ${r.name} at η_s = ${lr.toPrecision(3)}: λ1 ${st ? `${st.sharpness_before.toPrecision(4)} → ${st.sharpness.toPrecision(4)}` : 'none'}`,
    );
  }
}
