/**
 * The largest stable learning rate (Gilmer et al. 2022's figure of merit), found by a bracketing
 * search over η: a geometric grid scanned from the top down, then bisection in log η.
 *
 * Definitions (documented here once; the CLI, the studies and the tests rely on them):
 * - A *trial* is one training run at (η, seed); it is stable when it reaches the target (train
 *   loss ≤ stop_train_loss or train accuracy ≥ stop_train_acc) within train.steps without
 *   diverging. A run that neither diverges nor reaches the target is unstable too: for the
 *   question "does this η still train?" failing to train is a failure. With warmup the target
 *   counts only once warmup is over (a run that fits its data while η is still small has not
 *   shown that the peak η trains), so such trials run their whole budget and are judged from
 *   their metrics; `fullBudget` does the same for every trial (then a stable run must also not
 *   diverge after reaching the target, which makes variants with and without warmup comparable).
 * - η is stable when all seeds are (rule 'all', the default) or more than half are ('majority').
 *   A verdict is taken as soon as it is decided, so the remaining seeds of that η are skipped.
 * - The bracket is [a, b]: a stable, b > a unstable, and b the next η tried above a. The grid
 *   phase tries hi, hi/f, hi/f², … ≥ lo (all at once, up to `parallel` trials in flight, lower η
 *   skipped once a higher one is stable), so every grid point above a was tried and found
 *   unstable; when hi itself is stable the grid is extended upwards (up to `expand` points).
 *   Each bisection round then tries m = max(1, ⌊parallel / k⌋) points evenly spaced in log η (k = seeds an lr needs to be stable)
 *   inside (a, b) and keeps the largest stable one and the unstable one just above it, so the
 *   bracket ratio b/a shrinks to (b/a)^(1/(m+1)) per round.
 * - Stability need not be monotone in η (a small η may be too slow to reach the target within the
 *   budget); the search answers "the largest η that trains", and lists every unstable η tried
 *   below it in `gaps` so that non-monotone cases are visible rather than hidden.
 * - A trial that throws (e.g. a run that failed, not diverged) aborts the search after the trials
 *   in flight settle: `findMaxStableLr` rejects with a MaxLrError naming η, seed and cause and
 *   holding the trials done so far. Errors are never counted as instability.
 *
 * Candidate η are rounded to `precision` significant digits (default 6) so that run directories
 * have short names and a rerun finds the same directories.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../engine/backend.ts';
import { loadDataset, oneHot } from '../data/dataset.ts';
import { buildModel } from '../nn/model.ts';
import { modelFeeds, objectiveSpec } from '../nn/losses.ts';
import { DatasetObjective } from '../train/datasetObjective.ts';
import { stabilityThreshold } from '../train/index.ts';
import { runInChild } from './childRun.ts';
import { resolveConfig, type Config } from './config.ts';
import { stripRunMetadata } from './loadConfig.ts';
import { readMetrics, type MetricRow } from './metrics.ts';
import { RunStore, type FinalMetrics } from './runStore.ts';

/** What one trial reports. Extra fields are kept in the trial record. */
export interface TrialResult {
  stable: boolean;
  /** Why: the stopping criterion reached, the divergence, or the target missed. */
  reason: string;
  /** Updates done. */
  steps?: number;
  /** Final metrics (train/test loss and accuracy, sharpness) when known. */
  final?: Partial<FinalMetrics> | Record<string, number | null>;
  /** The run directory, for config trials. */
  dir?: string;
  [key: string]: unknown;
}

/** Runs one trial at learning rate `lr` with seed `seed`. */
export type Trial = (lr: number, seed: number) => Promise<TrialResult>;

/** One finished trial. */
export interface TrialRecord extends TrialResult {
  lr: number;
  seed: number;
  phase: 'grid' | 'expand' | 'bisect';
  /** Wall-clock seconds of this trial. */
  elapsed_s: number;
}

/** The verdict on one learning rate over its seeds. */
export interface LrVerdict {
  lr: number;
  stable: boolean;
  /** Seeds run at this lr, and how many of them were stable. */
  trials: number;
  stableTrials: number;
}

export type SeedRule = 'all' | 'majority';

export interface MaxLrOptions {
  trial: Trial;
  /** Seeds (a count n means 0 … n−1). Default 1. */
  seeds?: number | readonly number[];
  /** Search range; the grid runs from hi down to ≥ lo. */
  lo: number;
  hi: number;
  /** Grid ratio f > 1 (e.g. 2 or √2). Default 2. */
  gridFactor?: number;
  /** Bisection rounds after the grid (0 = grid only). Default 3. */
  bisectSteps?: number;
  /** Trials in flight at once. Default 1. */
  parallel?: number;
  /** When an lr counts as stable over its seeds. Default 'all'. */
  rule?: SeedRule;
  /** Grid points tried above hi when hi itself is stable. Default 4. */
  expand?: number;
  /** Significant digits of candidate learning rates. Default 6. */
  precision?: number;
  /** Called after every trial (e.g. for progress lines). */
  onTrial?: (t: TrialRecord) => void;
}

export interface MaxLrResult {
  /** The largest stable lr found (null when no lr in the range was stable). */
  maxStableLr: number | null;
  /** [largest stable, smallest unstable above it]; null ends are unknown (see `note`). */
  bracket: [number | null, number | null];
  /** True when both ends of the bracket are known. */
  bracketed: boolean;
  rule: SeedRule;
  seeds: number[];
  /** The grid (descending) as tried, including any upward extension. */
  grid: number[];
  /** Every lr tried, ascending, with its verdict. */
  verdicts: LrVerdict[];
  /** Unstable lrs below maxStableLr (non-monotone stability, e.g. too slow to reach the target). */
  gaps: number[];
  /** Every trial, in the order they finished. */
  trials: TrialRecord[];
  /** One line when the range did not bracket the answer; '' otherwise. */
  note: string;
  elapsed_s: number;
}

/** A trial threw: the search stopped. `trials` holds what finished before. */
export class MaxLrError extends Error {
  override readonly name = 'MaxLrError';
  constructor(message: string, readonly lr: number, readonly seed: number, readonly trials: TrialRecord[], options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** lr rounded to `digits` significant digits. */
export function roundLr(lr: number, digits = 6): number {
  return Number(lr.toPrecision(digits));
}

function seedList(s: MaxLrOptions['seeds']): number[] {
  if (s === undefined) return [0];
  if (typeof s === 'number') {
    if (!(Number.isInteger(s) && s >= 1)) throw new Error(`seeds must be an integer >= 1 or a list of seeds (got ${s})`);
    return Array.from({ length: s }, (_, i) => i);
  }
  if (s.length === 0 || s.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`seeds must be a non-empty list of integers >= 0 (got ${JSON.stringify(s)})`);
  if (new Set(s).size !== s.length) throw new Error(`seeds must not repeat (got ${JSON.stringify(s)})`);
  return s.slice();
}

/** Seeds that must be stable for the lr to be stable under `rule`. */
export function seedsNeeded(rule: SeedRule, n: number): number {
  return rule === 'all' ? n : Math.floor(n / 2) + 1;
}

/** Finds the largest stable learning rate in [lo, hi] (see the module comment for the definitions). */
export async function findMaxStableLr(o: MaxLrOptions): Promise<MaxLrResult> {
  const t0 = performance.now();
  const seeds = seedList(o.seeds);
  const f = o.gridFactor ?? 2;
  const rule = o.rule ?? 'all';
  const parallel = Math.max(1, Math.floor(o.parallel ?? 1));
  const rounds = o.bisectSteps ?? 3;
  const expand = o.expand ?? 4;
  const digits = o.precision ?? 6;
  if (!(Number.isFinite(o.lo) && o.lo > 0 && Number.isFinite(o.hi) && o.hi >= o.lo)) throw new Error(`need 0 < lo <= hi (got lo ${o.lo}, hi ${o.hi})`);
  if (!(Number.isFinite(f) && f > 1)) throw new Error(`gridFactor must be > 1 (got ${f})`);
  if (!(Number.isInteger(rounds) && rounds >= 0)) throw new Error(`bisectSteps must be an integer >= 0 (got ${rounds})`);
  if (!(rule === 'all' || rule === 'majority')) throw new Error(`rule must be all or majority (got ${String(rule)})`);
  const need = seedsNeeded(rule, seeds.length);
  const trials: TrialRecord[] = [];
  const byLr = new Map<number, { stable: number; unstable: number; verdict: boolean | null }>();
  const verdictOf = (lr: number): boolean | null => byLr.get(lr)?.verdict ?? null;

  /**
   * Runs the seeds of `lrs` (in the given order, `parallel` trials at a time). `skip(lr)` is
   * asked before each trial starts; trials of an lr whose verdict is already decided are skipped.
   */
  const runBatch = async (lrs: readonly number[], phase: TrialRecord['phase'], skip: (lr: number) => boolean): Promise<void> => {
    const tasks = lrs.flatMap((lr) => seeds.map((seed) => ({ lr, seed })));
    let next = 0;
    let failure: MaxLrError | null = null;
    const worker = async (): Promise<void> => {
      while (next < tasks.length && failure === null) {
        const { lr, seed } = tasks[next++]!;
        if (verdictOf(lr) !== null || skip(lr)) continue;
        const ts = performance.now();
        let r: TrialResult;
        try {
          r = await o.trial(lr, seed);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          failure ??= new MaxLrError(`trial at lr ${lr}, seed ${seed} failed: ${msg}`, lr, seed, trials, { cause: err });
          return;
        }
        if (typeof r?.stable !== 'boolean') {
          failure ??= new MaxLrError(`trial at lr ${lr}, seed ${seed} returned no boolean 'stable'`, lr, seed, trials);
          return;
        }
        const rec: TrialRecord = { ...r, lr, seed, phase, elapsed_s: (performance.now() - ts) / 1000 };
        trials.push(rec);
        const e = byLr.get(lr) ?? { stable: 0, unstable: 0, verdict: null };
        if (r.stable) e.stable++;
        else e.unstable++;
        if (e.stable >= need) e.verdict = true;
        else if (e.unstable > seeds.length - need) e.verdict = false;
        byLr.set(lr, e);
        o.onTrial?.(rec);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, tasks.length) }, worker));
    if (failure) throw failure;
  };

  // Grid phase: hi, hi/f, … >= lo, top down; lower lrs are skipped once a higher one is stable.
  const grid: number[] = [];
  for (let k = 0; ; k++) {
    const lr = roundLr(o.hi / Math.pow(f, k), digits);
    if (lr < o.lo * (1 - 1e-9) || k > 10000) break;
    if (!grid.includes(lr)) grid.push(lr);
  }
  const bestStable = (lrs: readonly number[]): number | null => {
    const ok = lrs.filter((lr) => verdictOf(lr) === true);
    return ok.length > 0 ? Math.max(...ok) : null;
  };
  await runBatch(grid, 'grid', (lr) => {
    const b = bestStable(grid);
    return b !== null && lr < b;
  });
  let a = bestStable(grid);
  let b: number | null = null;
  let note = '';
  if (a === null) {
    note = `no stable learning rate in [${grid[grid.length - 1]}, ${grid[0]}]; lower lo (or raise train.steps)`;
    b = grid[grid.length - 1]!;
  } else if (a === grid[0]) {
    // The top of the range trained: extend the grid upwards until something is unstable.
    const up: number[] = [];
    for (let k = 1; k <= expand; k++) up.push(roundLr(grid[0]! * Math.pow(f, k), digits));
    await runBatch(up, 'expand', (lr) => {
      const bad = up.filter((x) => verdictOf(x) === false);
      return bad.length > 0 && lr > Math.min(...bad);
    });
    grid.unshift(...up.filter((x) => verdictOf(x) !== null).reverse());
    // The smallest unstable point above hi bounds the bracket; a is the largest stable one below it.
    const firstBad = up.find((x) => verdictOf(x) === false);
    const ok = up.filter((x) => verdictOf(x) === true && (firstBad === undefined || x < firstBad));
    a = Math.max(a, ...ok);
    b = firstBad ?? null;
    if (b === null) note = `every learning rate up to ${up[up.length - 1] ?? a} was stable; raise hi`;
  } else {
    b = Math.min(...grid.filter((x) => x > a! && verdictOf(x) === false));
  }
  // Bisection in log lr.
  if (a !== null && b !== null) {
    const m = Math.max(1, Math.floor(parallel / need));
    for (let r = 0; r < rounds; r++) {
      const pts: number[] = [];
      for (let j = m; j >= 1; j--) {
        const lr = roundLr(a * Math.pow(b / a, j / (m + 1)), digits);
        if (lr > a && lr < b && !pts.includes(lr)) pts.push(lr);
      }
      if (pts.length === 0) break;
      const lower = a;
      await runBatch(pts, 'bisect', (lr) => pts.some((x) => x > lr && verdictOf(x) === true) || lr <= lower);
      const ok = pts.filter((x) => verdictOf(x) === true);
      if (ok.length > 0) a = Math.max(...ok);
      const bad = pts.filter((x) => x > a! && verdictOf(x) === false);
      if (bad.length > 0) b = Math.min(...bad);
    }
  }
  const verdicts: LrVerdict[] = [...byLr.entries()]
    .filter(([, e]) => e.verdict !== null)
    .map(([lr, e]) => ({ lr, stable: e.verdict!, trials: e.stable + e.unstable, stableTrials: e.stable }))
    .sort((x, y) => x.lr - y.lr);
  const maxStableLr = a;
  return {
    maxStableLr,
    bracket: [a, b],
    bracketed: a !== null && b !== null,
    rule,
    seeds,
    grid,
    verdicts,
    gaps: maxStableLr === null ? [] : verdicts.filter((v) => !v.stable && v.lr < maxStableLr).map((v) => v.lr),
    trials,
    note,
    elapsed_s: (performance.now() - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Quadratic trials (no network): the closed-form oracle for the search.

export interface QuadraticTrialOptions {
  /** Hessian eigenvalues λ_i > 0 of L = ½ Σ λ_i x_i² (the top one sets the threshold). */
  lambdas: readonly number[];
  optimizer?: 'gd' | 'momentum' | 'nesterov';
  /** μ for momentum / nesterov (PyTorch conventions, as src/train/sgd.ts). Default 0.9. */
  momentum?: number;
  /** Step budget. Default 20000. */
  steps?: number;
  /** Stable when L ≤ target·L0 within the budget. Default 1e-6. */
  target?: number;
  /** Diverged when L > divergence·L0. Default 1e6. */
  divergence?: number;
}

/**
 * A trial on a diagonal quadratic from x0 = 1 (every coordinate): GD, heavy ball or Nesterov,
 * exactly as the optimizers in src/train/sgd.ts update. The seed is ignored (deterministic).
 * Stable iff the loss falls below target·L0 within the budget, so the boundary is 2/λ_max for
 * GD, (2+2μ)/λ_max for heavy ball and (2+2μ)/((1+2μ)λ_max) for Nesterov, up to the budget.
 */
export function quadraticTrial(q: QuadraticTrialOptions): Trial {
  const lambdas = Float64Array.from(q.lambdas);
  const mu = q.optimizer === undefined || q.optimizer === 'gd' ? 0 : (q.momentum ?? 0.9);
  const nesterov = q.optimizer === 'nesterov';
  const steps = q.steps ?? 20000;
  const target = q.target ?? 1e-6;
  const divergence = q.divergence ?? 1e6;
  return async (lr) => {
    const x = new Float64Array(lambdas.length).fill(1);
    const buf = new Float64Array(lambdas.length);
    const loss = () => x.reduce((s, xi, i) => s + 0.5 * lambdas[i]! * xi * xi, 0);
    const l0 = loss();
    for (let t = 0; t <= steps; t++) {
      const l = loss();
      if (!Number.isFinite(l) || l > divergence * l0) return { stable: false, reason: `diverged at step ${t}`, steps: t, final: { train_loss: Number.isFinite(l) ? l : null } };
      if (l <= target * l0) return { stable: true, reason: `loss ≤ ${target}·L0 at step ${t}`, steps: t, final: { train_loss: l } };
      if (t === steps) break;
      for (let i = 0; i < x.length; i++) {
        const g = lambdas[i]! * x[i]!;
        const b = mu * buf[i]! + g;
        buf[i] = b;
        x[i] = x[i]! - lr * (mu === 0 ? g : nesterov ? g + mu * b : b);
      }
    }
    return { stable: false, reason: `loss above ${target}·L0 after ${steps} steps`, steps, final: { train_loss: loss() } };
  };
}

// ---------------------------------------------------------------------------------------------
// Config trials: one `edgewise train` child run per (lr, seed).

export interface ConfigTrialOptions {
  /** Target overriding train.stop_train_loss (null = none). */
  stopTrainLoss?: number | null;
  /** Target overriding train.stop_train_acc (null = none). */
  stopTrainAcc?: number | null;
  /** onnxruntime threads per child run. */
  threads?: number;
  /** Keep the config's curvature measurements (default false: off, trials only need the outcome). */
  curvature?: boolean;
  /**
   * Run every trial for its whole train.steps and judge it from its metrics (see the module
   * comment); default false: stop at the target, except under warmup where this is forced.
   */
  fullBudget?: boolean;
  /** Directory name of a trial (default `lr-<lr>_seed-<seed>`). */
  name?: (lr: number, seed: number) => string;
  /** Called with each trial's directory and config before it runs (e.g. to record it in a manifest). */
  onStart?: (dir: string, config: Config, lr: number, seed: number) => void;
  signal?: AbortSignal;
}

/** `lr-0.0353553_seed-0`. */
export function trialName(lr: number, seed: number): string {
  return `lr-${lr}_seed-${seed}`;
}

/** Whether trials of `config` must run their whole budget: under warmup, or when asked. */
export function needsFullBudget(config: Config, fullBudget = false): boolean {
  return fullBudget || config.schedule.warmup_steps > 0;
}

/**
 * The config of one trial: lr and seed set, curvature off unless kept. The targets go into
 * train.stop_* (the run stops there) unless the trial runs its full budget (then they are null
 * and the target is checked on the metrics by `judgeRun`).
 */
export function trialConfig(config: Config, lr: number, seed: number, o: Pick<ConfigTrialOptions, 'stopTrainLoss' | 'stopTrainAcc' | 'curvature' | 'fullBudget'> = {}): Config {
  const c = structuredClone(config);
  c.optimizer.lr = lr;
  c.train.seed = seed;
  if (o.stopTrainLoss !== undefined) c.train.stop_train_loss = o.stopTrainLoss;
  if (o.stopTrainAcc !== undefined) c.train.stop_train_acc = o.stopTrainAcc;
  if (needsFullBudget(config, o.fullBudget)) {
    c.train.stop_train_loss = null;
    c.train.stop_train_acc = null;
  }
  if (!o.curvature) {
    c.curvature.every = 0;
    c.curvature.early_every = 0;
    c.curvature.early_steps = 0;
  }
  return resolveConfig(c);
}

const sameConfig = (a: Config, b: Config): boolean => {
  const strip = (c: Config) => JSON.stringify({ ...stripRunMetadata(c as unknown as Record<string, unknown>), threads: 0 });
  return strip(a) === strip(b);
};

/** What a trial must reach: train loss ≤ loss or train accuracy ≥ acc (null = not asked), from step `from` on. */
export interface TrialTarget {
  loss: number | null;
  acc: number | null;
  /** First step at which reaching the target counts (the end of warmup). Default 0. */
  from?: number;
}

const fmt = (v: number | null | undefined, digits = 4) => (typeof v === 'number' ? v.toPrecision(digits) : '—');

/**
 * Judges a finished run against `target`: stable = not diverged, and the target reached at a
 * logged step ≥ target.from. Without a target (both null): completed all steps with the final
 * train loss below the initial one. A failed or unfinished run is an error, not instability.
 */
export function judgeRun(dir: string, target: TrialTarget): TrialResult {
  const store = new RunStore(dir);
  const s = store.readSummary();
  if (s === null) throw new Error(`${dir}: no summary.json`);
  if (s.status === 'failed' || s.status === 'running') throw new Error(`${dir}: run ${s.status}${s.reason ? `: ${s.reason}` : ''}`);
  const base = { steps: s.steps, final: { ...s.final }, dir };
  if (s.status === 'diverged') return { ...base, stable: false, reason: `diverged: ${s.reason ?? ''}`.trim() };
  const rows = readMetrics(join(dir, 'metrics.jsonl')).rows;
  const { loss, acc } = target;
  const from = target.from ?? 0;
  if (loss !== null || acc !== null) {
    const meets = (l: unknown, a: unknown) => (loss !== null && typeof l === 'number' && l <= loss) || (acc !== null && typeof a === 'number' && a >= acc);
    // The runner logs every log.every steps, so the step where a run stopped at its target may
    // have no row; its summary holds the values there.
    const hit = rows.find((r) => r.step >= from && meets(r.train_loss, r.train_acc))
      ?? (s.steps >= from && meets(s.final.train_loss, s.final.train_acc) ? { step: s.steps } : undefined);
    const want = [loss !== null ? `train loss ≤ ${loss}` : '', acc !== null ? `train acc ≥ ${acc}` : ''].filter(Boolean).join(' or ');
    if (hit) return { ...base, stable: true, reason: `${want} at step ${hit.step}`, reached_at: hit.step };
    return { ...base, stable: false, reason: `did not reach ${want}${from > 0 ? ` after step ${from}` : ''} within ${s.steps} steps (train loss ${fmt(s.final.train_loss)}, acc ${fmt(s.final.train_acc, 3)})` };
  }
  const l0 = rows.find((r) => r.step === 0)?.train_loss;
  const ok = typeof l0 === 'number' && s.final.train_loss !== null && s.final.train_loss < l0;
  return { ...base, stable: ok, reason: ok ? `completed ${s.steps} steps without diverging` : `train loss did not fall below its initial value in ${s.steps} steps` };
}

/**
 * A trial function that trains `config` at (lr, seed) in a child process into
 * `outDir/<name(lr, seed)>` (a finished run there is reused; one with another config is an error).
 */
export function configTrial(config: Config, outDir: string, o: ConfigTrialOptions = {}): Trial {
  const stopLoss = o.stopTrainLoss !== undefined ? o.stopTrainLoss : config.train.stop_train_loss;
  const stopAcc = o.stopTrainAcc !== undefined ? o.stopTrainAcc : config.train.stop_train_acc;
  const name = o.name ?? trialName;
  return async (lr, seed) => {
    const c = trialConfig(config, lr, seed, { stopTrainLoss: stopLoss, stopTrainAcc: stopAcc, curvature: o.curvature, fullBudget: o.fullBudget });
    const dir = join(outDir, name(lr, seed));
    if (existsSync(join(dir, 'config.json'))) {
      const have = new RunStore(dir).readConfig().config;
      if (!sameConfig(have, c)) throw new Error(`${dir} holds a run with another config; remove it or use another output directory`);
    }
    o.onStart?.(dir, c, lr, seed);
    await runInChild(c, dir, { threads: o.threads, signal: o.signal });
    return judgeRun(dir, { loss: stopLoss, acc: stopAcc, from: config.schedule.warmup_steps });
  };
}

// ---------------------------------------------------------------------------------------------
// Built-in remedies (Gilmer et al.'s interventions) as config overrides.

/** The remedy names `--variants` accepts; `warmup-N`, `clip-X` and `init-scale-X` take a value. */
export const VARIANT_NAMES = ['none', 'warmup', 'clip', 'batchnorm', 'layernorm', 'fixup', 'metainit', 'gradinit', 'init-scale-0.5'] as const;

/** Default warmup length (updates) and clipping bound for the bare `warmup` and `clip`. */
export const DEFAULT_WARMUP_STEPS = 100;
export const DEFAULT_CLIP_NORM = 1;

/**
 * Dotted-key overrides of one remedy (or several joined by '+', e.g. `warmup-100+clip-1`):
 * none · warmup[-N] (linear warmup over N updates) · clip[-X] (global gradient norm ≤ X) ·
 * batchnorm · layernorm · fixup · metainit · gradinit · init-scale-X (init std × X).
 */
export function variantOverrides(name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of name.split('+').map((s) => s.trim())) {
    let m: RegExpMatchArray | null;
    if (part === 'none' || part === '') continue;
    else if ((m = part.match(/^warmup(?:-(\d+))?$/))) out['schedule.warmup_steps'] = m[1] !== undefined ? Number(m[1]) : DEFAULT_WARMUP_STEPS;
    else if ((m = part.match(/^clip(?:-([0-9.eE+-]+))?$/))) out['clip.max_norm'] = m[1] !== undefined ? Number(m[1]) : DEFAULT_CLIP_NORM;
    else if (part === 'batchnorm' || part === 'layernorm') out['model.norm'] = part;
    else if (part === 'fixup' || part === 'metainit' || part === 'gradinit') out['model.init.scheme'] = part;
    else if ((m = part.match(/^init-scale-([0-9.eE+-]+)$/))) out['model.init.scale'] = Number(m[1]);
    else throw new Error(`unknown variant '${part}' (allowed: none, warmup[-N], clip[-X], batchnorm, layernorm, fixup, metainit, gradinit, init-scale-X; join with +)`);
  }
  for (const [k, v] of Object.entries(out)) if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`variant '${name}': bad number for ${k}`);
  return out;
}

/** `config` with a variant's overrides applied and validated (throws a one-line error if the remedy does not fit the model). */
export function applyVariant(config: Config, name: string): Config {
  const c = structuredClone(config) as unknown as Record<string, unknown>;
  for (const [key, v] of Object.entries(variantOverrides(name))) {
    const path = key.split('.');
    let node = c;
    for (const p of path.slice(0, -1)) node = node[p] as Record<string, unknown>;
    node[path[path.length - 1]!] = v;
  }
  const resolved = resolveConfig(c);
  // Check what the config schema cannot: the model builder's own constraints.
  const m = resolved.model;
  if (m.norm === 'layernorm' && m.arch !== 'mlp') throw new Error(`variant '${name}': layernorm is available for arch mlp only (got ${m.arch})`);
  if (m.init.scheme === 'fixup' && (m.arch !== 'resnet' || m.norm !== 'none')) throw new Error(`variant '${name}': fixup needs arch resnet without normalization (got ${m.arch}, norm ${m.norm})`);
  return resolved;
}

// ---------------------------------------------------------------------------------------------
// Helpers for reports: test metrics at a run's last step, and the early-curvature series.

/**
 * Test loss and accuracy of a finished run at its last step: from metrics.jsonl when they were
 * measured there, else by evaluating the last checkpoint (the runner measures test metrics only
 * every log.test_every steps, so a run stopped early by its target may have none at its end).
 */
export async function finalTestMetrics(dir: string): Promise<{ test_loss: number | null; test_acc: number | null; step: number }> {
  const store = new RunStore(dir);
  const s = store.readSummary();
  if (s === null) throw new Error(`${dir}: no summary.json`);
  const rows = readMetrics(join(dir, 'metrics.jsonl')).rows;
  const at = rows.find((r) => r.step === s.steps && typeof r.test_acc === 'number');
  if (at) return { test_loss: (at.test_loss as number | null) ?? null, test_acc: at.test_acc as number, step: s.steps };
  const step = store.latestCheckpoint();
  if (step === null) return { test_loss: null, test_acc: null, step: s.steps };
  const { config: c } = store.readConfig();
  const data = await loadDataset({ ...c.data });
  const model = buildModel({ ...c.model, init: { ...c.model.init } }, data.test.sampleShape, data.test.numClasses);
  const dtype = c.backend === 'ort' ? 'float32' : 'float64';
  const runtime = new Runtime({ backend: c.backend, threads: c.threads > 0 ? c.threads : 1 });
  try {
    const ck = store.readCheckpoint(step);
    const byName = new Map(ck.tensors.map((t) => [t.name, t.data as unknown as ArrayLike<number>]));
    const theta = dtype === 'float32' ? new Float32Array(model.layout.size) : new Float64Array(model.layout.size);
    const pieces: Record<string, ArrayLike<number>> = {};
    for (const p of model.params) {
      const t = byName.get(p.name);
      if (!t) throw new Error(`${dir}: checkpoint step ${step} lacks '${p.name}'`);
      pieces[p.name] = t;
    }
    model.layout.gather(pieces, theta);
    const hasBn = model.buffers.length > 0;
    const fixed = hasBn ? modelFeeds(model, 'eval', { buffers: Float64Array.from(byName.get('state.buffers') ?? []) }) : {};
    const t = data.test;
    const y = t.targets ?? Float32Array.from(oneHot(t.y!, t.numClasses));
    const obj = new DatasetObjective(runtime, (b) => objectiveSpec(model, c.loss, b, 'eval', dtype), { n: t.n, arrays: { x: t.x, y } }, c.train.chunk_size, fixed);
    const e = await obj.evaluate(theta);
    const fin = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
    return { test_loss: fin(e.loss), test_acc: fin(e.metrics.accuracy), step };
  } finally {
    await runtime.dispose();
  }
}

/** One early-curvature measurement: λ1 (or λ1(P⁻¹H)) against the step's threshold. */
export interface EarlyCurvaturePoint {
  step: number;
  lr: number;
  /** The curvature compared with the threshold (sharpness, or precond_sharpness for adaptive optimizers). */
  value: number;
  threshold: number;
  /** value / threshold (1 = at the stability boundary). */
  ratio: number;
  /** λ·η, the quantity Gilmer et al. plot. */
  lambdaEta: number;
}

/**
 * The early-curvature series of a run's metrics rows: λ1·η and λ1/threshold at each measured
 * step ≤ maxStep, with the threshold of the step's lr (2/η GD/SGD, (2+2μ)/η heavy ball,
 * (2+2β1)/((1−β1)η) on λ1(P⁻¹H) for Adam). Rows without a measurement are skipped.
 */
export function earlyCurvature(rows: readonly MetricRow[], config: Config, maxStep = Infinity): EarlyCurvaturePoint[] {
  const out: EarlyCurvaturePoint[] = [];
  for (const r of rows) {
    if (r.step > maxStep) break;
    const lr = r.lr;
    if (typeof lr !== 'number' || !(lr > 0)) continue;
    const th = stabilityThreshold({ ...config.optimizer }, lr);
    const v = th.quantity === 'preconditioned_sharpness' ? r.precond_sharpness : r.sharpness;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    out.push({ step: r.step, lr, value: v, threshold: th.value, ratio: v / th.value, lambdaEta: v * lr });
  }
  return out;
}

/** A config that tracks early curvature densely: every `earlyEvery` steps for the first `earlySteps`, then every `every`. */
export function earlyCurvatureConfig(config: Config, o: { earlyEvery?: number; earlySteps?: number; every?: number; topK?: number; iters?: number } = {}): Config {
  const c = structuredClone(config);
  c.curvature.early_every = o.earlyEvery ?? 2;
  c.curvature.early_steps = o.earlySteps ?? 200;
  c.curvature.every = o.every ?? 25;
  c.curvature.top_k = o.topK ?? 1;
  c.curvature.lanczos_iters = o.iters ?? c.curvature.lanczos_iters;
  c.curvature.rotation = false;
  return resolveConfig(c);
}
