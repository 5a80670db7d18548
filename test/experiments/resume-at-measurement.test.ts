/**
 * A run interrupted right after a curvature measurement (before θ_s → θ_{s+1}) resumes to the
 * same metrics as the uninterrupted run: the resumed run measures step s again and compares its
 * eigenvectors and θ with the measurement before s, not with step s's own (which gave
 * eigvec_cos = 1 and param_displacement = 0 at that step).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { RunStore } from '../../src/experiments/runStore.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-resume-'));
after(() => rmSync(root, { recursive: true, force: true }));

const config = resolveConfig({
  threads: 1,
  data: { name: 'synthetic-gmm', train_size: 96, test_size: 32, input_dim: 6, num_classes: 3 },
  model: { arch: 'mlp', widths: [10] },
  optimizer: { name: 'sgd', lr: 0.2, batch_size: 32 },
  train: { steps: 40 },
  curvature: { every: 10, lanczos_iters: 8, top_k: 2 },
  log: { every: 1, test_every: 20 },
});
const metricsOf = (dir: string) => new RunStore(dir).readMetrics().rows.map(({ elapsed_s: _t, ...r }) => r);

test('interrupted at a measurement step, resumed: the same metrics, rotation and displacement included', async () => {
  const whole = join(root, 'whole');
  assert.equal((await trainRun(config, { dir: whole })).status, 'completed');
  const dir = join(root, 'interrupted');
  const ac = new AbortController();
  const first = await trainRun(config, {
    dir,
    signal: ac.signal,
    events: { onRow: (r) => r.step === 20 && ac.abort() },
  });
  assert.equal(first.status, 'failed');
  assert.equal(first.steps, 20, 'stopped right after the measurement at step 20');
  const resumed = await trainRun(config, { dir, resume: true });
  assert.equal(resumed.status, 'completed', resumed.reason ?? '');
  const [a, b] = [metricsOf(dir), metricsOf(whole)];
  const at20 = a.filter((r) => r.step === 20);
  assert.equal(at20.length, 1, 'step 20 is logged once');
  assert.ok((at20[0]!.eigvec_cos as number) < 0.999999, `eigvec_cos at step 20: ${at20[0]!.eigvec_cos}`);
  assert.ok((at20[0]!.param_displacement as number) > 0);
  assert.deepEqual(a, b);
});
