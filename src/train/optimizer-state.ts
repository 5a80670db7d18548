/**
 * The optimizer interface and its state records.
 *
 * State is a plain record of readable fields (`t`, and `buf` / `m` / `v` where the optimizer has
 * them) so that the curvature layer can read Adam's second moment and a checkpoint can save it.
 * Moment buffers are Float64Array even though parameters are Float32Array: the state is what
 * `preconditionerDiagonal` hands to the float64 curvature code, EMAs with (1 − β2) = 1e-3
 * increments keep their low bits, and the update is formed in float64 and rounded to float32
 * once per step. The cost (8 bytes per parameter per buffer) is small at this project's scale.
 */

import type { FloatVec } from './vector.ts';
import type { OptimizerName, ResolvedOptimizerConfig } from './optimizer-config.ts';

/** State of gd / sgd: only the number of steps taken. */
export interface PlainState {
  readonly kind: 'plain';
  /** Number of parameters. */
  readonly dim: number;
  /** Steps taken so far (0 before the first update). */
  t: number;
}

/** State of momentum / nesterov: the PyTorch momentum buffer b (zero-initialized). */
export interface MomentumState {
  readonly kind: 'momentum';
  readonly dim: number;
  t: number;
  /** Momentum buffer b, length dim. */
  buf: Float64Array;
}

/** State of adam / adamw / adam-ub / rmsprop-ub: raw (not bias-corrected) moments. */
export interface AdamState {
  readonly kind: 'adam';
  readonly dim: number;
  /** Steps taken; the bias corrections use 1 − β^t with this t. */
  t: number;
  /** First moment m (EMA of g with β1), length dim. */
  m: Float64Array;
  /** Second moment v (EMA of g² with β2), length dim. */
  v: Float64Array;
}

/** State of rmsprop (PyTorch convention, no bias correction): the square average v. */
export interface RmspropState {
  readonly kind: 'rmsprop';
  readonly dim: number;
  t: number;
  /** Square average v (EMA of g² with β2), length dim. */
  v: Float64Array;
}

/** Any optimizer state. */
export type OptimizerState = PlainState | MomentumState | AdamState | RmspropState;

/** The state type each optimizer name uses. */
export interface StateByName {
  gd: PlainState;
  sgd: PlainState;
  momentum: MomentumState;
  nesterov: MomentumState;
  adam: AdamState;
  adamw: AdamState;
  'adam-ub': AdamState;
  'rmsprop-ub': AdamState;
  rmsprop: RmspropState;
}

/** Per-coordinate learning-rate multipliers (length = number of parameters). */
export type LrScale = ArrayLike<number>;

/** A frozen config plus the two functions that make up an optimizer. */
export interface Optimizer<S extends OptimizerState = OptimizerState> {
  readonly name: OptimizerName;
  readonly config: ResolvedOptimizerConfig;
  /** Fresh state for `dim` parameters (t = 0, zero buffers). */
  init(dim: number): S;
  /**
   * One update with learning rate `lr` (>= 0): overwrites `params` and `state` in place; `grad`
   * (same length, the gradient of the loss at `params`) is only read. `lrScale` (optional, same
   * length, ≥ 0) multiplies η coordinate by coordinate (PyTorch parameter groups with their own
   * lr): coordinate i steps exactly as it would with learning rate η·lrScale[i].
   */
  step(state: S, params: FloatVec, grad: FloatVec, lr: number, lrScale?: LrScale): void;
}
