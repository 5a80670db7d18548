// Stability thresholds checked by simulation: the implementation's optimizers are run on
// quadratics just below and just above the threshold (the boundaries are closed forms written
// here), and stabilityThreshold must report the same boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import { createOptimizer, stabilityThreshold, type OptimizerConfig } from '../../src/train/index.ts';
import { assertClose } from './approx.ts';

/** Dense symmetric A = Q diag(eigs) Qᵀ with a random orthogonal Q (Gram–Schmidt), float64. */
function randomSpd(eigs: number[], seed: number): number[][] {
  const n = eigs.length;
  const rng = createRng(seed);
  const q: number[][] = [];
  for (let k = 0; k < n; k++) {
    const v = Array.from({ length: n }, () => rng.normal());
    for (const u of q) {
      const d = u.reduce((s, ui, i) => s + ui * v[i], 0);
      for (let i = 0; i < n; i++) v[i] -= d * u[i];
    }
    const norm = Math.hypot(...v);
    q.push(v.map((x) => x / norm));
  }
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i][j] += eigs[k] * q[k][i] * q[k][j];
  }
  return a;
}

/** Runs `config` on L = ½ θᵀAθ from θ0 for `steps` updates; returns ‖θ‖ / ‖θ0‖ (Infinity if blown up). */
function simulate(config: OptimizerConfig, a: number[][], theta0: number[], lr: number, steps: number): number {
  const n = theta0.length;
  const opt = createOptimizer(config);
  const state = opt.init(n);
  const th = new Float64Array(theta0);
  const g = new Float64Array(n);
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += a[i][j] * th[j];
      g[i] = acc;
    }
    opt.step(state, th, g, lr);
    if (!(Math.hypot(...th) < 1e150)) return Infinity;
  }
  return Math.hypot(...th) / Math.hypot(...theta0);
}

test('GD on a quadratic converges iff λmax·η < 2', () => {
  const eigs = [5, 3, 2, 1, 0.5, 0.1];
  const a = randomSpd(eigs, 7);
  const theta0 = [1, -0.5, 0.25, 2, -1, 0.75];
  const lmax = 5;
  for (const name of ['gd', 'sgd']) {
    const below = 1.9 / lmax;
    const above = 2.1 / lmax;
    assert.ok(simulate({ name }, a, theta0, below, 1000) < 1e-8, `${name} should converge at λη = 1.9`);
    assert.ok(simulate({ name }, a, theta0, above, 300) > 1e6, `${name} should diverge at λη = 2.1`);
    assert.equal(stabilityThreshold({ name }, below).value, 2 / below);
    assert.equal(stabilityThreshold({ name }, below).quantity, 'sharpness');
    assert.ok(
      lmax < stabilityThreshold({ name }, below).value && lmax > stabilityThreshold({ name }, above).value,
      `${name}: threshold brackets λmax`,
    );
  }
});

test('heavy-ball momentum on a 1-D quadratic: boundary (2 + 2μ)/λ', () => {
  const lambda = 1.7;
  for (const mu of [0.5, 0.9]) {
    const etaStar = (2 + 2 * mu) / lambda; // closed form, Cohen et al. 2021
    const cfg = { name: 'momentum', momentum: mu };
    assert.ok(simulate(cfg, [[lambda]], [1], 0.98 * etaStar, 1000) < 1e-6, `μ=${mu} stable below`);
    assert.ok(simulate(cfg, [[lambda]], [1], 1.02 * etaStar, 1000) > 1e6, `μ=${mu} unstable above`);
    const thr = stabilityThreshold(cfg, etaStar);
    assertClose(thr.value, lambda, 1e-12, `momentum μ=${mu} threshold`);
    assert.equal(thr.quantity, 'sharpness');
  }
});

test('Nesterov on a 1-D quadratic: boundary (2 + 2μ)/(λ(1 + 2μ)), not the heavy-ball one', () => {
  const lambda = 0.8;
  for (const mu of [0.5, 0.9]) {
    const etaStar = (2 + 2 * mu) / (lambda * (1 + 2 * mu));
    const cfg = { name: 'nesterov', momentum: mu };
    assert.ok(simulate(cfg, [[lambda]], [1], 0.98 * etaStar, 1000) < 1e-6, `μ=${mu} stable below`);
    assert.ok(simulate(cfg, [[lambda]], [1], 1.02 * etaStar, 1000) > 1e6, `μ=${mu} unstable above`);
    // The heavy-ball boundary would be far too optimistic for Nesterov.
    assert.ok(
      simulate(cfg, [[lambda]], [1], (0.98 * (2 + 2 * mu)) / lambda, 1000) > 1e6,
      `μ=${mu}: heavy-ball bound unstable for Nesterov`,
    );
    const thr = stabilityThreshold(cfg, etaStar);
    assertClose(thr.value, lambda, 1e-12, `nesterov μ=${mu} threshold`);
  }
});

test('Adam-family boundary on the preconditioned sharpness: (2 + 2β1)/((1 − β1)η)', () => {
  // With clip_denominator c far below √v̂ and eps = 0, the ub variants have the frozen
  // preconditioner P = c exactly, so λ(P⁻¹H) = λ/c and the update is linear in θ.
  const lambda = 1;
  const c = 1e-3;
  const cases: { cfg: OptimizerConfig; b1: number }[] = [
    { cfg: { name: 'adam-ub', beta1: 0.9, beta2: 0.999, eps: 0, clip_denominator: c }, b1: 0.9 },
    { cfg: { name: 'adam-ub', beta1: 0.5, beta2: 0.999, eps: 0, clip_denominator: c }, b1: 0.5 },
    { cfg: { name: 'rmsprop-ub', beta2: 0.999, eps: 0, clip_denominator: c }, b1: 0 },
  ];
  for (const { cfg, b1 } of cases) {
    const pSharp = lambda / c;
    const etaStar = (2 + 2 * b1) / ((1 - b1) * pSharp);
    // Track √v̂ to make sure the clip stayed active (the premise of the test).
    const opt = createOptimizer(cfg);
    for (const [factor, stable] of [
      [0.98, true],
      [1.02, false],
    ] as const) {
      const st = opt.init(1);
      const th = new Float64Array([1]);
      let minSqrtVhat = Infinity;
      let at1000 = NaN;
      for (let s = 1; s <= 1500; s++) {
        opt.step(st, th, new Float64Array([lambda * th[0]]), factor * etaStar);
        if ('v' in st) minSqrtVhat = Math.min(minSqrtVhat, Math.sqrt(st.v[0] / (1 - 0.999 ** st.t)));
        if (s === 1000) at1000 = Math.abs(th[0]);
      }
      // m̂'s bias correction makes the first steps larger (a transient blow-up of |θ| that
      // the threshold, an asymptotic statement, does not describe), so judge stability by the
      // growth of |θ| once 1/(1 − β1^t) ≈ 1: over steps 1000..1500.
      const growth = Math.abs(th[0]) / at1000;
      assert.ok(minSqrtVhat > 10 * c, `${cfg.name} β1=${b1}: clip must stay active (min √v̂ = ${minSqrtVhat})`);
      if (stable) assert.ok(growth < 1e-6, `${cfg.name} β1=${b1} stable below: growth ${growth}`);
      else assert.ok(!(growth < 1e6), `${cfg.name} β1=${b1} unstable above: growth ${growth}`);
    }
    const thr = stabilityThreshold(cfg, etaStar);
    assert.equal(thr.quantity, 'preconditioned_sharpness');
    assertClose(thr.value, pSharp, 1e-12, `${cfg.name} β1=${b1} threshold`);
  }
});

test('threshold values for the documented configurations', () => {
  const eta = 0.01;
  assertClose(stabilityThreshold({ name: 'adam', beta1: 0.9 }, eta).value, 38 / eta, 1e-14, 'adam 38/η');
  assertClose(stabilityThreshold({ name: 'adamw', beta1: 0.9 }, eta).value, 38 / eta, 1e-14, 'adamw 38/η');
  // RMSProp has β1 = 0 whatever the config's beta1.
  assert.equal(stabilityThreshold({ name: 'rmsprop', beta1: 0.9 }, eta).value, 2 / eta);
  assert.equal(stabilityThreshold({ name: 'rmsprop', beta1: 0.9 }, eta).quantity, 'preconditioned_sharpness');
  assert.equal(stabilityThreshold({ name: 'momentum', momentum: 0.9 }, eta).value, 3.8 / eta);
  assert.throws(() => stabilityThreshold({ name: 'gd' }, 0), /lr must be > 0/);
  assert.throws(() => stabilityThreshold({ name: 'adagrad' }, 0.1), /allowed: gd, sgd/);
});
