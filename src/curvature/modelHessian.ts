/**
 * PyHessian's `hessian(model, criterion, data)` for an Edgewise model: the exact Hessian of the
 * mean loss over a dataset at given parameters, as a LinearOperator with `eigenvalues`, `trace`
 * and `density` methods. It wires the model, loss and samples into a DatasetObjective on a
 * Runtime; `hessianOperator` is the lower-level route for any other objective.
 */
import { Runtime, backendDType, type BackendName } from '../engine/backend.ts';
import type { FloatArray } from '../engine/params.ts';
import { oneHot } from '../data/rows.ts';
import type { Dataset } from '../data/types.ts';
import { modelFeeds, objectiveSpec, type LossName } from '../nn/losses.ts';
import type { Mode } from '../nn/layers.ts';
import type { Model } from '../nn/model.ts';
import { DatasetObjective } from '../train/datasetObjective.ts';
import type { EigenResult } from './eigenResult.ts';
import type { LanczosOptions } from './lanczos.ts';
import { curvatureOperator, type HessianOperator } from './hessian.ts';
import type { CurvatureMatrix } from '../engine/objective.ts';
import type { HutchinsonOptions, HutchinsonResult } from './trace.ts';
import type { DensityOptions, SlqOptions } from './density.ts';
import { density, topEigenpairs, trace, type SpectralDensity } from './shortcuts.ts';

export interface ModelHessianOptions {
  /** Runtime to compile on; default a new one on `backend`. */
  readonly runtime?: Runtime;
  /** 'ort' (onnxruntime CPU, float32; default), 'webgpu' (onnxruntime WebGPU, float32) or 'reference' (float64 interpreter: slow, exact). */
  readonly backend?: BackendName;
  /** Samples per graph execution (default 5000); the result does not depend on it. */
  readonly chunkSize?: number;
  /** BatchNorm mode of the loss (default 'train': batch statistics). Models with dropout are not supported. */
  readonly mode?: Mode;
  /** BatchNorm running statistics (model.bufferLayout), needed in 'eval' mode by models with BatchNorm. */
  readonly buffers?: ArrayLike<number>;
}

/** The Hessian (or Gauss–Newton matrix) of a model's loss: an operator (dim = number of parameters) and the usual questions. */
export interface ModelHessian extends HessianOperator {
  /** The objective whose curvature this is (loss, gradient over the same samples). */
  readonly objective: DatasetObjective;
  /** Top-n eigenpairs, eigenvalues descending (PyHessian's `eigenvalues(top_n)`). */
  eigenvalues(topN?: number, options?: Omit<LanczosOptions, 'k' | 'which'>): Promise<EigenResult>;
  /** Hutchinson estimate of tr(H) with its standard error. */
  trace(options?: HutchinsonOptions): Promise<HutchinsonResult>;
  /** Spectral density of H by stochastic Lanczos quadrature. */
  density(options?: SlqOptions & DensityOptions): Promise<SpectralDensity>;
  /** Releases the runtime if this call created it. */
  dispose(): Promise<void>;
}

/**
 * H = ∇²_θ L(θ) for L = mean over `data`'s n samples of `loss` (mse or cross-entropy on one-hot
 * labels, or on `data.targets`), at θ = `params` (length model.layout.size, the model's flat layout).
 */
export function hessian(
  model: Model,
  loss: LossName,
  data: Dataset,
  params: ArrayLike<number>,
  options: ModelHessianOptions = {},
): Promise<ModelHessian> {
  return modelCurvature('hessian', model, loss, data, params, options);
}

/**
 * G = Jᵀ ∇²_f ℓ J, the generalized Gauss–Newton matrix of the same loss as `hessian(...)` (J: the
 * Jacobian of the model's outputs in θ, ∇²_f ℓ: the loss's Hessian in the outputs), with the same
 * methods: `.eigenvalues(k)`, `.trace()`, `.density()`. Positive semi-definite; it equals H for a
 * model linear in θ, or under MSE where the residuals vanish.
 */
export function gaussNewton(
  model: Model,
  loss: LossName,
  data: Dataset,
  params: ArrayLike<number>,
  options: ModelHessianOptions = {},
): Promise<ModelHessian> {
  return modelCurvature('ggn', model, loss, data, params, options);
}

async function modelCurvature(
  matrix: CurvatureMatrix,
  model: Model,
  loss: LossName,
  data: Dataset,
  params: ArrayLike<number>,
  options: ModelHessianOptions,
): Promise<ModelHessian> {
  const fn = matrix === 'ggn' ? 'gaussNewton' : 'hessian';
  if (params.length !== model.layout.size)
    throw new Error(`${fn}: params has length ${params.length}, the model has ${model.layout.size} parameters`);
  if (model.dropouts.length > 0)
    throw new Error(`${fn}: models with dropout are not supported (the loss would be random)`);
  const runtime = options.runtime ?? new Runtime({ backend: options.backend ?? 'ort' });
  const dtype = backendDType(runtime.backend);
  const y = data.targets ?? (data.y ? oneHot(data.y, data.numClasses) : null);
  if (!y) throw new Error(`${fn}: data has neither labels (y) nor targets`);
  const mode = options.mode ?? 'train';
  const samples = { n: data.n, arrays: { x: data.x, y } };
  const fixed =
    mode === 'eval'
      ? modelFeeds(model, 'eval', {
          buffers: options.buffers === undefined ? undefined : Float64Array.from(options.buffers),
        })
      : {};
  const objective = new DatasetObjective(
    runtime,
    (b) => objectiveSpec(model, loss, b, mode, dtype),
    samples,
    options.chunkSize ?? 5000,
    fixed,
  );
  const theta: FloatArray = dtype === 'float32' ? Float32Array.from(params) : Float64Array.from(params);
  const H = await curvatureOperator(objective, theta, matrix);
  const own = options.runtime === undefined;
  // Extends the operator object itself, so whatever products it offers (matvec, float32 or block
  // variants) stay visible to the solvers.
  return Object.assign(H, {
    objective,
    eigenvalues: (topN = 1, o: Omit<LanczosOptions, 'k' | 'which'> = {}) => topEigenpairs(H, topN, o),
    trace: (o: HutchinsonOptions = {}) => trace(H, o),
    density: (o: SlqOptions & DensityOptions = {}) => density(H, o),
    dispose: async () => {
      if (own) await runtime.dispose();
    },
  });
}
