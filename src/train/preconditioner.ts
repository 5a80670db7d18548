/**
 * What the curvature layer needs from the optimizer to judge stability: the diagonal
 * preconditioner of adaptive optimizers, and the threshold the relevant sharpness is compared
 * with.
 *
 * Adaptive updates have the form θ ← θ − η P⁻¹ m̂ with diagonal P; the matching curvature is the
 * preconditioned sharpness λ1(P⁻¹H) = λ1(P^-1/2 H P^-1/2). All thresholds below come from the
 * linear map of one update on a quadratic with curvature λ (with P frozen for adaptive methods),
 * and are the value of λ (resp. λ of P⁻¹H) at which that map gets an eigenvalue −1:
 *   gd, sgd:     2/η                                        (θ' = (1 − ηλ) θ)
 *   momentum:    (2 + 2μ)/η                                 (heavy ball, Cohen et al. 2021)
 *   nesterov:    (2 + 2μ)/(η (1 + 2μ))                      (PyTorch Nesterov, see below)
 *   adam family: (2 + 2β1)/((1 − β1) η)   on λ1(P⁻¹H)       (Cohen et al. 2022; 38/η at β1 = 0.9)
 *   rmsprop, rmsprop-ub: β1 = 0, i.e. 2/η on λ1(P⁻¹H)
 * Nesterov: with b' = μb + λθ, θ' = θ − η(λθ + μb') the map is [[1 − a(1+μ), −ημ²], [λ, μ]]
 * (a = ηλ); det(M + I) = 0 gives a = (2 + 2μ)/(1 + 2μ), the value in Cohen et al. 2021's
 * appendix. It is the exact boundary for the update we implement (the other Jury conditions hold
 * for 0 <= μ < 1), so using heavy ball's (2 + 2μ)/η would overstate Nesterov's stable range by a
 * factor 1 + 2μ (2.8 at μ = 0.9). The tests check both boundaries by simulation.
 * Caveats, documented rather than modelled: Adam's m̂ bias correction raises the effective step by
 * 1/(1 − β1^t) early on (the threshold is the t → ∞ value); with L2 weight decay λ_wd the
 * curvature to compare is that of L + ½λ_wd‖θ‖², i.e. H + λ_wd I; adamw's decoupled factor
 * (1 − ηλ_wd) shifts the boundary by O(ηλ_wd), which is ignored.
 */

import { isAdaptive, resolveOptimizerConfig, type OptimizerConfig } from './optimizer-config.ts';
import type { OptimizerState } from './optimizer-state.ts';
import { assertFinite } from './vector.ts';

/** The optimizer config without (or with a matching) name. */
export type OptimizerConfigFields = Omit<OptimizerConfig, 'name'> & { name?: string };

/** A stability threshold and which curvature it applies to. */
export interface StabilityThreshold {
  /** Threshold value, in units of curvature (1/lr). */
  value: number;
  /** 'sharpness' = λ1(H); 'preconditioned_sharpness' = λ1(P⁻¹H) with P from preconditionerDiagonal. */
  quantity: 'sharpness' | 'preconditioned_sharpness';
}

function withName(optimizerName: string, config: OptimizerConfigFields): OptimizerConfig {
  if (config.name !== undefined && config.name !== optimizerName) {
    throw new Error(
      `optimizer name ${JSON.stringify(optimizerName)} does not match config.name ${JSON.stringify(config.name)}`,
    );
  }
  return { ...config, name: optimizerName };
}

/**
 * Diagonal P (length dim, float64) of the most recent update θ ← θ − η P⁻¹ m̂ of an adaptive
 * optimizer: adam/adamw √v̂ + ε with v̂ = v/(1 − β2^t); adam-ub/rmsprop-ub min(√v̂, c) + ε;
 * rmsprop √v + ε (no bias correction, as in its update). Null for non-adaptive optimizers, and
 * for t = 0 (no update taken yet, so there is no preconditioner).
 */
export function preconditionerDiagonal(
  optimizerName: string,
  config: OptimizerConfigFields,
  state: OptimizerState,
): Float64Array | null {
  const cfg = resolveOptimizerConfig(withName(optimizerName, config));
  if (!isAdaptive(cfg.name)) return null;
  if (state.t === 0) return null;
  const expected = cfg.name === 'rmsprop' ? 'rmsprop' : 'adam';
  if (state.kind !== expected) {
    throw new Error(`${cfg.name}: expected an '${expected}' state, got '${state.kind}'`);
  }
  const v = state.v;
  const out = new Float64Array(v.length);
  const bc2 = cfg.name === 'rmsprop' ? 1 : 1 - Math.pow(cfg.beta2, state.t);
  const c = cfg.name === 'adam-ub' || cfg.name === 'rmsprop-ub' ? (cfg.clip_denominator as number) : Infinity;
  for (let i = 0; i < v.length; i++) out[i] = Math.min(Math.sqrt(v[i] / bc2), c) + cfg.eps;
  return out;
}

/** Threshold (units 1/lr) that the optimizer's relevant sharpness is compared with at lr `lr` > 0. */
export function stabilityThreshold(config: OptimizerConfig, lr: number): StabilityThreshold {
  const cfg = resolveOptimizerConfig(config);
  assertFinite(lr, 'lr');
  if (!(lr > 0)) throw new Error(`lr must be > 0 for a stability threshold, got ${lr}`);
  switch (cfg.name) {
    case 'gd':
    case 'sgd':
      return { value: 2 / lr, quantity: 'sharpness' };
    case 'momentum':
      return { value: (2 + 2 * cfg.momentum) / lr, quantity: 'sharpness' };
    case 'nesterov':
      return { value: (2 + 2 * cfg.momentum) / (lr * (1 + 2 * cfg.momentum)), quantity: 'sharpness' };
    case 'adam':
    case 'adamw':
    case 'adam-ub':
    case 'rmsprop':
    case 'rmsprop-ub':
      // beta1 is already 0 for the rmsprop family (resolveOptimizerConfig).
      return { value: (2 + 2 * cfg.beta1) / ((1 - cfg.beta1) * lr), quantity: 'preconditioned_sharpness' };
  }
}
