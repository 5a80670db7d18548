/**
 * Global-norm gradient clipping (the `clip:` config), PyTorch's clip_grad_norm_ without its
 * 1e-6 fudge: if ‖g‖ > max_norm, g ← g · max_norm/‖g‖, so the clipped norm is max_norm (up to
 * one float32 rounding per entry).
 */

import type { FloatVec } from './vector.ts';

/** The `clip:` section; max_norm null (or absent) means no clipping. */
export interface ClipConfig {
  max_norm?: number | null;
}

/** What clipping did: the pre-clip norm and the factor the gradient was multiplied by. */
export interface ClipResult {
  /** ‖g‖₂ before clipping (float64 accumulation); NaN/Infinity if g is not finite. */
  norm: number;
  /** Factor applied: min(1, max_norm/norm); 1 when not clipped or when norm is not finite. */
  scale: number;
}

/** Euclidean norm ‖v‖₂ accumulated in float64; rescales to avoid overflow for huge entries. */
export function globalNorm(v: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  if (Number.isFinite(sum)) return Math.sqrt(sum);
  // Overflow (float64 entries > ~1e154) or a non-finite entry: redo scaled by max |v_i|.
  let big = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (!(a <= big)) big = a; // NaN sticks
  }
  if (!Number.isFinite(big)) return big;
  let scaled = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] / big;
    scaled += x * x;
  }
  return big * Math.sqrt(scaled);
}

/**
 * The factor clipping multiplies a gradient of norm `norm` by: min(1, maxNorm/norm), and 1 when
 * there is no limit (null/undefined/Infinity) or the norm is not finite (so divergence stays
 * visible downstream). maxNorm must be > 0 when given.
 */
export function clipScale(norm: number, maxNorm: number | null | undefined): number {
  if (maxNorm !== null && maxNorm !== undefined && !(maxNorm > 0)) {
    throw new Error(`clip.max_norm must be > 0 (or null), got ${String(maxNorm)}`);
  }
  if (maxNorm === null || maxNorm === undefined || !Number.isFinite(norm) || norm <= maxNorm) return 1;
  return maxNorm / norm;
}

/**
 * Clips `grad` in place to global norm <= `maxNorm` (> 0; null/undefined/Infinity = no clip).
 * A non-finite gradient is left untouched (scale 1) so divergence stays visible downstream.
 */
export function clipGradNorm(grad: FloatVec, maxNorm: number | null | undefined): ClipResult {
  const norm = globalNorm(grad);
  const scale = clipScale(norm, maxNorm);
  if (scale !== 1) for (let i = 0; i < grad.length; i++) grad[i] *= scale;
  return { norm, scale };
}
