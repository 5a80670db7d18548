// The max-stable-lr search against closed forms: on L = ½ Σ λ_i x_i² GD is stable iff η < 2/λmax,
// heavy ball iff η < (2+2μ)/λmax and (PyTorch) Nesterov iff η < (2+2μ)/((1+2μ)λmax); the search
// must bracket those boundaries within its bisection tolerance. Then the bracket's invariants,
// the seed rules, error reporting, the remedies' overrides and one real search over child runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyVariant,
  configTrial,
  earlyCurvature,
  findMaxStableLr,
  finalTestMetrics,
  MaxLrError,
  quadraticTrial,
  seedsNeeded,
  variantOverrides,
  type MaxLrResult,
  type Trial,
} from '../../src/experiments/maxLr.ts';
import { resolveConfig } from '../../src/experiments/config.ts';

/** Bracket ratio after `rounds` rounds of m-section from a grid step f (plus 6-digit rounding). */
const tolerance = (f: number, rounds: number, m = 1) => Math.pow(f, 1 / Math.pow(m + 1, rounds)) * (1 + 1e-5);

function checkInvariants(r: MaxLrResult): void {
  const [a, b] = r.bracket;
  assert.ok(a !== null && b !== null && a < b, `bracket ${r.bracket}`);
  const v = new Map(r.verdicts.map((x) => [x.lr, x]));
  assert.equal(v.get(a)?.stable, true, 'lower end tried and stable');
  assert.equal(v.get(b)?.stable, false, 'upper end tried and unstable');
  assert.equal(r.maxStableLr, a);
  // Every grid point above the bracket was tried and is unstable; nothing tried above a is stable.
  for (const g of r.grid) if (g > a) assert.equal(v.get(g)?.stable, false, `grid point ${g} above the bracket`);
  for (const x of r.verdicts) if (x.lr > a) assert.equal(x.stable, false, `stable lr ${x.lr} above the answer ${a}`);
  // No tried lr strictly inside the bracket.
  for (const x of r.verdicts) assert.ok(!(x.lr > a && x.lr < b), `tried lr ${x.lr} inside the final bracket`);
  for (const t of r.trials) assert.ok(r.seeds.includes(t.seed));
}

test('GD on a diagonal quadratic: the bracket contains 2/λmax to the bisection tolerance', async () => {
  const lambdas = [3, 1.2, 0.05];
  const r = await findMaxStableLr({
    trial: quadraticTrial({ lambdas, optimizer: 'gd', steps: 20000 }),
    lo: 1e-3,
    hi: 10,
    gridFactor: 2,
    bisectSteps: 12,
  });
  checkInvariants(r);
  const eta = 2 / 3;
  const [a, b] = r.bracket as [number, number];
  // a ≤ 2/λ exactly (at or above it GD never converges); the step budget can only cost a hair below.
  assert.ok(a < eta && b > eta * (1 - 5e-4), `[${a}, ${b}] vs 2/λ = ${eta}`);
  assert.ok(b / a <= tolerance(2, 12), `ratio ${b / a}`);
  assert.ok(Math.abs(a - eta) / eta < 5e-4);
});

test('heavy ball and Nesterov: the bracket contains (2+2μ)/λ and (2+2μ)/((1+2μ)λ)', async () => {
  const lambdas = [7, 2, 0.5];
  for (const mu of [0.5, 0.9]) {
    const hb = await findMaxStableLr({
      trial: quadraticTrial({ lambdas, optimizer: 'momentum', momentum: mu }),
      lo: 1e-3,
      hi: 4,
      gridFactor: Math.SQRT2,
      bisectSteps: 5,
      parallel: 3,
    });
    checkInvariants(hb);
    const etaHb = (2 + 2 * mu) / 7;
    const [a, b] = hb.bracket as [number, number];
    assert.ok(a < etaHb && b > etaHb * (1 - 5e-4), `heavy ball μ=${mu}: [${a}, ${b}] vs ${etaHb}`);
    assert.ok(b / a <= tolerance(Math.SQRT2, 5, 3), `ratio ${b / a}`);
    const nv = await findMaxStableLr({
      trial: quadraticTrial({ lambdas, optimizer: 'nesterov', momentum: mu }),
      lo: 1e-3,
      hi: 4,
      gridFactor: 2,
      bisectSteps: 12,
    });
    checkInvariants(nv);
    const etaN = (2 + 2 * mu) / ((1 + 2 * mu) * 7);
    const [an, bn] = nv.bracket as [number, number];
    assert.ok(an < etaN && bn > etaN * (1 - 5e-4), `nesterov μ=${mu}: [${an}, ${bn}] vs ${etaN}`);
  }
});

test('parallel m-section finds the same boundary, with fewer rounds', async () => {
  const trial = quadraticTrial({ lambdas: [10], optimizer: 'gd' });
  let inFlight = 0;
  let most = 0;
  const counted: Trial = async (lr, s) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, 1));
    try {
      return await trial(lr, s);
    } finally {
      inFlight--;
    }
  };
  const r = await findMaxStableLr({ trial: counted, lo: 1e-3, hi: 100, gridFactor: 2, bisectSteps: 4, parallel: 4 });
  checkInvariants(r);
  assert.ok(most <= 4 && most >= 2, `concurrency ${most}`);
  const [a, b] = r.bracket as [number, number];
  assert.ok(a < 0.2 && b > 0.2 * (1 - 5e-4));
  assert.ok(b / a <= tolerance(2, 4, 4), `ratio ${b / a} after 4 rounds of 5-section`);
});

test('range edges: nothing stable → null with a note; hi stable → the grid extends upwards', async () => {
  const trial = quadraticTrial({ lambdas: [1], optimizer: 'gd' }); // boundary at η = 2
  const none = await findMaxStableLr({ trial, lo: 4, hi: 64, bisectSteps: 2 });
  assert.equal(none.maxStableLr, null);
  assert.equal(none.bracketed, false);
  assert.match(none.note, /no stable learning rate/);
  assert.ok(none.verdicts.every((v) => !v.stable));
  const up = await findMaxStableLr({ trial, lo: 0.1, hi: 0.5, gridFactor: 2, bisectSteps: 6 });
  checkInvariants(up);
  assert.ok(up.grid[0]! > 0.5, 'grid extended above hi');
  assert.ok(up.bracket[0]! < 2 && up.bracket[1]! > 2 * (1 - 5e-4));
  const far = await findMaxStableLr({ trial, lo: 0.01, hi: 0.02, gridFactor: 2, expand: 2 });
  assert.equal(far.bracket[1], null);
  assert.match(far.note, /raise hi/);
});

test('seeds: "all" takes the most fragile seed, "majority" the median; decided lrs skip their other seeds', async () => {
  const boundary = [1.0, 1.2, 0.8];
  const calls: Array<[number, number]> = [];
  const trial: Trial = async (lr, seed) => {
    calls.push([lr, seed]);
    return { stable: lr < boundary[seed]!, reason: 'threshold' };
  };
  const all = await findMaxStableLr({ trial, seeds: 3, lo: 0.01, hi: 10, bisectSteps: 10 });
  checkInvariants(all);
  assert.ok(all.bracket[0]! < 0.8 && all.bracket[1]! >= 0.8, `all: ${all.bracket}`);
  // Under 'all', an lr is decided unstable by its first unstable seed: seed 0 at lr 10 is unstable.
  assert.deepEqual(
    calls.filter(([lr]) => lr === 10),
    [[10, 0]],
  );
  assert.equal(seedsNeeded('all', 3), 3);
  assert.equal(seedsNeeded('majority', 3), 2);
  assert.equal(seedsNeeded('majority', 4), 3);
  const maj = await findMaxStableLr({
    trial,
    seeds: [0, 1, 2],
    rule: 'majority',
    lo: 0.01,
    hi: 10,
    bisectSteps: 10,
    parallel: 3,
  });
  checkInvariants(maj);
  assert.ok(maj.bracket[0]! < 1.0 && maj.bracket[1]! >= 1.0, `majority: ${maj.bracket}`);
  for (const v of maj.verdicts) assert.ok(v.trials <= 3);
});

test('a trial that throws is reported: the search rejects naming lr and seed, after in-flight trials settle', async () => {
  let running = 0;
  let settledAfter = 0;
  const trial: Trial = async (lr, seed) => {
    running++;
    await new Promise((r) => setTimeout(r, lr < 1 ? 1 : 20));
    running--;
    if (lr < 1 && seed === 1) throw new Error('child run failed: out of memory');
    return { stable: lr < 0.3, reason: 'x' };
  };
  const err = await findMaxStableLr({ trial, seeds: 2, lo: 0.01, hi: 4, parallel: 3 }).then(
    () => null,
    (e: unknown) => {
      settledAfter = running;
      return e;
    },
  );
  assert.ok(err instanceof MaxLrError, `got ${String(err)}`);
  assert.match(err.message, /lr 0\.5, seed 1 failed: child run failed: out of memory/);
  assert.equal(err.lr, 0.5);
  assert.equal(err.seed, 1);
  assert.ok(err.trials.length >= 1, 'finished trials are kept');
  assert.equal(settledAfter, 0, 'no trial left running');
  const bad = await findMaxStableLr({ trial: async () => ({ reason: 'no verdict' }) as never, lo: 1, hi: 2 }).catch(
    (e: unknown) => e,
  );
  assert.ok(bad instanceof MaxLrError && /no boolean 'stable'/.test(bad.message));
  await assert.rejects(findMaxStableLr({ trial, lo: 0, hi: 1 }), /0 < lo <= hi/);
  await assert.rejects(findMaxStableLr({ trial, lo: 1, hi: 2, gridFactor: 1 }), /gridFactor/);
});

test('remedies: overrides by name, combined with +, and rejected where the model cannot take them', () => {
  assert.deepEqual(variantOverrides('none'), {});
  assert.deepEqual(variantOverrides('warmup'), { 'schedule.warmup_steps': 100 });
  assert.deepEqual(variantOverrides('warmup-1000+clip-0.5'), { 'schedule.warmup_steps': 1000, 'clip.max_norm': 0.5 });
  assert.deepEqual(variantOverrides('init-scale-0.5'), { 'model.init.scale': 0.5 });
  assert.deepEqual(variantOverrides('batchnorm'), { 'model.norm': 'batchnorm' });
  assert.deepEqual(variantOverrides('gradinit'), { 'model.init.scheme': 'gradinit' });
  assert.throws(() => variantOverrides('dropout'), /unknown variant 'dropout'/);
  const mlp = resolveConfig({ model: { arch: 'mlp' } });
  assert.equal(applyVariant(mlp, 'layernorm').model.norm, 'layernorm');
  assert.equal(applyVariant(mlp, 'clip').clip.max_norm, 1);
  assert.throws(() => applyVariant(mlp, 'fixup'), /fixup needs arch resnet/);
  const res = resolveConfig({ model: { arch: 'resnet' }, data: { flatten: false } });
  assert.throws(() => applyVariant(res, 'layernorm'), /layernorm is available for arch mlp only/);
  assert.equal(applyVariant(res, 'fixup').model.init.scheme, 'fixup');
  assert.throws(() => applyVariant(mlp, 'init-scale-0'), /model.init.scale/);
});

test("earlyCurvature: λ1·η and λ1 against each step's threshold (heavy ball (2+2μ)/η, Adam on λ1(P⁻¹H))", () => {
  const mom = resolveConfig({ optimizer: { name: 'momentum', momentum: 0.9, lr: 0.1 } });
  const rows = [
    { step: 0, lr: 0.01, sharpness: 100 },
    { step: 1, lr: 0.02 },
    { step: 2, lr: 0.03, sharpness: 50 },
    { step: 500, lr: 0.1, sharpness: 10 },
  ];
  const e = earlyCurvature(rows, mom, 100);
  assert.equal(e.length, 2);
  assert.ok(Math.abs(e[0]!.threshold - 3.8 / 0.01) < 1e-9);
  assert.ok(Math.abs(e[0]!.ratio - (100 * 0.01) / 3.8) < 1e-12);
  assert.ok(Math.abs(e[1]!.lambdaEta - 1.5) < 1e-12);
  const adam = resolveConfig({ optimizer: { name: 'adam', beta1: 0.9, lr: 1e-3 } });
  const ea = earlyCurvature([{ step: 3, lr: 1e-3, sharpness: 5, precond_sharpness: 19000 }], adam);
  assert.ok(Math.abs(ea[0]!.ratio - 19000 / 38000) < 1e-9, 'Adam compares λ1(P⁻¹H) with 38/η');
});

test('configTrial: a real search over child runs (tiny synthetic MLP, GD), runs reused on a rerun', async () => {
  const out = mkdtempSync(join(tmpdir(), 'edgewise-maxlr-'));
  try {
    const config = resolveConfig({
      data: { name: 'synthetic-gmm', train_size: 200, test_size: 100, input_dim: 10, num_classes: 3 },
      model: { arch: 'mlp', widths: [16] },
      loss: 'mse',
      optimizer: { name: 'gd', lr: 0.1 },
      train: { steps: 150, stop_train_loss: 0.1, divergence_loss: 10 },
      log: { every: 10, test_every: 0 },
    });
    const trial = configTrial(config, out, { threads: 1 });
    const r = await findMaxStableLr({ trial, lo: 0.05, hi: 64, gridFactor: 4, bisectSteps: 1, parallel: 2 });
    assert.ok(r.maxStableLr !== null && r.bracketed, r.note);
    checkInvariants(r);
    for (const t of r.trials) {
      assert.ok(existsSync(join(t.dir!, 'summary.json')));
      // Stable = did not diverge; the target is the separate `trained` outcome.
      assert.equal(t.stable, t.outcome !== 'diverged');
      if (t.outcome === 'trained')
        assert.ok((t.final as { train_loss: number }).train_loss <= 0.1 && t.reached_at === t.step);
      else if (t.outcome === 'diverged') assert.match(t.reason, /diverged/);
      else if (t.outcome === 'did-not-fit-in-budget') assert.match(t.reason, /did not reach/);
    }
    const best = r.trials.find((t) => t.lr === r.maxStableLr)!;
    const m = await finalTestMetrics(best.dir!);
    assert.ok(m.test_acc !== null && m.test_acc >= 0 && m.test_acc <= 1);
    // A rerun reuses the finished runs (same answer, much faster).
    const again = await findMaxStableLr({ trial, lo: 0.05, hi: 64, gridFactor: 4, bisectSteps: 1, parallel: 2 });
    assert.deepEqual(again.bracket, r.bracket);
    // Another config in the same directory is refused, not silently mixed in.
    const other = configTrial({ ...config, train: { ...config.train, steps: 151 } }, out, { threads: 1 });
    await assert.rejects(other(r.maxStableLr!, 0), /holds a run with another config/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
