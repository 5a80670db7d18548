/**
 * eos-gd on synthetic runs: under cross-entropy the hovering is judged before the train accuracy
 * saturates (λ1 falls after that, as it should); across seeds the mean median ratio and its
 * interval decide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import { eosGdRunClaims, evaluateEosGd } from '../../src/studies/eos-gd.ts';
import { restrictPhase, saturationStep } from '../../src/studies/claims/eos.ts';
import { edgeOfStability } from '../../src/studies/measures.ts';
import { finishedSummary } from './summaries.ts';

const t = loadStudyFile('eos-gd').tolerances;

function synthetic(o: {
  lr: number;
  loss: 'mse' | 'cross-entropy';
  seed?: number;
  steps: number;
  sharp: (s: number) => number;
  acc: (s: number) => number;
  trainLoss: (s: number) => number;
}): StudyRun {
  const rows: MetricRow[] = [];
  for (let s = 0; s <= o.steps; s++) {
    const row: Record<string, unknown> = {
      step: s,
      lr: o.lr,
      train_loss: o.trainLoss(s),
      train_acc: o.acc(s),
      threshold: 2 / o.lr,
    };
    if (s % 10 === 0) row.sharpness = o.sharp(s);
    rows.push(row as MetricRow);
  }
  const seed = o.seed ?? 0;
  return {
    name: `${o.loss}-${o.lr}-${seed}`,
    params: { 'optimizer.lr': o.lr, ...(o.seed !== undefined ? { 'train.seed': seed } : {}) },
    dir: '',
    rows,
    config: resolveConfig({ loss: o.loss, optimizer: { name: 'gd', lr: o.lr }, train: { steps: o.steps, seed } }),
    summary: finishedSummary({
      status: 'completed',
      reason: null,
      steps: o.steps,
      final: { train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: null },
    }),
  };
}

// Loss oscillating on a falling trend while at the edge (non-monotone, falling over 100-step windows).
const edgeLoss = (s: number) => Math.exp(-s / 800) * (1 + (s > 300 ? 0.05 * Math.sin(s) : 0));

test('cross-entropy: hovering until the accuracy saturates holds although λ1 falls afterwards', () => {
  // 2/η = 4: sharpening 2 → 4 by step 300, ±3 % at 4 until the accuracy saturates at step 900, then λ1 falls to 1.
  const sharp = (s: number) =>
    s < 300 ? 2 + (2 * s) / 300 : s < 900 ? 4 * (1 + 0.03 * Math.sin(s / 7)) : Math.max(1, 4 - (s - 900) / 100);
  const acc = (s: number) => Math.min(1, 0.1 + s / 1000);
  const r = synthetic({ lr: 0.5, loss: 'cross-entropy', steps: 3000, sharp, acc, trainLoss: edgeLoss });
  assert.equal(saturationStep(r.rows, 0.99), 890);
  const c = eosGdRunClaims(r, t);
  assert.equal(c.length, 3);
  for (const x of c) assert.equal(x.verdict, 'held', `${x.claim}: ${x.evidence}`);
  assert.equal(c[1]!.values!.saturation_step, 890);
  // Judged over the whole remainder (as for MSE), the fall after saturation would fail it.
  const e = edgeOfStability(r.rows, { fraction: t.reach_fraction! });
  assert.ok(e.median < t.ratio_lo!, `whole-run median ${e.median}`);
  assert.ok(Math.abs(restrictPhase(e, r.rows, 890).median - 1) < 0.03);
  // A cross-entropy run whose λ1 falls right after crossing, long before saturation: did not hold.
  const early = synthetic({
    lr: 0.5,
    loss: 'cross-entropy',
    steps: 3000,
    sharp: (s) => (s < 300 ? 2 + (2 * s) / 300 : 2.5),
    acc: (s) => Math.min(1, 0.1 + s / 3000),
    trainLoss: edgeLoss,
  });
  assert.equal(eosGdRunClaims(early, t)[1]!.verdict, 'did not hold');
  // Saturation before the crossing: nothing to judge.
  const sat = synthetic({ lr: 0.5, loss: 'cross-entropy', steps: 3000, sharp, acc: () => 1, trainLoss: edgeLoss });
  assert.equal(eosGdRunClaims(sat, t)[1]!.verdict, 'inconclusive');
});

const SEEDS = [0, 1, 2, 3, 4, 5];
/** Six seeds of one MSE cell (2/η = 20): λ1 by `sharp(step, seed)`, the loss by `trainLoss(step, seed)`. */
const cell = (sharp: (s: number, seed: number) => number, trainLoss: (s: number, seed: number) => number = edgeLoss) =>
  evaluateEosGd(
    SEEDS.map((seed) =>
      synthetic({
        lr: 0.1,
        loss: 'mse',
        seed,
        steps: 1000,
        sharp: (s) => sharp(s, seed),
        acc: () => 0.5,
        trainLoss: (s) => trainLoss(s, seed),
      }),
    ),
    { tolerances: t },
  );
const rising = (s: number, seed: number, level = 1) =>
  s < 300 ? 10 + (10 * s) / 300 : 20 * level * (1 + 0.03 * Math.sin(s / 7 + seed));

test('a cell of six seeds: one row per claim, each a test across the seeds', () => {
  const c = cell((s, seed) => rising(s, seed, 1 + 0.01 * (seed - 2.5)));
  assert.equal(c.length, 3);
  for (const x of c) assert.equal(x.verdict, 'held', `${x.claim}: ${x.evidence}`);
  assert.match(c[0]!.claim, /^\[mse, η = 0\.1 \(2\/η = 20\), 6 seeds\] Progressive sharpening/);
  // Six seeds with the same sign: the exact sign-flip p is 2/64.
  assert.equal(c[0]!.values!.p, 2 / 64);
  assert.equal(c[1]!.values!.n, 6);
  assert.ok((c[1]!.values!.tost_p as number) < 1e-4, 'six medians within ±3 % of 1');
  assert.match(c[1]!.evidence, /seed 5: median 1\.0\d/);
  assert.equal(c[2]!.values!.p, 2 / 64);
  // One seed: no test can decide.
  const one = evaluateEosGd(
    [synthetic({ lr: 0.1, loss: 'mse', steps: 1000, sharp: (s) => rising(s, 0), acc: () => 0.5, trainLoss: edgeLoss })],
    { tolerances: t },
  );
  for (const x of one) assert.equal(x.verdict, 'inconclusive', x.evidence);
});

test('cell claim 1 (sharpening): held, inconclusive when a seed does not reach 0.9·2/η, did not hold when λ1 falls', () => {
  assert.equal(cell((s, seed) => rising(s, seed))[0]!.verdict, 'held');
  // Five seeds reach it; one rises 10 → 14 without reaching it within the budget.
  const oneShort = cell((s, seed) => (seed === 3 ? 10 + (4 * s) / 1000 : rising(s, seed)))[0]!;
  assert.equal(oneShort.verdict, 'inconclusive', oneShort.evidence);
  assert.match(oneShort.evidence, /5 of 6 seeds reached/);
  // λ1 falls 12 → 6 in every seed: the rise is below the minimum rise at p < 0.05.
  const down = cell((s, seed) => 12 - (6 * s) / 1000 + 0.2 * Math.sin(s / 30 + seed))[0]!;
  assert.equal(down.verdict, 'did not hold', down.evidence);
  // Every seed starts above 0.9·2/η and stays there: nothing to judge.
  const above = cell((s, seed) => rising(300, seed))[0]!;
  assert.equal(above.verdict, 'inconclusive', above.evidence);
  assert.match(above.evidence, /6 started above it and never fell below: left out/);
});

test('cell claim 2 (hovering): held inside the band, inconclusive across its edge, did not hold below it or too wide', () => {
  assert.equal(cell((s, seed) => rising(s, seed))[1]!.verdict, 'held');
  // Medians 0.95 or 1.25 by seed, across the band's upper edge: inconclusive.
  const wide = cell((s, seed) => rising(s, seed, seed % 2 ? 1.25 : 0.95))[1]!;
  assert.equal(wide.verdict, 'inconclusive', wide.evidence);
  // Reached 0.9·2/η once, then settled at 0.7·2/η: below the band.
  const low = cell((s, seed) => (s === 300 ? 18.5 : s < 300 ? 10 : 14 + 0.1 * seed))[1]!;
  assert.equal(low.verdict, 'did not hold', low.evidence);
  // Centred on 2/η but swinging ±40 %: the interquartile spreads exceed 0.2.
  const swing = cell((s, seed) => (s < 300 ? 10 + (10 * s) / 300 : 20 * (1 + 0.4 * Math.sin(s / 7 + seed))))[1]!;
  assert.equal(swing.verdict, 'did not hold', swing.evidence);
  assert.match(swing.evidence, /too wide/);
});

test('cell claim 3 (the loss): held falling, did not hold rising or monotone, inconclusive without a trend', () => {
  const sharp = (s: number, seed: number) => rising(s, seed);
  assert.equal(cell(sharp)[2]!.verdict, 'held');
  const up = cell(sharp, (s, seed) => Math.exp(s / 3000) * (1 + 0.05 * Math.sin(s + seed)))[2]!;
  assert.equal(up.verdict, 'did not hold', up.evidence);
  const monotone = cell(sharp, (s) => Math.exp(-s / 800))[2]!;
  assert.equal(monotone.verdict, 'did not hold', monotone.evidence);
  assert.match(monotone.evidence, /rose ≥ 3 times in 0 of 6 seeds/);
  // Falling in three seeds, rising in three: no trend across seeds.
  const mixed = cell(
    sharp,
    (s, seed) => Math.exp(((seed % 2 ? 1 : -1) * s) / 3000) * (1 + 0.05 * Math.sin(s + seed)),
  )[2]!;
  assert.equal(mixed.verdict, 'inconclusive', mixed.evidence);
});

test('the per-run loss claim: a Mann–Kendall test on window means gives each of the three verdicts', () => {
  const sharp = (s: number) => (s < 300 ? 10 + (10 * s) / 300 : 20 * (1 + 0.03 * Math.sin(s / 7)));
  const mse = (trainLoss: (s: number) => number, steps = 3000) =>
    eosGdRunClaims(synthetic({ lr: 0.1, loss: 'mse', steps, sharp, acc: () => 0.5, trainLoss }), t)[2]!;
  // Oscillating on a falling trend: held, with S, p, n and Sen's slope in the evidence.
  const falling = mse(edgeLoss);
  assert.equal(falling.verdict, 'held', falling.evidence);
  assert.match(
    falling.evidence,
    /Mann–Kendall S = -\d+, p = [\d.e-]+ \(normal approx\., n = 2\d\), Sen slope -[\d.e-]+\/window/,
  );
  assert.ok((falling.values!.mann_kendall_s as number) < 0 && (falling.values!.mann_kendall_p as number) < 0.05);
  // Oscillating on a rising trend: did not hold.
  const rising = mse((s) => Math.exp(s / 3000) * (1 + 0.05 * Math.sin(s)));
  assert.equal(rising.verdict, 'did not hold', rising.evidence);
  // Oscillating around a constant level with no trend (window means alternate): inconclusive.
  const level = mse((s) => 1 + 0.05 * Math.sin(s) + (Math.floor(s / 100) % 2 ? 0.01 : -0.01));
  assert.equal(level.verdict, 'inconclusive', level.evidence);
  // A monotone falling loss is not the claimed non-monotone one: did not hold.
  assert.equal(mse((s) => Math.exp(-s / 800)).verdict, 'did not hold');
  // Too few windows for a trend test (4 × 100 steps after the crossing): inconclusive.
  const short = mse(edgeLoss, 700);
  assert.equal(short.verdict, 'inconclusive', short.evidence);
  assert.match(short.evidence, /only 4 full windows/);
});

test('the per-run sharpening claim gives each of the three verdicts', () => {
  const claim = (sharp: (s: number) => number) =>
    eosGdRunClaims(synthetic({ lr: 0.1, loss: 'mse', steps: 1000, sharp, acc: () => 0.5, trainLoss: edgeLoss }), t)[0]!;
  // From 10 to 2/η = 20 by step 300: held.
  assert.equal(claim((s) => (s < 300 ? 10 + (10 * s) / 300 : 20)).verdict, 'held');
  // Rising slowly, 10 → 14 over the budget, never reaching 0.9·2/η: inconclusive (it may yet).
  const slow = claim((s) => 10 + (4 * s) / 1000);
  assert.equal(slow.verdict, 'inconclusive', slow.evidence);
  // Falling over the budget, 12 → 6 with wiggles, never reaching 0.9·2/η: did not hold.
  const down = claim((s) => 12 - (6 * s) / 1000 + 0.2 * Math.sin(s / 30));
  assert.equal(down.verdict, 'did not hold', down.evidence);
  assert.match(
    down.evidence,
    /over the run: Mann–Kendall S = -\d+, p = [\d.e-]+ \(normal approx\., n = \d+\).*, λ1 falls/,
  );
});
