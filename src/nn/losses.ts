/**
 * The model objective: `objectiveSpec` turns a model and a loss into the ObjectiveSpec that
 * CompiledObjective compiles (loss, gradient, exact HVPs), with its data specs and feeds; and
 * one-hot targets. The loss functions themselves live in lossFunctions.ts (re-exported here).
 */
import type { Tensor } from '../engine/builder.ts';
import type { DataSpec, LossOutput, ObjectiveSpec } from '../engine/objective.ts';
import type { Mode } from './layers.ts';
import { accuracy, lossFn, type LossName } from './lossFunctions.ts';
import type { Model } from './model.ts';

export { LOSSES, accuracy, crossEntropy, lossFn, mse, type LossName } from './lossFunctions.ts';

/** One-hot rows [n, k] (float64) from integer labels in [0, k). */
export function oneHot(labels: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(labels.length * k);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!(Number.isInteger(c) && c >= 0 && c < k)) throw new Error(`label ${c} at ${i} outside [0, ${k})`);
    out[i * k + c] = 1;
  }
  return out;
}

/**
 * Data inputs of a model objective for a batch of B samples: x [B, ...inputShape] and
 * y [B, outputDim]; in eval mode also every buffer ([C] each, by name); in train mode also every
 * dropout mask ([B, ...] by its name).
 */
export function modelDataSpecs(model: Model, batchSize: number, mode: Mode): DataSpec[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const specs: DataSpec[] = [
    { name: 'x', shape: [batchSize, ...model.inputShape], ...(model.inputDtype ? { dtype: model.inputDtype } : {}) },
    { name: 'y', shape: [batchSize * (model.targetRows ?? 1), model.outputDim] },
  ];
  if (mode === 'eval') for (const b of model.buffers) specs.push({ name: b.name, shape: b.shape });
  else for (const d of model.dropouts) specs.push({ name: d.name, shape: [batchSize, ...d.shape] });
  return specs;
}

/** The feeds besides x and y that `modelDataSpecs` declares: buffers (eval) or dropout masks (train). */
export function modelFeeds(
  model: Model,
  mode: Mode,
  extra: { buffers?: Float64Array | Float32Array; dropoutMasks?: Record<string, Float64Array> },
): Record<string, Float64Array | Float32Array> {
  if (mode === 'eval') {
    if (model.buffers.length === 0) return {};
    if (!extra.buffers) throw new Error('eval mode needs the buffers (BatchNorm running statistics)');
    return model.bufferLayout.split(extra.buffers);
  }
  if (model.dropouts.length === 0) return {};
  if (!extra.dropoutMasks) throw new Error('train mode needs dropout masks (sampleDropoutMasks)');
  const out: Record<string, Float64Array> = {};
  for (const d of model.dropouts) {
    const m = extra.dropoutMasks[d.name];
    if (!m) throw new Error(`missing dropout mask '${d.name}'`);
    out[d.name] = m;
  }
  return out;
}

export interface ObjectiveOptions {
  /** Report the accuracy metric (default true; turn off for regression targets). */
  readonly accuracy?: boolean;
}

/**
 * The model's outputs (logits) f [B·targetRows, outputDim] on traced data tensors named as in
 * `modelDataSpecs`; train-mode BatchNorm statistics go into `aux` when it is given.
 */
export function modelOutput(
  model: Model,
  mode: Mode,
  p: Record<string, Tensor>,
  d: Record<string, Tensor>,
  aux: Record<string, Tensor> = {},
): Tensor {
  const buffers: Record<string, Tensor> = {};
  const masks: Record<string, Tensor> = {};
  if (mode === 'eval') for (const b of model.buffers) buffers[b.name] = d[b.name]!;
  else for (const m of model.dropouts) masks[m.name] = d[m.name]!;
  const x = d.x;
  if (!x || !d.y) throw new Error("model objective needs data inputs 'x' and 'y'");
  return model.forward(p, x, { mode, buffers, dropoutMasks: masks, aux });
}

/**
 * Loss (and accuracy metric, and train-mode BatchNorm statistics as aux) of a model on traced
 * data tensors named as in `modelDataSpecs`.
 */
export function modelLoss(
  model: Model,
  loss: LossName,
  mode: Mode,
  p: Record<string, Tensor>,
  d: Record<string, Tensor>,
  opts: ObjectiveOptions = {},
): { loss: Tensor; metrics: Record<string, Tensor>; aux: Record<string, Tensor> } {
  const f = lossFn(loss);
  const aux: Record<string, Tensor> = {};
  const logits = modelOutput(model, mode, p, d, aux);
  const y = d.y!;
  const metrics: Record<string, Tensor> = {};
  if (opts.accuracy ?? true) metrics.accuracy = accuracy(logits, y);
  return { loss: f(logits, y), metrics, aux };
}

/**
 * The ObjectiveSpec of model + loss for chunks of `batchSize` samples in the given mode: data x
 * [B, ...inputShape], y [B, outputDim] (+ buffers in eval mode, dropout masks in train mode);
 * outputs the loss, the accuracy metric and (train mode) aux '<bn>.batch_mean' / '.batch_var'.
 * The loss is also given as ℓ(f, y) on the logits f, so the objective has Gauss–Newton products.
 */
export function objectiveSpec(
  model: Model,
  loss: LossName,
  batchSize: number,
  mode: Mode,
  dtype: 'float32' | 'float64' = 'float64',
  opts: ObjectiveOptions = {},
): ObjectiveSpec {
  const f = lossFn(loss); // validate the name now rather than at trace time
  return {
    params: model.params.map((p) => ({ name: p.name, shape: p.shape })),
    data: modelDataSpecs(model, batchSize, mode),
    dtype,
    loss(p, d): LossOutput {
      return modelLoss(model, loss, mode, p, d, opts);
    },
    outputs: {
      output: (p, d) => modelOutput(model, mode, p, d),
      outputLoss: (logits, d) => f(logits, d.y!),
    },
  };
}
