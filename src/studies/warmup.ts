/**
 * Study `warmup` (Gilmer et al. 2022, "A Loss Curvature Perspective on Training Instability"):
 * learning-rate warmup lowers the early sharpness relative to the stability threshold and raises
 * the largest learning rate that still trains.
 *
 * This module also holds the machinery the other max-lr studies (`interventions`) share: a study
 * file names base models (`models:`, merged over `base:`) and remedies (`grid.variant`, names as
 * in `edgewise max-lr --variants`), the search settings (`max_lr:`) and the early-curvature runs
 * (`curves:`), each with a `quick:` reduction. `executeMaxLrStudy` runs, for every model ×
 * remedy, a max-stable-lr search (each trial a run directory `<cell>_lr-<η>_seed-<s>`) and one run
 * at a common η with dense early curvature (`<cell>_curve`); all runs share `parallel` child
 * processes. It writes sweep.json (so `edgewise report` groups the runs), max-lr.json and
 * max-lr.md. The claims are computed again from the run directories by the evaluators.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as os from 'node:os';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { runInChild } from '../experiments/childRun.ts';
import { RunStore } from '../experiments/runStore.ts';
import { readMetrics } from '../experiments/metrics.ts';
import { writeJsonAtomic } from '../experiments/atomicWrite.ts';
import {
  applyVariant, configTrial, earlyCurvature, earlyCurvatureConfig, finalTestMetrics, findMaxStableLr, judgeRun,
  seedsNeeded, type MaxLrResult, type SeedRule, type Trial,
} from '../experiments/maxLr.ts';
import { DASH, frame, lineChart, PALETTE, THRESHOLD_COLOR, type Series } from '../report/spec.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyFile, StudyRun, Verdict } from './study.ts';

// ---------------------------------------------------------------------------------------------
// The study file's extra sections.

/** `max_lr:` — the search (see src/experiments/maxLr.ts for the definitions). */
export interface MaxLrSection {
  lo: number;
  hi: number;
  grid_factor?: number;
  bisect_steps?: number;
  seeds?: number;
  rule?: SeedRule;
  stop_train_loss?: number | null;
  stop_train_acc?: number | null;
  /** Run every trial for its whole budget (same rule with and without warmup). Default true. */
  full_budget?: boolean;
}

/** `curves:` — one run per model × remedy at a common η with dense early curvature. */
export interface CurvesSection {
  /** η of the curve runs: one number, or one per model name. */
  lr: number | Record<string, number>;
  steps: number;
  early_every?: number;
  early_steps?: number;
  every?: number;
  lanczos_iters?: number;
  /** Training samples the Hessian is taken over. */
  samples?: number | 'all';
}

type Quick = NonNullable<StudyFile['quick']> & {
  models?: Record<string, Record<string, unknown>>;
  max_lr?: Partial<MaxLrSection>;
  max_lr_models?: Record<string, Partial<MaxLrSection>>;
  curves?: Partial<CurvesSection>;
};

/** A max-lr study file: StudyFile plus `models`, `max_lr` and `curves`. */
export interface MaxLrStudyFile extends StudyFile {
  models?: Record<string, Record<string, unknown>>;
  max_lr: MaxLrSection;
  /** Per-model replacements of max_lr keys (e.g. another range for a slower model). */
  max_lr_models?: Record<string, Partial<MaxLrSection>>;
  curves?: CurvesSection;
  quick?: Quick;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
      ? merge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** One model × remedy: its config, or why the remedy does not apply to the model. */
export interface Cell {
  /** Run-directory prefix, e.g. `mlp_warmup-100`. */
  name: string;
  model: string;
  variant: string;
  config: Config | null;
  error: string | null;
  /** The search settings of this cell (max_lr with the model's replacements). */
  maxLr: Required<MaxLrSection>;
}

/** What a max-lr study runs, with the --quick reductions applied. */
export interface MaxLrPlan {
  models: string[];
  variants: string[];
  cells: Cell[];
  maxLr: Required<MaxLrSection>;
  curves: CurvesSection | null;
}

/** Reads the study file's sections (quick-reduced) into a plan. */
export function maxLrPlan(ctx: StudyContext): MaxLrPlan {
  const f = ctx.file as MaxLrStudyFile;
  const q: Quick = ctx.quick ? (f.quick ?? {}) : {};
  if (!f.max_lr) throw new Error(`studies/${f.name}.yaml: missing 'max_lr'`);
  const base = merge(f.base, q.base ?? {});
  const modelsIn = q.models ?? f.models ?? { model: {} };
  const variants = (q.grid?.variant ?? f.grid.variant ?? ['none']) as string[];
  const settings = (model: string | null): Required<MaxLrSection> => {
    const m = {
      ...f.max_lr, ...(q.max_lr ?? {}),
      ...(model !== null ? { ...(f.max_lr_models?.[model] ?? {}), ...(q.max_lr_models?.[model] ?? {}) } : {}),
    };
    return {
      lo: m.lo, hi: m.hi, grid_factor: m.grid_factor ?? 2, bisect_steps: m.bisect_steps ?? 1, seeds: m.seeds ?? 1,
      rule: m.rule ?? 'all', stop_train_loss: m.stop_train_loss ?? null, stop_train_acc: m.stop_train_acc ?? null, full_budget: m.full_budget ?? true,
    };
  };
  const maxLr = settings(null);
  const curves = f.curves || q.curves ? ({ ...(f.curves ?? {}), ...(q.curves ?? {}) } as CurvesSection) : null;
  const cells: Cell[] = [];
  const models = Object.keys(modelsIn);
  for (const model of models) {
    const input = merge(base, modelsIn[model] ?? {});
    for (const variant of variants) {
      const name = models.length > 1 ? `${model}_${variant}` : variant;
      try {
        cells.push({ name, model, variant, config: applyVariant(resolveConfig(input), variant), error: null, maxLr: settings(model) });
      } catch (e) {
        cells.push({ name, model, variant, config: null, error: (e as Error).message, maxLr: settings(model) });
      }
    }
  }
  return { models, variants, cells, maxLr, curves };
}

/** η of the curve runs of `model`. */
export function curveLr(curves: CurvesSection, model: string): number {
  const lr = typeof curves.lr === 'number' ? curves.lr : curves.lr[model];
  if (typeof lr !== 'number' || !(lr > 0)) throw new Error(`curves.lr: no learning rate for model '${model}'`);
  return lr;
}

/** At most `n` tasks at once, across every caller. */
function semaphore(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(f: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await f();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** The params recorded for each run of a max-lr study (also in sweep.json). */
export interface MaxLrRunParams {
  model: string;
  variant: string;
  kind: 'trial' | 'curve';
  'optimizer.lr': number;
  'train.seed': number;
  [key: string]: unknown;
}

function loadRun(name: string, dir: string, params: MaxLrRunParams): StudyRun {
  return { name, params, dir, config: new RunStore(dir).readConfig().config, summary: new RunStore(dir).readSummary()!, rows: readMetrics(join(dir, 'metrics.jsonl')).rows };
}

/** Runs the plan's searches and curve runs into ctx.out (finished runs are reused). */
export async function executeMaxLrStudy(ctx: StudyContext): Promise<StudyRun[]> {
  const plan = maxLrPlan(ctx);
  const limit = semaphore(Math.max(1, ctx.parallel));
  const threads = Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, ctx.parallel)));
  const runs: StudyRun[] = [];
  const results: Record<string, MaxLrResult | { error: string }> = {};
  const manifest: Array<{ index: number; name: string; params: MaxLrRunParams }> = [];
  const writeManifest = () => {
    const keys = [...(plan.models.length > 1 ? ['model'] : []), 'variant', 'kind', 'optimizer.lr'];
    const grid: Record<string, unknown[]> = {};
    for (const k of keys) grid[k] = [...new Set(manifest.map((m) => m.params[k]))];
    writeJsonAtomic(join(ctx.out, 'sweep.json'), { name: ctx.file.name, grid, runs: manifest });
  };
  const record = (name: string, params: MaxLrRunParams) => {
    manifest.push({ index: manifest.length, name, params });
    writeManifest();
  };
  const searches = plan.cells.map(async (cell) => {
    const m = cell.maxLr;
    if (cell.config === null) {
      results[cell.name] = { error: cell.error ?? 'not applicable' };
      ctx.log(`${cell.name}: skipped (${cell.error})`);
      return;
    }
    const config = cell.config;
    const nameOf = (lr: number, seed: number) => `${cell.name}_lr-${lr}_seed-${seed}`;
    const inner = configTrial(config, ctx.out, {
      threads, stopTrainLoss: m.stop_train_loss, stopTrainAcc: m.stop_train_acc, fullBudget: m.full_budget, name: nameOf,
    });
    const trial: Trial = (lr, seed) => limit(async () => {
      record(nameOf(lr, seed), { model: cell.model, variant: cell.variant, kind: 'trial', 'optimizer.lr': lr, 'train.seed': seed });
      return inner(lr, seed);
    });
    const r = await findMaxStableLr({
      trial, lo: m.lo, hi: m.hi, gridFactor: m.grid_factor, bisectSteps: m.bisect_steps, seeds: m.seeds, rule: m.rule, parallel: ctx.parallel,
      onTrial: (t) => ctx.log(`${cell.name}: η ${t.lr} seed ${t.seed}: ${t.stable ? 'stable' : 'unstable'} (${t.reason})`),
    });
    results[cell.name] = r;
    ctx.log(`${cell.name}: max stable η ${r.maxStableLr ?? '—'} (bracket ${r.bracket[0] ?? '—'} … ${r.bracket[1] ?? '—'})${r.note ? `; ${r.note}` : ''}`);
    for (const t of r.trials) runs.push(loadRun(nameOf(t.lr, t.seed), t.dir!, { model: cell.model, variant: cell.variant, kind: 'trial', 'optimizer.lr': t.lr, 'train.seed': t.seed, stable: t.stable, reason: t.reason }));
  });
  const curveRuns = plan.curves === null ? [] : plan.cells.filter((c) => c.config !== null).map(async (cell) => {
    const cv = plan.curves!;
    const lr = curveLr(cv, cell.model);
    const c = earlyCurvatureConfig(cell.config!, { earlyEvery: cv.early_every, earlySteps: cv.early_steps, every: cv.every, iters: cv.lanczos_iters });
    c.optimizer.lr = lr;
    c.train.steps = cv.steps;
    c.train.seed = 0;
    c.train.stop_train_loss = null;
    c.train.stop_train_acc = null;
    // Clamped to each model's training set (the Hessian is taken over at most all of it).
    const n = c.data.train_size;
    if (cv.samples !== undefined) c.curvature.samples = cv.samples === 'all' || n === 'all' ? cv.samples : Math.min(cv.samples, n);
    const config = resolveConfig(c);
    const name = `${cell.name}_curve`;
    const dir = join(ctx.out, name);
    const params: MaxLrRunParams = { model: cell.model, variant: cell.variant, kind: 'curve', 'optimizer.lr': lr, 'train.seed': 0 };
    await limit(async () => {
      record(name, params);
      const s = await runInChild(config, dir, { threads });
      ctx.log(`${name}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
    });
    runs.push(loadRun(name, dir, params));
  });
  await Promise.all([...searches, ...curveRuns]);
  writeJsonAtomic(join(ctx.out, 'max-lr.json'), { study: ctx.file.name, quick: ctx.quick, max_lr: Object.fromEntries(plan.cells.map((c) => [c.name, c.maxLr])), results });
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Evaluation helpers: everything recomputed from the run directories.

/** The max-lr outcome of one model × remedy, recomputed from its trial runs. */
export interface CellSummary {
  cell: string;
  model: string;
  variant: string;
  /** Why the remedy does not apply to the model (then everything else is null). */
  error: string | null;
  maxStableLr: number | null;
  /** Smallest unstable lr tried above maxStableLr. */
  upper: number | null;
  /** Mean test accuracy of the seeds at maxStableLr (at their last step). */
  testAcc: number | null;
  trials: number;
}

/** The trial runs' verdicts per lr (rule over seeds), then the largest stable lr and the smallest unstable above it. */
export async function summarizeCells(runs: readonly StudyRun[], ctx: StudyContext): Promise<CellSummary[]> {
  const plan = maxLrPlan(ctx);
  const out: CellSummary[] = [];
  for (const cell of plan.cells) {
    const m = cell.maxLr;
    if (cell.config === null) {
      out.push({ cell: cell.name, model: cell.model, variant: cell.variant, error: cell.error, maxStableLr: null, upper: null, testAcc: null, trials: 0 });
      continue;
    }
    const mine = runs.filter((r) => r.params.kind === 'trial' && r.params.model === cell.model && r.params.variant === cell.variant);
    const byLr = new Map<number, StudyRun[]>();
    for (const r of mine) byLr.set(r.params['optimizer.lr'] as number, [...(byLr.get(r.params['optimizer.lr'] as number) ?? []), r]);
    const need = seedsNeeded(m.rule, m.seeds);
    const verdicts: Array<{ lr: number; stable: boolean; runs: StudyRun[] }> = [];
    for (const [lr, rs] of byLr) {
      const judged = rs.map((r) => judgeRun(r.dir, { loss: m.stop_train_loss, acc: m.stop_train_acc, from: cell.config!.schedule.warmup_steps }));
      const ok = judged.filter((j) => j.stable).length;
      const bad = judged.length - ok;
      if (ok >= need) verdicts.push({ lr, stable: true, runs: rs.filter((_, i) => judged[i]!.stable) });
      else if (bad > m.seeds - need) verdicts.push({ lr, stable: false, runs: rs });
    }
    const stable = verdicts.filter((v) => v.stable).sort((a, b) => b.lr - a.lr);
    const best = stable[0] ?? null;
    const above = verdicts.filter((v) => !v.stable && (best === null || v.lr > best.lr)).map((v) => v.lr);
    let testAcc: number | null = null;
    if (best) {
      const accs: number[] = [];
      for (const r of best.runs) {
        const t = await finalTestMetrics(r.dir);
        if (t.test_acc !== null) accs.push(t.test_acc);
      }
      testAcc = accs.length > 0 ? accs.reduce((s, x) => s + x, 0) / accs.length : null;
    }
    out.push({ cell: cell.name, model: cell.model, variant: cell.variant, error: null, maxStableLr: best?.lr ?? null, upper: above.length > 0 ? Math.min(...above) : null, testAcc, trials: mine.length });
  }
  return out;
}

/** Early-curvature statistics of a cell's curve run. */
export interface CurveStats {
  cell: string;
  lr: number;
  /** λ1 at step 0. */
  lambda0: number | null;
  /** max over measured steps ≤ window of λ1/threshold (1 = at the boundary; threshold at that step's η). */
  maxRatio: number | null;
  /** max over the window of λ1·η_t. */
  maxLambdaEta: number | null;
  /** λ1 at the last measurement in the window. */
  lambdaEnd: number | null;
  /** The run's status (a curve run that diverged is evidence too). */
  status: string;
  points: number;
}

/** The curve run of each cell, summarized over its first `window` steps. */
export function curveStats(runs: readonly StudyRun[], window: number): Map<string, CurveStats> {
  const out = new Map<string, CurveStats>();
  for (const r of runs) {
    if (r.params.kind !== 'curve') continue;
    const e = earlyCurvature(r.rows, r.config, window);
    const cell = r.name.replace(/_curve$/, '');
    out.set(cell, {
      cell, lr: r.params['optimizer.lr'] as number,
      lambda0: e.find((p) => p.step === 0)?.value ?? null,
      maxRatio: e.length > 0 ? Math.max(...e.map((p) => p.ratio)) : null,
      maxLambdaEta: e.length > 0 ? Math.max(...e.map((p) => p.lambdaEta)) : null,
      lambdaEnd: e.length > 0 ? e[e.length - 1]!.value : null,
      status: r.summary.status,
      points: e.length,
    });
  }
  return out;
}

const f3 = (v: number | null | undefined) => (typeof v === 'number' ? String(Number(v.toPrecision(3))) : '—');

/** The max-stable-η table as Markdown (also written to max-lr.md by the evaluators). */
export function maxLrTable(cells: readonly CellSummary[], curves: Map<string, CurveStats>): string {
  const lines = ['| model | remedy | max stable η | next η tried (unstable) | test acc at that η | max early λ1/threshold | λ1 at step 0 | trials |', '|---|---|---|---|---|---|---|---|'];
  for (const c of cells) {
    const cv = curves.get(c.cell);
    if (c.error) lines.push(`| ${c.model} | ${c.variant} | n/a: ${c.error.replace(/\|/g, '/')} | | | | | 0 |`);
    else lines.push(`| ${c.model} | ${c.variant} | ${f3(c.maxStableLr)} | ${f3(c.upper)} | ${c.testAcc === null ? '—' : `${(100 * c.testAcc).toFixed(1)}%`} | ${f3(cv?.maxRatio)}${cv && cv.status === 'diverged' ? ' (diverged)' : ''} | ${f3(cv?.lambda0)} | ${c.trials} |`);
  }
  return lines.join('\n');
}

/**
 * Is remedy `r` better than `base`? 'raised' when r's largest stable η is at least `gain` × base's
 * and at least base's next unstable η (so the brackets do not overlap), 'not raised' when it is not
 * above base's, 'unclear' in between or when a value is missing.
 */
export function compareMaxLr(r: CellSummary, base: CellSummary, gain: number): 'raised' | 'not raised' | 'unclear' {
  if (r.maxStableLr === null && base.maxStableLr !== null) return 'not raised';
  if (r.maxStableLr === null || base.maxStableLr === null) return 'unclear';
  if (r.maxStableLr <= base.maxStableLr) return 'not raised';
  if (r.maxStableLr >= gain * base.maxStableLr && (base.upper === null || r.maxStableLr >= base.upper)) return 'raised';
  return 'unclear';
}

/** 'held' if every item is true, 'did not hold' if any is false, else 'inconclusive'. */
export function allOf(items: ReadonlyArray<boolean | null>): Verdict {
  if (items.length === 0) return 'inconclusive';
  if (items.some((x) => x === false)) return 'did not hold';
  return items.every((x) => x === true) ? 'held' : 'inconclusive';
}

// ---------------------------------------------------------------------------------------------
// Figures (shown after the claims table).

/** Early λ1/threshold of the curve runs (log y; 1 = the stability boundary), one line per cell. */
export function earlyRatioFigure(runs: readonly StudyRun[], window: number, o: { id?: string; title?: string } = {}): StudyFigure | null {
  const curves = runs.filter((r) => r.params.kind === 'curve');
  const series: Series[] = curves.map((r, i) => ({
    label: `${r.name.replace(/_curve$/, '')} (η ${r.params['optimizer.lr']}${r.summary.status === 'diverged' ? ', diverged' : ''})`,
    field: `y${i}`,
    points: earlyCurvature(r.rows, r.config, window).map((p) => ({ x: p.step, y: p.ratio })),
    color: PALETTE[i % PALETTE.length]!,
    showPoints: true,
    strokeWidth: 1.4,
  }));
  const spec = lineChart({
    title: o.title ?? 'Early sharpness relative to the stability threshold',
    subtitle: 'λ1 (λ1(P⁻¹H) for Adam) divided by the threshold at each step\'s η; dashed: 1, the boundary',
    xTitle: 'step', yTitle: 'λ1 / threshold', series, logY: true, legend: true,
    rules: [{ y: 1, color: THRESHOLD_COLOR, dash: DASH }],
  });
  return spec === null ? null : { id: o.id ?? 'early-ratio', title: 'Early λ1 / threshold', caption: `The common-η runs over their first ${window} steps: above 1 the update overshoots along the top eigenvector.`, spec };
}

/** The max stable η of every cell (dot) and the next η tried, unstable (end of the bar), log x. */
export function maxLrFigure(cells: readonly CellSummary[]): StudyFigure | null {
  const rows = cells.filter((c) => c.error === null && c.maxStableLr !== null).map((c) => ({ cell: `${c.model === 'model' ? '' : `${c.model} · `}${c.variant}`, lo: c.maxStableLr!, hi: c.upper ?? c.maxStableLr! }));
  if (rows.length === 0) return null;
  const y = { field: 'cell', type: 'nominal', title: null, sort: rows.map((r) => r.cell), axis: { labelLimit: 260 } };
  const x = { field: 'lo', type: 'quantitative', title: 'learning rate η (log scale)', scale: { type: 'log', nice: false, padding: 16 } };
  const spec = {
    ...frame('Largest stable learning rate per remedy', 'dot: largest stable η; bar: up to the next η tried, which did not train', { height: Math.max(160, 60 + 28 * rows.length) }),
    data: { values: rows },
    layer: [
      { mark: { type: 'rule', strokeWidth: 3, color: '#bbb' }, encoding: { y, x, x2: { field: 'hi' } } },
      { mark: { type: 'point', filled: true, size: 90, color: '#2ca02c' }, encoding: { y, x } },
      { mark: { type: 'text', dy: -12, fontSize: 10, color: '#2ca02c' }, encoding: { y, x, text: { field: 'lo', type: 'quantitative', format: '.3~g' } } },
    ],
  };
  return { id: 'max-stable-lr-bracket', title: 'Largest stable η per remedy', caption: 'From the trial runs: the largest η that trained (all/most seeds) and the smallest η above it that did not.', spec };
}

/** Both figures of a max-lr study. */
export async function maxLrStudyFigures(runs: StudyRun[], ctx: StudyContext): Promise<StudyFigure[]> {
  const plan = maxLrPlan(ctx);
  const cells = await summarizeCells(runs, ctx);
  return [maxLrFigure(cells), earlyRatioFigure(runs, plan.curves?.early_steps ?? 100)].filter((f): f is StudyFigure => f !== null);
}

// ---------------------------------------------------------------------------------------------
// The warmup study.

async function evaluateWarmup(runs: StudyRun[], ctx: StudyContext): Promise<ClaimResult[]> {
  const plan = maxLrPlan(ctx);
  const t = ctx.tolerances;
  const cells = await summarizeCells(runs, ctx);
  const window = plan.curves?.early_steps ?? 100;
  const curves = curveStats(runs, window);
  writeFileSync(join(ctx.out, 'max-lr.md'), `${maxLrTable(cells, curves)}\n`);
  const gain = t.min_lr_gain ?? 1;
  const drop = t.early_ratio_drop ?? 0;
  const claims: ClaimResult[] = [];
  const early: Array<boolean | null> = [];
  const earlyEv: string[] = [];
  const raise: Array<boolean | null> = [];
  const raiseEv: string[] = [];
  const values: Record<string, number | string | boolean | null> = {};
  for (const model of plan.models) {
    const mine = cells.filter((c) => c.model === model);
    const none = mine.find((c) => c.variant === 'none');
    if (!none) throw new Error(`studies/${ctx.file.name}.yaml: the variants must include 'none'`);
    const cvNone = curves.get(none.cell);
    values[`${model}.none.max_lr`] = none.maxStableLr;
    values[`${model}.none.max_early_ratio`] = cvNone?.maxRatio ?? null;
    for (const w of mine.filter((c) => c.variant !== 'none')) {
      const cvW = curves.get(w.cell);
      const cmp = compareMaxLr(w, none, gain);
      raise.push(cmp === 'raised' ? true : cmp === 'not raised' ? false : null);
      raiseEv.push(`${model}, ${w.variant}: max stable η ${f3(w.maxStableLr)} vs ${f3(none.maxStableLr)} without warmup (next unstable ${f3(w.upper)} vs ${f3(none.upper)}) → ${cmp}`);
      values[`${model}.${w.variant}.max_lr`] = w.maxStableLr;
      values[`${model}.${w.variant}.lr_gain`] = w.maxStableLr !== null && none.maxStableLr ? w.maxStableLr / none.maxStableLr : null;
      values[`${model}.${w.variant}.raised`] = cmp;
      if (cvNone?.maxRatio != null && cvW?.maxRatio != null) {
        const lower = cvW.maxRatio < (1 - drop) * cvNone.maxRatio;
        early.push(lower);
        earlyEv.push(`${model}, η = ${f3(cvW.lr)}: max over the first ${window} steps of λ1/threshold ${f3(cvW.maxRatio)} with ${w.variant} vs ${f3(cvNone.maxRatio)} without (λ1 at step 0: ${f3(cvNone.lambda0)}; with warmup λ1 at step ${window}: ${f3(cvW.lambdaEnd)}${cvNone.status === 'diverged' ? '; the run without warmup diverged' : ''})`);
        values[`${model}.${w.variant}.max_early_ratio`] = cvW.maxRatio;
      } else {
        early.push(null);
        earlyEv.push(`${model}, ${w.variant}: no early-curvature measurement`);
      }
    }
  }
  claims.push({
    claim: 'Warmup lowers the early sharpness λ1 relative to the stability threshold (2+2μ)/η (Gilmer et al. 2022).',
    evidence: `${earlyEv.join('; ')}. Held when every warmup run's max early λ1/threshold is below ${1 - drop} × the run without warmup.`,
    verdict: allOf(early), values: { ...values },
  });
  claims.push({
    claim: 'Warmup raises the largest learning rate that still trains.',
    evidence: `${raiseEv.join('; ')}. Raised = at least ${gain} × the max stable η without warmup and above its next unstable η (stable: ${targetText(plan.maxLr)}).`,
    verdict: allOf(raise), values,
  });
  return claims;
}

/** The stability rule in words, for evidence strings. */
export function targetText(m: Required<MaxLrSection>): string {
  const want = [m.stop_train_loss !== null ? `train loss ≤ ${m.stop_train_loss}` : '', m.stop_train_acc !== null ? `train acc ≥ ${m.stop_train_acc}` : ''].filter(Boolean).join(' or ');
  return `${want || 'no divergence'} after warmup, no divergence${m.full_budget ? ' over the whole budget' : ''}, ${m.rule === 'all' ? 'all' : 'a majority'} of ${m.seeds} seed${m.seeds > 1 ? 's' : ''}`;
}

export const warmupStudy: StudyDefinition = {
  name: 'warmup',
  execute: executeMaxLrStudy,
  evaluate: evaluateWarmup,
  figures: maxLrStudyFigures,
};

export default warmupStudy;
