/**
 * The training-update layer: optimizers over flat parameter vectors, their preconditioners and
 * stability thresholds, learning-rate schedules, gradient clipping and minibatch sampling.
 * Pure numeric code; it depends only on util/.
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
} from './optimizer-state.ts';
export { createOptimizer } from './optimizers.ts';
export {
  preconditionerDiagonal,
  stabilityThreshold,
  type StabilityThreshold,
  type OptimizerConfigFields,
} from './preconditioner.ts';
export { DECAY_NAMES, createSchedule, learningRateAt, type DecayName, type ScheduleConfig } from './schedules.ts';
export { clipGradNorm, globalNorm, type ClipConfig, type ClipResult } from './clipping.ts';
export {
  createBatchSampler,
  epochPermutation,
  type BatchSampler,
  type BatchSamplerConfig,
} from './batches.ts';
