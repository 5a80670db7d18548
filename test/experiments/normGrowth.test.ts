// The weights a BatchNorm follows, and how much they grow over a run: checked against what makes
// them special — the train-mode loss does not change when one of them is scaled (and does when the
// logit layer's weight is) — and against the squared norms read straight from the checkpoints.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { openCheckpoint } from '../../src/experiments/runModel.ts';
import { RunStore } from '../../src/experiments/runStore.ts';
import { normalizedWeightGrowth, normalizedWeights } from '../../src/experiments/normGrowth.ts';
import { buildModel } from '../../src/nn/model.ts';
import { findFashionMnist, FASHION_MNIST_DEBIAN_PACKAGE } from '../../src/data/fashion.ts';

const skip = findFashionMnist(undefined)
  ? false
  : `Fashion-MNIST is absent: apt-get install ${FASHION_MNIST_DEBIAN_PACKAGE}`;

const bnLayers = (m: ReturnType<typeof buildModel>) =>
  new Set(m.params.filter((p) => p.role === 'norm-weight').map((p) => p.layer));

describe('normalizedWeights', () => {
  it('resnet with BatchNorm: every conv weight, the projection shortcut included, and not the logit layer', () => {
    const m = buildModel({ arch: 'resnet', channels: [4, 8], depth: 1, norm: 'batchnorm' }, [1, 8, 8], 10);
    assert.deepEqual(
      normalizedWeights(m, bnLayers(m)).map((p) => p.name),
      [
        'conv1.weight',
        'layer1.0.conv1.weight',
        'layer1.0.conv2.weight',
        'layer2.0.conv1.weight',
        'layer2.0.conv2.weight',
        'layer2.0.shortcut.weight',
      ],
    );
  });
  it('MLP with BatchNorm: the hidden layers; without a norm: none', () => {
    const m = buildModel({ arch: 'mlp', widths: [6, 5], norm: 'batchnorm' }, [4], 3);
    assert.deepEqual(
      normalizedWeights(m, bnLayers(m)).map((p) => p.name),
      ['fc1.weight', 'fc2.weight'],
    );
    const plain = buildModel({ arch: 'mlp', widths: [6, 5] }, [4], 3);
    assert.deepEqual(normalizedWeights(plain, bnLayers(plain)), []);
  });
});

describe('normalizedWeightGrowth on a trained BatchNorm ResNet', { skip }, () => {
  it('is scale invariant where it says so, and the growth is the geometric mean of the squared-norm ratios', async () => {
    const root = mkdtempSync(join(tmpdir(), 'edgewise-normgrowth-'));
    try {
      const dir = join(root, 'run');
      const config = resolveConfig({
        data: { name: 'fashion-mnist', train_size: 32, test_size: 32, flatten: false },
        model: { arch: 'resnet', channels: [4, 8], depth: 1, norm: 'batchnorm', init: { scheme: 'he-normal' } },
        loss: 'cross-entropy',
        optimizer: { name: 'momentum', lr: 2, momentum: 0.9 },
        train: { steps: 30 },
        curvature: { every: 0 },
        log: { every: 10, test_every: 0 },
      });
      const s = await trainRun(config, { dir });
      assert.notEqual(s.status, 'failed', s.reason ?? '');
      const store = new RunStore(dir);
      const steps = store.listCheckpoints();
      assert.ok(steps.length >= 2, `checkpoints ${steps.join(', ')}`);
      const ck = await openCheckpoint(dir, steps[0]!, { threads: 1 });
      try {
        const names = normalizedWeights(ck.model, bnLayers(ck.model)).map((p) => p.name);
        assert.equal(names.length, 6);
        const f = ck.objective({ mode: 'train' });
        const base = (await f.evaluate(ck.theta)).loss;
        const scaled = async (name: string, c: number) => {
          const t = ck.theta.slice();
          const v = ck.model.layout.view(t, name);
          for (let i = 0; i < v.length; i++) v[i]! *= c;
          return (await f.evaluate(t)).loss;
        };
        for (const n of names) {
          const l = await scaled(n, 3);
          assert.ok(Math.abs(l - base) <= 1e-4 * Math.abs(base), `${n}: loss ${l} vs ${base} after ×3`);
        }
        const logit = await scaled('fc.weight', 3);
        assert.ok(Math.abs(logit - base) > 1e-2, `fc.weight ×3 changes the loss (${logit} vs ${base})`);
        // The oracle: squared norms summed by hand from the first and last checkpoints.
        const sq = (step: number, name: string) =>
          (store.readCheckpoint(step).tensors.find((t) => t.name === name)!.data as unknown as number[]).reduce(
            (a, x) => a + x * x,
            0,
          );
        const last = steps[steps.length - 1]!;
        const logMean = names.reduce((a, n) => a + Math.log(sq(last, n) / sq(steps[0]!, n)), 0) / names.length;
        const g = await normalizedWeightGrowth(dir);
        assert.ok(g !== null && Math.abs(g - Math.exp(logMean)) <= 1e-9 * Math.exp(logMean), `growth ${g}`);
        // Large steps on scale-invariant weights push them outwards.
        assert.ok(g > 1, `growth ${g}`);
      } finally {
        await ck.dispose();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
