/**
 * A whole training run on the webgpu backend (samples kept in device memory, gradients, HVPs and
 * Lanczos sharpness on WebGPU) against the same run on the ort backend: the same losses and
 * sharpness to float32 accuracy. Runs on SwiftShader without a GPU (see test/engine/webgpu.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { skip } from '../engine/webgpuDevice.ts';

const rows = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('training on the webgpu backend', { skip }, () => {
  it('GD with sharpness: the same losses and λ1 as the ort backend', async () => {
    const base = mkdtempSync(join(tmpdir(), 'edgewise-webgpu-'));
    const run = async (backend: 'ort' | 'webgpu') => {
      const dir = join(base, backend);
      const config = resolveConfig({
        backend,
        threads: 1,
        data: { name: 'mnist', train_size: 200, test_size: 100, preprocess: 'scale' },
        model: { arch: 'mlp', widths: [32], activation: 'tanh' },
        loss: 'mse',
        optimizer: { name: 'gd', lr: 0.05 },
        train: { steps: 20 },
        curvature: { every: 10, lanczos_iters: 12 },
        log: { every: 5, test_every: 10 },
      });
      const s = await trainRun(config, { dir });
      assert.equal(s.status, 'completed', s.reason ?? '');
      return rows(dir);
    };
    const [gpu, cpu] = [await run('webgpu'), await run('ort')];
    assert.equal(gpu.length, cpu.length);
    const sharp = cpu.filter((r) => 'sharpness' in r);
    assert.ok(sharp.length >= 2, 'sharpness measured at least twice');
    for (let i = 0; i < cpu.length; i++) {
      const [g, c] = [gpu[i]!, cpu[i]!];
      assert.equal(g.step, c.step);
      assert.ok(
        Math.abs(g.train_loss! - c.train_loss!) <= 1e-5 * c.train_loss!,
        `step ${c.step}: loss ${g.train_loss} vs ${c.train_loss}`,
      );
      if ('sharpness' in c) {
        assert.ok(
          Math.abs(g.sharpness! - c.sharpness!) <= 1e-4 * c.sharpness!,
          `step ${c.step}: λ1 ${g.sharpness} vs ${c.sharpness}`,
        );
      }
    }
  });
});
