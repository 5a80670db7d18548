/**
 * Normalization, dropout and activations against computations written out in the test:
 * BatchNorm train mode (batch statistics over N,H,W, returned as aux) vs eval mode (fed running
 * statistics), the PyTorch running-statistics update, LayerNorm per sample, seeded dropout masks
 * that eval mode ignores, and the named activations.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/engine/builder.ts';
import { createRng } from '../../src/util/random.ts';
import { ACTIVATIONS, activationFn } from '../../src/nn/activations.ts';
import { batchNorm, dropout, layerNorm } from '../../src/nn/layers.ts';
import { buildModel, sampleDropoutMasks, updateRunningStats } from '../../src/nn/model.ts';
import { modelDataSpecs } from '../../src/nn/losses.ts';
import { forward, maxAbsDiff, normals, run } from './helpers.ts';

const EPS = 1e-5;

/** Per-channel mean and biased variance of x [N, C, H, W] (flat), by loops. */
function channelStats(x: ArrayLike<number>, N: number, C: number, HW: number): { mean: number[]; variance: number[] } {
  const mean: number[] = [];
  const variance: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) s += x[(n * C + c) * HW + k]!;
    const mu = s / (N * HW);
    let v = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) v += (x[(n * C + c) * HW + k]! - mu) ** 2;
    mean.push(mu);
    variance.push(v / (N * HW));
  }
  return { mean, variance };
}

describe('BatchNorm', () => {
  const [N, C, H, W] = [4, 3, 2, 3];
  const rng = createRng(21);
  // Channels with different offsets and spreads, so normalization has work to do.
  const x = Float64Array.from({ length: N * C * H * W }, (_, i) => {
    const c = Math.floor(i / (H * W)) % C;
    return 2 * c - 1 + (c + 0.5) * rng.normal();
  });
  const gamma = normals(rng, C, 0.5, 1);
  const beta = normals(rng, C);
  const rm = normals(rng, C);
  const rv = Float64Array.from({ length: C }, () => 0.5 + rng.uniform());
  const bn = batchNorm('bn', [C, H, W]);
  const inputs = {
    x: { shape: [N, C, H, W], value: x },
    g: { shape: [C], value: gamma },
    b: { shape: [C], value: beta },
    rm: { shape: [C], value: rm },
    rv: { shape: [C], value: rv },
    one: { shape: [C], value: new Float64Array(C).fill(1) },
    zero: { shape: [C], value: new Float64Array(C) },
  };
  const out = run(inputs, (t) => {
    const aux: Record<string, Tensor> = {};
    const buffers = { 'bn.running_mean': t.rm!, 'bn.running_var': t.rv! };
    const plain = bn.apply({ 'bn.weight': t.one!, 'bn.bias': t.zero! }, t.x!, { mode: 'train', aux: {} });
    const train = bn.apply({ 'bn.weight': t.g!, 'bn.bias': t.b! }, t.x!, { mode: 'train', aux });
    const evalOut = bn.apply({ 'bn.weight': t.g!, 'bn.bias': t.b! }, t.x!, { mode: 'eval', buffers, aux: {} });
    return { plain, train, evalOut, mean: aux['bn.batch_mean']!, variance: aux['bn.batch_var']! };
  });
  const { mean, variance } = channelStats(x, N, C, H * W);

  it('train mode: each channel normalized to mean 0, variance ≈ 1 over (N, H, W)', () => {
    const s = channelStats(out.plain!, N, C, H * W);
    for (let c = 0; c < C; c++) {
      assert.ok(Math.abs(s.mean[c]!) < 1e-14, `mean ${s.mean[c]}`);
      // Exactly var/(var + eps) with the eps inside the square root.
      assert.ok(Math.abs(s.variance[c]! - variance[c]! / (variance[c]! + EPS)) < 1e-13);
      assert.ok(Math.abs(s.variance[c]! - 1) < 1e-4);
    }
  });

  it('train mode with affine params and aux batch statistics match the formulas', () => {
    const want = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / (H * W)) % C;
      want[i] = ((x[i]! - mean[c]!) / Math.sqrt(variance[c]! + EPS)) * gamma[c]! + beta[c]!;
    }
    assert.ok(maxAbsDiff(out.train!, want) < 1e-13);
    assert.ok(maxAbsDiff(out.mean!, mean) < 1e-14);
    assert.ok(maxAbsDiff(out.variance!, variance) < 1e-14);
  });

  it('eval mode uses the fed running statistics, not the batch', () => {
    const want = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / (H * W)) % C;
      want[i] = ((x[i]! - rm[c]!) / Math.sqrt(rv[c]! + EPS)) * gamma[c]! + beta[c]!;
    }
    assert.ok(maxAbsDiff(out.evalOut!, want) < 1e-13);
    assert.ok(maxAbsDiff(out.evalOut!, out.train!) > 0.1);
  });

  it('dense features: statistics over the batch axis only', () => {
    const F = 3;
    const xf = normals(rng, 5 * F, 2, 1);
    const l = batchNorm('bnf', [F]);
    const r = run(
      { x: { shape: [5, F], value: xf }, g: { shape: [F], value: [1, 1, 1] }, b: { shape: [F], value: [0, 0, 0] } },
      (t) => ({ y: l.apply({ 'bnf.weight': t.g!, 'bnf.bias': t.b! }, t.x!, { mode: 'train' }) }),
    );
    for (let f = 0; f < F; f++) {
      const col = [0, 1, 2, 3, 4].map((i) => xf[i * F + f]!);
      const mu = col.reduce((a, b) => a + b) / 5;
      const v = col.reduce((a, b) => a + (b - mu) ** 2, 0) / 5;
      for (let i = 0; i < 5; i++) assert.ok(Math.abs(r.y![i * F + f]! - (col[i]! - mu) / Math.sqrt(v + EPS)) < 1e-13);
    }
  });

  it('running statistics: momentum 0.1 with the unbiased batch variance (PyTorch)', () => {
    const m = buildModel({ arch: 'cnn', channels: [3], norm: 'batchnorm' }, [2, 4, 4], 2);
    const th = m.init(createRng(1)).params;
    const xb = normals(rng, 5 * 2 * 16);
    const { aux } = forward(m, th, xb, 5, 'train');
    const buffers = Float64Array.from({ length: m.bufferLayout.size }, () => rng.uniform());
    const next = updateRunningStats(m, buffers, aux, 5);
    const n = 5 * 16;
    for (let c = 0; c < 3; c++) {
      const rmOld = m.bufferLayout.view(buffers, 'bn1.running_mean')[c]!;
      const rvOld = m.bufferLayout.view(buffers, 'bn1.running_var')[c]!;
      assert.ok(
        Math.abs(m.bufferLayout.view(next, 'bn1.running_mean')[c]! - (0.9 * rmOld + 0.1 * aux['bn1.batch_mean']![c]!)) <
          1e-15,
      );
      assert.ok(
        Math.abs(
          m.bufferLayout.view(next, 'bn1.running_var')[c]! -
            (0.9 * rvOld + (0.1 * aux['bn1.batch_var']![c]! * n) / (n - 1)),
        ) < 1e-15,
      );
    }
    assert.throws(() => updateRunningStats(m, buffers, {}, 5), /train mode/);
  });
});

describe('LayerNorm', () => {
  it('normalizes each sample over its features, then applies the affine map', () => {
    const rng = createRng(5);
    const [B, F] = [3, 6];
    const x = Float64Array.from(
      { length: B * F },
      (_, i) => 3 * Math.floor(i / F) + (1 + Math.floor(i / F)) * rng.normal(),
    );
    const g = normals(rng, F, 0.3, 1);
    const b = normals(rng, F);
    const l = layerNorm('ln', [F]);
    const r = run(
      {
        x: { shape: [B, F], value: x },
        g: { shape: [F], value: g },
        b: { shape: [F], value: b },
        one: { shape: [F], value: new Float64Array(F).fill(1) },
        zero: { shape: [F], value: new Float64Array(F) },
      },
      (t) => ({
        plain: l.apply({ 'ln.weight': t.one!, 'ln.bias': t.zero! }, t.x!, { mode: 'train' }),
        affine: l.apply({ 'ln.weight': t.g!, 'ln.bias': t.b! }, t.x!, { mode: 'eval' }),
      }),
    );
    for (let i = 0; i < B; i++) {
      const row = Array.from(x.subarray(i * F, (i + 1) * F));
      const mu = row.reduce((a, c) => a + c) / F;
      const v = row.reduce((a, c) => a + (c - mu) ** 2, 0) / F;
      const p = Array.from(r.plain!.subarray(i * F, (i + 1) * F));
      const pm = p.reduce((a, c) => a + c) / F;
      assert.ok(Math.abs(pm) < 1e-14);
      assert.ok(Math.abs(p.reduce((a, c) => a + (c - pm) ** 2, 0) / F - 1) < 1e-4);
      for (let f = 0; f < F; f++)
        assert.ok(Math.abs(r.affine![i * F + f]! - (((row[f]! - mu) / Math.sqrt(v + EPS)) * g[f]! + b[f]!)) < 1e-13);
    }
  });
});

describe('dropout', () => {
  const m = buildModel({ arch: 'mlp', widths: [50, 40], dropout: 0.25 }, [3], 2);

  it('masks are seeded, have the right rate and take values 0 or 1/(1 − p)', () => {
    const a = sampleDropoutMasks(m, createRng(1), 20);
    const b = sampleDropoutMasks(m, createRng(1), 20);
    const c = sampleDropoutMasks(m, createRng(2), 20);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a['drop1.mask'], c['drop1.mask']);
    assert.equal(a['drop1.mask']!.length, 20 * 50);
    assert.equal(a['drop2.mask']!.length, 20 * 40);
    const all = [...a['drop1.mask']!, ...a['drop2.mask']!];
    assert.ok(all.every((v) => v === 0 || v === 1 / 0.75));
    const rate = all.filter((v) => v === 0).length / all.length;
    assert.ok(Math.abs(rate - 0.25) < 0.04, `drop rate ${rate}`);
  });

  it('train mode multiplies by the mask; eval mode ignores it', () => {
    const rng = createRng(3);
    const x = normals(rng, 4 * 5);
    const mask = Float64Array.from({ length: 20 }, () => (rng.uniform() < 0.5 ? 0 : 2));
    const l = dropout('drop', [5], 0.5);
    const r = run({ x: { shape: [4, 5], value: x }, m: { shape: [4, 5], value: mask } }, (t) => ({
      train: l.apply({}, t.x!, { mode: 'train', dropoutMasks: { 'drop.mask': t.m! } }),
      eval: l.apply({}, t.x!, { mode: 'eval', dropoutMasks: { 'drop.mask': t.m! } }),
    }));
    assert.deepEqual(
      Array.from(r.train!),
      Array.from(x, (v, i) => v * mask[i]!),
    );
    assert.deepEqual(Array.from(r.eval!), Array.from(x));
    // Whole model: eval output does not depend on the masks; the objective only asks for masks in train mode.
    const th = m.init(createRng(4)).params;
    const xb = normals(rng, 6 * 3);
    const e1 = forward(m, th, xb, 6, 'eval').logits;
    const e2 = forward(m, th, xb, 6, 'eval', { masks: sampleDropoutMasks(m, createRng(9), 6) }).logits;
    assert.deepEqual(e1, e2);
    const t1 = forward(m, th, xb, 6, 'train', { masks: sampleDropoutMasks(m, createRng(9), 6) }).logits;
    assert.ok(maxAbsDiff(t1, e1) > 1e-3);
    assert.deepEqual(
      modelDataSpecs(m, 6, 'train').map((d) => `${d.name}[${d.shape}]`),
      ['x[6,3]', 'y[6,2]', 'drop1.mask[6,50]', 'drop2.mask[6,40]'],
    );
    assert.deepEqual(
      modelDataSpecs(m, 6, 'eval').map((d) => d.name),
      ['x', 'y'],
    );
  });
});

describe('activations by name', () => {
  // erf by its Maclaurin series (converges fast for |x| ≤ 3), independent of the engine's erf.
  const erf = (x: number): number => {
    let term = x;
    let s = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      s += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * s;
  };
  const want: Record<string, (x: number) => number> = {
    tanh: Math.tanh,
    relu: (x) => Math.max(x, 0),
    elu: (x) => (x > 0 ? x : Math.exp(x) - 1),
    gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    softplus: (x) => Math.log(1 + Math.exp(x)),
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    identity: (x) => x,
  };
  const xs = [-3, -1.3, -0.2, 0.05, 0.7, 2.5];
  for (const name of ACTIVATIONS) {
    it(name, () => {
      const r = run({ x: { shape: [xs.length], value: xs } }, (t) => ({ y: activationFn(name)(t.x!) }));
      xs.forEach((x, i) =>
        assert.ok(Math.abs(r.y![i]! - want[name]!(x)) < 1e-12, `${name}(${x}) = ${r.y![i]} vs ${want[name]!(x)}`),
      );
    });
  }
  it('unknown names are rejected with the allowed list', () => {
    assert.throws(() => activationFn('swish'), /allowed: tanh, relu, elu, gelu, softplus, sigmoid, identity/);
  });
});
