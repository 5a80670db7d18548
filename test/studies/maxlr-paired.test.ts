// Each seed's own η_max from the trials of a max-lr search, and the per-seed paired comparison of
// a remedy's η_max with none's that the warmup and interventions claims report beside the seed rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedMaxLr, seedMaxStable, type CellSummary } from '../../src/studies/warmup.ts';

test('seedMaxStable: the largest stable η below the first η the seed diverged at', () => {
  const t = (lr: number, stable: boolean, seed: number) => ({ lr, stable, seed });
  assert.deepEqual(
    seedMaxStable([
      t(0.1, true, 0),
      t(0.2, true, 0),
      t(0.4, false, 0),
      t(0.8, true, 0), // stable again above a divergence: not counted
      t(0.1, true, 1),
      t(0.2, false, 1),
      t(0.1, false, 2),
      t(0.3, true, 3),
    ]),
    { 0: 0.2, 1: 0.1, 2: null, 3: 0.3 },
  );
});

test('pairedMaxLr: log2 ratios by seed; six seeds doubling their η_max hold, mixed ones are inconclusive', () => {
  const cell = (seeds: Record<number, number | null>): CellSummary => ({
    cell: 'c',
    model: 'm',
    variant: 'v',
    error: null,
    maxStableLr: null,
    upper: null,
    maxTrainedLr: null,
    stepsToTarget: null,
    testAcc: null,
    trials: 0,
    seedMaxStableLr: seeds,
  });
  const six = (f: (s: number) => number | null) => cell(Object.fromEntries([0, 1, 2, 3, 4, 5].map((s) => [s, f(s)])));
  const none = six(() => 0.1);
  const doubled = pairedMaxLr(
    six(() => 0.2),
    none,
    1.5,
  )!;
  assert.equal(doubled.cmp.n, 6);
  assert.equal(doubled.cmp.mean, 1);
  assert.equal(doubled.cmp.pValue, 2 / 64);
  assert.equal(doubled.verdict, 'held');
  // A consistent but small gain (×1.2 < the required ×1.5): not held.
  assert.equal(
    pairedMaxLr(
      six(() => 0.12),
      none,
      1.5,
    )!.verdict,
    'inconclusive',
  );
  assert.equal(
    pairedMaxLr(
      six((s) => (s % 2 ? 0.2 : 0.05)),
      none,
      1.5,
    )!.verdict,
    'inconclusive',
  );
  assert.equal(
    pairedMaxLr(
      six(() => 0.05),
      none,
      1.5,
    )!.verdict,
    'did not hold',
  );
  // Seeds without an η_max on either side are left out; none at all → null.
  assert.equal(
    pairedMaxLr(
      six((s) => (s < 3 ? 0.2 : null)),
      none,
      1.5,
    )!.cmp.n,
    3,
  );
  assert.equal(
    pairedMaxLr(
      six(() => null),
      none,
      1.5,
    ),
    null,
  );
});
