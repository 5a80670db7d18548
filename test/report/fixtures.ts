/**
 * Synthetic run and sweep directories for the report tests. The metrics follow closed forms
 * (no training): a GD run whose sharpness rises linearly until the stability threshold c/η and
 * then oscillates around it, with the loss falling non-monotonically; options for warmup, an
 * Adam run (preconditioned sharpness at 38/η), divergence and curvature snapshots.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';

export function tempDir(prefix = 'edgewise-report-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface FixtureOptions {
  optimizer?: 'gd' | 'adam' | 'momentum';
  lr?: number;
  steps?: number;
  /** Linear warmup over this many steps (lr·min(1, (t+1)/w)). */
  warmup?: number;
  /** Diverge at this step: the loss blows up, the last row has null loss, summary says diverged. */
  divergeAt?: number | null;
  curvatureEvery?: number;
  logEvery?: number;
  testEvery?: number;
  density?: boolean;
  slices?: boolean;
  /** Leave summary.json out (a run that never wrote one). */
  noSummary?: boolean;
  /** Status to record when not diverged (default completed). */
  status?: 'completed' | 'running';
}

/** The threshold coefficient c (threshold = c/η) of each fixture optimizer, from its closed form. */
export function coefficientOf(opt: FixtureOptions['optimizer'], beta1 = 0.9, mu = 0.9): number {
  if (opt === 'adam') return (2 + 2 * beta1) / (1 - beta1);
  if (opt === 'momentum') return 2 + 2 * mu;
  return 2;
}

export interface FixtureRun {
  dir: string;
  rows: Record<string, unknown>[];
  lrAt: (step: number) => number;
}

/** Writes a synthetic run directory at `dir` and returns its rows. */
export function writeRun(dir: string, o: FixtureOptions = {}): FixtureRun {
  const opt = o.optimizer ?? 'gd';
  const lr = o.lr ?? 0.02;
  const steps = o.steps ?? 600;
  const warm = o.warmup ?? 0;
  const curvEvery = o.curvatureEvery ?? 10;
  const logEvery = o.logEvery ?? 2;
  const testEvery = o.testEvery ?? 50;
  const c = coefficientOf(opt);
  const lrAt = (t: number) => (warm > 0 ? lr * Math.min(1, (t + 1) / warm) : lr);
  mkdirSync(dir, { recursive: true });
  const config = resolveConfig({
    optimizer: { name: opt, lr },
    schedule: { warmup_steps: warm },
    train: { steps },
    curvature: { every: curvEvery, top_k: 3, density_every: o.density ? 200 : 0 },
  });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      {
        ...config,
        seed: 0,
        versions: { edgewise: '0.1.0', node: process.version, onnxruntime_node: null },
        created_at: '2025-01-01T00:00:00.000Z',
      },
      null,
      2,
    ),
  );

  const rows: Record<string, unknown>[] = [];
  const end = o.divergeAt ?? steps;
  for (let t = 0; t <= end; t += logEvery) {
    const eta = lrAt(t);
    const threshold = c / eta;
    const settle = c / lr;
    // Progressive sharpening to the threshold, then oscillation around it.
    const rise = 0.2 * settle + (0.8 * settle * t) / (steps / 2);
    const atEdge = rise >= settle;
    let curv = atEdge ? settle * (1 + 0.04 * Math.sin(t / 7)) : rise;
    let loss = 2 * Math.exp(-t / 200) + 0.05 + (atEdge ? 0.04 * Math.max(0, Math.sin(t / 5)) : 0);
    const diverging = o.divergeAt != null && t > o.divergeAt - 40;
    if (diverging) {
      const k = (t - (o.divergeAt! - 40)) / 4;
      loss *= Math.exp(k);
      curv *= 1 + k;
    }
    const last = o.divergeAt != null && t === end;
    const row: Record<string, unknown> = {
      step: t,
      lr: eta,
      train_loss: last ? null : loss,
      train_acc: Math.min(0.99, 0.1 + 0.9 * (1 - Math.exp(-t / 150))),
      grad_norm: last ? null : 3 * Math.exp(-t / 300) + (atEdge ? 0.5 + 0.4 * Math.sin(t / 5) : 0.1),
      param_norm: 10 + t / 100,
      elapsed_s: t * 0.01,
    };
    if (t % testEvery === 0 && !last) {
      row.test_loss = loss * 1.1 + 0.02;
      // Larger learning rates end at better test accuracy (the flatness bias of instabilities).
      row.test_acc = Math.min(0.95, 0.1 + (0.8 + lr) * (1 - Math.exp(-t / 150)));
    }
    if (t % curvEvery === 0 && !last) {
      const sharp = opt === 'adam' ? 40 + t / 20 : curv;
      row.sharpness = sharp;
      row.eigs = [sharp, 0.6 * sharp, 0.3 * sharp];
      row.residuals = [1e-6, 1e-5, 1e-4];
      if (opt === 'adam') row.precond_sharpness = curv;
      row.threshold = threshold;
      row.threshold_quantity = opt === 'adam' ? 'preconditioned_sharpness' : 'sharpness';
      if (t > 0) {
        const cos = atEdge ? 0.6 + 0.3 * Math.cos(t / 9) ** 2 : 0.995;
        row.eigvec_cos = cos;
        row.subspace_overlap = Math.min(1, cos + 0.05);
      }
    } else if (!last) {
      row.threshold = threshold;
      row.threshold_quantity = opt === 'adam' ? 'preconditioned_sharpness' : 'sharpness';
    }
    rows.push(row);
  }
  writeFileSync(join(dir, 'metrics.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

  if (o.density || o.slices) mkdirSync(join(dir, 'curvature'), { recursive: true });
  if (o.density) {
    for (const s of [0, 200, 400]) {
      const top = rows.find((r) => r.step === s)?.sharpness as number;
      const x = Array.from({ length: 120 }, (_, i) => -5 + ((top + 10) * i) / 119);
      // Bulk near 0 plus a small outlier bump at the top eigenvalue.
      const density = x.map(
        (v) => Math.exp(-(v * v) / 2) / Math.sqrt(2 * Math.PI) + 1e-3 * Math.exp(-((v - top) ** 2) / 2),
      );
      writeFileSync(
        join(dir, 'curvature', `density-step-${String(s).padStart(6, '0')}.json`),
        JSON.stringify({ step: s, x, density }),
      );
    }
  }
  if (o.slices) {
    const s = 400;
    const t = Array.from({ length: 41 }, (_, i) => -0.2 + (0.4 * i) / 40);
    const lam1 = rows.find((r) => r.step === s)?.sharpness as number;
    const lam2 = 0.6 * lam1;
    const base = 0.1;
    const cubic = (lam: number, x: number) => base + 0.5 * lam * x * x + 2 * x * x * x;
    const a = Array.from({ length: 21 }, (_, i) => -0.2 + (0.4 * i) / 20);
    const b = Array.from({ length: 15 }, (_, i) => -0.2 + (0.4 * i) / 14);
    writeFileSync(
      join(dir, 'curvature', `slices-step-${String(s).padStart(6, '0')}.json`),
      JSON.stringify({
        step: s,
        t,
        directions: [
          { name: 'v1', eigenvalue: lam1, loss: t.map((x) => cubic(lam1, x)) },
          { name: 'v2', eigenvalue: lam2, loss: t.map((x) => cubic(lam2, x)) },
        ],
        plane: { a, b, loss: a.map((x) => b.map((y) => base + 0.5 * lam1 * x * x + 0.5 * lam2 * y * y)) },
      }),
    );
  }
  if (!o.noSummary) {
    const diverged = o.divergeAt != null;
    const lastRow = (k: string) => [...rows].reverse().find((r) => typeof r[k] === 'number')?.[k] ?? null;
    writeFileSync(
      join(dir, 'summary.json'),
      JSON.stringify({
        status: diverged ? 'diverged' : (o.status ?? 'completed'),
        reason: diverged ? `non-finite train loss at step ${end}` : null,
        steps: end,
        final: {
          train_loss: diverged ? null : lastRow('train_loss'),
          train_acc: lastRow('train_acc'),
          test_loss: diverged ? null : lastRow('test_loss'),
          test_acc: diverged ? null : lastRow('test_acc'),
          sharpness: lastRow('sharpness'),
        },
        started_at: '2025-01-01T00:00:00.000Z',
        updated_at: '2025-01-01T00:01:00.000Z',
        finished_at: '2025-01-01T00:01:00.000Z',
        elapsed_s: 60,
      }),
    );
  }
  return { dir, rows, lrAt };
}

/** The sweep's learning rates; the largest diverges. */
export const SWEEP_LRS = [0.01, 0.02, 0.04, 0.08];

/** A 4-run sweep over optimizer.lr (the 0.08 run diverges), with sweep.json unless `withSweepJson` is false. */
export function writeSweep(dir: string, withSweepJson = true): string[] {
  const names = SWEEP_LRS.map((lr) => `lr-${lr}`);
  SWEEP_LRS.forEach((lr, i) =>
    writeRun(join(dir, names[i]), { lr, steps: 300, divergeAt: lr === 0.08 ? 150 : null, logEvery: 5 }),
  );
  if (withSweepJson) {
    writeFileSync(
      join(dir, 'sweep.json'),
      JSON.stringify({
        name: 'lr-sweep',
        grid: { 'optimizer.lr': SWEEP_LRS },
        runs: SWEEP_LRS.map((lr, i) => ({ index: i, name: names[i], params: { 'optimizer.lr': lr } })),
      }),
    );
  }
  return names;
}
