/** `edgewise sweep` through the command line: a 4-run sweep, its report, and two shards. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliSpawn, tempDir } from './helpers.ts';

const SWEEP = `
base:
  data: {name: synthetic-gmm, train_size: 300, test_size: 100, input_dim: 16, num_classes: 3}
  model: {widths: [16]}
  train: {steps: 30}
  curvature: {every: 10, lanczos_iters: 8}
  log: {test_every: 10}
grid:
  optimizer.lr: [0.02, 0.05, 0.5, 40]
`;

describe('edgewise sweep', () => {
  it('a sweep of 4 runs completes, skips finished runs on re-invocation, and its report has the sweep figures', () => {
    const dir = tempDir();
    const file = join(dir, 'lr.yaml');
    writeFileSync(file, SWEEP);
    const out = join(dir, 'out');
    const r = cli(['sweep', file, '--out', out, '--parallel', '2'], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const runs = readdirSync(out)
      .filter((d) => existsSync(join(out, d, 'summary.json')))
      .sort();
    assert.equal(runs.length, 4, runs.join(','));
    const statuses = runs.map((d) => JSON.parse(readFileSync(join(out, d, 'summary.json'), 'utf8')).status);
    assert.ok(statuses.filter((s) => s === 'completed').length >= 3, statuses.join(','));
    assert.ok(statuses.includes('diverged'), `lr 40 diverges: ${statuses.join(',')}`);
    const html = readFileSync(join(out, 'report', 'index.html'), 'utf8');
    assert.match(html, /<svg/);
    const figs = readdirSync(join(out, 'report'));
    for (const stem of ['final-sharpness-vs-lr', 'test-acc-vs-lr', 'max-stable-lr']) {
      assert.ok(
        figs.some((f) => f.startsWith(stem) && f.endsWith('.svg')),
        `${stem} in ${figs.join(',')}`,
      );
    }
    const status = cli(['sweep', file, '--out', out, '--status']);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /completed/);
    const again = cli(['sweep', file, '--out', out]);
    assert.equal(again.status, 0, again.stderr);
    const mtimes = runs.map((d) => readFileSync(join(out, d, 'metrics.jsonl'), 'utf8'));
    assert.deepEqual(
      runs.map((d) => readFileSync(join(out, d, 'metrics.jsonl'), 'utf8')),
      mtimes,
      'finished runs untouched',
    );
  });

  it('two workers with shards 0/2 and 1/2 over one directory complete every run exactly once', async () => {
    const dir = tempDir();
    const file = join(dir, 'lr.yaml');
    writeFileSync(file, SWEEP);
    const out = join(dir, 'out');
    const workers = [0, 1].map((i) =>
      cliSpawn(['sweep', file, '--out', out, '--shard', `${i}/2`, '--parallel', '1', '--no-report']),
    );
    const codes = await Promise.all(
      workers.map((w) => new Promise<number | null>((res) => w.on('exit', (c) => res(c)))),
    );
    assert.deepEqual(codes, [0, 0]);
    for (const d of readdirSync(out).filter((x) => existsSync(join(out, x, 'metrics.jsonl')))) {
      const steps = readFileSync(join(out, d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).step as number);
      assert.deepEqual(
        steps,
        [...steps].sort((a, b) => a - b),
        `${d}: rows in order`,
      );
      assert.equal(new Set(steps).size, steps.length, `${d}: no step twice`);
    }
    const st = cli(['sweep', file, '--out', out, '--status']);
    assert.match(st.stdout, /4/);
  });
});
