/**
 * The depth-rotation study's claims on synthetic runs: each claim comes out held, did not hold
 * and inconclusive where it should — a linear model that diverges above 2/λ0 (or does not), a
 * degenerate linear top eigenvalue whose ρ is arbitrary, deeper models whose eigenvector moves
 * (or stays within the noise floor), rotation per unit displacement that grows with depth (or
 * falls, or is unordered).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import { findStudy } from '../../src/studies/registry.ts';
import {
  depthOf,
  depthRotationFigures,
  evaluateDepthRotation,
  sharpnessDrift,
} from '../../src/studies/depth-rotation.ts';
import { finishedSummary } from './summaries.ts';

const L0 = 20;
const N = 40;
const SEEDS = [0, 1, 2, 3, 4, 5];

interface Spec {
  depth: number;
  m: number;
  seed: number;
  /** Diverged at this step (the rows end there). */
  divergeAt?: number;
  /** ρ at step s ≥ 1. */
  rho?: (s: number) => number;
  /** λ1 at step s (default L0). */
  sharp?: (s: number) => number;
  /** λ2/λ1 (default: 1 − 1e-8 at depth 1, a degenerate top eigenvalue; 0.5 deeper). */
  ratio2?: number;
  /** ‖Δθ‖ between measurements (default 0.01). */
  disp?: number;
}

function mk(o: Spec): StudyRun {
  const lr = (o.m * 2) / L0;
  const last = o.divergeAt ?? N;
  const ratio2 = o.ratio2 ?? (o.depth === 1 ? 1 - 1e-8 : 0.5);
  const rows: MetricRow[] = [];
  for (let s = 0; s <= last; s++) {
    const l1 = o.sharp?.(s) ?? L0;
    const row: Record<string, unknown> = {
      step: s,
      lr,
      threshold: 2 / lr,
      train_loss: s === last && o.divergeAt !== undefined ? 2000 : 1 / (1 + s),
      sharpness: l1,
      eigs: [l1, l1 * ratio2],
    };
    if (s > 0) {
      row.eigvec_cos = o.rho?.(s) ?? 1;
      row.param_displacement = o.disp ?? 0.01;
    }
    rows.push(row as MetricRow);
  }
  const widths = Array.from({ length: o.depth - 1 }, () => 64);
  return {
    name: `d${o.depth}-m${o.m}-s${o.seed}`,
    params: {
      lr_multiple: o.m,
      lambda0: L0,
      'train.seed': o.seed,
      ...(o.depth > 1 ? { variant: `depth-${o.depth}` } : {}),
    },
    dir: '/nonexistent',
    rows,
    config: resolveConfig({ model: { widths }, optimizer: { name: 'gd', lr }, train: { seed: o.seed } }),
    summary: finishedSummary({
      status: o.divergeAt !== undefined ? 'diverged' : 'completed',
      reason: o.divergeAt !== undefined ? `train loss above 1000 at step ${o.divergeAt}` : null,
      steps: last,
      final: { train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: null },
    }),
  };
}

/** Rotation angle per unit displacement `rate` (rad per unit) at ‖Δθ‖ = 0.01: ρ = cos(0.01·rate). */
const rhoFor = (rate: number) => Math.cos(0.01 * rate);

/**
 * The textbook picture: the linear model diverges at 1.5× and keeps λ1 = λ0 at 0.5× (its ρ is
 * arbitrary: a degenerate top eigenvalue); deeper models complete, their top eigenvector turning
 * by 1 − ρ ≈ 5e-7·depth below 2/λ0 and by 0.02·depth rad per unit displacement above.
 */
interface Picture {
  /** Rotation rate above 2/λ0 at a depth and seed (default 2·depth). */
  rateAbove?: (depth: number, seed: number) => number;
  /** Rate below 2/λ0 (default 0.1·depth, 1 − ρ ≈ 5e-7·depth²). */
  rateBelow?: (depth: number, seed: number) => number;
  /** Which (depth, m, seed) diverge, at step 10 (default: the linear model above 2/λ0). */
  diverges?: (depth: number, m: number, seed: number) => boolean;
  /** λ1 of the linear model below 2/λ0 at step s for a seed (default L0 plus Lanczos noise). */
  linearSharp?: (s: number, seed: number) => number;
  seeds?: readonly number[];
}

function picture(p: Picture = {}): StudyRun[] {
  const seeds = p.seeds ?? SEEDS;
  const diverges = p.diverges ?? ((d, m) => d === 1 && m > 1);
  return seeds.flatMap((seed) =>
    [1, 2, 3, 4].flatMap((depth) =>
      [0.5, 1.5].map((m) => {
        const rate = m > 1 ? (p.rateAbove?.(depth, seed) ?? 2 * depth) : (p.rateBelow?.(depth, seed) ?? 0.1 * depth);
        return mk({
          depth,
          m,
          seed,
          ...(diverges(depth, m, seed) ? { divergeAt: 10 } : {}),
          ...(depth === 1
            ? {
                // Lanczos's arbitrary choice within the degenerate eigenspace.
                rho: (s: number) => 0.1 + 0.8 * Math.abs(Math.sin(7 * s + seed)),
                sharp: (s: number) => p.linearSharp?.(s, seed) ?? L0 * (1 + 1e-7 * Math.sin(s)),
              }
            : { rho: () => rhoFor(rate * (1 + 0.01 * seed)) }),
        });
      }),
    ),
  );
}

const tol = loadStudyFile('depth-rotation').tolerances;
const evaluate = (runs: StudyRun[]) => evaluateDepthRotation(runs, { tolerances: tol });
const by = (c: ReturnType<typeof evaluate>, prefix: string) => {
  const x = c.find((y) => y.claim.startsWith(prefix));
  assert.ok(x, prefix);
  return x;
};
const C1 = 'Without depth there is no self-stabilization';
const C2 = 'Below 2/λ0 a linear model';
const C3 = 'Above 2/λ0 rotation per unit parameter displacement';
const C4 = 'Below 2/λ0 too';

test('depth-rotation: registered, its file loads, and runs are told apart by depth', () => {
  assert.ok(findStudy('depth-rotation'));
  const f = loadStudyFile('depth-rotation');
  assert.deepEqual(
    f.variants!.map((v) => v.name),
    ['depth-2', 'depth-3', 'depth-4'],
  );
  assert.deepEqual(f.base.model, { arch: 'mlp', widths: [], activation: 'tanh', init: { scheme: 'lecun-normal' } });
  assert.deepEqual(
    [1, 2, 3, 4].map((d) => depthOf(mk({ depth: d, m: 0.5, seed: 0 }))),
    [1, 2, 3, 4],
  );
  const drift = sharpnessDrift(mk({ depth: 1, m: 0.5, seed: 0, sharp: (s) => L0 * (1 + 0.001 * s) }).rows);
  assert.ok(Math.abs(drift - 0.04) < 1e-12, String(drift));
  assert.ok(Number.isNaN(sharpnessDrift(mk({ depth: 1, m: 1.5, seed: 0, divergeAt: 0 }).rows)));
});

test('depth-rotation claims all hold on the textbook picture, with effect, interval, p and n in the evidence', () => {
  const c = evaluate(picture());
  assert.equal(c.length, 4);
  for (const x of c) assert.equal(x.verdict, 'held', `${x.claim}: ${x.evidence}`);
  assert.equal(by(c, C1).values!.linear_diverged, 6);
  assert.match(by(c, C1).evidence, /diverged in 6\/6 seeds \(at step 10\)/);
  // The linear model's ρ is arbitrary but its measurements are all degenerate: not judged by ρ.
  assert.ok((by(c, C2).values!.linear_max_drift as number) < 1e-6);
  assert.equal(by(c, C2).values!.p_depth2, 2 / 64);
  assert.match(by(c, C2).evidence, /sign-flip p = 0\.031 \(exact, n = 6\)/);
  assert.match(by(c, C2).evidence, /40 of 40 measurements under 0\.05/);
  for (const k of [C3, C4]) {
    assert.equal(by(c, k).values!.spearman_seed_mean, 1);
    assert.equal(by(c, k).values!.p, 2 / 64);
    assert.equal(by(c, k).values!.seeds, 6);
    assert.match(by(c, k).evidence, /\[95 % t-CI/);
  }
});

test('claim 1: a linear model that completes, or a depth diverging in half its seeds, did not hold; fewer is inconclusive', () => {
  const linearSurvives = evaluate(picture({ diverges: (d, m, s) => d === 1 && m > 1 && s !== 3 }));
  assert.equal(by(linearSurvives, C1).verdict, 'did not hold', by(linearSurvives, C1).evidence);
  const deepDiverges = evaluate(picture({ diverges: (d, m, s) => m > 1 && (d === 1 || (d === 3 && s < 3)) }));
  assert.equal(by(deepDiverges, C1).verdict, 'did not hold', by(deepDiverges, C1).evidence);
  assert.match(by(deepDiverges, C1).evidence, /depth 3: completed in 3\/6 seeds, diverged in 3/);
  const oneDeep = evaluate(picture({ diverges: (d, m, s) => m > 1 && (d === 1 || (d === 4 && s === 0)) }));
  assert.equal(by(oneDeep, C1).verdict, 'inconclusive', by(oneDeep, C1).evidence);
  const noLinear = evaluate(picture().filter((r) => depthOf(r) > 1));
  assert.equal(by(noLinear, C1).verdict, 'inconclusive');
});

test('claim 2: a drifting linear λ1 or deeper eigenvectors within the noise floor did not hold; mixed seeds are inconclusive', () => {
  const drift = evaluate(picture({ linearSharp: (s, seed) => L0 * (1 + (seed === 2 ? 0.001 * s : 0)) }));
  assert.equal(by(drift, C2).verdict, 'did not hold', by(drift, C2).evidence);
  // ρ = cos(1e-5) below 2/λ0: 1 − ρ = 5e-11, under rho_noise in every seed.
  const still = evaluate(picture({ rateBelow: (d) => 0.001 * d }));
  assert.equal(by(still, C2).verdict, 'did not hold', by(still, C2).evidence);
  // Half the seeds above the floor, half below by as much: no decision.
  const floor = tol.rho_noise!;
  const mixed = picture().map((r) => {
    if (depthOf(r) < 2 || (r.params.lr_multiple as number) > 1) return r;
    const seed = r.config.train.seed;
    const rho = 1 - floor * (seed % 2 === 0 ? 1.5 : 0.5);
    return { ...r, rows: r.rows.map((row) => (row.step > 0 ? { ...row, eigvec_cos: rho } : row)) };
  });
  assert.equal(by(evaluate(mixed), C2).verdict, 'inconclusive', by(evaluate(mixed), C2).evidence);
  // Five seeds cannot reach p < 0.05 (2/32).
  const five = evaluate(picture({ seeds: [0, 1, 2, 3, 4] }));
  assert.equal(by(five, C2).verdict, 'inconclusive', by(five, C2).evidence);
});

test('claims 3 and 4: rotation falling with depth, or no faster than spearman_min allows, did not hold; unordered seeds are inconclusive', () => {
  const falling = evaluate(picture({ rateAbove: (d) => 10 - 2 * d, rateBelow: (d) => 1 - 0.2 * d }));
  assert.equal(by(falling, C3).verdict, 'did not hold', by(falling, C3).evidence);
  assert.equal(by(falling, C3).values!.spearman_seed_mean, -1);
  assert.equal(by(falling, C4).verdict, 'did not hold', by(falling, C4).evidence);
  // Spearman ±0.5 alternating over seeds: mean 0, and the TOST shows |mean| < 0.5.
  const tost = evaluate(picture({ rateAbove: (d, s) => (s % 2 === 0 ? [0, 0, 2, 4, 3] : [0, 0, 3, 4, 2])[d]! }));
  assert.equal(by(tost, C3).values!.spearman_seed_mean, 0);
  assert.equal(by(tost, C3).verdict, 'did not hold', by(tost, C3).evidence);
  assert.match(by(tost, C3).evidence, /TOST p = 0\.0\d\d/);
  // Spearman ±1 alternating: mean 0, too spread for the TOST.
  const unordered = evaluate(picture({ rateAbove: (d, s) => (s % 2 === 0 ? 2 * d : 10 - 2 * d) }));
  assert.equal(by(unordered, C3).verdict, 'inconclusive', by(unordered, C3).evidence);
  // Two deeper depths only: no per-seed Spearman.
  const two = evaluate(picture().filter((r) => depthOf(r) !== 4));
  assert.equal(by(two, C3).verdict, 'inconclusive');
  assert.match(by(two, C3).evidence, /2 depths ≥ 2 with non-degenerate measurements \(need 3\)/);
});

test('depth-rotation figures: 1 − ρ (log) and λ1/(2/η) per depth, below and above 2/λ0', () => {
  const figs = depthRotationFigures(picture());
  assert.deepEqual(
    figs.map((f) => f.id),
    ['rotation-below', 'ratio-below', 'rotation-above', 'ratio-above'],
  );
  // The linear model has no non-degenerate rotation measurement: only the ratio figures show it
  // (above 2/λ0 until it diverged).
  const spec = (id: string) => JSON.stringify(figs.find((f) => f.id === id)!.spec);
  for (const id of ['rotation-below', 'rotation-above']) {
    assert.ok(!spec(id).includes('depth 1 (linear)'), id);
    assert.ok(spec(id).includes('depth 4 (6 runs)'), id);
  }
  for (const id of ['ratio-below', 'ratio-above']) assert.ok(spec(id).includes('depth 1 (linear) (6 runs)'), id);
});
