/**
 * The runs under the served directory. A run directory holds config.json, metrics.jsonl or
 * summary.json; runs sit at depth 1 (standalone) or depth 2 (inside a sweep directory, which may
 * hold sweep.json {name, grid, runs: [{index, name, params}]}). The served directory may itself be
 * a run or a sweep. Hidden entries and symlinks that leave the directory are ignored.
 *
 * Ids are '/'-separated paths relative to the served directory, and the scan is the whitelist:
 * a request can only address a run the scan found. Listings are recomputed from file metadata
 * (cached per run by mtime and size), so they are cheap to poll.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { basename, join } from 'node:path';
import { stabilityThreshold } from '../train/preconditioner.ts';
import type { MetricRow } from '../experiments/metrics.ts';
import { RUN_FILES, runFilePath, SWEEP_MANIFEST, sweepManifestPath } from '../experiments/runStore.ts';
import { flattenConfig, variedKeys } from '../experiments/configPaths.ts';
import { lastMetricsRow, readJsonQuiet, readMetricsInside } from './files.ts';
import { isInside, isSafeSegment, realInside } from './paths.ts';
import type {
  FinalView,
  RunEntry,
  RunStatusName,
  RunsResponse,
  SweepEntry,
  SweepResponse,
  ThresholdInfo,
  VariantView,
} from './types.ts';

/** Files whose presence makes a directory a run. */
const RUN_MARKERS: readonly string[] = [RUN_FILES.config, RUN_FILES.metrics, RUN_FILES.summary];
const STATUSES: readonly RunStatusName[] = ['running', 'completed', 'diverged', 'failed'];
/** The learning-rate key: variants of a sweep are its runs grouped by everything else. */
export const LR_KEY = 'optimizer.lr';

export interface RunRecord {
  id: string;
  name: string;
  sweep: string | null;
  /** Real path of the run directory. */
  dir: string;
}

export interface SweepRecord {
  id: string;
  name: string;
  dir: string;
  runIds: string[];
}

interface Scan {
  at: number;
  runs: Map<string, RunRecord>;
  sweeps: Map<string, SweepRecord>;
}

type Json = Record<string, unknown>;

interface SweepParams {
  grid: Record<string, unknown[]>;
  varied: string[];
  params: Map<string, Json>;
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function mtimeSize(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return '-';
  }
}

function mtimeOf(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** "2/η", "38/η", "3.8/η": the threshold's coefficient over η, to 3 significant digits. */
export function thresholdLabel(coefficient: number): string {
  const c = Number(coefficient.toPrecision(3));
  return `${c}/η`;
}

/** The stability threshold of an optimizer config as coefficient/η, or null if unknown. */
export function thresholdInfo(optimizer: unknown): ThresholdInfo | null {
  if (!isObject(optimizer) || typeof optimizer.name !== 'string') return null;
  try {
    const t = stabilityThreshold(optimizer as { name: string }, 1);
    return { quantity: t.quantity, coefficient: t.value, label: thresholdLabel(t.value) };
  } catch {
    return null;
  }
}

function shortKey(key: string, all: readonly string[]): string {
  const last = key.split('.').pop() ?? key;
  return all.filter((k) => (k.split('.').pop() ?? k) === last).length > 1 ? key : last;
}

function showParam(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Variants of a sweep: runs grouped by their params other than the lr, each with the largest lr
 * that completed and the smallest larger lr that diverged or failed.
 */
export function variantsOf(
  runs: ReadonlyArray<Pick<RunEntry, 'id' | 'lr' | 'status' | 'params'>>,
  varied: readonly string[],
): VariantView[] {
  const others = varied.filter((k) => k !== LR_KEY);
  const groups = new Map<string, VariantView>();
  for (const r of runs) {
    const params: Json = {};
    for (const k of others) params[k] = r.params?.[k] ?? null;
    const key = JSON.stringify(others.map((k) => params[k]));
    let g = groups.get(key);
    if (g === undefined) {
      const label =
        others.length === 0
          ? 'all runs'
          : others.map((k) => `${shortKey(k, others)}=${showParam(params[k])}`).join(', ');
      g = { label, params, max_stable_lr: null, min_unstable_lr: null, runs: [] };
      groups.set(key, g);
    }
    g.runs.push({ id: r.id, lr: r.lr, status: r.status });
  }
  for (const g of groups.values()) {
    g.runs.sort((a, b) => (a.lr ?? Infinity) - (b.lr ?? Infinity));
    for (const r of g.runs)
      if (r.status === 'completed' && r.lr !== null) g.max_stable_lr = Math.max(g.max_stable_lr ?? -Infinity, r.lr);
    for (const r of g.runs) {
      if (
        (r.status === 'diverged' || r.status === 'failed') &&
        r.lr !== null &&
        (g.max_stable_lr === null || r.lr > g.max_stable_lr)
      ) {
        g.min_unstable_lr = Math.min(g.min_unstable_lr ?? Infinity, r.lr);
      }
    }
  }
  return [...groups.values()];
}

export class RunIndex {
  private scanCache: Scan | null = null;
  private readonly entryCache = new Map<string, { sig: string; entry: Omit<RunEntry, 'params'> }>();
  private readonly maxSharpCache = new Map<string, { sig: string; value: number | null }>();
  private readonly sweepCache = new Map<string, { sig: string; value: SweepParams }>();

  /** `rootReal`: realpath of the served directory; scans are reused for `scanMs`. */
  constructor(
    readonly rootReal: string,
    private readonly scanMs = 500,
  ) {}

  private isRunDir(dir: string): boolean {
    return entries(dir).some((e) => RUN_MARKERS.includes(e.name));
  }

  /** Real path of a child directory if it stays inside the root, else null. */
  private childDir(parent: string, e: Dirent): string | null {
    // Hidden entries, and names a URL cannot address, are not runs.
    if (!isSafeSegment(e.name) || !(e.isDirectory() || e.isSymbolicLink())) return null;
    let real: string | null;
    try {
      real = realInside(this.rootReal, join(parent, e.name));
    } catch {
      return null; // a symlink leaving the root
    }
    if (real === null) return null;
    try {
      return statSync(real).isDirectory() ? real : null;
    } catch {
      return null;
    }
  }

  /** The runs and sweeps (rescanned when older than scanMs, or when `fresh`). */
  scan(fresh = false): Scan {
    const now = Date.now();
    if (!fresh && this.scanCache !== null && now - this.scanCache.at < this.scanMs) return this.scanCache;
    const runs = new Map<string, RunRecord>();
    const sweeps = new Map<string, SweepRecord>();
    const root = this.rootReal;
    const rootName = basename(root) || 'root';
    if (this.isRunDir(root)) {
      runs.set(rootName, { id: rootName, name: rootName, sweep: null, dir: root });
    } else {
      const rootIsSweep = entries(root).some((e) => e.name === SWEEP_MANIFEST);
      const rootSweep: SweepRecord = { id: rootName, name: rootName, dir: root, runIds: [] };
      for (const e of entries(root).sort((a, b) => a.name.localeCompare(b.name))) {
        const dir = this.childDir(root, e);
        if (dir === null) continue;
        if (this.isRunDir(dir)) {
          runs.set(e.name, { id: e.name, name: e.name, sweep: rootIsSweep ? rootSweep.id : null, dir });
          if (rootIsSweep) rootSweep.runIds.push(e.name);
          continue;
        }
        const sweep: SweepRecord = { id: e.name, name: e.name, dir, runIds: [] };
        for (const c of entries(dir).sort((a, b) => a.name.localeCompare(b.name))) {
          const runDir = this.childDir(dir, c);
          if (runDir === null || !this.isRunDir(runDir)) continue;
          const id = `${e.name}/${c.name}`;
          runs.set(id, { id, name: c.name, sweep: e.name, dir: runDir });
          sweep.runIds.push(id);
        }
        // A sweep that has just started may have sweep.json and no runs yet.
        if (sweep.runIds.length > 0 || entries(dir).some((c) => c.name === SWEEP_MANIFEST)) sweeps.set(sweep.id, sweep);
      }
      if (rootIsSweep && rootSweep.runIds.length > 0) sweeps.set(rootSweep.id, rootSweep);
    }
    for (const s of sweeps.values()) {
      const spec = readJsonQuiet(root, sweepManifestPath(s.dir));
      if (isObject(spec) && typeof spec.name === 'string' && spec.name !== '') s.name = spec.name;
    }
    this.scanCache = { at: now, runs, sweeps };
    return this.scanCache;
  }

  /** The run with this id (rescanning once if unknown), or undefined. */
  run(id: string): RunRecord | undefined {
    return this.scan().runs.get(id) ?? this.scan(true).runs.get(id);
  }

  sweepRecord(id: string): SweepRecord | undefined {
    return this.scan().sweeps.get(id) ?? this.scan(true).sweeps.get(id);
  }

  /** Path of a file of a run, checked to be inside the root. */
  file(run: RunRecord, ...parts: string[]): string {
    const p = join(run.dir, ...parts);
    if (!isInside(run.dir, p)) throw new Error(`bad run file ${parts.join('/')}`);
    return p;
  }

  private baseEntry(run: RunRecord): Omit<RunEntry, 'params'> {
    const cfgPath = this.file(run, RUN_FILES.config);
    const sumPath = this.file(run, RUN_FILES.summary);
    const metPath = this.file(run, RUN_FILES.metrics);
    const sig = [cfgPath, sumPath, metPath].map(mtimeSize).join('|');
    const cached = this.entryCache.get(run.id);
    if (cached !== undefined && cached.sig === sig) return cached.entry;

    const config = readJsonQuiet(this.rootReal, cfgPath);
    const summaryRaw = readJsonQuiet(this.rootReal, sumPath);
    const last = lastMetricsRow(this.rootReal, metPath);
    const opt = isObject(config) && isObject(config.optimizer) ? config.optimizer : null;
    const train = isObject(config) && isObject(config.train) ? config.train : null;

    let status: RunStatusName = 'new';
    let reason: string | null = null;
    let steps: number | null = null;
    const final: FinalView = { train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: null };
    if (summaryRaw !== undefined || mtimeOf(sumPath) !== null) {
      const s = isObject(summaryRaw) ? summaryRaw : {};
      status = STATUSES.includes(s.status as RunStatusName) ? (s.status as RunStatusName) : 'unknown';
      reason = typeof s.reason === 'string' ? s.reason : null;
      steps = num(s.steps);
      if (isObject(s.final)) for (const k of Object.keys(final) as Array<keyof FinalView>) final[k] = num(s.final[k]);
    }
    if (last !== null) {
      steps = Math.max(steps ?? 0, last.step);
      // While a run is in progress its summary lags; the last row is newer.
      if (status === 'running' || status === 'new' || status === 'unknown') {
        for (const k of Object.keys(final) as Array<keyof FinalView>) if (k in last) final[k] = num(last[k]);
      }
    }
    const times = [sumPath, metPath].map(mtimeOf).filter((t): t is number => t !== null);
    const entry: Omit<RunEntry, 'params'> = {
      id: run.id,
      name: run.name,
      sweep: run.sweep,
      status,
      reason,
      optimizer: opt !== null && typeof opt.name === 'string' ? opt.name : null,
      lr: opt !== null ? num(opt.lr) : null,
      steps,
      total_steps: train !== null ? num(train.steps) : null,
      final,
      threshold: thresholdInfo(opt),
      updated_at: times.length > 0 ? new Date(Math.max(...times)).toISOString() : null,
    };
    this.entryCache.set(run.id, { sig, entry });
    return entry;
  }

  /** Grid, varied keys and per-run params of a sweep (sweep.json when present, else inferred). */
  private sweepParams(sweep: SweepRecord): SweepParams {
    const scan = this.scan();
    const sig = [
      mtimeSize(sweepManifestPath(sweep.dir)),
      ...sweep.runIds.map((id) => `${id}=${mtimeSize(runFilePath(scan.runs.get(id)?.dir ?? '', 'config'))}`),
    ].join('|');
    const cached = this.sweepCache.get(sweep.id);
    if (cached !== undefined && cached.sig === sig) return cached.value;
    const value = this.readSweepParams(sweep);
    this.sweepCache.set(sweep.id, { sig, value });
    return value;
  }

  private readSweepParams(sweep: SweepRecord): SweepParams {
    const scan = this.scan();
    const spec = readJsonQuiet(this.rootReal, sweepManifestPath(sweep.dir));
    const params = new Map<string, Json>();
    if (isObject(spec) && isObject(spec.grid) && Array.isArray(spec.runs)) {
      const grid: Record<string, unknown[]> = {};
      for (const [k, v] of Object.entries(spec.grid)) grid[k] = Array.isArray(v) ? v : [v];
      const byName = new Map<string, Json>();
      for (const r of spec.runs)
        if (isObject(r) && typeof r.name === 'string' && isObject(r.params)) byName.set(r.name, r.params);
      for (const id of sweep.runIds) {
        const p = byName.get(scan.runs.get(id)?.name ?? '');
        if (p !== undefined) params.set(id, p);
      }
      return { grid, varied: Object.keys(grid), params };
    }
    const flat = sweep.runIds.map((id) => {
      const run = scan.runs.get(id);
      return flattenConfig(
        run === undefined ? undefined : readJsonQuiet(this.rootReal, this.file(run, RUN_FILES.config)),
      );
    });
    const varied = variedKeys(flat.filter((f) => f.size > 0));
    const grid: Record<string, unknown[]> = {};
    for (const k of varied) {
      const vals: unknown[] = [];
      for (const f of flat) if (!vals.some((v) => JSON.stringify(v) === JSON.stringify(f.get(k)))) vals.push(f.get(k));
      grid[k] = vals;
    }
    sweep.runIds.forEach((id, i) => params.set(id, Object.fromEntries(varied.map((k) => [k, flat[i].get(k) ?? null]))));
    return { grid, varied, params };
  }

  /** GET /api/runs. */
  list(): RunsResponse {
    const scan = this.scan();
    const paramsOf = new Map<string, Json>();
    const sweeps: SweepEntry[] = [];
    for (const s of scan.sweeps.values()) {
      const sp = this.sweepParams(s);
      for (const [id, p] of sp.params) paramsOf.set(id, p);
      sweeps.push({ id: s.id, name: s.name, runs: s.runIds.length, varied: sp.varied });
    }
    const runs = [...scan.runs.values()].map((r) => ({ ...this.baseEntry(r), params: paramsOf.get(r.id) ?? null }));
    return { runs, sweeps };
  }

  private maxSharpness(run: RunRecord, quantity: ThresholdInfo['quantity'] | undefined): number | null {
    const path = this.file(run, RUN_FILES.metrics);
    const sig = `${mtimeSize(path)}|${quantity}`;
    const cached = this.maxSharpCache.get(run.id);
    if (cached !== undefined && cached.sig === sig) return cached.value;
    let value: number | null = null;
    try {
      const key = quantity === 'preconditioned_sharpness' ? 'precond_sharpness' : 'sharpness';
      for (const row of readMetricsInside(this.rootReal, path).rows as MetricRow[]) {
        const v = num(row[key]);
        if (v !== null) value = Math.max(value ?? -Infinity, v);
      }
    } catch {
      value = null;
    }
    this.maxSharpCache.set(run.id, { sig, value });
    return value;
  }

  /** GET /api/sweeps/:id, or undefined if there is no such sweep. */
  sweep(id: string): SweepResponse | undefined {
    const s = this.sweepRecord(id);
    if (s === undefined) return undefined;
    const sp = this.sweepParams(s);
    const scan = this.scan();
    const runs = s.runIds.flatMap((rid) => {
      const rec = scan.runs.get(rid);
      if (rec === undefined) return [];
      const e = this.baseEntry(rec);
      return [
        { ...e, params: sp.params.get(rid) ?? null, max_sharpness: this.maxSharpness(rec, e.threshold?.quantity) },
      ];
    });
    return { id: s.id, name: s.name, grid: sp.grid, varied: sp.varied, runs, variants: variantsOf(runs, sp.varied) };
  }
}
