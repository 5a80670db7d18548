/**
 * Shared machinery of the learned initializers (MetaInit, GradInit): one traced graph in which
 * some parameter tensors are multiplied by scalar inputs s_j, so that any quantity built from
 * the loss and its derivatives (gradients, HVPs) can be differentiated once more with respect
 * to the per-tensor scales. Everything runs through a Runtime, like CompiledObjective.
 */
import { GraphBuilder, type Tensor } from '../engine/builder.ts';
import type { Executable, Feeds, Outputs, Runtime } from '../engine/backend.ts';
import { size } from '../engine/ir.ts';
import * as o from '../engine/ops.ts';
import { simplify } from '../engine/passes.ts';
import type { Mode } from './layers.ts';
import { modelDataSpecs, modelFeeds, modelLoss, type LossName } from './losses.ts';
import type { Model } from './model.ts';

/** One minibatch, flat: x [B, ...inputShape], y [B, outputDim] (one-hot rows for classification). */
export interface InitBatch {
  readonly x: Float32Array | Float64Array | readonly number[];
  readonly y: Float32Array | Float64Array | readonly number[];
}

/** The problem a learned initializer works on. */
export interface LearnedInitSetup {
  readonly runtime: Runtime;
  readonly model: Model;
  readonly loss: LossName;
  readonly batch: InitBatch;
  /** BatchNorm/dropout mode of the network during the procedure (default 'train'). */
  readonly mode?: Mode;
  /** Buffers (needed in eval mode when the model has BatchNorm). */
  readonly buffers?: Float64Array;
  /** Dropout masks for the batch (needed in train mode when the model has dropout). */
  readonly dropoutMasks?: Record<string, Float64Array>;
  /** Graph dtype (default float64 on the reference backend, float32 on ort). */
  readonly dtype?: 'float32' | 'float64';
}

export const SCALE_PREFIX = 'scale:';

export function batchSizeOf(model: Model, batch: InitBatch): number {
  const per = size(model.inputShape);
  const b = batch.x.length / per;
  if (!Number.isInteger(b) || b < 1)
    throw new Error(`batch x has ${batch.x.length} values, not a multiple of the sample size ${per}`);
  if (batch.y.length !== b * model.outputDim)
    throw new Error(`batch y has ${batch.y.length} values, expected ${b}·${model.outputDim}`);
  return b;
}

export interface ScaledTrace {
  readonly b: GraphBuilder;
  /** Scale inputs s_j (shape []), one per scaled parameter, in the order given. */
  readonly scales: readonly Tensor[];
  /** Effective parameters: s_j·θ_j for scaled tensors, θ_j otherwise (all model params, by name). */
  readonly p: Record<string, Tensor>;
  /** Model loss at parameters q on the primary batch (or on a batch with other x/y tensors). */
  lossAt(q: Record<string, Tensor>, xy?: { x: Tensor; y: Tensor }): Tensor;
  /** Declares another x/y pair of data inputs (same shapes) under a prefix. */
  extraBatch(prefix: string): { x: Tensor; y: Tensor };
}

/**
 * Traces `body` over a graph whose inputs are the model parameters, the scale scalars of
 * `scaled` (named 'scale:<param>') and the model data inputs; compiles it on the runtime.
 */
export async function compileScaled(
  setup: LearnedInitSetup,
  scaled: readonly string[],
  body: (t: ScaledTrace) => Record<string, Tensor>,
): Promise<Executable> {
  const { model } = setup;
  const mode = setup.mode ?? 'train';
  const dtype = setup.dtype ?? (setup.runtime.backend === 'reference' ? 'float64' : 'float32');
  const bsz = batchSizeOf(model, setup.batch);
  const b = new GraphBuilder();
  const theta: Record<string, Tensor> = {};
  for (const s of model.params) theta[s.name] = b.input(s.name, s.shape, dtype);
  const scales = scaled.map((n) => b.input(`${SCALE_PREFIX}${n}`, [], dtype));
  const data: Record<string, Tensor> = {};
  for (const s of modelDataSpecs(model, bsz, mode)) data[s.name] = b.input(s.name, s.shape, s.dtype ?? dtype);
  const p: Record<string, Tensor> = { ...theta };
  scaled.forEach((n, i) => {
    if (!theta[n]) throw new Error(`unknown parameter '${n}'`);
    p[n] = o.mul(theta[n], scales[i]!);
  });
  const trace: ScaledTrace = {
    b,
    scales,
    p,
    lossAt: (q, xy) => modelLoss(model, setup.loss, mode, q, xy ? { ...data, ...xy } : data, { accuracy: false }).loss,
    extraBatch: (prefix) => ({
      x: b.input(`${prefix}x`, [bsz, ...model.inputShape], dtype),
      y: b.input(`${prefix}y`, [bsz, model.outputDim], dtype),
    }),
  };
  const outputs = body(trace);
  return setup.runtime.compile(simplify(b.build(outputs)));
}

/** Feeds for a compiled scaled graph: θ (flat), scale values, the batch, buffers/masks. */
export function scaledFeeds(
  setup: LearnedInitSetup,
  theta: Float64Array,
  scaled: readonly string[],
  scaleValues: ArrayLike<number>,
  extra: Feeds = {},
): Feeds {
  const mode = setup.mode ?? 'train';
  const f: Feeds = { ...setup.model.layout.split(theta) };
  scaled.forEach((n, i) => (f[`${SCALE_PREFIX}${n}`] = [scaleValues[i]!]));
  f.x = setup.batch.x;
  f.y = setup.batch.y;
  Object.assign(f, modelFeeds(setup.model, mode, { buffers: setup.buffers, dropoutMasks: setup.dropoutMasks }), extra);
  return f;
}

/** Σ over tensors of a reduction, as a scalar tensor. */
export function total(ts: readonly Tensor[], f: (t: Tensor) => Tensor): Tensor {
  return ts.map((t) => o.sum(f(t))).reduce((a, c) => o.add(a, c));
}

/** The first value of a named output. */
export function scalarOut(out: Outputs, name: string): number {
  const v = out[name];
  if (!v) throw new Error(`graph output '${name}' missing`);
  return v[0]!;
}

/** Euclidean norm of the slice of a flat vector holding one parameter. */
export function paramNorm(model: Model, theta: Float64Array, name: string): number {
  const v = model.layout.view(theta, name);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}
