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
import { evaluateWarmup, maxLrPlan } from '../../src/studies/warmup.ts';
import { evaluateInterventions } from '../../src/studies/interventions.ts';
import { evaluateAdamWarmup } from '../../src/studies/adam-warmup.ts';
import { evaluateCatapult } from '../../src/studies/catapult.ts';
import { mean } from '../../src/studies/measures.ts';

type Status = 'completed' | 'diverged';

function ctxOf(name: string, quick: boolean) {
  const file = loadStudyFile(name);
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
    summary: {
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
      started_at: '',
      updated_at: '',
      finished_at: '',
      elapsed_s: 1,
    },
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
  testAcc = 0.8,
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
          test_acc: d ? null : testAcc,
        }),
      );
    }
  }
  return out;
}

/** Diverges at and above `eta`: η_max is the largest tried η below it. */
const above = (eta: number) => (lr: number) => lr >= eta;

/**
 * The curve run of a cell at the study's common η: λ1 (λ1(P⁻¹H) for Adam) every 4 steps such that
 * λ1/threshold at the row's η_t (linear warmup) is `ratio(step)` × (η/η_t): a curvature λ with
 * ratio r at the full η. `divergeAt` ends the run there, diverged.
 */
function curve(
  ctx: Ctx,
  cellName: string,
  lambda: (step: number) => number,
  o: { upTo?: number; divergeAt?: number } = {},
): StudyRun {
  const plan = maxLrPlan(ctx);
  const cell = plan.cells.find((c) => c.name === cellName)!;
  const cv = plan.curves!;
  const eta = typeof cv.lr === 'number' ? cv.lr : cv.lr[cell.model]!;
  const c = withLr(cell.config!, eta);
  const warm = c.schedule.warmup_steps;
  const adam = c.optimizer.name === 'adam';
  const rows: MetricRow[] = [];
  const end = o.divergeAt ?? o.upTo ?? 200;
  for (let s = 0; s <= end; s += 4) {
    const lr = warm > 0 ? eta * Math.min(1, (s + 1) / warm) : eta;
    const threshold = adam
      ? (2 + 2 * c.optimizer.beta1) / ((1 - c.optimizer.beta1) * lr)
      : (2 + 2 * c.optimizer.momentum) / lr;
    const v = lambda(s);
    rows.push({
      step: s,
      lr,
      train_loss: 1,
      threshold,
      threshold_quantity: adam ? 'preconditioned_sharpness' : 'sharpness',
      ...(adam ? { sharpness: v / 100, precond_sharpness: v } : { sharpness: v }),
    });
  }
  return mkRun(`${cellName}_curve`, c, rows, o.divergeAt !== undefined ? 'diverged' : 'completed', {
    model: cell.model,
    variant: cell.variant,
    kind: 'curve',
    'optimizer.lr': eta,
    'train.seed': 0,
  });
}

/** λ1 whose ratio to the full-η heavy-ball threshold 3.8/η is r. */
const hb = (r: number, eta: number) => (r * 3.8) / eta;
const close = (a: unknown, b: number, what: string) =>
  assert.ok(typeof a === 'number' && Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${String(a)} vs ${b}`);
const verdicts = (cs: ClaimResult[]) => cs.map((c) => c.verdict);
const why = (cs: ClaimResult[]) => cs.map((c) => `${c.verdict}: ${c.evidence}`).join('\n');

test('warmup: held, did not hold and inconclusive, with the η_max and post-warmup ratios behind them', () => {
  const ctx = ctxOf('warmup', true);
  assert.deepEqual(maxLrPlan(ctx).variants, ['none', 'warmup-100']);
  const eta = 4; // quick curves.lr
  const lrs = [0.16, 0.32, 0.64, 1.28, 2.56];
  // Held: warmup raises η_max 0.32 → 1.28 (4× ≥ 1.5×, above none's next unstable 0.64) and ends
  // its warmup at λ1/threshold 0.5 where the run without warmup sits at 3.
  const none = trials(ctx, 'none', lrs, above(0.64));
  const held = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', lrs, above(2.56)),
      curve(ctx, 'none', () => hb(3, eta)),
      curve(ctx, 'warmup-100', (s) => hb(s < 100 ? 3 : 0.5, eta)),
    ],
    ctx,
  );
  assert.deepEqual(verdicts(held), ['held', 'held'], why(held));
  const v = held[1]!.values!;
  assert.equal(v['fc-tanh.none.max_lr'], 0.32);
  assert.equal(v['fc-tanh.warmup-100.max_lr'], 1.28);
  close(v['fc-tanh.warmup-100.lr_gain'], 4, 'lr gain');
  assert.equal(v['fc-tanh.warmup-100.raised'], 'raised');
  // Beside the seed rule, each seed's own η_max paired by seed (one seed in the quick study: no test).
  assert.equal(v['fc-tanh.warmup-100.lr_gain_log2_seed_mean'], 2);
  assert.match(
    held[1]!.evidence,
    /per seed, log2 of the η_max ratio 2, sign-flip p = 1\.000 \(exact, n = 1\) \(inconclusive by the paired test\)/,
  );
  const e = held[0]!.values!;
  close(e['fc-tanh.warmup-100.max_ratio_after_warmup'], 0.5, 'warmup ratio after step 100');
  close(e['fc-tanh.none.max_ratio_after_warmup.warmup-100'], 3, 'none ratio after step 100');
  // Inside the warmup (not judged) the ratio is divided by the threshold at η_t: at step 96, η_t = 0.97 η.
  close(e['fc-tanh.warmup-100.max_early_ratio'], 3 * 0.97, 'ratio inside the warmup');
  assert.match(held[0]!.evidence, /steps 100–200/);

  // Did not hold: the same η_max with warmup, and the same curvature once the warmup is over
  // (inside it the ratio is small only because η_t is).
  const not = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', lrs, above(0.64)),
      curve(ctx, 'none', () => hb(3, eta)),
      curve(ctx, 'warmup-100', () => hb(3, eta)),
    ],
    ctx,
  );
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold'], why(not));
  assert.equal(not[1]!.values!['fc-tanh.warmup-100.raised'], 'not raised');
  close(not[0]!.values!['fc-tanh.warmup-100.max_ratio_after_warmup'], 3, 'equal ratio');
  // A small raise (0.32 → 0.4 < 1.5 × 0.32) is neither; a run without warmup that diverged before
  // the window gives no curvature comparison.
  const unclear = evaluateWarmup(
    [
      ...none,
      ...trials(ctx, 'warmup-100', [0.16, 0.32, 0.4, 0.8], above(0.8)),
      curve(ctx, 'none', () => hb(3, eta), { divergeAt: 40 }),
      curve(ctx, 'warmup-100', () => hb(0.5, eta)),
    ],
    ctx,
  );
  assert.deepEqual(verdicts(unclear), ['inconclusive', 'inconclusive'], why(unclear));
  assert.equal(unclear[1]!.values!['fc-tanh.warmup-100.raised'], 'unclear');
  assert.equal(unclear[0]!.values!['fc-tanh.none.max_ratio_after_warmup.warmup-100'], null);
  assert.match(unclear[0]!.evidence, /diverged before the window ended/);
  // Neither diverged anywhere in the range: both η_max are its top, which says nothing either way.
  const censored = evaluateWarmup(
    [...trials(ctx, 'none', lrs, () => false), ...trials(ctx, 'warmup-100', lrs, () => false)],
    ctx,
  );
  assert.equal(censored[1]!.verdict, 'inconclusive', censored[1]!.evidence);
  assert.deepEqual(
    [censored[1]!.values!['fc-tanh.none.max_lr'], censored[1]!.values!['fc-tanh.warmup-100.raised']],
    [2.56, 'unclear'],
  );
  // Without curve runs there is no curvature comparison.
  assert.equal(censored[0]!.verdict, 'inconclusive');
  assert.match(censored[0]!.evidence, /no early-curvature measurement/);
});

test('interventions: every remedy raises η_max, by lowering early curvature, warmup as good as the best', () => {
  const ctx = ctxOf('interventions', true);
  const remedies = maxLrPlan(ctx).variants.filter((v) => v !== 'none');
  assert.deepEqual(remedies, ['warmup-100', 'clip-1', 'layernorm', 'init-scale-0.5']);
  const t = ctx.tolerances;
  const eta = 2;
  const lrs = [0.32, 0.64, 1.28, 2.56, 5.12];
  const none = [...trials(ctx, 'none', lrs, above(0.64)), curve(ctx, 'none', () => hb(2, eta))];
  // Held: each remedy 0.32 → 1.28 with the early ratio 0.5 (after warmup-100's warmup, for it).
  const good = remedies.flatMap((r) => [
    ...trials(ctx, r, lrs, above(2.56)),
    curve(ctx, r, (s) => hb(r === 'warmup-100' && s < 100 ? 2 : 0.5, eta)),
  ]);
  const held = evaluateInterventions([...none, ...good], ctx);
  assert.deepEqual(verdicts(held), ['held', 'held', 'held'], why(held));
  const v = held[0]!.values!;
  assert.equal(v['fc-tanh.none.max_lr'], 0.32);
  for (const r of remedies) {
    assert.equal(v[`fc-tanh.${r}.max_lr`], 1.28);
    assert.equal(v[`fc-tanh.${r}.raised`], 'raised');
    assert.equal(v[`fc-tanh.${r}.test_acc`], 0.8);
    close(v[`fc-tanh.${r}.max_ratio_compared`], 0.5, `${r} ratio`);
  }
  close(v['fc-tanh.warmup_over_best'], 1, 'warmup / best');
  assert.match(held[1]!.evidence, /warmup-100 0\.5 vs none 2 over steps 100–160/);
  assert.match(held[1]!.evidence, /clip-1 0\.5 vs none 2 over steps 0–60/);

  // Did not hold: clipping does not raise η_max; LayerNorm raises it without lowering the early
  // ratio; warmup (0.32 × factor 2) falls short of the best other remedy (1.28).
  const bad = remedies.flatMap((r) => {
    const top = r === 'clip-1' || r === 'warmup-100' ? 0.64 : 2.56;
    return [...trials(ctx, r, lrs, above(top)), curve(ctx, r, () => hb(r === 'layernorm' ? 2 : 0.5, eta))];
  });
  const not = evaluateInterventions([...none, ...bad], ctx);
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold', 'did not hold'], why(not));
  assert.equal(not[0]!.values!['fc-tanh.clip-1.raised'], 'not raised');
  close(not[0]!.values!['fc-tanh.layernorm.max_ratio_compared'], 2, 'layernorm ratio');
  close(not[0]!.values!['fc-tanh.warmup_over_best'], 0.25, 'warmup / best');
  assert.ok(0.32 * t.as_effective_factor! < 1.28);
  // Inconclusive: every remedy only a little above none (0.4 < 1.5 × 0.32), so none raised and
  // the curvature claim has nothing to judge; warmup equals the best other remedy.
  const small = remedies.flatMap((r) => [
    ...trials(ctx, r, [0.32, 0.4, 0.8], above(0.8)),
    curve(ctx, r, () => hb(0.5, eta)),
  ]);
  const unclear = evaluateInterventions([...none, ...small], ctx);
  assert.deepEqual(verdicts(unclear), ['inconclusive', 'inconclusive', 'held'], why(unclear));
  assert.match(unclear[1]!.evidence, /no remedy raised η_max/);
});

test('adam-warmup: post-LN sharper early and helped by warmup, pre-LN not; the seed rule decides η_max', () => {
  const ctx = ctxOf('adam-warmup', false);
  const plan = maxLrPlan(ctx);
  assert.deepEqual([plan.maxLr.seeds, plan.maxLr.rule], [6, 'all']);
  const lrs = [0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16];
  const eta = 0.01;
  // λ1(P⁻¹H) with ratio r to Adam's threshold (2+2β1)/((1−β1)η) = 38/η.
  const ad = (r: number) => (r * 38) / eta;
  const cells = (
    post0: number,
    postW: (lr: number, seed: number) => boolean,
    pre0: number,
    preW: number,
    postRatio: number | null,
  ) => [
    ...trials(ctx, 'post-ln_none', lrs, above(post0)),
    ...trials(ctx, 'post-ln_warmup-50', lrs, postW),
    ...trials(ctx, 'pre-ln_none', lrs, above(pre0)),
    ...trials(ctx, 'pre-ln_warmup-50', lrs, above(preW)),
    ...(postRatio === null ? [] : [curve(ctx, 'post-ln_none', () => ad(postRatio))]),
    curve(ctx, 'pre-ln_none', () => ad(0.5)),
  ];
  // Held: post-LN 0.01 → 0.02 with warmup (one seed of two diverges at 0.04: rule 'all' makes 0.04
  // unstable), 2 × and at none's next diverged η 0.02; pre-LN 0.04 either way; early ratio 2 vs 0.5.
  const held = evaluateAdamWarmup(
    cells(0.02, (lr, seed) => lr >= 0.08 || (lr === 0.04 && seed === 1), 0.08, 0.08, 2),
    ctx,
  );
  assert.deepEqual(verdicts(held), ['held', 'held', 'held'], why(held));
  // Beside the seed rule, the η_max ratio paired by seed: post-LN seed 1 diverges at 0.04 with
  // warmup (its own η_max 0.02, log2 ratio 1), the five others not until 0.08 (0.04, log2 ratio 2):
  // mean 11/6, all six positive → p = 2/64. Pre-LN: 0 at every seed, with the TOST test.
  assert.match(
    held[1]!.evidence,
    /Per seed, log2 of the η_max ratio \(warmup-50 \/ none\): 1\.83 \[95 % t-CI [^\]]+\], sign-flip p = 0\.031 \(exact, n = 6\)/,
  );
  assert.match(
    held[2]!.evidence,
    /Per seed, log2 of the η_max ratio \(warmup-50 \/ none\): 0 \[95 % t-CI 0, 0\], sign-flip p = 1\.000 \(exact, n = 6\), TOST p = 0\.000 for \|effect\| < 0\.585/,
  );
  const v = held[0]!.values!;
  assert.deepEqual(
    [v.post_none_max_lr, v.post_warmup_max_lr, v.pre_none_max_lr, v.pre_warmup_max_lr],
    [0.01, 0.02, 0.04, 0.04],
  );
  assert.equal(v.post_none_max_trained_lr, 0.01);
  close(v.post_early_precond_ratio, 2, 'post-LN early ratio');
  close(v.pre_early_precond_ratio, 0.5, 'pre-LN early ratio');
  // Did not hold: post-LN barely sharper (0.55 ≤ 1.2 × 0.5), warmup does not raise its η_max, and
  // it raises pre-LN's 4×.
  const not = evaluateAdamWarmup(cells(0.02, above(0.02), 0.08, 0.32, 0.55), ctx);
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold', 'did not hold'], why(not));
  assert.deepEqual([not[0]!.values!.pre_none_max_lr, not[0]!.values!.pre_warmup_max_lr], [0.04, 0.16]);
  // Inconclusive: no post-LN curve run, and every η diverges for both LN placements without and with warmup.
  const none = evaluateAdamWarmup(cells(0, above(0), 0, 0, null), ctx);
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
