import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import {
  coincidence,
  combineVerdicts,
  coverage,
  edgeOfStability,
  firstReach,
  fmt,
  increaseSteps,
  iqr,
  judgeRange,
  lossPoints,
  mean,
  meanRotation,
  median,
  pearson,
  quantile,
  ranks,
  ratioSeries,
  seriesOf,
  spearman,
  tol,
  windowedTrend,
} from '../../src/studies/measures.ts';
import { episodesBelow, unstableSteps } from '../../src/studies/rotation.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

test('quantiles by linear interpolation (type 7), median, IQR', () => {
  // Positions q·(n−1) in the sorted list [1, 2, 3, 4]: 0.75 → 1.75, 1.5 → 2.5, 2.25 → 3.25.
  close(quantile([4, 1, 3, 2], 0.25), 1.75);
  close(median([4, 1, 3, 2]), 2.5);
  close(quantile([4, 1, 3, 2], 0.75), 3.25);
  close(iqr([4, 1, 3, 2]), 1.5);
  close(median([3, 1, 2]), 2);
  close(quantile([7], 0.3), 7);
  assert.ok(Number.isNaN(median([])));
  assert.throws(() => quantile([1], 1.5));
  close(mean([1, 2, 6]), 3);
});

test('ranks average ties; Spearman and Pearson against hand computations', () => {
  assert.deepEqual(ranks([10, 20, 20, 30]), [1, 2.5, 2.5, 4]);
  assert.deepEqual(ranks([3, 1, 2]), [3, 1, 2]);
  // No ties: ρ = 1 − 6Σd²/(n(n²−1)); d = (0, 0, 0, 0, 0) after ranking x, and y's ranks differ by ±1 in 4 places.
  close(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), 1 - (6 * 4) / (5 * 24));
  close(spearman([1, 2, 3], [30, 20, 10]), -1);
  close(spearman([1, 2, 3, 4], [1, 4, 9, 16]), 1); // monotone, not linear
  // Pearson of (1,2,3) and (1,2,4): sxy = 3, sxx = 2, syy = 42/9.
  close(pearson([1, 2, 3], [1, 2, 4]), 3 / Math.sqrt(2 * (42 / 9)));
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  assert.ok(Number.isNaN(spearman([1], [2])));
});

const rows = (sharp: number[], threshold: number, every = 10): MetricRow[] =>
  sharp.map((s, i) => ({ step: i * every, sharpness: s, threshold }));

test('edge of stability from below: first step at 0.9·threshold, then median and quartiles of λ1/threshold', () => {
  const r = rows([5, 6, 8, 9.5, 10.2, 9.8, 10.1, 9.9], 10);
  const e = edgeOfStability(r, { fraction: 0.9 });
  assert.equal(e.reachStep, 30);
  assert.equal(e.catapultStep, null);
  close(e.initialRatio!, 0.5);
  close(e.minRatioBefore!, 0.5);
  assert.equal(e.minRatioBeforeStep, 0);
  assert.deepEqual(
    e.after.map((x) => Number(x.toFixed(10))),
    [0.95, 1.02, 0.98, 1.01, 0.99],
  );
  close(e.median, 0.99);
  close(e.q25, 0.98);
  close(e.q75, 1.01);
  close(e.last!, 0.99);
});

test('edge of stability after a catapult: reached again from below after first falling below', () => {
  const e = edgeOfStability(rows([15, 8, 7, 8.5, 9.2, 10], 10), { fraction: 0.9 });
  assert.equal(e.catapultStep, 10);
  close(e.minRatioBefore!, 0.7);
  assert.equal(e.minRatioBeforeStep, 20);
  assert.equal(e.reachStep, 40);
  assert.deepEqual(
    e.after.map((x) => Number(x.toFixed(10))),
    [0.92, 1],
  );
  // Never below: reached at step 0, no minimum before it.
  const s = edgeOfStability(rows([12, 11, 10.5], 10), { fraction: 0.9 });
  assert.equal(s.reachStep, 0);
  assert.equal(s.minRatioBefore, null);
  // Never reached.
  const n = edgeOfStability(rows([5, 6, 7], 10), { fraction: 0.9 });
  assert.equal(n.reachStep, null);
  assert.deepEqual(n.after, []);
  assert.ok(Number.isNaN(n.median));
});

test('ratio series use each row’s own threshold and skip rows without one', () => {
  const r: MetricRow[] = [
    { step: 0, sharpness: 4, threshold: 8 },
    { step: 1, sharpness: 5 },
    { step: 2, sharpness: 6, threshold: 4 },
    { step: 3, sharpness: null, threshold: 4 },
  ];
  assert.deepEqual(ratioSeries(r), [
    { step: 0, value: 0.5 },
    { step: 2, value: 1.5 },
  ]);
  assert.deepEqual(
    seriesOf(r, 'sharpness').map((p) => p.step),
    [0, 1, 2],
  );
  assert.deepEqual(firstReach(seriesOf(r, 'sharpness'), 5), { step: 1, value: 5 });
  assert.deepEqual(
    firstReach(seriesOf(r, 'sharpness'), (s) => (s < 2 ? 100 : 1)),
    { step: 2, value: 6 },
  );
});

test('loss increases, with a relative margin', () => {
  const pts = [
    { step: 0, value: 5 },
    { step: 1, value: 4 },
    { step: 2, value: 4.5 },
    { step: 3, value: 4.4 },
    { step: 4, value: 4.41 },
  ];
  assert.deepEqual(increaseSteps(pts), [2, 4]);
  assert.deepEqual(increaseSteps(pts, 0.01), [2]); // 4.41 < 4.4·1.01
  const r: MetricRow[] = pts.map((p) => ({ step: p.step, train_loss: p.value }));
  assert.deepEqual(
    lossPoints(r, 2, 3).map((p) => p.step),
    [2, 3],
  );
});

test('windowed trend: means of consecutive windows, the partial last window dropped', () => {
  // Steps 0..10, window 4: windows [0,3], [4,7]; step 8..10 is partial.
  const values = [4, 5, 3, 4, 3, 3.5, 2, 2.5, 9, 9, 9];
  const w = windowedTrend(
    values.map((v, i) => ({ step: i, value: v })),
    4,
  );
  assert.deepEqual(w.means, [4, 2.75]);
  assert.equal(w.falling, 1);
  assert.equal(w.pairs, 1);
  close(w.fraction, 1);
  close(w.netChange, (2.75 - 4) / 4);
  // Steps 0, 10, …, 50 with 20-step windows: [0, 19], [20, 39]; [40, 59] runs past the last step 50.
  const up = windowedTrend(
    [1, 2, 3, 4, 5, 6].map((v, i) => ({ step: 10 * i, value: v })),
    20,
  );
  assert.deepEqual(up.means, [1.5, 3.5]);
  assert.equal(up.falling, 0);
  assert.equal(up.pairs, 1);
  assert.ok(Number.isNaN(windowedTrend([], 5).fraction));
});

test('mean rotation, coincidence, coverage', () => {
  const r: MetricRow[] = [
    { step: 0 },
    { step: 1, eigvec_cos: 1 },
    { step: 2, eigvec_cos: 0.8 },
    { step: 3, eigvec_cos: 0.6 },
  ];
  close(meanRotation(r), 0.2);
  close(meanRotation(r, 2), 0.3);
  close(coincidence([10, 50], [12], 3), 0.5);
  close(coincidence([10, 50], [13], 3), 0.5);
  close(coincidence([10, 50], [14], 3), 0);
  close(coincidence([10, 50], [47, 7], 3), 1);
  assert.ok(Number.isNaN(coincidence([], [1], 1)));
  close(coverage([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5], 1), 0.3);
});

test('drop episodes and unstable steps', () => {
  const pts = [1, 0.95, 0.5, 0.4, 0.99, 0.3, 1, 0.2].map((v, i) => ({ step: i, value: v }));
  assert.deepEqual(episodesBelow(pts, 0.9), [
    [2, 3],
    [5, 5],
    [7, 7],
  ]);
  assert.deepEqual(
    unstableSteps([
      { step: 0, sharpness: 3, threshold: 2 },
      { step: 1, sharpness: 1, threshold: 2 },
      { step: 2, sharpness: 2, threshold: 2 },
    ]),
    [0, 2],
  );
});

test('verdict helpers, number formatting and tolerances', () => {
  assert.equal(judgeRange(1, 0.85, 1.15), 'held');
  assert.equal(judgeRange(1.2, 0.85, 1.15), 'did not hold');
  assert.equal(judgeRange(Number.NaN, 0.85, 1.15), 'inconclusive');
  assert.equal(judgeRange(null, 0, 1), 'inconclusive');
  assert.equal(combineVerdicts(['held', 'inconclusive']), 'inconclusive');
  assert.equal(combineVerdicts(['held', 'did not hold', 'inconclusive']), 'did not hold');
  assert.equal(combineVerdicts(['held', 'held']), 'held');
  assert.equal(combineVerdicts([]), 'inconclusive');
  assert.equal(fmt(0.123456), '0.123');
  assert.equal(fmt(1234.5), '1230');
  assert.equal(fmt(null), 'n/a');
  assert.equal(fmt(2e-5), '2.00e-5');
  assert.equal(tol({ a: 1 }, 'a'), 1);
  assert.throws(() => tol({}, 'ratio_lo'), /ratio_lo/);
});
