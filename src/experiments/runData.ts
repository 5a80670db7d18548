/**
 * The Node-free part of runModel.ts: a run's dtype, model and sample rows from its config and
 * data, and θ from saved tensors; shared by the training loop (trainLoop.ts) on Node and in the
 * Lab's browser worker.
 */
import { backendDType } from '../engine/runtime.ts';
import type { FloatArray } from '../engine/params.ts';
import type { LoadedData } from '../data/datasetBytes.ts';
import { oneHot } from '../data/rows.ts';
import type { Dataset } from '../data/types.ts';
import { buildModel, type Model } from '../nn/model.ts';
import type { SampleData } from '../train/datasetObjective.ts';
import type { Config } from './config.ts';
import type { SafetensorsContent } from './safetensorsBytes.ts';

/** Float type of parameters and graphs for the config's backend (float64 only on the reference interpreter). */
export function runDtype(config: Config): 'float32' | 'float64' {
  return backendDType(config.backend);
}

/** The configured model for `data`'s sample shape and classes (not initialized). */
export function buildRunModel(config: Config, data: LoadedData): Model {
  return buildModel({ ...config.model, init: { ...config.model.init } }, data.train.sampleShape, data.train.numClasses);
}

/** One-hot labels (or the regression targets) of a split, n × numClasses row-major. */
export function datasetTargets(ds: Dataset): Float32Array {
  if (ds.targets) return ds.targets;
  if (!ds.y) throw new Error('dataset has neither labels nor targets');
  return Float32Array.from(oneHot(ds.y, ds.numClasses));
}

/** The first min(n, ds.n) samples of a split as objective rows {x, y} (views, no copy of x). */
export function sampleRows(ds: Dataset, n: number = ds.n): SampleData {
  const m = Math.min(n, ds.n);
  const rowX = ds.x.length / ds.n;
  const y = datasetTargets(ds);
  const rowY = y.length / ds.n;
  return { n: m, arrays: { x: ds.x.subarray(0, m * rowX), y: y.subarray(0, m * rowY) } };
}

/** θ (flat, `dtype`) gathered from tensors named `<layer>.<param>`; throws naming `where` and the missing tensor. */
export function thetaFromTensors(
  model: Model,
  tensors: SafetensorsContent['tensors'],
  dtype: 'float32' | 'float64',
  where: string,
): FloatArray {
  const byName = new Map(tensors.map((t) => [t.name, t.data as unknown as ArrayLike<number>]));
  const theta = dtype === 'float32' ? new Float32Array(model.layout.size) : new Float64Array(model.layout.size);
  const pieces: Record<string, ArrayLike<number>> = {};
  for (const p of model.params) {
    const t = byName.get(p.name);
    if (!t) throw new Error(`${where}: missing tensor '${p.name}'`);
    pieces[p.name] = t;
  }
  return model.layout.gather(pieces, theta);
}
