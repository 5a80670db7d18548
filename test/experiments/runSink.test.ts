/**
 * The runner writes through a RunSink: a short synthetic run into an in-memory sink yields the
 * same metric rows, summary and checkpoints as the same run into a RunStore (a run directory),
 * touches no disk, and an interrupted in-memory run resumes from the sink's resume state to the
 * same rows.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { MemoryRunSink } from '../../src/experiments/memorySink.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { RunStore } from '../../src/experiments/runStore.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-sink-'));
after(() => rmSync(root, { recursive: true, force: true }));

const config = resolveConfig({
  threads: 1,
  data: { name: 'synthetic-gmm', train_size: 64, test_size: 32, input_dim: 5, num_classes: 3 },
  model: { arch: 'mlp', widths: [8] },
  optimizer: { name: 'sgd', lr: 0.2, batch_size: 32 },
  train: { steps: 24, checkpoint_every: 10 },
  curvature: { every: 8, lanczos_iters: 6, top_k: 2 },
  log: { every: 1, test_every: 8 },
});
/** Rows without the wall-clock time. */
const untimed = (rows: readonly MetricRow[]) => rows.map(({ elapsed_s: _t, ...r }) => r);

test('a run into a MemoryRunSink gives the rows, summary and checkpoints of a run into a RunStore', async () => {
  const dir = join(root, 'store');
  const onDisk = await trainRun(config, { dir });
  const sink = new MemoryRunSink();
  const memDir = join(root, 'memory');
  const inMemory = await trainRun(config, { dir: memDir, sink });
  assert.equal(existsSync(memDir), false, 'nothing written to disk');
  const store = new RunStore(dir);
  const rows = untimed(store.readMetrics().rows);
  assert.ok(rows.length === config.train.steps + 1, `${rows.length} rows`);
  assert.deepEqual(untimed(sink.rows), rows);
  assert.equal(inMemory.status, 'completed');
  const strip = ({ status, reason, steps, final }: typeof onDisk) => ({ status, reason, steps, final });
  assert.deepEqual(strip(inMemory), strip(onDisk));
  assert.deepEqual(sink.summary, inMemory);
  assert.deepEqual(
    [...sink.checkpoints.keys()].sort((a, b) => a - b),
    store.listCheckpoints(),
  );
  for (const s of store.listCheckpoints()) assert.deepEqual(sink.readCheckpoint(s), store.readCheckpoint(s));
  const { created_at: _c, versions: _v, ...configOnDisk } = store.readConfig().config as Record<string, unknown>;
  const { created_at: _m, ...configInMemory } = sink.config as unknown as Record<string, unknown>;
  assert.deepEqual({ ...configInMemory, seed: undefined }, { ...configOnDisk, seed: undefined });
  assert.equal(sink.hasResume(), true);
});

test('an interrupted in-memory run resumes from the sink to the rows of the whole run', async () => {
  const whole = new MemoryRunSink();
  await trainRun(config, { dir: join(root, 'unused-whole'), sink: whole });
  const sink = new MemoryRunSink();
  const ac = new AbortController();
  const opts = { dir: join(root, 'unused'), sink, signal: ac.signal };
  const first = await trainRun(config, { ...opts, events: { onRow: (r) => r.step === 13 && ac.abort() } });
  assert.equal(first.status, 'failed');
  assert.equal(sink.summary?.status, 'failed');
  const resumed = await trainRun(config, { dir: opts.dir, sink, resume: true });
  assert.equal(resumed.status, 'completed', resumed.reason ?? '');
  assert.deepEqual(untimed(sink.rows), untimed(whole.rows));
  assert.equal(existsSync(opts.dir), false);
});
