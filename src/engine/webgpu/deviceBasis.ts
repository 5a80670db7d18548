/**
 * Krylov-basis kernels in WebGPU device memory: the Gram–Schmidt sweep, the local projection
 * and the linear combination of engine/basisKernels.ts, run by onnxruntime's WebGPU provider on
 * a basis Q that stays on the device (Runtime.compileDevice). Per Lanczos step only the k
 * projection coefficients and a squared norm come back to the host; the HVP's result, the
 * swept vector, the next Lanczos vector and Q never leave the device.
 */
import type { DeviceValue, Runtime } from '../runtime.ts';
import { DEFAULT_OPSET, type OnnxModel } from '../onnx/proto.ts';
import { normNodes, unitNodes } from '../basisGraphs.ts';

/** A sweep's or a projection's results: coefficients and ‖out‖² on the host, vectors on the device. */
export interface DeviceSweep {
  /** Projections removed, one per basis row (host). */
  readonly h: Float32Array;
  /** ‖out‖² (float32 accumulation). */
  readonly ss: number;
  /** w − Qᵀh, shape [1, n] (device; release it). */
  readonly out: DeviceValue;
}

/** Two sweeps in a row: both sweeps' coefficients and ‖result‖² on the host, the unit result on the device. */
export interface DeviceTwice {
  /** The first sweep's projections (host). */
  readonly h: Float32Array;
  /** The second sweep's projections (host). */
  readonly h2: Float32Array;
  /** ‖result‖² before normalization (float32 accumulation). */
  readonly ss: number;
  /** result/‖result‖, shape [1, n] (device; release it). */
  readonly unit: DeviceValue;
}

/** Basis kernels on device values: Q is [k, n], vectors are [1, n]. Every DeviceValue returned is the caller's to release. */
export interface DeviceBasisKernels {
  readonly runtime: Runtime;
  /** One classical Gram–Schmidt sweep of w against Q's rows, and unit = out/‖out‖. */
  sweep(Q: DeviceValue, w: DeviceValue): Promise<DeviceSweep & { readonly unit: DeviceValue }>;
  /** The same sweep against Q's rows without the normalized copy (the three-term step). */
  project(Q: DeviceValue, w: DeviceValue): Promise<DeviceSweep>;
  /** The three-term step against two rows a, b (q_{j−1}, q_j): h = [a·w, b·w]. */
  project2(a: DeviceValue, b: DeviceValue, w: DeviceValue): Promise<DeviceSweep>;
  /**
   * Two such sweeps in a row ("twice is enough"), then unit = result/‖result‖: the Lanczos
   * local step of partial reorthogonalization. h is the first sweep's projections, h2 the
   * second's (h + h2 was removed); ss = ‖result‖².
   */
  sweepTwice(Q: DeviceValue, w: DeviceValue): Promise<DeviceTwice>;
  /** sweepTwice against the two rows a, b (q_{j−1}, q_j). */
  sweepTwice2(a: DeviceValue, b: DeviceValue, w: DeviceValue): Promise<DeviceTwice>;
  /** `[Q; row]`: Q with one more row (a new device value; Q itself is left as it is). */
  append(Q: DeviceValue, row: DeviceValue): Promise<DeviceValue>;
  /** c·Q on the host (length n). */
  combine(Q: DeviceValue, c: Float32Array): Promise<Float32Array>;
}

const f32 = (name: string, shape: number[]) => ({ name, type: 'float32' as const, shape });

const axis = (name: string, a: number) => ({
  name,
  type: 'int64' as const,
  dims: [1],
  data: BigInt64Array.from([BigInt(a)]),
});
const keep = [{ name: 'keepdims', kind: 'int' as const, value: 1 }];

/**
 * h = Q·w, out = w − Qᵀh and ss = ‖out‖² for the GPU, written as broadcast products and
 * reductions rather than matrix products: the Gemms of basisKernels.ts have degenerate shapes
 * here (a 1×k or 1×n output from a k×n operand), which onnxruntime's WebGPU MatMul runs with
 * almost no parallelism (SwiftShader, n = 55 050, k = 10: 470 ms per Gemm against 8 ms for
 * the same product as Mul + ReduceSum). Inputs: Q [k, n], w [1, n]; outputs h [1, k], out, ss.
 */
function projectModel(graphName = 'device_projection'): OnnxModel {
  return {
    graphName,
    opset: DEFAULT_OPSET,
    initializers: [axis('rows', 1), axis('cols', 0)],
    inputs: [f32('Q', [-1, -1]), f32('w', [1, -1])],
    outputs: [f32('h', [1, -1]), f32('out', [1, -1]), f32('ss', [])],
    nodes: [
      { opType: 'Mul', inputs: ['Q', 'w'], outputs: ['Qw'] },
      { opType: 'ReduceSum', inputs: ['Qw', 'rows'], outputs: ['h_col'], attributes: keep },
      { opType: 'Transpose', inputs: ['h_col'], outputs: ['h'] },
      { opType: 'Mul', inputs: ['Q', 'h_col'], outputs: ['Qh'] },
      { opType: 'ReduceSum', inputs: ['Qh', 'cols'], outputs: ['proj'], attributes: keep },
      { opType: 'Sub', inputs: ['w', 'proj'], outputs: ['out'] },
      ...normNodes('out'),
    ],
  };
}

/** The projection, then unit = out/√ss. */
function sweepModel(): OnnxModel {
  const m = projectModel('device_gram_schmidt_sweep');
  return {
    ...m,
    outputs: [...m.outputs, f32('unit', [1, -1])],
    nodes: [...m.nodes, ...unitNodes('out')],
  };
}

/**
 * Two projections in a row against Q's rows, then unit = out2/√ss: the nodes of projectModel
 * once more on out instead of w (its h2, out2, ss replacing h, out's norm).
 */
function sweepTwiceModel(graphName = 'device_gram_schmidt_twice'): OnnxModel {
  const once = projectModel(graphName);
  const rename = (t: string): string =>
    ({ w: 'out', h_col: 'h2_col', h: 'h2', Qw: 'Qw2', Qh: 'Qh2', proj: 'proj2', out: 'out2' })[t] ?? t;
  const again = once.nodes
    .filter((nd) => nd.opType !== 'ReduceSumSquare')
    .map((nd) => ({ ...nd, inputs: nd.inputs.map(rename), outputs: nd.outputs.map(rename) }));
  return {
    ...once,
    outputs: [f32('h', [1, -1]), f32('h2', [1, -1]), f32('ss', []), f32('unit', [1, -1])],
    nodes: [
      ...once.nodes.filter((nd) => nd.opType !== 'ReduceSumSquare'),
      ...again,
      ...normNodes('out2'),
      ...unitNodes('out2'),
    ],
  };
}

/** `m` with Q given as two rows a, b ([1, n] each) instead: Q = [a; b] is formed on the device. */
function onRowPair(m: OnnxModel, graphName: string): OnnxModel {
  return {
    ...m,
    graphName,
    inputs: [f32('a', [1, -1]), f32('b', [1, -1]), f32('w', [1, -1])],
    nodes: [
      { opType: 'Concat', inputs: ['a', 'b'], outputs: ['Q'], attributes: [{ name: 'axis', kind: 'int', value: 0 }] },
      ...m.nodes,
    ],
  };
}

/** `[a; b]` then two projections against those two rows and the normalization. */
const sweepTwice2Model = (): OnnxModel => onRowPair(sweepTwiceModel(), 'device_gram_schmidt_twice2');

/** `[a; b]` then the projection against those two rows. */
const project2Model = (): OnnxModel => onRowPair(projectModel(), 'device_projection2');

/** out = cᵀQ (c: [k, 1] on the host; out [1, n] back to the host). */
function combineModel(): OnnxModel {
  return {
    graphName: 'device_basis_combination',
    opset: DEFAULT_OPSET,
    initializers: [axis('cols', 0)],
    inputs: [f32('Q', [-1, -1]), f32('c', [-1, 1])],
    outputs: [f32('out', [1, -1])],
    nodes: [
      { opType: 'Mul', inputs: ['Q', 'c'], outputs: ['Qc'] },
      { opType: 'ReduceSum', inputs: ['Qc', 'cols'], outputs: ['out'], attributes: keep },
    ],
  };
}

function appendModel(): OnnxModel {
  return {
    graphName: 'append_row',
    opset: DEFAULT_OPSET,
    initializers: [],
    inputs: [f32('Q', [-1, -1]), f32('row', [1, -1])],
    outputs: [f32('out', [-1, -1])],
    nodes: [
      {
        opType: 'Concat',
        inputs: ['Q', 'row'],
        outputs: ['out'],
        attributes: [{ name: 'axis', kind: 'int', value: 0 }],
      },
    ],
  };
}

function rows(what: string, v: DeviceValue, n?: number): void {
  if (v.dims.length !== 2 || (n !== undefined && v.dims[1] !== n)) {
    throw new Error(`${what}: expected a [k, ${n ?? 'n'}] device value, got [${v.dims.join(', ')}]`);
  }
}

/** Device basis kernels on a webgpu Runtime. */
export function deviceBasisKernels(rt: Runtime): DeviceBasisKernels {
  if (rt.backend !== 'webgpu') throw new Error(`deviceBasisKernels: backend ${rt.backend} has no device memory`);
  const sweeps = (Q: DeviceValue, w: DeviceValue) => {
    rows('sweep: Q', Q);
    rows('sweep: w', w, Q.dims[1]);
  };
  return {
    runtime: rt,
    async sweep(Q, w) {
      sweeps(Q, w);
      const r = await (await rt.compileDevice(sweepModel(), ['out', 'unit'])).run({ Q, w });
      return { h: r.host.h as Float32Array, ss: r.host.ss![0]!, out: r.device.out!, unit: r.device.unit! };
    },
    async project(Q, w) {
      sweeps(Q, w);
      const r = await (await rt.compileDevice(projectModel(), ['out'])).run({ Q, w });
      return { h: r.host.h as Float32Array, ss: r.host.ss![0]!, out: r.device.out! };
    },
    async project2(a, b, w) {
      rows('project2: a', a, w.dims[1]);
      rows('project2: b', b, w.dims[1]);
      const r = await (await rt.compileDevice(project2Model(), ['out'])).run({ a, b, w });
      return { h: r.host.h as Float32Array, ss: r.host.ss![0]!, out: r.device.out! };
    },
    async sweepTwice(Q, w) {
      sweeps(Q, w);
      const r = await (await rt.compileDevice(sweepTwiceModel(), ['unit'])).run({ Q, w });
      return { h: r.host.h as Float32Array, h2: r.host.h2 as Float32Array, ss: r.host.ss![0]!, unit: r.device.unit! };
    },
    async sweepTwice2(a, b, w) {
      rows('sweepTwice2: a', a, w.dims[1]);
      rows('sweepTwice2: b', b, w.dims[1]);
      const r = await (await rt.compileDevice(sweepTwice2Model(), ['unit'])).run({ a, b, w });
      return { h: r.host.h as Float32Array, h2: r.host.h2 as Float32Array, ss: r.host.ss![0]!, unit: r.device.unit! };
    },
    async append(Q, row) {
      rows('append: Q', Q);
      rows('append: row', row, Q.dims[1]);
      return (await (await rt.compileDevice(appendModel(), ['out'])).run({ Q, row })).device.out!;
    },
    async combine(Q, c) {
      rows('combine: Q', Q);
      if (c.length !== Q.dims[0]) throw new Error(`combine: c has length ${c.length}, Q has ${Q.dims[0]} rows`);
      return (await (await rt.compileDevice(combineModel(), [])).run({ Q, c })).host.out as Float32Array;
    },
  };
}
