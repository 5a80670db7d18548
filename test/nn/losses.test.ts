/**
 * Losses and metrics against hand computations on small arrays, the model objective's data
 * inputs, and the gradient of whole networks (one small net per architecture, BatchNorm in
 * train and eval mode, LayerNorm, dropout, Fixup) against central finite differences in float64.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { CompiledObjective } from '../../src/engine/objective.ts';
import { size } from '../../src/engine/ir.ts';
import { createRng } from '../../src/util/random.ts';
import {
  accuracy,
  crossEntropy,
  modelDataSpecs,
  modelFeeds,
  mse,
  objectiveSpec,
  oneHot,
  type LossName,
} from '../../src/nn/losses.ts';
import { buildModel, sampleDropoutMasks, type ModelConfig } from '../../src/nn/model.ts';
import type { Mode } from '../../src/nn/layers.ts';
import { cyclicOneHot, forward, normals, relErr, run } from './helpers.ts';

const rt = new Runtime({ backend: 'reference' });

describe('losses and accuracy by hand', () => {
  const f = [1, 2, 3, 0, 0, 5, -1, 4, 4];
  const y = [0, 0, 1, 1, 0, 0, 0, 1, 0];
  const ev = (fn: (a: never, b: never) => unknown) =>
    run({ f: { shape: [3, 3], value: f }, y: { shape: [3, 3], value: y } }, (t) => ({
      v: (fn as (a: typeof t.f, b: typeof t.y) => typeof t.f)(t.f, t.y),
    })).v![0]!;

  it('cross-entropy = −mean log softmax at the target', () => {
    let want = 0;
    for (let i = 0; i < 3; i++) {
      const row = f.slice(3 * i, 3 * i + 3);
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      want += lse - row[y.slice(3 * i, 3 * i + 3).indexOf(1)]!;
    }
    assert.ok(Math.abs(ev(crossEntropy) - want / 3) < 1e-14);
  });

  it('mse = mean over samples of ½‖f − y‖² summed over outputs', () => {
    const want = f.reduce((a, v, i) => a + 0.5 * (v - y[i]!) ** 2, 0) / 3;
    assert.ok(Math.abs(ev(mse) - want) < 1e-14);
  });

  it('accuracy: argmax vs target, ties split evenly', () => {
    // Row 0: argmax 2 = target → 1. Row 1: argmax 2, target 0 → 0. Row 2: tie {1, 2}, target 1 → ½.
    assert.equal(ev(accuracy), (1 + 0 + 0.5) / 3);
    const flat = run(
      { f: { shape: [2, 4], value: new Float64Array(8) }, y: { shape: [2, 4], value: cyclicOneHot(2, 4) } },
      (t) => ({ a: accuracy(t.f!, t.y!) }),
    );
    assert.equal(flat.a![0], 0.25);
  });

  it('oneHot', () => {
    assert.deepEqual(Array.from(oneHot([2, 0], 3)), [0, 0, 1, 1, 0, 0]);
    assert.throws(() => oneHot([3], 3), /outside/);
  });
});

describe('model objective', () => {
  it('declares x, y and the mode-specific inputs; value equals the loss of the forward pass', async () => {
    const m = buildModel({ arch: 'mlp', widths: [4], norm: 'batchnorm' }, [3], 2);
    assert.deepEqual(
      modelDataSpecs(m, 5, 'train').map((d) => `${d.name}[${d.shape}]`),
      ['x[5,3]', 'y[5,2]'],
    );
    assert.deepEqual(
      modelDataSpecs(m, 5, 'eval').map((d) => `${d.name}[${d.shape}]`),
      ['x[5,3]', 'y[5,2]', 'bn1.running_mean[4]', 'bn1.running_var[4]'],
    );
    const rng = createRng(2);
    const { params, buffers } = m.init(rng);
    const x = normals(rng, 15);
    const y = cyclicOneHot(5, 2);
    for (const mode of ['train', 'eval'] as const) {
      const obj = new CompiledObjective(rt, objectiveSpec(m, 'mse', 5, mode));
      const e = await obj.value(params, { x, y, ...modelFeeds(m, mode, { buffers }) });
      const logits = forward(m, params, x, 5, mode, { buffers }).logits;
      const want = logits.reduce((a, v, i) => a + 0.5 * (v - y[i]!) ** 2, 0) / 5;
      assert.ok(Math.abs(e.loss - want) < 1e-14);
      let hits = 0;
      for (let i = 0; i < 5; i++) hits += (logits[2 * i]! > logits[2 * i + 1]! ? 0 : 1) === i % 2 ? 1 : 0;
      assert.equal(e.metrics.accuracy, hits / 5);
      assert.deepEqual(Object.keys(e.aux).sort(), mode === 'train' ? ['bn1.batch_mean', 'bn1.batch_var'] : []);
    }
  });

  it('regression targets: mse without the accuracy metric', async () => {
    const m = buildModel({ arch: 'mlp', widths: [3] }, [2], 2);
    const obj = new CompiledObjective(rt, objectiveSpec(m, 'mse', 4, 'eval', 'float64', { accuracy: false }));
    const rng = createRng(1);
    const th = m.init(rng).params;
    const x = normals(rng, 8);
    const y = normals(rng, 8);
    const e = await obj.value(th, { x, y });
    const logits = forward(m, th, x, 4, 'eval').logits;
    assert.ok(Math.abs(e.loss - logits.reduce((a, v, i) => a + 0.5 * (v - y[i]!) ** 2, 0) / 4) < 1e-14);
    assert.deepEqual(e.metrics, {});
    assert.throws(() => objectiveSpec(m, 'hinge' as LossName, 4, 'eval'), /allowed: mse, cross-entropy/);
  });
});

interface GradCase {
  name: string;
  cfg: ModelConfig;
  inShape: number[];
  k: number;
  mode: Mode;
  loss: LossName;
}

const CASES: GradCase[] = [
  {
    name: 'mlp tanh, cross-entropy',
    cfg: { arch: 'mlp', widths: [4, 3] },
    inShape: [3],
    k: 3,
    mode: 'train',
    loss: 'cross-entropy',
  },
  {
    name: 'mlp gelu + layernorm + dropout, mse',
    cfg: { arch: 'mlp', widths: [4], activation: 'gelu', norm: 'layernorm', dropout: 0.3 },
    inShape: [3],
    k: 2,
    mode: 'train',
    loss: 'mse',
  },
  {
    name: 'mlp elu + batchnorm (train)',
    cfg: { arch: 'mlp', widths: [4], activation: 'elu', norm: 'batchnorm' },
    inShape: [3],
    k: 2,
    mode: 'train',
    loss: 'cross-entropy',
  },
  {
    name: 'cnn + batchnorm + max pool (train)',
    cfg: { arch: 'cnn', channels: [2, 2], norm: 'batchnorm', pool: 'max', widths: [3] },
    inShape: [1, 4, 4],
    k: 2,
    mode: 'train',
    loss: 'cross-entropy',
  },
  {
    name: 'cnn + batchnorm + avg pool (eval)',
    cfg: { arch: 'cnn', channels: [2], norm: 'batchnorm', activation: 'softplus' },
    inShape: [2, 4, 4],
    k: 3,
    mode: 'eval',
    loss: 'mse',
  },
  {
    name: 'resnet + batchnorm (train)',
    cfg: { arch: 'resnet', channels: [2, 3], depth: 1, norm: 'batchnorm' },
    inShape: [1, 4, 4],
    k: 2,
    mode: 'train',
    loss: 'cross-entropy',
  },
  {
    name: 'resnet fixup',
    cfg: { arch: 'resnet', channels: [2, 3], depth: 1, activation: 'tanh', init: { scheme: 'fixup' } },
    inShape: [1, 4, 4],
    k: 2,
    mode: 'train',
    loss: 'mse',
  },
  { name: 'deep-linear', cfg: { arch: 'deep-linear', widths: [3, 3] }, inShape: [2], k: 2, mode: 'train', loss: 'mse' },
];

describe('gradient of whole networks vs central finite differences (float64)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const m = buildModel(c.cfg, c.inShape, c.k);
      const rng = createRng(31);
      const B = 3;
      // A random point (not the init: Fixup's zeros would hide most of the network).
      const theta = normals(rng, m.layout.size, 0.6);
      const buffers = new Float64Array(m.bufferLayout.size);
      for (const b of m.buffers) {
        const v = m.bufferLayout.view(buffers, b.name);
        for (let i = 0; i < v.length; i++) v[i] = b.name.endsWith('running_var') ? 0.5 + rng.uniform() : rng.normal();
      }
      const data = {
        x: normals(rng, B * size(c.inShape)),
        y: cyclicOneHot(B, c.k),
        ...modelFeeds(m, c.mode, { buffers, dropoutMasks: sampleDropoutMasks(m, rng, B) }),
      };
      const obj = new CompiledObjective(rt, objectiveSpec(m, c.loss, B, c.mode));
      const { grad } = await obj.valueAndGrad(theta, data);
      const h = 1e-5;
      const fd = new Float64Array(theta.length);
      for (let j = 0; j < theta.length; j++) {
        const tp = theta.slice();
        const tm = theta.slice();
        tp[j]! += h;
        tm[j]! -= h;
        fd[j] = ((await obj.value(tp, data)).loss - (await obj.value(tm, data)).loss) / (2 * h);
      }
      const e = relErr(grad, fd);
      assert.ok(e < 1e-7, `${c.name}: relative error ${e} over ${theta.length} parameters`);
    });
  }
});
