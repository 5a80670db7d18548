// Trial outcomes and η_max by divergence, on synthetic runs with closed-form behaviour: the loss
// of a run at η is L(t) = exp(−η t) (so the target L ≤ e^−10 is first met at t = ⌈10/η⌉) when
// η < 1, and the run diverges (at step 3) when η ≥ 1. With a budget of 100 steps, η < 0.1
// cannot reach the target: too slow, not unstable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  classifyRun,
  constantPredictor,
  findMaxStableLr,
  readMaxLrFile,
  resolveMaxLrSettings,
  runMaxLrExperiment,
  summarizeTrials,
  type RunRecord,
  type Trial,
  type TrialTarget,
} from '../../src/experiments/maxLr.ts';
import { resolveConfig } from '../../src/experiments/config.ts';

const BUDGET = 100;
const TARGET: TrialTarget = { loss: Math.exp(-10), acc: null };
const final = (l: number | null) => ({
  train_loss: l,
  train_acc: null,
  test_loss: null,
  test_acc: null,
  sharpness: null,
});

/** A finished synthetic run at η (see the file comment); `spikeAt` adds a loss of 3·L0 at that step. */
function syntheticRun(lr: number, o: { spikeAt?: number; stopAtTarget?: boolean } = {}): RunRecord {
  if (lr >= 1) {
    const at = 3;
    return {
      summary: { status: 'diverged', reason: `train loss above 10 at step ${at}`, steps: at, final: final(null) },
      rows: [
        { step: 0, train_loss: 1 },
        { step: 1, train_loss: 5 },
      ],
    };
  }
  const rows = [];
  let last = 1;
  for (let t = 0; t <= BUDGET; t++) {
    last = t === o.spikeAt ? 3 : Math.exp(-lr * t);
    rows.push({ step: t, train_loss: last });
    if (o.stopAtTarget && last <= TARGET.loss!) break;
  }
  return {
    summary: { status: 'completed', reason: null, steps: rows[rows.length - 1]!.step, final: final(last) },
    rows,
  };
}

test('classifyRun: diverged, trained (at ⌈10/η⌉), unstable-but-trained, did-not-fit-in-budget', () => {
  const d = classifyRun(syntheticRun(2), TARGET);
  assert.equal(d.outcome, 'diverged');
  assert.equal(d.stable, false);
  assert.equal(d.step, 3);
  assert.match(d.reason, /^diverged: train loss above 10 at step 3/);
  for (const lr of [0.5, 0.2, 0.125]) {
    const t = classifyRun(syntheticRun(lr), TARGET);
    assert.equal(t.outcome, 'trained', `η ${lr}: ${t.reason}`);
    assert.equal(t.stable, true);
    // First integer t with exp(−η t) ≤ e^−10 (a hair of rounding slack at exact multiples).
    const expect = Math.ceil(10 / lr - 1e-9);
    assert.ok(
      t.reached_at === expect || t.reached_at === expect + 1,
      `η ${lr}: reached at ${t.reached_at}, closed form ${expect}`,
    );
    assert.equal(t.step, t.reached_at);
  }
  const slow = classifyRun(syntheticRun(0.05), TARGET);
  assert.equal(slow.outcome, 'did-not-fit-in-budget');
  assert.equal(slow.stable, true, 'too slow is not unstable');
  assert.equal(slow.reached_at, null);
  assert.equal(slow.step, BUDGET);
  const spiky = classifyRun(syntheticRun(0.5, { spikeAt: 4 }), TARGET);
  assert.equal(spiky.outcome, 'unstable-but-trained');
  assert.equal(spiky.step, 4);
  assert.equal(spiky.reached_at, 20);
  // A spike below the factor is not an instability; warmup moves where the target may count.
  assert.equal(classifyRun(syntheticRun(0.5, { spikeAt: 4 }), { ...TARGET, spike: 5 }).outcome, 'trained');
  assert.equal(classifyRun(syntheticRun(0.5), { ...TARGET, from: 30 }).reached_at, 30);
  assert.equal(classifyRun(syntheticRun(0.2), { ...TARGET, from: 90 }).reached_at, 90);
  // Reached then lost by the end of the budget.
  const lost = syntheticRun(0.5);
  const rows = lost.rows.map((r) => (r.step === BUDGET ? { ...r, train_loss: 0.5 } : r));
  const l = classifyRun({ summary: { ...lost.summary, final: final(0.5) }, rows }, TARGET);
  assert.equal(l.outcome, 'unstable-but-trained');
  assert.match(l.reason, /lost again/);
  assert.throws(
    () => classifyRun({ summary: { status: 'failed', reason: 'oom', steps: 2, final: final(null) }, rows: [] }, TARGET),
    /run failed: oom/,
  );
});

test('constantPredictor: majority share and label entropy (closed forms)', () => {
  const u = constantPredictor(Array(10).fill(7), 'cross-entropy');
  assert.equal(u.acc, 0.1);
  assert.ok(Math.abs(u.loss! - Math.log(10)) < 1e-12);
  const skew = constantPredictor([3, 1, 0], 'cross-entropy');
  assert.equal(skew.acc, 0.75);
  assert.ok(Math.abs(skew.loss! - -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))) < 1e-12);
  assert.equal(constantPredictor([3, 1], 'mse').loss, null);
  assert.throws(() => constantPredictor([0, 0], 'cross-entropy'), /no training labels/);
});

test('classifyRun: a run that ends at the constant predictor collapsed (not stable); a slow run did not', () => {
  const chance = constantPredictor(Array(10).fill(10), 'cross-entropy');
  const ln10 = Math.log(10);
  const acc = { acc: 0.95, loss: null, chance } satisfies TrialTarget;
  const run = (losses: number[], accs: number[]): RunRecord => ({
    summary: {
      status: 'completed',
      reason: null,
      steps: losses.length - 1,
      final: { ...final(losses[losses.length - 1]!), train_acc: accs[accs.length - 1]! },
    },
    rows: losses.map((l, step) => ({ step, train_loss: l, train_acc: accs[step]! })),
  });
  // He-init loss 3.1 blows up to 9, then every unit is dead and only the output bias learns: ln 10.
  const dead = classifyRun(run([3.1, 9, 2.4, ln10, ln10], [0.11, 0.1, 0.1, 0.1, 0.1]), acc);
  assert.equal(dead.outcome, 'collapsed');
  assert.equal(dead.stable, false);
  assert.match(dead.reason, /no better than a constant predictor/);
  // The trial carries the predictor it was judged against (study evaluators classify with it again).
  assert.deepEqual(dead.chance, chance);
  assert.equal(classifyRun(run([3.1, 2, 1.2], [0.1, 0.4, 0.6]), { ...acc, chance: undefined }).chance, undefined);
  // Without a spike, but the loss moved from 3.1 to ln 10: collapsed too.
  assert.equal(classifyRun(run([3.1, 2.6, ln10], [0.1, 0.1, 0.1]), acc).outcome, 'collapsed');
  // The same curve without the constant predictor known: the old outcome (stable, too slow).
  assert.equal(
    classifyRun(run([3.1, 2.6, ln10], [0.1, 0.1, 0.1]), { ...acc, chance: undefined }).outcome,
    'did-not-fit-in-budget',
  );
  // Started near the prior (2.30 vs ln 10 = 2.303 here, within 5 %) and converged onto it exactly:
  // collapsed, though the loss barely moved (an unnormalized ResNet with GradInit at η 1.28).
  const prior = constantPredictor([10, 10, 10, 10, 10, 10, 10, 10, 10, 16], 'cross-entropy');
  const onPrior = run([2.3, 2.26, prior.loss!], [0.1, 0.16, 0.138]);
  assert.equal(classifyRun(onPrior, { ...acc, chance: prior }).outcome, 'collapsed');
  // The same start, ending a little off the prior without learning: too slow, not collapsed.
  assert.equal(
    classifyRun(run([2.3, 2.26, 2.25], [0.1, 0.12, 0.13]), { ...acc, chance: prior }).outcome,
    'did-not-fit-in-budget',
  );
  // Too slow: still near the initial loss, nothing moved.
  const slow = classifyRun(run([2.4, 2.39, 2.38], [0.09, 0.1, 0.11]), acc);
  assert.equal(slow.outcome, 'did-not-fit-in-budget');
  assert.equal(slow.stable, true);
  // Learning, but below the target: above chance, so not collapsed.
  assert.equal(classifyRun(run([3.1, 2, 1.2], [0.1, 0.4, 0.6]), acc).outcome, 'did-not-fit-in-budget');
  // At chance accuracy but with a loss well below the class prior: not the constant predictor.
  assert.equal(classifyRun(run([3.1, 2, 1.5], [0.1, 0.1, 0.11]), acc).outcome, 'did-not-fit-in-budget');
  // Reached the target, then collapsed by the end of the budget.
  assert.equal(classifyRun(run([3.1, 0.1, 5, ln10], [0.1, 0.97, 0.2, 0.1]), acc).outcome, 'collapsed');
  // η_max counts collapse as unstable.
  const s = summarizeTrials(
    [
      { lr: 0.1, stable: true, outcome: 'trained' as const, reached_at: 50 },
      { lr: 0.2, stable: false, outcome: 'collapsed' as const },
    ],
    'all',
    1,
  );
  assert.equal(s.maxStableLr, 0.1);
  assert.equal(s.upper, 0.2);
  assert.equal(s.lrs[1]!.outcomes.collapsed, 1);
});

test('η_max is the divergence boundary; fitting speed is reported beside it', async () => {
  const trial: Trial = async (lr) => classifyRun(syntheticRun(lr), TARGET);
  const r = await findMaxStableLr({ trial, lo: 0.01, hi: 8, gridFactor: 2, bisectSteps: 8 });
  const [a, b] = r.bracket as [number, number];
  assert.ok(a < 1 && b >= 1, `bracket [${a}, ${b}] around the divergence boundary 1`);
  assert.ok(b / a < 1.01, `ratio ${b / a}`);
  assert.deepEqual(r.gaps, []);
  // fullGrid: every grid point down to lo is tried (fitting speed below η_max), same bracket.
  const full = await findMaxStableLr({ trial, lo: 0.01, hi: 8, gridFactor: 2, bisectSteps: 8, fullGrid: true });
  assert.deepEqual(full.bracket, r.bracket);
  for (const g of full.grid)
    assert.ok(
      full.verdicts.some((v) => v.lr === g),
      `grid point ${g} tried`,
    );
  assert.ok(r.verdicts.length < full.verdicts.length);
  // Slow η tried directly: stable (did not diverge) though they never fit.
  const direct = await Promise.all([0.02, 0.05, 0.2, 0.5, 2, 4].map(async (lr) => ({ lr, ...(await trial(lr, 0)) })));
  const s = summarizeTrials(direct, 'all', 1);
  assert.equal(s.maxStableLr, 0.5);
  assert.equal(s.upper, 2);
  assert.equal(s.maxTrainedLr, 0.5);
  const byLr = new Map(s.lrs.map((x) => [x.lr, x]));
  assert.equal(byLr.get(0.02)!.stable, true);
  assert.equal(byLr.get(0.02)!.trained, false);
  assert.equal(byLr.get(0.05)!.outcomes['did-not-fit-in-budget'], 1);
  assert.equal(byLr.get(0.2)!.stepsToTarget, 50);
  assert.equal(byLr.get(0.5)!.stepsToTarget, 20);
  assert.equal(byLr.get(4)!.outcomes.diverged, 1);
  // Seeds: 'majority' of 3 with one diverged seed is stable; 'all' is not.
  const seeds = [
    { lr: 1, stable: true, outcome: 'trained' as const, reached_at: 10 },
    { lr: 1, stable: false, outcome: 'diverged' as const },
    { lr: 1, stable: true, outcome: 'did-not-fit-in-budget' as const },
  ];
  assert.equal(summarizeTrials(seeds, 'majority', 3).lrs[0]!.stable, true);
  assert.equal(summarizeTrials(seeds, 'majority', 3).lrs[0]!.trained, false);
  assert.equal(summarizeTrials(seeds, 'all', 3).maxStableLr, null);
});

test('runMaxLrExperiment writes max-lr.json (version 2) and sweep.json; version-1 files are read as version 2', async () => {
  const out = mkdtempSync(join(tmpdir(), 'edgewise-maxlr-exp-'));
  try {
    const config = resolveConfig({});
    const settings = resolveMaxLrSettings({ lo: 0.03, hi: 4, bisect_steps: 2, stop_train_loss: Math.exp(-10) });
    const cells = [
      { name: 'a', params: { variant: 'a' }, config, error: null, settings },
      { name: 'b', params: { variant: 'b' }, config: null, error: 'not applicable here', settings },
    ];
    const res = await runMaxLrExperiment({
      out,
      name: 'synthetic',
      cells,
      parallel: 2,
      trial: () => async (lr) => classifyRun(syntheticRun(lr), TARGET),
      meta: { note: 'test' },
    });
    assert.deepEqual(
      res.map((c) => c.cell),
      ['a', 'b'],
    );
    assert.equal(res[1]!.error, 'not applicable here');
    const f = readMaxLrFile(join(out, 'max-lr.json'));
    assert.equal(f.version, 2);
    assert.equal(f.note, 'test');
    const a = f.cells.find((c) => c.cell === 'a')!;
    assert.ok(a.summary!.maxStableLr! < 1 && a.summary!.upper! >= 1);
    assert.equal(a.summary!.maxStableLr, a.result!.maxStableLr);
    for (const t of a.result!.trials)
      assert.ok(
        ['diverged', 'trained', 'did-not-fit-in-budget', 'unstable-but-trained'].includes(t.outcome!) &&
          typeof t.step === 'number',
      );
    // A version-1 file (before outcomes): stable meant "reached the target".
    const old = join(out, 'old.json');
    writeFileSync(
      old,
      JSON.stringify({
        study: 'x',
        results: {
          cell: {
            maxStableLr: 0.5,
            rule: 'all',
            seeds: [0],
            trials: [
              { lr: 0.05, seed: 0, stable: false, reason: 'did not reach train loss ≤ 0.1 within 100 steps' },
              { lr: 0.5, seed: 0, stable: true, reason: 'train loss ≤ 0.1 at step 20', reached_at: 20 },
              { lr: 1, seed: 0, stable: false, reason: 'diverged: loss above 10' },
            ],
          },
        },
      }),
    );
    const v1 = readMaxLrFile(old);
    assert.equal(v1.version, 2);
    assert.equal(v1.study, 'x');
    const c = v1.cells[0]!;
    assert.deepEqual(
      c.result!.trials.map((t) => t.outcome),
      ['did-not-fit-in-budget', 'trained', 'diverged'],
    );
    assert.equal(c.summary!.maxStableLr, 0.5);
    assert.equal(c.summary!.lrs.find((x) => x.lr === 0.5)!.stepsToTarget, 20);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
