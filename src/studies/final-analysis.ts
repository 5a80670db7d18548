/**
 * Curvature of a run's final state: the analysis of `edgewise curvature RUN_DIR` (top-k eigenpairs, the smallest
 * eigenvalue, the Hutchinson trace; experiments/analysis.ts) on the last checkpoint, in child
 * processes (several at once), reused when the analysis file is already there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { analyseInChild } from '../experiments/childRun.ts';
import { curvatureSnapshotPath, RunStore } from '../experiments/runStore.ts';
import { mapWithConcurrency } from '../util/concurrency.ts';
import type { StudyContext, StudyRun } from './study.ts';

export interface FinalCurvature {
  step: number;
  eigs: number[];
  lambda_min: number;
  trace: number;
}

function analysisFile(dir: string, step: number): string {
  return curvatureSnapshotPath(dir, 'analysis', step);
}

/** The analysis of `dir`'s latest checkpoint, or null (no checkpoint after the initialization, or the analysis failed). */
export async function finalCurvature(
  dir: string,
  o: { topK?: number; iters?: number; threads?: number } = {},
): Promise<FinalCurvature | null> {
  const store = new RunStore(dir);
  const step = store.latestCheckpoint();
  if (step === null || step === 0) return null;
  const file = analysisFile(dir, step);
  if (!existsSync(file)) {
    const env = o.threads !== undefined ? { OMP_NUM_THREADS: String(o.threads) } : {};
    try {
      await analyseInChild(dir, { step, topK: o.topK ?? 2, iterations: o.iters ?? 30 }, { env });
    } catch {
      return null; // a failed analysis is reported as none (see the doc comment)
    }
    if (!existsSync(file)) return null;
  }
  const a = JSON.parse(readFileSync(file, 'utf8')) as FinalCurvature;
  return { step: a.step, eigs: a.eigs, lambda_min: a.lambda_min, trace: a.trace };
}

/** finalCurvature for every completed run (diverged and failed runs get null), `ctx.parallel` at a time. */
export async function finalCurvatures(
  ctx: StudyContext,
  runs: readonly StudyRun[],
): Promise<Map<string, FinalCurvature | null>> {
  const out = new Map<string, FinalCurvature | null>();
  let done = 0;
  await mapWithConcurrency(runs, ctx.parallel, async (r) => {
    const a = r.summary.status === 'completed' ? await finalCurvature(r.dir) : null;
    out.set(r.name, a);
    done++;
    ctx.log(
      `[${done}/${runs.length}] final curvature of ${r.name}: ${a ? `λ1 ${a.eigs[0]?.toPrecision(4)}, λmin ${a.lambda_min.toPrecision(3)}, trace ${a.trace.toPrecision(4)}` : 'none'}`,
    );
  });
  return out;
}

/** The analysis already written for a run's latest checkpoint (no computation), or null. */
export function readFinalCurvature(dir: string): FinalCurvature | null {
  try {
    const step = new RunStore(dir).latestCheckpoint();
    if (step === null || step === 0) return null;
    const file = analysisFile(dir, step);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FinalCurvature) : null;
  } catch {
    return null;
  }
}
