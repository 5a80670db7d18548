/**
 * Lowers a graph of the IR to an ONNX model (opset 17) for onnxruntime. Each primitive maps
 * to one or a few standard ONNX operators; the conv/pool adjoints map to ConvTranspose and to
 * Conv with batch and channel axes exchanged, and max-pool gather/scatter use MaxPool's
 * Indices output with Gather / ScatterElements(add).
 */
import type { DType, Graph, Node, Shape } from '../ir.ts';
import { broadcastShapes, size, windowOut } from '../ir.ts';

const isFloatType = (d: DType): boolean => d === 'float32' || d === 'float64';
import type { OnnxAttribute, OnnxElemType, OnnxModel, OnnxNode, OnnxTensorValue } from './proto.ts';

const ELEM: Record<DType, OnnxElemType> = { float32: 'float32', float64: 'float64', int64: 'int64', bool: 'bool' };
/** TensorProto.DataType codes, for Cast's `to`. */
const CAST_TO: Record<DType, number> = { float32: 1, float64: 11, int64: 7, bool: 9 };

function tensorValue(name: string, dtype: DType, dims: readonly number[], data: ArrayLike<number>): OnnxTensorValue {
  const d = dims.slice();
  switch (dtype) {
    case 'float32':
      return { name, type: 'float32', dims: d, data: Float32Array.from(data) };
    case 'float64':
      return { name, type: 'float64', dims: d, data: Float64Array.from(data) };
    case 'int64':
      return { name, type: 'int64', dims: d, data: BigInt64Array.from(Array.from(data, (v) => BigInt(Math.trunc(v)))) };
    case 'bool':
      return { name, type: 'bool', dims: d, data: Uint8Array.from(data, (v) => (v ? 1 : 0)) };
  }
}

const int = (name: string, value: number): OnnxAttribute => ({ name, kind: 'int', value });
const ints = (name: string, value: readonly number[]): OnnxAttribute => ({ name, kind: 'ints', value: value.slice() });

/** Builds the ONNX node list; one instance per lowering. */
class Lowering {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensorValue[] = [];
  private tmp = 0;
  private readonly consts = new Map<string, string>();

  constructor(
    private readonly g: Graph,
    private readonly names: string[],
  ) {}

  fresh(hint: string): string {
    return `${hint}_${this.tmp++}`;
  }

  /** A constant initializer (deduplicated by value for small ones). */
  constant(dtype: DType, dims: readonly number[], data: ArrayLike<number>): string {
    const small = data.length <= 64;
    const key = small ? `${dtype}|${dims.join(',')}|${Array.from(data).join(',')}` : '';
    if (small && this.consts.has(key)) return this.consts.get(key)!;
    const name = this.fresh('const');
    this.initializers.push(tensorValue(name, dtype, dims, data));
    if (small) this.consts.set(key, name);
    return name;
  }

  i64(values: readonly number[]): string {
    return this.constant('int64', [values.length], values);
  }

  emit(opType: string, inputs: string[], attributes: OnnxAttribute[] = [], output?: string, nOut = 1): string[] {
    const outputs = [output ?? this.fresh(opType.toLowerCase())];
    for (let k = 1; k < nOut; k++) outputs.push(this.fresh(`${opType.toLowerCase()}_out${k}`));
    this.nodes.push({ opType, inputs, outputs, attributes });
    return outputs;
  }

  one(opType: string, inputs: string[], attributes: OnnxAttribute[] = [], output?: string): string {
    return this.emit(opType, inputs, attributes, output)[0]!;
  }

  name(id: number): string {
    return this.names[id]!;
  }

  shape(id: number): Shape {
    return this.g.nodes[id]!.shape;
  }

  lowerNode(n: Node): void {
    const out = this.name(n.id);
    const ins = n.inputs.map((i) => this.name(i));
    const op = n.op;
    const simple = (t: string, attrs: OnnxAttribute[] = []): void => void this.one(t, ins, attrs, out);
    switch (op.kind) {
      case 'input':
        return;
      case 'constant':
        this.initializers.push(tensorValue(out, n.dtype, n.shape, op.data));
        return;
      case 'add':
        return simple('Add');
      case 'sub':
        return simple('Sub');
      case 'mul':
        return simple('Mul');
      case 'div':
        return simple('Div');
      case 'pow':
        return simple('Pow');
      case 'maximum':
        return simple('Max');
      case 'greater':
        return simple('Greater');
      case 'less':
        return simple('Less');
      case 'equal':
        return simple('Equal');
      case 'neg':
        return simple('Neg');
      case 'exp':
        return simple('Exp');
      case 'log':
        return simple('Log');
      case 'tanh':
        return simple('Tanh');
      case 'sigmoid':
        return simple('Sigmoid');
      case 'sqrt':
        return simple('Sqrt');
      case 'abs':
        return simple('Abs');
      case 'sign':
        return simple('Sign');
      case 'erf':
        return simple('Erf');
      case 'stopGradient':
        return simple('Identity');
      case 'cast':
        return simple('Cast', [int('to', CAST_TO[op.to])]);
      case 'where': {
        // where(c, a, 0) = a·c: onnxruntime's Mul is vectorized, its broadcasting Where is not.
        const zero = (id: number) => {
          const z = this.g.nodes[id]!;
          return z.op.kind === 'constant' && z.op.data.length === 1 && z.op.data[0] === 0;
        };
        const [c, a, b] = n.inputs as [number, number, number];
        if (isFloatType(n.dtype) && (zero(b) || zero(a))) {
          let mask = this.one('Cast', [ins[0]!], [int('to', CAST_TO[n.dtype])]);
          if (zero(a)) mask = this.one('Sub', [this.constant(n.dtype, [], [1]), mask]);
          const other = zero(b) ? ins[1]! : ins[2]!;
          // Broadcasting may give a smaller shape than n.shape (when a zero operand was the larger input).
          const prodShape = broadcastShapes(this.shape(zero(b) ? a : b), this.shape(c));
          if (prodShape.length === n.shape.length && prodShape.every((d, i) => d === n.shape[i])) {
            this.one('Mul', [other, mask], [], out);
          } else {
            this.one('Expand', [this.one('Mul', [other, mask]), this.i64(n.shape)], [], out);
          }
          return;
        }
        return simple('Where');
      }
      case 'reduceSum':
        this.one('ReduceSum', [ins[0]!, this.i64(op.axes)], [int('keepdims', op.keepDims ? 1 : 0)], out);
        return;
      case 'reduceMax':
        return simple('ReduceMax', [ints('axes', op.axes), int('keepdims', op.keepDims ? 1 : 0)]);
      case 'reshape':
        this.one('Reshape', [ins[0]!, this.i64(op.shape)], [], out);
        return;
      case 'transpose':
        return simple('Transpose', [ints('perm', op.perm)]);
      case 'broadcastTo':
        this.one('Expand', [ins[0]!, this.i64(op.shape)], [], out);
        return;
      case 'concat':
        return simple('Concat', [int('axis', op.axis)]);
      case 'slice':
        this.one('Slice', [ins[0]!, this.i64([op.start]), this.i64([op.end]), this.i64([op.axis])], [], out);
        return;
      case 'pad': {
        const r = n.shape.length;
        const pads = new Array<number>(2 * r).fill(0);
        pads[op.axis] = op.before;
        pads[r + op.axis] = op.after;
        this.one('Pad', [ins[0]!, this.i64(pads)], [{ name: 'mode', kind: 'string', value: 'constant' }], out);
        return;
      }
      case 'matmul': {
        if (n.shape.length === 2) {
          return simple('Gemm', [int('transA', op.transA ? 1 : 0), int('transB', op.transB ? 1 : 0)]);
        }
        const a = op.transA ? this.one('Transpose', [ins[0]!], [ints('perm', [0, 2, 1])]) : ins[0]!;
        const b = op.transB ? this.one('Transpose', [ins[1]!], [ints('perm', [0, 2, 1])]) : ins[1]!;
        this.one('MatMul', [a, b], [], out);
        return;
      }
      case 'conv2d': {
        const w = this.shape(n.inputs[1]!);
        return simple('Conv', this.convAttrs(op, [w[2]!, w[3]!], op.groups));
      }
      case 'conv2dBackInput': {
        const w = this.shape(n.inputs[1]!);
        const k: [number, number] = [w[2]!, w[3]!];
        const gy = this.shape(n.inputs[0]!);
        const outPad = [0, 1].map((ax) => {
          const full = op.stride[ax]! * (gy[2 + ax]! - 1) + (k[ax]! - 1) * op.dilation[ax]! + 1 - 2 * op.pad[ax]!;
          return op.inputShape[2 + ax]! - full;
        });
        this.one('ConvTranspose', ins, [...this.convAttrs(op, k, op.groups), ints('output_padding', outPad)], out);
        return;
      }
      case 'conv2dBackWeight': {
        this.convBackWeight(n, ins, out);
        return;
      }
      case 'avgPool2d':
        return simple('AveragePool', [
          ints('kernel_shape', op.kernel),
          ints('strides', op.stride),
          ints('pads', [op.pad[0], op.pad[1], op.pad[0], op.pad[1]]),
          int('count_include_pad', 1),
        ]);
      case 'avgPool2dBack': {
        // The adjoint of average pooling is a depthwise transposed convolution with 1/k weights.
        const C = op.inputShape[1]!;
        const kk = op.kernel[0] * op.kernel[1];
        const wname = this.constant(n.dtype, [C, 1, op.kernel[0], op.kernel[1]], new Float64Array(C * kk).fill(1 / kk));
        const gy = this.shape(n.inputs[0]!);
        const outPad = [0, 1].map((ax) => {
          const full = op.stride[ax]! * (gy[2 + ax]! - 1) + op.kernel[ax]! - 2 * op.pad[ax]!;
          return op.inputShape[2 + ax]! - full;
        });
        this.one(
          'ConvTranspose',
          [ins[0]!, wname],
          [...this.convAttrs(op, op.kernel, C), ints('output_padding', outPad)],
          out,
        );
        return;
      }
      case 'maxPool2d':
        return simple('MaxPool', this.poolAttrs(op));
      case 'maxPoolGather': {
        const [, idx] = this.emit('MaxPool', [ins[0]!], this.poolAttrs(op), undefined, 2) as [string, string];
        const flat = this.one('Reshape', [ins[1]!, this.i64([-1])]);
        this.one('Gather', [flat, idx], [int('axis', 0)], out);
        return;
      }
      case 'maxPoolScatter': {
        const xShape = this.shape(n.inputs[0]!);
        const [, idx] = this.emit('MaxPool', [ins[0]!], this.poolAttrs(op), undefined, 2) as [string, string];
        const idxFlat = this.one('Reshape', [idx, this.i64([-1])]);
        const gFlat = this.one('Reshape', [ins[1]!, this.i64([-1])]);
        const zeros = this.one('Expand', [this.constant(n.dtype, [], [0]), this.i64([size(xShape)])]);
        const scat = this.one(
          'ScatterElements',
          [zeros, idxFlat, gFlat],
          [int('axis', 0), { name: 'reduction', kind: 'string', value: 'add' }],
        );
        this.one('Reshape', [scat, this.i64(xShape)], [], out);
        return;
      }
      case 'gather':
        return simple('Gather', [int('axis', 0)]);
      case 'gatherBack': {
        const gShape = this.shape(n.inputs[0]!);
        const idxShape = this.shape(n.inputs[1]!);
        const m = size(idxShape);
        const row = size(n.shape.slice(1));
        const g2 = this.one('Reshape', [ins[0]!, this.i64([m, row])]);
        const i2 = this.one('Reshape', [ins[1]!, this.i64([m, 1])]);
        const zeros = this.one('Expand', [this.constant(n.dtype, [], [0]), this.i64([n.shape[0]!, row])]);
        const scat = this.one('ScatterND', [zeros, i2, g2], [{ name: 'reduction', kind: 'string', value: 'add' }]);
        this.one('Reshape', [scat, this.i64(n.shape)], [], out);
        void gShape;
        return;
      }
    }
  }

  convAttrs(
    op: { stride: readonly number[]; pad: readonly number[]; dilation: readonly number[] },
    k: readonly number[],
    groups: number,
  ): OnnxAttribute[] {
    return [
      ints('kernel_shape', k),
      ints('strides', op.stride),
      ints('dilations', op.dilation),
      ints('pads', [op.pad[0]!, op.pad[1]!, op.pad[0]!, op.pad[1]!]),
      int('group', groups),
    ];
  }

  poolAttrs(op: { kernel: readonly number[]; stride: readonly number[]; pad: readonly number[] }): OnnxAttribute[] {
    return [
      ints('kernel_shape', op.kernel),
      ints('strides', op.stride),
      ints('pads', [op.pad[0]!, op.pad[1]!, op.pad[0]!, op.pad[1]!]),
    ];
  }

  /**
   * gw[o,c,ki,kj] = Σ gy[n,o,i,j]·x[n,c,i·s−p+ki·d, …] is a convolution of x with batch and
   * channels exchanged, by gy as the kernel, with stride and dilation exchanged; the output is
   * cropped to the kernel size. Groups are done one by one and concatenated.
   */
  convBackWeight(n: Node, ins: string[], out: string): void {
    const op = n.op as Extract<Node['op'], { kind: 'conv2dBackWeight' }>;
    const xs = this.shape(n.inputs[0]!);
    const gys = this.shape(n.inputs[1]!);
    const [O, Cg, KH, KW] = op.weightShape as [number, number, number, number];
    const G = op.groups;
    const Og = O / G;
    const parts: string[] = [];
    for (let g = 0; g < G; g++) {
      let x = ins[0]!;
      let gy = ins[1]!;
      if (G > 1) {
        x = this.one('Slice', [x, this.i64([g * Cg]), this.i64([(g + 1) * Cg]), this.i64([1])]);
        gy = this.one('Slice', [gy, this.i64([g * Og]), this.i64([(g + 1) * Og]), this.i64([1])]);
      }
      const xt = this.one('Transpose', [x], [ints('perm', [1, 0, 2, 3])]);
      const gyt = this.one('Transpose', [gy], [ints('perm', [1, 0, 2, 3])]);
      const conv = this.one(
        'Conv',
        [xt, gyt],
        [
          ints('kernel_shape', [gys[2]!, gys[3]!]),
          ints('strides', op.dilation),
          ints('dilations', op.stride),
          ints('pads', [op.pad[0], op.pad[1], op.pad[0], op.pad[1]]),
        ],
      );
      const ho = windowOut(xs[2]!, gys[2]!, op.dilation[0], op.pad[0], op.stride[0]);
      const wo = windowOut(xs[3]!, gys[3]!, op.dilation[1], op.pad[1], op.stride[1]);
      const cropped =
        ho === KH && wo === KW
          ? conv
          : this.one('Slice', [conv, this.i64([0, 0]), this.i64([KH, KW]), this.i64([2, 3])]);
      parts.push(this.one('Transpose', [cropped], [ints('perm', [1, 0, 2, 3])], G === 1 ? out : undefined));
    }
    if (G > 1) this.one('Concat', parts, [int('axis', 0)], out);
  }
}

/** The ONNX model for a graph. Graph inputs keep their names; outputs are named as in g. */
export function lowerToOnnx(g: Graph, opset = 17): OnnxModel {
  const names = g.nodes.map((n) => (n.op.kind === 'input' ? n.op.name : `v${n.id}`));
  // Give each output node its output's name directly where possible (saves an Identity copy).
  const renamed = new Set<number>();
  const inputIds = new Set(g.inputs);
  for (const o of g.outputs) {
    if (!inputIds.has(o.id) && !renamed.has(o.id) && g.nodes[o.id]!.op.kind !== 'constant') {
      names[o.id] = o.name;
      renamed.add(o.id);
    }
  }
  const L = new Lowering(g, names);
  for (const n of g.nodes) L.lowerNode(n);
  for (const o of g.outputs) {
    if (names[o.id] !== o.name) L.one('Identity', [names[o.id]!], [], o.name);
  }
  // Initializers that a lowering rule made unnecessary (e.g. where's zero) are left out.
  const used = new Set<string>(g.outputs.map((o) => o.name));
  for (const nd of L.nodes) for (const i of nd.inputs) used.add(i);
  return {
    graphName: 'edgewise',
    opset,
    producer: 'edgewise',
    nodes: L.nodes,
    inputs: g.inputs.map((id) => ({
      name: names[id]!,
      type: ELEM[g.nodes[id]!.dtype],
      shape: g.nodes[id]!.shape.slice(),
    })),
    outputs: g.outputs.map((o) => ({
      name: o.name,
      type: ELEM[g.nodes[o.id]!.dtype],
      shape: g.nodes[o.id]!.shape.slice(),
    })),
    initializers: L.initializers.filter((t) => used.has(t.name)),
  };
}
