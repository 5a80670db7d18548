/**
 * The max-lr studies' evaluators (warmup, interventions, adam-warmup, catapult) on synthetic runs,
 * in memory: for each claim one set of runs where it holds, one where it does not and, where that
 * is a defined outcome, one where it is inconclusive. The expected numbers are computed here from
 * the runs' construction (η_max = the largest η whose seeds did not diverge; thresholds in closed
 * form: (2+2μ)/η heavy ball, (2+2β1)/((1−β1)η) on λ1(P⁻¹H) for Adam, 2/η GD).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, type Config } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import type { ClaimResult, StudyRun } from '../../src/studies/study.ts';
import {
  commonCurveLr,
  curveCells,
  curveRunName,
  curveSeedsOf,
  evaluateWarmup,
  maxLrPlan,
  maxLrStudyFigures,
  plannedRuns,
  searchResolution,
  shareCommonLr,
  summarizeCells,
  windowRuleOf,
} from '../../src/studies/warmup.ts';
import { evaluateInterventions } from '../../src/studies/interventions.ts';
import { evaluateAdamWarmup } from '../../src/studies/adam-warmup.ts';
import { evaluateCatapult } from '../../src/studies/catapult.ts';
import { mean } from '../../src/studies/measures.ts';
import { finishedSummary } from './summaries.ts';

type Status = 'completed' | 'diverged';

function ctxOf(name: string, quick: boolean) {
  const file = loadStudyFile(name);
  // The synthetic curve runs below are seeds 0–5 (six, so that p < 0.05 can be reached); the quick
  // files run two curve seeds, and the evaluators use only the seeds a plan runs.
  const q = file.quick as { curves?: { seeds?: number } } | undefined;
  if (quick && q?.curves) q.curves.seeds = 6;
  return { file, quick, tolerances: (quick ? file.quick_tolerances : undefined) ?? file.tolerances };
}

function mkRun(
  name: string,
  config: Config,
  rows: MetricRow[],
  status: Status,
  params: Record<string, unknown>,
): StudyRun {
  const last = rows[rows.length - 1]!;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    name,
    params,
    dir: `/nonexistent/${name}`,
    config,
    rows,
    summary: finishedSummary({
      status,
      reason: status === 'diverged' ? 'train loss above divergence_loss' : null,
      steps: last.step,
      final: {
        train_loss: num(last.train_loss),
        train_acc: num(last.train_acc),
        test_loss: null,
        test_acc: null,
        sharpness: null,
      },
    }),
  };
}

const withLr = (c: Config, lr: number): Config => {
  const x = structuredClone(c);
  x.optimizer.lr = lr;
  return x;
};

// ---------------------------------------------------------------------------------------------
// Max-lr studies (warmup, interventions, adam-warmup): trials and curve runs of each cell.

type Ctx = ReturnType<typeof ctxOf>;

/**
 * Trial runs of one cell: at every η in `lrs`, one run per seed; `diverges(lr, seed)` decides
 * which diverge (the others fit: train acc 0.98 and loss 0.1 at the last step, after any warmup).
 */
function trials(
  ctx: Ctx,
  cellName: string,
  lrs: number[],
  diverges: (lr: number, seed: number) => boolean,
  testAcc: number | ((seed: number) => number) = 0.8,
  extra: (lr: number, seed: number) => Record<string, number> = () => ({}),
): StudyRun[] {
  const plan = maxLrPlan(ctx);
  const cell = plan.cells.find((c) => c.name === cellName)!;
  assert.ok(cell && cell.config, `no cell ${cellName}`);
  const steps = cell.config.train.steps;
  const out: StudyRun[] = [];
  for (const lr of lrs) {
    for (let seed = 0; seed < cell.maxLr.seeds; seed++) {
      const d = diverges(lr, seed);
      const rows: MetricRow[] = d
        ? [
            { step: 0, train_loss: 2.3, train_acc: 0.1 },
            { step: 10, train_loss: 1e4, train_acc: 0.1 },
          ]
        : [
            { step: 0, train_loss: 2.3, train_acc: 0.1 },
            { step: steps / 2, train_loss: 0.6, train_acc: 0.8 },
            { step: steps, train_loss: 0.1, train_acc: 0.98 },
          ];
      out.push(
        mkRun(`${cellName}_lr-${lr}_seed-${seed}`, withLr(cell.config, lr), rows, d ? 'diverged' : 'completed', {
          model: cell.model,
          variant: cell.variant,
          kind: 'trial',
          'optimizer.lr': lr,
          'train.seed': seed,
          stable: !d,
          test_acc: d ? null : typeof testAcc === 'number' ? testAcc : testAcc(seed),
          ...(d ? {} : extra(lr, seed)),
        }),
      );
    }
  }
  return out;
}

/** Diverges at and above `eta`: η_max is the largest tried η below it. */
const above = (eta: number) => (lr: number) => lr >= eta;

/**
 * The curve runs of a cell at the study's common η, one per seed 0..5 (named as the study names
 * them): λ1 (λ1(P⁻¹H) for Adam) every 4 steps such that λ1/threshold at the row's η_t (linear
 * warmup) is `ratio(step, seed)` × (η/η_t): a curvature λ with ratio r at the full η (the common η
 * the study would choose from its η_max: CURVE_ETA unless given). `divergeAt` ends the runs of
 * `failing` seeds (default all) there, diverged; `collapse` ends them on the constant predictor
 * (train accuracy 0.1 = the majority share, loss ln 10 = the class prior's entropy).
 */
const CURVE_ETA: Record<string, number> = { warmup: 4, interventions: 2, 'adam-warmup': 0.01 };
function curve(
  ctx: Ctx,
  cellName: string,
  lambda: (step: number, seed: number) => number,
  o: {
    upTo?: number;
    divergeAt?: number;
    eta?: number;
    collapse?: boolean;
    failing?: number[];
    seeds?: number;
    first?: number;
  } = {},
): StudyRun[] {
  const plan = maxLrPlan(ctx);
  const cell = plan.cells.find((c) => c.name === cellName)!;
  const eta = o.eta ?? CURVE_ETA[ctx.file.name]!;
  const out: StudyRun[] = [];
  for (let seed = o.first ?? 0; seed < (o.first ?? 0) + (o.seeds ?? 6); seed++) {
    const fails = o.failing === undefined || o.failing.includes(seed);
    const diverge = fails && o.divergeAt !== undefined;
    const collapse = fails && o.collapse === true;
    const c = withLr(cell.config!, eta);
    c.train.seed = seed;
    const warm = c.schedule.warmup_steps;
    const adam = c.optimizer.name === 'adam';
    const rows: MetricRow[] = [];
    const end = diverge ? o.divergeAt! : (o.upTo ?? 200);
    for (let s = 0; s <= end; s += 4) {
      const lr = warm > 0 ? eta * Math.min(1, (s + 1) / warm) : eta;
      const threshold = adam
        ? (2 + 2 * c.optimizer.beta1) / ((1 - c.optimizer.beta1) * lr)
        : (2 + 2 * c.optimizer.momentum) / lr;
      const v = lambda(s, seed);
      rows.push({
        step: s,
        lr,
        train_loss: collapse ? Math.log(10) : 1,
        train_acc: collapse ? 0.1 : 0.5,
        threshold,
        threshold_quantity: adam ? 'preconditioned_sharpness' : 'sharpness',
        ...(adam ? { sharpness: v / 100, precond_sharpness: v } : { sharpness: v }),
      });
    }
    out.push(
      mkRun(curveRunName(cellName, seed), c, rows, diverge ? 'diverged' : 'completed', {
        model: cell.model,
        variant: cell.variant,
        kind: 'curve',
        'optimizer.lr': eta,
        'train.seed': seed,
        lr_rule: `η = ${eta} (synthetic)`,
        chance_acc: 0.1,
        chance_loss: Math.log(10),
      }),
    );
  }
  return out;
}

/** λ1 whose ratio to the full-η heavy-ball threshold 3.8/η is r. */
const hb = (r: number, eta: number) => (r * 3.8) / eta;
const close = (a: unknown, b: number, what: string) =>
  assert.ok(typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${String(a)} vs ${b}`);
const verdicts = (cs: ClaimResult[]) => cs.map((c) => c.verdict);
const why = (cs: ClaimResult[]) => cs.map((c) => `${c.verdict}: ${c.evidence}`).join('\n');

/** Diverges at and above `hi` for seeds in `high`, at and above `lo` for the others. */
const split =
  (hi: number, lo: number, high: (seed: number) => boolean = (s) => s < 3) =>
  (lr: number, seed: number) =>
    lr >= (high(seed) ? hi : lo);

test('warmup: each seed’s own η_max paired by seed decides "raises"; held, did not hold and inconclusive', () => {
  const ctx = ctxOf('warmup', true);
  const plan = maxLrPlan(ctx);
  assert.deepEqual(plan.variants, ['none', 'warmup-100']);
  assert.deepEqual([plan.maxLr.seeds, plan.maxLr.per_seed], [6, true]);
  const eta = 4;
  const lrs = [0.16, 0.32, 0.64, 1.28, 2.56];
  // Held: at every seed warmup raises η_max 0.32 → 1.28 (log2 ratio 2, all six positive: p = 2/64,
  // 4× ≥ 1.5×) and ends its warmup at λ1/threshold 0.5 where the run without warmup sits at 3.
  const none = trials(ctx, 'none', lrs, above(0.64));
  const held = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', lrs, above(2.56)),
      ...curve(ctx, 'none', () => hb(3, eta)),
      ...curve(ctx, 'warmup-100', (s) => hb(s < 100 ? 3 : 0.5, eta)),
    ],
    ctx,
  );
  assert.deepEqual(verdicts(held), ['held', 'held'], why(held));
  const v = held[1]!.values!;
  assert.equal(v['fc-tanh.none.max_lr'], 0.32);
  assert.equal(v['fc-tanh.warmup-100.max_lr'], 1.28);
  close(v['fc-tanh.warmup-100.lr_gain'], 4, 'lr gain');
  assert.equal(v['fc-tanh.warmup-100.raised'], 'held');
  assert.equal(v['fc-tanh.warmup-100.lr_gain_log2_seed_mean'], 2);
  assert.equal(v['fc-tanh.warmup-100.lr_gain_p'], 2 / 64);
  assert.match(
    held[1]!.evidence,
    /log2 of the η_max ratio 2 \[95 % t-CI 2, 2\], sign-flip p = 0\.031 \(exact, n = 6\)/,
  );
  assert.match(held[1]!.evidence, /neither diverged nor collapsed/);
  // The resolution is stated: the quick grid (×2, no bisection) leaves every seed's bracket at 2×.
  assert.match(
    held[1]!.evidence,
    /the search aims at 2×\): fc-tanh, none: widest seed bracket 2\.000×; every seed coarser than 1\.1×/,
  );
  const e = held[0]!.values!;
  close(e['fc-tanh.warmup-100.max_ratio_after_warmup'], 0.5, 'warmup ratio after step 100');
  close(e['fc-tanh.none.max_ratio_after_warmup.warmup-100'], 3, 'none ratio after step 100');
  // Inside the warmup (not judged) the ratio is divided by the threshold at η_t: at step 96, η_t = 0.97 η.
  close(e['fc-tanh.warmup-100.max_early_ratio'], 3 * 0.97, 'ratio inside the warmup');
  assert.match(held[0]!.evidence, /steps 100–200/);
  assert.match(held[0]!.evidence, /η = 4 \(synthetic\)/);

  // Did not hold: the same η_max with warmup at every seed (TOST: the ratio is within 1.5^±1), and
  // the same curvature once the warmup is over (inside it the ratio is small only because η_t is).
  const not = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', lrs, above(0.64)),
      ...curve(ctx, 'none', () => hb(3, eta)),
      ...curve(ctx, 'warmup-100', () => hb(3, eta)),
    ],
    ctx,
  );
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold'], why(not));
  assert.equal(not[1]!.values!['fc-tanh.warmup-100.raised'], 'did not hold');
  close(not[0]!.values!['fc-tanh.warmup-100.max_ratio_after_warmup'], 3, 'equal ratio');
  // Warmup lowering η_max at every seed: p = 2/64 the other way.
  const lowered = evaluateWarmup([...none, ...trials(ctx, 'warmup-100', lrs, above(0.32))], ctx);
  assert.equal(lowered[1]!.verdict, 'did not hold', why(lowered));

  // Inconclusive: warmup raises η_max at three seeds (1.28) and lowers it at three (0.16); the run
  // without warmup diverged at the common η, so the curvature comparison is inconclusive (not held).
  const unclear = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', lrs, split(2.56, 0.32)),
      ...curve(ctx, 'none', () => hb(3, eta), { divergeAt: 400 }),
      ...curve(ctx, 'warmup-100', () => hb(0.5, eta)),
    ],
    ctx,
  );
  assert.deepEqual(verdicts(unclear), ['inconclusive', 'inconclusive'], why(unclear));
  assert.equal(unclear[1]!.values!['fc-tanh.warmup-100.raised'], 'inconclusive');
  assert.match(
    unclear[0]!.evidence,
    /none diverged at the common η in 6 of 6 seeds \(seed 0 at step 400, .*→ inconclusive/,
  );
  // A run without warmup that collapsed (ended on the constant predictor) at the common η: also inconclusive.
  const collapsed = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', lrs, above(2.56)),
      ...curve(ctx, 'none', () => hb(3, eta), { collapse: true, failing: [2] }),
      ...curve(ctx, 'warmup-100', () => hb(0.5, eta)),
    ],
    ctx,
  );
  assert.equal(collapsed[0]!.verdict, 'inconclusive', why(collapsed));
  // One seed of six left out: the five others all lower (p = 2/32 ≥ 0.05 with five) cannot decide.
  assert.match(
    collapsed[0]!.evidence,
    /n = 5\).*left out: seed 2 .*none collapsed at the common η in 1 of 6 seeds \(seed 2 at step 200\)/,
  );
  // Inconclusive by the data: after the warmup the ratio is half none's at seeds 0–2 and twice it
  // at seeds 3–5 (mean log2 ratio 0, spread too wide for TOST within 0.8^±1).
  const flip = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', lrs, above(2.56)),
      ...curve(ctx, 'none', () => hb(1, eta)),
      ...curve(ctx, 'warmup-100', (s, seed) => hb(s < 100 ? 1 : seed < 3 ? 0.5 : 2, eta)),
    ],
    ctx,
  );
  assert.equal(flip[0]!.verdict, 'inconclusive', why(flip));
  assert.match(flip[0]!.evidence, /per seed log2 ratio 0 \[95 % t-CI [^\]]+\], sign-flip p = 1\.000 \(exact, n = 6\)/);
  // Neither diverged anywhere in the range: both η_max are its top (lower bounds), so equal η_max
  // say nothing either way.
  const censored = evaluateWarmup(
    [...trials(ctx, 'none', lrs, () => false), ...trials(ctx, 'warmup-100', lrs, () => false)],
    ctx,
  );
  assert.equal(censored[1]!.verdict, 'inconclusive', censored[1]!.evidence);
  assert.match(censored[1]!.evidence, /never became unstable in the range/);
  assert.match(
    censored[1]!.evidence,
    /no divergence up to the top of the range \(η_max a lower bound\): seed 0, 1, 2, 3, 4, 5/,
  );
  // Without curve runs there is no curvature comparison.
  assert.equal(censored[0]!.verdict, 'inconclusive');
  assert.match(censored[0]!.evidence, /no early-curvature measurement/);
});

test('warmup: fresh curve seeds only, each run compared on its own arrival at the full η (at_full_lr)', () => {
  const ctx = ctxOf('warmup', true);
  const q = ctx.file.quick as { curves: { first_seed?: number; align?: string } };
  // The full file judges seeds 6–13 on each run's own first steps at the full η.
  const full = maxLrPlan(ctxOf('warmup', false));
  assert.deepEqual(curveSeedsOf(full.curves), [6, 7, 8, 9, 10, 11, 12, 13]);
  assert.deepEqual(windowRuleOf(full.curves), { align: 'at_full_lr', grid: 20 });
  q.curves.first_seed = 6;
  const eta = 4;
  const lrs = [0.16, 0.32, 0.64, 1.28, 2.56];
  const searches = [...trials(ctx, 'none', lrs, above(0.64)), ...trials(ctx, 'warmup-100', lrs, above(2.56))];
  // Without warmup the run starts at ratio 3 and settles to 0.2 from step 60; with warmup it arrives
  // at the full η (step 100) at 0.5. Seeds 0–5 (not planned) say the opposite: they must not count.
  const noneRatio = (s: number) => (s < 60 ? 3 : 0.2);
  const runs = [
    ...searches,
    ...curve(ctx, 'none', (s) => hb(noneRatio(s), eta), { first: 6 }),
    ...curve(ctx, 'warmup-100', (s) => hb(s < 100 ? 3 : 0.5, eta), { first: 6 }),
    ...curve(ctx, 'none', () => hb(0.1, eta)),
    ...curve(ctx, 'warmup-100', () => hb(5, eta)),
  ];
  const held = evaluateWarmup(runs, ctx);
  assert.equal(held[0]!.verdict, 'held', why(held));
  assert.match(
    held[0]!.evidence,
    /each run's first 100 steps at the full η \(warmup-100: steps 100–200, none: 0–100\), every 20 steps from its start \(6 and 6 measurements\), medians over 6 seeds: 0\.5 vs 3; per seed log2 ratio -2\.58 \[95 % t-CI -2\.58, -2\.58\], sign-flip p = 0\.031 \(exact, n = 6\)/,
  );
  // The same runs over the same steps after the longer warmup (the earlier rule): none has settled
  // by step 100 (0.2 < 0.5), so warmup is not lower there — the two rules read different things.
  q.curves.align = 'after_longer_warmup';
  const late = evaluateWarmup(runs, ctx);
  assert.equal(late[0]!.verdict, 'did not hold', why(late));
  assert.match(
    late[0]!.evidence,
    /steps 100–200 \(after the longer warmup, both at the full η\), medians over 6 seeds: 0\.5 vs 0\.2/,
  );
  // Only the planned seeds reach the figures as well.
  assert.equal(plannedRuns(runs, maxLrPlan(ctx).curves).filter((r) => r.params.kind === 'curve').length, 12);
  assert.deepEqual(
    maxLrStudyFigures(runs, ctx).map((f) => f.id),
    ['max-stable-lr-bracket', 'early-ratio'],
  );
  // With at_full_lr a figure shows what is compared: each run from its arrival at the full η, so
  // the warmup run's first point (x = 0) is its step 100, at the planned seeds' 0.5.
  q.curves.align = 'at_full_lr';
  const fig = maxLrStudyFigures(runs, ctx).find((f) => f.id === 'arrival-ratio')!;
  const spec = JSON.stringify(fig.spec);
  assert.match(spec, /steps at the full η/);
  assert.match(spec, /warmup-100 \(from step 100\) \(6 runs\)/);
  const layers = (fig.spec as { layer: Array<{ data?: { values: Array<Record<string, number>> } }> }).layer;
  const lines = layers.flatMap((l) => (l.data ? [l.data.values] : [])).filter((v) => v.length > 0);
  const warmLine = lines.find((v) => Object.keys(v[0]!).some((k) => k !== 'step' && v[0]![k] === 0.5))!;
  assert.ok(warmLine, spec.slice(0, 400));
  const xs = warmLine.map((p) => p.step!);
  assert.deepEqual([Math.min(...xs), Math.max(...xs)], [0, 100]);
});

test('max-lr studies: the common η of the curve runs is chosen from the measured per-seed η_max', () => {
  const ctx = ctxOf('warmup', false);
  const plan = maxLrPlan(ctx);
  assert.deepEqual([plan.curves!.lr, plan.curves!.lr_fraction], [undefined, 0.9]);
  // Full scale: ×2 grid and 3 bisections, 6 seeds searched one by one: 2^(1/8) ≤ 1.1×.
  assert.ok(searchResolution(plan.maxLr) <= 1.1);
  assert.deepEqual([plan.maxLr.seeds, plan.maxLr.per_seed], [6, true]);
  const lrs = [0.5, 1, 1.5, 2, 3, 4, 8];
  const runs = [
    // none: η_max 2 at seeds 0–4, 1.5 at seed 5; warmup-100: 3; warmup-1000 lowers it (1).
    ...trials(ctx, 'none', lrs, (lr, seed) => lr >= (seed === 5 ? 2 : 3)),
    ...trials(ctx, 'warmup-100', lrs, above(4)),
    ...trials(ctx, 'warmup-1000', lrs, above(1.5)),
  ];
  const cells = summarizeCells(runs, ctx);
  const c = commonCurveLr(cells, 'fc-tanh', plan.curves!);
  // warmup-1000 lowered η_max below none's: not a compared variant; the smallest per-seed η_max of
  // the others is none's seed 5 (1.5): η = 0.9 × 1.5.
  assert.deepEqual(
    [c.rule, c.compared, c.minMaxLr, c.from, c.lr],
    ['measured', ['none', 'warmup-100'], 1.5, 'none, seed 5', 1.35],
  );
  assert.match(c.text, /η = 1\.35 = 0\.9 × the smallest per-seed η_max of none, warmup-100 \(1\.5, none, seed 5\)/);
  // A fixed η (the file's override) above that is said to be above it.
  const fixed = commonCurveLr(cells, 'fc-tanh', { ...plan.curves!, lr: { 'fc-tanh': 4 } });
  assert.deepEqual([fixed.rule, fixed.lr], ['fixed', 4]);
  assert.match(fixed.text, /the common η lies ABOVE it/);
  // No search result: no common η (no curve runs).
  assert.equal(commonCurveLr(cells, 'resnet', plan.curves!).lr, null);
  // One η for several models: the smallest.
  const shared = shareCommonLr([c, { ...c, model: 'other', lr: 0.5, text: 'η = 0.5' }]);
  assert.deepEqual(
    shared.map((x) => x.lr),
    [0.5, 0.5],
  );
  assert.match(
    shared[0]!.text,
    /η = 0\.5 for other: the smallest over the models \(fc-tanh 1\.35, other 0\.5\), one η for all/,
  );
  // Which cells get curve runs: all with a config by default; with cells: compared, only the
  // compared ones (warmup-1000 lowered η_max, so it is left out); none without a common η.
  const common = new Map([['fc-tanh', c]]);
  const planCells = plan.cells.filter((x) => x.model === 'fc-tanh');
  const names = (cs: readonly { variant: string }[]) => cs.map((x) => x.variant);
  assert.deepEqual(names(curveCells(planCells, common, {})), ['none', 'warmup-100', 'warmup-1000']);
  assert.deepEqual(names(curveCells(planCells, common, { cells: 'compared' })), ['none', 'warmup-100']);
  assert.deepEqual(curveCells(planCells, new Map([['fc-tanh', { ...c, lr: null }]]), {}), []);
});

test('interventions: warmup-1000 is a remedy, each remedy is judged per seed, the stronger warmup is compared', () => {
  const full = ctxOf('interventions', false);
  const fullPlan = maxLrPlan(full);
  assert.ok(fullPlan.variants.includes('warmup-1000') && fullPlan.variants.includes('warmup-100'));
  assert.ok(searchResolution(fullPlan.maxLr) <= 1.1);
  for (const c of fullPlan.cells) if (c.config) assert.ok(c.config.train.steps > 1000, c.name);
  const ctx = ctxOf('interventions', true);
  const remedies = maxLrPlan(ctx).variants.filter((v) => v !== 'none');
  assert.deepEqual(remedies, ['warmup-100', 'clip-1', 'layernorm', 'init-scale-0.5']);
  const t = ctx.tolerances;
  const eta = 2;
  const lrs = [0.16, 0.32, 0.64, 1.28, 2.56, 5.12];
  // Test accuracy without a remedy: 0.80–0.805 by seed.
  const acc0 = (seed: number) => 0.8 + 0.001 * seed;
  const none = [...trials(ctx, 'none', lrs, above(0.64), acc0), ...curve(ctx, 'none', () => hb(2, eta))];
  // Held: each remedy 0.32 → 1.28 at every seed with the early ratio 0.5 (after warmup-100's warmup),
  // and 1.7–2.7 points higher test accuracy at every seed (gain ≥ 0.5 points at p = 2/64).
  const good = remedies.flatMap((r) => [
    ...trials(ctx, r, lrs, above(2.56), (seed) => acc0(seed) + 0.02 + (seed % 2 ? 0.005 : -0.003)),
    ...curve(ctx, r, (s) => hb(r === 'warmup-100' && s < 100 ? 2 : 0.5, eta)),
  ]);
  const held = evaluateInterventions([...none, ...good], ctx);
  assert.deepEqual(verdicts(held), ['held', 'held', 'held', 'held'], why(held));
  const v = held[0]!.values!;
  assert.equal(v['fc-tanh.none.max_lr'], 0.32);
  for (const r of remedies) {
    assert.equal(v[`fc-tanh.${r}.max_lr`], 1.28);
    assert.equal(v[`fc-tanh.${r}.raised`], 'held');
    close(v[`fc-tanh.${r}.test_acc`], 0.8235, `${r} test acc`); // 0.82 + mean(0.001·seed) + mean(±)
    close(v[`fc-tanh.${r}.test_acc_gain_points`], 2.1, `${r} test acc gain`);
    close(v[`fc-tanh.${r}.max_ratio_compared`], 0.5, `${r} ratio`);
  }
  close(v['fc-tanh.warmup_over_best'], 1, 'warmup / best');
  assert.match(
    held[1]!.evidence,
    /warmup-100: max λ1\/threshold over each run's first 60 steps at the full η \(warmup-100: steps 100–160, none: 0–60\), every 20 steps from its start \(4 and 4 measurements\), medians over 6 seeds: 0\.5 vs 2; per seed log2 ratio -2 \[95 % t-CI -2, -2\], sign-flip p = 0\.031 \(exact, n = 6\)/,
  );
  assert.match(
    held[1]!.evidence,
    /clip-1: max λ1\/threshold over steps 0–60 \(neither run has a warmup\), medians over 6 seeds: 0\.5 vs 2/,
  );

  // Did not hold: clipping leaves η_max where it was (TOST), LayerNorm raises it without lowering
  // the early ratio, warmup (0.32) lies 4× below the best other remedy (1.28) at every seed, beyond
  // the factor 2.
  // The remedies that raise η_max test 0.9–1.5 points lower at every seed.
  const bad = remedies.flatMap((r) => {
    const top = r === 'clip-1' || r === 'warmup-100' ? 0.64 : 2.56;
    return [
      ...trials(ctx, r, lrs, above(top), (seed) => acc0(seed) - 0.012 + (seed % 2 ? 0.003 : -0.003)),
      ...curve(ctx, r, () => hb(r === 'layernorm' ? 2 : 0.5, eta)),
    ];
  });
  const not = evaluateInterventions([...none, ...bad], ctx);
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold', 'did not hold', 'did not hold'], why(not));
  close(not[0]!.values!['fc-tanh.layernorm.test_acc_gain_points'], -1.2, 'layernorm test acc gain');
  assert.equal(not[0]!.values!['fc-tanh.clip-1.raised'], 'did not hold');
  close(not[0]!.values!['fc-tanh.layernorm.max_ratio_compared'], 2, 'layernorm ratio');
  close(not[0]!.values!['fc-tanh.warmup_over_best'], 0.25, 'warmup / best');
  assert.ok(0.32 * t.as_effective_factor! < 1.28);

  // Inconclusive: every remedy raises η_max at three seeds and lowers it at three (warmup at seeds
  // 0–2, the others at 3–5), so none is shown to raise it, the curvature claim has nothing to judge,
  // and warmup against the best other remedy is 8× at three seeds and 1/8 at three.
  const mixed = remedies.flatMap((r) => [
    ...trials(ctx, r, lrs, split(2.56, 0.32, r === 'warmup-100' ? (s) => s < 3 : (s) => s >= 3)),
    ...curve(ctx, r, () => hb(0.5, eta)),
  ]);
  const unclear = evaluateInterventions([...none, ...mixed], ctx);
  assert.deepEqual(verdicts(unclear), ['inconclusive', 'inconclusive', 'inconclusive', 'inconclusive'], why(unclear));
  assert.match(unclear[1]!.evidence, /no remedy raised η_max/);
  assert.match(unclear[3]!.evidence, /no remedy raised η_max/);
  // Raised, but the test accuracy gain changes sign across seeds (±1 point): inconclusive.
  const noisy = remedies.flatMap((r) => [
    ...trials(ctx, r, lrs, above(2.56), (seed) => acc0(seed) + (seed % 2 ? 0.01 : -0.01)),
    ...curve(ctx, r, (s) => hb(r === 'warmup-100' && s < 100 ? 2 : 0.5, eta)),
  ]);
  const mixedAcc = evaluateInterventions([...none, ...noisy], ctx);
  assert.deepEqual(verdicts(mixedAcc), ['held', 'held', 'held', 'inconclusive'], why(mixedAcc));
  // Raised, but the run without the remedy collapsed at the common η: no curvature comparison.
  const collapsed = evaluateInterventions(
    [...trials(ctx, 'none', lrs, above(0.64)), ...curve(ctx, 'none', () => hb(2, eta), { collapse: true }), ...good],
    ctx,
  );
  assert.equal(collapsed[1]!.verdict, 'inconclusive', why(collapsed));
  assert.match(
    collapsed[1]!.evidence,
    /none collapsed at the common η in 6 of 6 seeds \(seed 0 at step 200, .*→ inconclusive/,
  );

  // The stronger warmup is the one compared: warmup-1000 (η_max 4) over warmup-100 (1) on the full file.
  const fl = [0.5, 1, 2, 4, 8];
  const strong = evaluateInterventions(
    [
      ...trials(full, 'none', fl, above(1)),
      ...trials(full, 'warmup-100', fl, above(2)),
      ...trials(full, 'warmup-1000', fl, above(8)),
      ...trials(full, 'clip-1', fl, above(8)),
    ],
    full,
  );
  assert.equal(strong[0]!.values!['fc-tanh.warmup_variant'], 'warmup-1000');
  assert.match(
    strong[2]!.evidence,
    /fc-tanh: warmup-1000 \(the warmup with the largest η_max\) 4 vs the best other remedy, clip-1, 4/,
  );
});

test('interventions: BatchNorm is judged on its effective η_max (η_max over the growth of its normalized weights)', () => {
  const full = ctxOf('interventions', false);
  const lrs = [0.5, 1, 2, 4, 8, 16, 32];
  // Raw: BatchNorm trains up to η = 8 where none stops at 1 (8×). But its normalized weights grew
  // 16·(1 + 0.1·seed)-fold in squared norm at η_max: effective η_max 0.5/(1 + 0.1·seed), below
  // none's 1 at every seed (p = 2/64 the other way): did not hold.
  const growth = (_: number, seed: number) => ({ norm_growth: 16 * (1 + 0.1 * seed) });
  const runs = [
    ...trials(full, 'none', lrs, above(2)),
    ...trials(full, 'batchnorm', lrs, above(16), 0.8, growth),
    ...trials(full, 'warmup-100', lrs, above(4)),
  ];
  const r = evaluateInterventions(runs, full);
  const v = r[0]!.values!;
  assert.equal(v['fc-tanh.batchnorm.max_lr'], 8);
  assert.equal(v['fc-tanh.batchnorm.raised'], 'did not hold', why(r));
  // The median over seeds in log η of 8/(16·(1 + 0.1·seed)): the geometric mean of the middle two.
  close(v['fc-tanh.batchnorm.effective_max_lr'], Math.sqrt((0.5 / 1.3) * (0.5 / 1.2)), 'effective η_max');
  assert.match(r[0]!.evidence, /batchnorm 0\.4: raw η_max 8, effective 0\.4 /);
  assert.equal(v['fc-tanh.warmup-100.raised'], 'held');
  // Warmup (2) against the best other remedy: BatchNorm enters at 0.4, not 8 (5× above it: held).
  assert.match(
    r[2]!.evidence,
    /fc-tanh: warmup-100 \(the warmup with the largest η_max\) 2 vs the best other remedy, batchnorm, 0\.4; per seed log2 η_max ratio [^;]+; [^;]+; [^;]+→ held/,
  );
  assert.equal(r[2]!.verdict, 'held', why(r));
  // Without the growth recorded (e.g. no checkpoints) BatchNorm is judged on its raw η_max.
  const raw = evaluateInterventions(
    [...trials(full, 'none', lrs, above(2)), ...trials(full, 'batchnorm', lrs, above(16))],
    full,
  );
  assert.equal(raw[0]!.values!['fc-tanh.batchnorm.raised'], 'inconclusive', why(raw));
});

test('adam-warmup: post-LN sharper early and helped by warmup (paired by seed), pre-LN not (shown below a margin)', () => {
  const ctx = ctxOf('adam-warmup', false);
  const plan = maxLrPlan(ctx);
  assert.deepEqual([plan.maxLr.seeds, plan.maxLr.per_seed, plan.curves!.shared], [6, true, true]);
  assert.ok(searchResolution(plan.maxLr) <= 1.1);
  assert.equal(ctx.tolerances.no_need_margin, 1.3);
  const lrs = [0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32];
  const eta = 0.01;
  // λ1(P⁻¹H) with ratio r to Adam's threshold (2+2β1)/((1−β1)η) = 38/η.
  const ad = (r: number) => (r * 38) / eta;
  const cells = (
    post0: (lr: number, seed: number) => boolean,
    postW: (lr: number, seed: number) => boolean,
    pre0: (lr: number, seed: number) => boolean,
    preW: (lr: number, seed: number) => boolean,
    postRatio: number | null,
    o: { postDiverges?: boolean } = {},
  ) => [
    ...trials(ctx, 'post-ln_none', lrs, post0),
    ...trials(ctx, 'post-ln_warmup-50', lrs, postW),
    ...trials(ctx, 'pre-ln_none', lrs, pre0),
    ...trials(ctx, 'pre-ln_warmup-50', lrs, preW),
    ...(postRatio === null
      ? []
      : curve(
          ctx,
          'post-ln_none',
          (_, seed) => ad(postRatio * (1 + 0.01 * seed)),
          o.postDiverges ? { divergeAt: 20 } : {},
        )),
    ...curve(ctx, 'pre-ln_none', () => ad(0.5)),
  ];
  // Held: post-LN 0.01 → 0.02 (seed 1) or 0.04 (the others) with warmup: log2 ratios 1 and 2, mean
  // 11/6 ≥ log2 1.5, all positive → p = 2/64; pre-LN 0.04 either way (the upper one-sided test of
  // the ratio below 1.3: zero spread, p = 0); early ratio 2 vs 0.5.
  const held = evaluateAdamWarmup(
    cells(above(0.02), (lr, seed) => lr >= 0.08 || (lr === 0.04 && seed === 1), above(0.08), above(0.08), 2),
    ctx,
  );
  assert.deepEqual(verdicts(held), ['held', 'held', 'held'], why(held));
  assert.match(
    held[1]!.evidence,
    /per seed, log2 of the η_max ratio \(warmup-50 \/ none\): 1\.83 \[95 % t-CI [^\]]+\], sign-flip p = 0\.031 \(exact, n = 6\)/,
  );
  assert.match(held[2]!.evidence, /two-sided TOST p = 0\.000 for a ratio within 1\.3\^±1/);
  const v = held[0]!.values!;
  assert.deepEqual(
    [v.post_none_max_lr, v.post_warmup_max_lr, v.pre_none_max_lr, v.pre_warmup_max_lr],
    [0.01, 0.04, 0.04, 0.04],
  );
  close(v.post_lr_gain_log2_seed_mean as number, 11 / 6, 'post-LN mean log2 gain');
  assert.equal(v.pre_no_gain_p, 0);
  // Medians over seeds: post-LN 2 × (1 + 0.01 seed), seeds 0–5.
  close(v.post_early_precond_ratio, 2.05, 'post-LN early ratio');
  close(v.pre_early_precond_ratio, 0.5, 'pre-LN early ratio');
  // Pre-LN trains at a larger η without warmup than with it: it does not need warmup (held).
  const better = evaluateAdamWarmup(cells(above(0.02), above(0.08), above(0.08), above(0.04), 2), ctx);
  assert.equal(better[2]!.verdict, 'held', why(better));
  // Did not hold: post-LN barely sharper (0.55 ≤ 1.2 × 0.5), warmup leaves post-LN's η_max where it
  // was (TOST within 1.5^±1), and it raises pre-LN's 4× at every seed (above 1.3×: p = 2/64).
  const not = evaluateAdamWarmup(cells(above(0.02), above(0.02), above(0.08), above(0.32), 0.55), ctx);
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold', 'did not hold'], why(not));
  assert.deepEqual([not[0]!.values!.pre_none_max_lr, not[0]!.values!.pre_warmup_max_lr], [0.04, 0.16]);
  // Inconclusive: the post-LN run diverged at the common η; warmup raises post-LN's and pre-LN's
  // η_max 4× at three seeds and lowers it 2× at three.
  const mixed = split(0.32, 0.01);
  const inc = evaluateAdamWarmup(cells(above(0.02), mixed, above(0.02), mixed, 2, { postDiverges: true }), ctx);
  assert.deepEqual(verdicts(inc), ['inconclusive', 'inconclusive', 'inconclusive'], why(inc));
  assert.match(
    inc[0]!.evidence,
    /left out: seed 0, 1, 2, 3, 4, 5 .*post-ln_none diverged at the common η in 6 of 6 seeds \(seed 0 at step 20,/,
  );
  // Nothing stable anywhere and no post-LN curve run: inconclusive throughout.
  const none = evaluateAdamWarmup(cells(above(0), above(0), above(0), above(0), null), ctx);
  assert.deepEqual(verdicts(none), ['inconclusive', 'inconclusive', 'inconclusive'], why(none));
  assert.equal(none[0]!.values!.post_early_precond_ratio, null);
});

// ---------------------------------------------------------------------------------------------
// Catapult: λ0, fixed multiples of 2/λ0 and the search's trials.

const LAMBDA0 = 50;
const UNIT = 2 / LAMBDA0;

/**
 * A GD run at η = multiple × 2/λ0, logged every step for 100 steps: the train loss rises linearly
 * to `peak` × L0 (L0 = 1) at step 5 and then decays (peak 1: it decays from the start); λ1 every
 * 10 steps, λ0 at step 0 and then `finalRatio` × 2/η. `diverge`: the loss explodes by step 10.
 */
/** Seed s's λ0 (a different initialization per seed). */
const lambda0Of = (seed: number) => LAMBDA0 * (1 + 0.02 * seed);

function catRun(
  kind: 'fixed' | 'trial',
  multiple: number,
  o: { peak?: number; finalRatio?: number; diverge?: boolean } = {},
  seed = 0,
): StudyRun {
  const ctx = ctxOf('catapult', false);
  // Fixed runs sit at multiples of their own seed's 2/λ0, trials at multiples of seed 0's.
  const lr = multiple * (kind === 'fixed' ? 2 / lambda0Of(seed) : UNIT);
  const peak = o.peak ?? 1;
  const rows: MetricRow[] = [];
  for (let s = 0; s <= (o.diverge ? 10 : 100); s++) {
    const loss = o.diverge
      ? 10 ** s
      : peak > 1
        ? s <= 5
          ? 1 + ((peak - 1) * s) / 5
          : peak * Math.exp(-(s - 5) / 10)
        : Math.exp(-s / 20);
    const sharp = s % 10 !== 0 ? {} : { sharpness: s === 0 ? lambda0Of(seed) : ((o.finalRatio ?? 0.5) * 2) / lr };
    rows.push({ step: s, lr, train_loss: loss, ...sharp });
  }
  const config = withLr(resolveConfig(ctx.file.base), lr);
  const name = kind === 'fixed' ? `multiple-${multiple}_seed-${seed}` : `search_lr-${lr}_seed-${seed}`;
  return mkRun(name, config, rows, o.diverge ? 'diverged' : 'completed', {
    kind,
    multiple,
    'optimizer.lr': lr,
    'train.seed': seed,
    stable: !o.diverge,
  });
}

const lambda0Runs = (seeds: readonly number[]): StudyRun[] =>
  seeds.map((seed) =>
    mkRun(
      `lambda0_seed-${seed}`,
      resolveConfig(ctxOf('catapult', false).file.base),
      [{ step: 0, train_loss: 1, sharpness: lambda0Of(seed) }],
      'completed',
      { kind: 'lambda0', 'train.seed': seed },
    ),
  );

test('catapult: each claim a test across six seeds, with each of its verdicts', () => {
  const ctx = ctxOf('catapult', false);
  const t = ctx.tolerances;
  assert.deepEqual([t.spike_factor, t.spike_window, t.no_spike, t.final_ratio], [2, 20, 0.01, 1.05]);
  const seeds = (ctx.file.grid['train.seed'] as number[]).slice();
  assert.equal(seeds.length, 6);
  assert.equal((ctx.file as unknown as { max_lr: { seeds: number } }).max_lr.seeds, 6);
  // Trials at multiples of seed 0's 2/λ0 (seed s's λ0 is 1 + 0.02 s times larger, so 2.8 × 2/λ0 of
  // seed 0 is 2.8·(1 + 0.02 s) × its own); every η from `top` on diverges.
  const search = (top: number, o: { peak?: number } = {}) =>
    [0.7, 1.4, 2.8, 5.6].flatMap((m) =>
      seeds.map((sd) =>
        catRun('trial', m, m >= top ? { diverge: true } : m > 1 ? { peak: o.peak ?? 3, finalRatio: 0.8 } : {}, sd),
      ),
    );
  const fixed = (o: { low?: number; ratio2?: number } = {}) =>
    seeds.flatMap((sd) => [
      catRun('fixed', 0.5, { peak: o.low ?? 1 }, sd),
      catRun('fixed', 1.5, { peak: 3, finalRatio: 0.8 }, sd),
      catRun('fixed', 2, { peak: 3, finalRatio: o.ratio2 ?? 0.8 }, sd),
    ]);
  const held = evaluateCatapult([...lambda0Runs(seeds), ...fixed(), ...search(5.6)], ctx);
  assert.deepEqual(verdicts(held), ['held', 'held', 'held'], why(held));
  const [c1, c2, c3] = held.map((c) => c.values!);
  // No rise below 2/λ0: each seed's peak is L0 itself, 1 − 1.01 below the tolerance; ratio 0.5 at the end.
  close(c1!.mean_spike_excess, -0.01, 'peak minus 1.01 below 2/λ0');
  close(c1!.mean_final_excess, -0.5, 'final λ1·η/2 minus 1');
  assert.equal(c1!.p_spike, 2 / 64);
  close(c2!.mean_log_peak_excess, Math.log(3 / 2), 'log(peak / 2)');
  close(
    c3!.mean_log_multiple,
    mean(seeds.map((sd) => Math.log(2.8 * (1 + 0.02 * sd)))),
    'η_max in units of each seed’s 2/λ0',
  );
  assert.equal(c3!.p, 2 / 64);
  assert.match(held[2]!.evidence, /seed 5: η_max 3.08 × 2\/λ0, first divergence at 6.16 × 2\/λ0/);

  // Did not hold: the loss rises 30 % early below 2/λ0; runs at 2 × 2/λ0 end at λ1 = 1.5 × 2/η; the
  // search diverges from 1.4 × 2/λ0 on, so η_max = 0.7 × 2/λ0 lies below 2/λ0.
  const not = evaluateCatapult([...lambda0Runs(seeds), ...fixed({ low: 1.3, ratio2: 1.5 }), ...search(1.4)], ctx);
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold', 'did not hold'], why(not));
  // A run above its seed's first divergence that trains: no single threshold.
  const gap = evaluateCatapult(
    [...lambda0Runs(seeds), ...fixed(), ...search(5.6), catRun('trial', 11.2, { peak: 3, finalRatio: 0.8 }, 2)],
    ctx,
  );
  assert.equal(gap[2]!.verdict, 'did not hold', why(gap));
  assert.equal(gap[2]!.values!.seeds_without_single_threshold, 1);

  // Inconclusive: three seeds show the catapult's peak (3 × L0) and three a peak of 1.5 × L0 only
  // (half each way); nothing diverged (η_max not bracketed).
  const mixed = [
    ...lambda0Runs(seeds),
    ...seeds.flatMap((sd) => [
      catRun('fixed', 0.5, {}, sd),
      catRun('fixed', 1.5, { peak: sd % 2 ? 3 : 1.5, finalRatio: 0.8 }, sd),
    ]),
  ];
  const inc = evaluateCatapult(mixed, ctx);
  assert.deepEqual(verdicts(inc), ['held', 'inconclusive', 'inconclusive'], why(inc));
  // No run converged above 2/λ0: not a catapult.
  const noConv = evaluateCatapult(
    [
      ...lambda0Runs(seeds),
      ...seeds.map((sd) => catRun('fixed', 0.5, {}, sd)),
      ...seeds.map((sd) => catRun('trial', 1.4, { diverge: true }, sd)),
    ],
    ctx,
  );
  assert.equal(noConv[1]!.verdict, 'did not hold');
  assert.match(noConv[1]!.evidence, /no run converged above 2\/λ0/);
});

test('interventions-resnet: an early-curvature comparison its curve seeds left undecided is judged on the follow-up seeds alone, at α = 0.025', () => {
  const ctx = ctxOf('interventions-resnet', false);
  const plan = maxLrPlan(ctx);
  assert.deepEqual(plan.followUp?.variants, ['none', 'clip-1']);
  assert.equal(plan.followUp?.alpha, 0.025);
  assert.equal(maxLrPlan(ctxOf('interventions-resnet', true)).followUp, null);
  const eta = 0.03;
  const lrs = [0.02, 0.04, 0.08, 0.16, 0.32];
  const asFollowUp = (rs: StudyRun[]) => rs.map((r) => ({ ...r, params: { ...r.params, kind: 'follow-up' } }));
  // Clipping raises η_max at every seed (0.04 → 0.16); its early ratio over none's is 1/4 at even
  // seeds and 4 at odd ones on the study's curve seeds 0–5: undecided there.
  const base = [
    ...trials(ctx, 'none', lrs, above(0.08)),
    ...trials(ctx, 'clip-1', lrs, above(0.32)),
    ...curve(ctx, 'none', () => hb(2, eta), { eta }),
    ...curve(ctx, 'clip-1', (_s, seed) => hb(seed % 2 ? 8 : 0.5, eta), { eta }),
  ];
  const first = evaluateInterventions(base, ctx);
  assert.equal(first[1]!.verdict, 'inconclusive', why(first));
  const fu = (seeds: number, clip: number) =>
    asFollowUp([
      ...curve(ctx, 'none', () => hb(2, eta), { eta, first: 6, seeds }),
      ...curve(ctx, 'clip-1', () => hb(clip, eta), { eta, first: 6, seeds }),
    ]);
  // Eight fresh seeds where clipping's ratio is 1/4 of none's: p = 2/256 < 0.025 → held.
  const held = evaluateInterventions([...base, ...fu(8, 0.5)], ctx);
  assert.equal(held[1]!.verdict, 'held', why(held));
  assert.match(
    held[1]!.evidence,
    /follow-up on fresh seeds 6–13 at α = 0\.025 \(held \/ did not hold at p < 0\.025\): max λ1\/threshold over steps 0–100 .*medians over 8 seeds: 0\.5 vs 2; per seed log2 ratio -2 .*sign-flip p = 0\.008 \(exact, n = 8\)/,
  );
  // Clipping's ratio 4× none's: did not hold; six seeds of one sign (p = 0.031) stay undecided at 0.025.
  assert.equal(evaluateInterventions([...base, ...fu(8, 8)], ctx)[1]!.verdict, 'did not hold');
  assert.equal(evaluateInterventions([...base, ...fu(6, 0.5)], ctx)[1]!.verdict, 'inconclusive');
  // The follow-up's runs enter no other claim (no η_max, no test accuracy) and not the study's own comparison.
  const others = (cs: ClaimResult[]) => cs.filter((_c, i) => i !== 1).map((c) => [c.verdict, c.evidence]);
  assert.deepEqual(others(evaluateInterventions([...base, ...fu(8, 0.5)], ctx)), others(first));
  // Follow-up runs in a study file without follow_up: an error, not a default level.
  assert.throws(
    () => evaluateInterventions([...base, ...fu(8, 0.5)], ctxOf('interventions', true)),
    /follow-up runs, but studies\/interventions\.yaml declares no follow_up/,
  );
});

test('max-lr follow_up: only variant and train.seed, remedies of the grid, fresh seeds', () => {
  const ctx = ctxOf('interventions-resnet', false);
  const withFu = (grid: Record<string, unknown[]>) => ({
    ...ctx,
    file: { ...ctx.file, follow_up: { reason: 'r', alpha: 0.025, grid } } as typeof ctx.file,
  });
  assert.throws(
    () => maxLrPlan(withFu({ variant: ['none'], 'train.seed': [6], lr_multiple: [2] })),
    /follow_up\.grid: unknown key 'lr_multiple'/,
  );
  assert.throws(
    () => maxLrPlan(withFu({ variant: ['none', 'dropout'], 'train.seed': [6] })),
    /follow_up\.grid\.variant: must list remedies of grid\.variant/,
  );
  assert.throws(
    () => maxLrPlan(withFu({ variant: ['none'], 'train.seed': [5, 6] })),
    /follow_up\.grid\.train\.seed repeats the study's own seeds \(5\)/,
  );
  assert.throws(() => maxLrPlan(withFu({ variant: ['none'] })), /follow_up\.grid\.train\.seed: must list fresh seeds/);
});

test('adam-warmup: post-LN vs pre-LN early curvature, undecided on the curve seeds, judged on follow-up seeds alone', () => {
  const base = ctxOf('adam-warmup', false);
  const ctx = {
    ...base,
    file: {
      ...base.file,
      follow_up: { reason: 'r', alpha: 0.025, grid: { variant: ['none'], 'train.seed': [6, 7, 8, 9, 10, 11, 12, 13] } },
    } as typeof base.file,
  };
  const lrs = [0.0025, 0.005, 0.01, 0.02, 0.04];
  const eta = 0.01;
  const ad = (r: number) => (r * 38) / eta;
  const asFollowUp = (rs: StudyRun[]) => rs.map((r) => ({ ...r, params: { ...r.params, kind: 'follow-up' } }));
  const study = [
    ...['post-ln_none', 'post-ln_warmup-50', 'pre-ln_none', 'pre-ln_warmup-50'].flatMap((c) =>
      trials(ctx, c, lrs, above(0.04)),
    ),
    // Post-LN 4× pre-LN at even seeds, 1/4 at odd ones: undecided.
    ...curve(ctx, 'post-ln_none', (_s, seed) => ad(seed % 2 ? 0.125 : 2)),
    ...curve(ctx, 'pre-ln_none', () => ad(0.5)),
  ];
  const first = evaluateAdamWarmup(study, ctx);
  assert.equal(first[0]!.verdict, 'inconclusive', why(first));
  const fu = (seeds: number, post: number) =>
    asFollowUp([
      ...curve(ctx, 'post-ln_none', (_s, seed) => ad(post * (1 + 0.01 * seed)), { first: 6, seeds }),
      ...curve(ctx, 'pre-ln_none', () => ad(0.5), { first: 6, seeds }),
    ]);
  const held = evaluateAdamWarmup([...study, ...fu(8, 2)], ctx);
  assert.equal(held[0]!.verdict, 'held', why(held));
  assert.match(
    held[0]!.evidence,
    /→ inconclusive\. Follow-up on fresh seeds 6–13 at α = 0\.025 \(held \/ did not hold at p < 0\.025\): post-LN over pre-LN, per seed log2 ratio 2\.\d+ .*sign-flip p = 0\.008 \(exact, n = 8\).* → held\./,
  );
  assert.equal(evaluateAdamWarmup([...study, ...fu(8, 0.125)], ctx)[0]!.verdict, 'did not hold');
  assert.equal(evaluateAdamWarmup([...study, ...fu(6, 2)], ctx)[0]!.verdict, 'inconclusive');
  // The η_max claims are the searches' alone.
  assert.deepEqual(
    evaluateAdamWarmup([...study, ...fu(8, 2)], ctx)
      .slice(1)
      .map((c) => c.evidence),
    first.slice(1).map((c) => c.evidence),
  );
});
