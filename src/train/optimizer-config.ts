/**
 * Optimizer configuration: the names Edgewise knows, the `optimizer:` config fields they read
 * (DESIGN.md), their defaults, and validation. Which fields each optimizer uses:
 *
 * | name        | reads                                   | weight_decay              |
 * |-------------|-----------------------------------------|---------------------------|
 * | gd, sgd     | –                                       | L2 added to the gradient  |
 * | momentum    | momentum                                | L2 added to the gradient  |
 * | nesterov    | momentum                                | L2 added to the gradient  |
 * | adam        | beta1, beta2, eps                       | L2 added to the gradient  |
 * | adamw       | beta1, beta2, eps                       | decoupled: θ ← θ − η λ θ  |
 * | adam-ub     | beta1, beta2, eps, clip_denominator     | L2 added to the gradient  |
 * | rmsprop     | beta2 (PyTorch's alpha), eps            | L2 added to the gradient  |
 * | rmsprop-ub  | beta2, eps, clip_denominator (β1 = 0)   | L2 added to the gradient  |
 *
 * Fields an optimizer does not read are validated but ignored (e.g. `momentum` for Adam), so
 * one resolved config with all defaults filled in works for every name. `lr` and `batch_size`
 * may be present in the object but are not read here: the lr is passed to every step (it comes
 * from the schedule) and batching is done by the sampler.
 */

/** Every optimizer name `createOptimizer` accepts. */
export const OPTIMIZER_NAMES = [
  'gd',
  'sgd',
  'momentum',
  'nesterov',
  'adam',
  'adamw',
  'rmsprop',
  'adam-ub',
  'rmsprop-ub',
] as const;

/** One of `OPTIMIZER_NAMES`. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** The `optimizer:` section as users write it; omitted fields take the DESIGN.md defaults. */
export interface OptimizerConfig {
  name: string;
  /** Heavy-ball / Nesterov coefficient μ in [0, 1). Default 0.9. */
  momentum?: number;
  /** Adam first-moment decay β1 in [0, 1). Default 0.9. Forced to 0 for rmsprop, rmsprop-ub. */
  beta1?: number;
  /** Second-moment decay β2 in [0, 1) (RMSProp's alpha). Default 0.999. */
  beta2?: number;
  /** Denominator guard ε >= 0. Default 1e-8. */
  eps?: number;
  /** λ >= 0: L2 coefficient (added to the gradient), or decoupled decay for adamw. Default 0. */
  weight_decay?: number;
  /** Upper bound c > 0 on √v̂ in the denominator (adam-ub, rmsprop-ub; required there). */
  clip_denominator?: number | null;
}

/** A validated config with every field filled in; frozen. */
export interface ResolvedOptimizerConfig {
  readonly name: OptimizerName;
  readonly momentum: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weight_decay: number;
  readonly clip_denominator: number | null;
}

/** Defaults from DESIGN.md's `optimizer:` line. */
export const OPTIMIZER_DEFAULTS = Object.freeze({
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weight_decay: 0,
  clip_denominator: null,
});

/** True for a known optimizer name. */
export function isOptimizerName(name: unknown): name is OptimizerName {
  return typeof name === 'string' && (OPTIMIZER_NAMES as readonly string[]).includes(name);
}

/** True for optimizers with a diagonal preconditioner (Adam and RMSProp families). */
export function isAdaptive(name: OptimizerName): boolean {
  return name === 'adam' || name === 'adamw' || name === 'adam-ub' || name === 'rmsprop' || name === 'rmsprop-ub';
}

function unitInterval(x: number | undefined, fallback: number, key: string): number {
  const v = x ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v >= 1) {
    throw new Error(`optimizer.${key} must be a number in [0, 1), got ${String(v)}`);
  }
  return v;
}

function nonNegative(x: number | undefined, fallback: number, key: string): number {
  const v = x ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new Error(`optimizer.${key} must be a finite number >= 0, got ${String(v)}`);
  }
  return v;
}

/** Validates `config`, fills in defaults and returns a frozen copy; errors name the key. */
export function resolveOptimizerConfig(config: OptimizerConfig): ResolvedOptimizerConfig {
  const name = config.name;
  if (!isOptimizerName(name)) {
    throw new Error(
      `optimizer.name: unknown optimizer ${JSON.stringify(name)}; allowed: ${OPTIMIZER_NAMES.join(', ')}`,
    );
  }
  const momentum = unitInterval(config.momentum, OPTIMIZER_DEFAULTS.momentum, 'momentum');
  // RMSProp has no first moment: its update is the β1 = 0 case, whatever the file says.
  const rmsFamily = name === 'rmsprop' || name === 'rmsprop-ub';
  const beta1 = rmsFamily ? 0 : unitInterval(config.beta1, OPTIMIZER_DEFAULTS.beta1, 'beta1');
  const beta2 = unitInterval(config.beta2, OPTIMIZER_DEFAULTS.beta2, 'beta2');
  const eps = nonNegative(config.eps, OPTIMIZER_DEFAULTS.eps, 'eps');
  const weight_decay = nonNegative(config.weight_decay, OPTIMIZER_DEFAULTS.weight_decay, 'weight_decay');
  const c = config.clip_denominator ?? null;
  if (c !== null && (typeof c !== 'number' || !(c > 0) || Number.isNaN(c))) {
    throw new Error(`optimizer.clip_denominator must be a number > 0 (or null), got ${String(c)}`);
  }
  if ((name === 'adam-ub' || name === 'rmsprop-ub') && c === null) {
    throw new Error(`optimizer.clip_denominator is required for optimizer.name = ${name} (a number > 0)`);
  }
  return Object.freeze({ name, momentum, beta1, beta2, eps, weight_decay, clip_denominator: c });
}
