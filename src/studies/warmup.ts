/**
 * Study `warmup` (Gilmer et al. 2022, "A Loss Curvature Perspective on Training Instability"):
 * learning-rate warmup lowers the early sharpness relative to the stability threshold and raises
 * the largest learning rate that does not diverge.
 *
 * This module also holds the machinery the other max-lr studies (`interventions`) share: a study
 * file names base models (`models:`, merged over `base:`) and remedies (`grid.variant`, names as
 * in `edgewise max-lr --variants`), the search settings (`max_lr:`) and the early-curvature runs
 * (`curves:`), each with a `quick:` reduction. `executeMaxLrStudy` runs, for every model ×
 * remedy, a max-stable-lr search (each trial a run directory `<cell>_lr-<η>_seed-<s>`; with
 * `max_lr.per_seed` one search per seed), then, once a model's searches are done, one run per
 * remedy at a common η with dense early curvature (`<cell>_curve`). The common η is chosen from the
 * measured η_max (`commonCurveLr`: `curves.lr_fraction` × the smallest per-seed η_max of the
 * compared remedies) unless `curves.lr` fixes it. All runs share `parallel` child processes. It
 * writes sweep.json (so `edgewise report` groups the runs), max-lr.json (with the common η and why)
 * and max-lr.md. The claims are computed again from the run directories by the evaluators.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as os from 'node:os';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { deepMerge } from '../experiments/configPaths.ts';
import { normalizedWeightGrowth } from '../experiments/normGrowth.ts';
import { runInChild } from '../experiments/childRun.ts';
import {
  applyVariant,
  classifyRun,
  constantPredictorOf,
  createLimit,
  earlyCurvature,
  earlyCurvatureConfig,
  finalTestMetrics,
  resolveMaxLrSettings,
  runMaxLrExperiment,
  RunManifest,
  summarizePerSeed,
  summarizeTrials,
  seedBrackets,
  targetText as targetWords,
  writeMaxLrFile,
  type MaxLrCell,
  type SeedBracket,
  type MaxLrSettings,
  type MaxLrSettingsInput,
} from '../experiments/maxLr.ts';
import { frame } from '../report/spec.ts';
import { medianBandFigure } from './figures.ts';
import { median } from './measures.ts';
import {
  curvatureAfterWarmup,
  curvatureAtFullLr,
  rowRatio,
  verdictOf,
  type PostWarmupCurvature,
} from './claims/warmup.ts';
import { ALPHA, equivalence, judgePaired, pairedComparison, pairedText, type PairedJudgement } from './stats.ts';
import { loadStudyRun } from './run.ts';
import { FOLLOW_UP, followUpOf, freshSeeds, isFollowUp } from './followUp.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyFile, StudyRun, Verdict } from './study.ts';
import { WARMUP_TOLERANCES, tolerancesOf } from './tolerances.ts';

// ---------------------------------------------------------------------------------------------
// The study file's extra sections.

/** `max_lr:` — the search (see src/experiments/maxLr.ts for the definitions). */
export type MaxLrSection = MaxLrSettingsInput;

/** `curves:` — one run per model × remedy at a common η with dense early curvature. */
export interface CurvesSection {
  /** η of the curve runs, fixed: one number, or one per model name (overrides lr_fraction). */
  lr?: number | Record<string, number>;
  /** η of the curve runs = this × the smallest per-seed η_max of the compared remedies (commonCurveLr). */
  lr_fraction?: number;
  /** One η for every model (the smallest of the models' common η), for claims that compare models. */
  shared?: boolean;
  steps: number;
  early_every?: number;
  early_steps?: number;
  every?: number;
  lanczos_iters?: number;
  /** Training samples the Hessian is taken over. */
  samples?: number | 'all';
  /** Curve runs per cell, seeds first_seed..first_seed+seeds−1 (default 1): the curvature claims pair them by seed. */
  seeds?: number;
  /** The first curve seed (default 0): fresh seeds for a comparison rule fixed after earlier seeds were seen. */
  first_seed?: number;
  /**
   * Where a warmup run's early window starts when it is compared with a run without (default
   * after_longer_warmup): both runs over the same steps after the longer warmup ends, or each
   * run's own first steps at the full η (at_full_lr: steps 0–W without warmup, W_w–W_w+W with).
   */
  align?: CurveAlign;
  /**
   * Which cells get curve runs (default all): 'compared' = none and the remedies the common η is
   * chosen from (median η_max at least none's), the only ones a curvature claim can compare.
   */
  cells?: 'all' | 'compared';
}

/** See CurvesSection.align. */
export type CurveAlign = 'after_longer_warmup' | 'at_full_lr';

/** The curve seeds of a plan: first_seed, first_seed + 1, … (curves.seeds of them). */
export const curveSeedsOf = (curves: CurvesSection | null): number[] =>
  curves === null ? [] : Array.from({ length: curves.seeds ?? 1 }, (_, i) => (curves.first_seed ?? 0) + i);

/** The runs without curve runs of seeds the plan does not run (e.g. seeds seen before a rule was fixed). */
export function plannedRuns<R extends StudyRun>(runs: readonly R[], curves: CurvesSection | null): R[] {
  const seeds = new Set(curveSeedsOf(curves));
  return runs.filter((r) => r.params.kind !== 'curve' || seeds.has(curveSeed(r)));
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

/**
 * Follow-up curve runs (followUp.ts) of a max-lr study: the cells of `variants` (every model) at
 * the common η the study's own searches chose, on fresh `seeds`, judged at `alpha` where the study's
 * curve seeds left a curvature comparison undecided. No searches: their η_max is not measured.
 */
export interface MaxLrFollowUp {
  variants: string[];
  seeds: number[];
  alpha: number;
}

/** What a max-lr study runs, with the --quick reductions applied. */
export interface MaxLrPlan {
  models: string[];
  variants: string[];
  cells: Cell[];
  maxLr: MaxLrSettings;
  curves: CurvesSection | null;
  followUp: MaxLrFollowUp | null;
}

/** The study file's follow_up as curve runs: grid keys `variant` and `train.seed` only, remedies of the grid, seeds fresh. */
function maxLrFollowUp(
  f: StudyFile,
  quick: boolean,
  variants: readonly string[],
  curves: CurvesSection | null,
  searchSeeds: number,
): MaxLrFollowUp | null {
  const fu = followUpOf(f, quick);
  if (!fu) return null;
  const at = `studies/${f.name}.yaml: follow_up.grid`;
  const extra = Object.keys(fu.grid).filter((k) => k !== 'variant' && k !== 'train.seed');
  if (extra.length > 0)
    throw new Error(`${at}: unknown key '${extra[0]}' (a max-lr follow-up takes variant and train.seed)`);
  if (curves === null) throw new Error(`${at}: a max-lr follow-up reruns curve runs, and the study has no curves`);
  const vs = (fu.grid.variant ?? []) as unknown[];
  const bad = vs.filter((v) => typeof v !== 'string' || !variants.includes(v));
  if (vs.length === 0 || bad.length > 0)
    throw new Error(
      `${at}.variant: must list remedies of grid.variant (${variants.join(', ')}); got ${JSON.stringify(bad[0] ?? vs)}`,
    );
  const seeds = freshSeeds(f, fu, [...curveSeedsOf(curves), ...Array.from({ length: searchSeeds }, (_, i) => i)]);
  return { variants: vs as string[], seeds, alpha: fu.alpha };
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
  const followUp = maxLrFollowUp(f, ctx.quick, variants, curves, maxLr.seeds);
  return { models, variants, cells, maxLr, curves, followUp };
}

/** η of the curve runs of `model` when the study file fixes it (`curves.lr`), else null. */
export function curveLr(curves: CurvesSection, model: string): number | null {
  if (curves.lr === undefined) {
    if (curves.lr_fraction === undefined) throw new Error(`curves: needs lr_fraction (or a fixed lr)`);
    return null;
  }
  const lr = typeof curves.lr === 'number' ? curves.lr : curves.lr[model];
  if (typeof lr !== 'number' || !(lr > 0)) throw new Error(`curves.lr: no learning rate for model '${model}'`);
  return lr;
}

/** The models' common η made one (`curves.shared`): the smallest of them, for every model, and why. */
export function shareCommonLr(each: readonly CommonLr[]): CommonLr[] {
  const lrs = each.filter((c) => c.lr !== null);
  if (lrs.length < each.length || lrs.length === 0) return each.map((c) => ({ ...c, lr: null }));
  const min = lrs.reduce((a, c) => (c.lr! < a.lr! ? c : a));
  return each.map((c) => ({
    ...c,
    lr: min.lr,
    text: `${min.text} for ${min.model}: the smallest over the models (${each.map((x) => `${x.model} ${f3(x.lr)}`).join(', ')}), one η for all`,
  }));
}

/** The common η of a model's curve runs and why (recorded in max-lr.json and each curve run's params). */
export interface CommonLr {
  model: string;
  /** null: no compared remedy had a stable η, so no curve runs. */
  lr: number | null;
  /** 'fixed' (curves.lr) or 'measured' (lr_fraction × the smallest per-seed η_max). */
  rule: 'fixed' | 'measured';
  fraction: number | null;
  /** The smallest per-seed η_max of the compared remedies, the cell and seed it came from. */
  minMaxLr: number | null;
  from: string | null;
  /** The remedies whose η_max the common η is at or below. */
  compared: string[];
  text: string;
}

/**
 * The common η of `model`'s curve runs: `curves.lr` when the file fixes it; else lr_fraction × the
 * smallest per-seed η_max among the compared remedies: 'none' and every remedy whose η_max (median
 * over seeds) is at least none's (the remedies a curvature claim compares with none), so that no
 * compared run trains above any of its seeds' η_max.
 */
export function commonCurveLr(cells: readonly CellSummary[], model: string, curves: CurvesSection): CommonLr {
  const fixed = curveLr(curves, model);
  const mine = cells.filter((c) => c.model === model && c.error === null);
  const none = mine.find((c) => c.variant === 'none');
  const compared = mine.filter(
    (c) =>
      c === none ||
      (c.maxStableLr !== null && (none?.maxStableLr == null || c.maxStableLr >= none.maxStableLr)) ||
      none === undefined,
  );
  let minMaxLr: number | null = null;
  let from: string | null = null;
  for (const c of compared)
    for (const s of c.seeds ?? [])
      if (s.maxStableLr !== null && (minMaxLr === null || s.maxStableLr < minMaxLr)) {
        minMaxLr = s.maxStableLr;
        from = `${c.variant}, seed ${s.seed}`;
      }
  const names = compared.map((c) => c.variant);
  if (fixed !== null)
    return {
      model,
      lr: fixed,
      rule: 'fixed',
      fraction: null,
      minMaxLr,
      from,
      compared: names,
      text: `η = ${f3(fixed)}, fixed by the study file${minMaxLr !== null ? ` (smallest per-seed η_max of ${names.join(', ')}: ${f3(minMaxLr)}, ${from}${fixed > minMaxLr ? '; the common η lies ABOVE it' : ''})` : ''}`,
    };
  const fraction = curves.lr_fraction!;
  const lr = minMaxLr === null ? null : Number((fraction * minMaxLr).toPrecision(6));
  return {
    model,
    lr,
    rule: 'measured',
    fraction,
    minMaxLr,
    from,
    compared: names,
    text:
      lr === null
        ? `no common η: no per-seed η_max among ${names.join(', ')}`
        : `η = ${f3(lr)} = ${fraction} × the smallest per-seed η_max of ${names.join(', ')} (${f3(minMaxLr)}, ${from})`,
  };
}

/** The params recorded for each run of a max-lr study (also in sweep.json). */
export interface MaxLrRunParams {
  model: string;
  variant: string;
  kind: 'trial' | 'curve' | typeof FOLLOW_UP;
  'optimizer.lr': number;
  'train.seed': number;
  [key: string]: unknown;
}

/** The cells that get curve runs: those with a config and a common η; with `cells: compared`, only the compared ones. */
export function curveCells<C extends { model: string; variant: string; config: unknown }>(
  cells: readonly C[],
  common: ReadonlyMap<string, Pick<CommonLr, 'lr' | 'compared'>>,
  curves: Pick<CurvesSection, 'cells'>,
): C[] {
  return cells.filter((c) => {
    const basis = common.get(c.model);
    if (c.config === null || basis?.lr == null) return false;
    return curves.cells !== 'compared' || basis.compared.includes(c.variant);
  });
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
  const meta = { study: ctx.file.name, quick: ctx.quick };
  const results = await runMaxLrExperiment({
    out: ctx.out,
    name: ctx.file.name,
    cells,
    parallel,
    threads,
    limit,
    manifest,
    log: ctx.log,
    meta,
  });
  for (const r of results) {
    const cell = plan.cells.find((c) => c.name === r.cell)!;
    for (const t of r.result?.trials ?? []) {
      // The constant predictor the search classified against, so that evaluators classify collapsed trials alike.
      const chance = t.chance;
      // Test accuracy at the last step (from the checkpoint when it was not logged there), so that evaluators need only the runs.
      const test_acc = t.stable ? (await finalTestMetrics(t.dir!)).test_acc : null;
      // BatchNorm: how much the normalized weights grew (their effective η is η / growth at the end).
      const norm_growth =
        t.stable && cell.config?.model.norm === 'batchnorm' ? await normalizedWeightGrowth(t.dir!) : null;
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
            ...(norm_growth !== null ? { norm_growth } : {}),
            ...(chance ? { chance_acc: chance.acc, chance_loss: chance.loss } : {}),
          },
          t.dir!,
        ),
      );
    }
  }
  // The curve runs come after the searches: their common η is chosen from the measured η_max.
  const common = new Map<string, CommonLr>();
  if (plan.curves !== null) {
    const summaries = summarizeCells(runs, ctx);
    const each = plan.models.map((model) => commonCurveLr(summaries, model, plan.curves!));
    for (const c of plan.curves.shared ? shareCommonLr(each) : each) {
      common.set(c.model, c);
      ctx.log(`${c.model}: curve runs at ${c.text}`);
    }
    writeMaxLrFile(ctx.out, results, { ...meta, curves: Object.fromEntries(common) });
  }
  const curveSeeds = curveSeedsOf(plan.curves);
  // Follow-up curve runs (kind 'follow-up'): the follow-up's remedies at the same common η, fresh seeds.
  const fu = plan.followUp;
  const followUpCells =
    plan.curves === null || fu === null
      ? []
      : curveCells(plan.cells, common, { cells: 'all' }).filter((c) => fu.variants.includes(c.variant));
  const curveRuns =
    plan.curves === null
      ? []
      : [
          ...curveCells(plan.cells, common, plan.curves).flatMap((cell) =>
            curveSeeds.map((seed) => ({ cell, seed, kind: 'curve' as const })),
          ),
          ...followUpCells.flatMap((cell) => fu!.seeds.map((seed) => ({ cell, seed, kind: FOLLOW_UP }))),
        ].map(async ({ cell, seed, kind }) => {
          const cv = plan.curves!;
          const basis = common.get(cell.model)!;
          const lr = basis.lr!;
          const c = earlyCurvatureConfig(cell.config!, {
            earlyEvery: cv.early_every,
            earlySteps: cv.early_steps,
            every: cv.every,
            iters: cv.lanczos_iters,
          });
          c.optimizer.lr = lr;
          c.train.steps = cv.steps;
          c.train.seed = seed;
          c.train.stop_train_loss = null;
          c.train.stop_train_acc = null;
          // Clamped to each model's training set (the Hessian is taken over at most all of it).
          const n = c.data.train_size;
          if (cv.samples !== undefined)
            c.curvature.samples = cv.samples === 'all' || n === 'all' ? cv.samples : Math.min(cv.samples, n);
          const config = resolveConfig(c);
          const name = curveRunName(cell.name, seed);
          const dir = join(ctx.out, name);
          // The constant predictor, so that evaluators can tell a collapsed curve run.
          const chance = await constantPredictorOf(config);
          const params: MaxLrRunParams = {
            model: cell.model,
            variant: cell.variant,
            kind,
            'optimizer.lr': lr,
            'train.seed': seed,
            lr_rule: basis.text,
            ...(chance ? { chance_acc: chance.acc, chance_loss: chance.loss } : {}),
          };
          await limit(async () => {
            record(name, params);
            const s = await runInChild(config, dir, { threads });
            ctx.log(`${name}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
          });
          return loadStudyRun(name, params, dir);
        });
  // In plan order (cells, then seeds), not in the order they finish: figures list cells in the
  // order they first appear, so a fresh run and one that reuses its runs draw the same figure.
  runs.push(...(await Promise.all(curveRuns)));
  const lines = [...common.values()].map((c) => `- ${c.model}: curve runs at ${c.text}.`);
  writeFileSync(
    join(ctx.out, 'max-lr.md'),
    `${maxLrTable(summarizeCells(runs, ctx), curveStats(runs, plan.curves?.early_steps ?? 100))}\n${lines.length > 0 ? `\nCommon η of the early-curvature runs:\n\n${lines.join('\n')}\n` : ''}`,
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
  /** η_max: the largest lr that neither diverged nor collapsed (seed rule; per_seed: median over seeds, log η). */
  maxStableLr: number | null;
  /** Smallest unstable lr tried above maxStableLr (per_seed: median over seeds; null if a seed never was unstable). */
  upper: number | null;
  /** The largest lr that reached the target (seed rule), and its median steps to the target. */
  maxTrainedLr: number | null;
  stepsToTarget: number | null;
  /** Mean test accuracy of the seeds at maxStableLr (per_seed: each seed at its own η_max; at their last step). */
  testAcc: number | null;
  trials: number;
  /**
   * Each seed's own η_max: the largest η it was stable at below the smallest η it was unstable at,
   * among the η the search tried (a lower bound where the search stopped early); seed → η or null.
   */
  seedMaxStableLr?: Readonly<Record<number, number | null>>;
  /**
   * BatchNorm cells: each seed's effective η_max, its η_max over the growth of the normalized
   * weights' squared norm in that run (normGrowth.ts); seed → η or null.
   */
  seedEffectiveLr?: Readonly<Record<number, number | null>>;
  /** Each seed's test accuracy (0–1) at its own η_max, at the last step (per_seed only); seed → accuracy or null. */
  seedTestAcc?: Readonly<Record<number, number | null>>;
  /** Each seed's own bracket (seedBrackets), with how finely it is known. */
  seeds?: readonly SeedBracket[];
  /** The bracket ratio the search aims at (grid_factor^(1/2^bisect_steps)). */
  resolution?: number;
}

/** Each seed's own η_max from its trials (see CellSummary.seedMaxStableLr). */
export function seedMaxStable(
  trials: readonly { lr: number; stable: boolean; seed: number }[],
): Record<number, number | null> {
  return Object.fromEntries(seedBrackets(trials).map((b) => [b.seed, b.maxStableLr]));
}

/** The finest bracket ratio the search reaches: grid_factor^(1/2^bisect_steps) (one point per bisection round). */
export function searchResolution(m: MaxLrSettings): number {
  return m.grid_factor ** (1 / 2 ** m.bisect_steps);
}

/** How finely a cell's per-seed η_max are known, for evidence: the widest seed bracket, and the seeds coarser than `limit`. */
export function resolutionText(c: CellSummary, limit = 1.1): string {
  const seeds = c.seeds ?? [];
  if (seeds.length === 0) return `${c.variant}: no seeds`;
  const open = seeds.filter((s) => s.maxStableLr !== null && s.upper === null).map((s) => s.seed);
  const none = seeds.filter((s) => s.maxStableLr === null).map((s) => s.seed);
  const ratios = seeds.map((s) => s.ratio).filter((r): r is number => r !== null);
  const coarse = seeds.filter((s) => s.ratio !== null && s.ratio > limit * (1 + 1e-9));
  const parts = [
    ratios.length > 0 ? `widest seed bracket ${Math.max(...ratios).toFixed(3)}×` : '',
    coarse.length === 0
      ? ''
      : coarse.length === seeds.length
        ? `every seed coarser than ${limit}×`
        : `coarser than ${limit}×: seed ${coarse.map((s) => `${s.seed} (${s.ratio!.toFixed(2)}×)`).join(', ')}`,
    open.length > 0 ? `no divergence up to the top of the range (η_max a lower bound): seed ${open.join(', ')}` : '',
    none.length > 0 ? `nothing stable in the range: seed ${none.join(', ')}` : '',
  ].filter(Boolean);
  return `${c.variant}: ${parts.join('; ')}`;
}

/** The seeds with a number on both sides of two seed → value records, in the order of `a`'s keys. */
export function pairSeeds(
  a: Readonly<Record<number, number | null>>,
  b: Readonly<Record<number, number | null>>,
): Array<{ seed: number; x: number; y: number }> {
  const out: Array<{ seed: number; x: number; y: number }> = [];
  for (const k of Object.keys(a)) {
    const seed = Number(k);
    const x = a[seed];
    const y = b[seed];
    if (typeof x === 'number' && typeof y === 'number') out.push({ seed, x, y });
  }
  return out;
}

/** log2(r's η_max / base's), seed by seed (seeds with an η_max on both sides), and whether either side is a lower bound. */
export function seedLogRatios(r: CellSummary, base: CellSummary): { d: number[]; seeds: number[]; censored: number[] } {
  const open = (c: CellSummary, seed: number) => c.seeds?.find((s) => s.seed === seed)?.upper === null;
  const pairs = pairSeeds(r.seedMaxStableLr ?? {}, base.seedMaxStableLr ?? {});
  return {
    d: pairs.map((p) => Math.log2(p.x / p.y)),
    seeds: pairs.map((p) => p.seed),
    censored: pairs.filter((p) => open(r, p.seed) || open(base, p.seed)).map((p) => p.seed),
  };
}

/**
 * "r raises η_max over base", judged on each seed's own η_max paired by seed (log2 ratios; the
 * verdict rule of the max-lr studies): held when the exact sign-flip test gives p < α with a
 * positive mean and the geometric-mean ratio is ≥ `gain`; did not hold when p < α with a negative
 * mean, or when the TOST test shows |log2 ratio| < log2(gain) (no gain worth the name); else
 * inconclusive. A 'did not hold' that rests on a seed whose η_max is only a lower bound (no
 * divergence up to the top of the range) is inconclusive. null without any pair.
 */
export function pairedMaxLr(r: CellSummary, base: CellSummary, gain: number): PairedJudgement | null {
  const { d, censored } = seedLogRatios(r, base);
  if (d.length === 0) return null;
  const j = judgePaired(d, 'positive', f3, { minEffect: Math.log2(gain), margin: Math.log2(gain) });
  if (j.verdict === 'did not hold' && censored.length > 0)
    return {
      ...j,
      verdict: 'inconclusive',
      text: `${j.text}; seed ${censored.join(', ')} never became unstable in the range (η_max a lower bound)`,
    };
  return j;
}

/**
 * "`d` (per-seed log2 ratios) is not below −margin" (non-inferiority): held when the one-sided t
 * test of the TOST pair shows mean > −margin at α; did not hold when the exact sign-flip test of
 * d + margin gives p < α with a negative mean (the ratio lies below 2^−margin); else inconclusive.
 * `sign` −1 judges "not above +margin" instead (d is negated).
 */
export function judgeNotBelow(
  diffs: readonly number[],
  margin: number,
  sign: 1 | -1 = 1,
): { verdict: Verdict; text: string; mean: number; p: number } {
  const d = diffs.map((x) => sign * x);
  const eq = equivalence(d, margin);
  const shifted = pairedComparison(d.map((x) => x + margin));
  let verdict: Verdict = 'inconclusive';
  if (d.length >= 2) {
    if (eq.pLower < ALPHA) verdict = 'held';
    else if (shifted.pValue < ALPHA && shifted.mean < 0) verdict = 'did not hold';
  }
  const cmp = pairedComparison(diffs);
  const bound = f3(sign * -margin);
  const pl = Number.isFinite(eq.pLower) ? eq.pLower.toFixed(3) : 'n/a';
  const ps = Number.isFinite(shifted.pValue) ? shifted.pValue.toFixed(3) : 'n/a';
  return {
    verdict,
    mean: cmp.mean,
    p: eq.pLower,
    text: `${pairedText(cmp, f3)}; mean ${sign === 1 ? 'above' : 'below'} ${bound}: one-sided t p = ${pl}; mean different from ${bound}: sign-flip p = ${ps}`,
  };
}

/** A cell summary without measurements (a remedy the model cannot take: `error` says why). */
export function emptyCellSummary(cell: string, model: string, variant: string, error: string | null): CellSummary {
  return {
    cell,
    model,
    variant,
    error,
    maxStableLr: null,
    upper: null,
    maxTrainedLr: null,
    stepsToTarget: null,
    testAcc: null,
    trials: 0,
  };
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
      out.push(emptyCellSummary(cell.name, cell.model, cell.variant, cell.error));
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
    const seeded = judged.map((x) => ({
      ...x,
      seed: Number(x.run.params['train.seed'] ?? x.run.config.train.seed),
    }));
    const seeds = seedBrackets(seeded);
    const s = m.per_seed ? summarizePerSeed(seeded) : summarizeTrials(judged, m.rule, m.seeds);
    // Test accuracy at η_max: per_seed, each seed at its own η_max (its trial there, by seed).
    const atSeedMax = m.per_seed
      ? new Map(
          seeded
            .filter((x) => x.stable && seeds.find((b) => b.seed === x.seed)?.maxStableLr === x.lr)
            .map((x) => [x.seed, x] as const),
        )
      : null;
    const atMax = atSeedMax ? [...atSeedMax.values()] : judged.filter((x) => x.lr === s.maxStableLr && x.stable);
    const accOf = (x: (typeof judged)[number]): number | null =>
      typeof x.run.params.test_acc === 'number' ? x.run.params.test_acc : null;
    const accs = atMax.map(accOf).filter((a): a is number => a !== null);
    const testAcc = accs.length > 0 ? accs.reduce((a, x) => a + x, 0) / accs.length : null;
    const fit = s.maxTrainedLr === null ? null : (s.lrs.find((l) => l.lr === s.maxTrainedLr)?.stepsToTarget ?? null);
    /** seed → f(the seed's trial at its own η_max), null without one. */
    const perSeed = (f: (x: (typeof judged)[number]) => number | null): Record<number, number | null> =>
      Object.fromEntries(
        seeds.map((b) => {
          const at = atSeedMax?.get(b.seed);
          return [b.seed, at ? f(at) : null];
        }),
      );
    // BatchNorm: η_max over the growth of the normalized weights' squared norm in that trial.
    const effectiveLr = (x: (typeof judged)[number]): number | null =>
      typeof x.run.params.norm_growth === 'number' ? x.lr / x.run.params.norm_growth : null;
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
      seedMaxStableLr: Object.fromEntries(seeds.map((b) => [b.seed, b.maxStableLr])),
      ...(atSeedMax && cell.config.model.norm === 'batchnorm' ? { seedEffectiveLr: perSeed(effectiveLr) } : {}),
      ...(atSeedMax ? { seedTestAcc: perSeed(accOf) } : {}),
      seeds,
      resolution: searchResolution(m),
    });
  }
  return out;
}

/** Early-curvature statistics of a cell's curve runs: each a median over the seeds' runs. */
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
  /** 'diverged' when any seed's run diverged, else seed 0's status. */
  status: string;
  /** Measurements in the window (median over the runs). */
  points: number;
  /** Curve runs (seeds) and how many of them diverged. */
  runs: number;
  diverged: number;
}

/** Curve run name of a cell and seed (seed 0 keeps the name runs had before curve runs had seeds). */
export const curveRunName = (cell: string, seed: number): string =>
  seed === 0 ? `${cell}_curve` : `${cell}_curve_seed-${seed}`;

/** The cell of a curve run (`<cell>_curve` or `<cell>_curve_seed-N`). */
export const curveCell = (r: Pick<StudyRun, 'name'>): string => r.name.replace(/_curve(?:_seed-\d+)?$/, '');

/** The seed of a curve run. */
export const curveSeed = (r: StudyRun): number => Number(r.params['train.seed'] ?? r.config.train.seed);

/** The curve runs of `cell`, by seed, in seed order. */
export function curveRunsOf(runs: readonly StudyRun[], cell: string): Map<number, StudyRun> {
  const mine = runs.filter((r) => r.params.kind === 'curve' && curveCell(r) === cell);
  return new Map(mine.map((r) => [curveSeed(r), r] as const).sort((x, y) => x[0] - y[0]));
}

/** The median of the finite values (type-7 quantile), null without any. */
const medianOf = (xs: readonly (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
};

/** One curve run over its first `window` steps: max λ1/threshold, max λ1·η_t, λ1 at step 0 and at the last measurement. */
export function runCurveStats(r: StudyRun, window: number) {
  const e = earlyCurvature(r.rows, r.config, window);
  return {
    lambda0: e.find((p) => p.step === 0)?.value ?? null,
    maxRatio: e.length > 0 ? Math.max(...e.map((p) => p.ratio)) : null,
    maxLambdaEta: e.length > 0 ? Math.max(...e.map((p) => p.lambdaEta)) : null,
    lambdaEnd: e.length > 0 ? e[e.length - 1]!.value : null,
    points: e.length,
  };
}

/** The curve runs of each cell, summarized over their first `window` steps (medians over seeds). */
export function curveStats(runs: readonly StudyRun[], window: number): Map<string, CurveStats> {
  const out = new Map<string, CurveStats>();
  const cells = [...new Set(runs.filter((r) => r.params.kind === 'curve').map(curveCell))];
  for (const cell of cells) {
    const mine = [...curveRunsOf(runs, cell).values()];
    const st = mine.map((r) => runCurveStats(r, window));
    const diverged = mine.filter((r) => r.summary.status === 'diverged').length;
    out.set(cell, {
      cell,
      lr: mine[0]!.params['optimizer.lr'] as number,
      lambda0: medianOf(st.map((x) => x.lambda0)),
      maxRatio: medianOf(st.map((x) => x.maxRatio)),
      maxLambdaEta: medianOf(st.map((x) => x.maxLambdaEta)),
      lambdaEnd: medianOf(st.map((x) => x.lambdaEnd)),
      status: diverged > 0 ? 'diverged' : mine[0]!.summary.status,
      points: medianOf(st.map((x) => x.points)) ?? 0,
      runs: mine.length,
      diverged,
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
    '| model | remedy | η_max (neither diverged nor collapsed) | next η tried (unstable) | widest seed bracket | largest η at the target (median steps) | test acc at η_max | max early λ1/threshold | λ1 at step 0 | trials |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of cells) {
    const cv = curves.get(c.cell);
    const widest = Math.max(0, ...(c.seeds ?? []).map((b) => b.ratio ?? 0));
    if (c.error) lines.push(`| ${c.model} | ${c.variant} | n/a: ${c.error.replace(/\|/g, '/')} | | | | | | | 0 |`);
    else
      lines.push(
        `| ${c.model} | ${c.variant} | ${f3(c.maxStableLr)} | ${f3(c.upper)} | ${widest > 0 ? `${widest.toFixed(3)}×` : '—'} | ${c.maxTrainedLr === null ? '—' : `${f3(c.maxTrainedLr)} (${f3(c.stepsToTarget)})`} | ${c.testAcc === null ? '—' : `${(100 * c.testAcc).toFixed(1)}%`} | ${f3(cv?.maxRatio)}${cv && cv.status === 'diverged' ? ' (diverged)' : ''} | ${f3(cv?.lambda0)} | ${c.trials} |`,
      );
  }
  return lines.join('\n');
}

/** 'held' if every item is true, 'did not hold' if any is false, else 'inconclusive' (claims/warmup.ts's verdictOf). */
export const allOf: (items: ReadonlyArray<boolean | null>) => Verdict = verdictOf;

/** What the max-lr evaluators start from: the plan, the runs it plans (plannedRuns), the cells' summaries, the early window (steps; `curves.early_steps`, else `defaultWindow`) and the curve runs' statistics over it. */
export function maxLrEvidence(
  loaded: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick'>,
  defaultWindow = 100,
): {
  plan: MaxLrPlan;
  runs: StudyRun[];
  cells: CellSummary[];
  window: number;
  curves: Map<string, CurveStats>;
  followUp: { runs: StudyRun[]; alpha: number } | null;
} {
  const plan = maxLrPlan(ctx);
  const runs = plannedRuns(
    loaded.filter((r) => !isFollowUp(r)),
    plan.curves,
  );
  const window = plan.curves?.early_steps ?? defaultWindow;
  // Follow-up runs read as curve runs of their own seeds (curveRunsOf, failedCurves, lowerCurvature).
  const fuRuns = loaded.filter(isFollowUp).map((r) => ({ ...r, params: { ...r.params, kind: 'curve' } }));
  if (fuRuns.length > 0 && plan.followUp === null)
    throw new Error(`${fuRuns.length} follow-up runs, but studies/${ctx.file.name}.yaml declares no follow_up`);
  const followUp = plan.followUp && fuRuns.length > 0 ? { runs: fuRuns, alpha: plan.followUp.alpha } : null;
  return { plan, runs, cells: summarizeCells(runs, ctx), window, curves: curveStats(runs, window), followUp };
}

/**
 * The curve runs of cells `ref` and `cell` seed by seed, each run's λ1/threshold over `window`
 * steps at the full η (claims/warmup.ts): the same steps after the longer warmup of the two, or
 * with align 'at_full_lr' each run's own first steps at the full η, every `grid`-th step. One
 * [ref, cell] pair per seed that both cells have.
 */
export function pairedCurveWindows(
  runs: readonly StudyRun[],
  ref: string,
  cell: string,
  window: number,
  align: CurveAlign = 'after_longer_warmup',
  grid = 0,
): Array<{ seed: number; pair: [PostWarmupCurvature, PostWarmupCurvature] }> {
  const a = curveRunsOf(runs, ref);
  const b = curveRunsOf(runs, cell);
  const asWarmup = (r: StudyRun) => ({
    name: r.name,
    rows: r.rows,
    warmup: r.config.schedule.warmup_steps,
    status: r.summary.status,
  });
  const out: Array<{ seed: number; pair: [PostWarmupCurvature, PostWarmupCurvature] }> = [];
  for (const [seed, ra] of a) {
    const rb = b.get(seed);
    if (!rb) continue;
    const both = [asWarmup(ra), asWarmup(rb)];
    const [pa, pb] =
      align === 'at_full_lr' ? curvatureAtFullLr(both, window, grid) : curvatureAfterWarmup(both, window);
    out.push({ seed, pair: [pa!, pb!] });
  }
  return out;
}

/** Per seed, a measured value of each of two runs (null: none in the window). */
export interface SeedPair {
  seed: number;
  a: number | null;
  b: number | null;
}

/** A comparison of two cells' curve runs paired by seed, with the seeds it could not use. */
export interface CurveJudgement {
  verdict: Verdict;
  text: string;
  /** Geometric mean over the used seeds of a/b (null without any). */
  ratio: number | null;
  n: number;
  p: number | null;
}

/**
 * "a is below (`factor` < 1) or above (`factor` > 1) factor × b", from per-seed log2(a/b) of two
 * cells' curve runs: held when the exact sign-flip test gives p < α in that direction and the
 * geometric-mean ratio is beyond `factor`; did not hold when p < α the other way or the TOST test
 * shows the ratio within factor^±1; else inconclusive (judgePaired). Seeds in `failed` (either run
 * diverged or collapsed at the common η) or without a measurement on both sides are left out and
 * listed, so one such seed of six leaves five, which cannot reach p < 0.05. α = `alpha` (default
 * 0.05; a follow-up look uses a stricter one).
 */
export function judgeCurvePairs(
  pairs: readonly SeedPair[],
  factor: number,
  failed: ReadonlySet<number>,
  alpha?: number,
): CurveJudgement {
  const used = pairs.filter((x) => !failed.has(x.seed) && x.a !== null && x.b !== null && x.a > 0 && x.b > 0);
  const out = pairs.filter((x) => !used.includes(x)).map((x) => x.seed);
  const d = used.map((x) => Math.log2(x.a! / x.b!));
  const effect = Math.abs(Math.log2(factor));
  const j = judgePaired(d, factor < 1 ? 'negative' : 'positive', f3, {
    minEffect: effect,
    margin: effect,
    ...(alpha !== undefined ? { alpha } : {}),
  });
  const ratio = d.length > 0 ? 2 ** (d.reduce((s, x) => s + x, 0) / d.length) : null;
  return {
    verdict: d.length > 0 ? j.verdict : 'inconclusive',
    ratio,
    n: d.length,
    p: d.length > 0 ? j.cmp.pValue : null,
    text: `per seed log2 ratio ${d.length > 0 ? j.text : 'n/a'} (geometric-mean ratio ${f3(ratio)})${out.length > 0 ? `; left out: seed ${out.join(', ')} (a run diverged or collapsed at the common η, or no measurement in the window)` : ''}`,
  };
}

/** How lowerCurvature places each run's window: `align` and the measurement `grid` (steps) of CurvesSection. */
export interface WindowRule {
  align: CurveAlign;
  grid: number;
}

/** The window rule of a plan's curve runs (the grid is curves.every for at_full_lr). */
export const windowRuleOf = (curves: CurvesSection | null): WindowRule => ({
  align: curves?.align ?? 'after_longer_warmup',
  grid: curves?.align === 'at_full_lr' ? (curves.every ?? 0) : 0,
});

/**
 * "`cell` lowers λ1/threshold below (1 − drop) × `ref`'s": per seed, each run's max over
 * `window` steps at the full η placed by `rule` (pairedCurveWindows), judged by judgeCurvePairs
 * at `alpha`; null when the cells have no curve runs with a common seed.
 */
export function lowerCurvature(
  runs: readonly StudyRun[],
  ref: string,
  cell: string,
  window: number,
  drop: number,
  rule: WindowRule = { align: 'after_longer_warmup', grid: 0 },
  alpha?: number,
): { judged: CurveJudgement; refMedian: number | null; cellMedian: number | null; text: string } | null {
  const per = pairedCurveWindows(runs, ref, cell, window, rule.align, rule.grid);
  if (per.length === 0) return null;
  const failed = failedCurves(runs, [ref, cell]);
  const judged = judgeCurvePairs(
    per.map((x) => ({ seed: x.seed, a: x.pair[1].maxRatio, b: x.pair[0].maxRatio })),
    1 - drop,
    failed.seeds,
    alpha,
  );
  const refMedian = medianOf(per.map((x) => x.pair[0].maxRatio));
  const cellMedian = medianOf(per.map((x) => x.pair[1].maxRatio));
  const [r0, c0] = per[0]!.pair;
  const where =
    rule.align === 'at_full_lr' && r0.from !== c0.from
      ? `each run's first ${window} steps at the full η (${cell}: steps ${c0.from}–${c0.to}, ${ref}: ${r0.from}–${r0.to})${rule.grid > 0 ? `, every ${rule.grid} steps from its start (${c0.points} and ${r0.points} measurements)` : ''}`
      : `steps ${r0.from}–${r0.to} (${r0.from > 0 ? 'after the longer warmup, both at the full η' : 'neither run has a warmup'})`;
  return {
    judged,
    refMedian,
    cellMedian,
    text: `max λ1/threshold over ${where}, medians over ${per.length} seed${per.length === 1 ? '' : 's'}: ${f3(cellMedian)} vs ${f3(refMedian)}; ${judged.text}${failed.text.length > 0 ? `; ${failed.text.join(', ')}` : ''} → ${judged.verdict}`,
  };
}

/** The rule of lowerCurvature in words. */
export function lowerRule(window: number, drop: number, what: string, rule?: WindowRule): string {
  const where =
    rule?.align === 'at_full_lr'
      ? `over its own first ${window} steps at the full η (from the end of its warmup; from step 0 without one)${rule.grid > 0 ? `, where the two windows start at different steps only every ${rule.grid} steps from each start so that both maxima are over as many measurements,` : ''} over the run without's (both at the same full η)`
      : `over the ${window} steps right after the longer warmup of the two over the run without's (both at the same, full η)`;
  return `Per seed, log2 of the ${what} run's max λ1/threshold ${where}: held when the exact sign-flip test gives p < ${ALPHA} with a geometric-mean ratio ≤ ${1 - drop}; did not hold when p < ${ALPHA} the other way or the TOST test shows the ratio within ${f3(1 - drop)}^±1; else inconclusive; seeds where either run diverged or collapsed at the common η are left out; held overall when every comparison holds.`;
}

// ---------------------------------------------------------------------------------------------
// Figures (shown after the claims table).

/**
 * λ1/threshold of the curve runs (log y; 1 = the stability boundary): per cell the median over
 * seeds with a min–max band, cells in the order their runs first appear.
 */
function curveRatioFigure(
  runs: readonly StudyRun[],
  o: {
    id: string;
    title: string;
    caption: string;
    xTitle?: string;
    label: (r: StudyRun, cell: string) => string;
    series: (r: StudyRun) => Array<{ step: number; value: number }>;
  },
): StudyFigure | null {
  const curves = runs.filter((r) => r.params.kind === 'curve');
  const order = [...new Set(curves.map(curveCell))];
  return medianBandFigure(curves, {
    id: o.id,
    title: o.title,
    caption: o.caption,
    yTitle: 'λ1 / threshold',
    ...(o.xTitle !== undefined ? { xTitle: o.xTitle } : {}),
    cell: (r) => {
      const cell = curveCell(r);
      return { key: cell, label: o.label(r, cell), order: order.indexOf(cell) };
    },
    series: o.series,
    logY: true,
    ruleY: 1,
  });
}

/** Early λ1/threshold of the curve runs over their first `window` steps (curveRatioFigure). */
export function earlyRatioFigure(
  runs: readonly StudyRun[],
  window: number,
  o: { id?: string; title?: string } = {},
): StudyFigure | null {
  const fig = curveRatioFigure(runs, {
    id: o.id ?? 'early-ratio',
    title: o.title ?? 'Early sharpness relative to the stability threshold',
    caption: `The common-η runs over their first ${window} steps, median over seeds with the min–max band: above 1 (dashed) the update overshoots along the top eigenvector; λ1 (λ1(P⁻¹H) for Adam) is divided by the threshold at each step's η.`,
    label: (r, cell) => `${cell} (η ${f3(r.params['optimizer.lr'] as number)})`,
    series: (r) => earlyCurvature(r.rows, r.config, window).map((p) => ({ step: p.step, value: p.ratio })),
  });
  return fig === null ? null : { ...fig, title: 'Early λ1 / threshold' };
}

/**
 * λ1/threshold of the curve runs from each run's arrival at the full η (the end of its warmup;
 * step 0 without one) over the `window` steps the at_full_lr comparison reads (curveRatioFigure).
 */
export function arrivalRatioFigure(runs: readonly StudyRun[], window: number): StudyFigure | null {
  const warmupOf = (r: StudyRun) => r.config.schedule.warmup_steps;
  return curveRatioFigure(runs, {
    id: 'arrival-ratio',
    title: 'λ1 / threshold from the arrival at the full η',
    caption: `The common-η runs from the step each first trains at the full η (the end of its warmup; step 0 without one), over the ${window} steps the early-curvature claim compares, median over seeds with the min–max band. Without warmup a run meets the full η at its initial curvature; with warmup, where the warmup has brought it. Above 1 (dashed) the update overshoots along the top eigenvector.`,
    xTitle: 'steps at the full η',
    label: (r, cell) => `${cell}${warmupOf(r) > 0 ? ` (from step ${warmupOf(r)})` : ''}`,
    series: (r) =>
      r.rows
        .filter((row) => row.step >= warmupOf(r) && row.step <= warmupOf(r) + window)
        .map((row) => ({ step: row.step - warmupOf(r), value: rowRatio(row) ?? Number.NaN })),
  });
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
      'dot: largest stable η; bar: up to the next η tried, which was unstable',
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
      'From the trial runs: η_max, the largest η that neither diverged nor collapsed (with per-seed searches the median over seeds of each seed’s own), and the next η above it that was unstable (likewise).',
    spec,
  };
}

/**
 * The figures of a max-lr study: η_max per remedy, early λ1/threshold (over `curves.early_steps`,
 * else `defaultWindow`; `earlyTitle` for its heading) and, with align at_full_lr, the arrival figure.
 */
export function maxLrStudyFigures(
  loaded: StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick'>,
  o: { defaultWindow?: number; earlyTitle?: string } = {},
): StudyFigure[] {
  const plan = maxLrPlan(ctx);
  const runs = plannedRuns(loaded, plan.curves);
  const cells = summarizeCells(runs, ctx);
  const window = plan.curves?.early_steps ?? o.defaultWindow ?? 100;
  return [
    maxLrFigure(cells),
    earlyRatioFigure(runs, window, o.earlyTitle !== undefined ? { title: o.earlyTitle } : {}),
    windowRuleOf(plan.curves).align === 'at_full_lr' ? arrivalRatioFigure(runs, window) : null,
  ].filter((f): f is StudyFigure => f !== null);
}

// ---------------------------------------------------------------------------------------------
// The warmup study.

/** 'held' → true, 'did not hold' → false, 'inconclusive' → null (for allOf). */
export const asItem = (v: Verdict | undefined): boolean | null =>
  v === 'held' ? true : v === 'did not hold' ? false : null;

/** The warmup claims: a pure function of the loaded runs. */
export function evaluateWarmup(
  loaded: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const { plan, runs, cells, window, curves } = maxLrEvidence(loaded, ctx);
  const t = tolerancesOf(WARMUP_TOLERANCES, ctx.tolerances);
  const gain = t.min_lr_gain ?? 1;
  const drop = t.early_ratio_drop ?? 0;
  const claims: ClaimResult[] = [];
  const early: Array<boolean | null> = [];
  const earlyEv: string[] = [];
  const raise: Array<boolean | null> = [];
  const raiseEv: string[] = [];
  const resolution: string[] = [];
  const values: Record<string, number | string | boolean | null> = {};
  for (const model of plan.models) {
    const mine = cells.filter((c) => c.model === model);
    const none = mine.find((c) => c.variant === 'none');
    if (!none) throw new Error(`studies/${ctx.file.name}.yaml: the variants must include 'none'`);
    const cvNone = curves.get(none.cell);
    values[`${model}.none.max_lr`] = none.maxStableLr;
    values[`${model}.none.max_early_ratio`] = cvNone?.maxRatio ?? null;
    resolution.push(`${model}, ${resolutionText(none)}`);
    for (const w of mine.filter((c) => c.variant !== 'none')) {
      resolution.push(`${model}, ${resolutionText(w)}`);
      const cvW = curves.get(w.cell);
      const paired = pairedMaxLr(w, none, gain);
      raise.push(asItem(paired?.verdict));
      raiseEv.push(
        `${model}, ${w.variant}: η_max ${f3(w.maxStableLr)} vs ${f3(none.maxStableLr)} without warmup (${etaMaxWords(plan.maxLr)}); per seed, log2 of the η_max ratio ${paired ? `${paired.text} → ${paired.verdict}` : 'n/a (no seed with an η_max on both sides) → inconclusive'}`,
      );
      values[`${model}.${w.variant}.lr_gain_log2_seed_mean`] = paired?.cmp.mean ?? null;
      values[`${model}.${w.variant}.lr_gain_p`] = paired?.cmp.pValue ?? null;
      values[`${model}.${w.variant}.max_lr`] = w.maxStableLr;
      values[`${model}.${w.variant}.lr_gain`] =
        w.maxStableLr !== null && none.maxStableLr ? w.maxStableLr / none.maxStableLr : null;
      values[`${model}.${w.variant}.raised`] = paired?.verdict ?? 'inconclusive';
      // Compared at the full η only (inside the warmup λ1/threshold is divided by a threshold at a
      // tiny η_t: small whatever λ1 does): after the longer warmup, or each run's own arrival there.
      const low = lowerCurvature(runs, none.cell, w.cell, window, drop, windowRuleOf(plan.curves));
      if (low) {
        early.push(asItem(low.judged.verdict));
        earlyEv.push(
          `${model}, ${curveLrText(runs, none.cell) ?? `η = ${f3(cvW?.lr)}`}: ${w.variant} vs none, ${low.text}; inside the first ${window} steps (not judged), medians over seeds: ${f3(cvW?.maxRatio)} vs ${f3(cvNone?.maxRatio)}`,
        );
        values[`${model}.${w.variant}.max_early_ratio`] = cvW?.maxRatio ?? null;
        values[`${model}.${w.variant}.max_ratio_after_warmup`] = low.cellMedian;
        values[`${model}.none.max_ratio_after_warmup.${w.variant}`] = low.refMedian;
        values[`${model}.${w.variant}.after_warmup_ratio_p`] = low.judged.p;
      } else {
        early.push(null);
        earlyEv.push(`${model}, ${w.variant}: no early-curvature measurement`);
      }
    }
  }
  claims.push({
    claim: 'Warmup lowers the early sharpness λ1 relative to the stability threshold (2+2μ)/η (Gilmer et al. 2022).',
    evidence: `${earlyEv.join('; ')}. ${lowerRule(window, drop, 'warmup', windowRuleOf(plan.curves))}`,
    verdict: allOf(early),
    values: { ...values },
  });
  claims.push({
    claim: 'Warmup raises the largest learning rate that does not diverge.',
    evidence: `${raiseEv.join('; ')}. Stable: ${targetText(plan.maxLr)}. ${raiseRule(gain)} Resolution (each seed's bracket, next unstable η / η_max; the search aims at ${f3(searchResolution(plan.maxLr))}×): ${resolution.join('; ')}.`,
    verdict: allOf(raise),
    values,
  });
  return claims;
}

/** The "raises η_max" verdict rule in words. */
export function raiseRule(gain: number): string {
  return `Verdict per remedy from each seed's own η_max paired by seed (log2 ratios): raised (held) when the exact sign-flip test gives p < ${ALPHA} and the geometric-mean ratio is ≥ ${gain}; did not hold when p < ${ALPHA} the other way or the TOST test shows the ratio within ${gain}^±1; else inconclusive; held overall when every remedy is raised.`;
}

/** η_max in words: what stable means and what the cell's number is. */
export function etaMaxWords(m: MaxLrSettings): string {
  return m.per_seed
    ? `median over ${m.seeds} seed${m.seeds > 1 ? 's' : ''}, each seed's own η_max`
    : `${m.rule === 'all' ? 'all' : 'a majority'} of ${m.seeds} seed${m.seeds > 1 ? 's' : ''}`;
}

/**
 * The curve runs among `cells` that diverged or collapsed (ended no better than the constant
 * predictor, classifyRun): `text` in words ([] when every one trained) and their seeds.
 */
export function failedCurves(
  runs: readonly StudyRun[],
  cells: readonly string[],
): { text: string[]; seeds: Set<number> } {
  const text: string[] = [];
  const seeds = new Set<number>();
  for (const cell of cells) {
    const all = curveRunsOf(runs, cell);
    const by = new Map<string, Array<{ seed: number; step: number }>>();
    for (const [seed, r] of all) {
      const o = curveOutcome(r);
      if (o === null) continue;
      (by.get(o) ?? by.set(o, []).get(o)!).push({ seed, step: r.summary.steps });
      seeds.add(seed);
    }
    for (const [o, xs] of by)
      text.push(
        `${cell} ${o} at the common η in ${xs.length} of ${all.size} seed${all.size === 1 ? '' : 's'} (${xs.map((x) => `seed ${x.seed} at step ${x.step}`).join(', ')})`,
      );
  }
  return { text, seeds };
}

/** 'diverged' or 'collapsed' for a curve run that did (classifyRun against its recorded constant predictor), else null. */
export function curveOutcome(r: StudyRun): 'diverged' | 'collapsed' | null {
  if (r.summary.status === 'diverged') return 'diverged';
  const ca = r.params.chance_acc;
  const cl = r.params.chance_loss;
  if (typeof ca !== 'number') return null;
  const o = classifyRun(r, { loss: null, acc: null, chance: { acc: ca, loss: typeof cl === 'number' ? cl : null } });
  return o.outcome === 'collapsed' ? 'collapsed' : null;
}

/** The common η of a cell's curve run and why (its `lr_rule` param), or null without one. */
export function curveLrText(runs: readonly StudyRun[], cell: string): string | null {
  const r = curveRunsOf(runs, cell).values().next().value;
  if (!r) return null;
  const rule = r.params.lr_rule;
  return typeof rule === 'string' ? rule : `η = ${f3(r.params['optimizer.lr'] as number)}`;
}

/** The stability rule in words, for evidence strings. */
export function targetText(m: MaxLrSettings): string {
  const want = targetWords({ loss: m.stop_train_loss, acc: m.stop_train_acc });
  return `neither diverged nor collapsed${m.full_budget ? ' over the whole budget' : ''}, ${etaMaxWords(m)}; fitting (${want || 'a falling train loss'} after warmup) is reported separately`;
}

export const warmupStudy: StudyDefinition = {
  name: 'warmup',
  execute: executeMaxLrStudy,
  evaluate: evaluateWarmup,
  figures: maxLrStudyFigures,
};

/** The same claims on the unnormalized ResNet (studies/warmup-resnet.yaml): ~7× the tanh MLP's compute. */
export const warmupResnetStudy: StudyDefinition = { ...warmupStudy, name: 'warmup-resnet' };

export default warmupStudy;
