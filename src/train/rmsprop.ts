/**
 * RMSProp, PyTorch convention (torch.optim.RMSprop, centered = false, momentum = 0):
 *   v ← β2 v + (1 − β2) g²;  θ ← θ − η g / (√v + ε),   g = ∇L + λθ (L2),
 * with NO bias correction of v (v₀ = 0, so early steps are larger than Adam's with β1 = 0).
 * β2 plays PyTorch's `alpha`. The `momentum` config field is not read: RMSProp here has no
 * first moment (use adam with beta1 > 0 for that).
 */

import { checkStepInputs, type FloatVec } from './vector.ts';
import type { ResolvedOptimizerConfig } from './optimizer-config.ts';
import type { LrScale, Optimizer, RmspropState } from './optimizer-state.ts';

/** rmsprop. */
export function createRmsprop(config: ResolvedOptimizerConfig): Optimizer<RmspropState> {
  const { beta2: b2, eps, weight_decay: wd } = config;
  return Object.freeze({
    name: config.name,
    config,
    init: (dim: number): RmspropState => ({ kind: 'rmsprop', dim, t: 0, v: new Float64Array(dim) }),
    step(state: RmspropState, params: FloatVec, grad: FloatVec, lr: number, lrScale?: LrScale): void {
      if (state.kind !== 'rmsprop') throw new Error(`${config.name}: expected an 'rmsprop' state, got '${state.kind}'`);
      checkStepInputs(state.dim, params, grad, lr, lrScale);
      const v = state.v;
      for (let i = 0; i < params.length; i++) {
        const p = params[i];
        const g = grad[i] + wd * p;
        const vi = b2 * v[i] + (1 - b2) * g * g;
        v[i] = vi;
        // g = 0 moves nothing; the guard keeps eps = 0 from giving 0/0.
        if (g !== 0) params[i] = p - ((lrScale ? lr * lrScale[i]! : lr) * g) / (Math.sqrt(vi) + eps);
      }
      state.t += 1;
    },
  });
}
