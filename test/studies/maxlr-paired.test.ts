// Each seed's own η_max from the trials of a max-lr search (one search per seed with per_seed), and
// the per-seed paired comparison of a remedy's η_max with none's: the verdict rule of the warmup,
// interventions and adam-warmup claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  emptyCellSummary,
  judgeNotBelow,
  pairedMaxLr,
  resolutionText,
  seedMaxStable,
  type CellSummary,
} from '../../src/studies/warmup.ts';
import {
  logMedian,
  resolveMaxLrSettings,
  runMaxLrExperiment,
  seedBrackets,
  type MaxLrFile,
} from '../../src/experiments/maxLr.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { SeedBracket } from '../../src/experiments/maxLr.ts';

/** A cell summary holding only these seed brackets. */
const cellOf = (seeds: SeedBracket[]): CellSummary => ({ ...emptyCellSummary('c', 'm', 'v', null), seeds });

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

test('pairedMaxLr: log2 ratios by seed; six seeds doubling their η_max hold, a small gain does not, mixed ones are inconclusive', () => {
  const cell = (seeds: Record<number, number | null>): CellSummary => ({
    ...emptyCellSummary('c', 'm', 'v', null),
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
  // A consistent but small gain (×1.2 < the required ×1.5): the TOST test shows it within 1.5^±1.
  assert.equal(
    pairedMaxLr(
      six(() => 0.12),
      none,
      1.5,
    )!.verdict,
    'did not hold',
  );
  // The same, but one side never became unstable (η_max a lower bound): inconclusive, said so.
  const open = {
    ...six(() => 0.12),
    seeds: [0, 1, 2, 3, 4, 5].map((seed) => ({
      seed,
      maxStableLr: 0.12,
      upper: null,
      ratio: null,
      maxTrainedLr: null,
    })),
  };
  const j = pairedMaxLr(open, none, 1.5)!;
  assert.equal(j.verdict, 'inconclusive');
  assert.match(j.text, /seed 0, 1, 2, 3, 4, 5 never became unstable in the range/);
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

test('judgeNotBelow: shown above −margin (held), below it (did not hold), or neither', () => {
  const m = Math.log2(2);
  assert.equal(judgeNotBelow([0, 0.1, -0.1, 0.05, 0, -0.05], m).verdict, 'held');
  assert.equal(judgeNotBelow([-2, -2.1, -1.9, -2, -2.2, -1.8], m).verdict, 'did not hold');
  assert.equal(judgeNotBelow([3, 3, 3, -3, -3, -3], m).verdict, 'inconclusive');
  // sign −1: "not above +margin".
  assert.equal(judgeNotBelow([2, 2.1, 1.9, 2, 2.2, 1.8], m, -1).verdict, 'did not hold');
  assert.equal(judgeNotBelow([-1, -1, -1, -1, -1, -1], m, -1).verdict, 'held');
  assert.equal(judgeNotBelow([0.5], m).verdict, 'inconclusive');
  assert.match(
    judgeNotBelow([0, 0.1, -0.1, 0.05, 0, -0.05], m).text,
    /mean above -1: one-sided t p = 0\.000; mean different from -1: sign-flip p = 0\.031/,
  );
});

test('seedBrackets and logMedian: each seed’s bracket and how fine it is; the median in log η', () => {
  const t = (lr: number, stable: boolean, seed: number) => ({
    lr,
    stable,
    seed,
    outcome: stable ? ('trained' as const) : ('diverged' as const),
  });
  const b = seedBrackets([t(1, true, 0), t(2, false, 0), t(1.5, true, 0), t(1.7, false, 0), t(1, true, 1)]);
  assert.deepEqual(b, [
    { seed: 0, maxStableLr: 1.5, upper: 1.7, ratio: 1.7 / 1.5, maxTrainedLr: 1.5 },
    { seed: 1, maxStableLr: 1, upper: null, ratio: null, maxTrainedLr: 1 },
  ]);
  assert.equal(
    resolutionText({ ...cellOf(b), variant: 'v' }),
    'v: widest seed bracket 1.133×; coarser than 1.1×: seed 0 (1.13×); no divergence up to the top of the range (η_max a lower bound): seed 1',
  );
  assert.equal(logMedian([1, 4, null]), 2);
  assert.equal(logMedian([1, 2, 8]), 2);
  assert.equal(logMedian([null]), null);
});

test('per_seed: one search per seed, each bracketed to grid_factor^(1/2^bisect_steps)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'edgewise-per-seed-'));
  try {
    // Seed s is stable below 1 + 0.3 s (a threshold between grid points).
    const edge = (seed: number) => 1 + 0.3 * seed;
    const settings = resolveMaxLrSettings({
      lo: 0.125,
      hi: 8,
      grid_factor: 2,
      bisect_steps: 3,
      seeds: 6,
      per_seed: true,
    });
    const [r] = await runMaxLrExperiment({
      out,
      name: 'test',
      parallel: 3,
      cells: [{ name: 'c', params: {}, config: resolveConfig({}), error: null, settings }],
      trial: () => async (lr, seed) => ({
        stable: lr < edge(seed),
        outcome: lr < edge(seed) ? 'trained' : 'diverged',
        reason: '',
      }),
    });
    const per = r!.result!.perSeed!;
    assert.equal(per.resolution, 2 ** (1 / 8));
    assert.equal(per.seeds.length, 6);
    for (const s of per.seeds) {
      assert.ok(s.maxStableLr! < edge(s.seed) && s.upper! >= edge(s.seed), `seed ${s.seed}`);
      assert.ok(s.ratio! <= 2 ** (1 / 8) * (1 + 1e-5), `seed ${s.seed}: ${s.ratio}`);
    }
    // Each seed ran its own trials (grid from the top down to its first stable η, then 3 bisections).
    for (let seed = 0; seed < 6; seed++)
      assert.ok(r!.result!.trials.filter((x) => x.seed === seed).length <= 8, `seed ${seed}`);
    // η_max of the cell: the median over seeds (log η); max-lr.json holds each seed's bracket.
    const mid = [per.seeds[2]!.maxStableLr!, per.seeds[3]!.maxStableLr!];
    assert.ok(Math.abs(r!.summary!.maxStableLr! - Math.sqrt(mid[0]! * mid[1]!)) < 1e-12);
    const file = JSON.parse(readFileSync(join(out, 'max-lr.json'), 'utf8')) as MaxLrFile;
    assert.equal(file.cells[0]!.result!.perSeed!.seeds.length, 6);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
