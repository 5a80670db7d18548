/**
 * A RunSink in memory (runSink.ts): what a run directory would hold, as values. Metric rows go
 * through the same serialization as metrics.jsonl (non-finite numbers become null, typed arrays
 * lists) and checkpoints and the resume state through safetensors bytes, so a run reads the
 * same back from memory as from a RunStore. No Node access (a browser worker can keep a run).
 */
import type { Config } from './config.ts';
import { parseRow, serializeRow, type MetricRow } from './metricRows.ts';
import { runSummary, type FinalMetrics, type RunSink, type RunStatus, type RunSummary } from './runSink.ts';
import {
  decodeSafetensors,
  encodeSafetensorsBytes,
  type SafetensorsContent,
  type TensorInput,
} from './safetensorsBytes.ts';

/** A run kept in memory; `now` is the clock for the summary's times. */
export class MemoryRunSink implements RunSink {
  readonly resumePath = 'memory:resume.safetensors';
  /** The config as written (with `seed` and `created_at`, as config.json), or null. */
  config: (Config & { readonly seed: number; readonly created_at: string }) | null = null;
  /** The initializer's report, or null. */
  init: Readonly<Record<string, unknown>> | null = null;
  /** Metric rows, as metrics.jsonl reads back. */
  readonly rows: MetricRow[] = [];
  /** The latest summary, or null before the run started. */
  summary: RunSummary | null = null;
  /** Checkpoints as safetensors bytes, by step. */
  readonly checkpoints = new Map<number, Uint8Array>();
  private resume: Uint8Array | null = null;
  private startedAt: string | null = null;

  constructor(private readonly now: () => Date = () => new Date()) {}

  writeConfig(config: Config): void {
    this.config = { ...config, seed: config.train.seed, created_at: this.now().toISOString() };
  }

  writeInit(report: Readonly<Record<string, unknown>>): void {
    this.init = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  }

  appendMetrics(row: MetricRow): void {
    this.rows.push(parseRow(serializeRow(row))!);
  }

  truncateMetrics(maxStep: number): number {
    const kept = this.rows.filter((r) => r.step <= maxStep);
    this.rows.splice(0, this.rows.length, ...kept);
    return kept.length;
  }

  readSummary(): RunSummary | null {
    return this.summary;
  }

  markRunning(steps: number, final: Partial<FinalMetrics> = {}): RunSummary {
    return this.put('running', null, steps, final, false);
  }

  finish(
    status: Exclude<RunStatus, 'running'>,
    reason: string | null,
    steps: number,
    final: Partial<FinalMetrics>,
  ): RunSummary {
    return this.put(status, reason, steps, final, true);
  }

  private put(
    status: RunStatus,
    reason: string | null,
    steps: number,
    final: Partial<FinalMetrics>,
    done: boolean,
  ): RunSummary {
    const now = this.now();
    this.startedAt ??= this.summary?.started_at ?? now.toISOString();
    this.summary = runSummary(status, reason, steps, final, this.startedAt, now, done);
    return this.summary;
  }

  writeCheckpoint(
    step: number,
    tensors: readonly TensorInput[],
    metadata: Readonly<Record<string, string>> = {},
  ): void {
    this.checkpoints.set(step, encodeSafetensorsBytes(tensors, { ...metadata, step: String(step) }));
  }

  /** The checkpoint of `step`, decoded. */
  readCheckpoint(step: number): SafetensorsContent {
    const bytes = this.checkpoints.get(step);
    if (!bytes) throw new Error(`memory run: no checkpoint at step ${step}`);
    return decodeSafetensors(bytes, `memory:checkpoint-${step}`);
  }

  removeCheckpointsAfter(step: number): number[] {
    const gone = [...this.checkpoints.keys()].filter((s) => s > step).sort((a, b) => a - b);
    for (const s of gone) this.checkpoints.delete(s);
    return gone;
  }

  hasResume(): boolean {
    return this.resume !== null;
  }

  readResume(): SafetensorsContent {
    if (this.resume === null) throw new Error(`${this.resumePath}: no resume state saved`);
    return decodeSafetensors(this.resume, this.resumePath);
  }

  writeResume(tensors: readonly TensorInput[], metadata: Readonly<Record<string, string>>): void {
    this.resume = encodeSafetensorsBytes(tensors, metadata);
  }

  close(): void {}
}
