/**
 * One run directory (DESIGN.md, "A run is a directory"):
 *
 *   config.json      the resolved config at the top level, plus `seed` (= train.seed),
 *                    `versions` {edgewise, node, onnxruntime_node} and `created_at`
 *   metrics.jsonl    one row per logged step (see metrics.ts)
 *   summary.json     {status, reason, steps, final: {train_loss, train_acc, test_loss, test_acc,
 *                    sharpness}, started_at, updated_at, finished_at, elapsed_s}; status is
 *                    `running` while training, then completed | diverged | failed
 *   checkpoints/     step-000000.safetensors (the initialization), step-000100.safetensors, …
 *
 * config.json and summary.json are replaced atomically; metrics.jsonl is append-only.
 * A directory without summary.json has not started ('new').
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { resolveConfig, type Config } from './config.ts';
import { writeJsonAtomic } from './atomicWrite.ts';
import { stripRunMetadata } from './loadConfig.ts';
import { MetricsWriter, readMetrics, truncateMetrics, type MetricRow, type MetricsContent } from './metrics.ts';
import { readSafetensors, writeSafetensors, type SafetensorsContent, type TensorInput } from './safetensors.ts';

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

export interface Versions {
  /** edgewise's package.json version. */
  readonly edgewise: string | null;
  /** process.version, e.g. v20.20.2. */
  readonly node: string;
  /** Installed onnxruntime-node version (null if not installed). */
  readonly onnxruntime_node: string | null;
}

/** The content of config.json. */
export type RunConfigFile = Config & { readonly seed: number; readonly versions: Versions; readonly created_at: string };

export const NO_FINAL: FinalMetrics = Object.freeze({ train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: null });

function packageVersion(pkg: string): string | null {
  try {
    const file = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

function ownVersion(): string | null {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
    return pkg.name === 'edgewise' && typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

/** Versions of edgewise, Node and onnxruntime-node (read from package.json files; does not load onnxruntime). */
export function collectVersions(): Versions {
  return { edgewise: ownVersion(), node: process.version, onnxruntime_node: packageVersion('onnxruntime-node') };
}

/** `step-000123.safetensors` (6 digits; more for steps >= 10^6). */
export function checkpointFileName(step: number): string {
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`checkpoint step must be an integer >= 0 (got ${step})`);
  return `step-${String(step).padStart(6, '0')}.safetensors`;
}

/** The step of a checkpoint file name, or null if the name is not one. */
export function parseCheckpointFileName(name: string): number | null {
  const m = /^step-(\d{6,})\.safetensors$/.exec(name);
  return m === null ? null : Number(m[1]);
}

function finiteOrNull(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Reads and writes one run directory. Methods are synchronous; nothing touches disk until called. */
export class RunStore {
  readonly configPath: string;
  readonly metricsPath: string;
  readonly summaryPath: string;
  readonly checkpointsDir: string;
  private readonly metrics: MetricsWriter;
  private startedAt: string | null = null;

  constructor(readonly dir: string) {
    this.configPath = join(dir, 'config.json');
    this.metricsPath = join(dir, 'metrics.jsonl');
    this.summaryPath = join(dir, 'summary.json');
    this.checkpointsDir = join(dir, 'checkpoints');
    this.metrics = new MetricsWriter(this.metricsPath);
  }

  /** Creates the directory (and checkpoints/) if missing. */
  init(): this {
    mkdirSync(this.checkpointsDir, { recursive: true });
    return this;
  }

  // ---- config.json

  /** Writes config.json: the resolved config plus seed, versions and creation time. */
  writeConfig(config: Config, versions: Versions = collectVersions(), now: Date = new Date()): RunConfigFile {
    const file: RunConfigFile = { ...config, seed: config.train.seed, versions, created_at: now.toISOString() };
    writeJsonAtomic(this.configPath, file);
    return file;
  }

  /** Reads config.json back, re-validating the config part. */
  readConfig(): { config: Config; seed: number; versions: Versions; created_at: string } {
    const raw = readJson(this.configPath);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${this.configPath}: not a JSON object`);
    const r = raw as Record<string, unknown>;
    let config: Config;
    try {
      config = resolveConfig(stripRunMetadata(r));
    } catch (e) {
      throw new Error(`${this.configPath}: ${(e as Error).message}`);
    }
    return {
      config,
      seed: typeof r.seed === 'number' ? r.seed : config.train.seed,
      versions: r.versions as Versions,
      created_at: typeof r.created_at === 'string' ? r.created_at : '',
    };
  }

  // ---- metrics.jsonl

  /** Appends one row (one line, one write call). */
  appendMetrics(row: MetricRow): void {
    this.metrics.append(row);
  }

  /** Reads all complete rows (a partial last line is dropped). */
  readMetrics(): MetricsContent {
    return readMetrics(this.metricsPath);
  }

  /** Keeps exactly the rows with step <= maxStep (for resuming at checkpoint maxStep); returns how many. */
  truncateMetrics(maxStep: number): number {
    this.metrics.close();
    return truncateMetrics(this.metricsPath, maxStep);
  }

  /** Closes metrics.jsonl (call when the run ends; appending again reopens it). */
  close(): void {
    this.metrics.close();
  }

  // ---- summary.json

  writeSummary(summary: RunSummary): void {
    writeJsonAtomic(this.summaryPath, summary);
  }

  /** summary.json, or null when the run has not started. */
  readSummary(): RunSummary | null {
    if (!existsSync(this.summaryPath)) return null;
    const s = readJson(this.summaryPath) as Partial<RunSummary> | null;
    if (s === null || typeof s !== 'object' || !(RUN_STATUSES as readonly unknown[]).includes(s.status)) {
      throw new Error(`${this.summaryPath}: status must be one of ${RUN_STATUSES.join(', ')} (got ${JSON.stringify(s?.status)})`);
    }
    return s as RunSummary;
  }

  /** 'new' (no summary.json), 'running' (started, not finished: in progress or killed) or the final status. */
  status(): RunStatus | 'new' {
    return this.readSummary()?.status ?? 'new';
  }

  /** Records that training is in progress at `steps` updates (call at start and, if wanted, periodically). */
  markRunning(steps: number, final: Partial<FinalMetrics> = {}, now: Date = new Date()): RunSummary {
    this.startedAt ??= this.readSummaryQuiet()?.started_at ?? now.toISOString();
    return this.put('running', null, steps, final, now, false);
  }

  /** Records the end of the run: completed, diverged (a result, not an error) or failed. */
  finish(status: Exclude<RunStatus, 'running'>, reason: string | null, steps: number, final: Partial<FinalMetrics>, now: Date = new Date()): RunSummary {
    this.startedAt ??= this.readSummaryQuiet()?.started_at ?? now.toISOString();
    this.close();
    return this.put(status, reason, steps, final, now, true);
  }

  private readSummaryQuiet(): RunSummary | null {
    try {
      return this.readSummary();
    } catch {
      return null;
    }
  }

  private put(status: RunStatus, reason: string | null, steps: number, final: Partial<FinalMetrics>, now: Date, done: boolean): RunSummary {
    const started = this.startedAt ?? now.toISOString();
    const summary: RunSummary = {
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
      started_at: started,
      updated_at: now.toISOString(),
      finished_at: done ? now.toISOString() : null,
      elapsed_s: (now.getTime() - Date.parse(started)) / 1000,
    };
    this.writeSummary(summary);
    return summary;
  }

  // ---- checkpoints/

  checkpointPath(step: number): string {
    return join(this.checkpointsDir, checkpointFileName(step));
  }

  /** Writes checkpoints/step-NNNNNN.safetensors atomically (metadata gets `step`). */
  writeCheckpoint(step: number, tensors: readonly TensorInput[], metadata: Readonly<Record<string, string>> = {}): string {
    const file = this.checkpointPath(step);
    writeSafetensors(file, tensors, { ...metadata, step: String(step) });
    return file;
  }

  readCheckpoint(step: number): SafetensorsContent {
    return readSafetensors(this.checkpointPath(step));
  }

  /** Steps that have a checkpoint, ascending. */
  listCheckpoints(): number[] {
    if (!existsSync(this.checkpointsDir)) return [];
    const steps: number[] = [];
    for (const name of readdirSync(this.checkpointsDir)) {
      const s = parseCheckpointFileName(name);
      if (s !== null) steps.push(s);
    }
    return steps.sort((a, b) => a - b);
  }

  /** The latest checkpoint step <= maxStep (default: any), or null. */
  latestCheckpoint(maxStep = Infinity): number | null {
    const steps = this.listCheckpoints().filter((s) => s <= maxStep);
    return steps.length === 0 ? null : steps[steps.length - 1];
  }

  /** Deletes checkpoints after `step` (resuming from `step` will write them again); returns their steps. */
  removeCheckpointsAfter(step: number): number[] {
    const gone = this.listCheckpoints().filter((s) => s > step);
    for (const s of gone) rmSync(this.checkpointPath(s), { force: true });
    return gone;
  }
}
