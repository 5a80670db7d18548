/**
 * `createOptimizer(config)`: the one entry point that turns an `optimizer:` config into an
 * `Optimizer` (frozen config + `init` + in-place `step`). Formulas live in sgd.ts, adam.ts and
 * rmsprop.ts; this file only dispatches on the name.
 */

import { resolveOptimizerConfig, type OptimizerConfig, type OptimizerName } from './optimizer-config.ts';
import type { Optimizer, OptimizerState, StateByName } from './optimizer-state.ts';
import { createMomentumGd, createPlainGd } from './sgd.ts';
import { createAdam } from './adam.ts';
import { createRmsprop } from './rmsprop.ts';

/** Builds the optimizer named by `config.name`; throws naming the allowed names if unknown. */
export function createOptimizer<N extends OptimizerName>(
  config: OptimizerConfig & { name: N },
): Optimizer<StateByName[N]>;
export function createOptimizer(config: OptimizerConfig): Optimizer<OptimizerState>;
export function createOptimizer(config: OptimizerConfig): Optimizer<OptimizerState> {
  const resolved = resolveOptimizerConfig(config);
  // Each family checks at run time that it is handed its own kind of state, so widening the
  // state parameter to the union here is safe.
  switch (resolved.name) {
    case 'gd':
    case 'sgd':
      return createPlainGd(resolved) as Optimizer<OptimizerState>;
    case 'momentum':
    case 'nesterov':
      return createMomentumGd(resolved) as Optimizer<OptimizerState>;
    case 'adam':
    case 'adamw':
    case 'adam-ub':
    case 'rmsprop-ub':
      return createAdam(resolved) as Optimizer<OptimizerState>;
    case 'rmsprop':
      return createRmsprop(resolved) as Optimizer<OptimizerState>;
  }
}
