// `reproduce --seeds N`: every seed grid of a shipped study becomes 0..N−1, max-lr searches run N
// seeds, and studies without seeds are left as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadStudyFile, studyPlan, studySweep, withSeeds } from '../../src/studies/run.ts';

const seedsOf = (runs: readonly { config: unknown }[]) =>
  [...new Set(runs.map((r) => (r.config as { train: { seed: number } }).train.seed))].sort((a, b) => a - b);

test('withSeeds: eos-gd quick and full, with its cross-entropy variant, sweep seeds 0..N−1', () => {
  // eos-gd places η from λ0 (lr_multiple), so its runs are planned after measuring λ0; the seed
  // grids of its sweep and its variant are what withSeeds changes.
  const f = loadStudyFile('eos-gd');
  assert.deepEqual(studySweep(f, true).grid['train.seed'], [0, 1, 2, 3, 4, 5], 'the quick study has six seeds');
  const three = withSeeds(f, 3);
  assert.deepEqual(studySweep(three, true).grid['train.seed'], [0, 1, 2]);
  // Only the seeds changed: the same places relative to the threshold.
  assert.deepEqual(studySweep(three, true).grid['lr_multiple'], studySweep(f, true).grid['lr_multiple']);
  const two = withSeeds(f, 2);
  assert.deepEqual(studySweep(two, false).grid['train.seed'], [0, 1]);
  assert.deepEqual(
    two.variants!.map((v) => [v.name, v.grid['train.seed']]),
    [['ce', [0, 1]]],
    'the variant is kept, with the new seeds',
  );
  // The file itself is not changed.
  assert.deepEqual(f.grid['train.seed'], [0, 1, 2, 3, 4, 5]);
});

test('withSeeds: a variant grid that left the seed at the base value sweeps the seeds too (adam-clipped quick)', () => {
  const f = loadStudyFile('adam-clipped');
  const plan = studyPlan(withSeeds(f, 3), true);
  for (const v of ['adam-ub', 'rmsprop-ub'])
    assert.deepEqual(seedsOf(plan.runs.filter((r) => r.params.variant === v)), [0, 1, 2], `variant ${v}`);
  // Each capped run has its uncapped reference at every seed and η.
  const ub = plan.runs.filter((r) => r.params.variant === 'adam-ub');
  assert.equal(ub.length, 3 * studyPlan(f, true).runs.filter((r) => r.params.variant === 'adam-ub').length);
});

test('withSeeds: a max-lr study runs N seeds, also in its quick version; bad counts are refused', () => {
  const f = loadStudyFile('warmup') as ReturnType<typeof loadStudyFile> & {
    max_lr: { seeds: number };
    quick: { max_lr: { seeds: number } };
  };
  const w = withSeeds(f, 3) as typeof f;
  assert.equal(w.max_lr.seeds, 3);
  assert.equal(w.quick.max_lr.seeds, 3);
  // The quick version inherits the full file's seeds (six: enough for the paired sign-flip test).
  assert.equal(f.quick.max_lr.seeds, undefined);
  assert.equal(f.max_lr.seeds, 6);
  const toy = loadStudyFile('toy-depth');
  assert.deepEqual(withSeeds(toy, 3).grid, toy.grid, 'no seeds to replace');
  assert.throws(() => withSeeds(f, 0), /seeds must be an integer ≥ 1/);
  assert.throws(() => withSeeds(f, 1.5), /seeds must be an integer ≥ 1/);
});

test('every shipped study that uses seeds runs at least six in its full version (an exact two-sided sign-flip test can then reach p = 2/64 < 0.05)', () => {
  for (const name of [
    'adam-clipped',
    'adam-warmup',
    'catapult',
    'depth-rotation',
    'eos-adam',
    'eos-gd',
    'flatness-lr',
    'interventions',
    'rotation',
    'sgd-batch',
    'warmup',
  ]) {
    const f = loadStudyFile(name) as ReturnType<typeof loadStudyFile> & {
      max_lr?: { seeds: number };
      variants?: { name: string; grid?: Record<string, unknown[]> }[];
    };
    if (f.max_lr) assert.ok(f.max_lr.seeds >= 6, `${name}: max_lr.seeds ${f.max_lr.seeds}`);
    else {
      // The grids whose runs the claims compare: the study's own and its variants' (adam-clipped's own
      // grid is SGD, shown alongside and not compared).
      const grids = [...(name === 'adam-clipped' ? [] : [f.grid]), ...(f.variants ?? []).map((v) => v.grid ?? {})];
      for (const g of grids) {
        const seeds = (g['train.seed'] ?? f.grid['train.seed']) as number[];
        assert.ok(seeds.length >= 6, `${name}: seeds ${seeds.join(', ')}`);
      }
    }
  }
  // toy-depth is deterministic: no seeds.
  assert.equal(loadStudyFile('toy-depth').grid['train.seed'], undefined);
});
