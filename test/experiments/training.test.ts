/**
 * Training through the public API (resolveConfig + trainRun) on real data: an MLP with GD
 * reaches 100 % train accuracy on 1000 Fashion-MNIST images, and a CNN with BatchNorm trains
 * with SGD.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { findFashionMnist, FASHION_MNIST_DEBIAN_PACKAGE } from '../../src/data/fashion.ts';

const skip = findFashionMnist(undefined)
  ? false
  : `Fashion-MNIST is absent: apt-get install ${FASHION_MNIST_DEBIAN_PACKAGE}`;

const rows = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('training on Fashion-MNIST through the public API', { skip }, () => {
  it('fc-tanh MLP, GD, cross-entropy: 100 % train accuracy on 1000 images', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'edgewise-train-')), 'mlp');
    const config = resolveConfig({
      data: { name: 'fashion-mnist', train_size: 1000, test_size: 500, preprocess: 'standardize' },
      model: { arch: 'mlp', widths: [200, 200], activation: 'tanh' },
      loss: 'cross-entropy',
      optimizer: { name: 'gd', lr: 0.1 },
      train: { steps: 800, stop_train_acc: 1 },
      curvature: { every: 0 },
      log: { every: 10, test_every: 200 },
    });
    const s = await trainRun(config, { dir });
    assert.equal(s.status, 'completed', s.reason ?? '');
    assert.equal(s.final.train_acc, 1, `train accuracy ${s.final.train_acc}`);
    assert.ok(s.steps < 800, `stopped by the accuracy criterion at step ${s.steps}`);
    assert.match(s.reason ?? '', /stop_train_acc/);
    const r = rows(dir);
    assert.ok(r[0]!.train_acc! < 0.3, 'starts near chance');
    const last = r[r.length - 1]!;
    assert.equal(last.step, s.steps, 'the stopping step is logged');
    assert.equal(typeof last.test_acc, 'number', 'test metrics are measured at the stopping step');
    assert.equal(s.final.test_acc, last.test_acc, 'summary.final.test_acc is from the final θ');
  });

  it('with minibatches, stop_train_acc is judged on the whole training set at logged steps', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'edgewise-train-')), 'mb');
    const config = resolveConfig({
      data: { name: 'mnist', train_size: 200, test_size: 100 },
      model: { arch: 'mlp', widths: [32], activation: 'tanh' },
      loss: 'cross-entropy',
      optimizer: { name: 'sgd', lr: 0.1, batch_size: 4 },
      train: { steps: 3000, stop_train_acc: 0.9 },
      curvature: { every: 0 },
      log: { every: 25, test_every: 0 },
    });
    const s = await trainRun(config, { dir });
    assert.equal(s.status, 'completed', s.reason ?? '');
    // A batch of 4 is 100 % correct long before 90 % of the 200 images are; the stop must wait.
    assert.equal(s.steps % 25, 0, `stopped at a logged step (${s.steps})`);
    assert.match(s.reason ?? '', /stop_train_acc/);
    const last = rows(dir).at(-1)!;
    assert.equal(last.step, s.steps);
    assert.ok(last.train_acc! >= 0.9, `whole-set accuracy at the stop ${last.train_acc}`);
    assert.equal(s.final.train_acc, last.train_acc, 'summary.final.train_acc is the whole-set value');
    // The whole-set accuracy at every earlier logged step was below the target.
    assert.ok(
      rows(dir)
        .slice(0, -1)
        .every((x) => x.train_acc! < 0.9),
    );
  });

  it('CNN with BatchNorm trains with minibatch SGD', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'edgewise-train-')), 'cnn');
    const config = resolveConfig({
      data: { name: 'fashion-mnist', train_size: 384, test_size: 256, preprocess: 'standardize', flatten: false },
      model: { arch: 'cnn', channels: [4, 8], activation: 'relu', norm: 'batchnorm' },
      loss: 'cross-entropy',
      optimizer: { name: 'sgd', lr: 0.05, batch_size: 32 },
      train: { steps: 120 },
      curvature: { every: 60, lanczos_iters: 8, bn_mode: 'eval' },
      log: { every: 12, test_every: 60 },
    });
    const s = await trainRun(config, { dir });
    assert.equal(s.status, 'completed', s.reason ?? '');
    const r = rows(dir);
    const first = r[0]!;
    const last = r[r.length - 1]!;
    assert.ok(last.train_loss! < 0.6 * first.train_loss!, `train loss ${first.train_loss} → ${last.train_loss}`);
    assert.ok(last.test_acc! > 0.6, `test accuracy (eval mode, running statistics) ${last.test_acc}`);
    const measured = r.filter((x) => 'sharpness' in x);
    assert.ok(
      measured.length >= 2 && measured.every((x) => (x as unknown as { bn_mode: string }).bn_mode === 'eval'),
      'curvature measured in the recorded BN mode',
    );
  });
});
