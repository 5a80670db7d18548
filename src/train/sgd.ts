/**
 * Plain and momentum gradient descent, PyTorch conventions (torch.optim.SGD, dampening 0):
 *   gd, sgd:   θ ← θ − η g
 *   momentum:  b ← μ b + g;  θ ← θ − η b                (heavy ball, b₀ = 0 so b₁ = g₁)
 *   nesterov:  b ← μ b + g;  θ ← θ − η (g + μ b)
 * with g = ∇L(θ) + λ θ when weight_decay λ > 0 (L2 added to the gradient, before the buffer).
 * gd and sgd are the same update; whether g is a full or a minibatch gradient is the caller's.
 */

import { checkStepInputs, type FloatVec } from './vector.ts';
import type { ResolvedOptimizerConfig } from './optimizer-config.ts';
import type { LrScale, MomentumState, Optimizer, PlainState } from './optimizer-state.ts';

/** gd / sgd: θ ← θ − η (g + λθ). */
export function createPlainGd(config: ResolvedOptimizerConfig): Optimizer<PlainState> {
  const wd = config.weight_decay;
  return Object.freeze({
    name: config.name,
    config,
    init: (dim: number): PlainState => ({ kind: 'plain', dim, t: 0 }),
    step(state: PlainState, params: FloatVec, grad: FloatVec, lr: number, lrScale?: LrScale): void {
      if (state.kind !== 'plain') throw new Error(`${config.name}: expected a 'plain' state, got '${state.kind}'`);
      checkStepInputs(state.dim, params, grad, lr, lrScale);
      for (let i = 0; i < params.length; i++) {
        const p = params[i];
        const eta = lrScale ? lr * lrScale[i]! : lr;
        params[i] = p - eta * (grad[i] + wd * p);
      }
      state.t += 1;
    },
  });
}

/** momentum (heavy ball) or nesterov, per `config.name`; μ = config.momentum. */
export function createMomentumGd(config: ResolvedOptimizerConfig): Optimizer<MomentumState> {
  const wd = config.weight_decay;
  const mu = config.momentum;
  const nesterov = config.name === 'nesterov';
  return Object.freeze({
    name: config.name,
    config,
    init: (dim: number): MomentumState => ({ kind: 'momentum', dim, t: 0, buf: new Float64Array(dim) }),
    step(state: MomentumState, params: FloatVec, grad: FloatVec, lr: number, lrScale?: LrScale): void {
      if (state.kind !== 'momentum')
        throw new Error(`${config.name}: expected a 'momentum' state, got '${state.kind}'`);
      checkStepInputs(state.dim, params, grad, lr, lrScale);
      const buf = state.buf;
      for (let i = 0; i < params.length; i++) {
        const p = params[i];
        const g = grad[i] + wd * p;
        const b = mu * buf[i] + g;
        buf[i] = b;
        const eta = lrScale ? lr * lrScale[i]! : lr;
        params[i] = p - eta * (nesterov ? g + mu * b : b);
      }
      state.t += 1;
    },
  });
}
