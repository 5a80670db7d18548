/**
 * The warmup curvature comparison (src/studies/claims/warmup.ts) on synthetic rows: measured
 * inside the warmup λ1/threshold is small by construction (η_t is tiny); measured after the
 * longest warmup, at the same η, it can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import {
  curvatureAfterWarmup,
  curvatureAtFullLr,
  rowRatio,
  verdictOf,
  type WarmupRun,
} from '../../src/studies/claims/warmup.ts';

const ETA = 0.1;

/** Heavy-ball-free GD rows every 4 steps: η_t ramps linearly over `warmup`, λ1 from `sharp(step)`. */
function run(
  name: string,
  warmup: number,
  sharp: (s: number) => number,
  steps = 1400,
  status = 'completed',
): WarmupRun {
  const rows: MetricRow[] = [];
  for (let s = 0; s <= steps; s += 4) {
    const lr = warmup > 0 ? ETA * Math.min(1, (s + 1) / warmup) : ETA;
    rows.push({ step: s, lr, sharpness: sharp(s), threshold: 2 / lr, threshold_quantity: 'sharpness' });
  }
  return { name, rows, warmup, status };
}

test('inside the warmup the ratio is small whatever λ1 is; after it, equal curvature is "not lower"', () => {
  // The same λ1 = 30 (ratio 1.5 at the full η) with and without warmup.
  const none = run('none', 0, () => 30);
  const warm = run('warmup-1000', 1000, () => 30);
  // The old reading — max ratio over the first 100 steps — would call warmup a 10× reduction.
  const inside = Math.max(...warm.rows.filter((r) => r.step <= 100).map((r) => rowRatio(r)!));
  assert.ok(
    inside < 0.2 && inside < 0.2 * Math.max(...none.rows.filter((r) => r.step <= 100).map((r) => rowRatio(r)!)),
  );
  const [n, w] = curvatureAfterWarmup([none, warm], 100);
  assert.equal(n!.from, 1000);
  assert.equal(w!.to, 1100);
  assert.ok(Math.abs(n!.maxRatio! - 1.5) < 1e-12 && Math.abs(w!.maxRatio! - 1.5) < 1e-12);
  assert.equal(w!.points, 26);
});

test('a warmup run that really ends in a flatter region is lower after its warmup', () => {
  const none = run('none', 0, () => 30);
  const warm = run('warmup-100', 100, (s) => (s < 100 ? 30 : 16));
  const [n, w] = curvatureAfterWarmup([none, warm], 200);
  assert.equal(n!.from, 100);
  assert.ok(Math.abs(w!.maxRatio! - 0.8) < 1e-12);
  assert.ok(Math.abs(n!.maxRatio! - 1.5) < 1e-12);
});

test('a run without warmup that diverged before the window gives no curvature comparison', () => {
  const none = run('none', 0, () => 60, 40, 'diverged');
  const warm = run('warmup-100', 100, () => 16);
  const [n, w] = curvatureAfterWarmup([none, warm], 100);
  assert.equal(n!.maxRatio, null);
  assert.equal(n!.diverged, true);
  assert.equal(w!.maxRatio, 0.8);
  assert.equal(verdictOf([null]), 'inconclusive');
  // Adam rows: the ratio is of the preconditioned sharpness.
  assert.equal(
    rowRatio({
      step: 0,
      sharpness: 5,
      precond_sharpness: 100,
      threshold: 50,
      threshold_quantity: 'preconditioned_sharpness',
    }),
    2,
  );
});

test("at the full η: each run's own first steps there, on a common grid of measurements", () => {
  // Without warmup λ1/threshold starts at 3 and settles to 0.2 by step 60; with a 1000-step warmup
  // the run arrives at the full η at 0.5. One dense spike (ratio 9 at step 2, off the 20-step grid)
  // would make the densely measured run look sharper only because it is measured more often.
  const settling = run('none', 0, (s) => (s < 60 ? 60 : 4), 1400);
  const spike: MetricRow = { step: 2, lr: ETA, sharpness: 180, threshold: 2 / ETA, threshold_quantity: 'sharpness' };
  const none = { ...settling, rows: [settling.rows[0]!, spike, ...settling.rows.slice(1)] };
  const warm = run('warmup-1000', 1000, (s) => (s < 1000 ? 60 : 10));
  const [n, w] = curvatureAtFullLr([none, warm], 100, 20);
  assert.deepEqual([n!.from, n!.to, w!.from, w!.to], [0, 100, 1000, 1100]);
  // Steps 0, 20, …, 100 of each: six measurements, the spike at step 2 not among them.
  assert.deepEqual([n!.points, w!.points], [6, 6]);
  assert.ok(Math.abs(n!.maxRatio! - 3) < 1e-12 && Math.abs(w!.maxRatio! - 0.5) < 1e-12);
  // Without the grid every measurement counts (the spike included).
  const [nd] = curvatureAtFullLr([none, warm], 100, 0);
  assert.ok(Math.abs(nd!.maxRatio! - 9) < 1e-12);
  // Windows that start together keep every measurement: 26 rows every 4 steps plus the spike.
  const clipped = run('clip', 0, () => 30);
  const [n2, c2] = curvatureAtFullLr([none, clipped], 100, 20);
  assert.deepEqual([n2!.points, c2!.points], [27, 26]);
  // After the longer warmup both are read at steps 1000–1100, where the run without has settled.
  const [nl, wl] = curvatureAfterWarmup([none, warm], 100);
  assert.ok(Math.abs(nl!.maxRatio! - 0.2) < 1e-12 && Math.abs(wl!.maxRatio! - 0.5) < 1e-12);
});
