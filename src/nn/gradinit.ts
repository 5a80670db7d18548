/**
 * GradInit (Zhu et al., NeurIPS 2021): learn one scale α_j per parameter tensor, θ_α = (α_j·θ_j),
 * so that one step of the target optimizer from θ_α lowers the loss as much as possible while
 * the initial gradient stays bounded:
 *
 *   min_α  L(S′; θ_α − η·A[∇L(S; θ_α)])   subject to  ‖∇L(S; θ_α)‖_p ≤ γ,   α_j ≥ α_min,
 *
 * A[g] = g for SGD (p = 2) and A[g] = g/(|g| + ε) — Adam's first step, ≈ sign(g) — for Adam
 * (p = 1). The paper's constrained algorithm: each iteration, if the constraint is violated take
 * a step on α that lowers ‖g‖_p, else a step that lowers the one-step-ahead loss (divided by η,
 * as the reference code does); then clamp α ≥ α_min (≥ 0 for bias-like tensors). Steps on α are
 * Adam's, with separate moments for the two kinds of step and the α-gradient clipped
 * elementwise, as in the reference implementation (RescaleAdam).
 *
 * The objective is differentiated through the gradient (second order): both the constraint
 * ‖g(θ_α)‖ and L(θ_α − η·A[g(θ_α)]) are traced in one graph as functions of the α inputs, and
 * vjp gives their exact derivatives. (The reference code stops the gradient through A[g];
 * `stopGradientThroughStep` reproduces that.)
 *
 * Deviation, so that the result honours the constraint: the returned α is the visited iterate
 * with the lowest one-step-ahead loss among those that satisfy ‖g‖_p ≤ γ (the last iterate if
 * none does, with `feasible: false`).
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
} from './scaled.ts';

export interface GradInitOptions {
  /** Iterations (default 50). */
  readonly steps?: number;
  /** Adam step size τ on the scales (default 0.01). */
  readonly lr?: number;
  /** The target optimizer's learning rate η (default 0.1). */
  readonly targetLr?: number;
  /** The target optimizer (default 'sgd'); `lookaheadFor` maps a run's optimizer to this and η. */
  readonly optimizer?: 'sgd' | 'adam';
  /** ε of Adam's first step g/(|g| + ε) (default 1e-8). */
  readonly adamEps?: number;
  /** Bound γ on the initial gradient norm (L2 for sgd, L1 for adam; default 1). */
  readonly gamma?: number;
  /** Lower bound on the scales of weight tensors (default 0.01). */
  readonly alphaMin?: number;
  /** Elementwise clip of the α-gradient (default 1; 0 = none). */
  readonly gradClip?: number;
  /** Treat A[g] as a constant when differentiating (the reference code's choice; default false). */
  readonly stopGradientThroughStep?: boolean;
  /** A second minibatch S′ for the one-step-ahead loss (default: the same batch as S). */
  readonly lookaheadBatch?: InitBatch;
}

export interface GradInitStep {
  readonly step: number;
  readonly loss: number;
  readonly gradNorm: number;
  readonly lookaheadLoss: number;
  /** 'constraint' when ‖g‖ > γ (step on the norm), 'objective' otherwise; 'none' after the last. */
  readonly kind: 'constraint' | 'objective' | 'none';
}

export interface GradInitResult {
  /** θ_α for the chosen α (flat, layout order). */
  readonly params: Float64Array;
  /** The chosen scale of each parameter tensor (1 for tensors that were zero and stay zero). */
  readonly scales: Record<string, number>;
  /** Whether the chosen scales satisfy ‖g‖_p ≤ γ. */
  readonly feasible: boolean;
  /** Loss, gradient norm and one-step-ahead loss at α = 1 and at the chosen α. */
  readonly initial: GradInitStep;
  readonly chosen: GradInitStep;
  readonly history: readonly GradInitStep[];
}

const BIAS_LIKE = new Set(['bias', 'norm-bias', 'fixup-bias']);

interface GraphOptions {
  readonly alg: 'sgd' | 'adam';
  readonly eta: number;
  readonly eps: number;
  readonly stopStep: boolean;
}

/**
 * Compiles loss, ‖g‖_p, the one-step-ahead loss L(S′; θ_α − η·A[g]) and their exact derivatives
 * with respect to the scales ('dn:<param>' of ‖g‖_p, 'dl:<param>' of the lookahead loss / η).
 */
function compileGradInit(setup: LearnedInitSetup, scaled: readonly string[], g0: GraphOptions): Promise<Executable> {
  const { model } = setup;
  const { alg, eta, eps, stopStep } = g0;
  return compileScaled(setup, scaled, (t) => {
    const names = model.params.map((p) => p.name);
    const ps = names.map((n) => t.p[n]!);
    const loss = t.lossAt(t.p);
    const one = t.b.constant(1, [], loss.dtype);
    const g = vjp([loss], [one], ps);
    const gnorm = alg === 'sgd' ? o.sqrt(total(g, (gi) => o.mul(gi, gi))) : total(g, (gi) => o.abs(gi));
    const stepped: Record<string, Tensor> = {};
    names.forEach((n, i) => {
      let a = alg === 'sgd' ? g[i]! : o.div(g[i]!, o.add(o.abs(g[i]!), eps));
      if (stopStep) a = o.stopGradient(a);
      stepped[n] = o.sub(ps[i]!, o.mul(a, eta));
    });
    const lookahead = t.lossAt(stepped, t.extraBatch('lookahead:'));
    const out: Record<string, Tensor> = { loss, gnorm, lookahead };
    if (scaled.length > 0) {
      const dn = vjp([gnorm], [one], t.scales);
      const dl = vjp([o.mul(lookahead, 1 / eta)], [one], t.scales);
      scaled.forEach((n, i) => {
        out[`dn:${n}`] = dn[i]!;
        out[`dl:${n}`] = dl[i]!;
      });
    }
    return out;
  });
}

/**
 * GradInit's quantities at scales α (one per listed tensor; θ_α = α_j·θ0_j): loss, ‖g‖_p, the
 * one-step-ahead loss, and the exact derivatives of ‖g‖_p and of (lookahead loss)/η in α.
 */
export async function gradInitObjective(
  setup: LearnedInitSetup,
  theta0: Float64Array,
  tensors: readonly string[],
  alpha: ArrayLike<number>,
  opts: GradInitOptions = {},
): Promise<{
  loss: number;
  gradNorm: number;
  lookaheadLoss: number;
  dGradNorm: Record<string, number>;
  dLookahead: Record<string, number>;
}> {
  const exe = await compileGradInit(setup, tensors, {
    alg: opts.optimizer ?? 'sgd',
    eta: opts.targetLr ?? 0.1,
    eps: opts.adamEps ?? 1e-8,
    stopStep: opts.stopGradientThroughStep ?? false,
  });
  const look = opts.lookaheadBatch ?? setup.batch;
  const out = await exe.run(
    scaledFeeds(setup, theta0, tensors, alpha, { 'lookahead:x': look.x, 'lookahead:y': look.y }),
  );
  const dGradNorm: Record<string, number> = {};
  const dLookahead: Record<string, number> = {};
  for (const n of tensors) {
    dGradNorm[n] = scalarOut(out, `dn:${n}`);
    dLookahead[n] = scalarOut(out, `dl:${n}`);
  }
  return {
    loss: scalarOut(out, 'loss'),
    gradNorm: scalarOut(out, 'gnorm'),
    lookaheadLoss: scalarOut(out, 'lookahead'),
    dGradNorm,
    dLookahead,
  };
}

/** Runs GradInit from θ0 (flat, layout order); deterministic given θ0 and the batches. */
export async function gradInit(
  setup: LearnedInitSetup,
  theta0: Float64Array,
  opts: GradInitOptions = {},
): Promise<GradInitResult> {
  const { model } = setup;
  const steps = opts.steps ?? 50;
  const tau = opts.lr ?? 0.01;
  const eta = opts.targetLr ?? 0.1;
  const alg = opts.optimizer ?? 'sgd';
  const gamma = opts.gamma ?? 1;
  const alphaMin = opts.alphaMin ?? 0.01;
  const clip = opts.gradClip ?? 1;
  const stopStep = opts.stopGradientThroughStep ?? false;
  if (theta0.length !== model.layout.size)
    throw new Error(`θ0 has ${theta0.length} values, the model ${model.layout.size}`);
  if (alg !== 'sgd' && alg !== 'adam') throw new Error(`gradinit optimizer must be sgd or adam, got ${String(alg)}`);
  if (!(eta > 0 && Number.isFinite(eta))) throw new Error(`gradinit target learning rate must be > 0, got ${eta}`);
  const look = opts.lookaheadBatch ?? setup.batch;
  if (batchSizeOf(model, look) !== batchSizeOf(model, setup.batch))
    throw new Error('the lookahead batch must have the size of the main batch');
  const scaled = model.params.filter((p) => paramNorm(model, theta0, p.name) > 0).map((p) => p.name);
  const mins = model.params.filter((p) => scaled.includes(p.name)).map((p) => (BIAS_LIKE.has(p.role) ? 0 : alphaMin));

  const exe = await compileGradInit(setup, scaled, { alg, eta, eps: opts.adamEps ?? 1e-8, stopStep });
  const lookFeeds = { 'lookahead:x': look.x, 'lookahead:y': look.y };

  const alpha = new Float64Array(scaled.length).fill(1);
  // Adam moments for constraint steps (c) and objective steps (f).
  const state = {
    c: { m: new Float64Array(scaled.length), v: new Float64Array(scaled.length), t: 0 },
    f: { m: new Float64Array(scaled.length), v: new Float64Array(scaled.length), t: 0 },
  };
  const history: GradInitStep[] = [];
  let best: { alpha: Float64Array; step: GradInitStep } | null = null;
  let last: Float64Array;
  for (let step = 0; ; step++) {
    const out = await exe.run(scaledFeeds(setup, theta0, scaled, alpha, lookFeeds));
    const gradNorm = scalarOut(out, 'gnorm');
    const violated = !(gradNorm <= gamma);
    const rec: GradInitStep = {
      step,
      loss: scalarOut(out, 'loss'),
      gradNorm,
      lookaheadLoss: scalarOut(out, 'lookahead'),
      kind: step === steps ? 'none' : violated ? 'constraint' : 'objective',
    };
    history.push(rec);
    last = alpha.slice();
    if (!violated && Number.isFinite(rec.lookaheadLoss) && (!best || rec.lookaheadLoss < best.step.lookaheadLoss))
      best = { alpha: alpha.slice(), step: rec };
    if (step === steps || !Number.isFinite(gradNorm)) break;
    const st = violated ? state.c : state.f;
    st.t++;
    const b1 = 0.9;
    const b2 = 0.999;
    scaled.forEach((n, j) => {
      let d = scalarOut(out, `${violated ? 'dn' : 'dl'}:${n}`);
      if (clip > 0) d = Math.max(-clip, Math.min(clip, d));
      st.m[j] = b1 * st.m[j]! + (1 - b1) * d;
      st.v[j] = b2 * st.v[j]! + (1 - b2) * d * d;
      const mh = st.m[j]! / (1 - b1 ** st.t);
      const vh = st.v[j]! / (1 - b2 ** st.t);
      alpha[j] = Math.max(mins[j]!, alpha[j]! - (tau * mh) / (Math.sqrt(vh) + 1e-8));
    });
  }
  const chosenAlpha = best ? best.alpha : last;
  const params = Float64Array.from(theta0);
  const scales: Record<string, number> = {};
  for (const p of model.params) scales[p.name] = 1;
  scaled.forEach((n, j) => {
    scales[n] = chosenAlpha[j]!;
    const v = model.layout.view(params, n);
    for (let i = 0; i < v.length; i++) v[i]! *= chosenAlpha[j]!;
  });
  return {
    params,
    scales,
    feasible: best !== null,
    initial: history[0]!,
    chosen: best ? best.step : history[history.length - 1]!,
    history,
  };
}

/** What `lookaheadFor` needs of a run's optimizer config. */
export interface TrainOptimizer {
  readonly name: string;
  /** η. */
  readonly lr: number;
  readonly momentum?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/**
 * GradInit's look-ahead for the optimizer a run trains with: its first update from zero state,
 * θ − η·A[g], as { optimizer, targetLr, adamEps }. Exact for gd/sgd/momentum (η·g), nesterov
 * (η(1+μ)·g), adam/adamw (η·g/(|g|+ε)) and rmsprop (η/√(1−β2) · g/(|g| + ε/√(1−β2))); adam-ub
 * and rmsprop-ub as adam (their bound on √v̂ only acts when |g| > c). Weight decay is left out
 * of the look-ahead, as in the reference code.
 */
export function lookaheadFor(opt: TrainOptimizer): Pick<GradInitOptions, 'optimizer' | 'targetLr' | 'adamEps'> {
  const eps = opt.eps ?? 1e-8;
  switch (opt.name) {
    case 'gd':
    case 'sgd':
    case 'momentum':
      return { optimizer: 'sgd', targetLr: opt.lr };
    case 'nesterov':
      return { optimizer: 'sgd', targetLr: opt.lr * (1 + (opt.momentum ?? 0.9)) };
    case 'adam':
    case 'adamw':
    case 'adam-ub':
    case 'rmsprop-ub':
      return { optimizer: 'adam', targetLr: opt.lr, adamEps: eps };
    case 'rmsprop': {
      const r = Math.sqrt(1 - (opt.beta2 ?? 0.999));
      return { optimizer: 'adam', targetLr: opt.lr / r, adamEps: eps / r };
    }
    default:
      throw new Error(`gradinit: no look-ahead rule for optimizer '${opt.name}'`);
  }
}
