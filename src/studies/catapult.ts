/**
 * Study `catapult` (Lewkowycz et al. 2020, "The large learning rate phase of deep learning: the
 * catapult mechanism"; the mechanism Gilmer et al. 2022 appeal to): a wide two-layer ReLU net
 * trained by full-batch GD on MSE. With λ0 the sharpness at initialization:
 *   η < 2/λ0            the loss decreases from the start (lazy phase);
 *   2/λ0 < η < η_max    the loss spikes early, the sharpness drops, and training converges with
 *                       λ1 below 2/η (catapult phase);
 *   η > η_max           training diverges.
 * Runs: `lambda0` (the initialization, λ1 measured with a longer Lanczos), one run per
 * `grid.multiple` at η = multiple × 2/λ0, and a max-stable-lr search whose range (`max_lr.lo`,
 * `max_lr.hi`) is also in units of 2/λ0; its trials keep their curvature measurements, so the
 * stable ones above 2/λ0 are catapult runs too.
 */
import { join } from 'node:path';
import * as os from 'node:os';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { deepMerge } from '../experiments/configPaths.ts';
import { runInChild } from '../experiments/childRun.ts';
import {
  classifyRun,
  createLimit,
  resolveMaxLrSettings,
  roundLr,
  runMaxLrExperiment,
  RunManifest,
  type MaxLrSettings,
} from '../experiments/maxLr.ts';
import { DASH, lineChart, PALETTE, THRESHOLD_COLOR, type Series } from '../report/spec.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { CATAPULT_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { loadStudyRun } from './run.ts';
import { f3 as g, type MaxLrStudyFile } from './warmup.ts';
import { judgePaired } from './stats.ts';

interface Plan {
  config: Config;
  multiples: number[];
  /** Seeds of the λ0 measurements and the fixed runs (grid train.seed; default the base seed). */
  seeds: number[];
  /** The search settings, lo and hi in units of 2/λ0; trials keep their curvature and run their whole budget. */
  maxLr: MaxLrSettings;
}

function plan(ctx: Pick<StudyContext, 'file' | 'quick'>): Plan {
  const f = ctx.file as MaxLrStudyFile;
  const q = ctx.quick ? (f.quick ?? {}) : {};
  const config = resolveConfig(deepMerge(f.base, q.base ?? {}));
  const multiples = ((q.grid?.multiple ?? f.grid.multiple ?? []) as number[]).slice();
  const seeds = ((q.grid?.['train.seed'] ?? f.grid['train.seed'] ?? [config.train.seed]) as number[]).slice();
  return {
    config,
    multiples,
    seeds,
    maxLr: resolveMaxLrSettings({ ...f.max_lr, ...(q.max_lr ?? {}), curvature: true, full_budget: true }),
  };
}

async function execute(ctx: StudyContext): Promise<StudyRun[]> {
  const p = plan(ctx);
  const threads = Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, ctx.parallel)));
  const runs: StudyRun[] = [];
  const manifest = new RunManifest(ctx.out, ctx.file.name, ['kind', 'optimizer.lr']);
  const record = (name: string, params: Record<string, unknown>) => manifest.record(name, params);
  // λ0 per seed (the fixed runs' seeds and the search's): the sharpness at each initialization
  // (a longer Lanczos than during training).
  const units = new Map<number, number>();
  const searchSeeds = Array.from({ length: p.maxLr.seeds }, (_, i) => i);
  for (const seed of [...new Set([...p.seeds, ...searchSeeds])]) {
    const c0 = structuredClone(p.config);
    c0.train.steps = 0;
    c0.train.seed = seed;
    c0.curvature.every = 1;
    c0.curvature.lanczos_iters = Math.max(30, c0.curvature.lanczos_iters);
    const name = `lambda0_seed-${seed}`;
    const params = { kind: 'lambda0', 'optimizer.lr': c0.optimizer.lr, 'train.seed': seed };
    record(name, params);
    await runInChild(resolveConfig(c0), join(ctx.out, name), { threads: os.availableParallelism() });
    const r0 = loadStudyRun(name, params, join(ctx.out, name));
    runs.push(r0);
    const lambda0 = r0.rows.find((r) => r.step === 0)?.sharpness;
    if (typeof lambda0 !== 'number' || !(lambda0 > 0))
      throw new Error(`catapult: no sharpness at initialization (seed ${seed})`);
    units.set(seed, 2 / lambda0);
    ctx.log(`seed ${seed}: λ0 = ${lambda0.toPrecision(4)}, 2/λ0 = ${(2 / lambda0).toPrecision(4)}`);
  }
  // The search's range is in units of the first seed's 2/λ0 (its trials share their η across seeds).
  const unit = units.get(p.seeds[0]!)!;
  // Runs at fixed multiples of each seed's own 2/λ0, and the search, sharing ctx.parallel child processes.
  const limit = createLimit(Math.max(1, ctx.parallel));
  const fixed = p.seeds.flatMap((seed) =>
    p.multiples.map(async (mult) => {
      const c = structuredClone(p.config);
      c.optimizer.lr = roundLr(mult * units.get(seed)!);
      c.train.seed = seed;
      c.train.stop_train_loss = null;
      c.train.stop_train_acc = null;
      const name = `multiple-${mult}_seed-${seed}`;
      const params = { kind: 'fixed', multiple: mult, 'optimizer.lr': c.optimizer.lr, 'train.seed': seed };
      await limit(async () => {
        record(name, params);
        const s = await runInChild(resolveConfig(c), join(ctx.out, name), { threads });
        ctx.log(`${name} (η ${c.optimizer.lr}): ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
      });
      runs.push(loadStudyRun(name, params, join(ctx.out, name)));
    }),
  );
  const m = p.maxLr;
  const search = runMaxLrExperiment({
    out: ctx.out,
    name: ctx.file.name,
    parallel: ctx.parallel,
    threads,
    limit,
    manifest,
    log: ctx.log,
    cells: [
      {
        name: 'search',
        params: {},
        config: p.config,
        error: null,
        settings: { ...m, lo: m.lo * unit, hi: m.hi * unit },
      },
    ],
    describeLr: (lr) => `${lr} (${(lr / unit).toFixed(2)} × 2/λ0)`,
    meta: { study: ctx.file.name, quick: ctx.quick, lambda0: 2 / unit, unit },
  });
  const [[cell]] = await Promise.all([search, ...fixed]);
  for (const t of cell!.result!.trials)
    runs.push(
      loadStudyRun(
        `search_lr-${t.lr}_seed-${t.seed}`,
        {
          kind: 'trial',
          multiple: t.lr / unit,
          'optimizer.lr': t.lr,
          'train.seed': t.seed,
          stable: t.stable,
          outcome: t.outcome,
        },
        t.dir!,
      ),
    );
  return runs;
}

/** Loss spike, convergence and final sharpness of one run. */
interface RunFacts {
  name: string;
  lr: number;
  multiple: number;
  status: string;
  l0: number;
  /** Largest train loss over the first `window` steps, relative to the initial loss. */
  spike: number;
  /** Reached the target (trained or unstable-but-trained; for fixed runs without one, completed without diverging). */
  converged: boolean;
  /** Did not diverge. */
  stable: boolean;
  /** λ1 at the last measurement, and λ1·η/2 there. */
  finalSharpness: number | null;
  finalRatio: number | null;
}

function facts(
  r: StudyRun,
  unit: number,
  window: number,
  target: { loss: number | null; acc: number | null; spike: number },
): RunFacts {
  const lr = r.params['optimizer.lr'] as number;
  const l0 = r.rows.find((x) => x.step === 0)?.train_loss as number;
  const early = r.rows
    .filter((x) => x.step <= window)
    .map((x) => (typeof x.train_loss === 'number' ? x.train_loss : Infinity));
  const measured = r.rows.filter((x) => typeof x.sharpness === 'number');
  const last = measured[measured.length - 1];
  const fs = last && last.step > 0 ? (last.sharpness as number) : null;
  const o = classifyRun(r, { ...target, from: 0 }).outcome;
  const converged =
    r.summary.status !== 'diverged' &&
    (target.loss !== null || target.acc !== null ? o === 'trained' || o === 'unstable-but-trained' : true);
  return {
    name: r.name,
    lr,
    multiple: lr / unit,
    status: r.summary.status,
    l0,
    spike: Math.max(...early) / l0,
    converged,
    stable: r.summary.status !== 'diverged',
    finalSharpness: fs,
    finalRatio: fs === null ? null : (fs * lr) / 2,
  };
}

/** Each seed's 2/λ0, from its `lambda0` run (a run without a seed is seed 0). */
function unitsBySeed(runs: readonly StudyRun[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of runs.filter((x) => x.params.kind === 'lambda0')) {
    const l0 = r.rows.find((x) => x.step === 0)?.sharpness;
    if (typeof l0 === 'number' && l0 > 0) out.set(Number(r.params['train.seed'] ?? 0), 2 / l0);
  }
  return out;
}

/** held when every judgement held; did not hold when one did not; else inconclusive. */
const both = (...vs: ClaimResult['verdict'][]): ClaimResult['verdict'] =>
  vs.includes('did not hold') ? 'did not hold' : vs.every((v) => v === 'held') ? 'held' : 'inconclusive';

/**
 * The catapult claims, each a test across seeds (a pure function of the loaded runs: each seed's
 * `lambda0` run, its fixed multiples and the search's trials, every run placed in units of its own
 * seed's 2/λ0):
 *   1. below 2/λ0 no early rise: per seed the largest early loss (over spike_window steps, in
 *      units of L0) minus 1 + no_spike, negative across seeds; and λ1·η/2 at the end minus 1,
 *      negative;
 *   2. between 2/λ0 and η_max a catapult: per seed the smallest early peak over its converged runs
 *      above 2/λ0, log(peak / spike_factor) positive across seeds; and their largest final λ1·η/2
 *      minus final_ratio, negative;
 *   3. η_max > 2/λ0: per seed log(η_max·λ0/2) positive across seeds (η_max: the largest η that
 *      seed did not diverge at below the smallest it diverged at); did not hold also when a seed
 *      diverged below its η_max (no single threshold).
 */
export function evaluateCatapult(
  runs: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const p = plan(ctx);
  const t = tolerancesOf(CATAPULT_TOLERANCES, ctx.tolerances);
  const units = unitsBySeed(runs);
  const window = t.spike_window ?? 20;
  const target = { loss: p.maxLr.stop_train_loss, acc: p.maxLr.stop_train_acc, spike: p.maxLr.spike };
  const seedOf = (r: StudyRun) => Number(r.params['train.seed'] ?? 0);
  const all = runs
    .filter((r) => (r.params.kind === 'fixed' || r.params.kind === 'trial') && units.has(seedOf(r)))
    .map((r) => ({ run: r, seed: seedOf(r), f: facts(r, units.get(seedOf(r))!, window, target) }));
  const seeds = [...units.keys()].sort((a, b) => a - b);
  const perSeed = <T>(f: (seed: number, mine: typeof all) => T | null) =>
    seeds.flatMap((seed) => {
      const v = f(
        seed,
        all.filter((x) => x.seed === seed),
      );
      return v === null ? [] : [{ seed, v }];
    });
  const list = <T>(xs: { seed: number; v: T }[], f: (v: T) => string) =>
    xs.map((x) => `seed ${x.seed}: ${f(x.v)}`).join('; ');
  const claims: ClaimResult[] = [];

  // 1. Below 2/λ0: no spike, and λ1 below 2/η at the end.
  const noSpike = t.no_spike ?? 0.01;
  const below = perSeed((_s, mine) => {
    const b = mine.filter((x) => x.f.multiple < 1 && x.f.finalRatio !== null);
    return b.length === 0
      ? null
      : { spike: Math.max(...b.map((x) => x.f.spike)), ratio: Math.max(...b.map((x) => x.f.finalRatio!)), n: b.length };
  });
  const j1a = judgePaired(
    below.map((x) => x.v.spike - (1 + noSpike)),
    'negative',
    g,
  );
  const j1b = judgePaired(
    below.map((x) => x.v.ratio - 1),
    'negative',
    g,
  );
  claims.push({
    claim: 'Below 2/λ0 there is no catapult: the loss does not rise early and λ1 stays below 2/η.',
    evidence:
      below.length === 0
        ? 'no run below 2/λ0'
        : `largest loss over the first ${window} steps in units of L0, minus ${g(1 + noSpike)}: ${j1a.text}; final λ1·η/2 minus 1: ${j1b.text} (held: both negative across seeds at p < 0.05). ${list(below, (v) => `peak ${g(v.spike)} × L0, final λ1·η/2 ${g(v.ratio)} (${v.n} runs)`)}`,
    verdict: below.length === 0 ? 'inconclusive' : both(j1a.verdict, j1b.verdict),
    values: {
      n: j1a.cmp.n,
      mean_spike_excess: j1a.cmp.mean,
      p_spike: j1a.cmp.pValue,
      mean_final_excess: j1b.cmp.mean,
      p_final: j1b.cmp.pValue,
    },
  });

  // 2. Catapult phase: spike, then convergence with λ1 < 2/η.
  const spike = t.spike_factor ?? 2;
  const fin = t.final_ratio ?? 1;
  const cat = perSeed((_s, mine) => {
    const c = mine.filter((x) => x.f.multiple > 1 && x.f.converged && x.f.finalRatio !== null);
    return c.length === 0
      ? null
      : { peak: Math.min(...c.map((x) => x.f.spike)), ratio: Math.max(...c.map((x) => x.f.finalRatio!)), n: c.length };
  });
  const j2a = judgePaired(
    cat.map((x) => Math.log(x.v.peak / spike)),
    'positive',
    g,
  );
  const j2b = judgePaired(
    cat.map((x) => x.v.ratio - fin),
    'negative',
    g,
  );
  claims.push({
    claim: 'For 2/λ0 < η < η_max the loss spikes early, then training converges with λ1 below 2/η (catapult).',
    evidence:
      cat.length === 0
        ? 'no run converged above 2/λ0'
        : `per seed over its converged runs above 2/λ0: log(smallest early peak / ${spike} L0) ${j2a.text}; largest final λ1·η/2 minus ${fin}: ${j2b.text} (held: the first positive and the second negative across seeds at p < 0.05). ${list(cat, (v) => `smallest peak ${g(v.peak)} × L0, largest final λ1·η/2 ${g(v.ratio)} (${v.n} runs)`)}`,
    verdict: cat.length === 0 ? 'did not hold' : both(j2a.verdict, j2b.verdict),
    values: {
      n: j2a.cmp.n,
      mean_log_peak_excess: j2a.cmp.mean,
      p_peak: j2a.cmp.pValue,
      mean_final_excess: j2b.cmp.mean,
      p_final: j2b.cmp.pValue,
    },
  });

  // 3. η_max per seed, in units of its own 2/λ0; a single threshold (no divergence below it).
  const etaMax = perSeed((seed, mine) => {
    const diverged = mine.filter((x) => !x.f.stable).map((x) => x.f.lr);
    if (diverged.length === 0) return null;
    const first = Math.min(...diverged);
    const stable = mine.filter((x) => x.f.stable && x.f.lr < first).map((x) => x.f.lr);
    if (stable.length === 0) return { multiple: Number.NaN, first: first / units.get(seed)!, below: 0 };
    const top = Math.max(...stable);
    const above = mine.filter((x) => x.f.lr > top);
    return {
      multiple: top / units.get(seed)!,
      first: first / units.get(seed)!,
      // Divergence at or below η_max would mean no single threshold; above it, runs that did not diverge.
      below: above.filter((x) => x.f.stable).length,
    };
  });
  const j3 = judgePaired(
    etaMax.map((x) => Math.log(x.v.multiple)),
    'positive',
    g,
  );
  const split = etaMax.filter((x) => x.v.below > 0);
  claims.push({
    claim: 'Beyond η_max training diverges, and η_max lies above 2/λ0 (the catapult phase exists).',
    evidence:
      etaMax.length === 0
        ? 'no seed diverged at any η tried: η_max not bracketed'
        : `per seed log(η_max / (2/λ0)): ${j3.text}; ${split.length === 0 ? 'every seed diverged at every η tried above its η_max' : `${split.length} seeds did not diverge at an η above their first divergence (no single threshold)`} (held: positive across seeds at p < 0.05 with a single threshold in every seed; a seed's η_max is the largest η it trained at below the smallest it diverged at, a lower bound where the search skipped its remaining seeds at an η another seed had already decided). ${list(etaMax, (v) => `η_max ${g(v.multiple)} × 2/λ0, first divergence at ${g(v.first)} × 2/λ0`)}`,
    verdict: etaMax.length === 0 ? 'inconclusive' : split.length > 0 ? 'did not hold' : j3.verdict,
    values: {
      n: j3.cmp.n,
      mean_log_multiple: j3.cmp.mean,
      lo: j3.cmp.lo,
      hi: j3.cmp.hi,
      p: j3.cmp.pValue,
      seeds_without_single_threshold: split.length,
    },
  });
  return claims;
}

/** Train loss (log y) and λ1·η/2 of every run, labelled by η in units of 2/λ0. */
function figures(runs: StudyRun[]): StudyFigure[] {
  // One seed's runs (the first): with every seed the charts would be unreadable.
  const seedOf = (r: StudyRun) => Number(r.params['train.seed'] ?? 0);
  const r0 = runs.filter((r) => r.params.kind === 'lambda0').sort((a, b) => seedOf(a) - seedOf(b))[0];
  const lambda0 = r0?.rows.find((r) => r.step === 0)?.sharpness;
  if (r0 === undefined || typeof lambda0 !== 'number') return [];
  const unit = 2 / lambda0;
  const shown = runs
    .filter((r) => r.params.kind !== 'lambda0' && seedOf(r) === seedOf(r0))
    .sort((a, b) => (a.params['optimizer.lr'] as number) - (b.params['optimizer.lr'] as number));
  const label = (r: StudyRun) =>
    `η = ${((r.params['optimizer.lr'] as number) / unit).toFixed(2)} × 2/λ0${r.summary.status === 'diverged' ? ' (diverged)' : ''}`;
  const series = (f: (row: StudyRun['rows'][number], lr: number) => number | null): Series[] =>
    shown.map((r, i) => ({
      label: label(r),
      field: `y${i}`,
      color: PALETTE[i % PALETTE.length]!,
      strokeWidth: 1.4,
      points: r.rows
        .map((row) => ({ x: row.step, y: f(row, r.params['optimizer.lr'] as number) }))
        .filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y)),
    }));
  const lossSeries = series((row) =>
    typeof row.train_loss === 'number' && row.train_loss > 0 ? row.train_loss : null,
  );
  // Diverging runs blow up by many decades: clip the axis at 1000 × the initial loss.
  const l0 = Math.max(...shown.map((r) => (typeof r.rows[0]?.train_loss === 'number' ? r.rows[0].train_loss : 0)));
  const lmin = Math.min(...lossSeries.flatMap((x) => x.points.map((p) => p.y)));
  const loss = lineChart({
    title: 'Train loss',
    subtitle: `λ0 = ${lambda0.toPrecision(4)}: between 2/λ0 and η_max the loss spikes, then falls (axis clipped at 1000 × L0)`,
    xTitle: 'step',
    yTitle: 'train loss (MSE)',
    logY: true,
    legend: true,
    series: lossSeries,
    ...(l0 > 0 && lmin > 0 && lmin < 1000 * l0 ? { yDomain: [lmin, 1000 * l0] as [number, number] } : {}),
  });
  const sharp = lineChart({
    title: 'Sharpness relative to 2/η',
    subtitle: 'λ1·η/2; dashed: 1 (the GD stability boundary); axis clipped at 3',
    xTitle: 'step',
    yTitle: 'λ1·η/2',
    legend: true,
    yDomain: [0, 3],
    series: series((row, lr) => (typeof row.sharpness === 'number' ? (row.sharpness * lr) / 2 : null)),
    rules: [{ y: 1, color: THRESHOLD_COLOR, dash: DASH }],
  });
  const out: StudyFigure[] = [];
  if (loss)
    out.push({
      id: 'catapult-loss',
      title: 'Train loss of every run of one seed',
      caption: 'The runs of the first seed at η in units of its 2/λ0 (λ0: sharpness at initialization).',
      spec: loss,
    });
  if (sharp)
    out.push({
      id: 'catapult-sharpness',
      title: 'λ1·η/2 of every run of one seed',
      caption: 'After a catapult the sharpness settles below 2/η (ratio < 1).',
      spec: sharp,
    });
  return out;
}

export const catapultStudy: StudyDefinition = { name: 'catapult', execute, evaluate: evaluateCatapult, figures };
export default catapultStudy;
