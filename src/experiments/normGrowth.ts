/**
 * How much the weights that a BatchNorm follows grew over a run. The loss does not depend on their
 * scale, so a gradient step of η on such a weight W turns it by about η/‖W‖²: as ‖W‖ grows (large
 * steps push it outwards) the step that matters, the effective learning rate, shrinks. A run at η
 * whose normalized weights grew g-fold in squared norm ends at an effective η/g relative to its
 * initialization (van Laarhoven 2017; Arora, Li & Lyu 2019).
 */
import { loadDataset } from '../data/index.ts';
import type { Model } from '../nn/model.ts';
import type { ModelParam } from '../nn/layers.ts';
import { buildRunModel } from './runData.ts';
import { RunStore } from './runStore.ts';

/** The 'weight' parameters (dense or conv) that a BatchNorm follows: the next parameter in forward order, biases skipped, is a BatchNorm scale. */
export function normalizedWeights(model: Pick<Model, 'params'>, layers: ReadonlySet<string>): ModelParam[] {
  const ps = model.params;
  const out: ModelParam[] = [];
  for (let i = 0; i < ps.length; i++) {
    if (ps[i]!.role !== 'weight') continue;
    let j = i + 1;
    while (j < ps.length && ps[j]!.role === 'bias' && ps[j]!.layer === ps[i]!.layer) j++;
    const next = ps[j];
    if (next && next.role === 'norm-weight' && layers.has(next.layer)) out.push(ps[i]!);
  }
  return out;
}

/** Σ x² of a tensor's values. */
const squaredNorm = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]! * xs[i]!;
  return s;
};

/**
 * The growth of the BatchNorm-normalized weights of the run in `dir` from its first to its latest
 * checkpoint: the geometric mean over those weights of ‖W_T‖² / ‖W_0‖² (dimensionless), or null
 * when the model has no BatchNorm or the run has fewer than two checkpoints.
 */
export async function normalizedWeightGrowth(dir: string): Promise<number | null> {
  const store = new RunStore(dir);
  const { config } = store.readConfig();
  if (config.model.norm !== 'batchnorm') return null;
  const steps = store.listCheckpoints();
  if (steps.length < 2) return null;
  const model = buildRunModel(config, await loadDataset({ ...config.data }));
  const bn = new Set(model.params.filter((p) => p.role === 'norm-weight').map((p) => p.layer));
  const names = normalizedWeights(model, bn).map((p) => p.name);
  if (names.length === 0) return null;
  const first = store.readCheckpoint(steps[0]!).tensors;
  const last = store.readCheckpoint(steps[steps.length - 1]!).tensors;
  const norm = (ts: typeof first, name: string): number => {
    const t = ts.find((x) => x.name === name);
    if (!t) throw new Error(`${dir}: checkpoint has no tensor '${name}'`);
    return squaredNorm(t.data as unknown as ArrayLike<number>);
  };
  let logSum = 0;
  for (const n of names) logSum += Math.log(norm(last, n) / norm(first, n));
  return Math.exp(logSum / names.length);
}
