/**
 * Full-batch training whose parameters, gradient and optimizer state stay in device memory
 * (webgpu): per step one gradient graph and one update graph run on the device, and only
 * scalars (loss, metrics, ‖g‖, ‖θ‖) come back. The host copies of θ and of the optimizer's
 * buffers are brought up to date on request (`pull`), for checkpoints, evaluation and curvature
 * measurements; the step count t stays on the host, in the caller's OptimizerState.
 */
import type { DeviceExecutable, DeviceValue, Runtime } from '../engine/backend.ts';
import type { DatasetObjective } from './datasetObjective.ts';
import { clipScale } from './clipping.ts';
import { updateGraph, type UpdateGraph } from './deviceUpdate.ts';
import { assertFinite, type FloatVec } from './vector.ts';
import type { ResolvedOptimizerConfig } from './optimizer-config.ts';
import type { LrScale, Optimizer, OptimizerState } from './optimizer-state.ts';

/** What one device gradient gives the host. */
export interface DeviceStepMetrics {
  loss: number;
  metrics: Record<string, number>;
  /** ‖∇L(θ)‖₂ before clipping, and ‖θ‖₂ (float32 sums on the device). */
  gradNorm: number;
  paramNorm: number;
}

/**
 * Why `objective` cannot train with device-resident state, or null when it can: it needs the
 * webgpu backend, a float32 objective with float32 data, and each minibatch of `batchSize` rows
 * in one chunk (a full batch may take several).
 */
export function deviceTrainingUnsupported(objective: DatasetObjective, batchSize: number | 'full'): string | null {
  if (objective.runtime.backend !== 'webgpu') return `backend ${objective.runtime.backend} has no device memory`;
  const spec = objective.objective(Math.min(objective.chunkSize, objective.n)).spec;
  if (spec.dtype !== 'float32') return 'the objective is not float32';
  const other = spec.data.find((d) => (d.dtype ?? spec.dtype) !== 'float32');
  if (other) return `data input '${other.name}' is ${other.dtype}, not float32`;
  if (batchSize !== 'full' && batchSize > objective.chunkSize)
    return `a minibatch of ${batchSize} takes several chunks (train.chunk_size ${objective.chunkSize})`;
  return null;
}

export class DeviceTraining {
  private grad?: DeviceValue;
  private exe?: Promise<DeviceExecutable>;
  /** Whether the device is ahead of the last pull (an update ran since). */
  private ahead = false;

  private constructor(
    private readonly runtime: Runtime,
    private readonly objective: DatasetObjective,
    private readonly update: UpdateGraph,
    private readonly config: ResolvedOptimizerConfig,
    private theta: DeviceValue,
    private state: Record<string, DeviceValue>,
    private readonly lrScale: DeviceValue | undefined,
  ) {}

  /**
   * Uploads θ (float32, length dim) and the optimizer's buffers, and prepares the update graph
   * of `optimizer`, for steps on minibatches of `batchSize` rows or the full batch. Throws when
   * deviceTrainingUnsupported says why.
   */
  static async start(
    objective: DatasetObjective,
    optimizer: Optimizer,
    theta: Float32Array,
    state: OptimizerState,
    batchSize: number | 'full',
    lrScale?: LrScale,
  ): Promise<DeviceTraining> {
    const why = deviceTrainingUnsupported(objective, batchSize);
    if (why) throw new Error(`device training: ${why}`);
    const rt = objective.runtime;
    const dim = theta.length;
    if (state.dim !== dim)
      throw new Error(`device training: optimizer state for ${state.dim} parameters, θ has ${dim}`);
    const update = updateGraph(optimizer.config, dim, lrScale !== undefined);
    const buffers: Record<string, DeviceValue> = {};
    const fields = state as unknown as Record<string, unknown>;
    for (const name of update.buffers) {
      const host = fields[name];
      if (!(host instanceof Float64Array))
        throw new Error(`device training: the optimizer state has no buffer '${name}'`);
      buffers[name] = await rt.upload(new Float32Array(host), [dim]);
    }
    const scale = lrScale ? await rt.upload(Float32Array.from(lrScale), [dim]) : undefined;
    return new DeviceTraining(rt, objective, update, optimizer.config, await rt.upload(theta, [dim]), buffers, scale);
  }

  /**
   * Loss, metrics and norms at the current θ, over the full batch or the minibatch at rows
   * `idx`; the gradient stays on the device for `step`.
   */
  async gradient(idx?: Int32Array): Promise<DeviceStepMetrics> {
    this.drop(this.grad);
    this.grad = undefined;
    const e = idx
      ? await this.objective.deviceMinibatchLossAndGrad(this.theta, idx)
      : await this.objective.deviceLossAndGrad(this.theta);
    this.grad = e.grad;
    return { loss: e.loss, metrics: e.metrics, gradNorm: e.gradNorm, paramNorm: e.paramNorm };
  }

  /**
   * One update with the last gradient (norm `gradNorm`, clipped to `maxNorm`) at learning rate
   * `lr`; increments state.t on the host like the host optimizers do.
   */
  async step(state: OptimizerState, lr: number, gradNorm: number, maxNorm: number | null | undefined): Promise<void> {
    if (!this.grad) throw new Error('device training: step() needs a gradient() first');
    assertFinite(lr, 'lr', 0);
    const t = state.t + 1;
    const scalars: Record<string, Float32Array> = {
      lr: Float32Array.of(lr),
      gscale: Float32Array.of(clipScale(gradNorm, maxNorm)),
    };
    if (this.update.biasCorrected) {
      const { beta1, beta2 } = this.config;
      scalars.bc1 = Float32Array.of(1 - Math.pow(beta1, t));
      scalars.bc2 = Float32Array.of(1 - Math.pow(beta2, t));
    }
    const feeds: Record<string, DeviceValue | Float32Array> = { ...scalars, theta: this.theta, grad: this.grad };
    for (const [name, v] of Object.entries(this.state)) feeds[`state:${name}`] = v;
    if (this.lrScale) feeds.lr_scale = this.lrScale;
    // Compiled once per training (compileDevice would lower and hash the graph on every call).
    this.exe ??= this.runtime.compileDevice(this.update.graph, [
      'next:theta',
      ...this.update.buffers.map((n) => `next:${n}`),
    ]);
    const { device } = await (await this.exe).run(feeds);
    this.drop(this.theta, this.grad, ...Object.values(this.state));
    this.grad = undefined;
    this.theta = device['next:theta']!;
    for (const name of this.update.buffers) this.state[name] = device[`next:${name}`]!;
    state.t = t;
    this.ahead = true;
  }

  /** Whether the host copies are behind the device (an update ran since the last pull). */
  get stale(): boolean {
    return this.ahead;
  }

  /** Copies θ into `theta` and the optimizer's buffers into `state` (float32 values). */
  async pull(theta: FloatVec, state: OptimizerState): Promise<void> {
    theta.set(await this.runtime.download(this.theta));
    const fields = state as unknown as Record<string, Float64Array>;
    for (const [name, v] of Object.entries(this.state)) fields[name]!.set(await this.runtime.download(v));
    this.ahead = false;
  }

  /** Frees every device value this training holds. */
  dispose(): void {
    this.drop(this.theta, this.grad, this.lrScale, ...Object.values(this.state));
    this.grad = undefined;
  }

  private drop(...vs: (DeviceValue | undefined)[]): void {
    for (const v of vs) if (v) this.runtime.release(v);
  }
}
