/**
 * init.json: a run whose initializer is learned (MetaInit, GradInit) records what it chose in its
 * run directory, through RunStore. Runs with a fixed-distribution scheme write none.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { RunStore, runFilePath } from '../../src/experiments/runStore.ts';

const base = (scheme: string) =>
  resolveConfig({
    data: { name: 'synthetic-gmm', train_size: 32, test_size: 16, input_dim: 4, num_classes: 3 },
    model: { arch: 'mlp', widths: [6], activation: 'relu', init: { scheme } },
    loss: 'cross-entropy',
    optimizer: { name: 'momentum', lr: 0.05, batch_size: 'full' },
    train: { steps: 2 },
    curvature: { every: 0 },
    log: { every: 1, test_every: 0 },
  });

describe('init.json', () => {
  it('RunStore writes and reads it back', () => {
    const store = new RunStore(join(mkdtempSync(join(tmpdir(), 'edgewise-init-')), 'r')).init();
    assert.equal(store.readInit(), null);
    store.writeInit({ scheme: 'gradinit', alpha: { 'fc1.weight': 0.5 } });
    assert.deepEqual(store.readInit(), { scheme: 'gradinit', alpha: { 'fc1.weight': 0.5 } });
    assert.ok(existsSync(runFilePath(store.dir, 'init')));
  });

  it('a gradinit run records α, feasibility and the constraint history; he-normal writes none', async () => {
    const root = mkdtempSync(join(tmpdir(), 'edgewise-init-'));
    const dir = join(root, 'gradinit');
    const s = await trainRun(base('gradinit'), { dir });
    assert.equal(s.status, 'completed', s.reason ?? '');
    const rep = new RunStore(dir).readInit() as {
      scheme: string;
      base: string;
      feasible: boolean;
      alpha: Record<string, number>;
      history: { kind: string; gradNorm: number }[];
      chosen: { gradNorm: number };
    };
    assert.equal(rep.scheme, 'gradinit');
    assert.equal(rep.base, 'he-normal');
    assert.deepEqual(Object.keys(rep.alpha).sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    assert.equal(rep.history.length, 51, 'GradInit default: 50 steps, 51 evaluations');
    assert.ok(rep.history.every((h) => ['constraint', 'objective', 'none'].includes(h.kind)));
    assert.equal(rep.feasible, rep.chosen.gradNorm <= 1);
    const plain = join(root, 'he');
    await trainRun(base('he-normal'), { dir: plain });
    assert.equal(new RunStore(plain).readInit(), null);
  });
});
