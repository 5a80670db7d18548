// Optimizer updates against hand-written float64 oracles on a tiny quadratic
// L(θ) = ½ θᵀAθ − bᵀθ (gradient Aθ − b). The oracles below restate each update rule from its
// formula, in float64, without calling src/train.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, OPTIMIZER_NAMES, type OptimizerConfig } from '../../src/train/index.ts';
import { assertClose } from './approx.ts';

const A = [
  [2.0, 0.5, 0.0],
  [0.5, 1.0, 0.25],
  [0.0, 0.25, 3.0],
];
const B = [1.0, -2.0, 0.5];
// Exactly representable in float32, so float32 and float64 runs start from the same point.
const THETA0 = [0.5, -1.25, 2.0];

function gradAt(theta: ArrayLike<number>): number[] {
  const g: number[] = [];
  for (let i = 0; i < 3; i++) {
    let s = -B[i];
    for (let j = 0; j < 3; j++) s += A[i][j] * theta[j];
    g.push(s);
  }
  return g;
}

/** Runs the implementation for `steps` updates; returns θ after each update. */
function runImpl(config: OptimizerConfig, lr: number, steps: number, f32: boolean): number[][] {
  const opt = createOptimizer(config);
  const state = opt.init(3);
  const params = f32 ? new Float32Array(THETA0) : new Float64Array(THETA0);
  const out: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const g = gradAt(params);
    const grad = f32 ? new Float32Array(g) : new Float64Array(g);
    opt.step(state, params, grad, lr);
    out.push(Array.from(params));
  }
  return out;
}

// ---- oracles (float64, straight from the formulas) ----

function oracleGd(lr: number, wd: number, steps: number): number[][] {
  const th = THETA0.slice();
  const out: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const g = gradAt(th);
    for (let i = 0; i < 3; i++) th[i] = th[i] - lr * (g[i] + wd * th[i]);
    out.push(th.slice());
  }
  return out;
}

function oracleHeavyBall(lr: number, mu: number, wd: number, steps: number, nesterov: boolean): number[][] {
  const th = THETA0.slice();
  const b = [0, 0, 0];
  const out: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const g0 = gradAt(th);
    for (let i = 0; i < 3; i++) {
      const g = g0[i] + wd * th[i];
      b[i] = mu * b[i] + g; // PyTorch: b ← μb + g (b₁ = g₁)
      th[i] = nesterov ? th[i] - lr * (g + mu * b[i]) : th[i] - lr * b[i];
    }
    out.push(th.slice());
  }
  return out;
}

interface AdamOracleOpts {
  b1: number;
  b2: number;
  eps: number;
  l2: number;
  decoupled: number;
  c: number;
  biasCorrect: boolean;
}

function oracleAdam(lr: number, o: AdamOracleOpts, steps: number): number[][] {
  const th = THETA0.slice();
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    const g0 = gradAt(th);
    for (let i = 0; i < 3; i++) {
      const g = g0[i] + o.l2 * th[i];
      m[i] = o.b1 * m[i] + (1 - o.b1) * g;
      v[i] = o.b2 * v[i] + (1 - o.b2) * g * g;
      const mhat = o.biasCorrect ? m[i] / (1 - o.b1 ** t) : m[i];
      const vhat = o.biasCorrect ? v[i] / (1 - o.b2 ** t) : v[i];
      th[i] = th[i] - lr * o.decoupled * th[i] - (lr * mhat) / (Math.min(Math.sqrt(vhat), o.c) + o.eps);
    }
    out.push(th.slice());
  }
  return out;
}

function assertTrajectories(actual: number[][], expected: number[][], tol: number, label: string): void {
  assert.equal(actual.length, expected.length);
  for (let s = 0; s < expected.length; s++) {
    for (let i = 0; i < 3; i++) {
      const err = Math.abs(actual[s][i] - expected[s][i]);
      assert.ok(
        err <= tol * Math.max(1, Math.abs(expected[s][i])),
        `${label}: step ${s + 1}, θ[${i}] = ${actual[s][i]}, expected ${expected[s][i]} (err ${err})`,
      );
    }
  }
}

interface Case {
  config: OptimizerConfig;
  lr: number;
  oracle: (lr: number, steps: number) => number[][];
}

const CASES: Case[] = [
  { config: { name: 'gd' }, lr: 0.1, oracle: (lr, n) => oracleGd(lr, 0, n) },
  { config: { name: 'sgd', weight_decay: 0.05 }, lr: 0.1, oracle: (lr, n) => oracleGd(lr, 0.05, n) },
  { config: { name: 'momentum', momentum: 0.9 }, lr: 0.05, oracle: (lr, n) => oracleHeavyBall(lr, 0.9, 0, n, false) },
  {
    config: { name: 'momentum', momentum: 0.7, weight_decay: 0.1 },
    lr: 0.05,
    oracle: (lr, n) => oracleHeavyBall(lr, 0.7, 0.1, n, false),
  },
  { config: { name: 'nesterov', momentum: 0.9 }, lr: 0.05, oracle: (lr, n) => oracleHeavyBall(lr, 0.9, 0, n, true) },
  {
    config: { name: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    lr: 0.01,
    oracle: (lr, n) =>
      oracleAdam(lr, { b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0, decoupled: 0, c: Infinity, biasCorrect: true }, n),
  },
  {
    config: { name: 'adam', beta1: 0.8, beta2: 0.99, eps: 1e-3, weight_decay: 0.1 },
    lr: 0.01,
    oracle: (lr, n) =>
      oracleAdam(lr, { b1: 0.8, b2: 0.99, eps: 1e-3, l2: 0.1, decoupled: 0, c: Infinity, biasCorrect: true }, n),
  },
  {
    config: { name: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1 },
    lr: 0.01,
    oracle: (lr, n) =>
      oracleAdam(lr, { b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0, decoupled: 0.1, c: Infinity, biasCorrect: true }, n),
  },
  {
    config: { name: 'rmsprop', beta2: 0.99, eps: 1e-8 },
    lr: 0.01,
    oracle: (lr, n) =>
      oracleAdam(lr, { b1: 0, b2: 0.99, eps: 1e-8, l2: 0, decoupled: 0, c: Infinity, biasCorrect: false }, n),
  },
  {
    config: { name: 'rmsprop', beta2: 0.9, eps: 1e-4, weight_decay: 0.2 },
    lr: 0.01,
    oracle: (lr, n) =>
      oracleAdam(lr, { b1: 0, b2: 0.9, eps: 1e-4, l2: 0.2, decoupled: 0, c: Infinity, biasCorrect: false }, n),
  },
  {
    // |g₀| = (0.625, 1.5, 5.1875): c = 1 clips coordinates 1 and 2 but not 0.
    config: { name: 'adam-ub', beta1: 0.9, beta2: 0.999, eps: 1e-8, clip_denominator: 1 },
    lr: 0.01,
    oracle: (lr, n) =>
      oracleAdam(lr, { b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0, decoupled: 0, c: 1, biasCorrect: true }, n),
  },
  {
    config: {
      name: 'rmsprop-ub',
      beta1: 0.9 /* ignored: β1 = 0 */,
      beta2: 0.99,
      eps: 1e-8,
      clip_denominator: 1,
      weight_decay: 0.1,
    },
    lr: 0.01,
    oracle: (lr, n) =>
      oracleAdam(lr, { b1: 0, b2: 0.99, eps: 1e-8, l2: 0.1, decoupled: 0, c: 1, biasCorrect: true }, n),
  },
];

test('first three updates of every optimizer match the float64 oracle', () => {
  const covered = new Set<string>();
  for (const c of CASES) {
    const label = JSON.stringify(c.config);
    const expected = c.oracle(c.lr, 3);
    // Same arithmetic in float64: agreement to rounding.
    assertTrajectories(runImpl(c.config, c.lr, 3, false), expected, 1e-13, `${label} f64`);
    // Float32 params/grads: agreement to float32 precision.
    assertTrajectories(runImpl(c.config, c.lr, 3, true), expected, 2e-6, `${label} f32`);
    covered.add(c.config.name);
  }
  assert.deepEqual([...covered].sort(), [...OPTIMIZER_NAMES].sort());
});

test('closed-form first steps', () => {
  const g0 = gradAt(THETA0);
  const lr = 0.01;
  // Adam, step 1: m̂ = g, v̂ = g², so Δθ = −η g/(|g| + ε).
  const adam = runImpl({ name: 'adam', eps: 1e-8 }, lr, 1, false)[0];
  for (let i = 0; i < 3; i++)
    assertClose(adam[i], THETA0[i] - (lr * g0[i]) / (Math.abs(g0[i]) + 1e-8), 1e-15, `adam θ[${i}]`, 1);
  // AdamW, step 1: θ(1 − ηλ) − η g/(|g| + ε).
  const adamw = runImpl({ name: 'adamw', eps: 1e-8, weight_decay: 0.5 }, lr, 1, false)[0];
  for (let i = 0; i < 3; i++) {
    const want = THETA0[i] * (1 - lr * 0.5) - (lr * g0[i]) / (Math.abs(g0[i]) + 1e-8);
    assertClose(adamw[i], want, 1e-15, `adamw θ[${i}]`, 1);
  }
  // RMSProp (no bias correction), step 1: v = (1 − β2) g², Δθ = −η g/(√(1−β2)|g| + ε).
  const rms = runImpl({ name: 'rmsprop', beta2: 0.99, eps: 0 }, lr, 1, false)[0];
  for (let i = 0; i < 3; i++)
    assertClose(rms[i], THETA0[i] - (lr * Math.sign(g0[i])) / Math.sqrt(0.01), 1e-14, `rmsprop θ[${i}]`, 1);
  // Nesterov, step 1: b = g, Δθ = −η(1 + μ) g.
  const nes = runImpl({ name: 'nesterov', momentum: 0.9 }, lr, 1, false)[0];
  for (let i = 0; i < 3; i++) assertClose(nes[i], THETA0[i] - lr * 1.9 * g0[i], 1e-15, `nesterov θ[${i}]`, 1);
  // adam-ub with c below every |g|: Δθ = −η g/(c + ε) on step 1.
  const ub = runImpl({ name: 'adam-ub', eps: 0, clip_denominator: 0.5 }, lr, 1, false)[0];
  for (let i = 0; i < 3; i++) assertClose(ub[i], THETA0[i] - (lr * g0[i]) / 0.5, 1e-15, `adam-ub θ[${i}]`, 1);
});

test('reductions between optimizers', () => {
  const n = 5;
  const same = (a: number[][], b: number[][]): void => assertTrajectories(a, b, 0, 'reduction');
  same(runImpl({ name: 'sgd' }, 0.1, n, true), runImpl({ name: 'gd' }, 0.1, n, true));
  same(runImpl({ name: 'momentum', momentum: 0 }, 0.1, n, false), runImpl({ name: 'gd' }, 0.1, n, false));
  same(runImpl({ name: 'nesterov', momentum: 0 }, 0.1, n, false), runImpl({ name: 'gd' }, 0.1, n, false));
  same(
    runImpl({ name: 'adam-ub', clip_denominator: Infinity }, 0.01, n, false),
    runImpl({ name: 'adam' }, 0.01, n, false),
  );
  same(runImpl({ name: 'adamw', weight_decay: 0 }, 0.01, n, false), runImpl({ name: 'adam' }, 0.01, n, false));
  // rmsprop-ub is the β1 = 0 member of the Adam family (bias-corrected v̂), not plain rmsprop.
  same(
    runImpl({ name: 'rmsprop-ub', beta2: 0.99, clip_denominator: 1e30 }, 0.01, n, false),
    runImpl({ name: 'adam', beta1: 0, beta2: 0.99 }, 0.01, n, false),
  );
});

test('state fields are readable and grad is not modified', () => {
  const opt = createOptimizer({ name: 'adam', beta1: 0.9, beta2: 0.999 });
  const state = opt.init(3);
  const params = new Float32Array(THETA0);
  const grad = new Float32Array(gradAt(params));
  const gradCopy = grad.slice();
  opt.step(state, params, grad, 0.01);
  assert.deepEqual(grad, gradCopy);
  assert.equal(state.t, 1);
  for (let i = 0; i < 3; i++) {
    assertClose(state.m[i], 0.1 * grad[i], 1e-15, `m[${i}]`, 1);
    assertClose(state.v[i], 0.001 * grad[i] * grad[i], 1e-15, `v[${i}]`, 1);
  }
  assert.ok(state.m instanceof Float64Array && state.v instanceof Float64Array, 'Adam moments are Float64Array');
  assert.ok(Object.isFrozen(opt) && Object.isFrozen(opt.config), 'optimizer and config are frozen');
  const mom = createOptimizer({ name: 'momentum' });
  const ms = mom.init(3);
  mom.step(ms, params, grad, 0.01);
  assert.deepEqual(Array.from(ms.buf), Array.from(grad));
});

test('zero gradient with eps = 0 does not produce NaN', () => {
  for (const name of ['adam', 'rmsprop', 'adam-ub'] as const) {
    const opt = createOptimizer({ name, eps: 0, clip_denominator: 1 });
    const st = opt.init(2);
    const p = new Float32Array([1, 2]);
    opt.step(st, p, new Float32Array([0, 1]), 0.1);
    assert.equal(p[0], 1, name);
    assert.ok(Number.isFinite(p[1]), name);
  }
});

test('config errors name the key and allowed values', () => {
  assert.throws(
    () => createOptimizer({ name: 'lion' }),
    (e: Error) => {
      assert.match(e.message, /optimizer\.name/);
      assert.match(e.message, /"lion"/);
      for (const n of OPTIMIZER_NAMES) assert.ok(e.message.includes(n), n);
      return true;
    },
  );
  assert.throws(() => createOptimizer({ name: 'adam-ub' }), /clip_denominator is required/);
  assert.throws(() => createOptimizer({ name: 'rmsprop-ub', clip_denominator: 0 }), /clip_denominator/);
  assert.throws(() => createOptimizer({ name: 'adam', beta2: 1 }), /optimizer\.beta2/);
  assert.throws(() => createOptimizer({ name: 'momentum', momentum: -0.1 }), /optimizer\.momentum/);
  assert.throws(() => createOptimizer({ name: 'gd', weight_decay: -1 }), /optimizer\.weight_decay/);
  const opt = createOptimizer({ name: 'gd' });
  const st = opt.init(3);
  assert.throws(() => opt.step(st, new Float32Array(3), new Float32Array(2), 0.1), /grad has length 2/);
  assert.throws(() => opt.step(st, new Float32Array(3), new Float32Array(3), Number.NaN), /lr/);
  const adam = createOptimizer({ name: 'adam' });
  assert.throws(
    () => adam.step(st as never, new Float32Array(3), new Float32Array(3), 0.1),
    /expected an 'adam' state/,
  );
});
