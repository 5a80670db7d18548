/**
 * Edgewise: loss curvature and training instability in neural networks. Exact Hessian-vector
 * products from its own autodiff engine, Lanczos, trace and spectral density; GD/SGD/Adam
 * training with curvature measured along the way.
 *
 * Each layer is a namespace here and a subpath export (`edgewise/engine`, `edgewise/nn`,
 * `edgewise/train`, `edgewise/curvature`, `edgewise/experiments`, `edgewise/data`); the names a
 * PyHessian / hessian-eigenthings user looks for are also exported at the top level.
 *
 * @packageDocumentation
 */
export * as engine from './engine/index.ts';
export * as nn from './nn/index.ts';
export * as data from './data/index.ts';
export * as train from './train/index.ts';
export * as curvature from './curvature/index.ts';
export * as experiments from './experiments/index.ts';

export { createRng, normalArray, permutation, type Rng } from './util/random.ts';
export { Runtime, type BackendName } from './engine/backend.ts';
export { buildModel, type Model, type ModelConfig } from './nn/model.ts';
export { objectiveSpec, type LossName } from './nn/losses.ts';
export { loadDataset, type Dataset } from './data/dataset.ts';
export { DatasetObjective } from './train/datasetObjective.ts';
export {
  gaussNewton,
  ggnOperator,
  hessian,
  hessianOperator,
  lanczos,
  topEigenpairs,
  trace,
  density,
  materialize,
  symmetricEigen,
  type EigenResult,
  type HessianOperator,
  type LinearOperator,
  type ModelHessian,
  type ModelHessianOptions,
  type SpectralDensity,
} from './curvature/index.ts';
export { resolveConfig, trainRun, type Config } from './experiments/index.ts';
