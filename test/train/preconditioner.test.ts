// preconditionerDiagonal against √v̂ + ε computed here from its own second-moment recurrence,
// and against the step the optimizer actually took (θ_t − θ_{t+1} = η P⁻¹ m̂).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, preconditionerDiagonal, type OptimizerConfig } from '../../src/train/index.ts';
import { assertClose } from './approx.ts';

// A fixed sequence of gradients (the preconditioner only depends on the gradients seen).
const GRADS = [
  [0.3, -2.0, 0.001, 5.0],
  [-0.1, 1.5, 0.0, 4.0],
  [0.7, -0.5, 0.002, -3.0],
];
const THETA0 = [1, 2, 3, 4];

function run(
  cfg: OptimizerConfig,
  lr: number,
): { params: Float64Array[]; state: ReturnType<ReturnType<typeof createOptimizer>['init']> } {
  const opt = createOptimizer(cfg);
  const state = opt.init(4);
  const th = new Float64Array(THETA0);
  const params = [th.slice()];
  for (const g of GRADS) {
    opt.step(state, th, new Float64Array(g), lr);
    params.push(th.slice());
  }
  return { params, state };
}

function oracleP(b2: number, eps: number, c: number, biasCorrect: boolean): number[] {
  const v = [0, 0, 0, 0];
  for (const g of GRADS) for (let i = 0; i < 4; i++) v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
  const t = GRADS.length;
  return v.map((vi) => Math.min(Math.sqrt(biasCorrect ? vi / (1 - b2 ** t) : vi), c) + eps);
}

test('Adam: P = √v̂ + ε with v̂ = v/(1 − β2^t)', () => {
  for (const name of ['adam', 'adamw']) {
    const cfg = { name, beta1: 0.9, beta2: 0.95, eps: 1e-3, weight_decay: 0 };
    const { state } = run(cfg, 0.01);
    const p = preconditionerDiagonal(name, cfg, state);
    assert.ok(p instanceof Float64Array, `${name}: P is a Float64Array`);
    const want = oracleP(0.95, 1e-3, Infinity, true);
    for (let i = 0; i < 4; i++) assertClose(p[i], want[i], 1e-14, `${name} P[${i}]`);
  }
});

test('ub variants: P = min(√v̂, c) + ε; rmsprop: P = √v + ε (no bias correction)', () => {
  const ub = { name: 'adam-ub', beta1: 0.9, beta2: 0.95, eps: 1e-8, clip_denominator: 1 };
  const pUb = preconditionerDiagonal('adam-ub', ub, run(ub, 0.01).state)!;
  const wantUb = oracleP(0.95, 1e-8, 1, true);
  for (let i = 0; i < 4; i++) assertClose(pUb[i], wantUb[i], 1e-14, `adam-ub P[${i}]`);
  assert.ok(wantUb[0] < 1 + 1e-8 && wantUb[3] === 1 + 1e-8, 'the test must exercise both branches');

  const rub = { name: 'rmsprop-ub', beta2: 0.95, eps: 1e-8, clip_denominator: 1 };
  const pRub = preconditionerDiagonal('rmsprop-ub', rub, run(rub, 0.01).state)!;
  for (let i = 0; i < 4; i++) assertClose(pRub[i], wantUb[i], 1e-14, `rmsprop-ub P[${i}]`);

  const rms = { name: 'rmsprop', beta2: 0.95, eps: 1e-8 };
  const pRms = preconditionerDiagonal('rmsprop', rms, run(rms, 0.01).state)!;
  const wantRms = oracleP(0.95, 1e-8, Infinity, false);
  for (let i = 0; i < 4; i++) assertClose(pRms[i], wantRms[i], 1e-14, `rmsprop P[${i}]`);
});

test('P is the preconditioner of the step just taken', () => {
  // Last update of adam: θ_2 − θ_3 = η m̂_3 / P_3, with m̂ from the test's own recurrence.
  const lr = 0.05;
  const cfg = { name: 'adam-ub', beta1: 0.8, beta2: 0.9, eps: 1e-6, clip_denominator: 2 };
  const { params, state } = run(cfg, lr);
  const p = preconditionerDiagonal('adam-ub', cfg, state)!;
  const m = [0, 0, 0, 0];
  for (const g of GRADS) for (let i = 0; i < 4; i++) m[i] = 0.8 * m[i] + 0.2 * g[i];
  for (let i = 0; i < 4; i++) {
    const mhat = m[i] / (1 - 0.8 ** 3);
    const step = params[2][i] - params[3][i];
    assert.ok(Math.abs(step - (lr * mhat) / p[i]) <= 1e-12 * Math.max(1e-3, Math.abs(step)), `coord ${i}`);
  }
});

test('null for non-adaptive optimizers and before the first step', () => {
  for (const name of ['gd', 'sgd', 'momentum', 'nesterov']) {
    const opt = createOptimizer({ name });
    const st = opt.init(4);
    opt.step(st, new Float32Array(4), new Float32Array([1, 2, 3, 4]), 0.1);
    assert.equal(preconditionerDiagonal(name, {}, st), null, name);
  }
  const adam = createOptimizer({ name: 'adam' });
  assert.equal(preconditionerDiagonal('adam', {}, adam.init(4)), null);
  assert.throws(() => preconditionerDiagonal('adam', { name: 'sgd' }, adam.init(4)), /does not match/);
  const gd = createOptimizer({ name: 'gd' }).init(4);
  gd.t = 1;
  assert.throws(() => preconditionerDiagonal('adam', {}, gd), /expected an 'adam' state/);
});
