/**
 * What the runner writes as a run goes (runner.ts): the config, the initializer's report, metric
 * rows, the summary, checkpoints and the rolling resume state. `RunSink` is that interface; a run
 * directory (RunStore, runStore.ts) implements it on Node, an in-memory sink (memorySink.ts) for
 * tests and for runs in a browser worker. The summary's shape and its construction live here,
 * shared by both.
 */
import type { Config } from './config.ts';
import type { MetricRow } from './metricRows.ts';
import type { SafetensorsContent, TensorInput } from './safetensorsBytes.ts';

export const RUN_STATUSES = ['running', 'completed', 'diverged', 'failed'] as const;
/** running: in progress (or killed); the others are final. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Last measured values; null = never measured (or not finite). */
export interface FinalMetrics {
  readonly train_loss: number | null;
  readonly train_acc: number | null;
  readonly test_loss: number | null;
  readonly test_acc: number | null;
  readonly sharpness: number | null;
}

export interface RunSummary {
  readonly status: RunStatus;
  /** Why it stopped (divergence cause, error message, stopping criterion); null while running or at the end of train.steps. */
  readonly reason: string | null;
  /** Updates done. */
  readonly steps: number;
  readonly final: FinalMetrics;
  /** ISO 8601 times. */
  readonly started_at: string;
  readonly updated_at: string;
  readonly finished_at: string | null;
  /** Wall-clock seconds from start to finish (or to the last update while running). */
  readonly elapsed_s: number | null;
}

export const NO_FINAL: FinalMetrics = Object.freeze({
  train_loss: null,
  train_acc: null,
  test_loss: null,
  test_acc: null,
  sharpness: null,
});

/** The summary of a run at `now` that started at `startedAt` (ISO 8601); non-finite final values become null. */
export function runSummary(
  status: RunStatus,
  reason: string | null,
  steps: number,
  final: Partial<FinalMetrics>,
  startedAt: string,
  now: Date,
  done: boolean,
): RunSummary {
  return {
    status,
    reason,
    steps,
    final: {
      train_loss: finiteOrNull(final.train_loss),
      train_acc: finiteOrNull(final.train_acc),
      test_loss: finiteOrNull(final.test_loss),
      test_acc: finiteOrNull(final.test_acc),
      sharpness: finiteOrNull(final.sharpness),
    },
    started_at: startedAt,
    updated_at: now.toISOString(),
    finished_at: done ? now.toISOString() : null,
    elapsed_s: (now.getTime() - Date.parse(startedAt)) / 1000,
  };
}

function finiteOrNull(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Where a run is written (runner.ts); a RunStore, or an in-memory sink. */
export interface RunSink {
  /** A name for the resume state in messages (a path for a RunStore). */
  readonly resumePath: string;
  /** Records the resolved config (once, at the start of a fresh run). */
  writeConfig(config: Config): unknown;
  /** Records what the initializer chose (nn/initialize.ts `initReport`). */
  writeInit(report: Readonly<Record<string, unknown>>): void;
  /** Appends one metrics row. */
  appendMetrics(row: MetricRow): void;
  /** Keeps exactly the rows with step <= maxStep (resuming); returns how many. */
  truncateMetrics(maxStep: number): number;
  /** The last summary, or null before the run started. */
  readSummary(): RunSummary | null;
  /** Records that training is in progress at `steps` updates. */
  markRunning(steps: number, final?: Partial<FinalMetrics>): RunSummary;
  /** Records the end of the run: completed, diverged (a result, not an error) or failed. */
  finish(
    status: Exclude<RunStatus, 'running'>,
    reason: string | null,
    steps: number,
    final: Partial<FinalMetrics>,
  ): RunSummary;
  /** Saves the checkpoint of `step` (metadata gets `step`). */
  writeCheckpoint(step: number, tensors: readonly TensorInput[], metadata?: Readonly<Record<string, string>>): unknown;
  /** Drops checkpoints after `step`; returns their steps. */
  removeCheckpointsAfter(step: number): number[];
  /** Whether a resume state was saved. */
  hasResume(): boolean;
  /** The saved resume state (throws if there is none). */
  readResume(): SafetensorsContent;
  /** Replaces the resume state. */
  writeResume(tensors: readonly TensorInput[], metadata: Readonly<Record<string, string>>): void;
  /** Flushes and closes what the run holds open (the sink can be written again later). */
  close(): void;
}
