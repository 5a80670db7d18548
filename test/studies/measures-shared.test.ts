/**
 * Helpers that several study modules share (src/studies/measures.ts): several tolerances at once,
 * the binary-search window test against a linear scan, episodes below a level, and the points
 * series against the report's plot series.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyWithin, episodesBelow, seriesOf, tols } from '../../src/studies/measures.ts';
import { seriesOf as plotSeries } from '../../src/report/figures.ts';
import { dropEpisodes, type RotationStep } from '../../src/studies/claims/rotation.ts';
import { createRng } from '../../src/util/random.ts';

test('tols: the named tolerances in order; a missing one names its key', () => {
  const t = { a: 1, b: 2.5, c: -3 };
  assert.deepEqual(tols(t, 'c', 'a', 'b'), [-3, 1, 2.5]);
  assert.throws(() => tols(t, 'a', 'missing'), /'missing' is missing from the study file/);
});

test('anyWithin agrees with a linear scan on random sorted lists and intervals', () => {
  const rng = createRng(7);
  for (let k = 0; k < 500; k++) {
    const xs = Array.from({ length: rng.int(8) }, () => rng.int(40)).sort((p, q) => p - q);
    const a = rng.int(45) - 3;
    const b = a + rng.int(6) - 1;
    assert.equal(
      anyWithin(xs, a, b),
      xs.some((x) => x >= a && x <= b),
      `${JSON.stringify(xs)} in [${a}, ${b}]`,
    );
  }
});

test('episodes below a level; dropEpisodes is the same on ρ; seriesOf is the plot series as points', () => {
  const pts = [1, 0.5, 0.4, 0.9, 0.2, 1].map((value, i) => ({ step: 10 * i, value }));
  assert.deepEqual(episodesBelow(pts, 0.6), [
    [10, 20],
    [40, 40],
  ]);
  assert.deepEqual(episodesBelow(pts.slice(0, 3), 0.6), [[10, 20]]);
  const steps: RotationStep[] = pts.map((p) => ({
    step: p.step,
    rho: p.value,
    rhoSubspace: null,
    angle: Math.acos(p.value),
    gap: null,
    displacement: null,
    unstable: false,
  }));
  assert.deepEqual(dropEpisodes(steps, 0.6), episodesBelow(pts, 0.6));
  const rows = [{ step: 0, x: 1 }, { step: 1, x: Number.NaN }, { step: 2 }, { step: 3, x: 4 }, { step: 4, x: '5' }];
  assert.deepEqual(seriesOf(rows, 'x'), [
    { step: 0, value: 1 },
    { step: 3, value: 4 },
  ]);
  assert.deepEqual(
    seriesOf(rows, 'x'),
    plotSeries(rows, 'x').map((p) => ({ step: p.x, value: p.y })),
  );
});
