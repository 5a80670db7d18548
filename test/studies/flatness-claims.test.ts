/**
 * The flatness-lr evaluator on synthetic run directories (final analysis and settled λ1 written
 * as the study writes them): claims hold on the textbook picture and do not where the effect is
 * only the edge of stability (λ1 pinned at 2/η), a fall that is only divergence, or noise.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import { evaluateFlatness } from '../../src/studies/flatness-lr.ts';
import { finishedSummary } from './summaries.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-flat-'));
after(() => rmSync(root, { recursive: true, force: true }));
const t = loadStudyFile('flatness-lr').tolerances;
const L0 = 20;
const STEP = 300;

interface Final {
  sharpness: number;
  trace: number;
  settled: number;
  testAcc: number;
  /** Mean 1 − ρ during training. */
  rotation: number;
  lambdaMin?: number;
}

let counter = 0;
function mk(m: number, seed: number, f: Final | 'diverged'): StudyRun {
  const dir = join(root, `run-${counter++}`);
  const lr = (m * 2) / L0;
  const rows: MetricRow[] = [0, 100, 200, STEP].map((s) => ({
    step: s,
    lr,
    threshold: 2 / lr,
    sharpness: s === 0 ? L0 : f === 'diverged' ? 2 * L0 : f.sharpness,
    lambda_min: -0.1,
    ...(s > 0 && f !== 'diverged' ? { eigvec_cos: 1 - f.rotation } : {}),
  }));
  if (f !== 'diverged') {
    const step = String(STEP).padStart(6, '0');
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    mkdirSync(join(dir, 'curvature'), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', `step-${step}.safetensors`), '');
    writeFileSync(
      join(dir, 'curvature', `analysis-step-${step}.json`),
      JSON.stringify({
        step: STEP,
        eigs: [f.sharpness, f.sharpness / 2],
        lambda_min: f.lambdaMin ?? -0.1,
        trace: f.trace,
      }),
    );
    writeFileSync(
      join(dir, 'curvature', `settled-step-${step}.json`),
      JSON.stringify({
        step: STEP,
        lr: 0.025,
        steps: 100,
        sharpness_before: f.sharpness,
        sharpness: f.settled,
        loss_before: 0.1,
        loss: 0.09,
      }),
    );
  }
  return {
    name: `m${m}-s${seed}`,
    params: { lr_multiple: m, 'train.seed': seed, lambda0: L0 },
    dir,
    rows,
    config: resolveConfig({ optimizer: { name: 'gd', lr }, train: { seed, stop_train_acc: 0.95 } }),
    summary: finishedSummary({
      status: f === 'diverged' ? 'diverged' : 'completed',
      reason: null,
      steps: STEP,
      final: {
        train_loss: 0.1,
        train_acc: f === 'diverged' ? null : 0.96,
        test_loss: null,
        test_acc: f === 'diverged' ? null : f.testAcc,
        sharpness: f === 'diverged' ? null : f.sharpness,
      },
    }),
  };
}

const MULTS = [0.5, 1.5, 2, 3, 4, 8];
const SEEDS = [0, 1, 2, 3, 4, 5];
/** Small per-seed, per-multiple wiggles (so that intervals have a width), |w| ≤ 0.003. */
const wiggle = (m: number, s: number) => 0.003 * Math.sin(7 * m + 3 * s + 1);

function sweep(f: (m: number, s: number) => Final | 'diverged'): StudyRun[] {
  return MULTS.flatMap((m) => SEEDS.map((s) => mk(m, s, f(m, s))));
}

const textbookAcc: Record<number, number> = { 0.5: 0.8, 1.5: 0.83, 2: 0.845, 3: 0.835, 4: 0.82 };
const textbook = (m: number, s: number): Final | 'diverged' =>
  m >= 8
    ? 'diverged'
    : {
        sharpness: 0.97 * Math.min(L0, (2 * L0) / (2 * m)),
        trace: 100 / m + wiggle(m, s),
        settled: 30 - 3 * m + wiggle(m, s),
        testAcc: textbookAcc[m]! + wiggle(m, s),
        rotation: 0.01 * m,
      };

const find = (c: ReturnType<typeof evaluateFlatness>, prefix: string) => c.find((x) => x.claim.startsWith(prefix))!;

test('flatness-lr: the textbook picture holds (claims 1–6)', () => {
  const c = evaluateFlatness(sweep(textbook), { tolerances: t });
  assert.equal(c.length, 7);
  for (const x of c.slice(0, 6)) assert.equal(x.verdict, 'held', `${x.claim}: ${x.evidence}`);
  assert.ok(Math.abs((find(c, 'Past 2/λ0').values!.median_ratio as number) - 0.97) < 1e-9);
  // The sweep check is a check of the design, counted apart from the claims; the claims carry no scope.
  assert.deepEqual(
    c.map((x) => x.scope ?? 'claim'),
    ['design', ...Array.from({ length: 6 }, () => 'claim')],
  );
  // The effect size is the mean paired difference, stated with its interval.
  const imp = find(c, 'Test accuracy improves');
  const expected =
    SEEDS.reduce((a, s) => a + (textbookAcc[2]! + wiggle(2, s)) - (textbookAcc[0.5]! + wiggle(0.5, s)), 0) /
    SEEDS.length;
  assert.ok(Math.abs((imp.values!.diff as number) - expected) < 1e-12);
  assert.match(
    imp.evidence,
    /difference in points 4\.5 \[95 % t-CI [^\]]+\], sign-flip p = 0\.031 \(exact, n = 6\), TOST p = [\d.]+ for \|effect\| < 0\.5 over seeds 0, 1, 2, 3, 4, 5, Cohen's d/,
  );
  assert.equal(imp.values!.p, 2 / 64);
});

test('flatness-lr: λ1 pinned at 2/η is not flatness — trace and settled λ1 decide', () => {
  // Final λ1 = 2/η falls with η exactly as at the edge of stability, but the trace and the settled λ1 rise.
  const eosOnly = (m: number, s: number): Final | 'diverged' => {
    const f = textbook(m, s);
    return f === 'diverged' ? f : { ...f, trace: 50 + 5 * m + wiggle(m, s), settled: 10 + m + wiggle(m, s) };
  };
  const c = evaluateFlatness(sweep(eosOnly), { tolerances: t });
  const tr = find(c, 'Flatter for larger η: the final Hessian trace');
  const st = find(c, 'Flatter for larger η: λ1 after settling');
  assert.ok((tr.values!.spearman_lr_sharpness as number) < -0.9, 'the raw final λ1 does fall with η');
  assert.equal(tr.verdict, 'did not hold', tr.evidence);
  assert.equal(st.verdict, 'did not hold', st.evidence);
  // Noise only: no relation to η → not held.
  const noise = (m: number, s: number): Final | 'diverged' => {
    const f = textbook(m, s);
    return f === 'diverged' ? f : { ...f, trace: 50 + 100 * wiggle(m, s), settled: 10 + 100 * wiggle(3 * m, s) };
  };
  const n = evaluateFlatness(sweep(noise), { tolerances: t });
  assert.notEqual(find(n, 'Flatter for larger η: the final Hessian trace').verdict, 'held');
  assert.notEqual(find(n, 'Flatter for larger η: λ1 after settling').verdict, 'held');
});

test('flatness-lr: a "fall" that is only divergence does not count; no gain in accuracy does not hold', () => {
  // Accuracy keeps rising up to the last trained multiple; 8× diverges.
  const rising = (m: number, s: number): Final | 'diverged' => {
    const f = textbook(m, s);
    return f === 'diverged' ? f : { ...f, testAcc: 0.8 + 0.01 * m + wiggle(m, s) };
  };
  const c = evaluateFlatness(sweep(rising), { tolerances: t });
  assert.equal(find(c, 'Test accuracy improves').verdict, 'held');
  assert.equal(
    find(c, 'Test accuracy falls again').verdict,
    'did not hold',
    find(c, 'Test accuracy falls again').evidence,
  );
  // Nothing above 2× trains at every seed: there is no fall among trained runs to judge.
  const onlyDiverge = (m: number, s: number): Final | 'diverged' => (m > 2 ? 'diverged' : textbook(m, s));
  assert.equal(
    find(evaluateFlatness(sweep(onlyDiverge), { tolerances: t }), 'Test accuracy falls again').verdict,
    'inconclusive',
  );
  // Same accuracy at 0.5× and 2× up to ±0.3 points of noise, margin 0.5 points: TOST shows no gain → did not hold.
  const flat = (m: number, s: number): Final | 'diverged' => {
    const f = textbook(m, s);
    return f === 'diverged' ? f : { ...f, testAcc: 0.8 + wiggle(m, s) };
  };
  assert.equal(
    find(evaluateFlatness(sweep(flat), { tolerances: t }), 'Test accuracy improves').verdict,
    'did not hold',
  );
  // Noise of ±1.2 points and no gain: neither a gain nor its absence is shown → inconclusive.
  const noisy = (m: number, s: number): Final | 'diverged' => {
    const f = textbook(m, s);
    return f === 'diverged' ? f : { ...f, testAcc: 0.8 + 4 * wiggle(m, s) };
  };
  const nc = find(evaluateFlatness(sweep(noisy), { tolerances: t }), 'Test accuracy improves');
  assert.equal(nc.verdict, 'inconclusive', nc.evidence);
  // The same accuracy within a tenth of acc_gain_min at every seed: TOST shows no gain → did not hold.
  const same = (m: number, s: number): Final | 'diverged' => {
    const f = textbook(m, s);
    return f === 'diverged' ? f : { ...f, testAcc: 0.8 + (0.03 * t.acc_gain_min! * wiggle(m, s)) / 0.003 };
  };
  const sc = find(evaluateFlatness(sweep(same), { tolerances: t }), 'Test accuracy improves');
  assert.equal(sc.verdict, 'did not hold', sc.evidence);
  // Three seeds where all gain: p = 2/8, inconclusive (held under the old [min, max] bootstrap interval).
  const three = MULTS.flatMap((m) => [0, 1, 2].map((s) => mk(m, s, textbook(m, s))));
  assert.equal(find(evaluateFlatness(three, { tolerances: t }), 'Test accuracy improves').verdict, 'inconclusive');
  // One seed: no interval, so no verdict.
  const one = MULTS.map((m) => mk(m, 0, textbook(m, 0)));
  assert.equal(find(evaluateFlatness(one, { tolerances: t }), 'Test accuracy improves').verdict, 'inconclusive');
});

test('flatness-lr: rank correlations of test accuracy with the trace and with rotation', () => {
  // Accuracy falls with the trace and rises with rotation across runs.
  const aligned = (m: number, s: number): Final | 'diverged' => {
    if (m >= 8) return 'diverged';
    const acc = 0.8 + 0.01 * m + wiggle(m, s);
    return { sharpness: 10, trace: 100 - 500 * (acc - 0.8), settled: 10, testAcc: acc, rotation: acc - 0.7 };
  };
  assert.equal(
    find(evaluateFlatness(sweep(aligned), { tolerances: t }), 'Test accuracy is rank-correlated').verdict,
    'held',
  );
  const opposite = (m: number, s: number): Final | 'diverged' => {
    const f = aligned(m, s);
    return f === 'diverged' ? f : { ...f, rotation: 1 - f.testAcc };
  };
  assert.equal(
    find(evaluateFlatness(sweep(opposite), { tolerances: t }), 'Test accuracy is rank-correlated').verdict,
    'did not hold',
  );
});

test('flatness-lr: the across-seed tests of claims 2–4 and 7 give each verdict', () => {
  const c = (f: (m: number, s: number) => Final | 'diverged') => evaluateFlatness(sweep(f), { tolerances: t });
  const tweak = (g: (f: Final, m: number, s: number) => Partial<Final>) => (m: number, s: number) => {
    const f = textbook(m, s);
    return f === 'diverged' ? f : { ...f, ...g(f, m, s) };
  };
  // Claim 2: λ1 at 0.6·2/η throughout past the threshold: never back at the edge, so not judged
  // (inconclusive; "did not hold" needs runs back at the edge, tested below); 0.6 or 1.3 by seed → inconclusive.
  const ratio = (r: (s: number) => number) => tweak((_f, m, s) => ({ sharpness: m > 1 ? (r(s) * L0) / m : 0.9 * L0 }));
  assert.equal(find(c(ratio(() => 0.6)), 'Past 2/λ0').verdict, 'inconclusive');
  const mixed2 = find(c(ratio((s) => (s % 2 ? 1.3 : 0.6))), 'Past 2/λ0');
  assert.equal(mixed2.verdict, 'inconclusive', mixed2.evidence);
  assert.match(find(c(textbook), 'Past 2/λ0').evidence, /inside \[0\.75, 1\.25\]: TOST p = /);
  // Claim 3: the trace falls with η at half the seeds and rises at the others → inconclusive.
  const half = find(
    c(tweak((_f, m, s) => ({ trace: s % 2 ? 100 / m : 10 * m }))),
    'Flatter for larger η: the final Hessian trace',
  );
  assert.equal(half.verdict, 'inconclusive', half.evidence);
  const tb = find(c(textbook), 'Flatter for larger η: the final Hessian trace');
  assert.equal(tb.values!.p, 2 / 64);
  assert.match(tb.evidence, /per-seed Spearman 0: -1, 1: -1, .*sign-flip p = 0\.031 \(exact, n = 6\)/);
  // The trace unrelated to η in the same way at every seed (Spearman 0 per seed): TOST shows
  // |mean| < spearman_min → did not hold.
  const rank0: Record<number, number> = { 0.5: 2, 1.5: 5, 2: 3, 3: 1, 4: 4 };
  const none = find(c(tweak((_f, m) => ({ trace: 100 + rank0[m]! }))), 'Flatter for larger η: the final Hessian trace');
  assert.equal(none.verdict, 'did not hold', none.evidence);
  assert.match(none.evidence, /TOST p = 0\.000 for \|effect\| < 0\.5/);
  // Claim 4: the settled λ1 rises with η at every seed → did not hold.
  assert.equal(
    find(c(tweak((_f, m, s) => ({ settled: 10 + m + wiggle(m, s) }))), 'Flatter for larger η: λ1 after settling')
      .verdict,
    'did not hold',
  );
});

test('flatness-lr: "tracks 2/η" is judged on the runs back at the edge after the catapult, the others are listed', () => {
  // The runs' λ1/(2/η) path: from m at initialization down to 0.5 (the catapult), then `after` for the
  // rest; `after` below 0.9 = still re-sharpening when the target was reached.
  const path = (r: StudyRun, m: number, after: number, final: number): StudyRun => {
    const lr = (m * 2) / L0;
    const ratios = [m, 0.5, after, final];
    return {
      ...r,
      rows: [0, 100, 200, STEP].map((s, i) => ({ step: s, lr, threshold: 2 / lr, sharpness: (ratios[i]! * 2) / lr })),
    };
  };
  const sweepWith = (finalRatio: (m: number, s: number) => number, back: (m: number) => boolean) =>
    MULTS.flatMap((m) =>
      SEEDS.map((s) => {
        const f = textbook(m, s);
        if (f === 'diverged' || m <= 1) return mk(m, s, f);
        const q = finalRatio(m, s);
        const r = mk(m, s, { ...f, sharpness: (q * 2 * L0) / (2 * m) });
        return path(r, m, back(m) ? 1 : 0.6, q);
      }),
    );
  const claim = 'Past 2/λ0, once back at the edge';
  // Back at 2/η (≈ 1.05) at 3–4×, still re-sharpening at 1.5–2× (0.6): held on the former, the latter listed.
  const held = find(
    evaluateFlatness(
      sweepWith(
        (m, s) => (m >= 3 ? 1.05 + wiggle(m, s) : 0.6),
        (m) => m >= 3,
      ),
      { tolerances: t },
    ),
    claim,
  );
  assert.equal(held.verdict, 'held', held.evidence);
  assert.equal(held.values!.runs_not_back, 12);
  assert.match(
    held.evidence,
    /not judged, reached the target before returning to 0\.9·2\/η: 12 runs \(1\.5×: 6, 2×: 6\)/,
  );
  // Back at the edge but then far above 2/η at the end: did not hold.
  assert.equal(
    find(
      evaluateFlatness(
        sweepWith(
          (m, s) => 1.6 + wiggle(m, s),
          () => true,
        ),
        { tolerances: t },
      ),
      claim,
    ).verdict,
    'did not hold',
  );
  // No run back at the edge: inconclusive, with the runs listed.
  const none = find(
    evaluateFlatness(
      sweepWith(
        () => 0.6,
        () => false,
      ),
      { tolerances: t },
    ),
    claim,
  );
  assert.equal(none.verdict, 'inconclusive');
  assert.match(none.evidence, /no trained run past 2\/λ0 back at the edge/);
});
