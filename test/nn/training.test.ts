/**
 * Training through the public API with tiny hand-written loops (the optimizer layer lives
 * elsewhere): full-batch GD on an MLP fits a Gaussian mixture to 100% train accuracy (checked
 * against argmax of the logits computed here), and SGD on a small CNN with BatchNorm (train
 * mode, running statistics updated from the aux outputs) clearly lowers the loss, in train and
 * in eval mode.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { CompiledObjective } from '../../src/engine/objective.ts';
import { createRng, permutation } from '../../src/util/random.ts';
import { makeGaussianMixture } from '../../src/data/synthetic.ts';
import { buildModel, updateRunningStats } from '../../src/nn/model.ts';
import { modelFeeds, objectiveSpec, oneHot } from '../../src/nn/losses.ts';
import { forward } from './helpers.ts';

const rt = new Runtime({ backend: 'reference' });

describe('training with the model API', () => {
  it('MLP + full-batch GD reaches 100% train accuracy on a Gaussian mixture', async () => {
    const { train } = makeGaussianMixture({
      numClasses: 3,
      dim: 4,
      separation: 5,
      trainSize: 60,
      testSize: 0,
      seed: 3,
    });
    const model = buildModel({ arch: 'mlp', widths: [16], activation: 'tanh' }, train.sampleShape, 3);
    const obj = new CompiledObjective(rt, objectiveSpec(model, 'mse', train.n, 'train'));
    const data = { x: train.x, y: oneHot(train.y!, 3) };
    const theta = model.init(createRng(0)).params;
    const lr = 0.5;
    const first = await obj.value(theta, data);
    let e = first;
    let step = 0;
    for (; step < 400 && e.metrics.accuracy! < 1; step++) {
      const g = await obj.valueAndGrad(theta, data);
      for (let i = 0; i < theta.length; i++) theta[i]! -= lr * g.grad[i]!;
      e = await obj.value(theta, data);
    }
    assert.equal(e.metrics.accuracy, 1, `accuracy ${e.metrics.accuracy} after ${step} steps`);
    assert.ok(e.loss < first.loss);
    // Independent check of the metric: argmax of the logits against the labels.
    const logits = forward(model, theta, train.x, train.n, 'train').logits;
    for (let i = 0; i < train.n; i++) {
      const row = Array.from(logits.subarray(3 * i, 3 * i + 3));
      assert.equal(row.indexOf(Math.max(...row)), train.y![i]);
    }
  });

  it('CNN + BatchNorm + SGD: the loss clearly decreases (train and eval mode)', async () => {
    // Two classes of 1×6×6 images: a horizontal or a vertical bar at a random position, plus noise.
    const rng = createRng(5);
    const n = 32;
    const x = new Float64Array(n * 36);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      const pos = 1 + rng.int(4);
      for (let r = 0; r < 6; r++)
        for (let c = 0; c < 6; c++) {
          const on = labels[i] === 0 ? r === pos : c === pos;
          x[i * 36 + r * 6 + c] = (on ? 1 : 0) + 0.3 * rng.normal();
        }
    }
    const y = oneHot(labels, 2);
    const model = buildModel({ arch: 'cnn', channels: [4], norm: 'batchnorm', pool: 'max' }, [1, 6, 6], 2);
    const B = 8;
    const trainObj = new CompiledObjective(rt, objectiveSpec(model, 'cross-entropy', B, 'train'));
    const fullTrain = new CompiledObjective(rt, objectiveSpec(model, 'cross-entropy', n, 'train'));
    const fullEval = new CompiledObjective(rt, objectiveSpec(model, 'cross-entropy', n, 'eval'));
    const init = model.init(createRng(1));
    const theta = Float64Array.from(init.params);
    let buffers = init.buffers;
    const loss0 = (await fullTrain.value(theta, { x, y })).loss;
    const order = createRng(2);
    for (let epoch = 0; epoch < 6; epoch++) {
      const perm = permutation(order, n);
      for (let s = 0; s < n / B; s++) {
        const xb = new Float64Array(B * 36);
        const yb = new Float64Array(B * 2);
        for (let k = 0; k < B; k++) {
          const i = perm[s * B + k]!;
          xb.set(x.subarray(i * 36, (i + 1) * 36), k * 36);
          yb.set(y.subarray(i * 2, (i + 1) * 2), k * 2);
        }
        const g = await trainObj.valueAndGrad(theta, { x: xb, y: yb });
        for (let i = 0; i < theta.length; i++) theta[i]! -= 0.1 * g.grad[i]!;
        buffers = updateRunningStats(model, buffers, g.aux, B);
      }
    }
    const lossTrain = (await fullTrain.value(theta, { x, y })).loss;
    assert.ok(lossTrain < 0.5 * loss0, `train-mode loss ${loss0} → ${lossTrain}`);
    const evalEnd = await fullEval.value(theta, { x, y, ...modelFeeds(model, 'eval', { buffers }) });
    const evalStart = await fullEval.value(init.params, {
      x,
      y,
      ...modelFeeds(model, 'eval', { buffers: init.buffers }),
    });
    assert.ok(evalEnd.loss < 0.5 * evalStart.loss, `eval-mode loss ${evalStart.loss} → ${evalEnd.loss}`);
    assert.ok(evalEnd.metrics.accuracy! >= 0.9, `eval accuracy ${evalEnd.metrics.accuracy}`);
  });
});
