/**
 * Study `warmup` (Gilmer et al. 2022, "A Loss Curvature Perspective on Training Instability"):
 * learning-rate warmup lowers the early sharpness relative to the stability threshold and raises
 * the largest learning rate that does not diverge.
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
import { deepMerge } from '../experiments/configPaths.ts';
import { runInChild } from '../experiments/childRun.ts';
import {
  applyVariant,
  classifyRun,
  createLimit,
  earlyCurvature,
  earlyCurvatureConfig,
  finalTestMetrics,
  resolveMaxLrSettings,
  runMaxLrExperiment,
  RunManifest,
  summarizeTrials,
  targetText as targetWords,
  type MaxLrCell,
  type MaxLrSettings,
  type MaxLrSettingsInput,
} from '../experiments/maxLr.ts';
import { DASH, frame, lineChart, PALETTE, THRESHOLD_COLOR, type Series } from '../report/spec.ts';
import { curvatureAfterWarmup, lowerAfterWarmup, verdictOf, type PostWarmupCurvature } from './claims/warmup.ts';
import { judgePaired, type PairedJudgement } from './stats.ts';
import { loadStudyRun } from './run.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyFile, StudyRun, Verdict } from './study.ts';
import { WARMUP_TOLERANCES, tolerancesOf } from './tolerances.ts';

// ---------------------------------------------------------------------------------------------
// The study file's extra sections.

/** `max_lr:` — the search (see src/experiments/maxLr.ts for the definitions). */
export type MaxLrSection = MaxLrSettingsInput;

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

/** One model × remedy: its config, or why the remedy does not apply to the model. */
export interface Cell {
  /** Run-directory prefix, e.g. `mlp_warmup-100`. */
  name: string;
  model: string;
  variant: string;
  config: Config | null;
  error: string | null;
  /** The search settings of this cell (max_lr with the model's replacements). */
  maxLr: MaxLrSettings;
}

/** What a max-lr study runs, with the --quick reductions applied. */
export interface MaxLrPlan {
  models: string[];
  variants: string[];
  cells: Cell[];
  maxLr: MaxLrSettings;
  curves: CurvesSection | null;
}

/** Reads the study file's sections (quick-reduced) into a plan. */
export function maxLrPlan(ctx: Pick<StudyContext, 'file' | 'quick'>): MaxLrPlan {
  const f = ctx.file as MaxLrStudyFile;
  const q: Quick = ctx.quick ? (f.quick ?? {}) : {};
  if (!f.max_lr) throw new Error(`studies/${f.name}.yaml: missing 'max_lr'`);
  const base = deepMerge(f.base, q.base ?? {});
  const modelsIn = q.models ?? f.models ?? { model: {} };
  const variants = (q.grid?.variant ?? f.grid.variant ?? ['none']) as string[];
  const settings = (model: string | null): MaxLrSettings =>
    resolveMaxLrSettings({
      ...f.max_lr,
      ...(q.max_lr ?? {}),
      ...(model !== null ? { ...(f.max_lr_models?.[model] ?? {}), ...(q.max_lr_models?.[model] ?? {}) } : {}),
    });
  const maxLr = settings(null);
  const curves = f.curves || q.curves ? ({ ...(f.curves ?? {}), ...(q.curves ?? {}) } as CurvesSection) : null;
  const cells: Cell[] = [];
  const models = Object.keys(modelsIn);
  for (const model of models) {
    const input = deepMerge(base, modelsIn[model] ?? {});
    for (const variant of variants) {
      const name = models.length > 1 ? `${model}_${variant}` : variant;
      try {
        cells.push({
          name,
          model,
          variant,
          config: applyVariant(resolveConfig(input), variant),
          error: null,
          maxLr: settings(model),
        });
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

/** The params recorded for each run of a max-lr study (also in sweep.json). */
export interface MaxLrRunParams {
  model: string;
  variant: string;
  kind: 'trial' | 'curve';
  'optimizer.lr': number;
  'train.seed': number;
  [key: string]: unknown;
}

/** Runs the plan's searches (the max-lr experiment) and curve runs into ctx.out (finished runs are reused). */
export async function executeMaxLrStudy(ctx: StudyContext): Promise<StudyRun[]> {
  const plan = maxLrPlan(ctx);
  const parallel = Math.max(1, ctx.parallel);
  const limit = createLimit(parallel);
  const threads = Math.max(1, Math.floor(os.availableParallelism() / parallel));
  const runs: StudyRun[] = [];
  const manifest = new RunManifest(ctx.out, ctx.file.name, [
    ...(plan.models.length > 1 ? ['model'] : []),
    'variant',
    'kind',
    'optimizer.lr',
  ]);
  const record = (name: string, params: MaxLrRunParams) => manifest.record(name, params);
  const cells: MaxLrCell[] = plan.cells.map((c) => ({
    name: c.name,
    params: { model: c.model, variant: c.variant },
    config: c.config,
    error: c.error,
    settings: c.maxLr,
  }));
  const searches = runMaxLrExperiment({
    out: ctx.out,
    name: ctx.file.name,
    cells,
    parallel,
    threads,
    limit,
    manifest,
    log: ctx.log,
    meta: { study: ctx.file.name, quick: ctx.quick },
  }).then(async (results) => {
    for (const r of results) {
      const cell = plan.cells.find((c) => c.name === r.cell)!;
      for (const t of r.result?.trials ?? []) {
        // The constant predictor the search classified against, so that evaluators classify collapsed trials alike.
        const chance = t.chance;
        // Test accuracy at the last step (from the checkpoint when it was not logged there), so that evaluators need only the runs.
        const test_acc = t.stable ? (await finalTestMetrics(t.dir!)).test_acc : null;
        runs.push(
          loadStudyRun(
            `${cell.name}_lr-${t.lr}_seed-${t.seed}`,
            {
              model: cell.model,
              variant: cell.variant,
              kind: 'trial',
              'optimizer.lr': t.lr,
              'train.seed': t.seed,
              stable: t.stable,
              outcome: t.outcome,
              reason: t.reason,
              test_acc,
              ...(chance ? { chance_acc: chance.acc, chance_loss: chance.loss } : {}),
            },
            t.dir!,
          ),
        );
      }
    }
  });
  const curveRuns =
    plan.curves === null
      ? []
      : plan.cells
          .filter((c) => c.config !== null)
          .map(async (cell) => {
            const cv = plan.curves!;
            const lr = curveLr(cv, cell.model);
            const c = earlyCurvatureConfig(cell.config!, {
              earlyEvery: cv.early_every,
              earlySteps: cv.early_steps,
              every: cv.every,
              iters: cv.lanczos_iters,
            });
            c.optimizer.lr = lr;
            c.train.steps = cv.steps;
            c.train.seed = 0;
            c.train.stop_train_loss = null;
            c.train.stop_train_acc = null;
            // Clamped to each model's training set (the Hessian is taken over at most all of it).
            const n = c.data.train_size;
            if (cv.samples !== undefined)
              c.curvature.samples = cv.samples === 'all' || n === 'all' ? cv.samples : Math.min(cv.samples, n);
            const config = resolveConfig(c);
            const name = `${cell.name}_curve`;
            const dir = join(ctx.out, name);
            const params: MaxLrRunParams = {
              model: cell.model,
              variant: cell.variant,
              kind: 'curve',
              'optimizer.lr': lr,
              'train.seed': 0,
            };
            await limit(async () => {
              record(name, params);
              const s = await runInChild(config, dir, { threads });
              ctx.log(`${name}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
            });
            runs.push(loadStudyRun(name, params, dir));
          });
  await Promise.all([searches, ...curveRuns]);
  writeFileSync(
    join(ctx.out, 'max-lr.md'),
    `${maxLrTable(summarizeCells(runs, ctx), curveStats(runs, plan.curves?.early_steps ?? 100))}\n`,
  );
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
  /** η_max: the largest lr that did not diverge (seed rule). */
  maxStableLr: number | null;
  /** Smallest unstable (diverged) lr tried above maxStableLr. */
  upper: number | null;
  /** The largest lr that reached the target (seed rule), and its median steps to the target. */
  maxTrainedLr: number | null;
  stepsToTarget: number | null;
  /** Mean test accuracy of the seeds at maxStableLr (at their last step). */
  testAcc: number | null;
  trials: number;
  /**
   * Each seed's own η_max: the largest η it was stable at below the smallest η it diverged at,
   * among the η the search tried (a lower bound where the search stopped early); seed → η or null.
   */
  seedMaxStableLr?: Readonly<Record<number, number | null>>;
}

/** Each seed's own η_max from its trials (see CellSummary.seedMaxStableLr). */
export function seedMaxStable(
  trials: readonly { lr: number; stable: boolean; seed: number }[],
): Record<number, number | null> {
  const out: Record<number, number | null> = {};
  for (const seed of [...new Set(trials.map((t) => t.seed))].sort((a, b) => a - b)) {
    const mine = trials.filter((t) => t.seed === seed);
    const firstBad = Math.min(...mine.filter((t) => !t.stable).map((t) => t.lr));
    const ok = mine.filter((t) => t.stable && t.lr < firstBad).map((t) => t.lr);
    out[seed] = ok.length > 0 ? Math.max(...ok) : null;
  }
  return out;
}

/**
 * `r`'s η_max over `base`'s, seed by seed, as log2 ratios judged with judgePaired (effect, t-interval,
 * exact sign-flip p, n; held needs a ratio ≥ `gain`): evidence next to the seed-rule comparison.
 */
export function pairedMaxLr(
  r: CellSummary,
  base: CellSummary,
  gain: number,
  o: { equivalence?: boolean } = {},
): PairedJudgement | null {
  const a = r.seedMaxStableLr ?? {};
  const b = base.seedMaxStableLr ?? {};
  const d: number[] = [];
  for (const k of Object.keys(a)) {
    const x = a[Number(k)];
    const y = b[Number(k)];
    if (typeof x === 'number' && typeof y === 'number') d.push(Math.log2(x / y));
  }
  if (d.length === 0) return null;
  // equivalence: also a TOST test of |log2 ratio| < log2(gain) ("about the same").
  return judgePaired(d, 'positive', f3, {
    minEffect: Math.log2(gain),
    ...(o.equivalence ? { margin: Math.log2(gain) } : {}),
  });
}

/**
 * The trial runs classified again (classifyRun), summarized per cell (summarizeTrials): a pure
 * function of the loaded runs; `testAcc` is the mean of the trials' `test_acc` params (attached
 * by executeMaxLrStudy from their last checkpoints) at η_max.
 */
export function summarizeCells(runs: readonly StudyRun[], ctx: Pick<StudyContext, 'file' | 'quick'>): CellSummary[] {
  const plan = maxLrPlan(ctx);
  const out: CellSummary[] = [];
  for (const cell of plan.cells) {
    const m = cell.maxLr;
    if (cell.config === null) {
      out.push({
        cell: cell.name,
        model: cell.model,
        variant: cell.variant,
        error: cell.error,
        maxStableLr: null,
        upper: null,
        maxTrainedLr: null,
        stepsToTarget: null,
        testAcc: null,
        trials: 0,
      });
      continue;
    }
    const mine = runs.filter(
      (r) => r.params.kind === 'trial' && r.params.model === cell.model && r.params.variant === cell.variant,
    );
    const judged = mine.map((r) => {
      const ca = r.params.chance_acc;
      const cl = r.params.chance_loss;
      return {
        run: r,
        lr: r.params['optimizer.lr'] as number,
        ...classifyRun(r, {
          loss: m.stop_train_loss,
          acc: m.stop_train_acc,
          from: cell.config!.schedule.warmup_steps,
          spike: m.spike,
          ...(typeof ca === 'number' ? { chance: { acc: ca, loss: typeof cl === 'number' ? cl : null } } : {}),
        }),
      };
    });
    const s = summarizeTrials(judged, m.rule, m.seeds);
    const accs = judged
      .filter((x) => x.lr === s.maxStableLr && x.stable)
      .map((x) => x.run.params.test_acc)
      .filter((a): a is number => typeof a === 'number');
    const testAcc = accs.length > 0 ? accs.reduce((a, x) => a + x, 0) / accs.length : null;
    const fit = s.maxTrainedLr === null ? null : (s.lrs.find((l) => l.lr === s.maxTrainedLr)?.stepsToTarget ?? null);
    out.push({
      cell: cell.name,
      model: cell.model,
      variant: cell.variant,
      error: null,
      maxStableLr: s.maxStableLr,
      upper: s.upper,
      maxTrainedLr: s.maxTrainedLr,
      stepsToTarget: fit,
      testAcc,
      trials: mine.length,
      seedMaxStableLr: seedMaxStable(
        judged.map((x) => ({
          lr: x.lr,
          stable: x.stable,
          seed: Number(x.run.params['train.seed'] ?? x.run.config.train.seed),
        })),
      ),
    });
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
      cell,
      lr: r.params['optimizer.lr'] as number,
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

/** A number for the max-lr studies' evidence text and tables: 3 significant digits, '—' for none. */
export const f3 = (v: number | null | undefined): string =>
  typeof v === 'number' ? String(Number(v.toPrecision(3))) : '—';

/** The max-stable-η table as Markdown (also written to max-lr.md by executeMaxLrStudy). */
export function maxLrTable(cells: readonly CellSummary[], curves: Map<string, CurveStats>): string {
  const lines = [
    '| model | remedy | η_max (no divergence) | next η tried (diverged) | largest η at the target (median steps) | test acc at η_max | max early λ1/threshold | λ1 at step 0 | trials |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of cells) {
    const cv = curves.get(c.cell);
    if (c.error) lines.push(`| ${c.model} | ${c.variant} | n/a: ${c.error.replace(/\|/g, '/')} | | | | | | 0 |`);
    else
      lines.push(
        `| ${c.model} | ${c.variant} | ${f3(c.maxStableLr)} | ${f3(c.upper)} | ${c.maxTrainedLr === null ? '—' : `${f3(c.maxTrainedLr)} (${f3(c.stepsToTarget)})`} | ${c.testAcc === null ? '—' : `${(100 * c.testAcc).toFixed(1)}%`} | ${f3(cv?.maxRatio)}${cv && cv.status === 'diverged' ? ' (diverged)' : ''} | ${f3(cv?.lambda0)} | ${c.trials} |`,
      );
  }
  return lines.join('\n');
}

/**
 * Is remedy `r` better than `base`? 'raised' when r's largest stable η is at least `gain` × base's
 * and at least base's next unstable η (so the brackets do not overlap), 'not raised' when it is not
 * above base's, 'unclear' in between, when a value is missing or when neither diverged in the range.
 */
export function compareMaxLr(r: CellSummary, base: CellSummary, gain: number): 'raised' | 'not raised' | 'unclear' {
  if (r.maxStableLr === null && base.maxStableLr !== null) return 'not raised';
  if (r.maxStableLr === null || base.maxStableLr === null) return 'unclear';
  // Neither diverged within the search range: both η_max are its top (censored), not a tie.
  if (r.upper === null && base.upper === null && r.maxStableLr === base.maxStableLr) return 'unclear';
  if (r.maxStableLr <= base.maxStableLr) return 'not raised';
  if (r.maxStableLr >= gain * base.maxStableLr && (base.upper === null || r.maxStableLr >= base.upper)) return 'raised';
  return 'unclear';
}

/** 'held' if every item is true, 'did not hold' if any is false, else 'inconclusive' (claims/warmup.ts's verdictOf). */
export const allOf: (items: ReadonlyArray<boolean | null>) => Verdict = verdictOf;

/** What the max-lr evaluators start from: the plan, the cells' summaries, the early window (steps; `curves.early_steps`, else `defaultWindow`) and the curve runs' statistics over it. */
export function maxLrEvidence(
  runs: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick'>,
  defaultWindow = 100,
): { plan: MaxLrPlan; cells: CellSummary[]; window: number; curves: Map<string, CurveStats> } {
  const plan = maxLrPlan(ctx);
  const window = plan.curves?.early_steps ?? defaultWindow;
  return { plan, cells: summarizeCells(runs, ctx), window, curves: curveStats(runs, window) };
}

/**
 * The curve runs of cells `ref` and `cell`, each run's λ1/threshold over the same `window` steps
 * after the longer warmup of the two (both at the full η; claims/warmup.ts): [ref, cell], or null
 * when either curve run is missing.
 */
export function curvesAfterWarmup(
  runs: readonly StudyRun[],
  ref: string,
  cell: string,
  window: number,
): [PostWarmupCurvature, PostWarmupCurvature] | null {
  const find = (c: string) => runs.find((r) => r.params.kind === 'curve' && r.name === `${c}_curve`);
  const a = find(ref);
  const b = find(cell);
  if (!a || !b) return null;
  const asWarmup = (r: StudyRun) => ({
    name: r.name,
    rows: r.rows,
    warmup: r.config.schedule.warmup_steps,
    status: r.summary.status,
  });
  const [pa, pb] = curvatureAfterWarmup([asWarmup(a), asWarmup(b)], window);
  return [pa!, pb!];
}

// ---------------------------------------------------------------------------------------------
// Figures (shown after the claims table).

/** Early λ1/threshold of the curve runs (log y; 1 = the stability boundary), one line per cell. */
export function earlyRatioFigure(
  runs: readonly StudyRun[],
  window: number,
  o: { id?: string; title?: string } = {},
): StudyFigure | null {
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
    subtitle: "λ1 (λ1(P⁻¹H) for Adam) divided by the threshold at each step's η; dashed: 1, the boundary",
    xTitle: 'step',
    yTitle: 'λ1 / threshold',
    series,
    logY: true,
    legend: true,
    rules: [{ y: 1, color: THRESHOLD_COLOR, dash: DASH }],
  });
  return spec === null
    ? null
    : {
        id: o.id ?? 'early-ratio',
        title: 'Early λ1 / threshold',
        caption: `The common-η runs over their first ${window} steps: above 1 the update overshoots along the top eigenvector.`,
        spec,
      };
}

/** The max stable η of every cell (dot) and the next η tried, unstable (end of the bar), log x. */
export function maxLrFigure(cells: readonly CellSummary[]): StudyFigure | null {
  const rows = cells
    .filter((c) => c.error === null && c.maxStableLr !== null)
    .map((c) => ({
      cell: `${c.model === 'model' ? '' : `${c.model} · `}${c.variant}`,
      lo: c.maxStableLr!,
      hi: c.upper ?? c.maxStableLr!,
    }));
  if (rows.length === 0) return null;
  const y = { field: 'cell', type: 'nominal', title: null, sort: rows.map((r) => r.cell), axis: { labelLimit: 260 } };
  const x = {
    field: 'lo',
    type: 'quantitative',
    title: 'learning rate η (log scale)',
    scale: { type: 'log', nice: false, padding: 16 },
  };
  const spec = {
    ...frame(
      'Largest stable learning rate per remedy',
      'dot: largest stable η; bar: up to the next η tried, which diverged',
      { height: Math.max(160, 60 + 28 * rows.length) },
    ),
    data: { values: rows },
    layer: [
      { mark: { type: 'rule', strokeWidth: 3, color: '#bbb' }, encoding: { y, x, x2: { field: 'hi' } } },
      { mark: { type: 'point', filled: true, size: 90, color: '#2ca02c' }, encoding: { y, x } },
      {
        mark: { type: 'text', dy: -12, fontSize: 10, color: '#2ca02c' },
        encoding: { y, x, text: { field: 'lo', type: 'quantitative', format: '.3~g' } },
      },
    ],
  };
  return {
    id: 'max-stable-lr-bracket',
    title: 'Largest stable η per remedy',
    caption:
      'From the trial runs: the largest η that did not diverge (all/most seeds) and the smallest η above it that did.',
    spec,
  };
}

/** Both figures of a max-lr study. */
export function maxLrStudyFigures(runs: StudyRun[], ctx: Pick<StudyContext, 'file' | 'quick'>): StudyFigure[] {
  const plan = maxLrPlan(ctx);
  const cells = summarizeCells(runs, ctx);
  return [maxLrFigure(cells), earlyRatioFigure(runs, plan.curves?.early_steps ?? 100)].filter(
    (f): f is StudyFigure => f !== null,
  );
}

// ---------------------------------------------------------------------------------------------
// The warmup study.

/** The warmup claims: a pure function of the loaded runs. */
export function evaluateWarmup(
  runs: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const { plan, cells, window, curves } = maxLrEvidence(runs, ctx);
  const t = tolerancesOf(WARMUP_TOLERANCES, ctx.tolerances);
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
      const paired = pairedMaxLr(w, none, gain);
      raiseEv.push(
        `${model}, ${w.variant}: max stable η ${f3(w.maxStableLr)} vs ${f3(none.maxStableLr)} without warmup (next unstable ${f3(w.upper)} vs ${f3(none.upper)}) → ${cmp}${paired ? `; per seed, log2 of the η_max ratio ${paired.text} (${paired.verdict} by the paired test)` : ''}`,
      );
      values[`${model}.${w.variant}.lr_gain_log2_seed_mean`] = paired?.cmp.mean ?? null;
      values[`${model}.${w.variant}.lr_gain_p`] = paired?.cmp.pValue ?? null;
      values[`${model}.${w.variant}.max_lr`] = w.maxStableLr;
      values[`${model}.${w.variant}.lr_gain`] =
        w.maxStableLr !== null && none.maxStableLr ? w.maxStableLr / none.maxStableLr : null;
      values[`${model}.${w.variant}.raised`] = cmp;
      // Compared after the longest warmup ends, both runs at the full η (inside the warmup
      // λ1/threshold is divided by a threshold at a tiny η_t: small whatever λ1 does).
      const pair = curvesAfterWarmup(runs, none.cell, w.cell, window);
      if (pair) {
        const [pn, pw] = pair;
        const lower = lowerAfterWarmup(pw, pn, drop);
        early.push(lower);
        earlyEv.push(
          `${model}, η = ${f3(cvW?.lr)}: max λ1/threshold over steps ${pw.from}–${pw.to} (after the longest warmup, both at the full η) ${f3(pw.maxRatio)} with ${w.variant} (${pw.points} measurements) vs ${f3(pn.maxRatio)} without (${pn.points})${pn.diverged ? '; the run without warmup diverged before the window ended' : ''}; inside the first ${window} steps (not judged): ${f3(cvW?.maxRatio)} vs ${f3(cvNone?.maxRatio)}`,
        );
        values[`${model}.${w.variant}.max_early_ratio`] = cvW?.maxRatio ?? null;
        values[`${model}.${w.variant}.max_ratio_after_warmup`] = pw.maxRatio;
        values[`${model}.none.max_ratio_after_warmup.${w.variant}`] = pn.maxRatio;
      } else {
        early.push(null);
        earlyEv.push(`${model}, ${w.variant}: no early-curvature measurement`);
      }
    }
  }
  claims.push({
    claim: 'Warmup lowers the early sharpness λ1 relative to the stability threshold (2+2μ)/η (Gilmer et al. 2022).',
    evidence: `${earlyEv.join('; ')}. Held when, over the same ${window} steps right after the longest warmup, every warmup run's max λ1/threshold is below ${1 - drop} × the run without warmup's.`,
    verdict: allOf(early),
    values: { ...values },
  });
  claims.push({
    claim: 'Warmup raises the largest learning rate that does not diverge.',
    evidence: `${raiseEv.join('; ')}. Raised = at least ${gain} × the max stable η without warmup and above its next unstable η (stable: ${targetText(plan.maxLr)}); the verdict follows that seed rule, the per-seed paired test (each seed's own η_max among the η tried) is reported beside it.`,
    verdict: allOf(raise),
    values,
  });
  return claims;
}

/** The stability rule in words, for evidence strings. */
export function targetText(m: MaxLrSettings): string {
  const want = targetWords({ loss: m.stop_train_loss, acc: m.stop_train_acc });
  return `no divergence${m.full_budget ? ' over the whole budget' : ''}, ${m.rule === 'all' ? 'all' : 'a majority'} of ${m.seeds} seed${m.seeds > 1 ? 's' : ''}; fitting (${want || 'a falling train loss'} after warmup) is reported separately`;
}

export const warmupStudy: StudyDefinition = {
  name: 'warmup',
  execute: executeMaxLrStudy,
  evaluate: evaluateWarmup,
  figures: maxLrStudyFigures,
};

export default warmupStudy;
