/**
 * Layers: small objects that declare their parameters (named `<layer>.<param>`, in forward
 * order), buffers and dropout masks, and apply them to traced tensors. Shapes in a layer's
 * declaration are per sample; the batch dimension comes from the input tensor at trace time.
 *
 * Conventions (PyTorch's): dense weight [out, in], conv weight [O, C, kh, kw], NCHW
 * activations; BatchNorm normalizes with the biased batch variance, eps 1e-5, and keeps
 * running statistics as buffers (not parameters) updated with momentum 0.1 from the unbiased
 * variance (see `updateRunningStats` in model.ts). The mode ('train' | 'eval') is always an
 * explicit argument: BatchNorm uses batch statistics in train mode and the running buffers
 * (fed as data inputs) in eval mode; dropout multiplies by a mask fed as a data input in train
 * mode and is the identity in eval mode.
 */
import type { Tensor } from '../engine/builder.ts';
import type { Shape } from '../engine/ir.ts';
import { size } from '../engine/ir.ts';
import * as o from '../engine/ops.ts';
import type { ParamSpec } from '../engine/params.ts';
import { activationFn, type ActivationName } from './activations.ts';

export type Mode = 'train' | 'eval';

/** What a parameter is, which decides how initializers treat it. */
export type ParamRole =
  | 'weight' // dense or conv weight: drawn by the init scheme
  | 'bias' // dense or conv bias: zero
  | 'norm-weight' // BatchNorm/LayerNorm scale γ: one
  | 'norm-bias' // BatchNorm/LayerNorm shift β: zero
  | 'fixup-scale' // Fixup scalar multiplier: one
  | 'fixup-bias'; // Fixup scalar bias: zero

/** A trainable parameter with the metadata initializers need. */
export interface ModelParam extends ParamSpec {
  readonly role: ParamRole;
  /** The layer it belongs to (the name without its last `.param` part). */
  readonly layer: string;
  /** Fan-in / fan-out as PyTorch computes them (conv: C·kh·kw / O·kh·kw); 1 for non-weights. */
  readonly fanIn: number;
  readonly fanOut: number;
  /** Place inside a residual branch, for Fixup: 'branch' (scaled) or 'branch-last' (zeroed). */
  readonly fixup?: 'branch' | 'branch-last';
  /** True for the parameters of the final (logit) layer. */
  readonly output?: boolean;
}

/** A non-trainable tensor (e.g. BatchNorm running statistics) and its initial value. */
export interface BufferSpec extends ParamSpec {
  readonly layer: string;
  readonly initial: number;
}

/** A dropout mask fed as a data input named `name` with shape [B, ...shape] in train mode. */
export interface DropoutSpec {
  readonly name: string;
  readonly layer: string;
  /** Per-sample shape of the mask. */
  readonly shape: Shape;
  /** Probability of dropping a unit. */
  readonly rate: number;
}

/** A BatchNorm layer's bookkeeping for running-statistics updates. */
export interface BatchNormInfo {
  readonly name: string;
  readonly channels: number;
  /** Values averaged per channel and sample (H·W for images, 1 for dense features). */
  readonly perSample: number;
  readonly eps: number;
  readonly momentum: number;
}

/** Everything a forward pass reads besides parameters and input, and where it writes extras. */
export interface ForwardContext {
  readonly mode: Mode;
  /** Buffers by name (e.g. 'bn1.running_mean' [C]); read in eval mode. */
  readonly buffers?: Record<string, Tensor>;
  /** Dropout masks by input name (e.g. 'drop1.mask' [B, ...]); read in train mode. */
  readonly dropoutMasks?: Record<string, Tensor>;
  /** Receives auxiliary outputs, e.g. 'bn1.batch_mean' and 'bn1.batch_var' [C] in train mode. */
  readonly aux?: Record<string, Tensor>;
  /** When given, receives each layer's output by layer name (and residual internals). */
  readonly taps?: Record<string, Tensor>;
}

export interface Layer {
  readonly name: string;
  /** Per-sample input and output shapes. */
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly params: readonly ModelParam[];
  readonly buffers: readonly BufferSpec[];
  readonly dropouts: readonly DropoutSpec[];
  readonly batchNorms: readonly BatchNormInfo[];
  /** Applies the layer to x [B, ...inShape], giving [B, ...outShape]. */
  apply(p: Record<string, Tensor>, x: Tensor, ctx: ForwardContext): Tensor;
}

/** The tensor of a named parameter/buffer/mask, or an error naming what is missing. */
export function need(table: Record<string, Tensor> | undefined, name: string, what: string): Tensor {
  const t = table?.[name];
  if (!t) throw new Error(`missing ${what} '${name}'`);
  return t;
}

function checkInput(layer: string, x: Tensor, inShape: Shape): void {
  const got = x.shape.slice(1);
  if (got.length !== inShape.length || got.some((d, i) => d !== inShape[i])) {
    throw new Error(`layer '${layer}': input per-sample shape [${got}] differs from declared [${inShape}]`);
  }
}

interface LeafParts {
  params?: ModelParam[];
  buffers?: BufferSpec[];
  dropouts?: DropoutSpec[];
  batchNorms?: BatchNormInfo[];
}

function leaf(name: string, inShape: Shape, outShape: Shape, parts: LeafParts, f: Layer['apply']): Layer {
  return {
    name,
    inShape: inShape.slice(),
    outShape: outShape.slice(),
    params: parts.params ?? [],
    buffers: parts.buffers ?? [],
    dropouts: parts.dropouts ?? [],
    batchNorms: parts.batchNorms ?? [],
    apply(p, x, ctx) {
      checkInput(name, x, inShape);
      const y = f(p, x, ctx);
      if (ctx.taps) ctx.taps[name] = y;
      return y;
    },
  };
}

const param = (layer: string, pname: string, shape: Shape, role: ParamRole, fanIn = 1, fanOut = 1): ModelParam => ({
  name: `${layer}.${pname}`,
  shape: shape.slice(),
  role,
  layer,
  fanIn,
  fanOut,
});

export interface DenseOptions {
  /** Include a bias (default true). */
  readonly bias?: boolean;
}

/** Fully connected layer: y = x Wᵀ + b with W [out, in], b [out]; x [B, in] → [B, out]. */
export function dense(name: string, inDim: number, outDim: number, opts: DenseOptions = {}): Layer {
  const params = [param(name, 'weight', [outDim, inDim], 'weight', inDim, outDim)];
  if (opts.bias ?? true) params.push(param(name, 'bias', [outDim], 'bias'));
  return leaf(name, [inDim], [outDim], { params }, (p, x) => {
    const y = o.matmul(x, need(p, `${name}.weight`, 'parameter'), false, true);
    return params.length > 1 ? o.add(y, need(p, `${name}.bias`, 'parameter')) : y;
  });
}

export interface ConvOptions {
  /** Square kernel size (default 3). */
  readonly kernel?: number;
  readonly stride?: number;
  /** Zero padding per side (default ⌊kernel/2⌋: 'same' for stride 1 and odd kernels). */
  readonly pad?: number;
  readonly bias?: boolean;
}

/** 2-D convolution, W [O, C, k, k], b [O]; x [B, C, H, W] → [B, O, H', W']. */
export function conv(name: string, inShape: Shape, outChannels: number, opts: ConvOptions = {}): Layer {
  if (inShape.length !== 3) throw new Error(`conv '${name}' needs a [C, H, W] input, got [${inShape}]`);
  const [c, h, w] = inShape as [number, number, number];
  const k = opts.kernel ?? 3;
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? Math.floor(k / 2);
  const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((w + 2 * pad - k) / stride) + 1;
  if (ho < 1 || wo < 1) throw new Error(`conv '${name}': kernel ${k} too large for input [${inShape}]`);
  const params = [param(name, 'weight', [outChannels, c, k, k], 'weight', c * k * k, outChannels * k * k)];
  if (opts.bias ?? true) params.push(param(name, 'bias', [outChannels], 'bias'));
  return leaf(name, inShape, [outChannels, ho, wo], { params }, (p, x) => {
    const y = o.conv2d(x, need(p, `${name}.weight`, 'parameter'), { stride, pad });
    if (params.length === 1) return y;
    return o.add(y, o.reshape(need(p, `${name}.bias`, 'parameter'), [1, outChannels, 1, 1]));
  });
}

export interface PoolOptions {
  /** Square window (default 2). */
  readonly kernel?: number;
  /** Default: the kernel size (non-overlapping windows). */
  readonly stride?: number;
}

function pool(kind: 'avg' | 'max', name: string, inShape: Shape, opts: PoolOptions): Layer {
  if (inShape.length !== 3) throw new Error(`${kind} pool '${name}' needs a [C, H, W] input, got [${inShape}]`);
  const k = opts.kernel ?? 2;
  const s = opts.stride ?? k;
  const [c, h, w] = inShape as [number, number, number];
  const ho = Math.floor((h - k) / s) + 1;
  const wo = Math.floor((w - k) / s) + 1;
  if (ho < 1 || wo < 1) throw new Error(`${kind} pool '${name}': window ${k} larger than input [${inShape}]`);
  const f = kind === 'avg' ? o.avgPool2d : o.maxPool2d;
  return leaf(name, inShape, [c, ho, wo], {}, (_p, x) => f(x, { kernel: k, stride: s }));
}

/** Average pooling over k×k windows (stride k by default). */
export const avgPool = (name: string, inShape: Shape, opts: PoolOptions = {}): Layer =>
  pool('avg', name, inShape, opts);
/** Max pooling over k×k windows (stride k by default). */
export const maxPool = (name: string, inShape: Shape, opts: PoolOptions = {}): Layer =>
  pool('max', name, inShape, opts);

/** [B, ...inShape] → [B, prod(inShape)] (row-major, as torch.flatten). */
export function flatten(name: string, inShape: Shape): Layer {
  const n = size(inShape);
  return leaf(name, inShape, [n], {}, (_p, x) => o.reshape(x, [x.shape[0]!, n]));
}

/** Global average pooling: [B, C, H, W] → [B, C]. */
export function globalAvgPool(name: string, inShape: Shape): Layer {
  if (inShape.length !== 3) throw new Error(`global average pool '${name}' needs a [C, H, W] input, got [${inShape}]`);
  return leaf(name, inShape, [inShape[0]!], {}, (_p, x) => o.globalAvgPool(x));
}

/** Elementwise activation by name. */
export function activation(name: string, kind: ActivationName, inShape: Shape): Layer {
  const f = activationFn(kind);
  return leaf(name, inShape, inShape, {}, (_p, x) => f(x));
}

/** Shape [1, C, 1, 1] (images) or [1, C] (features) for broadcasting a per-channel vector. */
function channelShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

/** Reduction axes of BatchNorm: all but the channel axis 1. */
function bnAxes(x: Tensor): number[] {
  return x.shape.map((_, i) => i).filter((i) => i !== 1);
}

/**
 * BatchNorm with batch statistics: y = (x − μ)/√(σ² + eps)·γ + β with μ, σ² (biased) over all
 * axes but axis 1. Returns y and the per-channel μ and σ² [C].
 */
export function batchNormTrain(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  eps: number,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const axes = bnAxes(x);
  const mu = o.mean(x, axes, true);
  const c = o.sub(x, mu);
  const v = o.mean(o.mul(c, c), axes, true);
  const cs = channelShape(x);
  const y = o.add(o.mul(o.mul(c, o.rsqrt(o.add(v, eps))), o.reshape(weight, cs)), o.reshape(bias, cs));
  const ch = x.shape[1]!;
  return { y, mean: o.reshape(mu, [ch]), variance: o.reshape(v, [ch]) };
}

/** BatchNorm with given (running) statistics mean, variance [C]. */
export function batchNormEval(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  mean: Tensor,
  variance: Tensor,
  eps: number,
): Tensor {
  const cs = channelShape(x);
  const scale = o.mul(o.rsqrt(o.add(o.reshape(variance, cs), eps)), o.reshape(weight, cs));
  return o.add(o.mul(o.sub(x, o.reshape(mean, cs)), scale), o.reshape(bias, cs));
}

export interface BatchNormOptions {
  readonly eps?: number;
  /** Running-statistics momentum (PyTorch convention: new = (1−m)·old + m·batch); default 0.1. */
  readonly momentum?: number;
}

/**
 * BatchNorm over channels (axis 1) for [C] features or [C, H, W] images. Params
 * `<name>.weight`, `<name>.bias` [C]; buffers `<name>.running_mean` (init 0) and
 * `<name>.running_var` (init 1) [C]. Train mode writes aux `<name>.batch_mean` and
 * `<name>.batch_var` (biased) [C].
 */
export function batchNorm(name: string, inShape: Shape, opts: BatchNormOptions = {}): Layer {
  if (inShape.length !== 1 && inShape.length !== 3)
    throw new Error(`batch norm '${name}' needs [C] or [C, H, W] input, got [${inShape}]`);
  const ch = inShape[0]!;
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const perSample = inShape.length === 3 ? inShape[1]! * inShape[2]! : 1;
  return leaf(
    name,
    inShape,
    inShape,
    {
      params: [param(name, 'weight', [ch], 'norm-weight'), param(name, 'bias', [ch], 'norm-bias')],
      buffers: [
        { name: `${name}.running_mean`, shape: [ch], layer: name, initial: 0 },
        { name: `${name}.running_var`, shape: [ch], layer: name, initial: 1 },
      ],
      batchNorms: [{ name, channels: ch, perSample, eps, momentum }],
    },
    (p, x, ctx) => {
      const w = need(p, `${name}.weight`, 'parameter');
      const b = need(p, `${name}.bias`, 'parameter');
      if (ctx.mode === 'eval') {
        return batchNormEval(
          x,
          w,
          b,
          need(ctx.buffers, `${name}.running_mean`, 'buffer'),
          need(ctx.buffers, `${name}.running_var`, 'buffer'),
          eps,
        );
      }
      const { y, mean, variance } = batchNormTrain(x, w, b, eps);
      if (ctx.aux) {
        ctx.aux[`${name}.batch_mean`] = mean;
        ctx.aux[`${name}.batch_var`] = variance;
      }
      return y;
    },
  );
}

/** LayerNorm over all per-sample axes: (x − μ)/√(σ² + eps)·γ + β, μ, σ² per sample. */
export function layerNormApply(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  const axes = x.shape.map((_, i) => i).slice(1);
  const mu = o.mean(x, axes, true);
  const c = o.sub(x, mu);
  const v = o.mean(o.mul(c, c), axes, true);
  return o.add(o.mul(o.mul(c, o.rsqrt(o.add(v, eps))), weight), bias);
}

/** LayerNorm (same in both modes): params `<name>.weight`, `<name>.bias` of the per-sample shape. */
export function layerNorm(name: string, inShape: Shape, opts: { eps?: number } = {}): Layer {
  const eps = opts.eps ?? 1e-5;
  return leaf(
    name,
    inShape,
    inShape,
    {
      params: [param(name, 'weight', inShape, 'norm-weight'), param(name, 'bias', inShape, 'norm-bias')],
    },
    (p, x) => layerNormApply(x, need(p, `${name}.weight`, 'parameter'), need(p, `${name}.bias`, 'parameter'), eps),
  );
}

/**
 * Inverted dropout: in train mode y = x ⊙ mask with the mask (values 0 or 1/(1−rate)) fed as
 * data input `<name>.mask` [B, ...inShape] (drawn in JS from an Rng: see `sampleDropoutMasks`);
 * the identity in eval mode.
 */
export function dropout(name: string, inShape: Shape, rate: number): Layer {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout '${name}': rate must be in [0, 1), got ${rate}`);
  const maskName = `${name}.mask`;
  return leaf(
    name,
    inShape,
    inShape,
    { dropouts: [{ name: maskName, layer: name, shape: inShape.slice(), rate }] },
    (_p, x, ctx) => (ctx.mode === 'eval' ? x : o.mul(x, need(ctx.dropoutMasks, maskName, 'dropout mask'))),
  );
}

/** Layers applied in order; params, buffers and masks concatenate in forward order. */
export function sequential(name: string, layers: readonly Layer[]): Layer {
  if (layers.length === 0) throw new Error(`sequential '${name}' has no layers`);
  for (let i = 1; i < layers.length; i++) {
    const a = layers[i - 1]!.outShape;
    const b = layers[i]!.inShape;
    if (a.length !== b.length || a.some((d, j) => d !== b[j])) {
      throw new Error(
        `sequential '${name}': '${layers[i - 1]!.name}' gives [${a}] but '${layers[i]!.name}' takes [${b}]`,
      );
    }
  }
  return {
    name,
    inShape: layers[0]!.inShape,
    outShape: layers[layers.length - 1]!.outShape,
    params: layers.flatMap((l) => l.params),
    buffers: layers.flatMap((l) => l.buffers),
    dropouts: layers.flatMap((l) => l.dropouts),
    batchNorms: layers.flatMap((l) => l.batchNorms),
    apply(p, x, ctx) {
      let h = x;
      for (const l of layers) h = l.apply(p, h, ctx);
      return h;
    },
  };
}

/** A learnable scalar (shape [1]) added to or multiplying a tensor; Fixup's biases and scales. */
export function scalarParam(layer: string, pname: string, role: 'fixup-bias' | 'fixup-scale'): ModelParam {
  return param(layer, pname, [1], role);
}

export interface ResidualOptions {
  readonly stride?: number;
  readonly activation?: ActivationName;
  /** Insert BatchNorm after each conv (and on a projection shortcut). */
  readonly batchnorm?: boolean;
  /** Conv biases (ignored with batchnorm or fixup, where they are redundant/replaced). */
  readonly bias?: boolean;
  /** Fixup's scalar biases and multiplier (Zhang et al. 2019); requires batchnorm off. */
  readonly fixup?: boolean;
}

/**
 * A basic residual block (He et al. 2016, CIFAR variant): two 3×3 convs, shortcut = identity or
 * (when stride ≠ 1 or channels change) a 1×1 strided projection conv (+BN).
 *   plain/BN: out = act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x))
 *   Fixup:    out = act(scale·conv2(act(conv1(x + b1a) + b1b) + b2a) + b2b + shortcut)
 *             with shortcut = x, or proj(x + b1a) (as in the Fixup reference code).
 * Taps (when requested): `<name>.branch`, `<name>.shortcut`, `<name>.preact` (their sum) and
 * `<name>` (the output).
 */
export function residualBlock(name: string, inShape: Shape, outChannels: number, opts: ResidualOptions = {}): Layer {
  if (inShape.length !== 3) throw new Error(`residual block '${name}' needs a [C, H, W] input, got [${inShape}]`);
  const stride = opts.stride ?? 1;
  const bn = opts.batchnorm ?? false;
  const fixup = opts.fixup ?? false;
  if (bn && fixup) throw new Error(`residual block '${name}': Fixup is for networks without normalization`);
  const convBias = !bn && !fixup && (opts.bias ?? true);
  const act = activationFn(opts.activation ?? 'relu');
  const conv1 = conv(`${name}.conv1`, inShape, outChannels, { kernel: 3, stride, bias: convBias });
  const conv2 = conv(`${name}.conv2`, conv1.outShape, outChannels, { kernel: 3, stride: 1, bias: convBias });
  const bn1 = bn ? batchNorm(`${name}.bn1`, conv1.outShape) : null;
  const bn2 = bn ? batchNorm(`${name}.bn2`, conv2.outShape) : null;
  const project = stride !== 1 || inShape[0] !== outChannels;
  const sc = project
    ? conv(`${name}.shortcut`, inShape, outChannels, { kernel: 1, stride, pad: 0, bias: convBias })
    : null;
  const scBn = project && bn ? batchNorm(`${name}.shortcut_bn`, sc!.outShape) : null;
  if (sc && (sc.outShape[1] !== conv2.outShape[1] || sc.outShape[2] !== conv2.outShape[2])) {
    throw new Error(`residual block '${name}': shortcut [${sc.outShape}] and branch [${conv2.outShape}] shapes differ`);
  }
  const mark = (ps: readonly ModelParam[], tag: 'branch' | 'branch-last'): ModelParam[] =>
    ps.map((p) => (p.role === 'weight' ? { ...p, fixup: tag } : p));
  const fx = fixup
    ? {
        b1a: scalarParam(name, 'bias1a', 'fixup-bias'),
        b1b: scalarParam(name, 'bias1b', 'fixup-bias'),
        b2a: scalarParam(name, 'bias2a', 'fixup-bias'),
        scale: scalarParam(name, 'scale', 'fixup-scale'),
        b2b: scalarParam(name, 'bias2b', 'fixup-bias'),
      }
    : null;
  const params: ModelParam[] = fx
    ? [
        fx.b1a,
        ...mark(conv1.params, 'branch'),
        fx.b1b,
        fx.b2a,
        ...mark(conv2.params, 'branch-last'),
        fx.scale,
        fx.b2b,
        ...(sc?.params ?? []),
      ]
    : [
        ...conv1.params,
        ...(bn1?.params ?? []),
        ...conv2.params,
        ...(bn2?.params ?? []),
        ...(sc?.params ?? []),
        ...(scBn?.params ?? []),
      ];
  const subs = [bn1, bn2, scBn].filter((l): l is Layer => l !== null);
  const outShape = conv2.outShape;
  return {
    name,
    inShape: inShape.slice(),
    outShape,
    params,
    buffers: subs.flatMap((l) => l.buffers),
    dropouts: [],
    batchNorms: subs.flatMap((l) => l.batchNorms),
    apply(p, x, ctx) {
      checkInput(name, x, inShape);
      const s = (t: ModelParam): Tensor => need(p, t.name, 'parameter');
      let branch: Tensor;
      let shortcut: Tensor;
      if (fx) {
        const xa = o.add(x, s(fx.b1a));
        let h = act(o.add(conv1.apply(p, xa, ctx), s(fx.b1b)));
        h = conv2.apply(p, o.add(h, s(fx.b2a)), ctx);
        branch = o.add(o.mul(h, s(fx.scale)), s(fx.b2b));
        shortcut = sc ? sc.apply(p, xa, ctx) : x;
      } else {
        let h = conv1.apply(p, x, ctx);
        if (bn1) h = bn1.apply(p, h, ctx);
        h = act(h);
        h = conv2.apply(p, h, ctx);
        if (bn2) h = bn2.apply(p, h, ctx);
        branch = h;
        shortcut = sc ? sc.apply(p, x, ctx) : x;
        if (scBn) shortcut = scBn.apply(p, shortcut, ctx);
      }
      const pre = o.add(branch, shortcut);
      const out = act(pre);
      if (ctx.taps) {
        ctx.taps[`${name}.branch`] = branch;
        ctx.taps[`${name}.shortcut`] = shortcut;
        ctx.taps[`${name}.preact`] = pre;
        ctx.taps[name] = out;
      }
      return out;
    },
  };
}
