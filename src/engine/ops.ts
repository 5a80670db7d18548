/**
 * The tensor functions models are written with: the primitives of ir.ts plus composites
 * (relu, softmax, logSoftmax, mean, …) built from them, so every composite is differentiable
 * to any order by construction. Numbers are promoted to scalar constants of the other
 * operand's dtype.
 */
import { Tensor } from './builder.ts';
import {
  type ConvAttrs,
  type DType,
  type Op,
  type Shape,
  type Window2d,
  broadcastShapes,
  shapeEq,
  size,
} from './ir.ts';

export type TensorLike = Tensor | number;

function lift(x: TensorLike, like: Tensor): Tensor {
  return typeof x === 'number' ? like.builder.constant(x, [], like.dtype) : x;
}

function binary(
  kind: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'greater' | 'less' | 'equal',
  a: TensorLike,
  b: TensorLike,
): Tensor {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${kind}: at least one operand must be a tensor`);
  const ref = (typeof a === 'number' ? b : a) as Tensor;
  const ta = lift(a, ref);
  const tb = lift(b, ref);
  return ref.builder.apply({ kind } as Op, [ta, tb]);
}

const unary =
  (kind: 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'sqrt' | 'abs' | 'sign' | 'erf' | 'stopGradient') =>
  (x: Tensor): Tensor =>
    x.builder.apply({ kind } as Op, [x]);

/** Elementwise a + b (broadcasting). */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
/** Elementwise a − b (broadcasting). */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
/** Elementwise a · b (broadcasting). */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
/** Elementwise a / b (broadcasting). */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
/** Elementwise a ** b (broadcasting). */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
/** Elementwise max(a, b); ties route the derivative to a. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** Elementwise min(a, b). */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => neg(maximum(neg(asTensor(a, b)), neg(asTensor(b, a))));
export const greater = (a: TensorLike, b: TensorLike): Tensor => binary('greater', a, b);
export const less = (a: TensorLike, b: TensorLike): Tensor => binary('less', a, b);
export const equal = (a: TensorLike, b: TensorLike): Tensor => binary('equal', a, b);

function asTensor(x: TensorLike, other: TensorLike): Tensor {
  if (typeof x !== 'number') return x;
  if (typeof other === 'number') throw new Error('at least one operand must be a tensor');
  return lift(x, other);
}

export const neg = unary('neg');
export const exp = unary('exp');
export const log = unary('log');
export const tanh = unary('tanh');
export const sigmoid = unary('sigmoid');
export const sqrt = unary('sqrt');
export const abs = unary('abs');
export const sign = unary('sign');
export const erf = unary('erf');
/** Identity whose derivative is zero (treats x as a constant for autodiff). */
export const stopGradient = unary('stopGradient');

/** 1/√x. */
export const rsqrt = (x: Tensor): Tensor => div(1, sqrt(x));
export const square = (x: Tensor): Tensor => mul(x, x);

/** cond ? a : b, elementwise with broadcasting. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const ref = (typeof a === 'number' ? b : a) as Tensor;
  if (typeof ref === 'number') throw new Error('where: a or b must be a tensor');
  return cond.builder.apply({ kind: 'where' }, [cond, lift(a, ref), lift(b, ref)]);
}

export function cast(x: Tensor, to: DType): Tensor {
  return x.dtype === to ? x : x.builder.apply({ kind: 'cast', to }, [x]);
}

const allAxes = (x: Tensor): number[] => x.shape.map((_, i) => i);

/** Sum over axes (all axes by default). */
export function sum(x: Tensor, axes: readonly number[] = allAxes(x), keepDims = false): Tensor {
  if (axes.length === 0) return x;
  return x.builder.apply({ kind: 'reduceSum', axes: axes.slice(), keepDims }, [x]);
}

/** Max over axes (all by default); ties share the derivative. */
export function max(x: Tensor, axes: readonly number[] = allAxes(x), keepDims = false): Tensor {
  if (axes.length === 0) return x;
  return x.builder.apply({ kind: 'reduceMax', axes: axes.slice(), keepDims }, [x]);
}

/** Mean over axes (all by default). */
export function mean(x: Tensor, axes: readonly number[] = allAxes(x), keepDims = false): Tensor {
  const n = axes.reduce((p, a) => p * x.shape[a < 0 ? a + x.rank : a]!, 1);
  return mul(sum(x, axes, keepDims), 1 / n);
}

export function reshape(x: Tensor, shape: Shape): Tensor {
  // A -1 entry is inferred from the others.
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const s = shape.map((d) => (d === -1 ? x.size / known : d));
  if (shapeEq(s, x.shape)) return x;
  return x.builder.apply({ kind: 'reshape', shape: s }, [x]);
}

export function transpose(x: Tensor, perm: readonly number[] = allAxes(x).reverse()): Tensor {
  if (perm.every((p, i) => p === i)) return x;
  return x.builder.apply({ kind: 'transpose', perm: perm.slice() }, [x]);
}

export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (shapeEq(x.shape, shape)) return x;
  return x.builder.apply({ kind: 'broadcastTo', shape: shape.slice() }, [x]);
}

/** Sums x down to `shape` (the adjoint of broadcasting `shape` up to x's shape). */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (shapeEq(x.shape, shape)) return x;
  const lead = x.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(x, axes, true), shape);
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 1) return xs[0]!;
  return xs[0]!.builder.apply({ kind: 'concat', axis }, xs);
}

/** x[start:end] along axis. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  if (start === 0 && end === x.shape[ax]) return x;
  return x.builder.apply({ kind: 'slice', axis: ax, start, end }, [x]);
}

/** Zero padding along one axis. */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  if (before === 0 && after === 0) return x;
  const ax = axis < 0 ? axis + x.rank : axis;
  return x.builder.apply({ kind: 'pad', axis: ax, before, after }, [x]);
}

/** op(a)·op(b) for rank-2 (or equal-batch rank-3) tensors; op = transpose when flagged. */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  return a.builder.apply({ kind: 'matmul', transA, transB }, [a, b]);
}

/** A 2-D size: one number for both axes, or [height, width]. */
export type Pair = number | readonly [number, number];
export interface ConvOptions {
  stride?: Pair;
  pad?: Pair;
  dilation?: Pair;
  groups?: number;
}
const pair = (v: Pair | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

export function convAttrs(o: ConvOptions = {}): ConvAttrs {
  return { stride: pair(o.stride, 1), pad: pair(o.pad, 0), dilation: pair(o.dilation, 1), groups: o.groups ?? 1 };
}

/** 2-D convolution (cross-correlation, as in PyTorch): x [N,C,H,W], w [O,C/groups,kh,kw]. */
export function conv2d(x: Tensor, w: Tensor, o: ConvOptions = {}): Tensor {
  return x.builder.apply({ kind: 'conv2d', ...convAttrs(o) }, [x, w]);
}

/** The adjoint of conv2d in x: maps an output cotangent gy to x's shape. */
export function conv2dBackInput(gy: Tensor, w: Tensor, attrs: ConvAttrs, inputShape: Shape): Tensor {
  return gy.builder.apply({ kind: 'conv2dBackInput', ...convAttrs(attrs), inputShape: inputShape.slice() }, [gy, w]);
}

/** The adjoint of conv2d in w: correlates x with an output cotangent gy. */
export function conv2dBackWeight(x: Tensor, gy: Tensor, attrs: ConvAttrs, weightShape: Shape): Tensor {
  return x.builder.apply({ kind: 'conv2dBackWeight', ...convAttrs(attrs), weightShape: weightShape.slice() }, [x, gy]);
}

export interface PoolOptions {
  kernel: Pair;
  stride?: Pair;
  pad?: Pair;
}

/** The window fields of a pooling op (drops any other keys). */
export function windowOf(w: Window2d): Window2d {
  return {
    kernel: [w.kernel[0], w.kernel[1]],
    stride: [w.stride[0], w.stride[1]],
    pad: [w.pad[0], w.pad[1]],
    dilation: [w.dilation[0], w.dilation[1]],
  };
}
function window(o: PoolOptions) {
  const kernel = pair(o.kernel, 1);
  return { kernel, stride: pair(o.stride ?? kernel, 1), pad: pair(o.pad, 0), dilation: [1, 1] as [number, number] };
}

/** Average pooling (NCHW); padded zeros count in the average. */
export function avgPool2d(x: Tensor, o: PoolOptions): Tensor {
  return x.builder.apply({ kind: 'avgPool2d', ...window(o) }, [x]);
}

/** Max pooling (NCHW). */
export function maxPool2d(x: Tensor, o: PoolOptions): Tensor {
  return x.builder.apply({ kind: 'maxPool2d', ...window(o) }, [x]);
}

/** Global average pooling: [N,C,H,W] → [N,C]. */
export function globalAvgPool(x: Tensor): Tensor {
  return mean(x, [2, 3]);
}

/** Rows of table (axis 0) at integer indices: [..idx, ...table.shape[1:]]. */
export function gather(table: Tensor, indices: Tensor): Tensor {
  return table.builder.apply({ kind: 'gather' }, [table, indices]);
}

// ---- activations and losses (composites) ----

export const relu = (x: Tensor): Tensor => where(greater(x, 0), x, 0);
export const identity = (x: Tensor): Tensor => x;
export const elu = (x: Tensor, alpha = 1): Tensor => where(greater(x, 0), x, mul(sub(exp(minimum(x, 0)), 1), alpha));
/** softplus(x) = log(1 + eˣ), computed stably as max(x,0) + log(1 + e^−|x|). */
export const softplus = (x: Tensor): Tensor => add(maximum(x, 0), log(add(exp(neg(abs(x))), 1)));
/** Exact GELU: x·Φ(x). */
export const gelu = (x: Tensor): Tensor => mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));

/** log-softmax along an axis, stabilized by subtracting the (gradient-stopped) max. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  const shifted = sub(x, stopGradient(max(x, [ax], true)));
  return sub(shifted, log(sum(exp(shifted), [ax], true)));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  const e = exp(sub(x, stopGradient(max(x, [ax], true))));
  return div(e, sum(e, [ax], true));
}

/** Number of elements of a shape. */
export const numel = size;
export { broadcastShapes };
