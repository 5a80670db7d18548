/**
 * openCheckpoint against the runner's own measurements: the train loss logged at step 0 and the
 * test loss/accuracy logged at the last step were computed by trainRun from its in-memory state;
 * the opened checkpoints must reproduce them (same θ, same BatchNorm statistics, same data rows).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { RunStore } from '../../src/experiments/runStore.ts';
import { openCheckpoint, thetaFromTensors } from '../../src/experiments/runModel.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-runmodel-'));
after(() => rmSync(root, { recursive: true, force: true }));

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

for (const norm of ['none', 'batchnorm'] as const) {
  test(`openCheckpoint (norm ${norm}) reproduces the train loss at step 0 and the test metrics at the last step`, async () => {
    const dir = join(root, norm);
    const steps = 12;
    const config = resolveConfig({
      data: { name: 'synthetic-gmm', train_size: 96, test_size: 64, input_dim: 6, num_classes: 3 },
      model: { arch: 'mlp', widths: [10], norm },
      optimizer: { name: 'sgd', lr: 0.1, batch_size: 32 },
      train: { steps, checkpoint_every: 5 },
      curvature: { every: 0 },
      log: { every: 1, test_every: steps },
      threads: 1,
    });
    const s = await trainRun(config, { dir });
    assert.equal(s.status, 'completed', s.reason ?? '');
    const store = new RunStore(dir);
    assert.deepEqual(store.listCheckpoints(), [0, 5, 10, steps]);
    const rows = store.readMetrics().rows;

    const first = await openCheckpoint(dir, 0);
    try {
      assert.equal(first.step, 0);
      assert.equal(first.buffers !== null, norm === 'batchnorm');
      // θ is the checkpoint's tensors, in the model's layout.
      const views = first.model.layout.split(first.theta);
      for (const t of store
        .readCheckpoint(0)
        .tensors.filter((x) => first.model.params.some((p) => p.name === x.name))) {
        assert.deepEqual(Array.from(views[t.name]!), Array.from(t.data as unknown as ArrayLike<number>), t.name);
      }
      // Step 0's row is the full training set in train mode (the runner logs the full-batch loss).
      const e = await first.objective({ mode: 'train' }).evaluate(first.theta);
      close(e.loss, rows[0]!.train_loss as number, 'train loss at step 0');
    } finally {
      await first.dispose();
    }

    const last = await openCheckpoint(dir); // the latest
    try {
      assert.equal(last.step, steps);
      const e = await last.objective({ mode: 'eval', split: 'test' }).evaluate(last.theta);
      const row = rows.find((r) => r.step === steps)!;
      close(e.loss, row.test_loss as number, 'test loss at the last step');
      close(e.metrics.accuracy!, row.test_acc as number, 'test accuracy at the last step');
    } finally {
      await last.dispose();
    }
  });
}

test('openCheckpoint: a missing step names the directory and the steps there; no checkpoints is an error too', async () => {
  const dir = join(root, 'none');
  await assert.rejects(
    openCheckpoint(dir, 3),
    (e: Error) => e.message === `${dir}: no checkpoint at step 3 (have: 0, 5, 10, 12)`,
  );
  const empty = join(root, 'empty');
  new RunStore(empty).init().writeConfig(resolveConfig({}));
  await assert.rejects(openCheckpoint(empty), (e: Error) => e.message === `${empty}: no checkpoints`);
});

test('thetaFromTensors names the file and the missing tensor', async () => {
  const dir = join(root, 'none');
  const ck = await openCheckpoint(dir, 0);
  try {
    const tensors = new RunStore(dir).readCheckpoint(0).tensors.filter((t) => t.name !== ck.model.params[1]!.name);
    assert.throws(
      () => thetaFromTensors(ck.model, tensors, 'float32', 'some.safetensors'),
      new RegExp(`^Error: some\\.safetensors: missing tensor '${ck.model.params[1]!.name.replace('.', '\\.')}'$`),
    );
  } finally {
    await ck.dispose();
  }
});
