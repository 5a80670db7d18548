// Study grids run through the sweep runner: sweep.json, a lock and an attempts record per run,
// finished runs skipped on a rerun, and shards — a worker whose shard is done while another
// shard's runs are not gets ShardPending; the worker that finishes last gets every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandSweep } from '../../src/experiments/sweep.ts';
import { runStudyGrid, ShardPending } from '../../src/studies/run.ts';
import type { StudyContext } from '../../src/studies/study.ts';

test('runStudyGrid: sweep runner bookkeeping, shards, and finished runs reused', { timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'edgewise-study-grid-'));
  try {
    const base = {
      data: { name: 'synthetic-gmm', train_size: 40, test_size: 20, input_dim: 4, num_classes: 2 },
      model: { arch: 'mlp', widths: [4] },
      optimizer: { name: 'gd', lr: 0.1 },
      train: { steps: 3 },
      curvature: { every: 0 },
      log: { every: 1, test_every: 0 },
    };
    const grid = { 'train.seed': [0, 1, 2, 3] };
    const runs = expandSweep({ base, grid }, 'tiny');
    const file = { name: 'tiny', title: 'tiny', expected_minutes: { full: 1, quick: 1 }, base, grid, tolerances: {} };
    const ctx = (shard: StudyContext['shard']): StudyContext => ({
      quick: false,
      tolerances: {},
      file,
      out,
      log: () => {},
      parallel: 2,
      shard,
    });
    const first = await runStudyGrid(ctx({ index: 0, count: 2 }), runs, grid).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(first instanceof ShardPending, `got ${String(first)}`);
    assert.equal(first.unfinished, 2);
    const shard0 = runs.filter((r) => r.index % 2 === 0).map((r) => r.name);
    for (const r of runs) assert.equal(existsSync(join(out, r.name, 'summary.json')), shard0.includes(r.name), r.name);
    const all = await runStudyGrid(ctx({ index: 1, count: 2 }), runs, grid);
    assert.deepEqual(
      all.map((r) => r.name),
      runs.map((r) => r.name),
    );
    assert.ok(all.every((r) => r.summary.status === 'completed' && r.rows.length === 4));
    const manifest = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as { name: string; runs: unknown[] };
    assert.equal(manifest.name, 'tiny');
    assert.equal(manifest.runs.length, 4);
    // One attempt per run; a rerun without shards starts none.
    const attempts = (name: string) =>
      readFileSync(join(out, name, '.attempts.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => /"start"/.test(l)).length;
    for (const r of runs) assert.equal(attempts(r.name), 1, r.name);
    const again = await runStudyGrid(ctx(null), runs, grid);
    assert.equal(again.length, 4);
    for (const r of runs) assert.equal(attempts(r.name), 1, `${r.name} rerun`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
