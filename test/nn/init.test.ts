/**
 * Initializers: sample statistics of large layers against the schemes' closed-form std (and
 * normal vs uniform shape), fans of conv weights, biases/norm params, `scale` and `zero_last`,
 * seeded reproducibility, and Fixup (zeroed last branch layers and output layer, L^(−1/2)
 * branch scaling, residual blocks that start as their shortcut).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import { buildModel, type Model } from '../../src/nn/model.ts';
import { BASE_SCHEMES, type BaseScheme } from '../../src/nn/init.ts';
import { forward, normals, stats } from './helpers.ts';

const view = (m: Model, th: Float64Array, name: string): Float64Array => m.layout.view(th, name);

describe('fixed-distribution initializers', () => {
  // fc1.weight is [300, 400]: 120 000 draws, so the sample std is within ~0.3% (1σ) of the truth.
  const fanIn = 400;
  const fanOut = 300;
  const expectedStd: Record<BaseScheme, number> = {
    'lecun-normal': Math.sqrt(1 / fanIn),
    'lecun-uniform': Math.sqrt(1 / fanIn),
    'glorot-normal': Math.sqrt(2 / (fanIn + fanOut)),
    'glorot-uniform': Math.sqrt(2 / (fanIn + fanOut)),
    'he-normal': Math.sqrt(2 / fanIn),
    'he-uniform': Math.sqrt(2 / fanIn),
  };
  for (const scheme of BASE_SCHEMES) {
    it(`${scheme}: std, mean, shape of the distribution`, () => {
      const m = buildModel({ arch: 'mlp', widths: [fanOut], init: { scheme } }, [fanIn], 2);
      const th = m.init(createRng(3)).params;
      const s = stats(view(m, th, 'fc1.weight'));
      const want = expectedStd[scheme];
      assert.ok(Math.abs(s.std / want - 1) < 0.02, `${scheme}: std ${s.std} vs ${want}`);
      assert.ok(Math.abs(s.mean) < (5 * want) / Math.sqrt(fanIn * fanOut), `${scheme}: mean ${s.mean}`);
      if (scheme.endsWith('uniform')) {
        // U(−a, a): kurtosis 1.8, support [−a, a] with a = √3·std, nearly reached by 120k draws.
        assert.ok(Math.abs(s.kurtosis - 1.8) < 0.05, `kurtosis ${s.kurtosis}`);
        assert.ok(s.maxAbs <= Math.sqrt(3) * want && s.maxAbs > 0.999 * Math.sqrt(3) * want);
      } else {
        assert.ok(Math.abs(s.kurtosis - 3) < 0.1, `kurtosis ${s.kurtosis}`);
      }
      assert.ok(view(m, th, 'fc1.bias').every((v) => v === 0));
      assert.ok(view(m, th, 'fc2.bias').every((v) => v === 0));
    });
  }

  it('conv fans are C·k·k (in) and O·k·k (out), as in PyTorch', () => {
    const m = buildModel({ arch: 'cnn', channels: [64], init: { scheme: 'glorot-normal' } }, [16, 4, 4], 2);
    const s = stats(view(m, m.init(createRng(4)).params, 'conv1.weight'));
    const want = Math.sqrt(2 / (16 * 9 + 64 * 9));
    assert.ok(Math.abs(s.std / want - 1) < 0.03, `std ${s.std} vs ${want}`);
  });

  it('norm layers start at weight 1, bias 0; buffers at mean 0, var 1', () => {
    const m = buildModel({ arch: 'mlp', widths: [4], norm: 'batchnorm' }, [3], 2);
    const { params, buffers } = m.init(createRng(1));
    assert.deepEqual(Array.from(view(m, params, 'bn1.weight')), [1, 1, 1, 1]);
    assert.deepEqual(Array.from(view(m, params, 'bn1.bias')), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(m.bufferLayout.view(buffers, 'bn1.running_mean')), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(m.bufferLayout.view(buffers, 'bn1.running_var')), [1, 1, 1, 1]);
  });

  it('same seed: bit-identical; different seeds differ', () => {
    const cfg = { arch: 'cnn' as const, channels: [3, 4], widths: [5], norm: 'batchnorm' as const };
    const m = buildModel(cfg, [2, 8, 8], 3);
    const a = m.init(createRng(42)).params;
    const b = buildModel(cfg, [2, 8, 8], 3).init(createRng(42)).params;
    assert.deepEqual(a, b);
    const c = m.init(createRng(43)).params;
    const w = (t: Float64Array): Float64Array => view(m, t, 'conv1.weight');
    assert.ok(w(a).some((v, i) => v !== w(c)[i]));
  });

  it('scale multiplies every weight (exactly); zero_last zeroes only the output weight', () => {
    const mk = (init: object): Model =>
      buildModel({ arch: 'mlp', widths: [6, 5], init: { scheme: 'he-normal', ...init } }, [4], 3);
    const base = mk({});
    const t1 = base.init(createRng(7)).params;
    const half = mk({ scale: 0.5 }).init(createRng(7)).params;
    for (const p of base.params) {
      const a = view(base, t1, p.name);
      const b = view(base, half, p.name);
      a.forEach((v, i) => assert.equal(b[i], p.role === 'weight' ? v * 0.5 : v));
    }
    const z = mk({ zero_last: true });
    const tz = z.init(createRng(7)).params;
    assert.ok(view(z, tz, 'fc3.weight').every((v) => v === 0));
    assert.deepEqual(view(z, tz, 'fc1.weight'), view(base, t1, 'fc1.weight'));
    assert.deepEqual(view(z, tz, 'fc2.weight'), view(base, t1, 'fc2.weight'));
  });
});

describe('Fixup', () => {
  it('zero last branch convs and output layer; other branch convs scaled by L^(−1/2)', () => {
    // L = 4 branches of m = 2 convs: branch scale 4^(−1/(2·2−2)) = 1/2.
    const m = buildModel({ arch: 'resnet', channels: [32], depth: 4, init: { scheme: 'fixup' } }, [32, 4, 4], 3);
    assert.deepEqual(m.residual, { branches: 4, layersPerBranch: 2 });
    const th = m.init(createRng(5)).params;
    const he = Math.sqrt(2 / (32 * 9));
    for (let b = 0; b < 4; b++) {
      const s = stats(view(m, th, `layer1.${b}.conv1.weight`));
      assert.ok(Math.abs(s.std / (he / 2) - 1) < 0.04, `branch conv std ${s.std} vs ${he / 2}`);
      assert.ok(view(m, th, `layer1.${b}.conv2.weight`).every((v) => v === 0));
      assert.deepEqual(Array.from(view(m, th, `layer1.${b}.scale`)), [1]);
      for (const n of ['bias1a', 'bias1b', 'bias2a', 'bias2b'])
        assert.deepEqual(Array.from(view(m, th, `layer1.${b}.${n}`)), [0]);
    }
    const stem = stats(view(m, th, 'conv1.weight'));
    assert.ok(Math.abs(stem.std / Math.sqrt(2 / (32 * 9)) - 1) < 0.04, 'stem is plain he-normal');
    assert.ok(view(m, th, 'fc.weight').every((v) => v === 0));
    assert.ok(view(m, th, 'fc.bias').every((v) => v === 0));
  });

  it('each residual block starts as its shortcut; logits start at 0', () => {
    const m = buildModel({ arch: 'resnet', channels: [2, 4], depth: 2, init: { scheme: 'fixup' } }, [1, 6, 6], 3);
    const th = m.init(createRng(8)).params;
    const x = normals(createRng(9), 3 * 36);
    const { logits, taps } = forward(m, th, x, 3, 'train', { taps: true });
    for (const blk of ['layer1.0', 'layer1.1', 'layer2.0', 'layer2.1']) {
      assert.ok(
        taps[`${blk}.branch`]!.every((v) => v === 0),
        `${blk}: branch output is zero`,
      );
      assert.deepEqual(taps[`${blk}.preact`], taps[`${blk}.shortcut`]);
      assert.ok(taps[`${blk}.shortcut`]!.some((v) => v !== 0));
    }
    // layer1.1's shortcut is the identity: its input, i.e. layer1.0's output.
    assert.deepEqual(taps['layer1.1.shortcut'], taps['layer1.0']);
    assert.ok(logits.every((v) => v === 0));
    // The same net with a standard init has nonzero branches (the zeros above come from Fixup).
    const plain = buildModel({ arch: 'resnet', channels: [2, 4], depth: 2 }, [1, 6, 6], 3);
    const tp = forward(plain, plain.init(createRng(8)).params, x, 3, 'train', { taps: true }).taps;
    assert.ok(tp['layer1.0.branch']!.some((v) => v !== 0));
  });
});
