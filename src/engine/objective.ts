/**
 * A training objective compiled for a backend: loss (and metrics), gradient, and exact
 * Hessian-vector products over a flat parameter vector, for one data-chunk shape.
 *
 * HVPs are forward-over-reverse. The HVP graph is split by partial evaluation: everything
 * that does not depend on the direction v (forward activations, backpropagated errors) is
 * computed once per (θ, data) by `at()`, and each `hvp(v)` runs only the v-dependent part.
 */
import { GraphBuilder, Tensor } from './builder.ts';
import type { DType, Graph, Shape } from './ir.ts';
import { ggnvp, hvp, valueAndGrad } from './autodiff/transforms.ts';
import { simplify, splitGraph, whereZeroToMul } from './passes.ts';
import {
  isDeviceValue,
  type DeviceExecutable,
  type DeviceValue,
  type Executable,
  type Feed,
  type Feeds,
  type Outputs,
  type Runtime,
} from './runtime.ts';
import * as o from './ops.ts';
import { size } from './ir.ts';
import { ParameterLayout, type FloatArray, type ParamSpec } from './params.ts';

export interface DataSpec {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype?: DType;
}

/** A loss alone, or with scalar metrics (e.g. accuracy) and auxiliary tensors (e.g. batch statistics). */
export type LossOutput = Tensor | { loss: Tensor; metrics?: Record<string, Tensor>; aux?: Record<string, Tensor> };

export interface ObjectiveSpec {
  readonly params: readonly ParamSpec[];
  /** Data inputs of one chunk (e.g. x [B, 784], y [B, 10]); float inputs take `dtype`. */
  readonly data: readonly DataSpec[];
  readonly dtype: 'float32' | 'float64';
  /** The scalar loss (and optional scalar metrics) from parameter and data tensors. */
  loss(params: Record<string, Tensor>, data: Record<string, Tensor>): LossOutput;
  /**
   * The same loss written as ℓ(f(θ, data), data), for the Gauss–Newton matrix G = Jᵀ ∇²_f ℓ J:
   * `output` gives the network's outputs f and `outputLoss` the scalar loss on them. Optional:
   * an objective without it has Hessian products only.
   */
  readonly outputs?: {
    output(params: Record<string, Tensor>, data: Record<string, Tensor>): Tensor;
    outputLoss(f: Tensor, data: Record<string, Tensor>): Tensor;
  };
}

/**
 * The curvature matrix of a product: the Hessian H = ∇²L(θ), or the generalized Gauss–Newton
 * matrix G = Jᵀ ∇²_f ℓ J (positive semi-definite for a convex ℓ; H minus the term that carries
 * the network's own second derivatives).
 */
export type CurvatureMatrix = 'hessian' | 'ggn';

/** Output-name prefix of each matrix's per-parameter products in the unsplit graphs. */
const PRODUCT: Record<CurvatureMatrix, string> = { hessian: 'hvp:', ggn: 'ggn:' };

export interface Evaluation {
  loss: number;
  /** Scalar metrics by name. */
  metrics: Record<string, number>;
  /** Auxiliary tensors by name (flat). */
  aux: Record<string, Float32Array | Float64Array>;
}

export interface GradEvaluation extends Evaluation {
  /** ∂loss/∂θ, flat, in the layout's order. */
  grad: FloatArray;
}

/** Curvature products at fixed (θ, data): the v-independent values are already computed. */
export interface HvpAtPoint {
  /** H·v (or G·v, for a Gauss–Newton point) for a flat direction v (length = number of parameters). */
  hvp(v: FloatArray): Promise<FloatArray>;
  /** The same product on vectors in device memory, where the backend has it (webgpu, float32). */
  readonly device?: DeviceHvp;
}

/** Loss, metrics and gradient at a θ held in device memory (CompiledObjective.deviceValueAndGrad). */
export interface DeviceGradEvaluation {
  loss: number;
  metrics: Record<string, number>;
  /** ∂loss/∂θ, flat [dim], in device memory (release it with runtime.release). */
  grad: DeviceValue;
  /** ‖g‖₂ and ‖θ‖₂ (float32 sums on the device). */
  gradNorm: number;
  paramNorm: number;
}

/** H·v at (θ, data) on device vectors: v and H·v are [1, dim] float32 DeviceValues; only the graph runs. */
export interface DeviceHvp {
  readonly runtime: Runtime;
  /** H·v; the result is a new device value (release it with runtime.release). */
  hvp(v: DeviceValue): Promise<DeviceValue>;
  /** Frees θ's device copy (uploaded on first use; a later hvp uploads it again). */
  release(): void;
}

const TANGENT = 'tangent:';

function normalize(out: LossOutput): { loss: Tensor; extras: Record<string, Tensor> } {
  if (out instanceof Tensor) return { loss: out, extras: {} };
  const extras: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(out.metrics ?? {})) {
    if (v.size !== 1) throw new Error(`metric '${k}' must be a scalar, got ${v}`);
    extras[`metric:${k}`] = v;
  }
  for (const [k, v] of Object.entries(out.aux ?? {})) extras[`aux:${k}`] = v;
  return { loss: out.loss, extras };
}

export class CompiledObjective {
  readonly layout: ParameterLayout;
  private valueExe?: Promise<Executable>;
  private gradExe?: Promise<Executable>;
  private readonly flatProductExes = new Map<CurvatureMatrix, Promise<DeviceExecutable>>();
  /** Device gradient graphs: 0 = on the chunk as fed, N = gathered from N rows. */
  private readonly flatGradExes = new Map<number, Promise<DeviceExecutable>>();
  private readonly productExes = new Map<
    CurvatureMatrix,
    Promise<{
      prepare: Executable;
      main: Executable;
      carried: readonly string[];
      passed: readonly string[];
    }>
  >();

  constructor(
    readonly runtime: Runtime,
    readonly spec: ObjectiveSpec,
  ) {
    this.layout = new ParameterLayout(spec.params);
  }

  /** Traces the loss; `extra` adds outputs (gradient, HVP) from the traced tensors. */
  private trace(extra: (b: GraphBuilder, p: Tensor[], d: Record<string, Tensor>) => Record<string, Tensor>): Graph {
    const b = new GraphBuilder();
    const p = this.spec.params.map((s) => b.input(s.name, s.shape, this.spec.dtype));
    const d: Record<string, Tensor> = {};
    for (const s of this.spec.data) d[s.name] = b.input(s.name, s.shape, s.dtype ?? this.spec.dtype);
    return simplify(b.build(extra(b, p, d)));
  }

  private lossFn(d: Record<string, Tensor>, extrasOut: Record<string, Tensor>) {
    return (...ps: Tensor[]): Tensor => {
      const named: Record<string, Tensor> = {};
      this.spec.params.forEach((s, i) => (named[s.name] = ps[i]!));
      const { loss, extras } = normalize(this.spec.loss(named, d));
      Object.assign(extrasOut, extras);
      return loss;
    };
  }

  /** The data inputs of a flat-θ graph, each in the graph's dtype; a missing one is an error naming it. */
  private dataFeeds(data: Record<string, Feed>): Feeds {
    const f: Feeds = {};
    for (const s of this.spec.data) {
      const v = data[s.name];
      if (v === undefined) throw new Error(`missing data input '${s.name}'`);
      f[s.name] = this.inDtype(s.name, v);
    }
    return f;
  }

  private feeds(theta: FloatArray, data: Record<string, Feed>): Feeds {
    const f: Feeds = { ...this.layout.split(theta) };
    for (const s of this.spec.data) {
      const v = data[s.name];
      if (v === undefined) throw new Error(`missing data input '${s.name}'`);
      f[s.name] = v;
    }
    return f;
  }

  private evaluation(out: Outputs): Evaluation {
    const metrics: Record<string, number> = {};
    const aux: Record<string, Float32Array | Float64Array> = {};
    for (const [k, v] of Object.entries(out)) {
      if (k.startsWith('metric:')) metrics[k.slice(7)] = v[0]!;
      else if (k.startsWith('aux:')) aux[k.slice(4)] = v;
    }
    return { loss: out.loss![0]!, metrics, aux };
  }

  /** Loss, metrics and auxiliary outputs at θ on one chunk. */
  async value(theta: FloatArray, data: Record<string, Feed>): Promise<Evaluation> {
    this.valueExe ??= this.runtime.compile(
      this.trace((_b, p, d) => {
        const extras: Record<string, Tensor> = {};
        const loss = this.lossFn(d, extras)(...p);
        return { loss, ...extras };
      }),
    );
    return this.evaluation(await (await this.valueExe).run(this.feeds(theta, data)));
  }

  /** Loss, metrics and gradient at θ on one chunk. */
  async valueAndGrad(theta: FloatArray, data: Record<string, Feed>): Promise<GradEvaluation> {
    this.gradExe ??= this.runtime.compile(
      this.trace((_b, p, d) => {
        const extras: Record<string, Tensor> = {};
        const { value, grads } = valueAndGrad(
          this.lossFn(d, extras),
          p.map((_, i) => i),
        )(...p);
        const outs: Record<string, Tensor> = { loss: value, ...extras };
        this.spec.params.forEach((s, i) => (outs[`grad:${s.name}`] = grads[i]!));
        return outs;
      }),
    );
    const out = await (await this.gradExe).run(this.feeds(theta, data));
    const grad =
      this.spec.dtype === 'float32' ? new Float32Array(this.layout.size) : new Float64Array(this.layout.size);
    const pieces: Record<string, ArrayLike<number>> = {};
    for (const s of this.spec.params) pieces[s.name] = out[`grad:${s.name}`]!;
    this.layout.gather(pieces, grad);
    return { ...this.evaluation(out), grad };
  }

  /** The graph of H·v (before splitting); exposed for inspection and tests. */
  hvpGraph(): Graph {
    return this.productGraph('hessian');
  }

  /** The loss split into outputs and a loss on them; throws where the spec has no such split. */
  private outputSplit(): NonNullable<ObjectiveSpec['outputs']> {
    const s = this.spec.outputs;
    if (!s)
      throw new Error('this objective has no Gauss–Newton products: its spec does not split the loss into outputs');
    return s;
  }

  /** The per-parameter products of `matrix` at θ along the tangents vs (one per parameter). */
  private products(matrix: CurvatureMatrix, p: readonly Tensor[], d: Record<string, Tensor>, vs: Tensor[]): Tensor[] {
    const argnums = this.spec.params.map((_, i) => i);
    if (matrix === 'hessian') return hvp(this.lossFn(d, {}), argnums)(p, vs).hvps;
    const split = this.outputSplit();
    const net = (...ps: Tensor[]): Tensor => {
      const named: Record<string, Tensor> = {};
      this.spec.params.forEach((s, i) => (named[s.name] = ps[i]!));
      return split.output(named, d);
    };
    return ggnvp(net, (f) => split.outputLoss(f, d), argnums)(p, vs).products;
  }

  /** The graph of G·v, Gauss–Newton products (before splitting); outputs 'ggn:<param>'. */
  ggnGraph(): Graph {
    return this.productGraph('ggn');
  }

  /** The unsplit product graph of a matrix: tangent inputs per parameter, one output per parameter. */
  private productGraph(matrix: CurvatureMatrix): Graph {
    return this.trace((b, p, d) => {
      const vs = this.spec.params.map((s) => b.input(`${TANGENT}${s.name}`, s.shape, this.spec.dtype));
      const prods = this.products(matrix, p, d, vs);
      const outs: Record<string, Tensor> = {};
      this.spec.params.forEach((s, i) => (outs[`${PRODUCT[matrix]}${s.name}`] = prods[i]!));
      return outs;
    });
  }

  /** θ's (or a direction's) per-parameter pieces: slices of a flat [dim] tensor, reshaped. */
  private flatPieces(t: Tensor): Tensor[] {
    return this.spec.params.map((s, i) => {
      const at = this.layout.offsets[i]!;
      return o.reshape(o.slice(t, 0, at, at + size(s.shape)), s.shape);
    });
  }

  /** Per-parameter tensors concatenated into one flat [dim] tensor, in the layout's order. */
  private static flatten(ts: readonly Tensor[]): Tensor {
    return o.concat(
      ts.map((t) => o.reshape(t, [t.size])),
      0,
    );
  }

  /**
   * The builder with flat θ [dim] and the data chunk as inputs; with `gatherFrom` = N, each data
   * input is a whole dataset [N, …] and the chunk is its rows at `indices` [B] (int64), gathered
   * on the device (a minibatch of data kept in device memory).
   */
  private flatInputs(gatherFrom?: number): { b: GraphBuilder; theta: Tensor; d: Record<string, Tensor> } {
    const b = new GraphBuilder();
    const dtype = this.spec.dtype;
    const theta = b.input('theta', [this.layout.size], dtype);
    const indices = gatherFrom === undefined ? undefined : b.input('indices', [this.batchRows()], 'int64');
    const d: Record<string, Tensor> = {};
    for (const s of this.spec.data) {
      const t = s.dtype ?? dtype;
      d[s.name] = indices
        ? o.gather(b.input(s.name, [gatherFrom!, ...s.shape.slice(1)], t), indices)
        : b.input(s.name, s.shape, t);
    }
    return { b, theta, d };
  }

  /** Rows of the data chunk (the leading dim every data input shares). */
  private batchRows(): number {
    const rows = new Set(this.spec.data.map((s) => s.shape[0]));
    if (rows.size !== 1) throw new Error(`data inputs of different leading dims: ${[...rows].join(', ')}`);
    return [...rows][0]!;
  }

  /**
   * The graph of H·v (or G·v) on flat vectors: θ [dim], v and the product 'hvp' [1, dim] (each
   * parameter a slice of them), for products whose vectors stay in device memory.
   */
  flatHvpGraph(matrix: CurvatureMatrix = 'hessian'): Graph {
    const { b, theta, d } = this.flatInputs();
    const dim = this.layout.size;
    const v = o.reshape(b.input('tangent', [1, dim], this.spec.dtype), [dim]);
    const prods = this.products(matrix, this.flatPieces(theta), d, this.flatPieces(v));
    return simplify(b.build({ hvp: o.reshape(CompiledObjective.flatten(prods), [1, dim]) }));
  }

  /**
   * The graph of the loss and its gradient on flat vectors: θ [dim] in; loss, metrics, the
   * gradient g [dim], ‖g‖² and ‖θ‖² out, for training steps whose θ and g stay in device memory.
   * With `gatherFrom` = N the data are whole datasets and the chunk their rows at `indices`
   * (see flatInputs). Auxiliary outputs (BatchNorm statistics) are not supported here.
   */
  flatGradGraph(gatherFrom?: number): Graph {
    const { b, theta, d } = this.flatInputs(gatherFrom);
    const extras: Record<string, Tensor> = {};
    const { value, grads } = valueAndGrad(
      this.lossFn(d, extras),
      this.spec.params.map((_, i) => i),
    )(...this.flatPieces(theta));
    const aux = Object.keys(extras).filter((k) => k.startsWith('aux:'));
    if (aux.length > 0) {
      throw new Error(`the flat gradient graph has no auxiliary outputs, but the loss returns ${aux.join(', ')}`);
    }
    const g = CompiledObjective.flatten(grads);
    return simplify(
      b.build({ loss: value, ...extras, grad: g, grad_sq: o.sum(o.mul(g, g)), theta_sq: o.sum(o.mul(theta, theta)) }),
    );
  }

  /**
   * Loss, metrics and gradient at θ on one chunk, with θ and the gradient in device memory
   * (webgpu, float32): only the scalars come back. The gradient is a new device value the
   * caller releases; ‖g‖ and ‖θ‖ are float32 reductions on the device. With `rows`, `data` are
   * whole datasets of n rows and the chunk is their rows at `indices` (length = the chunk's B).
   */
  async deviceValueAndGrad(
    theta: DeviceValue,
    data: Record<string, Feed>,
    rows?: { n: number; indices: BigInt64Array },
  ): Promise<DeviceGradEvaluation> {
    const key = rows?.n ?? 0;
    let exe = this.flatGradExes.get(key);
    if (!exe) {
      exe = this.runtime.compileDevice(this.flatGradGraph(rows?.n), ['grad']);
      this.flatGradExes.set(key, exe);
    }
    const feeds: Feeds = { ...this.dataFeeds(data), theta, ...(rows ? { indices: rows.indices } : {}) };
    const { host, device } = await (await exe).run(feeds);
    const { loss, metrics } = this.evaluation(host);
    return {
      loss,
      metrics,
      grad: device.grad!,
      gradNorm: Math.sqrt(host.grad_sq![0]!),
      paramNorm: Math.sqrt(host.theta_sq![0]!),
    };
  }

  /** The device product at (θ, data): θ uploaded on first use, data fed as given (kept on the device by the caller). */
  private deviceHvp(theta: Float32Array, data: Record<string, Feed>, matrix: CurvatureMatrix): DeviceHvp {
    const rt = this.runtime;
    // Compiled on the first device product, not before: most callers only use the host product.
    const exe = (): Promise<DeviceExecutable> => {
      let e = this.flatProductExes.get(matrix);
      if (!e) this.flatProductExes.set(matrix, (e = rt.compileDevice(this.flatHvpGraph(matrix), ['hvp'])));
      return e;
    };
    const feeds = this.dataFeeds(data);
    let thetaOnDevice: Promise<DeviceValue> | undefined;
    let uploaded: DeviceValue | undefined;
    return {
      runtime: rt,
      async hvp(v) {
        thetaOnDevice ??= rt.upload(theta, [theta.length]).then((x) => (uploaded = x));
        const r = await (await exe()).run({ ...feeds, theta: await thetaOnDevice, tangent: v });
        return r.device.hvp!;
      },
      release() {
        const t = thetaOnDevice;
        thetaOnDevice = undefined;
        // Freed now when the upload is done (any product awaited it), else once it settles.
        if (uploaded) rt.release(uploaded);
        else void t?.then((x) => rt.release(x)).catch(() => undefined);
        uploaded = undefined;
      },
    };
  }

  /**
   * A float feed in the graph's dtype, converted once here rather than by the backend on every
   * product (e.g. float64 data or θ for a float32 graph). Other feeds pass through.
   */
  private inDtype(name: string, v: Feed): Feed {
    if (isDeviceValue(v)) return v;
    const ds = this.spec.data.find((d) => d.name === name);
    const dtype = ds ? (ds.dtype ?? this.spec.dtype) : this.spec.dtype;
    if (dtype === 'float32' && !(v instanceof Float32Array) && (v instanceof Float64Array || Array.isArray(v)))
      return new Float32Array(v);
    if (dtype === 'float64' && !(v instanceof Float64Array) && (v instanceof Float32Array || Array.isArray(v)))
      return new Float64Array(v);
    return v;
  }

  /**
   * Prepares products of `matrix` (H by default, or the Gauss–Newton G) at (θ, data): runs the
   * v-independent part of the product graph once.
   */
  async at(theta: FloatArray, data: Record<string, Feed>, matrix: CurvatureMatrix = 'hessian'): Promise<HvpAtPoint> {
    if (matrix !== 'hessian' && matrix !== 'ggn') throw new Error(`unknown curvature matrix '${String(matrix)}'`);
    if (matrix === 'ggn') this.outputSplit();
    let exes = this.productExes.get(matrix);
    if (!exes) this.productExes.set(matrix, (exes = this.compileProducts(matrix)));
    const { prepare, main, carried, passed } = await exes;
    const base = this.feeds(theta, data);
    const fixed = carried.length > 0 ? await prepare.run(base) : {};
    const mainFeeds: Feeds = {};
    for (const n of carried) mainFeeds[n] = fixed[n]!;
    for (const n of passed) mainFeeds[n] = this.inDtype(n, base[n]!);
    const layout = this.layout;
    const specs = this.spec.params;
    const dtype = this.spec.dtype;
    const prefix = PRODUCT[matrix];
    const onDevice = this.runtime.backend === 'webgpu' && dtype === 'float32' && theta instanceof Float32Array;
    return {
      ...(onDevice ? { device: this.deviceHvp(theta, data, matrix) } : {}),
      async hvp(v: FloatArray): Promise<FloatArray> {
        const f: Feeds = { ...mainFeeds };
        const pieces = layout.split(v);
        for (const s of specs) f[`${TANGENT}${s.name}`] = pieces[s.name]!;
        const out = await main.run(f);
        const hv = dtype === 'float32' ? new Float32Array(layout.size) : new Float64Array(layout.size);
        const res: Record<string, ArrayLike<number>> = {};
        for (const s of specs) res[s.name] = out[`${prefix}${s.name}`]!;
        return layout.gather(res, hv);
      },
    };
  }

  /** The product graph of `matrix`, split into its v-independent and v-dependent parts and compiled. */
  private compileProducts(matrix: CurvatureMatrix) {
    return (async () => {
      if (!this.runtime.splitHvp) {
        // Whole graph, nothing carried: every input but the tangents passes through (see Runtime.splitHvp).
        const whole = await this.runtime.compile(this.productGraph(matrix));
        return {
          prepare: whole,
          main: whole,
          carried: [],
          passed: whole.inputNames.filter((n) => !n.startsWith(TANGENT)),
        };
      }
      // On onnxruntime, masks become float multipliers before the split so they are carried
      // ready-made (see whereZeroToMul); the reference backend keeps the graph as traced.
      const traced = this.productGraph(matrix);
      const g = this.runtime.backend === 'ort' ? whereZeroToMul(traced) : traced;
      const split = splitGraph(
        g,
        this.spec.params.map((s) => `${TANGENT}${s.name}`),
      );
      const [prepare, main] = await Promise.all([
        this.runtime.compile(split.prepare),
        this.runtime.compile(split.main),
      ]);
      return { prepare, main, carried: split.carried, passed: split.passedInputs };
    })();
  }
}
