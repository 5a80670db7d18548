/**
 * The graph IR: a list of typed nodes with static shapes, each one primitive applied to earlier
 * nodes. Models, losses and their derivatives are all graphs of these ~35 primitives; the
 * autodiff transforms map graphs to graphs, and the backends execute them.
 */

export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type Shape = readonly number[];

/** Attributes of 2-D convolution and pooling windows (NCHW layout). */
export interface Window2d {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Symmetric zero padding (top/bottom, left/right). */
  readonly pad: readonly [number, number];
  readonly dilation: readonly [number, number];
}

export interface ConvAttrs {
  readonly stride: readonly [number, number];
  readonly pad: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** Every primitive, with its attributes. Inputs are listed in the comments. */
export type Op =
  | { kind: 'input'; name: string }
  | { kind: 'constant'; data: Float64Array } // data.length = prod(shape)
  // elementwise binary with numpy broadcasting: (a, b)
  | { kind: 'add' }
  | { kind: 'sub' }
  | { kind: 'mul' }
  | { kind: 'div' }
  | { kind: 'pow' }
  | { kind: 'maximum' }
  | { kind: 'greater' }
  | { kind: 'less' }
  | { kind: 'equal' } // -> bool
  // elementwise unary: (a)
  | { kind: 'neg' }
  | { kind: 'exp' }
  | { kind: 'log' }
  | { kind: 'tanh' }
  | { kind: 'sigmoid' }
  | { kind: 'sqrt' }
  | { kind: 'abs' }
  | { kind: 'sign' }
  | { kind: 'erf' }
  | { kind: 'stopGradient' }
  | { kind: 'cast'; to: DType }
  // (cond, a, b)
  | { kind: 'where' }
  // reductions: (a)
  | { kind: 'reduceSum'; axes: readonly number[]; keepDims: boolean }
  | { kind: 'reduceMax'; axes: readonly number[]; keepDims: boolean }
  // layout: (a) or (a, b, ...)
  | { kind: 'reshape'; shape: Shape }
  | { kind: 'transpose'; perm: readonly number[] }
  | { kind: 'broadcastTo'; shape: Shape }
  | { kind: 'concat'; axis: number }
  | { kind: 'slice'; axis: number; start: number; end: number }
  | { kind: 'pad'; axis: number; before: number; after: number } // zero padding
  // linear algebra: (a, b); a and b rank 2, or rank 3 with equal batch dims
  | { kind: 'matmul'; transA: boolean; transB: boolean }
  // convolution, NCHW / OIHW: conv2d(x, w); conv2dBackInput(gy, w) has x's shape;
  // conv2dBackWeight(x, gy) has w's shape. The three are the partial derivatives of the
  // trilinear form <conv2d(x, w), gy>, which keeps all their derivatives inside this set.
  | ({ kind: 'conv2d' } & ConvAttrs)
  | ({ kind: 'conv2dBackInput'; inputShape: Shape } & ConvAttrs)
  | ({ kind: 'conv2dBackWeight'; weightShape: Shape } & ConvAttrs)
  // pooling (NCHW): avgPool2d(x) (zero padding counted), avgPool2dBack(gy) is its adjoint
  | ({ kind: 'avgPool2d' } & Window2d)
  | ({ kind: 'avgPool2dBack'; inputShape: Shape } & Window2d)
  // maxPool2d(x); maxPoolGather(x, t): t at the argmax positions of x's windows (linear in t);
  // maxPoolScatter(x, g): its adjoint, g added at those positions (linear in g)
  | ({ kind: 'maxPool2d' } & Window2d)
  | ({ kind: 'maxPoolGather' } & Window2d)
  | ({ kind: 'maxPoolScatter' } & Window2d)
  // gather(table, indices): rows of table (axis 0); gatherBack(g, indices): scatter-add adjoint
  | { kind: 'gather' }
  | { kind: 'gatherBack'; rows: number };

export type OpKind = Op['kind'];

export interface Node {
  readonly id: number;
  readonly op: Op;
  readonly inputs: readonly number[];
  readonly shape: Shape;
  readonly dtype: DType;
}

/** A finished graph: nodes in topological order, named inputs and outputs. */
export interface Graph {
  readonly nodes: readonly Node[];
  /** Ids of the input nodes, in the order the graph's caller feeds them. */
  readonly inputs: readonly number[];
  readonly outputs: readonly { readonly name: string; readonly id: number }[];
}

export const size = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';

export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** Numpy broadcasting of two shapes; throws with both shapes named when incompatible. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Output size of a sliding window along one axis. */
export function windowOut(inSize: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((inSize + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/** Ops whose output is a linear function of the given input position (others fixed). */
export const ELEMENTWISE_UNARY: ReadonlySet<OpKind> = new Set([
  'neg',
  'exp',
  'log',
  'tanh',
  'sigmoid',
  'sqrt',
  'abs',
  'sign',
  'erf',
  'stopGradient',
]);
export const ELEMENTWISE_BINARY: ReadonlySet<OpKind> = new Set([
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'greater',
  'less',
  'equal',
]);
