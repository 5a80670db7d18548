/**
 * Loss functions and the accuracy metric on logits f [B, K] and targets y [B, K] (one-hot rows
 * for classification, real values for regression); model-free, so that model builders (the
 * transformer) can use them without importing the model objective in losses.ts.
 *
 *   cross-entropy  −(1/B) Σ_i Σ_k y_ik log softmax(f_i)_k
 *   mse            (1/B) Σ_i ½ ‖f_i − y_i‖²   (summed over outputs, as in the edge-of-stability papers)
 *   accuracy       (1/B) Σ_i [target class of i is an argmax of f_i] / #argmaxes of f_i
 *                  (ties split evenly, so equal logits score 1/K, not 1)
 */
import type { Tensor } from '../engine/builder.ts';
import * as o from '../engine/ops.ts';

export const LOSSES = ['mse', 'cross-entropy'] as const;
export type LossName = (typeof LOSSES)[number];

/** Mean softmax cross-entropy of logits [B, K] against target distributions y [B, K]. */
export function crossEntropy(logits: Tensor, y: Tensor): Tensor {
  return o.neg(o.mean(o.sum(o.mul(o.logSoftmax(logits, 1), y), [1])));
}

/** ½‖f − y‖² summed over outputs, averaged over samples; f, y [B, K]. */
export function mse(out: Tensor, y: Tensor): Tensor {
  const r = o.sub(out, y);
  return o.mul(o.sum(o.mul(r, r)), 0.5 / out.shape[0]!);
}

/** The loss function for a name; throws naming the allowed values. */
export function lossFn(name: string): (f: Tensor, y: Tensor) => Tensor {
  if (name === 'mse') return mse;
  if (name === 'cross-entropy') return crossEntropy;
  throw new Error(`loss: unknown loss '${name}'; allowed: ${LOSSES.join(', ')}`);
}

/** Fraction of samples whose target class (argmax of the one-hot y) is the argmax of the logits; ties split. */
export function accuracy(logits: Tensor, y: Tensor): Tensor {
  const isMax = o.equal(logits, o.broadcastTo(o.max(logits, [1], true), logits.shape));
  const one = logits.builder.constant(1, [], logits.dtype);
  const hits = o.sum(o.where(isMax, y, 0), [1]);
  const ties = o.sum(o.where(isMax, one, 0), [1]);
  return o.mean(o.div(hits, ties));
}
