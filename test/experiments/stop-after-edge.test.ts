/**
 * train.stop_after_edge: a run stops `steps` updates after its measured curvature first reaches
 * `fraction` of the stability threshold. The oracle is the same run without the rule: its rows
 * say where λ1 first reached the level, and the stopped run must equal it row for row up to the
 * stop; an interruption after the crossing resumes to the same stop.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveConfig } from '../../src/experiments/config.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { RunStore } from '../../src/experiments/runStore.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-edge-stop-'));
after(() => rmSync(root, { recursive: true, force: true }));

const base = {
  threads: 1,
  data: { name: 'synthetic-gmm', train_size: 64, test_size: 16, input_dim: 5, num_classes: 3 },
  // λ1/(2/η) starts at 1.2 (above), falls to 0.72 within 5 steps, then sharpens past 1 by step 85.
  model: { arch: 'mlp', widths: [16, 16], activation: 'tanh' },
  loss: 'mse',
  optimizer: { name: 'gd', lr: 0.5 },
  train: { steps: 100 },
  curvature: { every: 5, lanczos_iters: 8, top_k: 1 },
  log: { every: 1, test_every: 0 },
};
const rowsOf = (dir: string) => new RunStore(dir).readMetrics().rows.map(({ elapsed_s: _t, ...r }) => r);

test('stops `steps` updates after λ1 first reaches fraction·2/η, with the rows of the run without the rule', async () => {
  const free = join(root, 'free');
  assert.equal((await trainRun(resolveConfig(base), { dir: free })).status, 'completed');
  const rows = rowsOf(free);
  const ratios = rows
    .filter((r) => typeof r.sharpness === 'number')
    .map((r) => ({ step: r.step, ratio: (r.sharpness as number) / (r.threshold as number) }));
  assert.ok(ratios[0]!.ratio > 1, `the run starts above 2/η: ${ratios[0]!.ratio}`);
  // The oracle: the first measurement at or above the level after one below it.
  const fraction = 0.95;
  const firstBelow = ratios.findIndex((p) => p.ratio < fraction);
  const edgeStep = ratios.slice(firstBelow).find((p) => p.ratio >= fraction)?.step;
  assert.ok(
    edgeStep !== undefined && edgeStep > 20 && edgeStep < 90,
    `crossing at ${edgeStep}: ${JSON.stringify(ratios)}`,
  );
  const dir = join(root, 'stopped');
  const s = await trainRun(resolveConfig({ ...base, train: { steps: 100, stop_after_edge: { fraction, steps: 7 } } }), {
    dir,
  });
  assert.equal(s.status, 'completed');
  assert.equal(s.steps, edgeStep + 7);
  assert.match(
    s.reason ?? '',
    new RegExp(`7 steps after the curvature first reached 0\\.95·threshold from below \\(step ${edgeStep}\\)`),
  );
  const stopped = rowsOf(dir);
  assert.equal(stopped.at(-1)!.step, edgeStep + 7);
  assert.equal(typeof stopped.at(-1)!.test_loss, 'number', 'the stop step gets its test metrics');
  const strip = ({ test_loss: _a, test_acc: _b, ...r }: Record<string, unknown>) => r;
  assert.deepEqual(stopped.map(strip), rows.filter((r) => r.step <= edgeStep + 7).map(strip));
  // A level never reached: the run goes to train.steps.
  const never = await trainRun(
    resolveConfig({ ...base, train: { steps: 30, stop_after_edge: { fraction: 1e6, steps: 1 } } }),
    { dir: join(root, 'never') },
  );
  assert.equal(never.steps, 30);
  assert.equal(never.reason, null);
});

test('interrupted after the crossing, resumed: stops at the same step', async () => {
  const config = resolveConfig({ ...base, train: { steps: 100, stop_after_edge: { fraction: 0.8, steps: 23 } } });
  const whole = await trainRun(config, { dir: join(root, 'whole') });
  const edgeStep = whole.steps - 23;
  assert.ok(edgeStep > 5 && edgeStep < 60, `crossing at ${edgeStep}`);
  const dir = join(root, 'resumed');
  const ac = new AbortController();
  const first = await trainRun(config, {
    dir,
    signal: ac.signal,
    events: { onRow: (r) => r.step === edgeStep + 11 && ac.abort() },
  });
  assert.equal(first.status, 'failed');
  const resumed = await trainRun(config, { dir, resume: true });
  assert.equal(resumed.status, 'completed', resumed.reason ?? '');
  assert.equal(resumed.steps, edgeStep + 23);
  assert.deepEqual(rowsOf(dir), rowsOf(join(root, 'whole')));
});

test('the rule needs curvature measurements: a clear error names the key', () => {
  assert.throws(
    () => resolveConfig({ ...base, train: { stop_after_edge: { steps: 10 } }, curvature: { every: 0 } }),
    (e: unknown) => e instanceof ConfigError && /train\.stop_after_edge: needs curvature\.every >= 1/.test(e.message),
  );
  assert.throws(
    () => resolveConfig({ ...base, train: { stop_after_edge: { fraction: 0.9 } } }),
    /train\.stop_after_edge\.steps/,
  );
  assert.equal(
    resolveConfig({ ...base, train: { stop_after_edge: { steps: 4 } } }).train.stop_after_edge!.fraction,
    0.9,
  );
});
