/**
 * Adam-family updates (bias-corrected, PyTorch conventions; ε added outside the square root):
 *   m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;  m̂ = m / (1 − β1^t);  v̂ = v / (1 − β2^t)
 *   adam:        θ ← θ − η m̂ / (√v̂ + ε)                     g = ∇L + λθ (L2)
 *   adamw:       θ ← θ − η λ θ − η m̂ / (√v̂ + ε)             g = ∇L (decoupled decay)
 *   adam-ub:     θ ← θ − η m̂ / (min(√v̂, c) + ε)             g = ∇L + λθ
 *   rmsprop-ub:  adam-ub with β1 = 0, i.e. θ ← θ − η g / (min(√v̂, c) + ε)
 * The `-ub` variants (Wang & Roberts) bound the denominator by c = clip_denominator, so the
 * per-coordinate step size never falls below η / (c + ε) and instabilities are not suppressed
 * by a growing second moment. Note rmsprop-ub keeps Adam's bias correction of v̂ (it is the
 * β1 = 0 member of this family), unlike plain `rmsprop`, which follows PyTorch and has none.
 */

import { checkStepInputs, type FloatVec } from './vector.ts';
import type { ResolvedOptimizerConfig } from './optimizer-config.ts';
import type { AdamState, LrScale, Optimizer } from './optimizer-state.ts';

/** adam, adamw, adam-ub or rmsprop-ub, per `config.name`. */
export function createAdam(config: ResolvedOptimizerConfig): Optimizer<AdamState> {
  const { beta1: b1, beta2: b2, eps, weight_decay: wd } = config;
  const decoupled = config.name === 'adamw';
  const ub = config.name === 'adam-ub' || config.name === 'rmsprop-ub';
  const c = ub ? (config.clip_denominator as number) : Infinity;
  const l2 = decoupled ? 0 : wd;
  return Object.freeze({
    name: config.name,
    config,
    init: (dim: number): AdamState => ({
      kind: 'adam',
      dim,
      t: 0,
      m: new Float64Array(dim),
      v: new Float64Array(dim),
    }),
    step(state: AdamState, params: FloatVec, grad: FloatVec, lr: number, lrScale?: LrScale): void {
      if (state.kind !== 'adam') throw new Error(`${config.name}: expected an 'adam' state, got '${state.kind}'`);
      checkStepInputs(state.dim, params, grad, lr, lrScale);
      const t = state.t + 1;
      const bc1 = 1 - Math.pow(b1, t);
      const bc2 = 1 - Math.pow(b2, t);
      const shrink = decoupled ? 1 - lr * wd : 1;
      const { m, v } = state;
      for (let i = 0; i < params.length; i++) {
        const p = params[i];
        const g = grad[i] + l2 * p;
        const mi = b1 * m[i] + (1 - b1) * g;
        const vi = b2 * v[i] + (1 - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        const denom = Math.min(Math.sqrt(vi / bc2), c) + eps;
        // A scaled coordinate's decoupled decay is scaled too (PyTorch applies η·λ per group).
        const eta = lrScale ? lr * lrScale[i]! : lr;
        const sh = lrScale && decoupled ? 1 - eta * wd : shrink;
        // m = 0 moves nothing; the guard keeps eps = 0 with a zero gradient from giving 0/0.
        params[i] = mi === 0 ? sh * p : sh * p - (eta * (mi / bc1)) / denom;
      }
      state.t = t;
    },
  });
}
