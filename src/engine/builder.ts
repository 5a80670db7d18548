/**
 * The tracer: a `GraphBuilder` records primitives applied to symbolic `Tensor`s, inferring
 * and checking shapes and dtypes as it goes, so models and losses are ordinary TypeScript
 * functions of tensors. Transforms (vjp, jvp) append to the same builder.
 */
import {
  type ConvAttrs,
  type DType,
  type Graph,
  type Node,
  type Op,
  type Shape,
  broadcastShapes,
  fmtShape,
  isFloat,
  shapeEq,
  size,
  windowOut,
} from './ir.ts';

/** A symbolic tensor: a node of a graph under construction. */
export class Tensor {
  constructor(
    readonly builder: GraphBuilder,
    readonly id: number,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return size(this.shape);
  }
  get node(): Node {
    return this.builder.nodes[this.id]!;
  }
  toString(): string {
    return `Tensor#${this.id}<${this.dtype}${fmtShape(this.shape)}>`;
  }
}

/** Records nodes in topological order (a node's inputs always precede it). */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  private readonly inputIds: number[] = [];
  private readonly inputNames = new Set<string>();

  /** Declares a graph input (a placeholder fed at run time). */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    if (this.inputNames.has(name)) throw new Error(`duplicate graph input name '${name}'`);
    this.inputNames.add(name);
    const t = this.emit({ kind: 'input', name }, [], shape, dtype);
    this.inputIds.push(t.id);
    return t;
  }

  /** A constant tensor; a number gives a scalar (shape []). */
  constant(value: number | ArrayLike<number>, shape: Shape = [], dtype: DType = 'float32'): Tensor {
    const data = typeof value === 'number' ? new Float64Array(size(shape)).fill(value) : Float64Array.from(value);
    if (data.length !== size(shape)) {
      throw new Error(`constant has ${data.length} values but shape ${fmtShape(shape)}`);
    }
    return this.emit({ kind: 'constant', data }, [], shape, dtype);
  }

  tensor(id: number): Tensor {
    const n = this.nodes[id];
    if (!n) throw new Error(`no node #${id}`);
    return new Tensor(this, id, n.shape, n.dtype);
  }

  /** Appends a primitive after checking its inputs; returns the new tensor. */
  apply(op: Op, inputs: readonly Tensor[]): Tensor {
    for (const t of inputs) {
      if (t.builder !== this) throw new Error(`${t} belongs to another graph`);
    }
    const [shape, dtype] = inferShape(op, inputs);
    return this.emit(
      op,
      inputs.map((t) => t.id),
      shape,
      dtype,
    );
  }

  /** Freezes the graph with the given named outputs (inputs in declaration order). */
  build(outputs: Record<string, Tensor>): Graph {
    return {
      nodes: this.nodes.slice(),
      inputs: this.inputIds.slice(),
      outputs: Object.entries(outputs).map(([name, t]) => ({ name, id: t.id })),
    };
  }

  private emit(op: Op, inputs: number[], shape: Shape, dtype: DType): Tensor {
    const id = this.nodes.length;
    const s = Object.freeze(shape.slice());
    this.nodes.push(Object.freeze({ id, op, inputs: Object.freeze(inputs), shape: s, dtype }));
    return new Tensor(this, id, s, dtype);
  }
}

function fail(op: Op, msg: string): never {
  throw new Error(`${op.kind}: ${msg}`);
}

function sameDtype(op: Op, ts: readonly Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) if (t.dtype !== d) fail(op, `dtype mismatch ${ts.map((x) => x.dtype).join(' vs ')}`);
  return d;
}

function normAxes(op: Op, axes: readonly number[], rank: number): number[] {
  return axes.map((a) => {
    const b = a < 0 ? a + rank : a;
    if (b < 0 || b >= rank) fail(op, `axis ${a} out of range for rank ${rank}`);
    return b;
  });
}

/** Output shape of a convolution of an NCHW input x by an OIHW weight w. */
function convOutShape(op: Op & ConvAttrs, x: Shape, w: Shape): number[] {
  if (x.length !== 4 || w.length !== 4)
    fail(op, `needs NCHW input and OIHW weight, got ${fmtShape(x)}, ${fmtShape(w)}`);
  if (x[1] !== w[1]! * op.groups || w[0]! % op.groups !== 0) {
    fail(op, `channels: input ${fmtShape(x)}, weight ${fmtShape(w)}, groups ${op.groups}`);
  }
  const ho = windowOut(x[2]!, w[2]!, op.stride[0], op.pad[0], op.dilation[0]);
  const wo = windowOut(x[3]!, w[3]!, op.stride[1], op.pad[1], op.dilation[1]);
  if (ho < 1 || wo < 1) fail(op, `kernel larger than padded input ${fmtShape(x)}`);
  return [x[0]!, w[0]!, ho, wo];
}

/** Shape and dtype of a primitive's output; throws a message naming the op on misuse. */
export function inferShape(op: Op, xs: readonly Tensor[]): [Shape, DType] {
  const arity = (n: number): void => {
    if (xs.length !== n) fail(op, `expects ${n} inputs, got ${xs.length}`);
  };
  switch (op.kind) {
    case 'input':
    case 'constant':
      return fail(op, 'is created by the builder, not applied');
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
    case 'pow':
    case 'maximum': {
      arity(2);
      const d = sameDtype(op, xs);
      return [broadcastShapes(xs[0]!.shape, xs[1]!.shape), d];
    }
    case 'greater':
    case 'less':
    case 'equal':
      arity(2);
      sameDtype(op, xs);
      return [broadcastShapes(xs[0]!.shape, xs[1]!.shape), 'bool'];
    case 'neg':
    case 'exp':
    case 'log':
    case 'tanh':
    case 'sigmoid':
    case 'sqrt':
    case 'abs':
    case 'sign':
    case 'erf':
    case 'stopGradient':
      arity(1);
      if (!isFloat(xs[0]!.dtype) && op.kind !== 'stopGradient') fail(op, `needs a float input, got ${xs[0]!.dtype}`);
      return [xs[0]!.shape, xs[0]!.dtype];
    case 'cast':
      arity(1);
      return [xs[0]!.shape, op.to];
    case 'where': {
      arity(3);
      if (xs[0]!.dtype !== 'bool') fail(op, `condition must be bool, got ${xs[0]!.dtype}`);
      const d = sameDtype(op, xs.slice(1));
      return [broadcastShapes(broadcastShapes(xs[0]!.shape, xs[1]!.shape), xs[2]!.shape), d];
    }
    case 'reduceSum':
    case 'reduceMax': {
      arity(1);
      const r = xs[0]!.rank;
      const axes = new Set(normAxes(op, op.axes, r));
      const out: number[] = [];
      xs[0]!.shape.forEach((d, i) => {
        if (!axes.has(i)) out.push(d);
        else if (op.keepDims) out.push(1);
      });
      return [out, xs[0]!.dtype];
    }
    case 'reshape':
      arity(1);
      if (size(op.shape) !== xs[0]!.size) fail(op, `cannot reshape ${fmtShape(xs[0]!.shape)} to ${fmtShape(op.shape)}`);
      return [op.shape, xs[0]!.dtype];
    case 'transpose': {
      arity(1);
      const r = xs[0]!.rank;
      if (op.perm.length !== r || [...op.perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
        fail(op, `perm [${op.perm}] is not a permutation of rank ${r}`);
      }
      return [op.perm.map((p) => xs[0]!.shape[p]!), xs[0]!.dtype];
    }
    case 'broadcastTo': {
      arity(1);
      const b = broadcastShapes(xs[0]!.shape, op.shape);
      if (!shapeEq(b, op.shape)) fail(op, `cannot broadcast ${fmtShape(xs[0]!.shape)} to ${fmtShape(op.shape)}`);
      return [op.shape, xs[0]!.dtype];
    }
    case 'concat': {
      if (xs.length < 1) fail(op, 'needs at least one input');
      const d = sameDtype(op, xs);
      const r = xs[0]!.rank;
      const ax = normAxes(op, [op.axis], r)[0]!;
      const out = xs[0]!.shape.slice();
      out[ax] = 0;
      for (const t of xs) {
        if (t.rank !== r || t.shape.some((v, i) => i !== ax && v !== xs[0]!.shape[i])) {
          fail(op, `shapes ${xs.map((x) => fmtShape(x.shape)).join(', ')} differ off axis ${op.axis}`);
        }
        out[ax]! += t.shape[ax]!;
      }
      return [out, d];
    }
    case 'slice': {
      arity(1);
      const ax = normAxes(op, [op.axis], xs[0]!.rank)[0]!;
      const n = xs[0]!.shape[ax]!;
      if (!(op.start >= 0 && op.start <= op.end && op.end <= n)) fail(op, `range ${op.start}:${op.end} outside 0:${n}`);
      const out = xs[0]!.shape.slice();
      out[ax] = op.end - op.start;
      return [out, xs[0]!.dtype];
    }
    case 'pad': {
      arity(1);
      const ax = normAxes(op, [op.axis], xs[0]!.rank)[0]!;
      if (op.before < 0 || op.after < 0) fail(op, 'negative padding');
      const out = xs[0]!.shape.slice();
      out[ax]! += op.before + op.after;
      return [out, xs[0]!.dtype];
    }
    case 'matmul': {
      arity(2);
      const d = sameDtype(op, xs);
      const [a, b] = [xs[0]!.shape, xs[1]!.shape];
      if (a.length !== b.length || (a.length !== 2 && a.length !== 3)) {
        fail(op, `needs two rank-2 or two rank-3 inputs, got ${fmtShape(a)} and ${fmtShape(b)}`);
      }
      const r = a.length;
      if (r === 3 && a[0] !== b[0]) fail(op, `batch dims differ: ${fmtShape(a)} vs ${fmtShape(b)}`);
      const m = op.transA ? a[r - 1]! : a[r - 2]!;
      const ka = op.transA ? a[r - 2]! : a[r - 1]!;
      const kb = op.transB ? b[r - 1]! : b[r - 2]!;
      const n = op.transB ? b[r - 2]! : b[r - 1]!;
      if (ka !== kb)
        fail(op, `inner dims differ: ${fmtShape(a)}${op.transA ? 'ᵀ' : ''} x ${fmtShape(b)}${op.transB ? 'ᵀ' : ''}`);
      return [r === 3 ? [a[0]!, m, n] : [m, n], d];
    }
    case 'conv2d':
      arity(2);
      return [convOutShape(op, xs[0]!.shape, xs[1]!.shape), sameDtype(op, xs)];
    case 'conv2dBackInput': {
      arity(2);
      const d = sameDtype(op, xs);
      const want = convOutShape(op, op.inputShape, xs[1]!.shape);
      if (!shapeEq(want, xs[0]!.shape))
        fail(op, `cotangent ${fmtShape(xs[0]!.shape)} is not the conv output shape ${fmtShape(want)}`);
      return [op.inputShape, d];
    }
    case 'conv2dBackWeight': {
      arity(2);
      const d = sameDtype(op, xs);
      const want = convOutShape(op, xs[0]!.shape, op.weightShape);
      if (!shapeEq(want, xs[1]!.shape))
        fail(op, `cotangent ${fmtShape(xs[1]!.shape)} is not the conv output shape ${fmtShape(want)}`);
      return [op.weightShape, d];
    }
    case 'avgPool2d':
    case 'maxPool2d': {
      arity(1);
      const x = xs[0]!.shape;
      if (x.length !== 4) fail(op, `needs NCHW input, got ${fmtShape(x)}`);
      const ho = windowOut(x[2]!, op.kernel[0], op.stride[0], op.pad[0], op.dilation[0]);
      const wo = windowOut(x[3]!, op.kernel[1], op.stride[1], op.pad[1], op.dilation[1]);
      if (ho < 1 || wo < 1) fail(op, `window larger than padded input ${fmtShape(x)}`);
      return [[x[0]!, x[1]!, ho, wo], xs[0]!.dtype];
    }
    case 'avgPool2dBack':
      arity(1);
      return [op.inputShape, xs[0]!.dtype];
    case 'maxPoolGather': {
      arity(2);
      const [s] = inferShape({ ...op, kind: 'maxPool2d' }, [xs[0]!]);
      if (!shapeEq(xs[1]!.shape, xs[0]!.shape)) fail(op, 'tangent must have the input shape');
      return [s, sameDtype(op, xs)];
    }
    case 'maxPoolScatter': {
      arity(2);
      const [s] = inferShape({ ...op, kind: 'maxPool2d' }, [xs[0]!]);
      if (!shapeEq(xs[1]!.shape, s)) fail(op, `cotangent must have the pooled shape ${fmtShape(s)}`);
      return [xs[0]!.shape, sameDtype(op, xs)];
    }
    case 'gather': {
      arity(2);
      if (xs[1]!.dtype !== 'int64') fail(op, `indices must be int64, got ${xs[1]!.dtype}`);
      return [[...xs[1]!.shape, ...xs[0]!.shape.slice(1)], xs[0]!.dtype];
    }
    case 'gatherBack': {
      arity(2);
      if (xs[1]!.dtype !== 'int64') fail(op, `indices must be int64, got ${xs[1]!.dtype}`);
      const ir = xs[1]!.rank;
      return [[op.rows, ...xs[0]!.shape.slice(ir)], xs[0]!.dtype];
    }
  }
}
