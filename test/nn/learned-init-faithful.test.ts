/**
 * The learned initializers as their papers run them: MetaInit evaluates the gradient quotient on
 * a fresh seeded batch at every step; GradInit's look-ahead is the first step of the optimizer the
 * run trains with, at its η (checked against that optimizer's own update from src/train); both
 * start from `model.init.base`, whose default follows the activation (He for ReLU).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { CompiledObjective } from '../../src/engine/objective.ts';
import { createRng } from '../../src/util/random.ts';
import { makeGaussianMixture } from '../../src/data/synthetic.ts';
import { buildModel } from '../../src/nn/model.ts';
import { objectiveSpec, oneHot } from '../../src/nn/losses.ts';
import { gradientQuotient, metaInit } from '../../src/nn/metainit.ts';
import { initializeModel, initReport, noiseBatches } from '../../src/nn/initialize.ts';
import { createOptimizer, type OptimizerName } from '../../src/train/index.ts';
import type { InitBatch } from '../../src/nn/scaled.ts';

const rt = new Runtime({ backend: 'reference' });
const { train } = makeGaussianMixture({ numClasses: 3, dim: 4, separation: 3, trainSize: 16, testSize: 0, seed: 1 });
const batch = { x: Float64Array.from(train.x), y: oneHot(train.y!, 3) };

describe('MetaInit batches', () => {
  const model = buildModel({ arch: 'mlp', widths: [6, 5], init: { scheme: 'metainit' } }, [4], 3);

  it('noiseBatches: fresh N(0,1) inputs and one-hot random labels per call, reproducible from the seed', () => {
    const a = noiseBatches(model, batch, createRng(7));
    const b = noiseBatches(model, batch, createRng(7));
    const a0 = a();
    const a1 = a();
    assert.deepEqual(a0, b(), 'same seed, same first batch');
    assert.deepEqual(a1, b(), 'same seed, same second batch');
    assert.notDeepEqual(a0.x, a1.x, 'inputs differ across steps');
    assert.equal(a0.x.length, batch.x.length);
    assert.equal(a0.y.length, batch.y.length);
    for (let r = 0; r < 16; r++) assert.equal(a0.y[3 * r]! + a0.y[3 * r + 1]! + a0.y[3 * r + 2]!, 1, 'one-hot rows');
    // Many draws: mean ≈ 0, variance ≈ 1 (n = 64·1000; 6σ bounds).
    const big = noiseBatches(
      buildModel({ arch: 'mlp', widths: [2] }, [1000], 3),
      { x: new Float64Array(64000), y: oneHot(new Int32Array(64), 3) },
      createRng(3),
    )();
    let s = 0;
    let s2 = 0;
    for (const v of big.x as Float64Array) {
      s += v;
      s2 += v * v;
    }
    const n = big.x.length;
    assert.ok(Math.abs(s / n) < 6 / Math.sqrt(n), `mean ${s / n}`);
    assert.ok(Math.abs(s2 / n - 1) < 6 * Math.sqrt(2 / n), `variance ${s2 / n}`);
  });

  it('metaInit evaluates step k on batchAt(k): the recorded GQ is the GQ on that batch', async () => {
    const theta = model.init(createRng(1)).params;
    const next = noiseBatches(model, batch, createRng(5));
    const seen: InitBatch[] = [];
    const r = await metaInit({ runtime: rt, model, loss: 'cross-entropy', batch }, theta, {
      steps: 3,
      batchAt: (k) => {
        assert.equal(k, seen.length, 'called once per step, in order');
        seen.push(next());
        return seen[k]!;
      },
    });
    assert.equal(seen.length, 4);
    // Step 0 is at θ0: its GQ is the GQ of θ0 on the first batch, not on the setup's batch.
    const onFirst = await gradientQuotient({ runtime: rt, model, loss: 'cross-entropy', batch: seen[0]! }, theta);
    const onSetup = await gradientQuotient({ runtime: rt, model, loss: 'cross-entropy', batch }, theta);
    assert.ok(Math.abs(r.history[0]!.gq - onFirst) < 1e-12 * onFirst, `${r.history[0]!.gq} vs ${onFirst}`);
    assert.ok(Math.abs(onFirst - onSetup) > 1e-6 * onSetup, 'the batches give different GQ');
  });

  it('initializeModel: reproducible from the seed, different for another seed, fresh batch per step', async () => {
    const go = (seed: number) =>
      initializeModel(model, {
        rng: createRng(seed),
        runtime: rt,
        loss: 'cross-entropy',
        batch,
        metainit: { steps: 3 },
      });
    const a = await go(2);
    const b = await go(2);
    const c = await go(9);
    assert.deepEqual(a.params, b.params);
    assert.deepEqual(a.metainit!.history, b.metainit!.history);
    assert.notDeepEqual(a.metainit!.history, c.metainit!.history);
    const losses = a.metainit!.history.map((h) => h.loss);
    assert.equal(new Set(losses).size, losses.length, 'each step sees its own batch');
    const rep = initReport(model, a)!;
    assert.equal(rep.scheme, 'metainit');
    assert.equal(rep.base, 'lecun-normal', 'tanh MLP: LeCun base');
    assert.deepEqual(rep.scales, a.metainit!.scales);
  });
});

describe('GradInit look-ahead', () => {
  it('is the first step of the run optimizer at its η (momentum, nesterov, adam, rmsprop), by that optimizer', async () => {
    const model = buildModel({ arch: 'mlp', widths: [5], activation: 'relu', init: { scheme: 'gradinit' } }, [4], 3);
    assert.equal(model.config.init.base, 'he-normal', 'ReLU: He base by default');
    const obj = new CompiledObjective(rt, objectiveSpec(model, 'cross-entropy', 16, 'train'));
    const cases: { name: OptimizerName; lr: number }[] = [
      { name: 'momentum', lr: 0.3 },
      { name: 'nesterov', lr: 0.3 },
      { name: 'adam', lr: 0.01 },
      { name: 'rmsprop', lr: 0.002 },
    ];
    const seen = new Set<number>();
    for (const { name, lr } of cases) {
      const res = await initializeModel(model, {
        rng: createRng(4),
        runtime: rt,
        loss: 'cross-entropy',
        batch,
        gradinit: { steps: 0 },
        optimizer: { name, lr, momentum: 0.9, beta2: 0.999, eps: 1e-8 },
      });
      const theta = model.init(createRng(4)).params;
      assert.deepEqual(res.params, theta, 'no steps: the base draw');
      // Independent: one update of src/train's optimizer from its zero state.
      const g = (await obj.valueAndGrad(theta, batch)).grad;
      const opt = createOptimizer({ name, momentum: 0.9, beta2: 0.999, eps: 1e-8 });
      const stepped = Float64Array.from(theta);
      opt.step(opt.init(stepped.length), stepped, Float64Array.from(g), lr);
      const want = (await obj.value(stepped, batch)).loss;
      const got = res.gradinit!.initial.lookaheadLoss;
      assert.ok(Math.abs(got - want) < 1e-12, `${name}: look-ahead ${got} vs ${want}`);
      seen.add(got);
    }
    assert.equal(seen.size, cases.length, 'each optimizer gives its own look-ahead');
    await assert.rejects(
      initializeModel(model, {
        rng: createRng(4),
        runtime: rt,
        loss: 'cross-entropy',
        batch,
        optimizer: { name: 'lion', lr: 0.1 },
      }),
      /no look-ahead rule/,
    );
  });
});
