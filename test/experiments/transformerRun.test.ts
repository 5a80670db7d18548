// model.arch transformer on data.name text-sonnets, trained by the one runner: the config schema
// checks its keys; the runner's step-0 loss equals the loss of the same θ computed directly
// with src/nn/transformer.ts (an independent path: its own objective on the same windows); and a
// few Adam steps lower the training loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { readMetrics } from '../../src/experiments/metrics.ts';
import { loadDataset } from '../../src/data/dataset.ts';
import { loadTextSplits } from '../../src/data/text.ts';
import { buildTransformer, transformerObjective } from '../../src/nn/transformer.ts';
import { DatasetObjective } from '../../src/train/datasetObjective.ts';
import { Runtime } from '../../src/engine/backend.ts';
import { createRng } from '../../src/util/random.ts';

const base = {
  data: { name: 'text-sonnets', train_size: 16, test_size: 8, context: 8 },
  model: { arch: 'transformer', transformer: { d_model: 16, heads: 2, layers: 1, ln: 'post' } },
  loss: 'cross-entropy',
  optimizer: { name: 'adam', lr: 0.003 },
  train: { steps: 20, seed: 3 },
  curvature: { every: 0 },
  log: { every: 5, test_every: 0 },
};

test('config: arch transformer keys are validated and tied to text-sonnets', () => {
  const c = resolveConfig(base);
  assert.deepEqual(c.model.transformer, { d_model: 16, heads: 2, layers: 1, d_ff: null, ln: 'post' });
  assert.equal(
    resolveConfig({ ...base, model: { arch: 'transformer' } }).model.transformer?.ln,
    'pre',
    'defaults filled',
  );
  assert.equal(resolveConfig({}).model.transformer, undefined, 'other archs have no transformer section');
  assert.throws(
    () => resolveConfig({ ...base, model: { arch: 'transformer', transformer: { width: 8 } } }),
    /model\.transformer.*width/,
  );
  assert.throws(
    () => resolveConfig({ ...base, model: { arch: 'transformer', transformer: { d_model: 10, heads: 4 } } }),
    /model\.transformer\.heads: must divide/,
  );
  assert.throws(
    () => resolveConfig({ ...base, model: { arch: 'mlp', transformer: {} } }),
    /model\.transformer: only allowed with model\.arch transformer/,
  );
  assert.throws(() => resolveConfig({ ...base, data: { name: 'mnist' } }), /data\.name: must be text-sonnets/);
  assert.throws(() => resolveConfig({ ...base, loss: 'mse' }), /loss: must be cross-entropy/);
  assert.throws(
    () => resolveConfig({ ...base, data: { name: 'synthetic-gmm', context: 8 }, model: { arch: 'mlp' } }),
    /data\.context: only allowed with data\.name text-sonnets/,
  );
});

test('text-sonnets: seeded, disjoint windows; x are token indices, targets the next characters', () => {
  const a = loadTextSplits({ train_size: 10, test_size: 'all', seed: 1, context: 8 });
  const b = loadTextSplits({ train_size: 10, test_size: 'all', seed: 1, context: 8 });
  const other = loadTextSplits({ train_size: 10, test_size: 'all', seed: 2, context: 8 });
  assert.deepEqual(a.train.x, b.train.x);
  assert.notDeepEqual(a.train.x, other.train.x);
  assert.equal(a.train.n + a.test.n, a.available);
  const V = a.vocab.length;
  const key = (x: Float32Array, w: number) => Array.from(x.subarray(w * 8, w * 8 + 8)).join(',');
  const train = new Set(Array.from({ length: a.train.n }, (_, w) => key(a.train.x, w)));
  for (let w = 0; w < a.test.n; w++) assert.ok(!train.has(key(a.test.x, w)), 'test window also in train');
  // Target at position t is the input at t + 1 (within the window).
  const t = a.train.targets!;
  for (let w = 0; w < a.train.n; w++) {
    for (let p = 0; p < 7; p++) {
      const row = t.subarray((w * 8 + p) * V, (w * 8 + p + 1) * V);
      assert.equal(row.indexOf(1), a.train.x[w * 8 + p + 1]);
    }
  }
});

test(
  'the runner trains arch transformer: step-0 loss matches the direct objective, loss decreases',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgewise-transformer-run-'));
    const runtime = new Runtime({ backend: 'ort', threads: 1 });
    try {
      const config = resolveConfig(base);
      const s = await trainRun(config, { dir });
      assert.equal(s.status, 'completed', s.reason ?? '');
      const rows = readMetrics(join(dir, 'metrics.jsonl')).rows;
      const l0 = rows.find((r) => r.step === 0)!.train_loss as number;
      const l20 = rows.find((r) => r.step === 20)!.train_loss as number;
      assert.ok(l20 < 0.9 * l0, `train loss ${l0} → ${l20}`);
      // The same θ0 (the runner's init: createRng(train.seed)) through transformer.ts's own objective.
      const data = await loadDataset({ ...config.data });
      const m = buildTransformer({
        vocab: data.train.numClasses,
        context: 8,
        dModel: 16,
        heads: 2,
        layers: 1,
        norm: 'post',
      });
      const theta = Float32Array.from(m.init(createRng(3)));
      const obj = new DatasetObjective(
        runtime,
        (b) => transformerObjective(m, b, 'float32'),
        { n: data.train.n, arrays: { x: data.train.x, y: data.train.targets! } },
        data.train.n,
      );
      const direct = (await obj.lossAndGrad(theta)).loss;
      assert.ok(Math.abs(direct - l0) < 1e-5 * Math.abs(l0), `runner ${l0} vs direct ${direct}`);
    } finally {
      await runtime.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
