/**
 * Child runs (childRun.ts forking runWorker.ts): progress events over IPC, an abort that leaves a
 * resumable run, a resume that reproduces the uninterrupted run's metrics exactly, and analysis in
 * a child.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyseInChild, runInChild } from '../../src/experiments/childRun.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/runner.ts';
import { listCurvatureSnapshots, RunStore } from '../../src/experiments/runStore.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-childrun-'));
after(() => rmSync(root, { recursive: true, force: true }));

const steps = 60;
const config = resolveConfig({
  data: { name: 'synthetic-gmm', train_size: 128, test_size: 64, input_dim: 8, num_classes: 3 },
  model: { arch: 'mlp', widths: [12] },
  optimizer: { name: 'sgd', lr: 0.2, batch_size: 32 },
  train: { steps },
  curvature: { every: 10, lanczos_iters: 8, top_k: 2 },
  log: { every: 1, test_every: 20 },
});
/** Metrics without wall-clock times. */
const metricsOf = (dir: string) => new RunStore(dir).readMetrics().rows.map(({ elapsed_s: _t, ...r }) => r);

test('runInChild trains in a child process and forwards its progress; a finished run is returned as it is', async () => {
  const dir = join(root, 'whole');
  const rows: MetricRow[] = [];
  let started = null as { steps: number; startStep: number } | null;
  const s = await runInChild(config, dir, {
    threads: 1,
    events: { onStart: (i) => (started = i), onRow: (r) => rows.push(r) },
  });
  assert.equal(s.status, 'completed', s.reason ?? '');
  assert.equal(s.steps, steps);
  assert.deepEqual(started && { steps: started.steps, startStep: started.startStep }, { steps, startStep: 0 });
  assert.deepEqual(
    rows.map((r) => r.step),
    metricsOf(dir).map((r) => r.step),
  );
  assert.equal(new RunStore(dir).readConfig().config.threads, 1);
  const mtime = statSync(new RunStore(dir).summaryPath).mtimeMs;
  assert.deepEqual(await runInChild(config, dir), s);
  assert.equal(statSync(new RunStore(dir).summaryPath).mtimeMs, mtime);
});

test('an aborted child run stops resumable; runInChild again resumes it to the same metrics as the uninterrupted run', async () => {
  const dir = join(root, 'interrupted');
  const ac = new AbortController();
  const first = await runInChild(config, dir, {
    threads: 1,
    signal: ac.signal,
    events: { onRow: (r) => (r.step as number) >= 25 && ac.abort() },
  });
  assert.equal(first.status, 'failed');
  assert.match(first.reason ?? '', /interrupted at step \d+/);
  assert.ok(first.steps >= 25 && first.steps < steps, `stopped at ${first.steps}`);
  const resumed = await runInChild(config, dir, { threads: 1 });
  assert.equal(resumed.status, 'completed', resumed.reason ?? '');
  assert.deepEqual(metricsOf(dir), metricsOf(join(root, 'whole')));
  assert.deepEqual(resumed.final, new RunStore(join(root, 'whole')).readSummary()!.final);
});

test("analyseInChild writes the analysis snapshots; a failure rejects with the child's error", async () => {
  const dir = join(root, 'whole');
  await analyseInChild(dir, { step: steps, topK: 2, iterations: 10 });
  for (const prefix of ['analysis', 'density', 'slices'])
    assert.deepEqual(
      listCurvatureSnapshots(dir, prefix).map((f) => f.step),
      [steps],
      prefix,
    );
  const empty = join(root, 'empty');
  new RunStore(empty).init().writeConfig(config);
  await assert.rejects(analyseInChild(empty), /analysis of .*empty failed \(exit 2\): .*no checkpoints/);
});
