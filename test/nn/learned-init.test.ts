/**
 * MetaInit and GradInit. Their traced quantities are checked against independent computations
 * through CompiledObjective (gradient and exact HVP), and their derivatives in the per-tensor
 * scales (third order for MetaInit's GQ, second order for GradInit) against central finite
 * differences. Then the procedures themselves: MetaInit lowers GQ; GradInit returns a network
 * that satisfies ‖g‖ ≤ γ and has a lower one-step-ahead loss than the unscaled init.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { CompiledObjective } from '../../src/engine/objective.ts';
import { createRng } from '../../src/util/random.ts';
import { makeGaussianMixture } from '../../src/data/synthetic.ts';
import { buildModel, type Model, type ModelConfig } from '../../src/nn/model.ts';
import { objectiveSpec, oneHot, type LossName } from '../../src/nn/losses.ts';
import { gradientQuotient, gradientQuotientScaleGrad, metaInit } from '../../src/nn/metainit.ts';
import { gradInit, gradInitObjective } from '../../src/nn/gradinit.ts';
import { initializeModel } from '../../src/nn/initialize.ts';
import type { LearnedInitSetup } from '../../src/nn/scaled.ts';

const rt = new Runtime({ backend: 'reference' });
const { train } = makeGaussianMixture({ numClasses: 3, dim: 4, separation: 3, trainSize: 16, testSize: 0, seed: 1 });
const batch = { x: Float64Array.from(train.x), y: oneHot(train.y!, 3) };

function problem(
  cfg: ModelConfig,
  scale: number,
  loss: LossName = 'cross-entropy',
): { model: Model; theta: Float64Array; setup: LearnedInitSetup; obj: CompiledObjective } {
  const model = buildModel({ ...cfg, init: { scheme: 'lecun-normal', scale } }, [4], 3);
  const theta = model.init(createRng(1)).params;
  return {
    model,
    theta,
    setup: { runtime: rt, model, loss, batch },
    obj: new CompiledObjective(rt, objectiveSpec(model, loss, 16, 'train')),
  };
}

/** θ with tensor `name` multiplied by c. */
function scaleTensor(model: Model, theta: Float64Array, name: string, c: number): Float64Array {
  const t = Float64Array.from(theta);
  const v = model.layout.view(t, name);
  for (let i = 0; i < v.length; i++) v[i]! *= c;
  return t;
}

const norm = (v: ArrayLike<number>, p: 1 | 2): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += p === 2 ? v[i]! ** 2 : Math.abs(v[i]!);
  return p === 2 ? Math.sqrt(s) : s;
};

describe('MetaInit', () => {
  const MLP: ModelConfig = { arch: 'mlp', widths: [6, 5] };

  it('GQ equals (1/N)‖(g − Hg)/(g + ε·sign g) − 1‖₁ from CompiledObjective gradient and HVP', async () => {
    for (const cfg of [MLP, { arch: 'mlp', widths: [5], norm: 'batchnorm' } as ModelConfig]) {
      const { theta, setup, obj } = problem(cfg, 2);
      const g = (await obj.valueAndGrad(theta, batch)).grad;
      const hg = await (await obj.at(theta, batch)).hvp(g);
      let want = 0;
      for (let i = 0; i < g.length; i++) want += Math.abs((g[i]! - hg[i]!) / (g[i]! + (g[i]! >= 0 ? 1e-5 : -1e-5)) - 1);
      want /= g.length;
      const got = await gradientQuotient(setup, theta);
      assert.ok(Math.abs(got - want) < 1e-10 * want, `GQ ${got} vs ${want}`);
    }
  });

  it('∂GQ/∂(tensor scale), a third derivative of the loss, matches finite differences', async () => {
    const { model, theta, setup } = problem(MLP, 1.5);
    const tensors = ['fc1.weight', 'fc2.weight', 'fc3.weight', 'fc2.bias'];
    // Nonzero biases so that scaling fc2.bias is not a no-op.
    const th = Float64Array.from(theta, (v, i) => (v === 0 ? 0.1 * Math.sin(i) : v));
    const { gq, grads } = await gradientQuotientScaleGrad(setup, th, tensors);
    assert.ok(Math.abs(gq - (await gradientQuotient(setup, th))) < 1e-12 * gq);
    const h = 1e-5;
    for (const n of tensors) {
      const fd =
        ((await gradientQuotient(setup, scaleTensor(model, th, n, 1 + h))) -
          (await gradientQuotient(setup, scaleTensor(model, th, n, 1 - h)))) /
        (2 * h);
      assert.ok(Math.abs(grads[n]! - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `${n}: ${grads[n]} vs FD ${fd}`);
    }
  });

  it('lowers GQ from a badly scaled init by rescaling weight tensors only; deterministic', async () => {
    // Weights 5× too small: signals and gradients shrink layer by layer.
    const { model, theta, setup } = problem(MLP, 0.2);
    const r = await metaInit(setup, theta, { steps: 8 });
    assert.ok(r.gq < 0.5 * r.initialGQ, `GQ ${r.initialGQ} → ${r.gq}`);
    assert.ok(Math.abs((await gradientQuotient(setup, r.params)) - r.gq) < 1e-12 * r.gq);
    for (const p of model.params) {
      const a = model.layout.view(theta, p.name);
      const b = model.layout.view(r.params, p.name);
      const c = p.role === 'weight' ? r.scales[p.name]! : 1;
      a.forEach((v, i) => assert.ok(Math.abs(b[i]! - c * v) < 1e-12, `${p.name} is a rescaled copy`));
    }
    assert.deepEqual((await metaInit(setup, theta, { steps: 8 })).params, r.params);
  });
});

describe('GradInit', () => {
  const MLP: ModelConfig = { arch: 'mlp', widths: [6, 5] };

  for (const alg of ['sgd', 'adam'] as const) {
    it(`${alg}: ‖g‖ and one-step-ahead loss equal CompiledObjective's; α-derivatives match FD`, async () => {
      const { model, theta, setup, obj } = problem(MLP, 1.5);
      const th = Float64Array.from(theta, (v, i) => (v === 0 ? 0.1 * Math.cos(i) : v));
      const tensors = model.params.map((p) => p.name);
      const rng = createRng(4);
      const alpha = tensors.map(() => 0.6 + 0.8 * rng.uniform());
      const eta = 0.3;
      const r = await gradInitObjective(setup, th, tensors, alpha, { optimizer: alg, targetLr: eta });
      // Independent: θ_α, its gradient, and one optimizer step, through CompiledObjective.
      let ta: Float64Array = Float64Array.from(th);
      tensors.forEach((n, j) => (ta = scaleTensor(model, ta, n, alpha[j]!)));
      const e = await obj.valueAndGrad(ta, batch);
      const step = Float64Array.from(
        ta,
        (v, i) => v - eta * (alg === 'sgd' ? e.grad[i]! : e.grad[i]! / (Math.abs(e.grad[i]!) + 1e-8)),
      );
      assert.ok(Math.abs(r.loss - e.loss) < 1e-13);
      assert.ok(Math.abs(r.gradNorm - norm(e.grad, alg === 'sgd' ? 2 : 1)) < 1e-12 * r.gradNorm);
      assert.ok(Math.abs(r.lookaheadLoss - (await obj.value(step, batch)).loss) < 1e-12);
      const h = 1e-6;
      for (const [j, n] of tensors.entries()) {
        const ap = alpha.slice();
        const am = alpha.slice();
        ap[j]! += h;
        am[j]! -= h;
        const rp = await gradInitObjective(setup, th, tensors, ap, { optimizer: alg, targetLr: eta });
        const rm = await gradInitObjective(setup, th, tensors, am, { optimizer: alg, targetLr: eta });
        const fdN = (rp.gradNorm - rm.gradNorm) / (2 * h);
        const fdL = (rp.lookaheadLoss - rm.lookaheadLoss) / (2 * h) / eta;
        assert.ok(
          Math.abs(r.dGradNorm[n]! - fdN) < 1e-6 * Math.max(1, Math.abs(fdN)),
          `${n}: d‖g‖ ${r.dGradNorm[n]} vs FD ${fdN}`,
        );
        assert.ok(
          Math.abs(r.dLookahead[n]! - fdL) < 1e-6 * Math.max(1, Math.abs(fdL)),
          `${n}: dL' ${r.dLookahead[n]} vs FD ${fdL}`,
        );
      }
    });
  }

  it('meets ‖g‖ ≤ γ and lowers the one-step-ahead loss relative to the unscaled init', async () => {
    const { theta, setup, obj } = problem(MLP, 3);
    const eta = 2;
    const gamma = 1;
    const lookahead = async (th: Float64Array): Promise<{ gnorm: number; loss: number }> => {
      const g = (await obj.valueAndGrad(th, batch)).grad;
      return {
        gnorm: norm(g, 2),
        loss: (
          await obj.value(
            Float64Array.from(th, (v, i) => v - eta * g[i]!),
            batch,
          )
        ).loss,
      };
    };
    const before = await lookahead(theta);
    assert.ok(before.gnorm > gamma, 'the unscaled init violates the constraint');
    const r = await gradInit(setup, theta, { steps: 25, targetLr: eta, gamma, lr: 0.05 });
    const after = await lookahead(r.params);
    assert.ok(r.feasible);
    assert.ok(after.gnorm <= gamma, `‖g‖ ${after.gnorm}`);
    assert.ok(Math.abs(after.gnorm - r.chosen.gradNorm) < 1e-12);
    assert.ok(after.loss < before.loss, `one-step-ahead loss ${before.loss} → ${after.loss}`);
    assert.ok(r.history.some((h) => h.kind === 'constraint') && r.history.some((h) => h.kind === 'objective'));
  });

  it('initializeModel dispatches metainit / gradinit from the base draw', async () => {
    const model = buildModel({ arch: 'mlp', widths: [4], init: { scheme: 'gradinit', base: 'he-normal' } }, [4], 3);
    const res = await initializeModel(model, {
      rng: createRng(3),
      runtime: rt,
      loss: 'cross-entropy',
      batch,
      gradinit: { steps: 3 },
    });
    assert.ok(res.gradinit && res.gradinit.history.length === 4);
    const base = model.init(createRng(3)).params;
    const w = model.layout.view(res.params, 'fc1.weight');
    model.layout
      .view(base, 'fc1.weight')
      .forEach((v, i) => assert.ok(Math.abs(w[i]! - res.gradinit!.scales['fc1.weight']! * v) < 1e-12));
    await assert.rejects(initializeModel(model, { rng: createRng(3) }), /needs a runtime/);
    const mi = buildModel({ arch: 'mlp', widths: [4], init: { scheme: 'metainit' } }, [4], 3);
    assert.ok(
      (await initializeModel(mi, { rng: createRng(3), runtime: rt, loss: 'mse', batch, metainit: { steps: 2 } }))
        .metainit,
    );
  });
});
