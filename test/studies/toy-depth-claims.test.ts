/**
 * The toy-depth evaluator on synthetic trajectories: each claim holds on the textbook picture and
 * does not when its defining property is broken (a depth-1 run that rotates or settles above
 * 2/λ0; a deep run below 2/λ0 that rotates as much as above; a deep run above 2/λ0 that does not
 * rotate, rotates only in stable steps, diverges or ends sharp), and is inconclusive in between.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import { loadStudyFile } from '../../src/studies/run.ts';
import { evaluateToy } from '../../src/studies/toy-depth.ts';
import { finishedSummary } from './summaries.ts';

const t = loadStudyFile('toy-depth').tolerances;
const L0 = 10;

interface Traj {
  rho: (s: number) => number;
  sharp: (s: number) => number;
  loss: (s: number) => number;
  status?: 'completed' | 'diverged';
  steps?: number;
}

function run(depth: number, mult: number, o: Traj): StudyRun {
  const lr = (2 * mult) / L0;
  const n = o.steps ?? 60;
  const rows: MetricRow[] = Array.from({ length: n + 1 }, (_, s) => ({
    step: s,
    lr,
    train_loss: o.loss(s),
    sharpness: o.sharp(s),
    threshold: 2 / lr,
    ...(s > 0 ? { eigvec_cos: o.rho(s) } : {}),
  }));
  return {
    name: `d${depth}-m${mult}`,
    params: { depth, lr_multiple: mult, lambda0: L0 },
    dir: '',
    rows,
    config: resolveConfig({ optimizer: { name: 'gd', lr } }),
    summary: finishedSummary({
      status: o.status ?? 'completed',
      reason: null,
      steps: n,
      final: { train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: null },
    }),
  };
}

const converge = (s: number) => Math.exp(-s);
// Depth 2 above 2/λ0 (threshold 2/η = L0/m): unstable for the first 10 updates, rotating then, settling at 0.6·2/η.
const deepAbove = (m: number): Traj => ({
  rho: (s) => (s <= 10 ? 0.9 : 1),
  sharp: (s) => (s < 10 ? L0 : (0.6 * L0) / m),
  loss: converge,
});
const textbook = () => [
  run(1, 0.5, { rho: () => 1, sharp: () => L0, loss: converge }),
  run(1, 2, { rho: () => 1, sharp: () => L0, loss: (s) => Math.exp(s), status: 'diverged', steps: 20 }),
  run(2, 0.5, { rho: () => 1, sharp: () => L0, loss: converge }),
  run(2, 2, deepAbove(2)),
];
const verdicts = (runs: StudyRun[]) => evaluateToy(runs, { tolerances: t }).map((c) => c.verdict);

test('toy-depth: the textbook picture holds', () => {
  const c = evaluateToy(textbook(), { tolerances: t });
  assert.equal(c.length, 5);
  for (const x of c) assert.equal(x.verdict, 'held', `${x.claim}: ${x.evidence}`);
});

test('toy-depth: each claim fails when its property is broken', () => {
  const [d1lo, d1hi, d2lo] = textbook();
  // Depth 1 that rotates: claim 1 did not hold.
  assert.equal(
    verdicts([
      run(1, 0.5, { rho: () => 0.5, sharp: () => L0, loss: converge }),
      d1hi!,
      d2lo!,
      run(2, 2, deepAbove(2)),
    ])[0],
    'did not hold',
  );
  // Depth 1 above 2/λ0 that does not diverge: claim 2 did not hold.
  assert.equal(
    verdicts([d1lo!, run(1, 2, { rho: () => 1, sharp: () => L0, loss: converge }), d2lo!, run(2, 2, deepAbove(2))])[1],
    'did not hold',
  );
  // Depth 2 below 2/λ0 that rotates more than above (60° per step vs 10 steps of 25.8°): claim 3 did not hold.
  const below = (rho: number) =>
    verdicts([
      d1lo!,
      d1hi!,
      run(2, 0.5, { rho: () => rho, sharp: () => L0, loss: converge }),
      run(2, 2, deepAbove(2)),
    ])[2];
  assert.equal(below(0.5), 'did not hold');
  // 60 steps of 3.33° = 200° below against 258° above: less, but not 1.5× less: inconclusive.
  assert.equal(below(Math.cos((200 / 60) * (Math.PI / 180))), 'inconclusive');
  // …and a run below 2/λ0 that has not converged: did not hold.
  assert.equal(
    verdicts([
      d1lo!,
      d1hi!,
      run(2, 0.5, { rho: () => 1, sharp: () => L0, loss: () => 0.1 }),
      run(2, 2, deepAbove(2)),
    ])[2],
    'did not hold',
  );
  // Depth 2 above 2/λ0 without rotation: claim 4 did not hold.
  assert.equal(verdicts([d1lo!, d1hi!, d2lo!, run(2, 2, { ...deepAbove(2), rho: () => 1 })])[3], 'did not hold');
  // …rotating only after it became stable (λ1 < 2/η before the update): did not hold either.
  assert.equal(
    verdicts([d1lo!, d1hi!, d2lo!, run(2, 2, { ...deepAbove(2), rho: (s) => (s > 20 && s <= 40 ? 0.9 : 1) })])[3],
    'did not hold',
  );
  // Depth 2 above 2/λ0 that ends at λ1 ≥ 2/η: claim 5 did not hold; one that diverges: neither.
  assert.equal(verdicts([d1lo!, d1hi!, d2lo!, run(2, 2, { ...deepAbove(2), sharp: () => L0 })])[4], 'did not hold');
  assert.equal(
    verdicts([d1lo!, d1hi!, d2lo!, run(2, 2, { ...deepAbove(2), status: 'diverged', loss: (s) => Math.exp(s) })])[4],
    'did not hold',
  );
  // Stable (λ1 < 2/η) but the loss still falling at the end: inconclusive.
  assert.equal(verdicts([d1lo!, d1hi!, d2lo!, run(2, 2, { ...deepAbove(2), loss: () => 1e-3 })])[4], 'inconclusive');
});
