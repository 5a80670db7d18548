/**
 * Architectures: parameter names, shapes and order (PyTorch-style `<layer>.<param>`, dense
 * weights [out, in]), flat layouts, output shapes, config validation; single layers (dense,
 * conv, pools, flatten) against naive loops written here.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/engine/builder.ts';
import { createRng } from '../../src/util/random.ts';
import { buildModel, type ModelConfig } from '../../src/nn/model.ts';
import { avgPool, conv, dense, flatten, globalAvgPool, maxPool } from '../../src/nn/layers.ts';
import { forward, maxAbsDiff, normals, run } from './helpers.ts';

const names = (cfg: ModelConfig, inShape: number[], k: number): string[] =>
  buildModel(cfg, inShape, k).params.map((p) => `${p.name}[${p.shape.join(',')}]`);

/** Traces the forward pass for a batch of 2 and returns the logits' shape. */
function outShape(cfg: ModelConfig, inShape: number[], k: number): readonly number[] {
  const m = buildModel(cfg, inShape, k);
  const b = new GraphBuilder();
  const p: Record<string, ReturnType<GraphBuilder['input']>> = {};
  for (const s of m.params) p[s.name] = b.input(s.name, s.shape, 'float64');
  const buffers: Record<string, ReturnType<GraphBuilder['input']>> = {};
  for (const s of m.buffers) buffers[s.name] = b.input(s.name, s.shape, 'float64');
  return m.forward(p, b.input('x', [2, ...inShape], 'float64'), { mode: 'eval', buffers }).shape;
}

describe('architectures: names, shapes, order', () => {
  it('mlp: fc1..fcL with [out, in] weights, in forward order', () => {
    assert.deepEqual(names({ arch: 'mlp', widths: [5, 4] }, [3], 2), [
      'fc1.weight[5,3]',
      'fc1.bias[5]',
      'fc2.weight[4,5]',
      'fc2.bias[4]',
      'fc3.weight[2,4]',
      'fc3.bias[2]',
    ]);
    const m = buildModel({ arch: 'mlp', widths: [5, 4] }, [3], 2);
    assert.deepEqual(m.layout.range('fc1.weight'), [0, 15]);
    assert.deepEqual(m.layout.range('fc2.weight'), [20, 40]);
    assert.equal(m.layout.size, 15 + 5 + 20 + 4 + 8 + 2);
    assert.deepEqual(
      m.params.filter((p) => p.output).map((p) => p.name),
      ['fc3.weight', 'fc3.bias'],
    );
    assert.equal(m.buffers.length, 0);
    assert.equal(m.config.activation, 'tanh');
  });

  it('mlp with batchnorm: no bias before BN, BN params and running-stat buffers', () => {
    const m = buildModel({ arch: 'mlp', widths: [5], norm: 'batchnorm' }, [3], 2);
    assert.deepEqual(
      m.params.map((p) => p.name),
      ['fc1.weight', 'bn1.weight', 'bn1.bias', 'fc2.weight', 'fc2.bias'],
    );
    assert.deepEqual(
      m.buffers.map((b) => `${b.name}[${b.shape}]`),
      ['bn1.running_mean[5]', 'bn1.running_var[5]'],
    );
    assert.equal(m.bufferLayout.size, 10);
  });

  it('mlp with layernorm and dropout; image inputs are flattened', () => {
    assert.deepEqual(names({ arch: 'mlp', widths: [4], norm: 'layernorm' }, [1, 2, 3], 3), [
      'fc1.weight[4,6]',
      'fc1.bias[4]',
      'ln1.weight[4]',
      'ln1.bias[4]',
      'fc2.weight[3,4]',
      'fc2.bias[3]',
    ]);
    const m = buildModel({ arch: 'mlp', widths: [4, 4], dropout: 0.5 }, [3], 2);
    assert.deepEqual(
      m.dropouts.map((d) => d.name),
      ['drop1.mask', 'drop2.mask'],
    );
  });

  it('cnn: conv/pool stages then dense', () => {
    assert.deepEqual(names({ arch: 'cnn', channels: [2, 3], widths: [5] }, [1, 8, 8], 4), [
      'conv1.weight[2,1,3,3]',
      'conv1.bias[2]',
      'conv2.weight[3,2,3,3]',
      'conv2.bias[3]',
      'fc1.weight[5,12]',
      'fc1.bias[5]',
      'fc2.weight[4,5]',
      'fc2.bias[4]',
    ]);
    assert.deepEqual(names({ arch: 'cnn', channels: [2], norm: 'batchnorm', pool: 'max' }, [3, 4, 4], 2), [
      'conv1.weight[2,3,3,3]',
      'bn1.weight[2]',
      'bn1.bias[2]',
      'fc1.weight[2,8]',
      'fc1.bias[2]',
    ]);
  });

  it('resnet: stem, stages of blocks with projection shortcuts on downsampling, fc', () => {
    const m = buildModel({ arch: 'resnet', channels: [2, 4], depth: 2, norm: 'batchnorm' }, [1, 4, 4], 3);
    assert.deepEqual(
      m.params.map((p) => `${p.name}[${p.shape.join(',')}]`),
      [
        'conv1.weight[2,1,3,3]',
        'bn1.weight[2]',
        'bn1.bias[2]',
        'layer1.0.conv1.weight[2,2,3,3]',
        'layer1.0.bn1.weight[2]',
        'layer1.0.bn1.bias[2]',
        'layer1.0.conv2.weight[2,2,3,3]',
        'layer1.0.bn2.weight[2]',
        'layer1.0.bn2.bias[2]',
        'layer1.1.conv1.weight[2,2,3,3]',
        'layer1.1.bn1.weight[2]',
        'layer1.1.bn1.bias[2]',
        'layer1.1.conv2.weight[2,2,3,3]',
        'layer1.1.bn2.weight[2]',
        'layer1.1.bn2.bias[2]',
        'layer2.0.conv1.weight[4,2,3,3]',
        'layer2.0.bn1.weight[4]',
        'layer2.0.bn1.bias[4]',
        'layer2.0.conv2.weight[4,4,3,3]',
        'layer2.0.bn2.weight[4]',
        'layer2.0.bn2.bias[4]',
        'layer2.0.shortcut.weight[4,2,1,1]',
        'layer2.0.shortcut_bn.weight[4]',
        'layer2.0.shortcut_bn.bias[4]',
        'layer2.1.conv1.weight[4,4,3,3]',
        'layer2.1.bn1.weight[4]',
        'layer2.1.bn1.bias[4]',
        'layer2.1.conv2.weight[4,4,3,3]',
        'layer2.1.bn2.weight[4]',
        'layer2.1.bn2.bias[4]',
        'fc.weight[3,4]',
        'fc.bias[3]',
      ],
    );
    assert.deepEqual(m.residual, { branches: 4, layersPerBranch: 2 });
    assert.equal(m.buffers.length, 2 * (1 + 4 * 2 + 1));
  });

  it('resnet without norm has conv biases; Fixup adds scalar biases and multipliers instead', () => {
    assert.deepEqual(names({ arch: 'resnet', channels: [2], depth: 1 }, [1, 4, 4], 2), [
      'conv1.weight[2,1,3,3]',
      'conv1.bias[2]',
      'layer1.0.conv1.weight[2,2,3,3]',
      'layer1.0.conv1.bias[2]',
      'layer1.0.conv2.weight[2,2,3,3]',
      'layer1.0.conv2.bias[2]',
      'fc.weight[2,2]',
      'fc.bias[2]',
    ]);
    const m = buildModel({ arch: 'resnet', channels: [2, 4], depth: 1, init: { scheme: 'fixup' } }, [1, 4, 4], 2);
    assert.deepEqual(
      m.params.map((p) => p.name),
      [
        'conv1.weight',
        'conv1.fixup_bias',
        'layer1.0.bias1a',
        'layer1.0.conv1.weight',
        'layer1.0.bias1b',
        'layer1.0.bias2a',
        'layer1.0.conv2.weight',
        'layer1.0.scale',
        'layer1.0.bias2b',
        'layer2.0.bias1a',
        'layer2.0.conv1.weight',
        'layer2.0.bias1b',
        'layer2.0.bias2a',
        'layer2.0.conv2.weight',
        'layer2.0.scale',
        'layer2.0.bias2b',
        'layer2.0.shortcut.weight',
        'fc.fixup_bias',
        'fc.weight',
        'fc.bias',
      ],
    );
    assert.deepEqual(
      m.params.filter((p) => p.fixup).map((p) => `${p.name}:${p.fixup}`),
      [
        'layer1.0.conv1.weight:branch',
        'layer1.0.conv2.weight:branch-last',
        'layer2.0.conv1.weight:branch',
        'layer2.0.conv2.weight:branch-last',
      ],
    );
  });

  it('deep-linear: weights only, identity activation', () => {
    assert.deepEqual(names({ arch: 'deep-linear', widths: [4, 4] }, [3], 2), [
      'fc1.weight[4,3]',
      'fc2.weight[4,4]',
      'fc3.weight[2,4]',
    ]);
    // The map is linear: f(2x) = 2 f(x) exactly up to rounding.
    const m = buildModel({ arch: 'deep-linear', widths: [4, 4] }, [3], 2);
    const th = m.init(createRng(1)).params;
    const x = normals(createRng(2), 6);
    const f1 = forward(m, th, x, 2, 'train').logits;
    const f2 = forward(
      m,
      th,
      x.map((v) => 2 * v),
      2,
      'train',
    ).logits;
    assert.ok(
      maxAbsDiff(
        f2,
        f1.map((v) => 2 * v),
      ) < 1e-12,
    );
  });

  it('every architecture maps [B, ...input] to [B, K]', () => {
    assert.deepEqual(outShape({ arch: 'mlp', widths: [3] }, [5], 4), [2, 4]);
    assert.deepEqual(outShape({ arch: 'cnn', channels: [2, 2], norm: 'batchnorm' }, [1, 5, 5], 4), [2, 4]);
    assert.deepEqual(outShape({ arch: 'resnet', channels: [2, 4, 8], norm: 'batchnorm' }, [3, 8, 8], 10), [2, 10]);
    assert.deepEqual(outShape({ arch: 'resnet', channels: [2, 4], init: { scheme: 'fixup' } }, [3, 6, 6], 10), [2, 10]);
    assert.deepEqual(outShape({ arch: 'deep-linear', widths: [3] }, [5], 4), [2, 4]);
  });

  it('config errors name the key and the allowed values', () => {
    assert.throws(
      () => buildModel({ arch: 'rnn' } as unknown as ModelConfig, [3], 2),
      /model\.arch.*mlp, cnn, resnet, deep-linear, transformer/,
    );
    // arch transformer: token windows [T] only, and its own keys.
    assert.throws(() => buildModel({ arch: 'transformer' }, [3, 4], 5), /token windows \[T\]/);
    assert.throws(
      () => buildModel({ arch: 'transformer', transformer: { width: 8 } } as unknown as ModelConfig, [4], 5),
      /model\.transformer: unknown key 'width'/,
    );
    assert.throws(
      () => buildModel({ arch: 'mlp', transformer: {} }, [4], 5),
      /model\.transformer: only for arch transformer/,
    );
    assert.throws(
      () => buildModel({ arch: 'mlp', widht: [3] } as unknown as ModelConfig, [3], 2),
      /unknown key 'widht'/,
    );
    assert.throws(
      () => buildModel({ arch: 'mlp', activation: 'swish' } as unknown as ModelConfig, [3], 2),
      /model\.activation.*tanh/,
    );
    assert.throws(
      () => buildModel({ arch: 'mlp', norm: 'groupnorm' } as unknown as ModelConfig, [3], 2),
      /model\.norm.*batchnorm/,
    );
    assert.throws(
      () => buildModel({ arch: 'mlp', init: { scheme: 'orthogonal' } } as unknown as ModelConfig, [3], 2),
      /model\.init\.scheme.*lecun-normal/,
    );
    assert.throws(
      () => buildModel({ arch: 'resnet', norm: 'batchnorm', init: { scheme: 'fixup' } }, [1, 4, 4], 2),
      /fixup/,
    );
    assert.throws(() => buildModel({ arch: 'mlp', init: { scheme: 'fixup' } }, [3], 2), /fixup/);
    assert.throws(() => buildModel({ arch: 'cnn', norm: 'layernorm' }, [1, 4, 4], 2), /layernorm/);
    assert.throws(() => buildModel({ arch: 'deep-linear', activation: 'tanh' }, [3], 2), /identity/);
    assert.throws(() => buildModel({ arch: 'cnn' }, [16], 2), /\[C, H, W\]/);
  });
});

describe('layers against naive loops', () => {
  const rng = createRng(11);

  it('dense: y = x Wᵀ + b with W stored [out, in]', () => {
    const l = dense('fc', 3, 2);
    const x = normals(rng, 4 * 3);
    const w = normals(rng, 6);
    const bias = normals(rng, 2);
    const y = run(
      { x: { shape: [4, 3], value: x }, w: { shape: [2, 3], value: w }, b: { shape: [2], value: bias } },
      (t) => ({ y: l.apply({ 'fc.weight': t.w!, 'fc.bias': t.b! }, t.x!, { mode: 'train' }) }),
    ).y!;
    const want = new Float64Array(8);
    for (let i = 0; i < 4; i++)
      for (let o = 0; o < 2; o++) {
        let s = bias[o]!;
        for (let j = 0; j < 3; j++) s += x[i * 3 + j]! * w[o * 3 + j]!;
        want[i * 2 + o] = s;
      }
    assert.ok(maxAbsDiff(y, want) < 1e-14);
  });

  it('conv (same padding, stride 2), pools, global pool and flatten', () => {
    const [B, C, H, W, O] = [2, 2, 5, 5, 3];
    const l = conv('c', [C, H, W], O, { kernel: 3, stride: 2 });
    assert.deepEqual(l.outShape, [O, 3, 3]);
    const x = normals(rng, B * C * H * W);
    const w = normals(rng, O * C * 9);
    const bias = normals(rng, O);
    const mp = maxPool('mp', [C, H, W], { kernel: 2 });
    const ap = avgPool('ap', [C, H, W], { kernel: 2 });
    const gp = globalAvgPool('gp', [C, H, W]);
    const fl = flatten('fl', [C, H, W]);
    const out = run(
      { x: { shape: [B, C, H, W], value: x }, w: { shape: [O, C, 3, 3], value: w }, b: { shape: [O], value: bias } },
      (t) => ({
        conv: l.apply({ 'c.weight': t.w!, 'c.bias': t.b! }, t.x!, { mode: 'train' }),
        mp: mp.apply({}, t.x!, { mode: 'train' }),
        ap: ap.apply({}, t.x!, { mode: 'train' }),
        gp: gp.apply({}, t.x!, { mode: 'train' }),
        fl: fl.apply({}, t.x!, { mode: 'train' }),
      }),
    );
    const X = (n: number, c: number, i: number, j: number): number =>
      i < 0 || j < 0 || i >= H || j >= W ? 0 : x[((n * C + c) * H + i) * W + j]!;
    const wantConv: number[] = [];
    for (let n = 0; n < B; n++)
      for (let o = 0; o < O; o++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            let s = bias[o]!;
            for (let c = 0; c < C; c++)
              for (let a = 0; a < 3; a++)
                for (let b = 0; b < 3; b++)
                  s += X(n, c, 2 * i - 1 + a, 2 * j - 1 + b) * w[((o * C + c) * 3 + a) * 3 + b]!;
            wantConv.push(s);
          }
    assert.ok(maxAbsDiff(out.conv!, wantConv) < 1e-13);
    const wantMax: number[] = [];
    const wantAvg: number[] = [];
    const wantGp: number[] = [];
    for (let n = 0; n < B; n++)
      for (let c = 0; c < C; c++) {
        let g = 0;
        for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) g += X(n, c, i, j);
        wantGp.push(g / (H * W));
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++) {
            const win = [
              X(n, c, 2 * i, 2 * j),
              X(n, c, 2 * i + 1, 2 * j),
              X(n, c, 2 * i, 2 * j + 1),
              X(n, c, 2 * i + 1, 2 * j + 1),
            ];
            wantMax.push(Math.max(...win));
            wantAvg.push(win.reduce((a, b) => a + b) / 4);
          }
      }
    assert.ok(maxAbsDiff(out.mp!, wantMax) < 1e-15);
    assert.ok(maxAbsDiff(out.ap!, wantAvg) < 1e-15);
    assert.ok(maxAbsDiff(out.gp!, wantGp) < 1e-14);
    assert.deepEqual(Array.from(out.fl!), Array.from(x));
  });
});
