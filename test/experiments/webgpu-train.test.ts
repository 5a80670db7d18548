/**
 * Whole training runs on the webgpu backend (samples, θ, gradient and optimizer state kept in
 * device memory; gradients, updates, HVPs and Lanczos sharpness on WebGPU) against the same runs
 * on the ort backend (host updates with float64 moments): the same losses and sharpness to
 * float32 accuracy; and an interrupted webgpu run resumes to the uninterrupted one's metrics.
 * Runs on SwiftShader without a GPU (see test/engine/webgpu.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { RunStore } from '../../src/experiments/runStore.ts';
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
      const messages: string[] = [];
      const s = await trainRun(config, { dir, events: { onMessage: (m) => messages.push(m) } });
      assert.equal(s.status, 'completed', s.reason ?? '');
      if (backend === 'webgpu')
        assert.ok(
          messages.some((m) => m.includes('stay in device memory')),
          messages.join('; '),
        );
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

  const adam = (backend: 'ort' | 'webgpu', steps = 24) =>
    resolveConfig({
      backend,
      threads: 1,
      data: { name: 'mnist', train_size: 200, test_size: 100, preprocess: 'scale' },
      model: { arch: 'mlp', widths: [32], activation: 'tanh' },
      loss: 'cross-entropy',
      optimizer: { name: 'adamw', lr: 0.003, weight_decay: 0.1 },
      clip: { max_norm: 0.5 },
      train: { steps },
      curvature: { every: 8, lanczos_iters: 12 },
      log: { every: 4, test_every: 8 },
    });

  it("AdamW with clipping and weight decay, state on the device: the host run's losses and preconditioned λ1", async () => {
    const base = mkdtempSync(join(tmpdir(), 'edgewise-webgpu-adam-'));
    const run = async (backend: 'ort' | 'webgpu') => {
      const s = await trainRun(adam(backend), { dir: join(base, backend) });
      assert.equal(s.status, 'completed', s.reason ?? '');
      return rows(join(base, backend));
    };
    const [gpu, cpu] = [await run('webgpu'), await run('ort')];
    assert.equal(gpu.length, cpu.length);
    assert.ok(cpu[cpu.length - 1]!.train_loss! < 0.8 * cpu[0]!.train_loss!, 'the run trains');
    assert.ok(
      cpu.some((r) => r.grad_norm! > 0.5),
      'clipping is active at some step',
    );
    for (let i = 0; i < cpu.length; i++) {
      const [g, c] = [gpu[i]!, cpu[i]!];
      const close = (k: string, rtol: number) =>
        assert.ok(Math.abs(g[k]! - c[k]!) <= rtol * Math.abs(c[k]!), `step ${c.step}: ${k} ${g[k]} vs ${c[k]}`);
      close('train_loss', 1e-4);
      close('param_norm', 1e-5);
      close('grad_norm', 1e-3);
      if ('precond_sharpness' in c) close('precond_sharpness', 1e-3);
    }
  });

  it("interrupted and resumed with the state on the device: the uninterrupted run's metrics", async () => {
    const base = mkdtempSync(join(tmpdir(), 'edgewise-webgpu-resume-'));
    const metricsOf = (dir: string) => new RunStore(dir).readMetrics().rows.map(({ elapsed_s: _t, ...r }) => r);
    const whole = join(base, 'whole');
    assert.equal((await trainRun(adam('webgpu', 16), { dir: whole })).status, 'completed');
    const dir = join(base, 'interrupted');
    const ac = new AbortController();
    const first = await trainRun(adam('webgpu', 16), {
      dir,
      signal: ac.signal,
      events: { onRow: (r) => r.step === 12 && ac.abort() },
    });
    assert.equal(first.steps, 12);
    const resumed = await trainRun(adam('webgpu', 16), { dir, resume: true });
    assert.equal(resumed.status, 'completed', resumed.reason ?? '');
    assert.deepEqual(metricsOf(dir), metricsOf(whole));
  });
});
