// Follow-up cells (src/studies/followUp.ts): the study file's follow_up section, the runs it
// plans, and the evaluators that judge an undecided comparison on the follow-up seeds alone at
// the stricter level. The p-value oracle: with n paired differences all of one sign the exact
// two-sided sign-flip p is 2/2^n (6 seeds: 0.031, between 0.025 and 0.05; 8 seeds: 0.0078).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyFile, StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile, seedGroupsOf, studySweeps, withSeeds } from '../../src/studies/run.ts';
import { FOLLOW_UP, followUpAlpha, splitFollowUp } from '../../src/studies/followUp.ts';
import { evaluateSgdBatch } from '../../src/studies/sgd-batch.ts';
import { evaluateFlatness } from '../../src/studies/flatness-lr.ts';
import { finishedSummary } from './summaries.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-follow-up-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A copy of a shipped study file with `follow_up` replaced, written to a temp dir and loaded back (schema-checked). */
function withFollowUp(name: string, followUp: unknown): StudyFile {
  const f = loadStudyFile(name) as StudyFile & Record<string, unknown>;
  const { name: _n, ...raw } = f;
  const dir = mkdtempSync(join(root, 'studies-'));
  writeFileSync(join(dir, `${name}.yaml`), stringify({ ...raw, follow_up: followUp }));
  return loadStudyFile(name, dir);
}

test('follow_up in a study file: a level above 0.025, an unknown key or reused seeds are errors that name the key', () => {
  const good = { reason: 'r', alpha: 0.025, grid: { lr_multiple: [2, 6], 'train.seed': [100, 101] } };
  assert.equal(
    (withFollowUp('flatness-lr', good) as unknown as { follow_up: { alpha: number } }).follow_up.alpha,
    0.025,
  );
  assert.throws(
    () => withFollowUp('flatness-lr', { ...good, alpha: 0.05 }),
    /follow_up\.alpha: must be a number in \(0, 0\.025\]/,
  );
  assert.throws(() => withFollowUp('flatness-lr', { ...good, seeds: 3 }), /unknown key 'follow_up\.seeds'/);
  assert.throws(() => withFollowUp('flatness-lr', { alpha: 0.01, grid: good.grid }), /missing 'follow_up\.reason'/);
  // A study that takes no follow-up rejects the key.
  assert.throws(() => withFollowUp('eos-gd', good), /unknown key 'follow_up'/);
  // Seeds of the study's own grid are not fresh.
  const reused = withFollowUp('flatness-lr', { ...good, grid: { lr_multiple: [2], 'train.seed': [12, 200] } });
  assert.throws(() => studySweeps(reused, false), /follow_up\.grid\.train\.seed repeats the study's own seeds \(12\)/);
  const noSeeds = withFollowUp('flatness-lr', { ...good, grid: { lr_multiple: [2] } });
  assert.throws(() => studySweeps(noSeeds, false), /follow_up\.grid\.train\.seed: must list fresh seeds/);
});

test('follow_up runs as a variant sweep in the full version only; --seeds drops it', () => {
  const f = withFollowUp('sgd-batch', {
    reason: 'r',
    alpha: 0.02,
    grid: { 'optimizer.batch_size': [16], lr_multiple: [0.5, 2], 'train.seed': [300, 301, 302] },
  });
  const full = studySweeps(f, false);
  assert.deepEqual(
    full.map((s) => s.variant),
    [undefined, FOLLOW_UP],
  );
  assert.deepEqual(full[1]!.grid['train.seed'], [300, 301, 302]);
  assert.deepEqual(full[1]!.base, full[0]!.base);
  assert.deepEqual(
    studySweeps(f, true).map((s) => s.variant),
    [undefined],
  );
  assert.deepEqual(
    studySweeps(withSeeds(f, 3), false).map((s) => s.variant),
    [undefined],
  );
  assert.equal(followUpAlpha({ file: f, quick: false }, [1]), 0.02);
  assert.equal(followUpAlpha({ file: f, quick: false }, []), null);
  assert.throws(() => followUpAlpha({}, [1]), /1 follow-up runs, but the study file declares no follow_up/);
});

/** A finished run's summary after `steps` updates. */
const summaryOf = (
  steps: number,
  final: StudyRun['summary']['final'],
  status: 'completed' | 'diverged' = 'completed',
): StudyRun['summary'] => finishedSummary({ status, steps, final });

// sgd-batch: settled λ1 and rotation per unit displacement, as in evaluators.test.ts.
function sgdRun(
  b: number | 'full',
  m: number,
  seed: number,
  cos: number,
  followUp = false,
  o: { settled?: number; status?: 'completed' | 'diverged' } = {},
): StudyRun {
  const rows: MetricRow[] = [
    { step: 0, sharpness: 30, eigs: [30, 20] },
    { step: 10, sharpness: 20 / m, eigs: [20 / m, 10 / m], eigvec_cos: cos, param_displacement: 1 },
  ];
  return {
    name: `${followUp ? 'fu-' : ''}b${b}-m${m}-s${seed}`,
    params: {
      lr_multiple: m,
      lambda0: 30,
      settled_sharpness: o.settled ?? (m < 1 ? 20 : 12) + 0.1 * seed,
      ...(followUp ? { variant: FOLLOW_UP } : {}),
    },
    dir: `/nonexistent/${seed}`,
    config: resolveConfig({
      optimizer: { name: 'sgd', lr: 0.1 * m, batch_size: b },
      data: { train_size: 1000 },
      train: { seed },
    }),
    rows,
    summary: summaryOf(
      10,
      { train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: null },
      o.status,
    ),
  };
}

test('sgd-batch: a batch size the study seeds left undecided is judged on the follow-up seeds alone, at its level', () => {
  const file = withFollowUp('sgd-batch', {
    reason: 'r',
    alpha: 0.025,
    grid: { 'optimizer.batch_size': [16], lr_multiple: [0.5, 2], 'train.seed': [100] },
  });
  const ctx = { tolerances: file.tolerances, file, quick: false };
  const SEEDS = [0, 1, 2, 3, 4, 5];
  // The study's seeds: B = full rotates more above the threshold in every seed (held);
  // B = 16 more at even seeds, less at odd ones (undecided).
  const main = [
    ...SEEDS.flatMap((s) => [sgdRun('full', 0.5, s, 0.999), sgdRun('full', 2, s, 0.99 - 0.001 * s)]),
    ...SEEDS.flatMap((s) => [sgdRun(16, 0.5, s, 0.999), sgdRun(16, 2, s, s % 2 ? 0.9999 : 0.99)]),
  ];
  const before = evaluateSgdBatch(main, ctx)[1]!;
  assert.equal(before.verdict, 'inconclusive', before.evidence);
  const fu = (seeds: number[], cos: (s: number) => number) =>
    seeds.flatMap((s) => [sgdRun(16, 0.5, s, 0.999, true), sgdRun(16, 2, s, cos(s), true)]);
  const eight = [100, 101, 102, 103, 104, 105, 106, 107];
  // Eight fresh seeds, all rotating more above: p = 2/256 < 0.025 → held, and the claim holds.
  const more = evaluateSgdBatch([...main, ...fu(eight, (s) => 0.99 - 0.0001 * s)], ctx)[1]!;
  assert.equal(more.verdict, 'held', more.evidence);
  assert.match(
    more.evidence,
    /\. Follow-up on fresh seeds 100–107 at α = 0\.025, judged on its own seeds: .*sign-flip p = 0\.008 \(exact, n = 8\) → held \(held:/,
  );
  // The study's own undecided look is still shown.
  assert.match(more.evidence, /B = 16: rotation per unit ‖Δθ‖ .*\(inconclusive\)/);
  // All rotating less: did not hold.
  const less = evaluateSgdBatch([...main, ...fu(eight, () => 0.99999)], ctx)[1]!;
  assert.equal(less.verdict, 'did not hold', less.evidence);
  // Six seeds of one sign give p = 2/64 = 0.031: held at 0.05, not at the follow-up's 0.025.
  const six = evaluateSgdBatch([...main, ...fu(eight.slice(0, 6), (s) => 0.99 - 0.0001 * s)], ctx)[1]!;
  assert.equal(six.verdict, 'inconclusive', six.evidence);
  assert.match(six.evidence, /sign-flip p = 0\.031 \(exact, n = 6\) → inconclusive \(held:/);
  // A follow-up run that diverged leaves the follow-up inconclusive, named.
  const div = [
    ...main,
    ...fu(eight.slice(0, 7), () => 0.99),
    sgdRun(16, 0.5, 107, 0.999, true),
    sgdRun(16, 2, 107, 0.5, true, { status: 'diverged' }),
  ];
  const d = evaluateSgdBatch(div, ctx)[1]!;
  assert.equal(d.verdict, 'inconclusive');
  assert.match(
    d.evidence,
    /Follow-up on fresh seeds 100–107 at α = 0\.025: not trained: .*seed 107 \(diverged\) → inconclusive/,
  );
  // A batch size the study's seeds decided keeps its verdict: the follow-up is not looked at.
  const decided = [
    ...SEEDS.flatMap((s) => [sgdRun(16, 0.5, s, 0.999), sgdRun(16, 2, s, 0.99 - 0.001 * s)]),
    ...fu(eight, () => 0.99999),
  ];
  const kept = evaluateSgdBatch(decided, ctx)[1]!;
  assert.equal(kept.verdict, 'held', kept.evidence);
  assert.doesNotMatch(kept.evidence, /follow-up/);
  // The flattening claim never uses the follow-up (its runs are not settled), and the follow-up's runs do not
  // enter the study's own comparisons.
  assert.equal(
    evaluateSgdBatch(main, ctx)[0]!.evidence,
    evaluateSgdBatch([...main, ...fu(eight, () => 0.99)], ctx)[0]!.evidence,
  );
  // Follow-up runs without a follow_up in the study file: an error, not a default level.
  assert.throws(
    () => evaluateSgdBatch([...main, ...fu(eight, () => 0.99)], { tolerances: file.tolerances }),
    /16 follow-up runs, but the study file declares no follow_up/,
  );
  // The page's seeds line: the grid's seeds and the follow-up's.
  assert.deepEqual(seedGroupsOf([...main, ...fu(eight, () => 0.99)]), {
    seed_groups: { grid: SEEDS, [FOLLOW_UP]: eight },
  });
  assert.deepEqual(seedGroupsOf(main), {});
  assert.equal(splitFollowUp([...main, ...fu(eight, () => 0.99)]).followUp.length, 16);
});

// flatness-lr: test accuracy at the multiples the fall compares (2× and 6×), with the final-state files it reads.
const L0 = 20;
let counter = 0;
function flatRun(m: number, seed: number, testAcc: number, followUp = false): StudyRun {
  const dir = join(root, `flat-${counter++}`);
  const lr = (m * 2) / L0;
  const step = '000300';
  mkdirSync(join(dir, 'curvature'), { recursive: true });
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  writeFileSync(join(dir, 'checkpoints', `step-${step}.safetensors`), '');
  writeFileSync(
    join(dir, 'curvature', `analysis-step-${step}.json`),
    JSON.stringify({ step: 300, eigs: [L0 / m, L0 / (2 * m)], lambda_min: -0.1, trace: 100 / m + 0.01 * seed }),
  );
  return {
    name: `${followUp ? 'fu-' : ''}m${m}-s${seed}`,
    params: {
      lr_multiple: m,
      'train.seed': seed,
      lambda0: L0,
      settled_sharpness: 30 - m + 0.01 * seed,
      ...(followUp ? { variant: FOLLOW_UP } : {}),
    },
    dir,
    rows: [0, 100, 200, 300].map((s) => ({
      step: s,
      lr,
      threshold: 2 / lr,
      sharpness: s === 0 ? L0 : L0 / m,
      ...(s > 0 ? { eigvec_cos: 0.99 } : {}),
    })),
    config: resolveConfig({ optimizer: { name: 'gd', lr }, train: { seed, stop_train_acc: 0.95 } }),
    summary: summaryOf(300, {
      train_loss: 0.1,
      train_acc: 0.96,
      test_loss: null,
      test_acc: testAcc,
      sharpness: L0 / m,
    }),
  };
}

test('flatness-lr: "falls again", undecided on the study seeds, is judged on the follow-up seeds alone', () => {
  const file = withFollowUp('flatness-lr', {
    reason: 'r',
    alpha: 0.025,
    grid: { lr_multiple: [2, 6], 'train.seed': [100] },
  });
  const ctx = { tolerances: file.tolerances, file, quick: false };
  const SEEDS = [0, 1, 2, 3, 4, 5];
  const MULTS = [0.5, 1, 2, 4, 6];
  // The study's seeds: 6× is 1 point below 2× at even seeds, 1 point above at odd ones: undecided.
  const acc = (m: number, s: number) =>
    0.8 + 0.01 * Math.min(m, 2) + (m === 6 ? (s % 2 ? 0.01 : -0.01) : 0) + 0.001 * s;
  const main = MULTS.flatMap((m) => SEEDS.map((s) => flatRun(m, s, acc(m, s))));
  const fall = (c: ReturnType<typeof evaluateFlatness>) =>
    c.find((x) => x.claim.startsWith('Test accuracy falls again'))!;
  assert.equal(fall(evaluateFlatness(main, ctx)).verdict, 'inconclusive', fall(evaluateFlatness(main, ctx)).evidence);
  const eight = [100, 101, 102, 103, 104, 105, 106, 107];
  const fu = (seeds: number[], d: (s: number) => number) =>
    seeds.flatMap((s) => [flatRun(2, s, 0.82, true), flatRun(6, s, 0.82 - d(s), true)]);
  // 6× at least 2 points below 2× in eight fresh seeds: p = 2/256 < 0.025, mean ≥ the 0.5-point gain → held.
  const held = fall(evaluateFlatness([...main, ...fu(eight, (s) => 0.02 + 0.001 * (s - 100))], ctx));
  assert.equal(held.verdict, 'held', held.evidence);
  assert.match(
    held.evidence,
    /Follow-up on fresh seeds 100–107 at α = 0\.025, judged on its own seeds: acc\(2×\) − acc\(6×\) in points 2\.\d+ .*sign-flip p = 0\.008 \(exact, n = 8\).* → held \(held:/,
  );
  // 6× above 2× in every fresh seed: did not hold; six seeds of one sign (p = 0.031) stay undecided at 0.025.
  assert.equal(
    fall(evaluateFlatness([...main, ...fu(eight, (s) => -0.02 - 0.001 * (s - 100))], ctx)).verdict,
    'did not hold',
  );
  assert.equal(
    fall(evaluateFlatness([...main, ...fu(eight.slice(0, 6), (s) => 0.02 + 0.001 * (s - 100))], ctx)).verdict,
    'inconclusive',
  );
  // The other claims are the study seeds' alone: the follow-up changes none of them.
  const others = (c: ReturnType<typeof evaluateFlatness>) =>
    c.filter((x) => !x.claim.startsWith('Test accuracy falls again')).map((x) => [x.verdict, x.evidence]);
  assert.deepEqual(
    others(evaluateFlatness([...main, ...fu(eight, () => 0.02)], ctx)),
    others(evaluateFlatness(main, ctx)),
  );
});

test('seed groups: kinds with the same seeds share one group; the follow-up is its own', () => {
  const r = (kind: string, seed: number) => ({ params: { kind }, config: { train: { seed } } }) as unknown as StudyRun;
  const six = [0, 1, 2, 3, 4, 5];
  const runs = [
    ...six.map((s) => r('trial', s)),
    ...six.map((s) => r('curve', s)),
    r('follow-up', 6),
    r('follow-up', 7),
  ];
  assert.deepEqual(seedGroupsOf(runs), { seed_groups: { 'trial+curve': six, 'follow-up': [6, 7] } });
  assert.deepEqual(seedGroupsOf(runs.slice(0, 12)), {});
});
