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

/** Row by row, the same steps and each key (where the ort run has it) within its relative tolerance. */
function agree(gpu: Record<string, number>[], cpu: Record<string, number>[], rtol: Record<string, number>): void {
  assert.equal(gpu.length, cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    const [g, c] = [gpu[i]!, cpu[i]!];
    assert.equal(g.step, c.step);
    for (const [k, tol] of Object.entries(rtol)) {
      if (!(k in c)) continue;
      assert.ok(Math.abs(g[k]! - c[k]!) <= tol * Math.abs(c[k]!), `step ${c.step}: ${k} ${g[k]} vs ${c[k]}`);
    }
  }
}

/** A small MNIST run on `backend`; `over` replaces sections of the base config. */
const small = (backend: 'ort' | 'webgpu', over: Record<string, unknown>) =>
  resolveConfig({
    backend,
    threads: 1,
    data: { name: 'mnist', train_size: 200, test_size: 100, preprocess: 'scale' },
    model: { arch: 'mlp', widths: [32], activation: 'tanh' },
    ...over,
  });

/** Trains `config` into base/backend; on webgpu, checks that the state stayed in device memory. Returns the rows. */
async function trainOn(base: string, config: ReturnType<typeof small>): Promise<Record<string, number>[]> {
  const dir = join(base, config.backend);
  const messages: string[] = [];
  const s = await trainRun(config, { dir, events: { onMessage: (m) => messages.push(m) } });
  assert.equal(s.status, 'completed', s.reason ?? '');
  if (config.backend === 'webgpu')
    assert.ok(
      messages.some((m) => m.includes('stay in device memory')),
      messages.join('; '),
    );
  return rows(dir);
}

/** The same run on webgpu and on ort (host updates, float64 moments). */
async function bothBackends(name: string, over: Record<string, unknown>) {
  const base = mkdtempSync(join(tmpdir(), `edgewise-webgpu-${name}-`));
  return [await trainOn(base, small('webgpu', over)), await trainOn(base, small('ort', over))] as const;
}

describe('training on the webgpu backend', { skip }, () => {
  it('GD with sharpness: the same losses and λ1 as the ort backend', async () => {
    const [gpu, cpu] = await bothBackends('gd', {
      loss: 'mse',
      optimizer: { name: 'gd', lr: 0.05 },
      train: { steps: 20 },
      curvature: { every: 10, lanczos_iters: 12 },
      log: { every: 5, test_every: 10 },
    });
    assert.ok(cpu.filter((r) => 'sharpness' in r).length >= 2, 'sharpness measured at least twice');
    agree(gpu, cpu, { train_loss: 1e-5, sharpness: 1e-4 });
  });

  const adam = (steps: number) => ({
    loss: 'cross-entropy',
    optimizer: { name: 'adamw', lr: 0.003, weight_decay: 0.1 },
    clip: { max_norm: 0.5 },
    train: { steps },
    curvature: { every: 8, lanczos_iters: 12 },
    log: { every: 4, test_every: 8 },
  });

  it("AdamW with clipping and weight decay, state on the device: the host run's losses and preconditioned λ1", async () => {
    const [gpu, cpu] = await bothBackends('adam', adam(24));
    assert.ok(cpu[cpu.length - 1]!.train_loss! < 0.8 * cpu[0]!.train_loss!, 'the run trains');
    assert.ok(
      cpu.some((r) => r.grad_norm! > 0.5),
      'clipping is active at some step',
    );
    agree(gpu, cpu, { train_loss: 1e-4, param_norm: 1e-5, grad_norm: 1e-3, precond_sharpness: 1e-3 });
  });

  it("interrupted and resumed with the state on the device: the uninterrupted run's metrics", async () => {
    const base = mkdtempSync(join(tmpdir(), 'edgewise-webgpu-resume-'));
    const metricsOf = (dir: string) => new RunStore(dir).readMetrics().rows.map(({ elapsed_s: _t, ...r }) => r);
    const config = small('webgpu', adam(16));
    const whole = join(base, 'whole');
    assert.equal((await trainRun(config, { dir: whole })).status, 'completed');
    const dir = join(base, 'interrupted');
    const ac = new AbortController();
    const first = await trainRun(config, {
      dir,
      signal: ac.signal,
      events: { onRow: (r) => r.step === 12 && ac.abort() },
    });
    assert.equal(first.steps, 12);
    const resumed = await trainRun(config, { dir, resume: true });
    assert.equal(resumed.status, 'completed', resumed.reason ?? '');
    assert.deepEqual(metricsOf(dir), metricsOf(whole));
  });

  it("momentum SGD on minibatches gathered on the device (a short last batch too): the host run's metrics", async () => {
    const [gpu, cpu] = await bothBackends('sgd', {
      loss: 'cross-entropy',
      optimizer: { name: 'momentum', lr: 0.05, batch_size: 48 },
      train: { steps: 14 },
      curvature: { every: 7, lanczos_iters: 10 },
      log: { every: 1, test_every: 7 },
    });
    agree(gpu, cpu, { train_loss: 1e-4, grad_norm: 1e-3, param_norm: 1e-5, sharpness: 1e-3 });
  });
});
