/**
 * `edgewise demo`: the edge of stability on the embedded MNIST digits, in a few minutes.
 * Measures the sharpness λ0 at initialization, then trains the fc-tanh MLP with full-batch GD
 * at η = 1/λ0 (2/η = 2λ0: below the threshold, classical stable training) and at η = 3/λ0
 * (2/η = 0.67λ0: beyond it — the sharpness is pushed down to 2/η and hovers there, the loss
 * falls non-monotonically), tracking the top Hessian eigenvalues, then writes a report.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { trainRun } from '../experiments/runner.ts';
import { RunStore, writeSweepManifest } from '../experiments/runStore.ts';
import { createProgress } from './progress.ts';
import { summaryLine } from './train.ts';
import { UsageError } from './util.ts';
import { formatLr } from '../util/format.ts';

/** The demo's base config: fc-tanh [200, 200], MSE, 1000 standardized MNIST digits, GD; curvature of H and G. */
export function demoConfig(steps: number, lr: number): Config {
  return resolveConfig({
    data: { name: 'mnist', train_size: 1000, test_size: 'all', preprocess: 'standardize' },
    model: { arch: 'mlp', widths: [200, 200], activation: 'tanh' },
    loss: 'mse',
    optimizer: { name: 'gd', lr },
    train: { steps, seed: 0 },
    // Both matrices: λ1 of the Hessian and of its Gauss–Newton part, side by side against 2/η.
    curvature: { every: 10, top_k: 2, lanczos_iters: 20, matrix: 'both' },
    log: { every: 1, test_every: 50 },
  });
}

export async function commandDemo(o: { out: string; steps: string }): Promise<void> {
  const steps = Number(o.steps);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new UsageError(`--steps must be an integer ≥ 1 (got ${o.steps})`);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  // λ0: one curvature measurement at the initialization (0 steps).
  const probe = join(tmpdir(), `edgewise-demo-${process.pid}`);
  rmSync(probe, { recursive: true, force: true });
  process.stderr.write('measuring the sharpness at initialization…\n');
  const s0 = await trainRun(demoConfig(0, 0.01), { dir: probe });
  rmSync(probe, { recursive: true, force: true });
  const lambda0 = s0.final.sharpness;
  if (typeof lambda0 !== 'number' || !(lambda0 > 0)) throw new Error('could not measure the initial sharpness');
  process.stderr.write(
    `λ0 = ${lambda0.toPrecision(4)}: the classical threshold is η = 2/λ0 = ${formatLr(2 / lambda0)}\n`,
  );
  const runs = [
    { name: 'below-threshold', lr: 1 / lambda0 },
    { name: 'beyond-threshold', lr: 3 / lambda0 },
  ];
  writeSweepManifest(out, {
    name: 'demo',
    description: `GD at η = 1/λ0 and 3/λ0 (λ0 = ${lambda0.toPrecision(4)})`,
    grid: { 'optimizer.lr': runs.map((r) => r.lr) },
    runs: runs.map((r, i) => ({ index: i, name: r.name, params: { 'optimizer.lr': r.lr } })),
  });
  for (const r of runs) {
    const dir = join(out, r.name);
    if (new RunStore(dir).status() === 'completed') {
      process.stderr.write(`${r.name}: already done\n`);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`\n${r.name}: GD with η = ${formatLr(r.lr)} (2/η = ${(2 / r.lr).toPrecision(3)})\n`);
    const progress = createProgress(process.stderr, r.name);
    const summary = await trainRun(demoConfig(steps, r.lr), {
      dir,
      events: {
        onStart: (i) => progress.start(i.steps, i.startStep),
        onRow: (row) => progress.row(row),
        onMessage: (m) => progress.message(m),
      },
    });
    progress.stop();
    process.stdout.write(`${summaryLine(dir, summary)}\n`);
  }
  const { writeReport } = await import('../report/report.ts');
  const rep = await writeReport(out);
  process.stdout.write(`\nreport: ${rep.html}\n`);
}
