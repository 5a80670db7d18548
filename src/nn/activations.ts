/**
 * Activation functions by name, as written in the `model.activation` config key. Each is a
 * traced composite of engine primitives, so it is differentiable to any order.
 */
import type { Tensor } from '../engine/builder.ts';
import * as o from '../engine/ops.ts';

export const ACTIVATIONS = ['tanh', 'relu', 'elu', 'gelu', 'softplus', 'sigmoid', 'identity'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

const FNS: Record<ActivationName, (x: Tensor) => Tensor> = {
  tanh: o.tanh,
  relu: o.relu,
  elu: (x) => o.elu(x, 1),
  gelu: o.gelu,
  softplus: o.softplus,
  sigmoid: o.sigmoid,
  identity: o.identity,
};

/** True when `name` is a known activation. */
export function isActivationName(name: unknown): name is ActivationName {
  return typeof name === 'string' && (ACTIVATIONS as readonly string[]).includes(name);
}

/** The elementwise function for an activation name; throws naming the allowed values. */
export function activationFn(name: string): (x: Tensor) => Tensor {
  if (!isActivationName(name))
    throw new Error(`model.activation: unknown activation '${name}'; allowed: ${ACTIVATIONS.join(', ')}`);
  return FNS[name];
}
