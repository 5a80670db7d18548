/**
 * Runs one training run from a resolved config into a run directory on Node: the training loop
 * (trainLoop.ts, Node-free) with the data read by loadDataset, onnxruntime-node's runtime, and a
 * RunStore (or the given sink) with density snapshots in the run directory.
 *
 * Determinism: every random choice derives from the config's seeds and the step number (the
 * minibatch of step t, the Lanczos start vector of the measurement at step t), and the resume
 * state holds θ, the optimizer's moments, BatchNorm buffers and the previous eigenvectors, so a
 * resumed run reproduces the uninterrupted one bit for bit on the same machine.
 */
import { loadDataset } from '../data/dataset.ts';
import type { Config } from './config.ts';
import { createRunRuntime } from './runModel.ts';
import { RunStore, writeCurvatureSnapshot, type RunSummary } from './runStore.ts';
import type { RunSink } from './runSink.ts';
import { trainWith, type RunEvents } from './trainLoop.ts';

export {
  RESUME_EVERY,
  trainWith,
  type MetricRow,
  type RunEvents,
  type TrainHost,
  type TrainOptions,
} from './trainLoop.ts';

export interface RunOptions {
  /** The run directory (created if needed). */
  dir: string;
  /** Where the run is written instead of a RunStore on `dir` (e.g. in memory; density snapshots still go to `dir`). */
  sink?: RunSink;
  /** Continue an interrupted run in `dir` from its resume state. */
  resume?: boolean;
  events?: RunEvents;
  /** Set to stop after the current step (e.g. on SIGINT); the run stays resumable. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** Trains one run as configured; returns the summary (divergence is a result, not an error). */
export async function trainRun(config: Config, opts: RunOptions): Promise<RunSummary> {
  const store: RunSink = opts.sink ?? new RunStore(opts.dir).init();
  return trainWith(
    config,
    store,
    {
      loadData: (c) => loadDataset({ ...c.data }, opts.env ?? process.env),
      createRuntime: (c) => createRunRuntime(c),
      writeDensity: (step, value) => void writeCurvatureSnapshot(opts.dir, 'density', step, value),
    },
    opts,
  );
}
