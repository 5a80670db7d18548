/**
 * The experiments layer: the config schema and loader, training runs (`trainRun`) into run
 * directories or any `RunSink` (`MemoryRunSink`), sweeps, the run store and metrics files,
 * safetensors checkpoints, checkpoint analysis and the max-stable-learning-rate search.
 */
export { ConfigError, configSchema, defaultConfig, resolveConfig, type Config, type ConfigIssue } from './config.ts';
export { applyOverrides, loadConfig, parseOverride, readConfigFile, type Override } from './loadConfig.ts';
export { trainRun, type MetricRow as RunMetricRow, type RunEvents, type RunOptions } from './runner.ts';
export {
  RUN_STATUSES,
  RunStore,
  type FinalMetrics,
  type RunConfigFile,
  type RunStatus,
  type RunSummary,
  type Versions,
} from './runStore.ts';
export { runSummary, type RunSink } from './runSink.ts';
export { MemoryRunSink } from './memorySink.ts';
export { readMetrics, type MetricRow, type MetricsContent } from './metrics.ts';
export { metricsToCsv, metricsFileToCsv } from './csv.ts';
export { type LockInfo } from './lock.ts';
export { expandSweep, gridProduct, loadSweep, parseSweep, runNames, type SweepRun, type SweepSpec } from './sweep.ts';
export {
  runSweep,
  type RunAttempt,
  type RunOne,
  type RunSweepOptions,
  type SweepResult,
  type SweepRunRow,
} from './sweepRunner.ts';
export { sweepStatus, formatSweepStatus, type RunState, type RunStateRow, type SweepStatus } from './sweepStatus.ts';
export {
  readSafetensors,
  writeSafetensors,
  type SafetensorsContent,
  type Tensor as SafetensorsTensor,
  type TensorData,
  type TensorInput,
} from './safetensors.ts';
export { analyseCheckpoint, type Analysis, type AnalysisOptions } from './analysis.ts';
export {
  classifyRun,
  findMaxStableLr,
  readMaxLrFile,
  runMaxLrExperiment,
  seedBrackets,
  summarizeTrials,
  TRIAL_OUTCOMES,
  type LrSummary,
  type LrVerdict,
  type MaxLrCell,
  type MaxLrCellResult,
  type MaxLrFile,
  type MaxLrSettings,
  type MaxLrSummary,
  type TrialOutcome,
  type MaxLrOptions,
  type MaxLrResult,
  type SeedBracket,
  type SeedRule,
  type Trial,
  type TrialRecord,
  type TrialResult,
  type ConstantPredictor,
  type RunRecord,
  type TrialTarget,
  type TrialLike,
  type MaxLrExperimentOptions,
  RunManifest,
} from './maxLr.ts';
export type { Limiter } from '../util/concurrency.ts';
