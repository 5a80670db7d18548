/**
 * A run directory for the dashboard tests, written the way the run store writes one: a sweep
 * (GD, lr × warmup) whose largest lr diverges without warmup, a standalone GD run still running
 * (with spectral density and loss slices), an Adam run (preconditioned sharpness vs 38/η), a run
 * with damaged files, and traps: symlinks leading outside DIR to a secret file.
 *
 * The curves are synthetic but shaped like edge of stability: sharpness grows (progressive
 * sharpening) until it reaches the threshold, then hovers there while the loss keeps falling with
 * small spikes.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { serializeRow, type MetricRow } from '../../src/experiments/metrics.ts';
import { stabilityThreshold } from '../../src/train/preconditioner.ts';
import { createRng, type Rng } from '../../src/util/random.ts';

export interface Fixture {
  /** Parent of DIR (holds the secret). */
  root: string;
  /** The served directory. */
  dir: string;
  secretPath: string;
  secret: string;
  /** Id and path of the run that is still running. */
  liveId: string;
  livePath: string;
  adamId: string;
  brokenId: string;
  sweepId: string;
  sweepRunIds: string[];
}

export interface CurveOptions {
  optimizer: 'gd' | 'adam';
  lr: number;
  steps: number;
  warmup?: number;
  /** Stop with a divergence at this step. */
  divergeAt?: number;
  curvatureEvery?: number;
  testEvery?: number;
  seed?: number;
}

/** Metric rows 0..steps of a synthetic edge-of-stability run. */
export function syntheticRows(o: CurveOptions): MetricRow[] {
  const rng: Rng = createRng(o.seed ?? 1);
  const every = o.curvatureEvery ?? 10;
  const testEvery = o.testEvery ?? 50;
  const cfg = { name: o.optimizer, beta1: 0.9 };
  const coef = stabilityThreshold(cfg, 1).value;
  const rows: MetricRow[] = [];
  let loss = 2.3;
  let prevVecAngle = 0;
  for (let t = 0; t <= o.steps; t++) {
    const noise = rng.normal();
    const lr = o.warmup !== undefined && o.warmup > 0 ? o.lr * Math.min(1, (t + 1) / o.warmup) : o.lr;
    const thr = coef / lr;
    // Progressive sharpening towards the threshold, then hovering just around it.
    const rise = o.optimizer === 'adam' ? thr * (0.05 + t / 150) : 3 + 0.35 * t;
    const hover = thr * (1 + 0.04 * Math.sin(t / 4) + 0.01 * noise);
    const sharp = Math.min(rise, hover);
    const atEdge = rise >= hover;
    loss *= 1 - 0.012 - 0.002 * Math.abs(noise);
    const diverging = o.divergeAt !== undefined && t >= o.divergeAt - 5;
    // At the edge, the loss falls non-monotonically: short spikes while λ1 overshoots 2/η.
    const spike = atEdge ? 0.35 * Math.max(0, Math.sin(t / 2.5)) ** 8 : 0;
    const trainLoss = diverging ? loss * 10 ** (t - (o.divergeAt as number) + 6) : loss * (1 + spike);
    const row: Record<string, unknown> = {
      step: t,
      lr,
      train_loss: o.divergeAt !== undefined && t === o.divergeAt ? null : trainLoss,
      train_acc: Math.min(1, 0.1 + 0.9 * (1 - Math.exp(-t / 80))),
      grad_norm: 0.5 + (atEdge ? 1.5 * Math.abs(Math.sin(t / 3)) : 0.2 * Math.exp(-t / 50)),
      param_norm: 10 + 0.01 * t,
      elapsed_s: 0.05 * t,
    };
    if (t % testEvery === 0) {
      row.test_loss = trainLoss * 1.15;
      row.test_acc = Math.min(1, 0.1 + 0.8 * (1 - Math.exp(-t / 90)));
    }
    if (every > 0 && t % every === 0) {
      const eigs = [sharp, sharp * 0.62, sharp * 0.41];
      const angle = prevVecAngle + (atEdge ? 0.35 : 0.05) * (1 + 0.5 * noise);
      row.eigvec_cos = t === 0 ? null : Math.abs(Math.cos(angle - prevVecAngle));
      prevVecAngle = angle;
      row.lambda_min = -0.05 * sharp;
      row.trace = sharp * 6.5;
      if (o.optimizer === 'adam') {
        row.precond_sharpness = sharp;
        row.sharpness = sharp * lr * 40;
        row.eigs = eigs.map((e) => e * lr * 40);
        row.threshold = thr;
        row.threshold_quantity = 'preconditioned_sharpness';
      } else {
        row.sharpness = sharp;
        row.eigs = eigs;
        row.threshold = thr;
        row.threshold_quantity = 'sharpness';
      }
    }
    rows.push(row as MetricRow);
  }
  return rows;
}

/** metrics.jsonl text of these rows. */
export function jsonl(rows: readonly MetricRow[]): string {
  return rows.map((r) => `${serializeRow(r)}\n`).join('');
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Writes a complete run directory; returns its rows. */
export function writeRun(
  dir: string,
  o: CurveOptions,
  status: 'running' | 'completed' | 'diverged' | 'failed',
  extra: { rowsUpTo?: number } = {},
): MetricRow[] {
  mkdirSync(dir, { recursive: true });
  const config = resolveConfig({
    data: { name: 'synthetic-gmm', train_size: 512, test_size: 512 },
    model: { arch: 'mlp', widths: [32, 32] },
    optimizer: { name: o.optimizer, lr: o.lr },
    schedule: { warmup_steps: o.warmup ?? 0 },
    train: { steps: o.steps, seed: o.seed ?? 1 },
    curvature: { every: o.curvatureEvery ?? 10, top_k: 3 },
  });
  writeJson(join(dir, 'config.json'), {
    ...config,
    seed: o.seed ?? 1,
    versions: { edgewise: '0.1.0', node: process.version, onnxruntime_node: null },
    created_at: '2025-01-01T00:00:00.000Z',
  });
  let rows = syntheticRows(o);
  if (o.divergeAt !== undefined) rows = rows.filter((r) => r.step <= (o.divergeAt as number));
  if (extra.rowsUpTo !== undefined) rows = rows.filter((r) => r.step <= (extra.rowsUpTo as number));
  writeFileSync(join(dir, 'metrics.jsonl'), jsonl(rows));
  const last = rows[rows.length - 1];
  const lastWith = (k: string): number | null => {
    for (let i = rows.length - 1; i >= 0; i--) if (typeof rows[i][k] === 'number') return rows[i][k] as number;
    return null;
  };
  writeJson(join(dir, 'summary.json'), {
    status,
    reason: status === 'diverged' ? `train_loss not finite at step ${last.step}` : null,
    steps: last.step,
    final: {
      train_loss: status === 'diverged' ? null : lastWith('train_loss'),
      train_acc: lastWith('train_acc'),
      test_loss: lastWith('test_loss'),
      test_acc: lastWith('test_acc'),
      sharpness: lastWith('sharpness'),
    },
    started_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:01:00.000Z',
    finished_at: status === 'running' ? null : '2025-01-01T00:01:00.000Z',
    elapsed_s: 60,
  });
  return rows;
}

/** Writes the whole fixture under `root` (which must exist and be empty). */
export function writeFixture(root: string): Fixture {
  const dir = join(root, 'runs');
  mkdirSync(dir, { recursive: true });
  const secret = `EDGEWISE-SECRET-${'x7Qp9'.repeat(3)}`;
  const secretPath = join(root, 'secret.txt');
  writeFileSync(secretPath, `${secret}\n`);

  // A sweep: lr × warmup, GD; lr 0.1 without warmup diverges.
  const sweepId = 'lr-sweep';
  const lrs = [0.02, 0.05, 0.1];
  const warmups = [0, 50];
  const sweepRuns: Array<{ index: number; name: string; params: Record<string, unknown> }> = [];
  const sweepRunIds: string[] = [];
  let index = 0;
  for (const w of warmups) {
    for (const lr of lrs) {
      const name = `warmup_steps-${w}_lr-${lr}`;
      sweepRuns.push({ index: index++, name, params: { 'schedule.warmup_steps': w, 'optimizer.lr': lr } });
      sweepRunIds.push(`${sweepId}/${name}`);
      const diverges = lr === 0.1 && w === 0;
      writeRun(
        join(dir, sweepId, name),
        { optimizer: 'gd', lr, steps: 300, warmup: w, divergeAt: diverges ? 120 : undefined, seed: index },
        diverges ? 'diverged' : 'completed',
      );
    }
  }
  writeJson(join(dir, sweepId, 'sweep.json'), {
    name: 'lr × warmup',
    grid: { 'schedule.warmup_steps': warmups, 'optimizer.lr': lrs },
    runs: sweepRuns,
  });

  // A GD run in progress, with a spectral density and loss slices.
  const liveId = 'live-gd';
  const livePath = join(dir, liveId);
  writeRun(livePath, { optimizer: 'gd', lr: 0.05, steps: 400, seed: 7 }, 'running', { rowsUpTo: 260 });
  mkdirSync(join(livePath, 'curvature'));
  for (const step of [100, 200]) {
    const x = Array.from({ length: 120 }, (_, i) => -2 + (i * 44) / 119);
    const density = x.map(
      (v) =>
        Math.exp(-(v * v) / 0.3) * 3 + 0.15 * Math.exp(-((v - 38) ** 2) / 2) + 0.05 * Math.exp(-((v - 24) ** 2) / 3),
    );
    writeJson(join(livePath, 'curvature', `density-step-${String(step).padStart(6, '0')}.json`), { step, x, density });
    const t = Array.from({ length: 41 }, (_, i) => -1 + i / 20);
    writeJson(join(livePath, 'curvature', `slices-step-${String(step).padStart(6, '0')}.json`), {
      step,
      t,
      directions: [
        { name: 'v1', eigenvalue: 39.5, loss: t.map((s) => 0.4 + 0.5 * 39.5 * s * s * 0.05) },
        { name: 'v2', eigenvalue: 24.1, loss: t.map((s) => 0.4 + 0.5 * 24.1 * s * s * 0.05) },
        { name: 'random', eigenvalue: null, loss: t.map((s) => 0.4 + 0.5 * 2 * s * s * 0.05) },
      ],
    });
  }

  // Adam: the preconditioned sharpness hovers at 38/η.
  const adamId = 'adam-run';
  writeRun(join(dir, adamId), { optimizer: 'adam', lr: 0.002, steps: 300, seed: 3 }, 'completed');

  // Damaged files: a corrupt line in the middle, a half-written last line, half-written summary.
  const brokenId = 'broken';
  const brokenRows = writeRun(join(dir, brokenId), { optimizer: 'gd', lr: 0.02, steps: 40, seed: 4 }, 'running');
  const lines = jsonl(brokenRows).split('\n');
  lines.splice(10, 0, '{"step": 9.5, "train_loss": oops');
  writeFileSync(join(dir, brokenId, 'metrics.jsonl'), `${lines.join('\n')}{"step": 41, "train_lo`);
  writeFileSync(join(dir, brokenId, 'summary.json'), '{"status": "running", "steps": 4');

  // Traps: symlinks leading out of DIR.
  const outside = join(root, 'outside-run');
  mkdirSync(outside);
  writeFileSync(join(outside, 'config.json'), `{"secret": "${secret}"}\n`);
  writeFileSync(join(outside, 'metrics.jsonl'), `{"step": 0, "secret": "${secret}"}\n`);
  symlinkSync(outside, join(dir, 'escape'));
  mkdirSync(join(dir, 'linked'));
  symlinkSync(secretPath, join(dir, 'linked', 'config.json'));
  symlinkSync(join(outside, 'metrics.jsonl'), join(dir, 'linked', 'metrics.jsonl'));
  symlinkSync(root, join(dir, 'up'));

  return { root, dir, secretPath, secret, liveId, livePath, adamId, brokenId, sweepId, sweepRunIds };
}
