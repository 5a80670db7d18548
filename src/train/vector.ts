/**
 * Flat vector types shared by the training-update layer. Parameters and gradients are flat
 * Float32Arrays in training; Float64Array is accepted everywhere too, so that tests and the
 * float64 reference path can run the very same update code without rounding.
 */

/** A flat parameter, gradient or update vector (length = number of parameters). */
export type FloatVec = Float32Array | Float64Array;

/** Throws unless `v` has exactly `dim` entries; `what` names the vector in the message. */
export function assertLength(v: ArrayLike<number>, dim: number, what: string): void {
  if (v.length !== dim) throw new Error(`${what} has length ${v.length}, expected ${dim}`);
}

/** Throws unless `x` is a finite number (>= `min` when given); `key` names the config key. */
export function assertFinite(x: unknown, key: string, min?: number): asserts x is number {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new Error(`${key} must be a finite number, got ${String(x)}`);
  }
  if (min !== undefined && x < min) throw new Error(`${key} must be >= ${min}, got ${x}`);
}

/** Checks one optimizer step's inputs: params, grad (and lrScale) of length `dim`, a finite lr ≥ 0. */
export function checkStepInputs(
  dim: number,
  params: ArrayLike<number>,
  grad: ArrayLike<number>,
  lr: number,
  lrScale: ArrayLike<number> | undefined,
): void {
  assertLength(params, dim, 'params');
  assertLength(grad, dim, 'grad');
  assertFinite(lr, 'lr', 0);
  if (lrScale) assertLength(lrScale, dim, 'lrScale');
}
