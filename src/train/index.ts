/**
 * The training-update layer: optimizers over flat parameter vectors, their preconditioners and
 * stability thresholds, learning-rate schedules, gradient clipping, minibatch sampling, and
 * `DatasetObjective` (a loss over a whole dataset in chunks: value, gradient, exact HVPs), and
 * `DeviceTraining` (full-batch steps whose θ and optimizer state stay in WebGPU memory). All but
 * DatasetObjective and the device training is pure numeric code over typed arrays.
 */

export type { FloatVec } from './vector.ts';
export {
  OPTIMIZER_NAMES,
  OPTIMIZER_DEFAULTS,
  isOptimizerName,
  isAdaptive,
  resolveOptimizerConfig,
  type OptimizerName,
  type OptimizerConfig,
  type ResolvedOptimizerConfig,
} from './optimizer-config.ts';
export type {
  Optimizer,
  OptimizerState,
  PlainState,
  MomentumState,
  AdamState,
  RmspropState,
  StateByName,
  LrScale,
} from './optimizer-state.ts';
export { createOptimizer } from './optimizers.ts';
export {
  preconditionerDiagonal,
  stabilityThreshold,
  type StabilityThreshold,
  type OptimizerConfigFields,
} from './preconditioner.ts';
export { DECAY_NAMES, createSchedule, learningRateAt, type DecayName, type ScheduleConfig } from './schedules.ts';
export { clipGradNorm, clipScale, globalNorm, type ClipConfig, type ClipResult } from './clipping.ts';
export { createBatchSampler, epochPermutation, type BatchSampler, type BatchSamplerConfig } from './batches.ts';
export {
  DatasetObjective,
  type DatasetEvaluation,
  type DatasetGradient,
  type SampleData,
  type SpecForBatch,
} from './datasetObjective.ts';
export { DeviceTraining, deviceTrainingUnsupported, type DeviceStepMetrics } from './deviceTraining.ts';
export { updateGraph, stateBuffers, type StateBuffer, type UpdateGraph } from './deviceUpdate.ts';
