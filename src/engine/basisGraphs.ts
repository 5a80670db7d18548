/**
 * Native kernels over a Krylov basis stored as one row-major k×n float32 matrix Q (issue 14):
 * a classical Gram–Schmidt sweep (h = Q·w, w − Qᵀh, its norm and its normalized copy) and a
 * linear combination Qᵀc, as tiny ONNX graphs with dynamic k and n run by onnxruntime's
 * CPU kernels (SIMD, multi-threaded). In plain JS the same sweep is scalar and several times
 * slower (n ≈ 670k, k = 10, loaded 2-vCPU box: ~25–40 ms against ~4–6 ms). Inputs are fed as tensors over the caller's
 * buffers (views of Q included) and outputs are written into caller-owned arrays: no copies.
 *
 * Dot products and ‖out‖² are accumulated in float32 by onnxruntime's kernels (vectorized with
 * many partial sums, so errors grow far slower than n·ε): a sweep leaves components of
 * ~10 ε32·‖w‖ along the basis, which a repeated sweep (DGKS) would reduce further, and unit
 * vectors are unit to a few ε32 (n = 669 706, k = 2…20: ‖unit‖ − 1 within 1.6…5.5 ε32), the
 * same order. Summing ‖out‖² in float64 instead (a Cast to float64 and a reduction over twice
 * the bytes) made them unit to 0.3 ε32 but cost 0.6–1.7 ms per sweep at that n, 15–50 % of it.
 *
 * Platform-neutral (sessions from the Runtime's platform); basisKernels.ts adds the Node default.
 */
import type { Runtime } from './runtime.ts';
import { encodeModel, DEFAULT_OPSET, type OnnxModel, type OnnxNode } from './onnx/proto.ts';
import type { EnginePlatform, PlatformSession } from './platform.ts';

/** Result of one Gram–Schmidt sweep. */
export interface SweepResult {
  /** h = Q·w (length k): the projections removed. */
  readonly h: Float32Array;
  /** ‖w − Qᵀh‖² (float32 accumulation, a few ε32 relative). */
  readonly ss: number;
}

/** Result of two Gram–Schmidt sweeps in a row. */
export interface TwiceResult {
  /** The first sweep's projections Q·w (length k). */
  readonly h1: Float32Array;
  /** The second sweep's projections (length k): h1 + h2 is what was removed. */
  readonly h2: Float32Array;
  /** ‖result‖² before normalization (float32 accumulation). */
  readonly ss: number;
}

/** Basis kernels on float32 vectors; Q is row-major k×n (a view of its first k·n entries is fine). */
export interface BasisKernels {
  /**
   * One classical Gram–Schmidt sweep of w (length n) against the k rows of Q: writes
   * out = w − Qᵀ(Q·w) and unit = out/‖out‖ (both length n, distinct from w and Q's rows read).
   */
  sweep(Q: Float32Array, k: number, w: Float32Array, out: Float32Array, unit: Float32Array): Promise<SweepResult>;
  /**
   * The same sweep without the normalized copy (two passes over n fewer), for a sweep whose
   * result is swept again (the Lanczos three-term step before the full reorthogonalization).
   */
  project(Q: Float32Array, k: number, w: Float32Array, out: Float32Array): Promise<SweepResult>;
  /**
   * Two classical Gram–Schmidt sweeps of w against the k rows of Q ("twice is enough"), then
   * unit = the result/‖result‖ (length n, distinct from w and Q's rows read), in one call: the
   * Lanczos local step of partial reorthogonalization (k = 2: q_{j−1}, q_j). h1, h2: each
   * sweep's projections (length k); ss: ‖result‖².
   */
  sweepTwice(Q: Float32Array, k: number, w: Float32Array, unit: Float32Array): Promise<TwiceResult>;
  /** out = Qᵀc = Σ_i c[i]·Q[i] (c: length k, out: length n). */
  combine(Q: Float32Array, k: number, c: Float32Array, out: Float32Array): Promise<void>;
}

const f32 = (name: string, shape: number[]) => ({ name, type: 'float32' as const, shape });

/** ONNX nodes for ss = ‖x‖² (a scalar, float32 accumulation). */
export function normNodes(x: string): OnnxNode[] {
  return [
    {
      opType: 'ReduceSumSquare',
      inputs: [x],
      outputs: ['ss'],
      attributes: [{ name: 'keepdims', kind: 'int', value: 0 }],
    },
  ];
}

/** ONNX nodes for unit = x/√ss (ss from normNodes). */
export function unitNodes(x: string): OnnxNode[] {
  return [
    { opType: 'Sqrt', inputs: ['ss'], outputs: ['norm'] },
    { opType: 'Div', inputs: [x, 'norm'], outputs: ['unit'] },
  ];
}

/** h = w·Qᵀ, out = w − h·Q (one Gemm with C = w), ss = ‖out‖², unit = out/√ss. */
function sweepModel(): OnnxModel {
  const m = projectModel();
  return {
    ...m,
    graphName: 'gram_schmidt_sweep',
    outputs: [...m.outputs, f32('unit', [1, -1])],
    nodes: [...m.nodes, ...unitNodes('out')],
  };
}

/** h = w·Qᵀ, out = w − h·Q, ss = ‖out‖². */
function projectModel(): OnnxModel {
  return {
    graphName: 'projection',
    opset: DEFAULT_OPSET,
    initializers: [],
    inputs: [f32('Q', [-1, -1]), f32('w', [1, -1])],
    outputs: [f32('h', [1, -1]), f32('out', [1, -1]), f32('ss', [])],
    nodes: [
      // w as a 1×n row times Qᵀ: a matrix-vector product over Q's rows, each read once.
      { opType: 'Gemm', inputs: ['w', 'Q'], outputs: ['h'], attributes: [{ name: 'transB', kind: 'int', value: 1 }] },
      { opType: 'Neg', inputs: ['h'], outputs: ['nh'] },
      {
        opType: 'Gemm',
        inputs: ['nh', 'Q', 'w'],
        outputs: ['out'],
        attributes: [{ name: 'beta', kind: 'float', value: 1 }],
      },
      ...normNodes('out'),
    ],
  };
}

/** Two projections in a row (h1, h2), then ss = ‖out2‖² and unit = out2/√ss. */
function sweepTwiceModel(): OnnxModel {
  const tB = [{ name: 'transB', kind: 'int' as const, value: 1 }];
  const plusC = [{ name: 'beta', kind: 'float' as const, value: 1 }];
  return {
    graphName: 'gram_schmidt_twice',
    opset: DEFAULT_OPSET,
    initializers: [],
    inputs: [f32('Q', [-1, -1]), f32('w', [1, -1])],
    outputs: [f32('h1', [1, -1]), f32('h2', [1, -1]), f32('ss', []), f32('unit', [1, -1])],
    nodes: [
      { opType: 'Gemm', inputs: ['w', 'Q'], outputs: ['h1'], attributes: tB },
      { opType: 'Neg', inputs: ['h1'], outputs: ['nh1'] },
      { opType: 'Gemm', inputs: ['nh1', 'Q', 'w'], outputs: ['out1'], attributes: plusC },
      { opType: 'Gemm', inputs: ['out1', 'Q'], outputs: ['h2'], attributes: tB },
      { opType: 'Neg', inputs: ['h2'], outputs: ['nh2'] },
      { opType: 'Gemm', inputs: ['nh2', 'Q', 'out1'], outputs: ['out2'], attributes: plusC },
      ...normNodes('out2'),
      ...unitNodes('out2'),
    ],
  };
}

/** out = c·Q. */
function combineModel(): OnnxModel {
  return {
    graphName: 'basis_combination',
    opset: DEFAULT_OPSET,
    initializers: [],
    inputs: [f32('Q', [-1, -1]), f32('c', [1, -1])],
    outputs: [f32('out', [1, -1])],
    nodes: [{ opType: 'MatMul', inputs: ['c', 'Q'], outputs: ['out'] }],
  };
}

function check(what: string, Q: Float32Array, k: number, n: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: k must be a positive integer, got ${k}`);
  if (Q.length < k * n) throw new Error(`${what}: Q has ${Q.length} entries, fewer than k·n = ${k * n}`);
}

/** Basis kernels on the platform's onnxruntime CPU provider with `threads` intra-op threads. */
export function createBasisKernelsOn(platform: EnginePlatform, threads: number): BasisKernels {
  const t = (data: Float32Array, dims: number[]) => platform.tensor('float32', data, dims);
  let sweepSession: Promise<PlatformSession> | undefined;
  let combineSession: Promise<PlatformSession> | undefined;
  let projectSession: Promise<PlatformSession> | undefined;
  let twiceSession: Promise<PlatformSession> | undefined;
  return {
    async sweep(Q, k, w, out, unit) {
      const n = w.length;
      check('sweep', Q, k, n);
      if (out.length !== n || unit.length !== n) throw new Error(`sweep: out and unit must have length ${n}`);
      sweepSession ??= platform.createSession(encodeModel(sweepModel()), { threads, role: 'kernel' });
      const s = await sweepSession;
      const r = await s.run(
        { Q: t(Q.subarray(0, k * n), [k, n]), w: t(w, [1, n]) },
        // null: fetched, allocated by onnxruntime (with fetches given, only the ones named come back).
        {
          h: null,
          ss: null,
          out: t(out, [1, n]),
          unit: t(unit, [1, n]),
        },
      );
      // Outputs pre-allocated by the caller are written in place; h and ss are fresh.
      return { h: r.h!.data as Float32Array, ss: (r.ss!.data as Float32Array)[0]! };
    },
    async project(Q, k, w, out) {
      const n = w.length;
      check('project', Q, k, n);
      if (out.length !== n) throw new Error(`project: out must have length ${n}`);
      projectSession ??= platform.createSession(encodeModel(projectModel()), { threads, role: 'kernel' });
      const s = await projectSession;
      const r = await s.run(
        { Q: t(Q.subarray(0, k * n), [k, n]), w: t(w, [1, n]) },
        { h: null, ss: null, out: t(out, [1, n]) },
      );
      return { h: r.h!.data as Float32Array, ss: (r.ss!.data as Float32Array)[0]! };
    },
    async sweepTwice(Q, k, w, unit) {
      const n = w.length;
      check('sweepTwice', Q, k, n);
      if (unit.length !== n) throw new Error(`sweepTwice: unit must have length ${n}`);
      twiceSession ??= platform.createSession(encodeModel(sweepTwiceModel()), { threads, role: 'kernel' });
      const s = await twiceSession;
      const r = await s.run(
        { Q: t(Q.subarray(0, k * n), [k, n]), w: t(w, [1, n]) },
        { h1: null, h2: null, ss: null, unit: t(unit, [1, n]) },
      );
      return {
        h1: r.h1!.data as Float32Array,
        h2: r.h2!.data as Float32Array,
        ss: (r.ss!.data as Float32Array)[0]!,
      };
    },
    async combine(Q, k, c, out) {
      const n = out.length;
      check('combine', Q, k, n);
      if (c.length !== k) throw new Error(`combine: c has length ${c.length}, expected ${k}`);
      combineSession ??= platform.createSession(encodeModel(combineModel()), { threads, role: 'kernel' });
      const s = await combineSession;
      await s.run({ Q: t(Q.subarray(0, k * n), [k, n]), c: t(c, [1, k]) }, { out: t(out, [1, n]) });
    },
  };
}

// One set of sessions per Runtime (a cache, not state: the kernels are pure functions).
const perRuntime = new WeakMap<Runtime, BasisKernels>();

/**
 * The basis kernels for vectors of rt's float32 products: onnxruntime CPU kernels with rt's
 * threads for the 'ort' and 'webgpu' backends (on webgpu the HVP's result is on the host
 * already, and the basis is too large to upload per product); undefined for 'reference'
 * (float64, tests: callers keep their JS loops).
 */
export function basisKernelsFor(rt: Runtime): BasisKernels | undefined {
  if (rt.backend === 'reference') return undefined;
  let k = perRuntime.get(rt);
  if (!k) {
    k = createBasisKernelsOn(rt.platform, rt.threads);
    perRuntime.set(rt, k);
  }
  return k;
}
