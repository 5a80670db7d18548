/**
 * MetaInit (Dauphin & Schoenholz, NeurIPS 2019): choose the norm of each weight tensor so that
 * the loss is locally close to linear along the gradient, by minimizing the gradient quotient
 *
 *   GQ(θ) = (1/N) ‖ (g − H g) / (g + ε·sign(g)) − 1 ‖₁,   g = ∇L(θ), N = number of parameters,
 *
 * (sign(0) taken as +1, as in the reference code) over the per-tensor norms with signSGD with
 * momentum (the paper's Algorithm 1): m_j ← β·m_j − lr·sign(∂GQ/∂‖w_j‖), ‖w_j‖ ← ‖w_j‖ + m_j.
 * Only weight tensors of rank ≥ 2 with nonzero norm are rescaled; GQ runs over all parameters.
 *
 * ∂GQ/∂‖w_j‖ is a third derivative of the loss. It is computed exactly in one traced graph:
 * w_j enters as s_j·w_j with scalar inputs s_j fed as 1, g and Hg (= ∇ of ½‖g‖²) are built with
 * vjp, and GQ is differentiated once more with respect to the s_j (∂GQ/∂‖w_j‖ = ∂GQ/∂s_j / ‖w_j‖,
 * which has the same sign).
 *
 * Each step evaluates GQ on `batchAt(step)` (the paper: a fresh batch per step, Gaussian inputs
 * and random labels; initialize.ts draws them seeded) or, without it, on the setup's batch.
 *
 * Deviations, both for robustness on tiny problems: a norm is never allowed below `minNormRatio`
 * times its starting value, and the result is the visited iterate with the lowest GQ (the
 * history holds every iterate; with fresh batches each GQ is on its own batch).
 */
import type { Tensor } from '../engine/builder.ts';
import { vjp } from '../engine/autodiff/transforms.ts';
import * as o from '../engine/ops.ts';
import type { Executable } from '../engine/backend.ts';
import {
  batchSizeOf,
  compileScaled,
  paramNorm,
  scaledFeeds,
  scalarOut,
  total,
  type InitBatch,
  type LearnedInitSetup,
  type ScaledTrace,
} from './scaled.ts';

export interface MetaInitOptions {
  /** signSGD iterations (default 50). */
  readonly steps?: number;
  /** Step on the norms (default 0.1, the paper's). */
  readonly lr?: number;
  /** Momentum of the sign steps (default 0.9). */
  readonly momentum?: number;
  /** ε of the gradient quotient (default 1e-5). */
  readonly eps?: number;
  /** Floor on each norm as a fraction of its starting value (default 0.01). */
  readonly minNormRatio?: number;
  /**
   * The minibatch of step k (same size as the setup's batch); absent = the setup's batch at every
   * step. The paper draws a fresh batch each step (`noiseBatches` in initialize.ts).
   */
  readonly batchAt?: (step: number) => InitBatch;
}

export interface MetaInitStep {
  readonly step: number;
  readonly gq: number;
  readonly loss: number;
}

export interface MetaInitResult {
  /** The chosen parameters (flat, layout order). */
  readonly params: Float64Array;
  /** GQ at the start and at the returned parameters. */
  readonly initialGQ: number;
  readonly gq: number;
  /** Norm multiplier of each rescaled tensor (returned norm / starting norm). */
  readonly scales: Record<string, number>;
  readonly history: readonly MetaInitStep[];
}

/** The traced gradient quotient of the loss at the scaled parameters. */
function tracedGQ(t: ScaledTrace, names: readonly string[], eps: number): { gq: Tensor; loss: Tensor } {
  const ps = names.map((n) => t.p[n]!);
  const loss = t.lossAt(t.p);
  const one = t.b.constant(1, [], loss.dtype);
  const g = vjp([loss], [one], ps);
  const half = o.mul(
    total(g, (gi) => o.mul(gi, gi)),
    0.5,
  );
  const hg = vjp([half], [one], ps);
  const epsPos = t.b.constant(eps, [], loss.dtype);
  const epsNeg = t.b.constant(-eps, [], loss.dtype);
  const n = ps.reduce((a, p) => a + p.size, 0);
  const terms = g.map((gi, i) => {
    const denom = o.add(gi, o.where(o.less(gi, 0), epsNeg, epsPos));
    return o.abs(o.sub(o.div(o.sub(gi, hg[i]!), denom), 1));
  });
  return {
    gq: o.mul(
      total(terms, (x) => x),
      1 / n,
    ),
    loss,
  };
}

/** Gradient quotient GQ(θ) of the model loss on the setup's batch. */
export async function gradientQuotient(setup: LearnedInitSetup, theta: Float64Array, eps = 1e-5): Promise<number> {
  const names = setup.model.params.map((p) => p.name);
  const exe = await compileScaled(setup, [], (t) => ({ gq: tracedGQ(t, names, eps).gq }));
  return scalarOut(await exe.run(scaledFeeds(setup, theta, [], [])), 'gq');
}

/** Compiles GQ, the loss and ∂GQ/∂s_j (outputs 'd:<param>') for the scaled tensors. */
function compileGQ(setup: LearnedInitSetup, scaled: readonly string[], eps: number): Promise<Executable> {
  const names = setup.model.params.map((p) => p.name);
  return compileScaled(setup, scaled, (t) => {
    const { gq, loss } = tracedGQ(t, names, eps);
    const out: Record<string, Tensor> = { gq, loss };
    if (scaled.length > 0) {
      const ds = vjp([gq], [t.b.constant(1, [], gq.dtype)], t.scales);
      scaled.forEach((n, i) => (out[`d:${n}`] = ds[i]!));
    }
    return out;
  });
}

/**
 * GQ at θ and its exact derivative with respect to a multiplier s_j of each listed tensor
 * (θ_j → s_j·θ_j, at s = 1); ∂GQ/∂‖θ_j‖ = ∂GQ/∂s_j / ‖θ_j‖.
 */
export async function gradientQuotientScaleGrad(
  setup: LearnedInitSetup,
  theta: Float64Array,
  tensors: readonly string[],
  eps = 1e-5,
): Promise<{ gq: number; loss: number; grads: Record<string, number> }> {
  const exe = await compileGQ(setup, tensors, eps);
  const out = await exe.run(scaledFeeds(setup, theta, tensors, new Float64Array(tensors.length).fill(1)));
  const grads: Record<string, number> = {};
  for (const n of tensors) grads[n] = scalarOut(out, `d:${n}`);
  return { gq: scalarOut(out, 'gq'), loss: scalarOut(out, 'loss'), grads };
}

/** Runs MetaInit from θ0 (flat, layout order); deterministic given θ0 and the batches. */
export async function metaInit(
  setup: LearnedInitSetup,
  theta0: Float64Array,
  opts: MetaInitOptions = {},
): Promise<MetaInitResult> {
  const { model } = setup;
  const steps = opts.steps ?? 50;
  const lr = opts.lr ?? 0.1;
  const momentum = opts.momentum ?? 0.9;
  const eps = opts.eps ?? 1e-5;
  const floor = opts.minNormRatio ?? 0.01;
  if (theta0.length !== model.layout.size)
    throw new Error(`θ0 has ${theta0.length} values, the model ${model.layout.size}`);
  const scaled = model.params
    .filter((p) => p.role === 'weight' && p.shape.length >= 2 && paramNorm(model, theta0, p.name) > 0)
    .map((p) => p.name);
  const exe = await compileGQ(setup, scaled, eps);
  const theta = Float64Array.from(theta0);
  const norm0 = scaled.map((n) => paramNorm(model, theta0, n));
  const mem = new Float64Array(scaled.length);
  const ones = new Float64Array(scaled.length).fill(1);
  const history: MetaInitStep[] = [];
  let best = { gq: Infinity, theta: Float64Array.from(theta0) };
  const bsz = batchSizeOf(model, setup.batch);
  for (let step = 0; ; step++) {
    const batch = opts.batchAt ? opts.batchAt(step) : setup.batch;
    if (batch !== setup.batch && batchSizeOf(model, batch) !== bsz)
      throw new Error(`metainit batch ${step} has a different size than the setup's batch (${bsz})`);
    const out = await exe.run(scaledFeeds(setup, theta, scaled, ones, { x: batch.x, y: batch.y }));
    const gq = scalarOut(out, 'gq');
    history.push({ step, gq, loss: scalarOut(out, 'loss') });
    if (gq < best.gq) best = { gq, theta: Float64Array.from(theta) };
    if (step === steps || !Number.isFinite(gq)) break;
    scaled.forEach((n, j) => {
      const w = model.layout.view(theta, n);
      const norm = paramNorm(model, theta, n);
      const d = scalarOut(out, `d:${n}`);
      mem[j] = momentum * mem[j]! - lr * Math.sign(d);
      const target = Math.max(norm + mem[j]!, floor * norm0[j]!);
      const r = target / norm;
      for (let i = 0; i < w.length; i++) w[i]! *= r;
    });
  }
  const scales: Record<string, number> = {};
  scaled.forEach((n, j) => (scales[n] = paramNorm(model, best.theta, n) / norm0[j]!));
  return { params: best.theta, initialGQ: history[0]!.gq, gq: best.gq, scales, history };
}
