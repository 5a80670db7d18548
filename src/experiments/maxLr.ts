/**
 * The max-lr experiment: the largest learning rate that does not diverge (η_max; Gilmer et al.
 * 2022's figure of merit), found by a bracketing search over η — a geometric grid scanned from
 * the top down, then bisection in log η — and, reported separately, how fast each η fits the
 * training data. `edgewise max-lr` and every max-lr study (warmup, interventions, catapult,
 * adam-warmup) run it through `runMaxLrExperiment`, which writes OUT/max-lr.json.
 *
 * Definitions (documented here once; the CLI, the studies and the tests rely on them):
 * - A *trial* is one training run at (η, seed). Its *outcome* is one of (`classifyRun`):
 *   `diverged` (the run stopped on divergence: non-finite or above train.divergence_loss);
 *   `trained` (no divergence, and the target — train loss ≤ stop_train_loss or train accuracy ≥
 *   stop_train_acc — reached at a logged step ≥ the end of warmup); `unstable-but-trained` (trained,
 *   but the train loss rose above its initial value at some step, or the run lost the target again
 *   before its budget ended: an instability it survived); `did-not-fit-in-budget` (no divergence,
 *   target not reached within train.steps); `collapsed` (no divergence, but the run ends no better
 *   than the best constant predictor — train accuracy within COLLAPSE_ACC_MARGIN of the majority
 *   class's share and, under cross-entropy, train loss at least COLLAPSE_LOSS_FRACTION of the
 *   class-prior entropy — after its loss moved away from the initial value, or (cross-entropy)
 *   ending on the class-prior entropy itself (COLLAPSE_PRIOR_FRACTION): the instability
 *   destroyed the network, e.g. every ReLU died, without a non-finite loss; checked only when the
 *   target knows the constant predictor, `chance`). Each outcome carries the step it was decided
 *   at and the reason. Without a target, trained = the final train loss is below the initial one.
 * - A trial is *stable* when it neither diverged nor collapsed. η_max is defined by that alone: a
 *   run too slow to fit is not unstable. Fitting speed (steps to the target, `reached_at`) and the largest
 *   η that fitted (`maxTrainedLr`) are reported beside it, not folded into it.
 * - With warmup the target counts only once warmup is over; such trials (and all trials when
 *   `full_budget`, the default for the command and the studies) run their whole budget, so a
 *   divergence after reaching the target is seen and variants with and without warmup compare.
 * - η is stable when all seeds are (rule 'all', the default) or more than half are ('majority').
 *   A verdict is taken as soon as it is decided, so the remaining seeds of that η are skipped.
 * - `per_seed` (MaxLrSettings) instead searches every seed on its own: one bracketing search per
 *   seed (one trial in flight each), so each seed's own η_max is bisected to the full resolution
 *   f^(1/2^bisect_steps); the cell's η_max is then the median over seeds (in log η) and the
 *   seed rule is not used. `seedBrackets` reads each seed's η_max and bracket back from trials.
 * - The bracket is [a, b]: a stable, b > a unstable, and b the next η tried above a. The grid
 *   phase tries hi, hi/f, hi/f², … ≥ lo (all at once, up to `parallel` trials in flight, lower η
 *   skipped once a higher one is stable), so every grid point above a was tried and found
 *   unstable; when hi itself is stable the grid is extended upwards (up to `expand` points).
 *   Each bisection round then tries m = max(1, ⌊parallel / k⌋) points evenly spaced in log η (k = seeds an lr needs to be stable)
 *   inside (a, b) and keeps the largest stable one and the unstable one just above it, so the
 *   bracket ratio b/a shrinks to (b/a)^(1/(m+1)) per round.
 * - `findMaxStableLr` itself is generic over the trial's `stable` flag (the quadratic oracle
 *   below calls a trial stable when it converges, since its closed-form boundary is the
 *   convergence boundary). Stability need not be monotone in η; every unstable η tried below the
 *   answer is listed in `gaps` so that non-monotone cases are visible rather than hidden.
 * - A trial that throws (e.g. a run that failed, not diverged) aborts the search after the trials
 *   in flight settle: `findMaxStableLr` rejects with a MaxLrError naming η, seed and cause and
 *   holding the trials done so far. Errors are never counted as instability.
 *
 * Candidate η are rounded to `precision` significant digits (default 6) so that run directories
 * have short names and a rerun finds the same directories.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../data/index.ts';
import { stabilityThreshold } from '../train/index.ts';
import { runInChild } from './childRun.ts';
import { resolveConfig, type Config } from './config.ts';
import { stripRunMetadata } from './loadConfig.ts';
import { readMetrics, type MetricRow } from './metrics.ts';
import { RunStore, writeSweepManifest, type FinalMetrics, type RunSummary } from './runStore.ts';
import { openCheckpoint } from './runModel.ts';
import { setPaths } from './configPaths.ts';
import { createLimiter, mapWithConcurrency, type Limiter } from '../util/concurrency.ts';
import { writeJsonAtomic } from './atomicWrite.ts';

/** The outcome of one trial (see the module comment). */
export const TRIAL_OUTCOMES = [
  'diverged',
  'collapsed',
  'unstable-but-trained',
  'trained',
  'did-not-fit-in-budget',
] as const;
export type TrialOutcome = (typeof TRIAL_OUTCOMES)[number];

/** What one trial reports. Extra fields are kept in the trial record. */
export interface TrialResult {
  /** What the search counts: for config trials, not diverged. */
  stable: boolean;
  /** Why: the stopping criterion reached, the divergence, or the target missed. */
  reason: string;
  /** The classified outcome (config and quadratic trials always give one). */
  outcome?: TrialOutcome;
  /** The step the outcome was decided at (divergence, target reached, first loss spike, end of budget). */
  step?: number;
  /** First logged step at which the target was reached (null: never); the fitting speed. */
  reached_at?: number | null;
  /** Updates done. */
  steps?: number;
  /** Final metrics (train/test loss and accuracy, sharpness) when known. */
  final?: Partial<FinalMetrics> | Record<string, number | null>;
  /** The run directory, for config trials. */
  dir?: string;
  /** The constant predictor the trial was classified against (config trials with class labels). */
  chance?: ConstantPredictor;
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
  /**
   * Try every grid point down to lo even below a stable one (default false: skipped), so that
   * the fitting speed of smaller η is measured too; the bracket is the same.
   */
  fullGrid?: boolean;
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
  /** Per-seed searches (`per_seed`): each seed's own bracket, and the resolution every bracket should reach. */
  perSeed?: { resolution: number; seeds: SeedBracket[] };
}

/** A trial threw: the search stopped. `trials` holds what finished before. */
export class MaxLrError extends Error {
  override readonly name = 'MaxLrError';
  constructor(
    message: string,
    readonly lr: number,
    readonly seed: number,
    readonly trials: TrialRecord[],
    options?: { cause?: unknown },
  ) {
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
    if (!(Number.isInteger(s) && s >= 1))
      throw new Error(`seeds must be an integer >= 1 or a list of seeds (got ${s})`);
    return Array.from({ length: s }, (_, i) => i);
  }
  if (s.length === 0 || s.some((x) => !Number.isInteger(x) || x < 0))
    throw new Error(`seeds must be a non-empty list of integers >= 0 (got ${JSON.stringify(s)})`);
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
  if (!(Number.isFinite(o.lo) && o.lo > 0 && Number.isFinite(o.hi) && o.hi >= o.lo))
    throw new Error(`need 0 < lo <= hi (got lo ${o.lo}, hi ${o.hi})`);
  if (!(Number.isFinite(f) && f > 1)) throw new Error(`gridFactor must be > 1 (got ${f})`);
  if (!(Number.isInteger(rounds) && rounds >= 0))
    throw new Error(`bisectSteps must be an integer >= 0 (got ${rounds})`);
  if (!(rule === 'all' || rule === 'majority')) throw new Error(`rule must be all or majority (got ${String(rule)})`);
  const need = seedsNeeded(rule, seeds.length);
  const trials: TrialRecord[] = [];
  const byLr = new Map<number, { stable: number; unstable: number; verdict: boolean | null }>();
  const verdictOf = (lr: number): boolean | null => byLr.get(lr)?.verdict ?? null;

  /**
   * Runs the seeds of `lrs` (in the given order, `parallel` trials at a time). `skip(lr)` is
   * asked before each trial starts; trials of an lr whose verdict is already decided are skipped.
   */
  const runBatch = async (
    lrs: readonly number[],
    phase: TrialRecord['phase'],
    skip: (lr: number) => boolean,
  ): Promise<void> => {
    const tasks = lrs.flatMap((lr) => seeds.map((seed) => ({ lr, seed })));
    // The first failure stops new trials; those in flight settle, then it is thrown.
    await mapWithConcurrency(tasks, parallel, async ({ lr, seed }) => {
      if (verdictOf(lr) !== null || skip(lr)) return;
      const ts = performance.now();
      let r: TrialResult;
      try {
        r = await o.trial(lr, seed);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new MaxLrError(`trial at lr ${lr}, seed ${seed} failed: ${msg}`, lr, seed, trials, { cause: err });
      }
      if (typeof r?.stable !== 'boolean')
        throw new MaxLrError(`trial at lr ${lr}, seed ${seed} returned no boolean 'stable'`, lr, seed, trials);
      const rec: TrialRecord = { ...r, lr, seed, phase, elapsed_s: (performance.now() - ts) / 1000 };
      trials.push(rec);
      const e = byLr.get(lr) ?? { stable: 0, unstable: 0, verdict: null };
      if (r.stable) e.stable++;
      else e.unstable++;
      if (e.stable >= need) e.verdict = true;
      else if (e.unstable > seeds.length - need) e.verdict = false;
      byLr.set(lr, e);
      o.onTrial?.(rec);
    });
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
    if (o.fullGrid) return false;
    const b = bestStable(grid);
    return b !== null && lr < b;
  });
  let a = bestStable(grid);
  let b: number | null;
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
      if (!Number.isFinite(l) || l > divergence * l0)
        return {
          stable: false,
          outcome: 'diverged',
          step: t,
          reached_at: null,
          reason: `diverged at step ${t}`,
          steps: t,
          final: { train_loss: Number.isFinite(l) ? l : null },
        };
      if (l <= target * l0)
        return {
          stable: true,
          outcome: 'trained',
          step: t,
          reached_at: t,
          reason: `loss ≤ ${target}·L0 at step ${t}`,
          steps: t,
          final: { train_loss: l },
        };
      if (t === steps) break;
      for (let i = 0; i < x.length; i++) {
        const g = lambdas[i]! * x[i]!;
        const b = mu * buf[i]! + g;
        buf[i] = b;
        x[i] = x[i]! - lr * (mu === 0 ? g : nesterov ? g + mu * b : b);
      }
    }
    return {
      stable: false,
      outcome: 'did-not-fit-in-budget',
      step: steps,
      reached_at: null,
      reason: `loss above ${target}·L0 after ${steps} steps`,
      steps,
      final: { train_loss: loss() },
    };
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
  /** Loss-spike factor of `unstable-but-trained` (TrialTarget.spike). Default 1. */
  spike?: number;
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
export function trialConfig(
  config: Config,
  lr: number,
  seed: number,
  o: Pick<ConfigTrialOptions, 'stopTrainLoss' | 'stopTrainAcc' | 'curvature' | 'fullBudget'> = {},
): Config {
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
  const strip = (c: Config) =>
    JSON.stringify({ ...stripRunMetadata(c as unknown as Record<string, unknown>), threads: 0 });
  return strip(a) === strip(b);
};

/** What a trial must reach: train loss ≤ loss or train accuracy ≥ acc (null = not asked), from step `from` on. */
export interface TrialTarget {
  loss: number | null;
  acc: number | null;
  /** First step at which reaching the target counts (the end of warmup). Default 0. */
  from?: number;
  /**
   * A trained run whose train loss exceeded `spike` × its initial loss at some step is
   * `unstable-but-trained`. Default 1 (any rise above the starting loss).
   */
  spike?: number;
  /**
   * The best constant predictor on the training set (`constantPredictor`): its train accuracy and,
   * under cross-entropy, its loss (nats; null otherwise). Absent: collapse is not checked.
   */
  chance?: ConstantPredictor;
}

/** The best input-independent prediction's train accuracy and cross-entropy (nats; null for other losses). */
export interface ConstantPredictor {
  readonly acc: number;
  readonly loss: number | null;
}

/** The best constant predictor on `config`'s training set (undefined without class labels). */
export async function constantPredictorOf(config: Config): Promise<ConstantPredictor | undefined> {
  const counts = (await loadDataset({ ...config.data })).info.train.classCounts;
  return counts === null ? undefined : constantPredictor(counts, config.loss);
}

/** A collapsed run's final train accuracy is at most the majority share plus this. */
export const COLLAPSE_ACC_MARGIN = 0.02;
/** A collapsed cross-entropy run's final train loss is at least this fraction of the class-prior entropy. */
export const COLLAPSE_LOSS_FRACTION = 0.98;
/** ... and differs from its initial loss by more than this fraction of it (the weights moved; not a run that never learned). */
export const COLLAPSE_MOVED_FRACTION = 0.05;
/**
 * ... or, under cross-entropy, ends within this fraction of the class-prior entropy: the network
 * converged onto the constant predictor (measured: an unnormalized ResNet with GradInit at η 1.28
 * started at 2.30 and ended at the prior 2.224 to four digits, with the majority class's accuracy).
 */
export const COLLAPSE_PRIOR_FRACTION = 0.002;

/** The best constant predictor for training labels with these per-class counts (accuracy = majority share; loss = label entropy, nats, for cross-entropy). */
export function constantPredictor(classCounts: readonly number[], loss: string): ConstantPredictor {
  const n = classCounts.reduce((a, b) => a + b, 0);
  if (n === 0) throw new Error('constantPredictor: no training labels');
  const acc = Math.max(...classCounts) / n;
  const entropy = classCounts.reduce((h, c) => (c > 0 ? h - (c / n) * Math.log(c / n) : h), 0);
  return { acc, loss: loss === 'cross-entropy' ? entropy : null };
}

/** What `classifyRun` reads of a finished run: its summary and metrics rows. */
export interface RunRecord {
  readonly summary: Pick<RunSummary, 'status' | 'reason' | 'steps' | 'final'>;
  readonly rows: readonly MetricRow[];
  readonly dir?: string;
}

const fmt = (v: number | null | undefined, digits = 4) => (typeof v === 'number' ? v.toPrecision(digits) : '—');

/** The target in words (`train loss ≤ 0.1 or train acc ≥ 0.95`; '' without one). */
export function targetText(target: Pick<TrialTarget, 'loss' | 'acc'>): string {
  return [
    target.loss !== null ? `train loss ≤ ${target.loss}` : '',
    target.acc !== null ? `train acc ≥ ${target.acc}` : '',
  ]
    .filter(Boolean)
    .join(' or ');
}

/**
 * The outcome of a finished run (a pure function of its summary and metrics rows; see the module
 * comment): diverged, trained, unstable-but-trained or did-not-fit-in-budget, with the step it was
 * decided at, the reason and `reached_at`. stable = neither diverged nor collapsed. A failed or unfinished run is an
 * error, not an outcome.
 */
export function classifyRun(
  run: RunRecord,
  target: TrialTarget,
): TrialResult & { outcome: TrialOutcome; step: number; reached_at: number | null } {
  const s = run.summary;
  const where = run.dir ?? 'run';
  if (s.status === 'failed' || s.status === 'running')
    throw new Error(`${where}: run ${s.status}${s.reason ? `: ${s.reason}` : ''}`);
  const base = {
    steps: s.steps,
    final: { ...s.final },
    ...(run.dir !== undefined ? { dir: run.dir } : {}),
    ...(target.chance !== undefined ? { chance: target.chance } : {}),
  };
  if (s.status === 'diverged')
    return {
      ...base,
      stable: false,
      outcome: 'diverged',
      step: s.steps,
      reached_at: null,
      reason: `diverged: ${s.reason ?? ''}`.trim(),
    };
  const rows = run.rows;
  const { loss, acc } = target;
  const from = target.from ?? 0;
  const l0 = rows.find((r) => r.step === 0)?.train_loss;
  const collapse = collapsedReason(s.final, l0, rows, target.chance);
  if (collapse !== null)
    return { ...base, stable: false, outcome: 'collapsed', step: s.steps, reached_at: null, reason: collapse };
  let hit: number | null;
  let lost = false;
  let want: string;
  if (loss !== null || acc !== null) {
    const meets = (l: unknown, a: unknown) =>
      (loss !== null && typeof l === 'number' && l <= loss) || (acc !== null && typeof a === 'number' && a >= acc);
    // The runner logs every log.every steps, so the step where a run stopped at its target may
    // have no row; its summary holds the values there.
    const row = rows.find((r) => r.step >= from && meets(r.train_loss, r.train_acc));
    hit = row ? row.step : s.steps >= from && meets(s.final.train_loss, s.final.train_acc) ? s.steps : null;
    lost = hit !== null && !meets(s.final.train_loss, s.final.train_acc);
    want = targetText(target);
  } else {
    hit = typeof l0 === 'number' && s.final.train_loss !== null && s.final.train_loss < l0 ? s.steps : null;
    want = 'a final train loss below the initial one';
  }
  if (hit === null) {
    const why =
      loss !== null || acc !== null
        ? `did not reach ${want}${from > 0 ? ` after step ${from}` : ''} within ${s.steps} steps (train loss ${fmt(s.final.train_loss)}, acc ${fmt(s.final.train_acc, 3)})`
        : `train loss did not fall below its initial value in ${s.steps} steps`;
    return { ...base, stable: true, outcome: 'did-not-fit-in-budget', step: s.steps, reached_at: null, reason: why };
  }
  const spike = target.spike ?? 1;
  const up =
    typeof l0 === 'number'
      ? rows.find((r) => r.step > 0 && typeof r.train_loss === 'number' && r.train_loss > spike * l0)
      : undefined;
  if (up !== undefined || lost) {
    const why =
      up !== undefined
        ? `train loss ${fmt(up.train_loss as number)} above ${spike === 1 ? '' : `${spike} × `}its initial ${fmt(l0 as number)} at step ${up.step}, then ${want} at step ${hit}`
        : `${want} at step ${hit}, lost again by step ${s.steps} (train loss ${fmt(s.final.train_loss)}, acc ${fmt(s.final.train_acc, 3)})`;
    return {
      ...base,
      stable: true,
      outcome: 'unstable-but-trained',
      step: up?.step ?? s.steps,
      reached_at: hit,
      reason: why,
    };
  }
  return {
    ...base,
    stable: true,
    outcome: 'trained',
    step: hit,
    reached_at: hit,
    reason: loss !== null || acc !== null ? `${want} at step ${hit}` : `completed ${s.steps} steps with ${want}`,
  };
}

/** Why a run that ended at `final` counts as collapsed (see the module comment), or null. */
function collapsedReason(
  final: FinalMetrics,
  l0: unknown,
  rows: readonly MetricRow[],
  chance: ConstantPredictor | undefined,
): string | null {
  if (chance === undefined) return null;
  const { train_loss: fl, train_acc: fa } = final;
  if (typeof fa !== 'number' || typeof fl !== 'number' || typeof l0 !== 'number') return null;
  if (fa > chance.acc + COLLAPSE_ACC_MARGIN) return null;
  if (chance.loss !== null && fl < COLLAPSE_LOSS_FRACTION * chance.loss) return null;
  const rose = rows.some((r) => r.step > 0 && typeof r.train_loss === 'number' && r.train_loss > l0);
  const atPrior = chance.loss !== null && Math.abs(fl - chance.loss) <= COLLAPSE_PRIOR_FRACTION * chance.loss;
  if (!rose && !atPrior && Math.abs(fl - l0) <= COLLAPSE_MOVED_FRACTION * Math.abs(l0)) return null;
  const lossPart = chance.loss !== null ? `, train loss ${fmt(fl)} vs the class-prior ${fmt(chance.loss)}` : '';
  return `collapsed: ended no better than a constant predictor (train acc ${fmt(fa, 3)} vs majority share ${fmt(chance.acc, 3)}${lossPart}; initial loss ${fmt(l0)})`;
}

/** classifyRun on the run directory `dir` (summary.json and metrics.jsonl). */
export function judgeRun(
  dir: string,
  target: TrialTarget,
): TrialResult & { outcome: TrialOutcome; step: number; reached_at: number | null } {
  const s = new RunStore(dir).readSummary();
  if (s === null) throw new Error(`${dir}: no summary.json`);
  return classifyRun({ summary: s, rows: readMetrics(join(dir, 'metrics.jsonl')).rows, dir }, target);
}

/**
 * A trial function that trains `config` at (lr, seed) in a child process into
 * `outDir/<name(lr, seed)>` (a finished run there is reused; one with another config is an error).
 */
export function configTrial(config: Config, outDir: string, o: ConfigTrialOptions = {}): Trial {
  const stopLoss = o.stopTrainLoss !== undefined ? o.stopTrainLoss : config.train.stop_train_loss;
  const stopAcc = o.stopTrainAcc !== undefined ? o.stopTrainAcc : config.train.stop_train_acc;
  const name = o.name ?? trialName;
  // The constant predictor depends only on the training labels: load them once per config.
  let chance: Promise<ConstantPredictor | undefined> | undefined;
  const chanceOf = () => (chance ??= constantPredictorOf(config));
  return async (lr, seed) => {
    const c = trialConfig(config, lr, seed, {
      stopTrainLoss: stopLoss,
      stopTrainAcc: stopAcc,
      curvature: o.curvature,
      fullBudget: o.fullBudget,
    });
    const dir = join(outDir, name(lr, seed));
    if (existsSync(join(dir, 'config.json'))) {
      const have = new RunStore(dir).readConfig().config;
      if (!sameConfig(have, c))
        throw new Error(`${dir} holds a run with another config; remove it or use another output directory`);
    }
    o.onStart?.(dir, c, lr, seed);
    await runInChild(c, dir, { threads: o.threads, signal: o.signal });
    const target: TrialTarget = { loss: stopLoss, acc: stopAcc, from: config.schedule.warmup_steps, spike: o.spike };
    const c0 = await chanceOf();
    return judgeRun(dir, c0 === undefined ? target : { ...target, chance: c0 });
  };
}

// ---------------------------------------------------------------------------------------------
// Summaries over seeds (pure: from trial records or from runs classified again).

/** One learning rate's trials, summarized over seeds. */
export interface LrSummary {
  lr: number;
  trials: number;
  /** Trials per outcome (trials without an outcome are not counted here). */
  outcomes: Record<TrialOutcome, number>;
  /** Did not diverge under the seed rule (null: undecided, too few seeds ran). */
  stable: boolean | null;
  /** Reached the target (trained or unstable-but-trained) under the seed rule (null: undecided). */
  trained: boolean | null;
  /** Median steps to the target over the seeds that reached it (null: none did). */
  stepsToTarget: number | null;
}

/** η_max and the fitting speed, from the trials of one search. */
export interface MaxLrSummary {
  /** η_max: the largest lr whose verdict is stable (neither diverged nor collapsed); null if none. */
  maxStableLr: number | null;
  /** The smallest lr above η_max whose verdict is unstable (null if none was tried). */
  upper: number | null;
  /** The largest lr whose verdict is trained (reached the target), a separate number. */
  maxTrainedLr: number | null;
  /** Every lr with trials, ascending. */
  lrs: LrSummary[];
}

/** The fields of a trial record `summarizeTrials` reads. */
export type TrialLike = Pick<TrialRecord, 'lr' | 'stable'> & { outcome?: TrialOutcome; reached_at?: number | null };

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const v = xs.slice().sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/** Verdicts per lr under `rule` over `seeds` seeds, then η_max, the next unstable lr and the largest trained lr. */
export function summarizeTrials(trials: readonly TrialLike[], rule: SeedRule, seeds: number): MaxLrSummary {
  const need = seedsNeeded(rule, seeds);
  const byLr = new Map<number, TrialLike[]>();
  for (const t of trials) byLr.set(t.lr, [...(byLr.get(t.lr) ?? []), t]);
  const decide = (yes: number, no: number): boolean | null => (yes >= need ? true : no > seeds - need ? false : null);
  const lrs: LrSummary[] = [...byLr.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([lr, ts]) => {
      const outcomes = Object.fromEntries(
        TRIAL_OUTCOMES.map((o) => [o, ts.filter((t) => t.outcome === o).length]),
      ) as Record<TrialOutcome, number>;
      const fitted = (t: TrialLike) =>
        t.outcome !== undefined ? t.outcome === 'trained' || t.outcome === 'unstable-but-trained' : t.stable;
      const ok = ts.filter((t) => t.stable).length;
      const fit = ts.filter(fitted).length;
      return {
        lr,
        trials: ts.length,
        outcomes,
        stable: decide(ok, ts.length - ok),
        trained: decide(fit, ts.length - fit),
        stepsToTarget: median(ts.map((t) => t.reached_at).filter((x): x is number => typeof x === 'number')),
      };
    });
  const stable = lrs.filter((l) => l.stable === true).map((l) => l.lr);
  const maxStableLr = stable.length > 0 ? Math.max(...stable) : null;
  const above = lrs.filter((l) => l.stable === false && (maxStableLr === null || l.lr > maxStableLr)).map((l) => l.lr);
  const trained = lrs.filter((l) => l.trained === true).map((l) => l.lr);
  return {
    maxStableLr,
    upper: above.length > 0 ? Math.min(...above) : null,
    maxTrainedLr: trained.length > 0 ? Math.max(...trained) : null,
    lrs,
  };
}

/** One seed's own η_max and bracket, read from its trials. */
export interface SeedBracket {
  seed: number;
  /** The largest η the seed was stable at below the smallest η it was unstable at (null: none). */
  maxStableLr: number | null;
  /** The smallest η the seed was unstable at (null: it never was: η_max is a lower bound). */
  upper: number | null;
  /** upper / maxStableLr: how finely the seed's η_max is known (null when either end is missing). */
  ratio: number | null;
  /** The largest η below `upper` at which the seed reached the target (null: none). */
  maxTrainedLr: number | null;
}

/**
 * Each seed's own bracket from the trials of a search (per-seed or seed-rule): η_max = the largest
 * η it was stable at below the smallest η it was unstable at. Seeds ascending.
 */
export function seedBrackets(trials: readonly (TrialLike & { seed: number })[]): SeedBracket[] {
  const out: SeedBracket[] = [];
  for (const seed of [...new Set(trials.map((t) => t.seed))].sort((a, b) => a - b)) {
    const mine = trials.filter((t) => t.seed === seed);
    const bad = mine.filter((t) => !t.stable).map((t) => t.lr);
    const upper = bad.length > 0 ? Math.min(...bad) : null;
    const below = mine.filter((t) => t.stable && (upper === null || t.lr < upper));
    const ok = below.map((t) => t.lr);
    const fit = below
      .filter((t) => (t.outcome !== undefined ? t.outcome === 'trained' || t.outcome === 'unstable-but-trained' : true))
      .map((t) => t.lr);
    const maxStableLr = ok.length > 0 ? Math.max(...ok) : null;
    out.push({
      seed,
      maxStableLr,
      upper,
      ratio: maxStableLr !== null && upper !== null ? upper / maxStableLr : null,
      maxTrainedLr: fit.length > 0 ? Math.max(...fit) : null,
    });
  }
  return out;
}

/** The median of positive numbers in log scale (the geometric mean of the middle two for an even count); null if none. */
export function logMedian(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && x > 0).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const hi = v[v.length >> 1]!;
  const lo = v[(v.length - 1) >> 1]!;
  return lo === hi ? hi : Math.sqrt(lo * hi);
}

/**
 * The summary of per-seed searches: η_max, the next unstable η and the largest trained η are the
 * medians (log η) of the seeds' own (seedBrackets); `lrs` lists every η tried with the seeds that ran it.
 */
export function summarizePerSeed(trials: readonly (TrialLike & { seed: number })[]): MaxLrSummary {
  const seeds = seedBrackets(trials);
  const lrs = [...new Set(trials.map((t) => t.lr))]
    .sort((a, b) => a - b)
    .map((lr) => {
      const ts = trials.filter((t) => t.lr === lr);
      return summarizeTrials(ts, 'all', ts.length).lrs[0]!;
    });
  return {
    maxStableLr: logMedian(seeds.map((s) => s.maxStableLr)),
    upper: seeds.every((s) => s.upper !== null) ? logMedian(seeds.map((s) => s.upper)) : null,
    maxTrainedLr: logMedian(seeds.map((s) => s.maxTrainedLr)),
    lrs,
  };
}

/** One result from per-seed searches (`per_seed`): all trials, each seed's bracket, η_max the median over seeds. */
export function mergeSeedSearches(parts: readonly MaxLrResult[], resolution: number): MaxLrResult {
  const trials = parts.flatMap((p) => p.trials);
  const seeds = seedBrackets(trials);
  const byLr = new Map<number, LrVerdict>();
  for (const v of parts.flatMap((p) => p.verdicts)) {
    const e = byLr.get(v.lr);
    byLr.set(
      v.lr,
      e
        ? {
            lr: v.lr,
            stable: e.stable && v.stable,
            trials: e.trials + v.trials,
            stableTrials: e.stableTrials + v.stableTrials,
          }
        : { ...v },
    );
  }
  const s = summarizePerSeed(trials);
  return {
    maxStableLr: s.maxStableLr,
    bracket: [s.maxStableLr, s.upper],
    bracketed: parts.every((p) => p.bracketed),
    rule: 'all',
    seeds: parts.flatMap((p) => p.seeds),
    grid: [...new Set(parts.flatMap((p) => p.grid))].sort((a, b) => b - a),
    verdicts: [...byLr.values()].sort((a, b) => a.lr - b.lr),
    gaps: [...new Set(parts.flatMap((p) => p.gaps))].sort((a, b) => a - b),
    trials,
    note: parts
      .map((p) => (p.note ? `seed ${p.seeds.join(', ')}: ${p.note}` : ''))
      .filter(Boolean)
      .join('; '),
    elapsed_s: Math.max(0, ...parts.map((p) => p.elapsed_s)),
    perSeed: { resolution, seeds },
  };
}

// ---------------------------------------------------------------------------------------------
// The experiment: searches for several cells (config × remedy), sharing child processes, with
// their runs recorded in sweep.json and the results in max-lr.json.

/** The search settings of a cell (the `max_lr:` section of a study file, snake_case as there). */
export interface MaxLrSettings {
  lo: number;
  hi: number;
  grid_factor: number;
  bisect_steps: number;
  seeds: number;
  rule: SeedRule;
  stop_train_loss: number | null;
  stop_train_acc: number | null;
  /** Run every trial for its whole budget (same rule with and without warmup). */
  full_budget: boolean;
  /** Keep the config's curvature measurements in the trials (default false). */
  curvature: boolean;
  /** Loss-spike factor of unstable-but-trained (TrialTarget.spike). */
  spike: number;
  /** Try every grid point down to lo (fitting speed below η_max too); default false. */
  full_grid: boolean;
  /** One search per seed (each seed's own η_max bisected; see the module comment); default false. */
  per_seed: boolean;
}

/** `max_lr:` keys as written (all but lo and hi optional). */
export type MaxLrSettingsInput = Pick<MaxLrSettings, 'lo' | 'hi'> & Partial<Omit<MaxLrSettings, 'lo' | 'hi'>>;

/** Settings with the defaults filled in: grid ×2, 1 bisection round, 1 seed, rule all, full budget. */
export function resolveMaxLrSettings(m: MaxLrSettingsInput): MaxLrSettings {
  return {
    lo: m.lo,
    hi: m.hi,
    grid_factor: m.grid_factor ?? 2,
    bisect_steps: m.bisect_steps ?? 1,
    seeds: m.seeds ?? 1,
    rule: m.rule ?? 'all',
    stop_train_loss: m.stop_train_loss ?? null,
    stop_train_acc: m.stop_train_acc ?? null,
    full_budget: m.full_budget ?? true,
    curvature: m.curvature ?? false,
    spike: m.spike ?? 1,
    full_grid: m.full_grid ?? false,
    per_seed: m.per_seed ?? false,
  };
}

/** One search of the experiment. */
export interface MaxLrCell {
  /** Run-directory prefix: trials are `<name>_lr-<η>_seed-<s>`. */
  name: string;
  /** Recorded with each trial in sweep.json (e.g. model, variant). */
  params: Record<string, unknown>;
  /** The config (null when the remedy does not apply; then `error` says why). */
  config: Config | null;
  error: string | null;
  settings: MaxLrSettings;
}

/** At most `n` tasks at once, across every caller (util/concurrency.ts). */
export type Limit = Limiter;

/** A limiter of `n` concurrent tasks (FIFO); createLimiter under the name the max-lr callers use. */
export const createLimit: (n: number) => Limit = createLimiter;

/**
 * sweep.json of a directory whose runs are decided as they go (searches): each `record` adds a
 * run and rewrites the manifest, with `grid` the distinct values of `keys`.
 */
export class RunManifest {
  private readonly runs: Array<{ index: number; name: string; params: Record<string, unknown> }> = [];
  constructor(
    readonly outDir: string,
    readonly name: string | null,
    readonly keys: readonly string[],
  ) {}
  /** Adds a run (once per name) and writes OUT/sweep.json. */
  record(name: string, params: Record<string, unknown>): void {
    if (this.runs.some((r) => r.name === name)) return;
    this.runs.push({ index: this.runs.length, name, params });
    const grid: Record<string, unknown[]> = {};
    for (const k of this.keys) grid[k] = [...new Set(this.runs.map((r) => r.params[k]).filter((v) => v !== undefined))];
    mkdirSync(this.outDir, { recursive: true });
    writeSweepManifest(this.outDir, { name: this.name, grid, runs: this.runs.slice() });
  }
  get size(): number {
    return this.runs.length;
  }
}

/** One cell's result, as returned and as written to max-lr.json. */
export interface MaxLrCellResult {
  cell: string;
  params: Record<string, unknown>;
  settings: MaxLrSettings;
  /** Why the cell was not searched (remedy not applicable), else null. */
  error: string | null;
  result: MaxLrResult | null;
  /** η_max, the next unstable η, the largest trained η and per-lr outcomes and steps to target. */
  summary: MaxLrSummary | null;
}

export interface MaxLrExperimentOptions {
  out: string;
  /** sweep.json's name (the config's or study's). */
  name: string | null;
  cells: readonly MaxLrCell[];
  /** Trials in flight at once over all cells (each search also bisects with this many points). */
  parallel: number;
  /** onnxruntime threads per child run. Default cores / parallel. */
  threads?: number;
  /** Shared with the caller's other runs (default: a limit of `parallel`). */
  limit?: Limit;
  /** Where trial runs are recorded (default: a RunManifest of OUT with keys of the cells' params, kind and lr). */
  manifest?: RunManifest;
  /** A trial other than `configTrial` (e.g. tests); the default trains the cell's config in a child process. */
  trial?: (cell: MaxLrCell) => Trial;
  /** Scales η in the progress lines (e.g. catapult's units of 2/λ0). */
  describeLr?: (lr: number) => string;
  log?: (line: string) => void;
  /** Extra top-level fields of max-lr.json (e.g. the study name, λ0). */
  meta?: Record<string, unknown>;
}

/** max-lr.json's format version (version 1: the files before outcomes, read by readMaxLrFile too). */
export const MAX_LR_FILE_VERSION = 2;

/** max-lr.json as written by runMaxLrExperiment. */
export interface MaxLrFile {
  version: number;
  definitions: string;
  cells: MaxLrCellResult[];
  [key: string]: unknown;
}

const DEFINITIONS =
  'η_max = largest η that neither diverged nor collapsed (seed rule; with per_seed, each seed searched on its own and η_max the median over seeds in log η); outcomes: diverged | collapsed (ended no better than the constant predictor) | unstable-but-trained | trained | did-not-fit-in-budget; reached_at = first logged step at the target (fitting speed); maxTrainedLr = largest η that reached the target.';

/** Writes OUT/max-lr.json (version 2). */
export function writeMaxLrFile(
  out: string,
  cells: readonly MaxLrCellResult[],
  meta: Record<string, unknown> = {},
): void {
  writeJsonAtomic(join(out, 'max-lr.json'), { version: MAX_LR_FILE_VERSION, definitions: DEFINITIONS, ...meta, cells });
}

/**
 * Runs one max-lr search per cell (all cells at once, sharing `limit`), each trial a child run
 * `OUT/<cell>_lr-<η>_seed-<s>` recorded in sweep.json; writes max-lr.json after each search ends.
 * Cells come back in the given order. A search that throws rejects the experiment.
 */
export async function runMaxLrExperiment(o: MaxLrExperimentOptions): Promise<MaxLrCellResult[]> {
  const parallel = Math.max(1, Math.floor(o.parallel));
  const limit = o.limit ?? createLimit(parallel);
  const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / parallel));
  const keys = [...new Set([...o.cells.flatMap((c) => Object.keys(c.params)), 'kind', 'optimizer.lr'])];
  const manifest = o.manifest ?? new RunManifest(o.out, o.name, keys);
  const log = o.log ?? (() => {});
  const lrText = o.describeLr ?? ((lr: number) => String(lr));
  const results: Array<MaxLrCellResult | null> = o.cells.map(() => null);
  const save = () =>
    writeMaxLrFile(
      o.out,
      results.filter((r): r is MaxLrCellResult => r !== null),
      o.meta,
    );
  await Promise.all(
    o.cells.map(async (cell, i) => {
      const m = cell.settings;
      if (cell.config === null) {
        results[i] = {
          cell: cell.name,
          params: cell.params,
          settings: m,
          error: cell.error ?? 'not applicable',
          result: null,
          summary: null,
        };
        log(`${cell.name}: skipped (${cell.error})`);
        save();
        return;
      }
      const nameOf = (lr: number, seed: number) => `${cell.name}_lr-${lr}_seed-${seed}`;
      const inner =
        o.trial?.(cell) ??
        configTrial(cell.config, o.out, {
          threads,
          stopTrainLoss: m.stop_train_loss,
          stopTrainAcc: m.stop_train_acc,
          fullBudget: m.full_budget,
          curvature: m.curvature,
          spike: m.spike,
          name: nameOf,
        });
      const trial: Trial = (lr, seed) =>
        limit(async () => {
          manifest.record(nameOf(lr, seed), { ...cell.params, kind: 'trial', 'optimizer.lr': lr, 'train.seed': seed });
          return inner(lr, seed);
        });
      let result: MaxLrResult;
      const search = (seeds: number | number[], rule: SeedRule, par: number) =>
        findMaxStableLr({
          trial,
          lo: m.lo,
          hi: m.hi,
          gridFactor: m.grid_factor,
          bisectSteps: m.bisect_steps,
          seeds,
          rule,
          parallel: par,
          fullGrid: m.full_grid,
          onTrial: (t) =>
            log(
              `${cell.name}: η ${lrText(t.lr)} seed ${t.seed}: ${t.outcome ?? (t.stable ? 'stable' : 'unstable')}${t.step !== undefined ? ` at step ${t.step}` : ''} (${t.reason})`,
            ),
        });
      try {
        result = m.per_seed
          ? mergeSeedSearches(
              await Promise.all(Array.from({ length: m.seeds }, (_, s) => search([s], 'all', 1))),
              m.bisect_steps > 0 ? m.grid_factor ** (1 / 2 ** m.bisect_steps) : m.grid_factor,
            )
          : await search(m.seeds, m.rule, parallel);
      } catch (e) {
        if (e instanceof MaxLrError)
          throw new MaxLrError(`${cell.name}: ${e.message}`, e.lr, e.seed, e.trials, { cause: e.cause });
        throw e;
      }
      const summary = m.per_seed ? summarizePerSeed(result.trials) : summarizeTrials(result.trials, m.rule, m.seeds);
      results[i] = { cell: cell.name, params: cell.params, settings: m, error: null, result, summary };
      const g4 = (v: number | null) => (v === null ? '—' : lrText(v));
      log(
        `${cell.name}: η_max ${g4(result.maxStableLr)} in [${g4(result.bracket[0])}, ${g4(result.bracket[1])}], largest η that reached the target ${g4(summary.maxTrainedLr)}${result.note ? ` — ${result.note}` : ''}`,
      );
      save();
    }),
  );
  save();
  return results as MaxLrCellResult[];
}

/**
 * Reads OUT/max-lr.json: version 2 as written, and the version-1 files (before outcomes: the
 * command's `outcomes`, the studies' `results` or `result`) as version 2 cells, each old trial's
 * outcome inferred from its reason (diverged, else trained when it was stable, else
 * did-not-fit-in-budget; version 1 called a trial stable only when it reached the target).
 */
export function readMaxLrFile(path: string): MaxLrFile {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if (raw.version === MAX_LR_FILE_VERSION) return raw as MaxLrFile;
  if (raw.version !== undefined)
    throw new Error(
      `${path}: max-lr.json version ${String(raw.version)} is not known (expected ${MAX_LR_FILE_VERSION})`,
    );
  const upgrade = (
    cell: string,
    params: Record<string, unknown>,
    r: MaxLrResult | null,
    error: string | null,
    settings: Partial<MaxLrSettings>,
  ): MaxLrCellResult => {
    if (r === null) return { cell, params, settings: settings as MaxLrSettings, error, result: null, summary: null };
    const trials = r.trials.map((t) => {
      const outcome: TrialOutcome = /^diverged/.test(t.reason)
        ? 'diverged'
        : t.stable
          ? 'trained'
          : 'did-not-fit-in-budget';
      return {
        ...t,
        outcome,
        stable: outcome !== 'diverged',
        reached_at: typeof t.reached_at === 'number' ? t.reached_at : null,
      };
    });
    const rule = r.rule ?? 'all';
    const summary = summarizeTrials(trials, rule, r.seeds?.length ?? 1);
    return {
      cell,
      params,
      settings: settings as MaxLrSettings,
      error,
      result: { ...r, trials, maxStableLr: summary.maxStableLr },
      summary,
    };
  };
  let cells: MaxLrCellResult[];
  if (Array.isArray(raw.outcomes)) {
    cells = (raw.outcomes as Array<{ variant: string; error: string | null; result: MaxLrResult | null }>).map((x) =>
      upgrade(x.variant, { variant: x.variant }, x.result, x.error, {}),
    );
  } else if (raw.results && typeof raw.results === 'object') {
    const settings = (raw.max_lr ?? {}) as Record<string, Partial<MaxLrSettings>>;
    cells = Object.entries(raw.results as Record<string, MaxLrResult | { error: string }>).map(([k, v]) =>
      'error' in v && !('trials' in v)
        ? upgrade(k, {}, null, v.error, settings[k] ?? {})
        : upgrade(k, {}, v as MaxLrResult, null, settings[k] ?? {}),
    );
  } else if (raw.result && typeof raw.result === 'object') {
    cells = [upgrade('search', {}, raw.result as MaxLrResult, null, {})];
  } else throw new Error(`${path}: not a max-lr.json (no cells, outcomes, results or result)`);
  const { outcomes: _o, results: _r, result: _s, ...rest } = raw;
  return { ...rest, version: MAX_LR_FILE_VERSION, definitions: DEFINITIONS, cells };
}

// ---------------------------------------------------------------------------------------------
// Built-in remedies (Gilmer et al.'s interventions) as config overrides.

/** The remedy names `--variants` accepts; `warmup-N`, `clip-X` and `init-scale-X` take a value. */
export const VARIANT_NAMES = [
  'none',
  'warmup',
  'clip',
  'batchnorm',
  'layernorm',
  'fixup',
  'metainit',
  'gradinit',
  'init-scale-0.5',
] as const;

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
    else if ((m = part.match(/^warmup(?:-(\d+))?$/)))
      out['schedule.warmup_steps'] = m[1] !== undefined ? Number(m[1]) : DEFAULT_WARMUP_STEPS;
    else if ((m = part.match(/^clip(?:-([0-9.eE+-]+))?$/)))
      out['clip.max_norm'] = m[1] !== undefined ? Number(m[1]) : DEFAULT_CLIP_NORM;
    else if (part === 'batchnorm' || part === 'layernorm') out['model.norm'] = part;
    else if (part === 'fixup' || part === 'metainit' || part === 'gradinit') out['model.init.scheme'] = part;
    else if ((m = part.match(/^init-scale-([0-9.eE+-]+)$/))) out['model.init.scale'] = Number(m[1]);
    else
      throw new Error(
        `unknown variant '${part}' (allowed: none, warmup[-N], clip[-X], batchnorm, layernorm, fixup, metainit, gradinit, init-scale-X; join with +)`,
      );
  }
  for (const [k, v] of Object.entries(out))
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`variant '${name}': bad number for ${k}`);
  return out;
}

/** `config` with a variant's overrides applied and validated (throws a one-line error if the remedy does not fit the model). */
export function applyVariant(config: Config, name: string): Config {
  const resolved = resolveConfig(
    setPaths(structuredClone(config) as unknown as Record<string, unknown>, variantOverrides(name)),
  );
  // Check what the config schema cannot: the model builder's own constraints.
  const m = resolved.model;
  if (m.norm === 'layernorm' && m.arch !== 'mlp')
    throw new Error(`variant '${name}': layernorm is available for arch mlp only (got ${m.arch})`);
  if (m.init.scheme === 'fixup' && (m.arch !== 'resnet' || m.norm !== 'none'))
    throw new Error(`variant '${name}': fixup needs arch resnet without normalization (got ${m.arch}, norm ${m.norm})`);
  return resolved;
}

// ---------------------------------------------------------------------------------------------
// Helpers for reports: test metrics at a run's last step, and the early-curvature series.

/**
 * Test loss and accuracy of a finished run at its last step: from metrics.jsonl when they were
 * measured there, else by evaluating the last checkpoint (the runner measures test metrics only
 * every log.test_every steps, so a run stopped early by its target may have none at its end).
 */
export async function finalTestMetrics(
  dir: string,
): Promise<{ test_loss: number | null; test_acc: number | null; step: number }> {
  const store = new RunStore(dir);
  const s = store.readSummary();
  if (s === null) throw new Error(`${dir}: no summary.json`);
  const rows = readMetrics(join(dir, 'metrics.jsonl')).rows;
  const at = rows.find((r) => r.step === s.steps && typeof r.test_acc === 'number');
  if (at) return { test_loss: (at.test_loss as number | null) ?? null, test_acc: at.test_acc as number, step: s.steps };
  const step = store.latestCheckpoint();
  if (step === null) return { test_loss: null, test_acc: null, step: s.steps };
  const ck = await openCheckpoint(dir, step, { threads: 1 });
  try {
    const e = await ck.objective({ mode: 'eval', split: 'test' }).evaluate(ck.theta);
    const fin = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
    return { test_loss: fin(e.loss), test_acc: fin(e.metrics.accuracy), step };
  } finally {
    await ck.dispose();
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
export function earlyCurvatureConfig(
  config: Config,
  o: { earlyEvery?: number; earlySteps?: number; every?: number; topK?: number; iters?: number } = {},
): Config {
  const c = structuredClone(config);
  c.curvature.early_every = o.earlyEvery ?? 2;
  c.curvature.early_steps = o.earlySteps ?? 200;
  c.curvature.every = o.every ?? 25;
  c.curvature.top_k = o.topK ?? 1;
  c.curvature.lanczos_iters = o.iters ?? c.curvature.lanczos_iters;
  c.curvature.rotation = false;
  return resolveConfig(c);
}
