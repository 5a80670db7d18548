import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import { evaluateAdamClipped, sameCurve } from '../../src/studies/adam-clipped.ts';
import { evaluateSgdBatch } from '../../src/studies/sgd-batch.ts';
import { evaluateRotation } from '../../src/studies/rotation.ts';
import { evaluateEosAdam } from '../../src/studies/eos-adam.ts';

function run(name: string, config: Record<string, unknown>, rows: MetricRow[], o: { status?: 'completed' | 'diverged'; testAcc?: number; params?: Record<string, unknown> } = {}): StudyRun {
  const c = resolveConfig(config);
  return {
    name, params: o.params ?? {}, dir: `/nonexistent/${name}`, config: c, rows,
    summary: { status: o.status ?? 'completed', reason: null, steps: rows.at(-1)?.step ?? 0, final: { train_loss: null, train_acc: null, test_loss: null, test_acc: o.testAcc ?? null, sharpness: null }, started_at: '', updated_at: '', finished_at: '', elapsed_s: 1 },
  };
}

const curve = (losses: number[], sharp: number[], pre: number[] = [], threshold = 38000): MetricRow[] =>
  losses.map((l, i) => ({ step: 10 * i, train_loss: l, sharpness: sharp[i], ...(pre.length ? { precond_sharpness: pre[i], threshold } : {}) }));

test('adam-clipped: caps that never bound are listed but not judged; the others decide the verdict', () => {
  const t = loadStudyFile('adam-clipped').tolerances;
  const base = curve([1, 0.5, 0.3, 0.2], [10, 10, 10, 10], [100, 200, 300, 400]);
  const runs = [
    run('adam-ub-inf', { optimizer: { name: 'adam-ub', lr: 1e-3, clip_denominator: 1e9 } }, base, { testAcc: 0.8 }),
    run('adam-ub-1', { optimizer: { name: 'adam-ub', lr: 1e-3, clip_denominator: 1 } }, base, { testAcc: 0.8 }),
    run('adam-ub-0.01', { optimizer: { name: 'adam-ub', lr: 1e-3, clip_denominator: 0.01 } }, curve([1, 0.6, 0.7, 0.2], [10, 9, 8, 7], [100, 500, 30000, 400]), { testAcc: 0.85 }),
  ];
  assert.ok(sameCurve(runs[1]!, runs[0]!));
  assert.ok(!sameCurve(runs[2]!, runs[0]!));
  const c = evaluateAdamClipped(runs, { tolerances: t });
  const adam = c.filter((x) => x.claim.startsWith('adam-ub'));
  assert.deepEqual(adam.map((x) => x.verdict), ['held', 'held', 'held']);
  assert.match(adam[0]!.evidence, /c = 1 \(same curve/);
  // rmsprop family absent: inconclusive.
  assert.deepEqual(c.filter((x) => x.claim.startsWith('rmsprop-ub')).map((x) => x.verdict), ['inconclusive', 'inconclusive', 'inconclusive']);
  // A binding cap that is sharper and worse: did not hold.
  const worse = [runs[0]!, run('adam-ub-0.1', { optimizer: { name: 'adam-ub', lr: 1e-3, clip_denominator: 0.1 } }, curve([1, 0.5, 0.31, 0.25], [10, 11, 12, 13], [100, 150, 200, 250]), { testAcc: 0.7 })];
  assert.deepEqual(evaluateAdamClipped(worse, { tolerances: t }).slice(0, 3).map((x) => x.verdict), ['did not hold', 'did not hold', 'did not hold']);
});

test('sgd-batch: the larger η must end flatter and rotate more at every batch size', () => {
  const t = loadStudyFile('sgd-batch').tolerances;
  const mk = (b: number | 'full', m: number, sharp: number, cos: number) =>
    run(`b${b}-m${m}`, { optimizer: { name: 'sgd', lr: 0.01 * m, batch_size: b }, data: { train_size: 1000 } }, [{ step: 0, sharpness: 30 }, { step: 10, sharpness: sharp, eigvec_cos: cos }], { params: { lr_multiple: m, lambda0: 30 } });
  const ok = [mk(16, 0.5, 20, 0.999), mk(16, 2, 15, 0.99), mk('full', 0.5, 20, 0.999), mk('full', 2, 10, 0.9)];
  assert.deepEqual(evaluateSgdBatch(ok, { tolerances: t }).map((c) => c.verdict), ['held', 'held']);
  const mixed = [mk(16, 0.5, 20, 0.999), mk(16, 2, 19.5, 0.99), mk('full', 0.5, 20, 0.999), mk('full', 2, 10, 0.9)];
  assert.deepEqual(evaluateSgdBatch(mixed, { tolerances: t }).map((c) => c.verdict), ['inconclusive', 'held']);
});

test('rotation: the claims are computed from the runs’ ρ, losses and sharpness', () => {
  const t = loadStudyFile('rotation').tolerances;
  const rows = (n: number, rho: (s: number) => number, loss: (s: number) => number, sharp: (s: number) => number, lr: number): MetricRow[] =>
    Array.from({ length: n }, (_, s) => ({ step: s, train_loss: loss(s), sharpness: sharp(s), threshold: 2 / lr, ...(s > 0 ? { eigvec_cos: rho(s) } : {}) }));
  const l0 = 20;
  const mk = (m: number, rho: (s: number) => number, loss: (s: number) => number) =>
    run(`m${m}`, { optimizer: { name: 'gd', lr: (m * 2) / l0 } }, rows(60, rho, loss, (s) => (s === 0 ? l0 : l0 / m), (m * 2) / l0), { params: { lr_multiple: m, lambda0: l0 } });
  const runs = [
    mk(0.5, () => 0.999, (s) => 1 / (1 + s)),
    mk(2, (s) => (s === 30 || s === 31 ? 0.3 : 0.99), (s) => (s === 30 ? 2 : 1 / (1 + s))),
    mk(4, (s) => (s >= 40 && s <= 42 ? 0.2 : 0.95), (s) => (s === 41 ? 2 : 1 / (1 + s))),
  ];
  const c = evaluateRotation(runs, { tolerances: t });
  assert.deepEqual(c.map((x) => x.verdict), ['held', 'held', 'held', 'held']);
  assert.equal(c[1]!.values!.episodes, 2);
  assert.equal(c[1]!.values!.coinciding, 2);
  // Drops with no spike anywhere near: the loss-spike claim did not hold.
  const quiet = [runs[0]!, mk(2, (s) => (s === 30 ? 0.3 : 0.99), (s) => 1 / (1 + s)), mk(4, (s) => (s === 10 ? 0.2 : 0.95), (s) => 1 / (1 + s))];
  assert.equal(evaluateRotation(quiet, { tolerances: t })[1]!.verdict, 'did not hold');
});

test('eos-adam: the preconditioned sharpness hovers at 38/η while the raw sharpness stays far below 2/η', () => {
  const t = loadStudyFile('eos-adam').tolerances;
  const lr = 1e-3;
  const rows: MetricRow[] = Array.from({ length: 41 }, (_, i) => {
    const s = 20 * i;
    return { step: s, lr, train_loss: 1 / (1 + s), sharpness: 60, threshold: 38 / lr, ...(s > 0 ? { precond_sharpness: s < 200 ? 38000 * (s / 220) : 38000 * (1 + 0.05 * Math.sin(s)) } : {}) };
  });
  const c = evaluateEosAdam([run('adam', { optimizer: { name: 'adam', lr } }, rows)], { tolerances: t });
  assert.deepEqual(c.map((x) => x.verdict), ['held', 'held']);
  assert.ok(Math.abs((c[1]!.values!.raw_ratio_to_2_over_lr as number) - 0.03) < 1e-12);
});
