/**
 * A training objective over a whole dataset, evaluated in chunks: losses and metrics are
 * per-sample means, so the full-data value is Σ_c (n_c/N)·value_c — exact, including a smaller
 * last chunk. Gradients and Hessian-vector products combine the same way. One compiled graph
 * serves all chunks of the same size. On the webgpu backend the samples are uploaded to device
 * memory once, on first use (Runtime.keep), not on every gradient or HVP; minibatches made by
 * withSamples are not kept, as each is used for one step.
 */
import type { DeviceExecutable, DeviceValue, Feed, Runtime, Value } from '../engine/backend.ts';
import { GraphBuilder } from '../engine/builder.ts';
import type { Graph } from '../engine/ir.ts';
import * as o from '../engine/ops.ts';
import {
  CompiledObjective,
  type CurvatureMatrix,
  type DeviceGradEvaluation,
  type HvpAtPoint,
  type ObjectiveSpec,
} from '../engine/objective.ts';
import type { FloatArray } from '../engine/params.ts';

/** Makes the objective's spec for a chunk of `batchSize` samples. */
export type SpecForBatch = (batchSize: number) => ObjectiveSpec;

/** Row-major sample data: each named array holds n rows of `rowSize[name]` values. */
export interface SampleData {
  readonly n: number;
  readonly arrays: Readonly<Record<string, Float32Array | Float64Array>>;
}

export interface DatasetEvaluation {
  loss: number;
  metrics: Record<string, number>;
  /** Auxiliary outputs (e.g. BatchNorm batch statistics), sample-weighted means over chunks. */
  aux: Record<string, Float64Array>;
}

export interface DatasetGradient extends DatasetEvaluation {
  grad: FloatArray;
}

interface Chunk {
  start: number;
  end: number;
  data: Record<string, Value>;
  /** data as kept in device memory (webgpu), made on first use. */
  kept?: Promise<Record<string, Feed>>;
}

function accumulate(into: Record<string, Float64Array>, from: Record<string, ArrayLike<number>>, w: number): void {
  for (const [k, v] of Object.entries(from)) {
    const acc = (into[k] ??= new Float64Array(v.length));
    for (let i = 0; i < v.length; i++) acc[i] += w * v[i]!;
  }
}

/** sum = a·x + b·g over [dim] float32 vectors (a, b scalars), and ‖sum‖². */
function weightedSumGraph(dim: number): Graph {
  const bld = new GraphBuilder();
  const v = (name: string) => bld.input(name, [dim], 'float32');
  const k = (name: string) => bld.input(name, [], 'float32');
  const sum = o.add(o.mul(k('a'), v('x')), o.mul(k('b'), v('g')));
  return bld.build({ sum, sum_sq: o.sum(o.mul(sum, sum)) });
}

export class DatasetObjective {
  private readonly chunks: Chunk[];
  /** The device graph that sums chunks' gradients (made on first use). */
  private accumulate?: Promise<DeviceExecutable>;
  /** The whole dataset in device memory, for minibatches gathered there (made on first use). */
  private whole?: Promise<Record<string, Feed>>;

  /**
   * `fixed` are extra inputs shared by every chunk (e.g. BatchNorm running statistics).
   * chunkSize caps the samples per graph execution (memory vs. per-call overhead).
   */
  constructor(
    readonly runtime: Runtime,
    readonly specFor: SpecForBatch,
    readonly samples: SampleData,
    readonly chunkSize: number,
    private fixed: Record<string, Value> = {},
    private readonly objectives: Map<number, CompiledObjective> = new Map(),
    /** Keep the samples in device memory (webgpu) across calls; off for one-step minibatches. */
    private readonly keepOnDevice = true,
  ) {
    if (!(chunkSize >= 1)) throw new Error(`chunk size must be ≥ 1, got ${chunkSize}`);
    if (samples.n < 1) throw new Error('dataset is empty');
    this.chunks = [];
    for (let start = 0; start < samples.n; start += chunkSize) {
      const end = Math.min(samples.n, start + chunkSize);
      const data: Record<string, Value> = {};
      for (const [name, arr] of Object.entries(samples.arrays)) {
        const row = arr.length / samples.n;
        data[name] = arr.subarray(start * row, end * row);
      }
      this.chunks.push({ start, end, data });
    }
  }

  get n(): number {
    return this.samples.n;
  }

  /** The same objective on other samples (e.g. a minibatch), sharing the compiled graphs. */
  withSamples(samples: SampleData, fixed: Record<string, Value> = this.fixed): DatasetObjective {
    return new DatasetObjective(this.runtime, this.specFor, samples, this.chunkSize, fixed, this.objectives, false);
  }

  /** Replaces the shared extra inputs (e.g. after running statistics change). */
  setFixed(fixed: Record<string, Value>): void {
    this.fixed = fixed;
  }

  /** The compiled objective for chunks of b samples. */
  objective(b: number): CompiledObjective {
    let o = this.objectives.get(b);
    if (!o) {
      o = new CompiledObjective(this.runtime, this.specFor(b));
      this.objectives.set(b, o);
    }
    return o;
  }

  private async feeds(c: Chunk): Promise<Record<string, Feed>> {
    if (!this.keepOnDevice || this.runtime.backend !== 'webgpu') return { ...c.data, ...this.fixed };
    c.kept ??= this.keepChunk(c);
    return { ...(await c.kept), ...this.fixed };
  }

  /** The chunk's float32 inputs in device memory (float64 samples converted once first); others as they are. */
  private async keepChunk(c: Chunk): Promise<Record<string, Feed>> {
    const spec = this.objective(c.end - c.start).spec;
    const kept: Record<string, Feed> = {};
    for (const [name, v] of Object.entries(c.data)) {
      const ds = spec.data.find((d) => d.name === name);
      const f32 = ds !== undefined && (ds.dtype ?? spec.dtype) === 'float32';
      kept[name] = f32 ? await this.runtime.keep(v instanceof Float64Array ? new Float32Array(v) : v, ds.shape) : v;
    }
    return kept;
  }

  /** Loss and metrics averaged over all samples. */
  async evaluate(theta: FloatArray): Promise<DatasetEvaluation> {
    let loss = 0;
    const metrics: Record<string, number> = {};
    const aux: Record<string, Float64Array> = {};
    for (const c of this.chunks) {
      const w = (c.end - c.start) / this.n;
      const e = await this.objective(c.end - c.start).value(theta, await this.feeds(c));
      loss += w * e.loss;
      for (const [k, v] of Object.entries(e.metrics)) metrics[k] = (metrics[k] ?? 0) + w * v;
      accumulate(aux, e.aux, w);
    }
    return { loss, metrics, aux };
  }

  /** Loss, metrics and gradient over all samples (float64 accumulation across chunks). */
  async lossAndGrad(theta: FloatArray): Promise<DatasetGradient> {
    let loss = 0;
    const metrics: Record<string, number> = {};
    const aux: Record<string, Float64Array> = {};
    const acc = new Float64Array(theta.length);
    for (const c of this.chunks) {
      const w = (c.end - c.start) / this.n;
      const e = await this.objective(c.end - c.start).valueAndGrad(theta, await this.feeds(c));
      loss += w * e.loss;
      for (const [k, v] of Object.entries(e.metrics)) metrics[k] = (metrics[k] ?? 0) + w * v;
      accumulate(aux, e.aux, w);
      if (this.chunks.length === 1) return { loss, metrics, aux, grad: e.grad };
      for (let i = 0; i < acc.length; i++) acc[i] += w * e.grad[i]!;
    }
    const grad = theta instanceof Float32Array ? new Float32Array(acc) : acc;
    return { loss, metrics, aux, grad };
  }

  /**
   * Loss, metrics and gradient over all samples at a θ in device memory (webgpu): the gradient
   * stays on the device (see CompiledObjective.deviceValueAndGrad). Over several chunks the
   * chunks' gradients are summed with their sample weights on the device (float32).
   */
  async deviceLossAndGrad(theta: DeviceValue): Promise<DeviceGradEvaluation> {
    const first = this.chunks[0]!;
    const e0 = await this.objective(first.end - first.start).deviceValueAndGrad(theta, await this.feeds(first));
    if (this.chunks.length === 1) return e0;
    const rt = this.runtime;
    const dim = e0.grad.dims[0]!;
    this.accumulate ??= rt.compileDevice(weightedSumGraph(dim), ['sum']);
    const acc = await this.accumulate;
    const w0 = (first.end - first.start) / this.n;
    let loss = w0 * e0.loss;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(e0.metrics)) metrics[k] = w0 * v;
    let sum = e0.grad;
    let sumSq = e0.gradNorm ** 2;
    for (const c of this.chunks.slice(1)) {
      const w = (c.end - c.start) / this.n;
      const e = await this.objective(c.end - c.start).deviceValueAndGrad(theta, await this.feeds(c));
      loss += w * e.loss;
      for (const [k, v] of Object.entries(e.metrics)) metrics[k] = (metrics[k] ?? 0) + w * v;
      // The first chunk's weight is applied with the second's: sum = a·sum + b·g.
      const r = await acc.run({
        a: Float32Array.of(sum === e0.grad ? w0 : 1),
        x: sum,
        b: Float32Array.of(w),
        g: e.grad,
      });
      rt.release(sum);
      rt.release(e.grad);
      sum = r.device.sum!;
      sumSq = r.host.sum_sq![0]!;
    }
    return { loss, metrics, grad: sum, gradNorm: Math.sqrt(sumSq), paramNorm: e0.paramNorm };
  }

  /**
   * Loss, metrics and gradient of the minibatch at rows `idx` (webgpu, at most chunkSize rows),
   * at a θ in device memory: the rows are gathered from the whole dataset kept in device memory,
   * so only the indices cross per step. The gradient stays on the device.
   */
  async deviceMinibatchLossAndGrad(theta: DeviceValue, idx: Int32Array): Promise<DeviceGradEvaluation> {
    if (idx.length > this.chunkSize) {
      throw new Error(
        `a device minibatch gradient needs at most ${this.chunkSize} rows (the chunk size), got ${idx.length}`,
      );
    }
    const o = this.objective(idx.length);
    this.whole ??= this.keepWhole(o);
    const indices = BigInt64Array.from(idx, (i) => BigInt(i));
    return o.deviceValueAndGrad(theta, { ...(await this.whole), ...this.fixed }, { n: this.n, indices });
  }

  /** The whole dataset's float32 inputs in device memory, one [n, …] tensor each (see keepChunk). */
  private async keepWhole(o: CompiledObjective): Promise<Record<string, Feed>> {
    const kept: Record<string, Feed> = {};
    for (const [name, v] of Object.entries(this.samples.arrays)) {
      const ds = o.spec.data.find((d) => d.name === name);
      if (ds === undefined || (ds.dtype ?? o.spec.dtype) !== 'float32') {
        throw new Error(`a device minibatch needs float32 data, '${name}' is ${ds?.dtype ?? 'not an input'}`);
      }
      kept[name] = await this.runtime.keep(v instanceof Float64Array ? new Float32Array(v) : v, [
        this.n,
        ...ds.shape.slice(1),
      ]);
    }
    return kept;
  }

  /** Number of chunks a pass over the data takes. */
  get chunkCount(): number {
    return this.chunks.length;
  }

  /**
   * Prepares exact products of the full-data loss's Hessian (or, with matrix 'ggn', its
   * Gauss–Newton matrix) at θ; the v-independent work is done once per chunk. Both matrices are
   * sample means, so chunks combine with the same weights.
   */
  async hvpAt(theta: FloatArray, matrix: CurvatureMatrix = 'hessian'): Promise<HvpAtPoint> {
    const parts: { w: number; at: HvpAtPoint }[] = [];
    for (const c of this.chunks) {
      parts.push({
        w: (c.end - c.start) / this.n,
        at: await this.objective(c.end - c.start).at(theta, await this.feeds(c), matrix),
      });
    }
    if (parts.length === 1) return parts[0]!.at;
    // One float64 accumulator for the whole preparation (chunks' float32 results are summed in
    // float64), not one per product.
    const acc = new Float64Array(theta.length);
    const compute = async (v: FloatArray): Promise<FloatArray> => {
      for (let p = 0; p < parts.length; p++) {
        const { w, at } = parts[p]!;
        const hv = await at.hvp(v);
        if (p === 0) for (let i = 0; i < acc.length; i++) acc[i] = w * hv[i]!;
        else for (let i = 0; i < acc.length; i++) acc[i] += w * hv[i]!;
      }
      // new TypedArray(typedArray) converts natively; the caller owns the fresh result.
      return v instanceof Float32Array ? new Float32Array(acc) : new Float64Array(acc);
    };
    // Products that overlap (e.g. an un-awaited batch) queue up, as they share the accumulator.
    let queue: Promise<unknown> = Promise.resolve();
    return {
      hvp(v: FloatArray): Promise<FloatArray> {
        const r = queue.then(() => compute(v));
        queue = r.catch(() => undefined);
        return r;
      },
    };
  }
}
