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
 *   curvature/       <prefix>-step-NNNNNN.json snapshots (density, slices, analysis, …)
 *   resume.safetensors  the rolling resume state of an unfinished run (runner.ts)
 *   init.json        what the initializer chose (MetaInit / GradInit scales and histories, Fixup's
 *                    multipliers); absent for fixed-distribution schemes
 *
 * A sweep directory holds run directories one level down and `sweep.json` (the manifest:
 * {name, grid, runs: [{index, name, params}]}). This module owns every one of these names:
 * other code asks it for paths and reads/writes through it.
 *
 * config.json and summary.json are replaced atomically; metrics.jsonl is append-only.
 * A directory without summary.json has not started ('new').
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConfigError, resolveConfig, type Config } from './config.ts';
import { writeFileAtomic, writeJsonAtomic } from './atomicWrite.ts';
import { stripRunMetadata } from './loadConfig.ts';
import { MetricsWriter, readMetrics, truncateMetrics, type MetricRow, type MetricsContent } from './metrics.ts';
import { readSafetensors, writeSafetensors, type SafetensorsContent, type TensorInput } from './safetensors.ts';
import {
  RUN_STATUSES,
  runSummary,
  type FinalMetrics,
  type RunSink,
  type RunStatus,
  type RunSummary,
} from './runSink.ts';

export {
  NO_FINAL,
  RUN_STATUSES,
  runSummary,
  type FinalMetrics,
  type RunSink,
  type RunStatus,
  type RunSummary,
} from './runSink.ts';

/** Names of the files and sub-directories of a run directory (see the header). */
export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  checkpoints: 'checkpoints',
  resume: 'resume.safetensors',
  curvature: 'curvature',
  init: 'init.json',
} as const;

/** RUN_DIR/<the file named by `which`>. */
export function runFilePath(runDir: string, which: keyof typeof RUN_FILES): string {
  return join(runDir, RUN_FILES[which]);
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
export type RunConfigFile = Config & {
  readonly seed: number;
  readonly versions: Versions;
  readonly created_at: string;
};

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
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
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

// ---- curvature/<prefix>-step-NNNNNN.json snapshots

/** `<prefix>-step-000123.json` (6 digits; more for steps >= 10^6). `prefix` is e.g. density, slices, analysis. */
export function curvatureSnapshotName(prefix: string, step: number): string {
  if (!/^[A-Za-z0-9_.]+$/.test(prefix))
    throw new Error(`curvature snapshot prefix must be letters, digits, _ or . (got ${JSON.stringify(prefix)})`);
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`curvature snapshot step must be an integer >= 0 (got ${step})`);
  return `${prefix}-step-${String(step).padStart(6, '0')}.json`;
}

/** The step of a `<prefix>-step-N.json` name (any number of digits), or null if the name is not one. */
export function parseCurvatureSnapshotName(name: string, prefix: string): number | null {
  if (!name.startsWith(`${prefix}-step-`)) return null;
  const m = /^(\d{1,15})\.json$/.exec(name.slice(prefix.length + 6));
  return m === null ? null : Number(m[1]);
}

/** RUN_DIR/curvature/<prefix>-step-NNNNNN.json. */
export function curvatureSnapshotPath(runDir: string, prefix: string, step: number): string {
  return join(runFilePath(runDir, 'curvature'), curvatureSnapshotName(prefix, step));
}

/** Writes one snapshot atomically (creating curvature/); returns its path. */
export function writeCurvatureSnapshot(runDir: string, prefix: string, step: number, value: unknown): string {
  const file = curvatureSnapshotPath(runDir, prefix, step);
  writeJsonAtomic(file, value);
  return file;
}

/** The run's `<prefix>` snapshots, ascending by step ([] without a curvature/ directory). */
export function listCurvatureSnapshots(
  runDir: string,
  prefix: string,
): Array<{ readonly step: number; readonly name: string; readonly file: string }> {
  const dir = runFilePath(runDir, 'curvature');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<{ step: number; name: string; file: string }> = [];
  for (const name of names) {
    const step = parseCurvatureSnapshotName(name, prefix);
    if (step !== null) out.push({ step, name, file: join(dir, name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

// ---- sweep.json

/** File in a sweep's directory that lists its runs. */
export const SWEEP_MANIFEST = 'sweep.json';

/** Content of `SWEEP_DIR/sweep.json`: the sweep's name, grid (dotted key → values) and runs in order. */
export interface SweepManifest {
  readonly name: string | null;
  /** Free text for reports (optional). */
  readonly description?: string;
  readonly grid: Readonly<Record<string, readonly unknown[]>>;
  readonly runs: ReadonlyArray<{
    readonly index: number;
    readonly name: string;
    readonly params: Readonly<Record<string, unknown>>;
  }>;
}

/** SWEEP_DIR/sweep.json. */
export function sweepManifestPath(sweepDir: string): string {
  return join(sweepDir, SWEEP_MANIFEST);
}

/** Whether `sweepDir` has a sweep.json (readable or not). */
export function hasSweepManifest(sweepDir: string): boolean {
  return existsSync(sweepManifestPath(sweepDir));
}

/** Reads `sweepDir/sweep.json`; throws an error naming the file when it is missing or malformed. */
export function readSweepManifest(sweepDir: string): SweepManifest {
  const file = sweepManifestPath(sweepDir);
  if (!existsSync(file)) throw new Error(`${file}: not found (no worker has started this sweep in ${sweepDir} yet)`);
  const m = readJson(file) as Partial<SweepManifest> | null;
  const ok =
    m !== null &&
    typeof m === 'object' &&
    (m.name === null || typeof m.name === 'string') &&
    m.grid !== null &&
    typeof m.grid === 'object' &&
    Array.isArray(m.runs) &&
    m.runs.every(
      (r) => r !== null && typeof r === 'object' && Number.isSafeInteger(r.index) && typeof r.name === 'string',
    );
  if (!ok) throw new Error(`${file}: not a sweep manifest ({name, grid, runs: [{index, name, params}]})`);
  return m as SweepManifest;
}

/**
 * Writes `sweepDir/sweep.json` atomically unless it already holds the same content. A different
 * manifest there is replaced (a grown sweep keeps its run names), unless a run name appears in
 * both with different params: then two sweeps would share run directories, a ConfigError.
 */
export function writeSweepManifest(
  sweepDir: string,
  manifest: SweepManifest,
  log: (line: string) => void = () => {},
): void {
  const file = sweepManifestPath(sweepDir);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (existsSync(file)) {
    let old: string;
    try {
      old = readFileSync(file, 'utf8');
    } catch {
      old = '';
    }
    if (old === text) return;
    let oldRuns: SweepManifest['runs'];
    try {
      const runs = (JSON.parse(old) as Partial<SweepManifest> | null)?.runs;
      oldRuns = Array.isArray(runs) ? runs : [];
    } catch {
      oldRuns = []; // a damaged manifest is simply replaced
    }
    const mine = new Map(manifest.runs.map((r) => [r.name, JSON.stringify(r.params)]));
    for (const r of oldRuns) {
      const p = mine.get(r?.name);
      if (p !== undefined && p !== JSON.stringify(r.params)) {
        throw new ConfigError(
          `${file}: run "${r.name}" has values ${JSON.stringify(r.params)} there but ${p} in this sweep: another sweep uses this directory; choose another --out`,
        );
      }
    }
    log(
      `${file}: replacing a different sweep manifest (${oldRuns.length} runs) with this sweep's (${manifest.runs.length} runs)`,
    );
  }
  writeFileAtomic(file, text);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

/** Reads and writes one run directory (the runner's RunSink on Node). Methods are synchronous; nothing touches disk until called. */
export class RunStore implements RunSink {
  readonly configPath: string;
  readonly metricsPath: string;
  readonly summaryPath: string;
  readonly checkpointsDir: string;
  /** The rolling resume state (θ, optimizer moments, buffers, previous eigenvectors). */
  readonly resumePath: string;
  private readonly metrics: MetricsWriter;
  private startedAt: string | null = null;

  constructor(readonly dir: string) {
    this.configPath = runFilePath(dir, 'config');
    this.metricsPath = runFilePath(dir, 'metrics');
    this.summaryPath = runFilePath(dir, 'summary');
    this.checkpointsDir = runFilePath(dir, 'checkpoints');
    this.resumePath = runFilePath(dir, 'resume');
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
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new Error(`${this.configPath}: not a JSON object`);
    const r = raw as Record<string, unknown>;
    let config: Config;
    try {
      config = resolveConfig(stripRunMetadata(r));
    } catch (e) {
      throw new Error(`${this.configPath}: ${(e as Error).message}`, { cause: e });
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

  // ---- init.json

  /** Writes init.json (what the initializer chose; nn/initialize.ts `initReport`). */
  writeInit(report: Readonly<Record<string, unknown>>): void {
    writeJsonAtomic(runFilePath(this.dir, 'init'), report);
  }

  /** init.json, or null when the run's initializer wrote none. */
  readInit(): Record<string, unknown> | null {
    const f = runFilePath(this.dir, 'init');
    return existsSync(f) ? (readJson(f) as Record<string, unknown>) : null;
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
      throw new Error(
        `${this.summaryPath}: status must be one of ${RUN_STATUSES.join(', ')} (got ${JSON.stringify(s?.status)})`,
      );
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
  finish(
    status: Exclude<RunStatus, 'running'>,
    reason: string | null,
    steps: number,
    final: Partial<FinalMetrics>,
    now: Date = new Date(),
  ): RunSummary {
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

  private put(
    status: RunStatus,
    reason: string | null,
    steps: number,
    final: Partial<FinalMetrics>,
    now: Date,
    done: boolean,
  ): RunSummary {
    const summary = runSummary(status, reason, steps, final, this.startedAt ?? now.toISOString(), now, done);
    this.writeSummary(summary);
    return summary;
  }

  // ---- checkpoints/

  checkpointPath(step: number): string {
    return join(this.checkpointsDir, checkpointFileName(step));
  }

  /** Writes checkpoints/step-NNNNNN.safetensors atomically (metadata gets `step`). */
  writeCheckpoint(
    step: number,
    tensors: readonly TensorInput[],
    metadata: Readonly<Record<string, string>> = {},
  ): string {
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

  // ---- resume.safetensors

  /** Whether a resume state was saved. */
  hasResume(): boolean {
    return existsSync(this.resumePath);
  }

  /** The saved resume state; errors name the file. */
  readResume(): SafetensorsContent {
    return readSafetensors(this.resumePath);
  }

  /** Replaces the resume state atomically. */
  writeResume(tensors: readonly TensorInput[], metadata: Readonly<Record<string, string>>): void {
    writeSafetensors(this.resumePath, tensors, metadata);
  }
}
