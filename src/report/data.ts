/**
 * Reading what a report needs from a run or sweep directory, tolerantly: a report is often made
 * of a run that is still running, diverged or was killed, so every reader here returns what it
 * could read plus a list of warnings, and never throws on a missing or damaged file inside a run.
 *
 * Run directory: config.json, metrics.jsonl, summary.json, curvature/density-step-N.json,
 * curvature/slices-step-N.json. Sweep directory: run directories one level down, and optionally
 * sweep.json ({name, grid: {dotted key: values[]}, runs: [{index, name, params}]}).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readMetrics, type MetricRow } from '../experiments/metrics.ts';
import { flattenConfig, getPath, variedKeys } from '../experiments/configPaths.ts';
import { hasSweepManifest, listCurvatureSnapshots, runFilePath, sweepManifestPath } from '../experiments/runStore.ts';
import { stabilityThreshold } from '../train/preconditioner.ts';
import type { OptimizerConfig } from '../train/optimizer-config.ts';

export type ThresholdQuantity = 'sharpness' | 'preconditioned_sharpness';

/** Final metrics as shown in a report; null = never measured or not finite. */
export interface ReportFinal {
  readonly train_loss: number | null;
  readonly train_acc: number | null;
  readonly test_loss: number | null;
  readonly test_acc: number | null;
  readonly sharpness: number | null;
  readonly precond_sharpness: number | null;
  /** λ1 of the Gauss–Newton matrix (runs with curvature.matrix ggn or both). */
  readonly ggn_sharpness: number | null;
}

/** One spectral density snapshot (curvature/density-step-N.json). */
export interface DensitySnapshot {
  readonly step: number;
  readonly x: number[];
  readonly density: number[];
}

/** One loss-slice snapshot (curvature/slices-step-N.json). `plane.loss[i][j]` is the loss at (a[i], b[j]). */
export interface SliceSnapshot {
  readonly step: number;
  readonly t: number[];
  readonly directions: { name: string; eigenvalue: number | null; loss: number[] }[];
  readonly plane: { a: number[]; b: number[]; loss: number[][] } | null;
}

/** Everything a run report reads. */
export interface RunData {
  readonly dir: string;
  readonly name: string;
  /** config.json as written (resolved config + seed, versions, created_at), or null if unreadable. */
  readonly config: Record<string, unknown> | null;
  /** completed | diverged | failed | running from summary.json; 'unknown' without a readable one. */
  readonly status: string;
  readonly reason: string | null;
  /** Updates done (summary.json, else the last metrics row's step). */
  readonly steps: number | null;
  /** summary.json's final metrics, completed from the metrics rows where it has none. */
  readonly final: ReportFinal;
  readonly rows: MetricRow[];
  readonly densities: DensitySnapshot[];
  readonly slices: SliceSnapshot[];
  /** What was missing or damaged (shown in the report). */
  readonly warnings: string[];
}

/** One run of a sweep: its data (null if its directory has no run yet) and its grid values. */
export interface SweepRunData {
  readonly name: string;
  readonly index: number | null;
  /** Grid values, dotted key → value (from sweep.json, else read from the run's config). */
  readonly params: Record<string, unknown>;
  readonly run: RunData | null;
}

export interface SweepData {
  readonly dir: string;
  readonly name: string;
  /** Grid keys in order (from sweep.json, else the config keys that differ between runs). */
  readonly keys: string[];
  readonly runs: SweepRunData[];
  readonly warnings: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown): number | null => (finite(v) ? v : null);
const numArray = (v: unknown): number[] | null => (Array.isArray(v) ? v.map((x) => (finite(x) ? x : NaN)) : null);

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** JSON of a file, or a warning. */
function readJsonQuiet(file: string, warnings: string[]): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    warnings.push(`${basename(file)}: cannot read (${firstLine(e)})`);
    return undefined;
  }
}

/** True if `dir` holds a run (metrics.jsonl or summary.json). */
export function isRunDir(dir: string): boolean {
  return existsSync(runFilePath(dir, 'metrics')) || existsSync(runFilePath(dir, 'summary'));
}

/** Sub-directories of `dir` (depth 1) that hold a run, sorted by name. */
export function runSubdirs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => !n.startsWith('.'))
    .filter((n) => {
      try {
        return statSync(join(dir, n)).isDirectory() && isRunDir(join(dir, n));
      } catch {
        return false;
      }
    })
    .sort();
}

/** 'run', 'sweep' or null (neither): a run has metrics.jsonl; a sweep has sweep.json or run sub-directories. */
export function detectKind(dir: string): 'run' | 'sweep' | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  if (isRunDir(dir)) return 'run';
  if (hasSweepManifest(dir) || runSubdirs(dir).length > 0) return 'sweep';
  return null;
}

/**
 * Reads metrics.jsonl with experiments/metrics.ts (a partial last line is dropped); if a line in
 * the middle is damaged, falls back to keeping every line that parses.
 */
function readRowsTolerant(file: string, warnings: string[]): MetricRow[] {
  if (!existsSync(file)) {
    warnings.push('metrics.jsonl is missing');
    return [];
  }
  try {
    const m = readMetrics(file);
    if (m.droppedPartialLine) warnings.push('metrics.jsonl ends in a partial line (left out)');
    return m.rows;
  } catch (e) {
    warnings.push(`metrics.jsonl has damaged lines (skipped): ${firstLine(e)}`);
    const rows: MetricRow[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      try {
        const v: unknown = JSON.parse(line);
        if (isObject(v) && Number.isSafeInteger(v.step) && (v.step as number) >= 0) rows.push(v as MetricRow);
      } catch {
        // skip
      }
    }
    return rows;
  }
}

function readDensities(dir: string, warnings: string[]): DensitySnapshot[] {
  const out: DensitySnapshot[] = [];
  for (const { file: f, step: named } of listCurvatureSnapshots(dir, 'density')) {
    const v = readJsonQuiet(f, warnings);
    const x = isObject(v) ? numArray(v.x) : null;
    const d = isObject(v) ? numArray(v.density) : null;
    if (x === null || d === null || x.length !== d.length || x.length === 0) {
      if (v !== undefined) warnings.push(`${basename(f)}: not a density (x and density lists of equal length)`);
      continue;
    }
    out.push({
      step: finite((v as Record<string, unknown>).step) ? ((v as Record<string, unknown>).step as number) : named,
      x,
      density: d,
    });
  }
  return out;
}

function readSlices(dir: string, warnings: string[]): SliceSnapshot[] {
  const out: SliceSnapshot[] = [];
  for (const { file: f, step: named } of listCurvatureSnapshots(dir, 'slices')) {
    const v = readJsonQuiet(f, warnings);
    if (!isObject(v)) {
      if (v !== undefined) warnings.push(`${basename(f)}: not a slices object`);
      continue;
    }
    const t = numArray(v.t) ?? [];
    const directions = (Array.isArray(v.directions) ? v.directions : [])
      .filter(isObject)
      .map((d, i) => ({
        name: typeof d.name === 'string' ? d.name : `direction ${i + 1}`,
        eigenvalue: numOrNull(d.eigenvalue),
        loss: numArray(d.loss) ?? [],
      }))
      .filter((d) => d.loss.length === t.length && t.length > 0);
    let plane: SliceSnapshot['plane'] = null;
    if (isObject(v.plane)) {
      const a = numArray(v.plane.a);
      const b = numArray(v.plane.b);
      let loss = Array.isArray(v.plane.loss) ? v.plane.loss.map((r) => numArray(r) ?? []) : null;
      if (a !== null && b !== null && loss !== null) {
        // loss[i][j] at (a[i], b[j]); accept the transposed layout when only it fits.
        const fits = (m: number[][], n1: number, n2: number) => m.length === n1 && m.every((r) => r.length === n2);
        if (!fits(loss, a.length, b.length) && fits(loss, b.length, a.length))
          loss = a.map((_, i) => b.map((_, j) => loss![j][i]));
        if (fits(loss, a.length, b.length) && a.length > 0 && b.length > 0) plane = { a, b, loss };
        else warnings.push(`${basename(f)}: plane.loss is not ${a.length}×${b.length} (plane left out)`);
      }
    }
    if (directions.length === 0 && plane === null) {
      warnings.push(`${basename(f)}: no usable slices`);
      continue;
    }
    out.push({ step: finite(v.step) ? v.step : named, t, directions, plane });
  }
  return out;
}

/** The last finite value of `key` in the rows (null if none). */
export function lastFinite(rows: readonly MetricRow[], key: string): number | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const v = rows[i][key];
    if (finite(v)) return v;
  }
  return null;
}

/** Reads a run directory; never throws (problems become `warnings`). */
export function loadRun(dir: string, name = basename(resolve(dir))): RunData {
  const warnings: string[] = [];
  const cfg = readJsonQuiet(runFilePath(dir, 'config'), warnings);
  if (cfg === undefined && !existsSync(runFilePath(dir, 'config'))) warnings.push('config.json is missing');
  const config = isObject(cfg) ? cfg : null;
  if (cfg !== undefined && config === null) warnings.push('config.json is not a JSON object');

  let rows: MetricRow[] = [];
  try {
    rows = readRowsTolerant(runFilePath(dir, 'metrics'), warnings);
  } catch (e) {
    warnings.push(`metrics.jsonl: cannot read (${firstLine(e)})`);
  }

  const sumRaw = readJsonQuiet(runFilePath(dir, 'summary'), warnings);
  const summary = isObject(sumRaw) ? sumRaw : null;
  if (sumRaw === undefined && !existsSync(runFilePath(dir, 'summary')))
    warnings.push('summary.json is missing (run not started, or written by an older version)');
  const status = typeof summary?.status === 'string' ? summary.status : 'unknown';
  const reason = typeof summary?.reason === 'string' ? summary.reason : null;
  const lastStep = rows.length > 0 ? rows[rows.length - 1].step : null;
  const steps = finite(summary?.steps) ? (summary!.steps as number) : lastStep;
  const sf = isObject(summary?.final) ? (summary!.final as Record<string, unknown>) : null;
  // summary.final's null means "not finite at the end" (e.g. diverged): keep it; only fill keys it lacks.
  const pick = (k: string): number | null => (sf !== null && k in sf ? numOrNull(sf[k]) : lastFinite(rows, k));
  const final: ReportFinal = {
    train_loss: pick('train_loss'),
    train_acc: pick('train_acc'),
    test_loss: pick('test_loss'),
    test_acc: pick('test_acc'),
    sharpness: pick('sharpness'),
    precond_sharpness: pick('precond_sharpness'),
    ggn_sharpness: pick('ggn_sharpness'),
  };
  return {
    dir,
    name,
    config,
    status,
    reason,
    steps,
    final,
    rows,
    densities: readDensities(dir, warnings),
    slices: readSlices(dir, warnings),
    warnings,
  };
}

/** Reads a sweep directory: sweep.json (if any) and every run sub-directory; never throws on a damaged run. */
export function loadSweep(dir: string): SweepData {
  const warnings: string[] = [];
  const sj = readJsonQuiet(sweepManifestPath(dir), warnings);
  const sweep = isObject(sj) ? sj : null;
  const present = new Set(runSubdirs(dir));
  const runs: SweepRunData[] = [];
  let keys: string[] = [];
  if (sweep !== null && isObject(sweep.grid)) keys = Object.keys(sweep.grid);
  const listed = sweep !== null && Array.isArray(sweep.runs) ? sweep.runs.filter(isObject) : [];
  for (const r of listed) {
    if (typeof r.name !== 'string') continue;
    const there = present.has(r.name);
    present.delete(r.name);
    runs.push({
      name: r.name,
      index: finite(r.index) ? r.index : null,
      params: isObject(r.params) ? { ...r.params } : {},
      run: there ? loadRun(join(dir, r.name), r.name) : null,
    });
  }
  // Run directories that sweep.json does not list (or all of them without sweep.json).
  for (const name of present) runs.push({ name, index: null, params: {}, run: loadRun(join(dir, name), name) });
  const configs = runs.map((r) => r.run?.config).filter((c): c is Record<string, unknown> => c != null);
  if (keys.length === 0) keys = variedKeys(configs.map(flattenConfig));
  for (const r of runs) {
    for (const k of keys) if (!(k in r.params) && r.run?.config) r.params[k] = getPath(r.run.config, k);
  }
  const name = typeof sweep?.name === 'string' && sweep.name !== '' ? sweep.name : basename(resolve(dir));
  return { dir, name, keys, runs, warnings };
}

/** A run's stability threshold from its config at learning rate `lr` (null if it cannot be worked out). */
export function configThreshold(
  config: Record<string, unknown> | null,
  lr?: number,
): { value: number; quantity: ThresholdQuantity; coefficient: number } | null {
  const opt = config?.optimizer;
  if (!isObject(opt) || typeof opt.name !== 'string') return null;
  const eta = lr ?? opt.lr;
  if (!finite(eta) || eta <= 0) return null;
  try {
    // Only the fields stabilityThreshold reads, so extra keys of newer configs do not trip it.
    const fields: OptimizerConfig = { name: opt.name };
    if (finite(opt.momentum)) fields.momentum = opt.momentum;
    if (finite(opt.beta1)) fields.beta1 = opt.beta1;
    const t = stabilityThreshold(fields, eta);
    return { value: t.value, quantity: t.quantity, coefficient: t.value * eta };
  } catch {
    return null;
  }
}

/**
 * The threshold coefficient c (threshold = c/η) the rows were compared with for `quantity`:
 * the median of threshold·lr over rows that have both, else from the config; null if unknown.
 */
export function thresholdCoefficient(
  rows: readonly MetricRow[],
  config: Record<string, unknown> | null,
  quantity: ThresholdQuantity,
): number | null {
  const cs: number[] = [];
  for (const r of rows) {
    if (finite(r.threshold) && finite(r.lr) && r.lr > 0 && (r.threshold_quantity ?? quantity) === quantity)
      cs.push(r.threshold * r.lr);
  }
  if (cs.length > 0) return cs.sort((a, b) => a - b)[Math.floor(cs.length / 2)];
  const t = configThreshold(config);
  return t !== null && t.quantity === quantity ? t.coefficient : null;
}

/** Which quantity the run's threshold applies to: from the rows, else the config, else 'sharpness'. */
export function runThresholdQuantity(
  rows: readonly MetricRow[],
  config: Record<string, unknown> | null,
): ThresholdQuantity {
  for (const r of rows) {
    if (r.threshold_quantity === 'sharpness' || r.threshold_quantity === 'preconditioned_sharpness')
      return r.threshold_quantity;
  }
  return configThreshold(config)?.quantity ?? 'sharpness';
}

/** "2/η", "38/η", "3.8/η", "1.357/η" for a coefficient c of c/η. */
export function thresholdLabel(coefficient: number): string {
  return `${Number(coefficient.toPrecision(4))}/η`;
}
