/**
 * param_displacement (‖θ_s − θ at the previous curvature measurement‖) and eigvec_subspace_cos in
 * the metric rows, checked against the parameters saved in the checkpoints at the same steps;
 * λmin (curvature.lambda_min_every) at the steps asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { RunStore } from '../../src/experiments/runStore.ts';

test('param_displacement at curvature steps equals the distance between the checkpointed parameters; λmin every lambda_min_every', async () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-disp-'));
  try {
    const dir = join(root, 'run');
    const config = resolveConfig({
      data: { name: 'fashion-mnist', train_size: 64, test_size: 64, preprocess: 'standardize' },
      model: { arch: 'mlp', widths: [8], activation: 'tanh' },
      loss: 'mse',
      optimizer: { name: 'gd', lr: 0.05 },
      train: { steps: 10, checkpoint_every: 5 },
      curvature: { every: 5, top_k: 2, lanczos_iters: 8, rotation: true, lambda_min_every: 10 },
      log: { every: 5, test_every: 0 },
    });
    const s = await trainRun(config, { dir });
    assert.equal(s.status, 'completed', s.reason ?? '');
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    const at = (step: number) => rows.find((r) => r.step === step)!;
    assert.equal(at(0).param_displacement, undefined, 'no previous measurement at step 0');
    // λmin at steps 0 and 10 only, below the top-2 eigenvalues.
    assert.deepEqual(
      rows.filter((r) => 'lambda_min' in r).map((r) => r.step),
      [0, 10],
    );
    for (const st of [0, 10]) assert.ok(at(st).lambda_min! < (at(st).eigs as unknown as number[])[1]!);
    const store = new RunStore(dir);
    const params = (step: number) => {
      const c = store.readCheckpoint(step);
      return c.tensors
        .filter(
          (t) => !t.name.startsWith('optimizer.') && !t.name.startsWith('curvature.') && !t.name.startsWith('state.'),
        )
        .flatMap((t) => Array.from(t.data as ArrayLike<number>));
    };
    for (const [a, b] of [
      [0, 5],
      [5, 10],
    ] as const) {
      const pa = params(a);
      const pb = params(b);
      assert.equal(pa.length, pb.length);
      const d = Math.sqrt(pa.reduce((acc, x, i) => acc + (pb[i]! - x) ** 2, 0));
      assert.ok(d > 0);
      assert.ok(Math.abs(at(b).param_displacement! - d) <= 1e-6 * d, `step ${b}: ${at(b).param_displacement} vs ${d}`);
      const c = at(b).eigvec_subspace_cos!;
      // The top eigenvector's cosine to the previous top-2 span is at least its cosine to the previous top eigenvector.
      assert.ok(c >= at(b).eigvec_cos! - 1e-12 && c <= 1, `subspace cos ${c}, eigvec cos ${at(b).eigvec_cos}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
