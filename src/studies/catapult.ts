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
  summarizeTrials,
  type MaxLrSettings,
} from '../experiments/maxLr.ts';
import { DASH, lineChart, PALETTE, THRESHOLD_COLOR, type Series } from '../report/spec.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { CATAPULT_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { loadStudyRun } from './run.ts';
import { allOf, f3 as g, type MaxLrStudyFile } from './warmup.ts';

interface Plan {
  config: Config;
  multiples: number[];
  /** The search settings, lo and hi in units of 2/λ0; trials keep their curvature and run their whole budget. */
  maxLr: MaxLrSettings;
}

function plan(ctx: Pick<StudyContext, 'file' | 'quick'>): Plan {
  const f = ctx.file as MaxLrStudyFile;
  const q = ctx.quick ? (f.quick ?? {}) : {};
  const config = resolveConfig(deepMerge(f.base, q.base ?? {}));
  const multiples = ((q.grid?.multiple ?? f.grid.multiple ?? []) as number[]).slice();
  return {
    config,
    multiples,
    maxLr: resolveMaxLrSettings({ ...f.max_lr, ...(q.max_lr ?? {}), curvature: true, full_budget: true }),
  };
}

async function execute(ctx: StudyContext): Promise<StudyRun[]> {
  const p = plan(ctx);
  const threads = Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, ctx.parallel)));
  const runs: StudyRun[] = [];
  const manifest = new RunManifest(ctx.out, ctx.file.name, ['kind', 'optimizer.lr']);
  const record = (name: string, params: Record<string, unknown>) => manifest.record(name, params);
  // λ0: the sharpness at initialization (a longer Lanczos than during training).
  const c0 = structuredClone(p.config);
  c0.train.steps = 0;
  c0.curvature.every = 1;
  c0.curvature.lanczos_iters = Math.max(30, c0.curvature.lanczos_iters);
  const dir0 = join(ctx.out, 'lambda0');
  record('lambda0', { kind: 'lambda0', 'optimizer.lr': c0.optimizer.lr });
  await runInChild(resolveConfig(c0), dir0, { threads: os.availableParallelism() });
  const r0 = loadStudyRun('lambda0', { kind: 'lambda0', 'optimizer.lr': c0.optimizer.lr }, dir0);
  runs.push(r0);
  const lambda0 = r0.rows.find((r) => r.step === 0)?.sharpness;
  if (typeof lambda0 !== 'number' || !(lambda0 > 0)) throw new Error('catapult: no sharpness at initialization');
  const unit = 2 / lambda0;
  ctx.log(`λ0 = ${lambda0.toPrecision(4)}, 2/λ0 = ${unit.toPrecision(4)}`);
  // Runs at fixed multiples of 2/λ0, and the search, sharing ctx.parallel child processes.
  const limit = createLimit(Math.max(1, ctx.parallel));
  const fixed = p.multiples.map(async (mult) => {
    const c = structuredClone(p.config);
    c.optimizer.lr = roundLr(mult * unit);
    c.train.stop_train_loss = null;
    c.train.stop_train_acc = null;
    const name = `multiple-${mult}`;
    const params = { kind: 'fixed', multiple: mult, 'optimizer.lr': c.optimizer.lr, 'train.seed': c.train.seed };
    await limit(async () => {
      record(name, params);
      const s = await runInChild(resolveConfig(c), join(ctx.out, name), { threads });
      ctx.log(`${name} (η ${c.optimizer.lr}): ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
    });
    runs.push(loadStudyRun(name, params, join(ctx.out, name)));
  });
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
    meta: { study: ctx.file.name, quick: ctx.quick, lambda0, unit },
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

/** The catapult claims: a pure function of the loaded runs (`lambda0`, the fixed multiples and the search's trials). */
export function evaluateCatapult(
  runs: readonly StudyRun[],
  ctx: Pick<StudyContext, 'file' | 'quick' | 'tolerances'>,
): ClaimResult[] {
  const p = plan(ctx);
  const t = tolerancesOf(CATAPULT_TOLERANCES, ctx.tolerances);
  const r0 = runs.find((r) => r.params.kind === 'lambda0');
  const lambda0 = r0?.rows.find((r) => r.step === 0)?.sharpness as number;
  const unit = 2 / lambda0;
  const window = t.spike_window ?? 20;
  const target = { loss: p.maxLr.stop_train_loss, acc: p.maxLr.stop_train_acc, spike: p.maxLr.spike };
  const all = runs
    .filter((r) => r.params.kind === 'fixed' || r.params.kind === 'trial')
    .map((r) => ({ run: r, f: facts(r, unit, window, target) }));
  // η_max from the search's trials, classified again: the largest lr that did not diverge, the smallest diverged above it.
  const trials = all.filter((x) => x.run.params.kind === 'trial');
  const sum = summarizeTrials(
    trials.map((x) => ({ lr: x.f.lr, stable: x.f.stable })),
    p.maxLr.rule,
    p.maxLr.seeds,
  );
  const etaMax = sum.maxStableLr;
  const upper = sum.upper;
  const values: Record<string, number | string | boolean | null> = {
    lambda0,
    two_over_lambda0: unit,
    eta_max: etaMax,
    eta_max_multiple: etaMax === null ? null : etaMax / unit,
    next_unstable: upper,
  };
  const claims: ClaimResult[] = [];
  // 1. Below 2/λ0: no spike.
  const below = all.filter((x) => x.f.multiple < 1);
  claims.push({
    claim: 'Below 2/λ0 there is no catapult: the loss does not rise early and λ1 stays below 2/η.',
    evidence:
      below.length === 0
        ? 'no run below 2/λ0'
        : below
            .map(
              ({ f }) =>
                `η = ${g(f.multiple)} × 2/λ0: max loss over the first ${window} steps ${g(f.spike)} × L0, final λ1·η/2 = ${g(f.finalRatio)}`,
            )
            .join('; '),
    verdict: allOf(
      below.map(({ f }) => f.spike <= 1 + (t.no_spike ?? 0.01) && f.finalRatio !== null && f.finalRatio < 1),
    ),
    values: Object.fromEntries(
      below.flatMap(({ f }) => [
        [`spike@${g(f.multiple)}`, f.spike],
        [`final_ratio@${g(f.multiple)}`, f.finalRatio],
      ]),
    ),
  });
  // 2. Catapult phase: spike, then convergence with λ1 < 2/η.
  const cat = all.filter((x) => x.f.multiple > 1 && x.f.converged);
  const spike = t.spike_factor ?? 2;
  const fin = t.final_ratio ?? 1;
  claims.push({
    claim: 'For 2/λ0 < η < η_max the loss spikes early, then training converges with λ1 below 2/η (catapult).',
    evidence:
      (cat.length === 0
        ? `no run converged above 2/λ0 = ${g(unit)}`
        : cat
            .map(
              ({ f }) =>
                `η = ${g(f.multiple)} × 2/λ0: loss peak ${g(f.spike)} × L0 within ${window} steps, converged, final λ1 ${g(f.finalSharpness)} = ${g(f.finalRatio)} × 2/η (λ0 = ${g(lambda0)})`,
            )
            .join('; ')) + `. Held when every such run peaks ≥ ${spike} × L0 and ends with λ1·η/2 ≤ ${fin}.`,
    verdict:
      cat.length === 0
        ? 'did not hold'
        : allOf(cat.map(({ f }) => f.spike >= spike && f.finalRatio !== null && f.finalRatio <= fin)),
    values: Object.fromEntries(
      cat.flatMap(({ f }) => [
        [`spike@${g(f.multiple)}`, f.spike],
        [`final_ratio@${g(f.multiple)}`, f.finalRatio],
      ]),
    ),
  });
  // 3. Beyond η_max: divergence; and η_max > 2/λ0.
  const beyond = all.filter((x) => etaMax !== null && x.f.lr > etaMax);
  const div = beyond.filter(({ f }) => f.status === 'diverged');
  // Trials above η_max diverge by the definition of η_max; what can fail is η_max > 2/λ0 and a
  // single threshold: no η below η_max diverged (a trial η by its seed-rule verdict, a fixed run itself).
  const divergedBelow =
    etaMax === null
      ? []
      : [
          ...sum.lrs.filter((l) => l.lr < etaMax && l.stable === false).map((l) => l.lr),
          ...all.filter((x) => x.run.params.kind === 'fixed' && x.f.lr < etaMax && !x.f.stable).map((x) => x.f.lr),
        ].sort((a, b) => a - b);
  values.diverged_below_eta_max = divergedBelow.length;
  claims.push({
    claim: 'Beyond η_max training diverges, and η_max lies above 2/λ0 (the catapult phase exists).',
    evidence:
      `λ0 = ${g(lambda0)}, 2/λ0 = ${g(unit)}; largest stable η ${g(etaMax)} = ${g(etaMax === null ? null : etaMax / unit)} × 2/λ0, next tried ${g(upper)}; ${div.length} of ${beyond.length} runs above it diverged${
        beyond.length > div.length
          ? ` (others: ${beyond
              .filter(({ f }) => f.status !== 'diverged')
              .map(({ f }) => `${g(f.multiple)}× ${f.status}`)
              .join(', ')})`
          : ''
      }` +
      `; ${divergedBelow.length === 0 ? 'none below it' : `below it diverged: ${divergedBelow.map((lr) => `${g(lr / unit)}×`).join(', ')}`}. Held when η_max > 2/λ0, every run above it diverged and none below it did.`,
    verdict:
      etaMax === null || beyond.length === 0
        ? 'inconclusive'
        : etaMax > unit && div.length === beyond.length && divergedBelow.length === 0
          ? 'held'
          : 'did not hold',
    values,
  });
  return claims;
}

/** Train loss (log y) and λ1·η/2 of every run, labelled by η in units of 2/λ0. */
function figures(runs: StudyRun[]): StudyFigure[] {
  const r0 = runs.find((r) => r.params.kind === 'lambda0');
  const lambda0 = r0?.rows.find((r) => r.step === 0)?.sharpness;
  if (typeof lambda0 !== 'number') return [];
  const unit = 2 / lambda0;
  const shown = runs
    .filter((r) => r.params.kind !== 'lambda0')
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
      title: 'Train loss of every run',
      caption: 'Runs at η in units of 2/λ0 (λ0: sharpness at initialization).',
      spec: loss,
    });
  if (sharp)
    out.push({
      id: 'catapult-sharpness',
      title: 'λ1·η/2 of every run',
      caption: 'After a catapult the sharpness settles below 2/η (ratio < 1).',
      spec: sharp,
    });
  return out;
}

export const catapultStudy: StudyDefinition = { name: 'catapult', execute, evaluate: evaluateCatapult, figures };
export default catapultStudy;
