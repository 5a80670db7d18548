/**
 * The rotation study's claims on synthetic runs: each claim holds where it should and does not
 * where it should not — drops that coincide with spikes only as often as chance, rotation that
 * grows with η only through the step size, λ1/λ2 exchanges at a small eigengap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import { evaluateRotation } from '../../src/studies/rotation.ts';
import { FOLLOW_UP } from '../../src/studies/followUp.ts';
import {
  blockShuffleP,
  coincidenceTest,
  matchedWindowDifference,
  dropEpisodes,
  relativeGap,
  rotationSteps,
  splitDegenerate,
} from '../../src/studies/claims/rotation.ts';
import { finishedSummary } from './summaries.ts';

const L0 = 20;
const N = 120;

interface Spec {
  m: number;
  /** ρ at step s (s ≥ 1). */
  rho: (s: number) => number;
  /** Steps whose loss rises (a spike). */
  spikes?: readonly number[];
  /** Steps whose λ1 is at/above 2/η. */
  unstable?: readonly number[];
  /** λ2/λ1 at step s (default 0.5: a clear gap). */
  ratio2?: (s: number) => number;
  disp?: (s: number) => number;
  seed?: number;
  /** λ1 at step s given 2/η (overrides `unstable`). */
  sharp?: (s: number, thr: number) => number;
  /** ‖θ‖ at step s (omitted: not logged). */
  norm?: (s: number) => number;
}

function mk(o: Spec): StudyRun {
  const lr = (o.m * 2) / L0;
  const thr = 2 / lr;
  const spikes = new Set(o.spikes ?? []);
  const unstable = new Set(o.unstable ?? []);
  const rows: MetricRow[] = [];
  for (let s = 0; s < N; s++) {
    const l1 = s === 0 ? L0 : o.sharp ? o.sharp(s, thr) : unstable.has(s) ? 1.05 * thr : Math.min(0.9 * thr, 0.9 * L0);
    const row: Record<string, unknown> = {
      step: s,
      lr,
      threshold: thr,
      train_loss: (spikes.has(s) ? 3 : 1) / (1 + s),
      sharpness: l1,
      eigs: [l1, l1 * (o.ratio2?.(s) ?? 0.5)],
      ...(o.norm ? { param_norm: o.norm(s) } : {}),
    };
    if (s > 0) {
      row.eigvec_cos = o.rho(s);
      // The top-k subspace turns with v1 here (its overlap is taken equal to ρ).
      row.subspace_overlap = o.rho(s);
      row.param_displacement = o.disp?.(s) ?? 0.01 * o.m;
    }
    rows.push(row as MetricRow);
  }
  const seed = o.seed ?? 0;
  return {
    name: `m${o.m}-s${seed}`,
    params: { lr_multiple: o.m, lambda0: L0, 'train.seed': seed },
    dir: '/nonexistent',
    rows,
    config: resolveConfig({ optimizer: { name: 'gd', lr }, train: { seed } }),
    summary: finishedSummary({
      status: 'completed',
      reason: null,
      steps: N - 1,
      final: { train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: null },
    }),
  };
}

const t = loadStudyFile('rotation').tolerances;
const by = (c: ReturnType<typeof evaluateRotation>, prefix: string) => c.find((x) => x.claim.startsWith(prefix))!;
// Irregularly spaced, so that no circular shift realigns them with themselves.
const events = [17, 41, 83, 104];
const before = events.map((e) => e - 1);

const SEEDS = [0, 1, 2, 3, 4, 5];

/**
 * The textbook picture: ρ ≈ 1 below; above, drops right at the spikes/instabilities, λ1 falling
 * to 0.8·2/η for the 10 steps after each drop, ‖θ‖ growing 10× faster in unstable updates, and
 * rotation per displacement growing with η.
 */
function textbook(seeds: readonly number[] = SEEDS): StudyRun[] {
  const base: Record<number, number> = { 0.5: 0.99995, 2: 0.99, 4: 0.91 };
  const afterDrop = (s: number) => events.some((e) => s > e && s <= e + 10);
  const sharpAbove = (s: number, thr: number) =>
    before.includes(s) || events.includes(s) ? 1.05 * thr : afterDrop(s) ? 0.8 * thr : 0.9 * thr;
  // An update t is unstable when λ1(t − 1) ≥ 2/η: ‖θ‖ grows by 0.01 then, by 0.001 otherwise.
  const unstableUpdate = (t: number) => before.includes(t - 1) || events.includes(t - 1);
  const norm = (s: number) => {
    let n = 1;
    for (let t = 1; t <= s; t++) n += unstableUpdate(t) ? 0.01 : 0.001;
    return n;
  };
  return seeds.flatMap((seed) =>
    [0.5, 2, 4].map((m) =>
      mk({
        m,
        seed,
        rho: (s) => (m > 1 && events.includes(s) ? 0.3 + 0.01 * seed : base[m]! - (m > 1 ? 0.001 * seed : 0)),
        spikes: m > 1 ? events : [],
        unstable: m > 1 ? before : [],
        ...(m > 1 ? { sharp: sharpAbove, norm: (s: number) => norm(s) + 0.01 * seed } : {}),
      }),
    ),
  );
}

/** The runs above 2/λ0. */
const above = (runs: StudyRun[]) => runs.filter((r) => (r.params.lr_multiple as number) > 1);
/** A run with `key` replaced by f(value, 2/η, step) at every step after the first. */
const flip = (r: StudyRun, key: 'sharpness' | 'param_norm', f: (v: number, thr: number, step: number) => number) => ({
  ...r,
  rows: r.rows.map((row) =>
    row.step > 0 && typeof row[key] === 'number'
      ? { ...row, [key]: f(row[key] as number, row.threshold as number, row.step) }
      : row,
  ),
});

const WITHIN = 'At the edge of stability, updates from λ1 ≥ 2/η';
const FLAT = 'Flatness follows rotation';
const NORM = 'The parameter norm grows during instabilities';

test('rotation claims hold on the textbook picture', () => {
  const c = evaluateRotation(textbook(), { tolerances: t });
  assert.equal(c.length, 7);
  for (const x of c) assert.equal(x.verdict, 'held', `${x.claim}: ${x.evidence}`);
  const spikes = by(c, 'Above 2/λ0, drops of ρ (ρ <');
  assert.equal(spikes.values!.episodes, 8 * SEEDS.length);
  assert.equal(spikes.values!.coinciding, 8 * SEEDS.length);
  // Across seeds: effect, t-interval, exact sign-flip p and n in the evidence.
  assert.match(
    by(c, WITHIN).evidence,
    /across seeds: [\d.]+ \[95 % t-CI [^\]]+\], sign-flip p = 0\.031 \(exact, n = 6\)/,
  );
  assert.equal(by(c, 'Rotation per unit parameter displacement').values!.p, 2 / 64);
  assert.equal(by(c, 'Below 2/λ0').values!.p, 2 / 64);
  // λ1 falls from 1.05 to 0.8 of 2/η over the 10 steps after each drop: a relative change of −0.24 there.
  assert.ok((by(c, FLAT).values!.mean_diff as number) < -0.2, by(c, FLAT).evidence);
  // ‖θ‖: 0.01 per unstable update against 0.001 per stable one.
  assert.ok(Math.abs((by(c, NORM).values!.mean_diff as number) - 0.009) < 1e-9, by(c, NORM).evidence);
  // Three seeds of one sign: p = 0.25, inconclusive (held under the old rule).
  const three = evaluateRotation(textbook([0, 1, 2]), { tolerances: t });
  for (const name of [WITHIN, FLAT, NORM, 'Rotation per unit parameter displacement', 'Below 2/λ0'])
    assert.equal(by(three, name).verdict, 'inconclusive', name);
  assert.ok((spikes.values!.p_value as number) < 0.01);
});

test('flatness after rotation and the growth of the norm: did not hold the other way, inconclusive when mixed', () => {
  // λ1 rising after the drops (from 0.6 to 0.8 of 2/η) and ‖θ‖ shrinking in unstable updates, at every seed.
  const other = above(textbook()).map((r) =>
    flip(
      flip(r, 'sharpness', (v, thr, step) => (events.includes(step) ? 0.6 * thr : v)),
      'param_norm',
      (v) => 3 - v,
    ),
  );
  const c = evaluateRotation(other, { tolerances: t });
  assert.equal(by(c, FLAT).verdict, 'did not hold', by(c, FLAT).evidence);
  assert.equal(by(c, NORM).verdict, 'did not hold', by(c, NORM).evidence);
  // Half the seeds each way: inconclusive.
  const mixed = [...above(textbook([0, 2, 4])), ...other.filter((r) => r.config.train.seed % 2 === 1)];
  const m = evaluateRotation(mixed, { tolerances: t });
  assert.equal(by(m, FLAT).verdict, 'inconclusive', by(m, FLAT).evidence);
  assert.equal(by(m, NORM).verdict, 'inconclusive', by(m, NORM).evidence);
});

test('drops that meet spikes only as often as chance decide nothing, however high the hit fraction; drops away from them do not hold', () => {
  // A spike every 4th step: every episode is within 5 steps of one wherever it lies.
  const dense = Array.from({ length: N / 4 }, (_, i) => 4 * i + 1);
  const runs = [
    textbook([0])[0]!,
    ...[2, 4].map((m) => mk({ m, rho: (s) => (events.includes(s) ? 0.3 : 0.99), spikes: dense, unstable: dense })),
  ];
  const c = by(evaluateRotation(runs, { tolerances: t }), 'Above 2/λ0, drops of ρ (ρ <');
  assert.equal(c.values!.fraction, 1);
  assert.equal(c.values!.p_value, 1);
  assert.equal(c.verdict, 'inconclusive', c.evidence);
  // Drops away from the spikes: the fraction is 0.
  const far = [
    textbook([0])[0]!,
    ...[2, 4].map((m) =>
      mk({ m, rho: (s) => (events.includes(s + 12) ? 0.3 : 0.99), spikes: events, unstable: before }),
    ),
  ];
  assert.equal(by(evaluateRotation(far, { tolerances: t }), 'Above 2/λ0, drops of ρ (ρ <').verdict, 'did not hold');
});

test('an exchange of λ1 and λ2 (small eigengap) is not counted as a rotation', () => {
  // The only drops happen where λ2 = 0.99·λ1: excluded, so nothing is left to coincide.
  const swap = [2, 4].map((m) =>
    mk({
      m,
      rho: (s) => (events.includes(s) ? 0.02 : 0.99),
      ratio2: (s) => (events.includes(s) ? 0.99 : 0.5),
      spikes: events,
      unstable: before,
    }),
  );
  const c = evaluateRotation([textbook([0])[0]!, ...swap], { tolerances: t });
  const spikes = by(c, 'Above 2/λ0, drops of ρ (ρ <');
  assert.equal(spikes.verdict, 'inconclusive', spikes.evidence);
  // Below the threshold, a swap does not make ρ "rotate".
  const belowSwap = SEEDS.map((seed) =>
    mk({
      m: 0.5,
      seed,
      rho: (s) => (s % 10 === 0 ? 0.01 : 0.99995),
      ratio2: (s) => (s % 10 === 0 ? 0.995 : 0.5),
    }),
  );
  assert.equal(by(evaluateRotation(belowSwap, { tolerances: t }), 'Below 2/λ0').verdict, 'held');
  // …while the same drops with a clear gap are rotations: did not hold.
  const belowRot = SEEDS.map((seed) => mk({ m: 0.5, seed, rho: (s) => (s % 10 === 0 ? 0.01 : 0.99995) }));
  assert.equal(by(evaluateRotation(belowRot, { tolerances: t }), 'Below 2/λ0').verdict, 'did not hold');
  // One seed: no test across seeds can decide.
  assert.equal(by(evaluateRotation(belowSwap.slice(0, 1), { tolerances: t }), 'Below 2/λ0').verdict, 'inconclusive');
});

test('rotation that grows with η only through the step size does not hold', () => {
  // Angle proportional to the displacement (slightly less at larger η): raw 1 − ρ grows, per displacement it falls.
  const stepOnly = (seed: number, tilt: number) =>
    [0.5, 1.5, 2.5, 4].map((m) => {
      const disp = 0.02 * m;
      const angle = 5 * disp * (1 + tilt * m);
      return mk({ m, seed, rho: () => Math.cos(angle), disp: () => disp });
    });
  const runs = SEEDS.flatMap((sd) => stepOnly(sd, -0.02));
  const c = evaluateRotation(runs, { tolerances: t });
  const grows = by(c, 'Rotation per unit parameter displacement');
  assert.equal(grows.verdict, 'did not hold', grows.evidence);
  assert.equal(grows.values!.spearman_seed_mean, -1);
  // Rotation per displacement unrelated to η in the same way at every seed (Spearman 0): TOST → did not hold.
  const rank0: Record<number, number> = { 0.5: 2, 1.5: 4, 2.5: 1, 4: 3 };
  const flat0 = SEEDS.flatMap((seed) =>
    [0.5, 1.5, 2.5, 4].map((m) => mk({ m, seed, rho: () => Math.cos(0.01 * rank0[m]!), disp: () => 0.01 })),
  );
  const g0 = by(evaluateRotation(flat0, { tolerances: t }), 'Rotation per unit parameter displacement');
  assert.equal(g0.verdict, 'did not hold', g0.evidence);
  assert.equal(g0.values!.spearman_seed_mean, 0);
  // Growing at half the seeds and falling at the others: inconclusive.
  const mixed = SEEDS.flatMap((sd) => stepOnly(sd, sd % 2 ? 0.02 : -0.02));
  assert.equal(
    by(evaluateRotation(mixed, { tolerances: t }), 'Rotation per unit parameter displacement').verdict,
    'inconclusive',
  );
  // Within runs: no difference between unstable and stable updates → not held.
  // Pseudo-random angles unrelated to the instabilities.
  const flat = SEEDS.flatMap((seed) =>
    [2, 4].map((m) =>
      mk({
        m,
        seed,
        rho: (s) => Math.cos(0.1 + 0.02 * Math.sin(2.3 * s * s + seed)),
        spikes: events,
        unstable: before,
      }),
    ),
  );
  const within = by(evaluateRotation(flat, { tolerances: t }), WITHIN);
  assert.notEqual(within.verdict, 'held', within.evidence);
  // Between-run differences are not a within-run effect: the 4× run is unstable often and rotates
  // more everywhere, the 2× run rarely; pooling the updates of both would call it held.
  const often = Array.from({ length: 30 }, (_, i) => 4 * i + 2);
  const between = [
    mk({ m: 2, rho: (s) => Math.cos(0.1 + 0.01 * Math.sin(2.3 * s * s)), unstable: [] }),
    mk({ m: 4, rho: (s) => Math.cos(0.5 + 0.01 * Math.sin(2.3 * s * s)), disp: () => 0.02, unstable: often }),
  ];
  const w2 = by(evaluateRotation(between, { tolerances: t }), WITHIN);
  assert.notEqual(w2.verdict, 'held', w2.evidence);
  // Both runs are judged (the 2× run on its one unstable update, from its initialization, in a window
  // with stable ones), and neither shows more rotation in its unstable updates.
  assert.equal(w2.values!.runs_judged, 2);
});

test('within-run comparison across seeds: held, did not hold and inconclusive', () => {
  // Updates from λ1 ≥ 2/η rotate less than the others at every seed: did not hold.
  const less = (seed: number) =>
    [2, 4].map((m) =>
      mk({ m, seed, rho: (s) => (events.includes(s) ? 0.999 : 0.9 - 0.01 * seed), spikes: events, unstable: before }),
    );
  const dn = by(evaluateRotation(SEEDS.flatMap(less), { tolerances: t }), WITHIN);
  assert.equal(dn.verdict, 'did not hold', dn.evidence);
  // More at half the seeds, less at the others: inconclusive.
  const halves = [
    ...textbook([0, 2, 4]).filter((r) => (r.params.lr_multiple as number) > 1),
    ...[1, 3, 5].flatMap(less),
  ];
  const inc = by(evaluateRotation(halves, { tolerances: t }), WITHIN);
  assert.equal(inc.verdict, 'inconclusive', inc.evidence);
  assert.equal(by(evaluateRotation(textbook(), { tolerances: t }), WITHIN).verdict, 'held');
});

test('claims/rotation helpers: gaps, steps, episodes, and an exact circular-shift p-value', () => {
  assert.equal(relativeGap({ step: 0, eigs: [10, 8] }), 0.2);
  assert.equal(relativeGap({ step: 0, eigs: [10] }), null);
  const rows: MetricRow[] = [
    { step: 0, sharpness: 10, threshold: 9, eigs: [10, 5] },
    { step: 1, sharpness: 8, threshold: 9, eigs: [8, 7.9], eigvec_cos: 0.5, param_displacement: 2 },
    { step: 2, sharpness: 8, threshold: 9, eigs: [8, 4], eigvec_cos: 1 },
  ];
  const st = rotationSteps(rows);
  assert.equal(st.length, 2);
  assert.equal(st[0]!.unstable, true, 'λ1 ≥ threshold at the previous measurement');
  assert.equal(st[1]!.unstable, false);
  assert.ok(Math.abs(st[0]!.angle - Math.PI / 3) < 1e-12);
  assert.ok(Math.abs(st[0]!.gap! - 0.1 / 8) < 1e-12, 'the smaller gap of the two measurements');
  assert.equal(st[1]!.displacement, null);
  // Step 2's rotation is measured from step 1's eigenvector, which was ill-defined (gap 0.0125): both excluded.
  const { kept, degenerate } = splitDegenerate(st, 0.05);
  assert.deepEqual(
    kept.map((s) => s.step),
    [],
  );
  assert.deepEqual(
    degenerate.map((s) => s.step),
    [1, 2],
  );
  assert.deepEqual(
    splitDegenerate(st, 0.01).kept.map((s) => s.step),
    [1, 2],
  );
  assert.deepEqual(dropEpisodes(st, 0.9), [[1, 1]]);
  // One run, 10 steps, one episode at step 3, one mark at 3, window 0: exactly one of the 10 shifts hits.
  const steps = Array.from({ length: 10 }, (_, i) => i);
  const one = coincidenceTest([{ episodes: [[3, 3]], marks: [3], steps }], 0);
  assert.deepEqual(one, { hits: 1, total: 1, chanceHits: 0.1, pValue: 0.1 });
  // Window 1: marks 2..4 are hit by 3 of the 10 shifts.
  assert.equal(coincidenceTest([{ episodes: [[3, 3]], marks: [3], steps }], 1).pValue, 0.3);
});

test('matched-window differences and their block-shuffle null', () => {
  // Windows of 4 steps from step 10: [10–13] unstable 5, 7 vs stable 1 → 5; [14–17] stable only
  // (skipped); [18–21] unstable 2 vs stable 4, 6 → −3. Mean of the two: 1.
  const xs = [
    { step: 10, value: 5, unstable: true },
    { step: 11, value: 7, unstable: true },
    { step: 13, value: 1, unstable: false },
    { step: 14, value: 100, unstable: false },
    { step: 18, value: 2, unstable: true },
    { step: 20, value: 4, unstable: false },
    { step: 21, value: 6, unstable: false },
  ];
  assert.deepEqual(matchedWindowDifference(xs, 4), { diff: 1, windows: 2 });
  assert.ok(Number.isNaN(matchedWindowDifference(xs.slice(3, 4), 4).diff));
  assert.throws(() => matchedWindowDifference(xs, 0), /window must be ≥ 1/);
  // Values that follow irregularly placed labels exactly (unstable 1, stable 0): permuting blocks
  // of 10 moves the labels off the 1s, so the observed difference is rarely reached.
  const label = (i: number) => Math.sin(i * 7.1) > 0.6;
  const linked = Array.from({ length: 200 }, (_, i) => ({ step: i, value: label(i) ? 1 : 0, unstable: label(i) }));
  assert.equal(matchedWindowDifference(linked, 10).diff, 1);
  assert.ok(blockShuffleP(linked, 10, 10, { seed: 3, resamples: 400 }) < 0.01);
  // Values unrelated to the labels: observed difference 0 against a null centred on 0.
  const unrelated = linked.map((x, i) => ({ ...x, value: Math.sin(i * 12.9898) }));
  const p = blockShuffleP(unrelated, 10, 10, { seed: 3, resamples: 400 });
  assert.ok(p > 0.05, `p = ${p}`);
});

test('the norm claim left undecided by the study seeds is judged on the follow-up seeds alone, at its level', () => {
  // The shipped study file declares the follow-up (α = 0.025); the oracle: n seeds of one sign give
  // the exact two-sided sign-flip p = 2/2^n (8: 0.0078 < 0.025; 6: 0.031, held at 0.05 only).
  const file = loadStudyFile('rotation');
  const ctx = { tolerances: file.tolerances, file, quick: false };
  const asFollowUp = (runs: StudyRun[]) =>
    runs
      .filter((r) => r.params.lr_multiple === 2)
      .map((r) => ({ ...r, name: `follow-up_${r.name}`, params: { ...r.params, variant: FOLLOW_UP } }));
  const shrinking = (r: StudyRun) => flip(r, 'param_norm', (v) => 3 - v);
  // The study's seeds: ‖θ‖ grows in unstable updates at even seeds, shrinks at odd ones (undecided).
  const main = [...textbook([0, 2, 4]), ...above(textbook([1, 3, 5])).map(shrinking)];
  const first = by(evaluateRotation(main, ctx), NORM);
  assert.equal(first.verdict, 'inconclusive', first.evidence);
  const eight = [100, 101, 102, 103, 104, 105, 106, 107];
  const grows = evaluateRotation([...main, ...asFollowUp(textbook(eight))], ctx);
  assert.equal(by(grows, NORM).verdict, 'held', by(grows, NORM).evidence);
  assert.match(
    by(grows, NORM).evidence,
    /Follow-up on fresh seeds 100–107 at α = 0\.025, judged on its own seeds: [\d.e-]+ \[95 % t-CI [^\]]+\], sign-flip p = 0\.008 \(exact, n = 8\) → held/,
  );
  assert.equal(by(grows, NORM).values!.follow_up_n, 8);
  // The study's own look stays on the page.
  assert.ok(by(grows, NORM).evidence.startsWith(first.evidence), by(grows, NORM).evidence);
  // The follow-up runs enter no other claim.
  const own = evaluateRotation(main, ctx);
  for (const [i, c] of own.entries()) if (!c.claim.startsWith(NORM)) assert.deepEqual(grows[i], c, c.claim);
  // Shrinking at every fresh seed: did not hold; six seeds of one sign: inconclusive at 0.025.
  const shrinks = evaluateRotation([...main, ...asFollowUp(textbook(eight)).map(shrinking)], ctx);
  assert.equal(by(shrinks, NORM).verdict, 'did not hold', by(shrinks, NORM).evidence);
  const six = evaluateRotation([...main, ...asFollowUp(textbook(eight.slice(0, 6)))], ctx);
  assert.equal(by(six, NORM).verdict, 'inconclusive', by(six, NORM).evidence);
  assert.match(by(six, NORM).evidence, /sign-flip p = 0\.031 \(exact, n = 6\) → inconclusive/);
  // A follow-up run that did not complete leaves the follow-up inconclusive, named.
  const fu = asFollowUp(textbook(eight));
  fu[7] = { ...fu[7]!, summary: { ...fu[7]!.summary, status: 'diverged' } };
  const div = by(evaluateRotation([...main, ...fu], ctx), NORM);
  assert.equal(div.verdict, 'inconclusive', div.evidence);
  assert.match(div.evidence, /not completed: η = 2·2\/λ0, seed 107 \(diverged\) → inconclusive/);
  // Decided by the study's seeds: the follow-up is not looked at.
  const kept = by(evaluateRotation([...textbook(), ...asFollowUp(textbook(eight)).map(shrinking)], ctx), NORM);
  assert.equal(kept.verdict, 'held', kept.evidence);
  assert.doesNotMatch(kept.evidence, /Follow-up/);
  // Follow-up runs without a follow_up in the study file: an error, not a default level.
  assert.throws(
    () => evaluateRotation([...main, ...fu], { tolerances: t }),
    /8 follow-up runs, but the study file declares no follow_up/,
  );
});
