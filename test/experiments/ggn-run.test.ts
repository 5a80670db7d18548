/**
 * `curvature.matrix` in training runs: with `both`, rows carry ggn_sharpness and ggn_eigs beside
 * sharpness and eigs; for a model linear in θ under MSE (G = H) the two agree, on a tanh network
 * they differ; with `ggn` alone the Hessian's fields are absent and G's are those of `both`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';

type Row = Record<string, number | number[] | undefined>;

async function run(root: string, name: string, widths: number[], matrix: 'hessian' | 'ggn' | 'both'): Promise<Row[]> {
  const dir = join(root, name);
  const config = resolveConfig({
    data: { name: 'synthetic-gmm', train_size: 60, test_size: 20 },
    model: { arch: 'mlp', widths, activation: 'tanh' },
    loss: 'mse',
    optimizer: { name: 'gd', lr: 0.05 },
    train: { steps: 10 },
    curvature: { every: 5, top_k: 2, lanczos_iters: 12, matrix },
    log: { every: 5, test_every: 0 },
  });
  const s = await trainRun(config, { dir });
  assert.equal(s.status, 'completed', s.reason ?? '');
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row)
    .filter((r) => (r.step as number) % 5 === 0);
}

test('curvature.matrix: both, ggn and hessian in the metric rows', async () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-ggn-'));
  try {
    const linear = await run(root, 'linear', [], 'both');
    for (const r of linear) {
      const g = r.ggn_eigs as number[];
      assert.equal(g.length, 2);
      assert.ok(g[0]! >= g[1]!, 'descending');
      // G = H for a model linear in θ under MSE: the same top eigenvalues to float32 Lanczos accuracy.
      assert.ok(Math.abs(r.ggn_sharpness! as number) > 0);
      assert.ok(
        Math.abs((r.ggn_sharpness as number) - (r.sharpness as number)) <= 1e-3 * (r.sharpness as number),
        `step ${r.step}: λ1(G) ${r.ggn_sharpness} vs λ1(H) ${r.sharpness}`,
      );
    }
    const both = await run(root, 'tanh-both', [16], 'both');
    const ggn = await run(root, 'tanh-ggn', [16], 'ggn');
    const hess = await run(root, 'tanh-hessian', [16], 'hessian');
    assert.equal(both.length, 3);
    for (let i = 0; i < both.length; i++) {
      assert.equal(hess[i]!.ggn_sharpness, undefined);
      assert.equal(ggn[i]!.sharpness, undefined);
      assert.equal(ggn[i]!.eigs, undefined);
      // The curvature measurement does not change training, and the solves are seeded alike.
      assert.equal(both[i]!.sharpness, hess[i]!.sharpness);
      assert.equal(both[i]!.train_loss, ggn[i]!.train_loss);
      assert.deepEqual(both[i]!.ggn_eigs, ggn[i]!.ggn_eigs);
      const h = both[i]!.sharpness as number;
      const g = both[i]!.ggn_sharpness as number;
      assert.ok(Math.abs(g - h) > 1e-3 * h, `step ${both[i]!.step}: a tanh network's G and H differ (${g} vs ${h})`);
    }
    // Rotation follows G's eigenvectors when G alone is measured.
    assert.ok(typeof ggn[1]!.eigvec_cos === 'number');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
