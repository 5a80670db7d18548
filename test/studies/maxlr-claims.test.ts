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
function catRun(
  kind: 'fixed' | 'trial',
  multiple: number,
  o: { peak?: number; finalRatio?: number; diverge?: boolean } = {},
  seed = 0,
): StudyRun {
  const ctx = ctxOf('catapult', false);
  const lr = multiple * UNIT;
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
    const sharp = s % 10 !== 0 ? {} : { sharpness: s === 0 ? LAMBDA0 : ((o.finalRatio ?? 0.5) * 2) / lr };
    rows.push({ step: s, lr, train_loss: loss, ...sharp });
  }
  const config = withLr(resolveConfig(ctx.file.base), lr);
  const name = kind === 'fixed' ? `multiple-${multiple}` : `search_lr-${lr}_seed-${seed}`;
  return mkRun(name, config, rows, o.diverge ? 'diverged' : 'completed', {
    kind,
    multiple,
    'optimizer.lr': lr,
    'train.seed': seed,
    stable: !o.diverge,
  });
}

const lambda0Run = (): StudyRun =>
  mkRun(
    'lambda0',
    resolveConfig(ctxOf('catapult', false).file.base),
    [{ step: 0, train_loss: 1, sharpness: LAMBDA0 }],
    'completed',
    { kind: 'lambda0' },
  );

test('catapult: no spike below 2/λ0, spike then λ1 < 2/η above it, divergence beyond η_max > 2/λ0', () => {
  const ctx = ctxOf('catapult', false);
  const t = ctx.tolerances;
  assert.deepEqual([t.spike_factor, t.spike_window, t.no_spike, t.final_ratio], [2, 20, 0.01, 1.05]);
  // Every trial η runs the study's max_lr.seeds seeds (the same behaviour at each).
  const seeds = Array.from(
    { length: (ctx.file as unknown as { max_lr: { seeds: number } }).max_lr.seeds },
    (_, i) => i,
  );
  const search = (top: number) =>
    [0.7, 1.4, 2.8, 5.6].flatMap((m) =>
      seeds.map((sd) =>
        catRun('trial', m, m >= top ? { diverge: true } : m > 1 ? { peak: 3, finalRatio: 0.8 } : {}, sd),
      ),
    );
  const fixed = [
    catRun('fixed', 0.5),
    catRun('fixed', 1.5, { peak: 3, finalRatio: 0.8 }),
    catRun('fixed', 2, { peak: 3, finalRatio: 0.8 }),
  ];
  const held = evaluateCatapult([lambda0Run(), ...fixed, ...search(5.6)], ctx);
  assert.deepEqual(verdicts(held), ['held', 'held', 'held'], why(held));
  const [c1, c2, c3] = held.map((c) => c.values!);
  close(c1!['spike@0.5'], 1, 'no spike at 0.5×');
  close(c1!['final_ratio@0.7'], 0.5, 'final ratio at 0.7×');
  close(c2!['spike@1.5'], 3, 'spike at 1.5×');
  close(c2!['final_ratio@2.8'], 0.8, 'final ratio at 2.8×');
  close(c3!.lambda0, LAMBDA0, 'λ0');
  close(c3!.eta_max, 2.8 * UNIT, 'η_max');
  close(c3!.eta_max_multiple, 2.8, 'η_max / (2/λ0)');
  close(c3!.next_unstable, 5.6 * UNIT, 'next unstable');
  assert.equal(c3!.diverged_below_eta_max, 0);

  // Did not hold: the 0.5× run's loss rises 30 % early; the 2× run ends at λ1 = 1.5 × 2/η; the
  // search diverges from 1.4 × 2/λ0 on, so η_max = 0.7 × 2/λ0 lies below 2/λ0.
  const bad = [
    catRun('fixed', 0.5, { peak: 1.3 }),
    catRun('fixed', 1.5, { peak: 3, finalRatio: 0.8 }),
    catRun('fixed', 2, { peak: 3, finalRatio: 1.5 }),
  ];
  const not = evaluateCatapult([lambda0Run(), ...bad, ...search(1.4)], ctx);
  assert.deepEqual(verdicts(not), ['did not hold', 'did not hold', 'did not hold'], why(not));
  close(not[0]!.values!['spike@0.5'], 1.3, 'spike at 0.5×');
  close(not[1]!.values!['final_ratio@2'], 1.5, 'final ratio at 2×');
  close(not[2]!.values!.eta_max_multiple, 0.7, 'η_max / (2/λ0)');
  // η_max > 2/λ0 and every trial above it diverged (true of trials by the definition of η_max),
  // but a fixed run below η_max diverged: no single threshold, not held.
  const gap = evaluateCatapult(
    [lambda0Run(), fixed[0]!, fixed[1]!, catRun('fixed', 2, { diverge: true }), ...search(5.6)],
    ctx,
  );
  assert.deepEqual(verdicts(gap), ['held', 'held', 'did not hold'], why(gap));
  assert.equal(gap[2]!.values!.diverged_below_eta_max, 1);
  assert.match(gap[2]!.evidence, /below it diverged: 2×/);

  // Inconclusive: no run below 2/λ0, and nothing diverged (no η above η_max was tried); runs above
  // 2/λ0 that peak at 1.5 × L0 only are no catapult; nor is it one when no run converged above 2/λ0.
  const quiet = [1.4, 2.8].flatMap((m) => seeds.map((sd) => catRun('trial', m, { peak: 1.5, finalRatio: 0.8 }, sd)));
  const none = evaluateCatapult([lambda0Run(), ...quiet], ctx);
  assert.deepEqual(verdicts(none), ['inconclusive', 'did not hold', 'inconclusive'], why(none));
  close(none[1]!.values!['spike@1.4'], 1.5, 'spike below the factor');
  const noConv = evaluateCatapult(
    [lambda0Run(), catRun('fixed', 0.5), ...seeds.map((sd) => catRun('trial', 1.4, { diverge: true }, sd))],
    ctx,
  );
  assert.equal(noConv[1]!.verdict, 'did not hold');
  assert.match(noConv[1]!.evidence, /no run converged above 2\/λ0/);
});
