import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { readSettled, settleRun } from '../../src/studies/settle.ts';

test('settling: zero steps reproduce the final λ1 and loss of the run; GD at a small η lowers the loss', async () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-settle-'));
  try {
    const dir = join(root, 'run');
    const config = resolveConfig({
      data: { name: 'fashion-mnist', train_size: 64, test_size: 64, preprocess: 'standardize' },
      model: { arch: 'mlp', widths: [8], activation: 'tanh' },
      loss: 'mse',
      optimizer: { name: 'gd', lr: 0.05 },
      train: { steps: 10 },
      curvature: { every: 10, top_k: 1, lanczos_iters: 30 },
      log: { every: 10, test_every: 0 },
    });
    assert.equal((await trainRun(config, { dir })).status, 'completed');
    const last = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>)
      .at(-1)!;
    assert.equal(last.step, 10);
    const zero = (await settleRun(dir, { lr: 0.01, steps: 0 }))!;
    assert.equal(zero.step, 10);
    // Independent Lanczos runs (other start vectors) on the same θ: agree to the solver's tolerance.
    assert.ok(
      Math.abs(zero.sharpness - last.sharpness!) <= 1e-3 * last.sharpness!,
      `${zero.sharpness} vs ${last.sharpness}`,
    );
    assert.equal(zero.sharpness, zero.sharpness_before);
    assert.ok(Math.abs(zero.loss - last.train_loss!) <= 1e-5 * last.train_loss!);
    // Reused only for the same settings.
    assert.deepEqual(readSettled(dir, { lr: 0.01, steps: 0 }), zero);
    assert.equal(readSettled(dir, { lr: 0.01, steps: 5 }), null);
    // η·λ1 = 0.2: well inside the stable range, so GD descends.
    const five = (await settleRun(dir, { lr: 0.2 / zero.sharpness_before, steps: 5 }))!;
    assert.ok(five.loss < five.loss_before, `${five.loss_before} → ${five.loss}`);
    assert.ok(Number.isFinite(five.sharpness) && five.sharpness > 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
