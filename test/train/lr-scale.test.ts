// Per-parameter learning-rate multipliers (the optimizers' `lrScale`, used for Fixup's η/10
// parameter group). Oracles: hand-computed updates for heavy-ball momentum and Adam, and, for
// every optimizer, coordinate i must move exactly as it does when the whole vector is stepped
// with the scalar learning rate η·lrScale[i] (PyTorch parameter groups with their own lr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, OPTIMIZER_NAMES, type OptimizerName } from '../../src/train/index.ts';
import { buildModel } from '../../src/nn/model.ts';
import { paramLrScale } from '../../src/nn/init.ts';

const THETA = [0.5, -1.25, 2.0, 0.75];
const GRADS = [
  [0.3, -0.2, 1.5, -0.05],
  [0.1, 0.4, -0.7, 0.2],
];
const SCALE = [1, 0.1, 0.1, 0.5];
const LR = 0.2;

/** θ after stepping through GRADS with the given lr and optional per-coordinate scale. */
function run(name: OptimizerName, lr: number, scale?: number[]): number[] {
  const opt = createOptimizer({
    name,
    weight_decay: name === 'adamw' || name === 'sgd' ? 0.01 : 0,
    clip_denominator: 0.5,
  });
  const st = opt.init(4);
  const th = new Float64Array(THETA);
  for (const g of GRADS) opt.step(st, th, new Float64Array(g), lr, scale);
  return Array.from(th);
}

test('momentum with lrScale: one step equals θ − η·s·g by hand, two steps the heavy-ball recursion', () => {
  const opt = createOptimizer({ name: 'momentum', momentum: 0.9 });
  const st = opt.init(4);
  const th = new Float64Array(THETA);
  opt.step(st, th, new Float64Array(GRADS[0]!), LR, SCALE);
  THETA.forEach((v, i) =>
    assert.ok(Math.abs(th[i]! - (v - LR * SCALE[i]! * GRADS[0]![i]!)) < 1e-15, `coordinate ${i}`),
  );
  opt.step(st, th, new Float64Array(GRADS[1]!), LR, SCALE);
  THETA.forEach((v, i) => {
    const b1 = GRADS[0]![i]!;
    const b2 = 0.9 * b1 + GRADS[1]![i]!;
    const want = v - LR * SCALE[i]! * b1 - LR * SCALE[i]! * b2;
    assert.ok(Math.abs(th[i]! - want) < 1e-14, `coordinate ${i}: ${th[i]} vs ${want}`);
  });
});

test('adam with lrScale: one step equals θ − η·s·g/(|g| + ε) by hand', () => {
  const opt = createOptimizer({ name: 'adam', eps: 1e-8 });
  const st = opt.init(4);
  const th = new Float64Array(THETA);
  opt.step(st, th, new Float64Array(GRADS[0]!), LR, SCALE);
  THETA.forEach((v, i) => {
    const g = GRADS[0]![i]!;
    assert.ok(Math.abs(th[i]! - (v - (LR * SCALE[i]! * g) / (Math.abs(g) + 1e-8))) < 1e-14, `coordinate ${i}`);
  });
});

test('every optimizer: coordinate i moves as with the scalar learning rate η·lrScale[i]', () => {
  for (const name of OPTIMIZER_NAMES) {
    const got = run(name, LR, SCALE);
    SCALE.forEach((s, i) => {
      const want = run(name, LR * s)[i]!;
      assert.ok(Math.abs(got[i]! - want) < 1e-14, `${name}, coordinate ${i}: ${got[i]} vs ${want}`);
    });
    // A scale of ones is the plain update (bit for bit).
    assert.deepEqual(run(name, LR, [1, 1, 1, 1]), run(name, LR), name);
  }
  assert.throws(() => run('sgd', LR, [1, 1]), /lrScale has length 2/);
});

test('Fixup: biases and scalar multipliers get fixup_lr_scale, weights 1; other schemes none', () => {
  const model = buildModel(
    { arch: 'resnet', channels: [2, 4], depth: 1, init: { scheme: 'fixup', fixup_lr_scale: 0.1 } },
    [1, 6, 6],
    3,
  );
  const s = paramLrScale(model, model.config.init)!;
  assert.equal(s.length, model.layout.size);
  let scalars = 0;
  for (const p of model.params) {
    const v = model.layout.view(s, p.name);
    const want = p.role === 'weight' ? 1 : 0.1;
    if (p.role === 'fixup-bias' || p.role === 'fixup-scale') scalars++;
    v.forEach((x) => assert.equal(x, want, p.name));
  }
  // conv1/fc fixup biases + 5 per block (two blocks), and fc.bias.
  assert.equal(scalars, 2 + 5 * 2);
  assert.ok(model.params.some((p) => p.name === 'fc.bias' && p.role === 'bias'));
  assert.equal(paramLrScale(model, { scheme: 'he-normal' }), null);
});
