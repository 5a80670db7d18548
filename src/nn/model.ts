/**
 * Models: an architecture built from layers, with its parameters in one flat vector
 * (ParameterLayout, forward order, names `<layer>.<param>`), its buffers in another, explicit
 * train/eval modes and seeded initialization. `buildModel` makes the architectures of the
 * `model:` config key: mlp, cnn, resnet, deep-linear.
 *
 * Naming (PyTorch-like): mlp / deep-linear `fc1 … fcL` with norms `bn1`/`ln1` and dropouts
 * `drop1` numbered by the dense layer they follow; cnn `conv1 … convK` (+ `bn1 …`), pools
 * `pool1 …`, then `fc1 …`; resnet `conv1` (+`bn1`) stem, blocks `layer<s>.<b>` (with
 * `.conv1`, `.bn1`, `.conv2`, `.bn2`, `.shortcut`, `.shortcut_bn`, and for Fixup
 * `.bias1a .bias1b .bias2a .scale .bias2b`), then `fc` (Fixup adds `conv1.fixup_bias` and
 * `fc.fixup_bias`). Biases of layers directly followed by BatchNorm are omitted (BN cancels them
 * exactly, so they would only add null directions to the Hessian).
 */
import type { Tensor } from '../engine/builder.ts';
import type { Shape } from '../engine/ir.ts';
import { size } from '../engine/ir.ts';
import * as o from '../engine/ops.ts';
import { ParameterLayout } from '../engine/params.ts';
import type { Rng } from '../util/random.ts';
import { buildTransformer, LN_PLACEMENTS, type LnPlacement, type Role as TransformerRole } from './transformer.ts';
import { ACTIVATIONS, isActivationName, type ActivationName } from './activations.ts';
import {
  defaultBase,
  FIXUP_LR_SCALE,
  INIT_SCHEMES,
  initBuffers,
  initParams,
  isInitScheme,
  type InitConfig,
} from './init.ts';
import {
  activation,
  avgPool,
  batchNorm,
  conv,
  dense,
  dropout,
  flatten,
  globalAvgPool,
  layerNorm,
  maxPool,
  need,
  residualBlock,
  scalarParam,
  sequential,
  type BatchNormInfo,
  type BufferSpec,
  type DropoutSpec,
  type ForwardContext,
  type Layer,
  type ModelParam,
} from './layers.ts';

export const ARCHS = ['mlp', 'cnn', 'resnet', 'deep-linear', 'transformer'] as const;
export type Arch = (typeof ARCHS)[number];
export const NORMS = ['none', 'batchnorm', 'layernorm'] as const;
export type NormName = (typeof NORMS)[number];
export const POOLS = ['avg', 'max'] as const;
export type PoolName = (typeof POOLS)[number];

/** The `model:` config section (keys as in DESIGN.md; missing keys take per-arch defaults). */
export interface ModelConfig {
  readonly arch: Arch;
  /** Hidden widths: mlp/deep-linear (default [200, 200]); cnn's dense head (default []). */
  readonly widths?: readonly number[];
  /** cnn: channels of each conv (default [16, 32]); resnet: channels of each stage (default [16, 32, 64]). */
  readonly channels?: readonly number[];
  /** resnet: residual blocks per stage (default 1). */
  readonly depth?: number;
  /** Default tanh (mlp), relu (cnn, resnet); deep-linear is identity only. */
  readonly activation?: ActivationName;
  readonly norm?: NormName;
  readonly bias?: boolean;
  /** cnn: pooling after each conv (default avg). */
  readonly pool?: PoolName;
  /** mlp: dropout rate after each hidden activation (default 0 = none). */
  readonly dropout?: number;
  readonly init?: InitConfig;
  /** transformer: its sizes and LayerNorm placement (context and vocabulary come from the data). */
  readonly transformer?: TransformerModelConfig;
}

/** The `model.transformer` section (snake_case as in the config). */
export interface TransformerModelConfig {
  readonly d_model?: number;
  readonly heads?: number;
  readonly layers?: number;
  /** MLP width; null/absent = 4 · d_model. */
  readonly d_ff?: number | null;
  readonly ln?: LnPlacement;
}

/** A ModelConfig with every default filled in. */
export interface ResolvedModelConfig {
  readonly arch: Arch;
  readonly widths: readonly number[];
  readonly channels: readonly number[];
  readonly depth: number;
  readonly activation: ActivationName;
  readonly norm: NormName;
  readonly bias: boolean;
  readonly pool: PoolName;
  readonly dropout: number;
  readonly init: Required<InitConfig>;
  /** transformer only (else null), defaults filled. */
  readonly transformer: Required<TransformerModelConfig> | null;
}

export interface Model {
  readonly config: ResolvedModelConfig;
  /** Trainable parameters in forward order ('fc1.weight' [out, in], …). */
  readonly params: readonly ModelParam[];
  /** Non-trainable buffers (e.g. 'bn1.running_mean'), fed as data inputs in eval mode. */
  readonly buffers: readonly BufferSpec[];
  /** Dropout masks (data inputs in train mode). */
  readonly dropouts: readonly DropoutSpec[];
  readonly batchNorms: readonly BatchNormInfo[];
  readonly layout: ParameterLayout;
  readonly bufferLayout: ParameterLayout;
  /** Per-sample input shape, e.g. [784] or [1, 28, 28]. */
  readonly inputShape: Shape;
  readonly outputDim: number;
  /** Residual branches L and layers per branch m (0 and 0 for non-residual nets). */
  readonly residual: { readonly branches: number; readonly layersPerBranch: number };
  /** The top-level layers, in order. */
  readonly layers: readonly Layer[];
  /** Logits [B, outputDim] from x [B, ...inputShape]; train-mode BN writes batch stats to ctx.aux. */
  forward(p: Record<string, Tensor>, x: Tensor, ctx: ForwardContext): Tensor;
  /** Seeded initialization by config.init (metainit/gradinit: their base draw; see initializeModel). */
  init(rng: Rng): { params: Float64Array; buffers: Float64Array };
  /** Rows of targets per sample (transformer: one per position, T); default 1. */
  readonly targetRows?: number;
  /** The dtype x is fed as (transformer: int64 token indices); default the objective's float type. */
  readonly inputDtype?: 'int64';
}

const KNOWN_KEYS = [
  'arch',
  'widths',
  'channels',
  'depth',
  'activation',
  'norm',
  'bias',
  'pool',
  'dropout',
  'init',
  'transformer',
];
const TRANSFORMER_KEYS = ['d_model', 'heads', 'layers', 'd_ff', 'ln'];
const INIT_KEYS = ['scheme', 'scale', 'zero_last', 'base', 'fixup_lr_scale'];

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Error(`model.${key}: got ${JSON.stringify(v)}; allowed: ${allowed.join(', ')}`);
  }
  return v as T;
}

function positiveInts(key: string, v: unknown, allowEmpty: boolean): number[] {
  if (!Array.isArray(v) || (!allowEmpty && v.length === 0) || v.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new Error(
      `model.${key}: must be a ${allowEmpty ? '' : 'non-empty '}list of positive integers, got ${JSON.stringify(v)}`,
    );
  }
  return v.slice();
}

/** Fills defaults and validates; errors name the key and the allowed values. */
export function resolveModelConfig(cfg: ModelConfig): ResolvedModelConfig {
  for (const k of Object.keys(cfg))
    if (!KNOWN_KEYS.includes(k)) throw new Error(`model: unknown key '${k}'; allowed: ${KNOWN_KEYS.join(', ')}`);
  const arch = oneOf('arch', cfg.arch, ARCHS);
  const initIn = cfg.init ?? { scheme: 'lecun-normal' };
  for (const k of Object.keys(initIn))
    if (!INIT_KEYS.includes(k)) throw new Error(`model.init: unknown key '${k}'; allowed: ${INIT_KEYS.join(', ')}`);
  if (!isInitScheme(initIn.scheme))
    throw new Error(`model.init.scheme: got ${JSON.stringify(initIn.scheme)}; allowed: ${INIT_SCHEMES.join(', ')}`);
  const defaultAct: ActivationName = arch === 'mlp' ? 'tanh' : arch === 'deep-linear' ? 'identity' : 'relu';
  const act = cfg.activation ?? defaultAct;
  const init: Required<InitConfig> = {
    scheme: initIn.scheme,
    scale: initIn.scale ?? 1,
    zero_last: initIn.zero_last ?? false,
    base: initIn.base ?? defaultBase(act),
    fixup_lr_scale: initIn.fixup_lr_scale ?? FIXUP_LR_SCALE,
  };
  if (!(Number.isFinite(init.scale) && init.scale >= 0))
    throw new Error(`model.init.scale must be a number ≥ 0, got ${init.scale}`);
  if (!(Number.isFinite(init.fixup_lr_scale) && init.fixup_lr_scale >= 0))
    throw new Error(`model.init.fixup_lr_scale must be a number ≥ 0, got ${init.fixup_lr_scale}`);
  if (!isActivationName(act))
    throw new Error(`model.activation: got ${JSON.stringify(act)}; allowed: ${ACTIVATIONS.join(', ')}`);
  if (arch === 'deep-linear' && act !== 'identity')
    throw new Error(`model.activation: deep-linear has no nonlinearity (identity), got '${act}'`);
  const norm = oneOf('norm', cfg.norm ?? 'none', NORMS);
  if (norm === 'layernorm' && arch !== 'mlp')
    throw new Error(`model.norm: layernorm is available for arch mlp only (got arch ${arch})`);
  if (norm !== 'none' && arch === 'deep-linear') throw new Error('model.norm: deep-linear takes no normalization');
  const pool = oneOf('pool', cfg.pool ?? 'avg', POOLS);
  const dropoutRate = cfg.dropout ?? 0;
  if (!(dropoutRate >= 0 && dropoutRate < 1)) throw new Error(`model.dropout: must be in [0, 1), got ${dropoutRate}`);
  if (dropoutRate > 0 && arch !== 'mlp')
    throw new Error(`model.dropout: available for arch mlp only (got arch ${arch})`);
  const depth = cfg.depth ?? 1;
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`model.depth: must be a positive integer, got ${depth}`);
  if (init.scheme === 'fixup') {
    if (arch !== 'resnet') throw new Error(`model.init.scheme fixup is for arch resnet (got ${arch})`);
    if (norm !== 'none')
      throw new Error('model.init.scheme fixup is for residual nets without normalization (set model.norm: none)');
  }
  const widths = positiveInts('widths', cfg.widths ?? (arch === 'cnn' || arch === 'resnet' ? [] : [200, 200]), true);
  const channels = positiveInts('channels', cfg.channels ?? (arch === 'resnet' ? [16, 32, 64] : [16, 32]), false);
  const bias = cfg.bias ?? true;
  if (typeof bias !== 'boolean') throw new Error(`model.bias: must be true or false, got ${JSON.stringify(bias)}`);
  let transformer: Required<TransformerModelConfig> | null = null;
  if (cfg.transformer !== undefined && arch !== 'transformer')
    throw new Error(`model.transformer: only for arch transformer (got arch ${arch})`);
  if (arch === 'transformer') {
    const t = cfg.transformer ?? {};
    for (const k of Object.keys(t))
      if (!TRANSFORMER_KEYS.includes(k))
        throw new Error(`model.transformer: unknown key '${k}'; allowed: ${TRANSFORMER_KEYS.join(', ')}`);
    if (norm !== 'none')
      throw new Error('model.norm: must be none for arch transformer (LayerNorm placement is model.transformer.ln)');
    if (init.scheme !== 'lecun-normal')
      throw new Error(`model.init.scheme: arch transformer has its own init (lecun-normal; got ${init.scheme})`);
    transformer = {
      d_model: t.d_model ?? 32,
      heads: t.heads ?? 2,
      layers: t.layers ?? 2,
      d_ff: t.d_ff ?? null,
      ln: oneOf('transformer.ln', t.ln ?? 'pre', LN_PLACEMENTS),
    };
  }
  return {
    arch,
    widths,
    channels,
    depth,
    activation: act,
    norm,
    bias: arch === 'deep-linear' ? false : bias,
    pool,
    dropout: dropoutRate,
    init,
    transformer,
  };
}

/**
 * arch transformer as a Model: src/nn/transformer.ts over token windows x [B, T] (fed as int64)
 * with V = numClasses; logits [B·T, V] against targets [B·T, V] (`targetRows` = T). No buffers,
 * dropout or BatchNorm; the transformer's own init, its dense weights scaled by model.init.scale.
 */
function transformerModel(c: ResolvedModelConfig, inputShape: Shape, numClasses: number): Model {
  if (inputShape.length !== 1)
    throw new Error(`arch transformer needs token windows [T] as inputs, got [${inputShape}] (data.name text-sonnets)`);
  const t = c.transformer!;
  const tm = buildTransformer({
    vocab: numClasses,
    context: inputShape[0]!,
    dModel: t.d_model,
    heads: t.heads,
    layers: t.layers,
    dFF: t.d_ff ?? undefined,
    norm: t.ln,
    initScale: c.init.scale,
  });
  const roles: Record<TransformerRole, ModelParam['role']> = {
    embedding: 'weight',
    weight: 'weight',
    bias: 'bias',
    'ln-weight': 'norm-weight',
    'ln-bias': 'norm-bias',
  };
  const params: ModelParam[] = tm.params.map((p) => ({
    name: p.name,
    shape: p.shape,
    role: roles[p.role],
    layer: p.name.slice(0, p.name.lastIndexOf('.')),
    fanIn: p.fanIn,
    fanOut: p.shape.length === 2 ? p.shape[0]! : 1,
    ...(p.name.startsWith('head.') ? { output: true } : {}),
  }));
  return {
    config: c,
    params,
    buffers: [],
    dropouts: [],
    batchNorms: [],
    layout: tm.layout,
    bufferLayout: new ParameterLayout([]),
    inputShape: inputShape.slice(),
    outputDim: numClasses,
    residual: { branches: 2 * t.layers, layersPerBranch: 2 },
    layers: [],
    forward: (p, x) => tm.forward(p, x),
    init: (rng) => ({ params: tm.init(rng), buffers: new Float64Array(0) }),
    targetRows: inputShape[0]!,
    inputDtype: 'int64',
  };
}

/** Marks the parameters of the final layer as output parameters. */
function markOutput(params: readonly ModelParam[], layer: string): ModelParam[] {
  return params.map((p) => (p.layer === layer ? { ...p, output: true } : p));
}

/** Dense stack: [dense → norm → act → dropout] per hidden width, then dense to numClasses. */
function mlpLayers(c: ResolvedModelConfig, inDim: number, numClasses: number): Layer[] {
  const layers: Layer[] = [];
  let d = inDim;
  c.widths.forEach((w, i) => {
    const k = i + 1;
    layers.push(dense(`fc${k}`, d, w, { bias: c.bias && c.norm !== 'batchnorm' }));
    if (c.norm === 'batchnorm') layers.push(batchNorm(`bn${k}`, [w]));
    if (c.norm === 'layernorm') layers.push(layerNorm(`ln${k}`, [w]));
    if (c.activation !== 'identity') layers.push(activation(`act${k}`, c.activation, [w]));
    if (c.dropout > 0) layers.push(dropout(`drop${k}`, [w], c.dropout));
    d = w;
  });
  layers.push(dense(`fc${c.widths.length + 1}`, d, numClasses, { bias: c.bias }));
  return layers;
}

function cnnLayers(c: ResolvedModelConfig, inShape: Shape, numClasses: number): Layer[] {
  if (inShape.length !== 3)
    throw new Error(`arch cnn needs [C, H, W] inputs, got [${inShape}] (set data.flatten: false)`);
  const layers: Layer[] = [];
  let s: Shape = inShape;
  const bn = c.norm === 'batchnorm';
  c.channels.forEach((ch, i) => {
    const k = i + 1;
    const cv = conv(`conv${k}`, s, ch, { kernel: 3, bias: c.bias && !bn });
    layers.push(cv);
    s = cv.outShape;
    if (bn) layers.push(batchNorm(`bn${k}`, s));
    layers.push(activation(`act${k}`, c.activation, s));
    if (s[1]! < 2 || s[2]! < 2)
      throw new Error(`arch cnn: input [${inShape}] is too small for ${c.channels.length} conv+pool stages`);
    const pl = c.pool === 'max' ? maxPool(`pool${k}`, s, { kernel: 2 }) : avgPool(`pool${k}`, s, { kernel: 2 });
    layers.push(pl);
    s = pl.outShape;
  });
  layers.push(flatten('flatten', s));
  let d = size(s);
  c.widths.forEach((w, i) => {
    layers.push(dense(`fc${i + 1}`, d, w, { bias: c.bias }));
    layers.push(activation(`fc_act${i + 1}`, c.activation, [w]));
    d = w;
  });
  layers.push(dense(`fc${c.widths.length + 1}`, d, numClasses, { bias: c.bias }));
  return layers;
}

function resnetLayers(
  c: ResolvedModelConfig,
  inShape: Shape,
  numClasses: number,
): { layers: Layer[]; branches: number } {
  if (inShape.length !== 3)
    throw new Error(`arch resnet needs [C, H, W] inputs, got [${inShape}] (set data.flatten: false)`);
  const bn = c.norm === 'batchnorm';
  const fixup = c.init.scheme === 'fixup';
  const layers: Layer[] = [];
  const stem = conv('conv1', inShape, c.channels[0]!, { kernel: 3, bias: c.bias && !bn && !fixup });
  layers.push(stem);
  let s = stem.outShape;
  if (bn) layers.push(batchNorm('bn1', s));
  if (fixup) layers.push(biasLayer('conv1', s));
  layers.push(activation('act1', c.activation, s));
  let branches = 0;
  c.channels.forEach((ch, si) => {
    for (let b = 0; b < c.depth; b++) {
      const stride = si > 0 && b === 0 ? 2 : 1;
      if (stride === 2 && (s[1]! < 2 || s[2]! < 2))
        throw new Error(`arch resnet: input [${inShape}] too small for ${c.channels.length} stages`);
      const blk = residualBlock(`layer${si + 1}.${b}`, s, ch, {
        stride,
        activation: c.activation,
        batchnorm: bn,
        bias: c.bias,
        fixup,
      });
      layers.push(blk);
      s = blk.outShape;
      branches++;
    }
  });
  layers.push(globalAvgPool('pool', s));
  if (fixup) layers.push(biasLayer('fc', [s[0]!]));
  layers.push(dense('fc', s[0]!, numClasses, { bias: c.bias || fixup }));
  return { layers, branches };
}

/** Fixup's scalar bias `<layer>.fixup_bias` added to a tensor. */
function biasLayer(layer: string, shape: Shape): Layer {
  const prm = scalarParam(layer, 'fixup_bias', 'fixup-bias');
  return {
    name: `${layer}.fixup_bias`,
    inShape: shape.slice(),
    outShape: shape.slice(),
    params: [prm],
    buffers: [],
    dropouts: [],
    batchNorms: [],
    apply: (p, x) => o.add(x, need(p, prm.name, 'parameter')),
  };
}

/**
 * Builds an architecture for per-sample inputs of `inputShape` and `numClasses` outputs.
 * mlp flattens image inputs first.
 */
export function buildModel(config: ModelConfig, inputShape: Shape, numClasses: number): Model {
  const c = resolveModelConfig(config);
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new Error(`number of outputs must be a positive integer, got ${numClasses}`);
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(`bad input shape [${inputShape}]`);
  if (c.arch === 'transformer') return transformerModel(c, inputShape, numClasses);
  let layers: Layer[];
  let residual = { branches: 0, layersPerBranch: 0 };
  switch (c.arch) {
    case 'mlp':
    case 'deep-linear':
      layers = [
        ...(inputShape.length > 1 ? [flatten('flatten', inputShape)] : []),
        ...mlpLayers(c, size(inputShape), numClasses),
      ];
      break;
    case 'cnn':
      layers = cnnLayers(c, inputShape, numClasses);
      break;
    case 'resnet': {
      const r = resnetLayers(c, inputShape, numClasses);
      layers = r.layers;
      residual = { branches: r.branches, layersPerBranch: 2 };
      break;
    }
  }
  const net = sequential('model', layers);
  const last = layers[layers.length - 1]!.name;
  const params = markOutput(net.params, last);
  const layout = new ParameterLayout(params);
  const bufferLayout = new ParameterLayout(net.buffers);
  const model: Model = {
    config: c,
    params,
    buffers: net.buffers,
    dropouts: net.dropouts,
    batchNorms: net.batchNorms,
    layout,
    bufferLayout,
    inputShape: inputShape.slice(),
    outputDim: numClasses,
    residual,
    layers,
    forward(p, x, ctx) {
      const y = net.apply(p, x, ctx);
      return y;
    },
    init(rng) {
      return { params: initParams(model, c.init, rng), buffers: initBuffers(net.buffers) };
    },
  };
  return model;
}

/**
 * Inverted-dropout masks for one batch, keyed by data-input name ('drop1.mask'): each entry is
 * 0 with probability `rate`, else 1/(1 − rate); [B, ...shape] flat. Draws layer by layer.
 */
export function sampleDropoutMasks(model: Model, rng: Rng, batchSize: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const d of model.dropouts) {
    const n = batchSize * size(d.shape);
    const m = new Float64Array(n);
    const keep = 1 / (1 - d.rate);
    for (let i = 0; i < n; i++) m[i] = rng.uniform() < d.rate ? 0 : keep;
    out[d.name] = m;
  }
  return out;
}

/**
 * Running-statistics update after a train-mode step (PyTorch convention): for each BatchNorm,
 * running_mean ← (1−m)·running_mean + m·batch_mean, running_var ← (1−m)·running_var +
 * m·batch_var·n/(n−1) (unbiased), n = batchSize·H·W. `aux` holds the train-mode outputs
 * '<bn>.batch_mean' / '<bn>.batch_var'. Returns a new flat buffer vector.
 */
export function updateRunningStats(
  model: Model,
  buffers: ArrayLike<number>,
  aux: Record<string, ArrayLike<number>>,
  batchSize: number,
  momentum?: number,
): Float64Array {
  const out = Float64Array.from(buffers);
  const views = model.bufferLayout.split(out);
  for (const bn of model.batchNorms) {
    const m = momentum ?? bn.momentum;
    const mean = aux[`${bn.name}.batch_mean`];
    const v = aux[`${bn.name}.batch_var`];
    if (!mean || !v)
      throw new Error(
        `updateRunningStats: aux output for batch norm '${bn.name}' missing (was the objective run in train mode?)`,
      );
    const n = batchSize * bn.perSample;
    const corr = n > 1 ? n / (n - 1) : 1;
    const rm = views[`${bn.name}.running_mean`]!;
    const rv = views[`${bn.name}.running_var`]!;
    for (let i = 0; i < bn.channels; i++) {
      rm[i] = (1 - m) * rm[i]! + m * mean[i]!;
      rv[i] = (1 - m) * rv[i]! + m * v[i]! * corr;
    }
  }
  return out;
}
