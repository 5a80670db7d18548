import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import { evaluateAdamClipped, sameCurve } from '../../src/studies/adam-clipped.ts';
import { evaluateSgdBatch } from '../../src/studies/sgd-batch.ts';
import { evaluateEosAdam } from '../../src/studies/eos-adam.ts';
import { finishedSummary } from './summaries.ts';

function run(
  name: string,
  config: Record<string, unknown>,
  rows: MetricRow[],
  o: { status?: 'completed' | 'diverged'; testAcc?: number; params?: Record<string, unknown> } = {},
): StudyRun {
  const c = resolveConfig(config);
  return {
    name,
    params: o.params ?? {},
    dir: `/nonexistent/${name}`,
    config: c,
    rows,
    summary: finishedSummary({
      status: o.status ?? 'completed',
      reason: null,
      steps: rows.at(-1)?.step ?? 0,
      final: { train_loss: null, train_acc: null, test_loss: null, test_acc: o.testAcc ?? null, sharpness: null },
    }),
  };
}

const curve = (losses: number[], sharp: number[], pre: number[] = [], threshold = 38000): MetricRow[] =>
  losses.map((l, i) => ({
    step: 10 * i,
    train_loss: l,
    sharpness: sharp[i],
    ...(pre.length ? { precond_sharpness: pre[i], threshold } : {}),
  }));

test('adam-clipped: paired by seed against the bias-corrected uncapped reference; caps that never bound are not judged; diverged runs count', () => {
  const t = loadStudyFile('adam-clipped').tolerances;
  const lr = 1e-3;
  const ub = (
    c: number,
    seed: number,
    rows: MetricRow[],
    testAcc: number,
    status: 'completed' | 'diverged' = 'completed',
    settled?: number,
  ) =>
    run(`adam-ub-c${c}-s${seed}`, { optimizer: { name: 'adam-ub', lr, clip_denominator: c }, train: { seed } }, rows, {
      testAcc,
      status,
      // λ1 after settling: here the raw final λ1, unless a test sets it apart.
      params: status === 'completed' ? { settled_sharpness: settled ?? rows.at(-1)!.sharpness } : {},
    });
  const seeds = [0, 1, 2, 3, 4, 5];
  // Reference: 1 spike (step 20), λ1(P⁻¹H) above 38/η in 1 of 5 measurements.
  const ref = (s: number) => curve([1, 0.5, 0.6, 0.3, 0.2], [10, 10, 10, 10, 10 + 0.1 * s], [1e4, 2e4, 4e4, 3e4, 3e4]);
  // A binding cap: 2 spikes, above the threshold 3 of 5 times, flatter, better.
  const spiky = (s: number) => curve([1, 1.2, 0.6, 0.7, 0.2], [10, 9, 8, 7, 6 + 0.1 * s], [1e4, 5e4, 6e4, 4e4, 3e4]);
  const refs = seeds.map((s) => ub(1e9, s, ref(s), 0.8 + 0.001 * s));
  const good = seeds.map((s) => ub(0.01, s, spiky(s), 0.85 + 0.002 * s));
  const same = seeds.map((s) => ub(1, s, ref(s), 0.8 + 0.001 * s));
  assert.ok(sameCurve(same[0]!, refs[0]!) && !sameCurve(good[0]!, refs[0]!));
  const c = evaluateAdamClipped([...refs, ...good, ...same], { tolerances: t });
  const adam = c.filter((x) => x.claim.startsWith('adam-ub'));
  assert.deepEqual(
    adam.map((x) => x.verdict),
    ['held', 'held', 'held'],
    adam.map((x) => x.evidence).join('\n'),
  );
  assert.match(adam[0]!.evidence, /c = 1, η = 0\.001: same curve as the uncapped reference/);
  assert.equal(adam[0]!.values!.cells_judged, 1);
  // rmsprop family absent: inconclusive.
  assert.deepEqual(
    c.filter((x) => x.claim.startsWith('rmsprop-ub')).map((x) => x.verdict),
    ['inconclusive', 'inconclusive', 'inconclusive'],
  );
  // Plain adam is not a reference: without the uncapped adam-ub nothing is judged.
  const plain = seeds.map((s) =>
    run(`adam-s${s}`, { optimizer: { name: 'adam', lr }, train: { seed: s } }, ref(s), { testAcc: 0.8 }),
  );
  assert.deepEqual(
    evaluateAdamClipped([...plain, ...good], { tolerances: t })
      .slice(0, 3)
      .map((x) => x.verdict),
    ['inconclusive', 'inconclusive', 'inconclusive'],
  );
  // A binding cap that is smoother, sharper and worse: did not hold.
  const worse = seeds.map((s) =>
    ub(
      0.1,
      s,
      curve([1, 0.5, 0.4, 0.3, 0.2], [10, 11, 12, 13, 13 + 0.1 * s], [1e4, 1e4, 1e4, 1e4, 1e4]),
      0.7 + 0.001 * s,
    ),
  );
  assert.deepEqual(
    evaluateAdamClipped([...refs, ...worse], { tolerances: t })
      .slice(0, 3)
      .map((x) => x.verdict),
    ['did not hold', 'did not hold', 'did not hold'],
  );
  // Capped runs that diverge: an instability, but they neither end flatter nor generalize better.
  const div = seeds.map((s) => ub(0.001, s, curve([1, 50], [10, 100], [1e4, 1e6]), Number.NaN, 'diverged'));
  const divClaims = evaluateAdamClipped([...refs, ...div], { tolerances: t }).slice(0, 3);
  assert.deepEqual(
    divClaims.map((x) => x.verdict),
    ['held', 'did not hold', 'did not hold'],
  );
  // The evidence says that its differences are stand-ins for divergences, not measurements.
  assert.match(
    divClaims[0]!.evidence,
    new RegExp(`Δspikes [^;]*\\(${seeds.length} diverged runs entered as 1 each, no completed pair to scale by\\)`),
  );
  // Two of the six diverged: each enters at the largest completed |difference|, so it never weighs more than a measured seed.
  const divAt01 = seeds.slice(4).map((s) => ub(0.01, s, curve([1, 50], [10, 100], [1e4, 1e6]), Number.NaN, 'diverged'));
  const someDiv = evaluateAdamClipped([...refs, ...good.slice(0, 4), ...divAt01], { tolerances: t })[0]!;
  assert.match(someDiv.evidence, /\(2 diverged runs entered as [\d.]+ each, the largest completed \|difference\|\)/);
  // Half the seeds better, half worse: inconclusive everywhere.
  const halves = seeds.map((s) => (s % 2 ? good[s]! : worse[s]!));
  assert.deepEqual(
    evaluateAdamClipped([...refs, ...halves], { tolerances: t })
      .slice(0, 3)
      .map((x) => x.verdict),
    ['inconclusive', 'inconclusive', 'inconclusive'],
  );
  // Spikier and flatter, but the test accuracy within a tenth of acc_tie of the reference: TOST → did not hold.
  const tie = seeds.map((s) => ub(0.01, s, spiky(s), 0.8 + 0.001 * s + (s % 2 ? 0.1 : -0.1) * t.acc_tie!));
  const tieClaims = evaluateAdamClipped([...refs, ...tie], { tolerances: t }).slice(0, 3);
  assert.deepEqual(
    tieClaims.map((x) => x.verdict),
    ['held', 'held', 'did not hold'],
    tieClaims.map((x) => x.evidence).join('\n'),
  );
  assert.match(tieClaims[2]!.evidence, /sign-flip p = [\d.]+ \(exact, n = 6\), TOST p = 0\.0/);
  // Flatness is judged after settling: a raw final λ1 pinned lower whose settled λ1 is the reference's is not flatter.
  const pinned = seeds.map((s) =>
    ub(0.01, s, spiky(s), 0.85 + 0.002 * s, 'completed', 10 + 0.1 * s + (s % 2 ? 0.3 : -0.3)),
  );
  const pinnedClaims = evaluateAdamClipped([...refs, ...pinned], { tolerances: t });
  assert.equal(pinnedClaims[1]!.verdict, 'inconclusive', pinnedClaims[1]!.evidence);
  assert.match(pinnedClaims[1]!.evidence, /Δ settled λ1\(H\) [-\d.e]+ \[.*raw final λ1\(H\) Δ -4,/);
  // Three seeds of one sign: p = 0.25, inconclusive (it held under the old [min, max] bootstrap).
  assert.deepEqual(
    evaluateAdamClipped([...refs.slice(0, 3), ...good.slice(0, 3)], { tolerances: t })
      .slice(0, 3)
      .map((x) => x.verdict),
    ['inconclusive', 'inconclusive', 'inconclusive'],
  );
  // One seed: no interval.
  assert.deepEqual(
    evaluateAdamClipped([refs[0]!, good[0]!], { tolerances: t })
      .slice(0, 3)
      .map((x) => x.verdict),
    ['inconclusive', 'inconclusive', 'inconclusive'],
  );
});

test('sgd-batch: at every batch size the run above 2/λ0 must end flatter (settled λ1) and rotate more per unit displacement than its control, paired by seed', () => {
  const t = loadStudyFile('sgd-batch').tolerances;
  // `sharp` is the settled λ1; the raw final λ1 is pinned at 2/η above the threshold (not judged).
  const mk = (
    b: number | 'full',
    m: number,
    seed: number,
    sharp: number,
    cos: number,
    status: 'completed' | 'diverged' = 'completed',
    displacement = 1,
  ) =>
    run(
      `b${b}-m${m}-s${seed}`,
      { optimizer: { name: 'sgd', lr: 0.1 * m, batch_size: b }, data: { train_size: 1000 }, train: { seed } },
      [
        { step: 0, sharpness: 30, eigs: [30, 20] },
        { step: 10, sharpness: 20 / m, eigs: [20 / m, 10 / m], eigvec_cos: cos, param_displacement: displacement },
      ],
      { params: { lr_multiple: m, lambda0: 30, settled_sharpness: sharp }, status },
    );
  const SEEDS = [0, 1, 2, 3, 4, 5];
  const w = (s: number) => 0.2 * (s - 2.5);
  const sweep = (
    hi: (b: number | 'full', s: number) => [number, number],
    bs: (number | 'full')[] = [16, 'full'],
    seeds = SEEDS,
  ) => bs.flatMap((b) => seeds.flatMap((s) => [mk(b, 0.5, s, 20 + w(s), 0.999), mk(b, 2, s, ...hi(b, s))]));
  const ok = evaluateSgdBatch(
    sweep((_b, s) => [12 + w(s), 0.99 - 0.001 * s]),
    { tolerances: t },
  );
  assert.deepEqual(
    ok.map((c) => c.verdict),
    ['held', 'held'],
    ok.map((c) => c.evidence).join('\n'),
  );
  // Effect, t-interval, exact sign-flip p and n are in the evidence: six seeds of one sign give p = 2/64.
  assert.match(ok[0]!.evidence, /relative drop 0\.4\d* \[95 % t-CI [^\]]+\], sign-flip p = 0\.031 \(exact, n = 6\)/);
  // Three seeds of one sign are no longer enough (p = 2/8 = 0.25): inconclusive.
  assert.deepEqual(
    evaluateSgdBatch(
      sweep((_b, s) => [12 + w(s), 0.99 - 0.001 * s], [16], [0, 1, 2]),
      { tolerances: t },
    ).map((c) => c.verdict),
    ['inconclusive', 'inconclusive'],
  );
  // At B = 16 the above-threshold run is as sharp as the control up to noise of both signs: inconclusive there.
  const mixed = evaluateSgdBatch(
    sweep((b, s) => [b === 16 ? 20 + w(s) + (s % 2 ? 3 : -3) : 12 + w(s), 0.99]),
    { tolerances: t },
  );
  assert.equal(mixed[0]!.verdict, 'inconclusive', mixed[0]!.evidence);
  assert.equal(mixed[1]!.verdict, 'held');
  // As sharp as the control within a fraction of flatter_min at B = 16: TOST shows no flattening → did not hold.
  const same = evaluateSgdBatch(
    sweep((b, s) => [b === 16 ? 20 + w(s) + (s % 2 ? 0.05 : -0.05) : 12 + w(s), 0.99]),
    { tolerances: t },
  );
  assert.equal(same[0]!.verdict, 'did not hold', same[0]!.evidence);
  assert.match(same[0]!.evidence, /TOST p = 0\.0\d\d for \|effect\| < 0\.05/);
  // Sharper above the threshold at B = 16 (every seed): did not hold.
  const sharper = evaluateSgdBatch(
    sweep((b, s) => [b === 16 ? 25 + w(s) : 12 + w(s), 0.99]),
    { tolerances: t },
  );
  assert.equal(sharper[0]!.verdict, 'did not hold');
  // Rotating less than the control: did not hold; rotating more at some seeds and less at others: inconclusive.
  assert.equal(
    evaluateSgdBatch(
      sweep((_b, s) => [12 + w(s), 0.9999 + 0.00001 * s]),
      { tolerances: t },
    )[1]!.verdict,
    'did not hold',
  );
  assert.equal(
    evaluateSgdBatch(
      sweep((_b, s) => [12 + w(s), s % 2 ? 0.99 : 0.9995]),
      { tolerances: t },
    )[1]!.verdict,
    'inconclusive',
  );
  // A diverged run at one batch size leaves the claim inconclusive; one seed gives no interval.
  const div = [
    ...sweep((_b, s) => [12 + w(s), 0.99], ['full']),
    ...SEEDS.flatMap((s) => [mk(16, 0.5, s, 20, 0.999), mk(16, 2, s, 30, 0.5, 'diverged')]),
  ];
  assert.equal(evaluateSgdBatch(div, { tolerances: t })[0]!.verdict, 'inconclusive');
  assert.match(evaluateSgdBatch(div, { tolerances: t })[0]!.evidence, /diverged/);
  const one = [mk(16, 0.5, 0, 20, 0.999), mk(16, 2, 0, 10, 0.9)];
  assert.deepEqual(
    evaluateSgdBatch(one, { tolerances: t }).map((c) => c.verdict),
    ['inconclusive', 'inconclusive'],
  );
  // Rotation is per unit displacement: twice the angle over four times the distance is less rotation → did not hold.
  const far = SEEDS.flatMap((s) => [
    mk(16, 0.5, s, 20 + w(s), Math.cos(0.01 + 0.001 * s)),
    mk(16, 2, s, 12 + w(s), Math.cos(0.02 + 0.002 * s), 'completed', 4),
  ]);
  const farV = evaluateSgdBatch(far, { tolerances: t });
  assert.equal(farV[1]!.verdict, 'did not hold', farV[1]!.evidence);
  assert.match(farV[1]!.evidence, /rotation per unit ‖Δθ‖/);
  // A run stopped by train.steps below its train-accuracy target does not count: inconclusive, and named.
  const short = (r: StudyRun): StudyRun => ({
    ...r,
    config: { ...r.config, train: { ...r.config.train, stop_train_acc: 0.95 } },
    summary: { ...r.summary, final: { ...r.summary.final, train_acc: r.name === 'b16-m2-s3' ? 0.9 : 0.96 } },
  });
  const cut = evaluateSgdBatch(sweep((_b, s) => [12 + w(s), 0.99 - 0.001 * s]).map(short), { tolerances: t });
  assert.deepEqual(
    cut.map((c) => c.verdict),
    ['inconclusive', 'inconclusive'],
  );
  assert.match(cut[0]!.evidence, /B = 16: not trained: .*seed 3 \(train accuracy 0\.9 < 0\.95/);
  assert.match(
    evaluateSgdBatch(
      sweep((_b, s) => [12 + w(s), 0.99 - 0.001 * s])
        .map(short)
        .filter((r) => !r.name.startsWith('b16')),
      {
        tolerances: t,
      },
    )[0]!.verdict,
    /held/,
  );
});

// The rotation study's evaluator: test/studies/rotation-claims.test.ts.

test('eos-adam: the preconditioned sharpness hovers at 38/η while the raw sharpness stays far below 2/η', () => {
  const t = loadStudyFile('eos-adam').tolerances;
  const lr = 1e-3;
  const rows: MetricRow[] = Array.from({ length: 41 }, (_, i) => {
    const s = 20 * i;
    return {
      step: s,
      lr,
      train_loss: 1 / (1 + s),
      sharpness: 60,
      threshold: 38 / lr,
      ...(s > 0 ? { precond_sharpness: s < 200 ? 38000 * (s / 220) : 38000 * (1 + 0.05 * Math.sin(s)) } : {}),
    };
  });
  const c = evaluateEosAdam([run('adam', { optimizer: { name: 'adam', lr } }, rows)], { tolerances: t });
  assert.deepEqual(
    c.map((x) => x.verdict),
    ['held', 'held'],
  );
  assert.ok(Math.abs((c[1]!.values!.raw_ratio_to_2_over_lr as number) - 0.03) < 1e-12);
  // One run, no seeds to judge across: its rows are the claims themselves.
  assert.ok(c.every((x) => x.scope === undefined));
  // Six seeds: two more rows from the per-seed values; a raw sharpness at 0.8·2/η fails the second.
  const SEEDS = [0, 1, 2, 3, 4, 5];
  const seeded = (seed: number, raw: number, pre = 1) =>
    run(
      `adam-${seed}`,
      { optimizer: { name: 'adam', lr }, train: { seed } },
      rows.map((r) => ({
        ...r,
        sharpness: raw * (1 + 0.01 * seed),
        ...(typeof r.precond_sharpness === 'number' && r.step >= 200
          ? { precond_sharpness: pre * r.precond_sharpness * (1 + 0.01 * (seed - 2.5)) }
          : {}),
      })),
      { params: { 'train.seed': seed } },
    );
  const across = (runs: StudyRun[]) => evaluateEosAdam(runs, { tolerances: t }).slice(2 * runs.length);
  const ok = across(SEEDS.map((s) => seeded(s, 60)));
  assert.deepEqual(
    ok.map((x) => x.verdict),
    ['held', 'held'],
    ok.map((x) => x.evidence).join('\n'),
  );
  assert.equal(ok[0]!.values!.seeds, 6);
  // With the across-seed rows, the per-seed rows are checks of single runs; the across-seed rows are the claims.
  const all = evaluateEosAdam(
    SEEDS.map((s) => seeded(s, 60)),
    { tolerances: t },
  );
  assert.deepEqual(
    all.map((x) => x.scope ?? 'cell'),
    [...Array.from({ length: 12 }, () => 'run'), 'cell', 'cell'],
  );
  assert.match(ok[0]!.evidence, /\[95 % t-CI [^\]]+\] \(n = 6\); inside \[0\.\d+, 1\.\d+\]: TOST p = /);
  assert.match(ok[1]!.evidence, /sign-flip p = 0\.031 \(exact, n = 6\)/);
  const sharp = across(SEEDS.map((s) => seeded(s, 1600)));
  assert.deepEqual(
    sharp.map((x) => x.verdict),
    ['held', 'did not hold'],
    sharp[1]!.evidence,
  );
  // The preconditioned sharpness hovering at 1.5·38/η at every seed: did not hold; spread across
  // the band's upper edge (0.95 or 1.2 by seed): inconclusive.
  assert.equal(across(SEEDS.map((s) => seeded(s, 60, 1.5)))[0]!.verdict, 'did not hold');
  const edge = across(SEEDS.map((s) => seeded(s, 60, s % 2 ? 1.2 : 0.95)));
  assert.equal(edge[0]!.values!.seeds, 6);
  assert.equal(edge[0]!.verdict, 'inconclusive', edge[0]!.evidence);
  // Raw sharpness around raw_ratio_max (above at half the seeds): inconclusive.
  const rawAt = (t.raw_ratio_max! * 2) / lr;
  assert.equal(across(SEEDS.map((s) => seeded(s, rawAt * (s % 2 ? 1.1 : 0.9))))[1]!.verdict, 'inconclusive');
});
