/**
 * Input preprocessing, fitted on the training subset and applied unchanged to the test set.
 *
 * Every kind is the per-feature affine map  out = (raw / scale − mean[j]) / std[j], computed in
 * float64 and stored as float32, where `scale` is 255 for image bytes and 1 for synthetic inputs:
 * - none: scale 1, mean 0, std 1 (image inputs stay 0..255);
 * - scale: divide by `scale` only (images to [0, 1]; identity for synthetic sets);
 * - center: subtract the per-feature mean of the scaled training inputs;
 * - standardize: per feature, (x − mean) / std with the population std (ddof 0) of the scaled
 *   training inputs, so each feature of the training subset has mean 0 and std 1;
 * - global-standardize: one mean and one std over all features and samples.
 * A std below STD_FLOOR (a feature constant on the training subset, e.g. MNIST's border pixels)
 * is replaced by 1: such a feature is only centered, so it is 0 on the training set and stays
 * (x − mean) on the test set instead of being blown up by a 1/ε factor.
 */
import type { PreprocessKind } from './types.ts';

export const STD_FLOOR = 1e-6;

/** A fitted preprocessing map; mean and std have one entry per feature (length dim). */
export interface PreprocessStats {
  readonly kind: PreprocessKind;
  readonly scale: number;
  readonly dim: number;
  readonly mean: Float64Array;
  readonly std: Float64Array;
  /** Features whose fitted std fell below STD_FLOOR and was replaced by 1. */
  readonly constantFeatures: number;
}

/** Fits `kind` on n training rows of `dim` raw features (bytes or floats) with input scale `scale`. */
export function fitPreprocess(
  kind: PreprocessKind,
  raw: ArrayLike<number>,
  n: number,
  dim: number,
  scale: number,
): PreprocessStats {
  if (raw.length !== n * dim) throw new Error(`fitPreprocess: ${raw.length} values, expected n*dim = ${n}*${dim}`);
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim).fill(1);
  const s = kind === 'none' ? 1 : scale;
  let constantFeatures = 0;
  if (kind === 'none' || kind === 'scale') return { kind, scale: s, dim, mean, std, constantFeatures };
  if (n === 0) throw new Error(`preprocess ${kind} needs at least one training sample`);
  // Shifted by the first row: better rounding, and a constant feature gets exactly its value as
  // mean, so it maps to exactly 0.
  const shift = new Float64Array(dim);
  for (let j = 0; j < dim; j++) shift[j] = raw[j] / s;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) mean[j] += raw[o + j] / s - shift[j];
  }
  for (let j = 0; j < dim; j++) mean[j] = shift[j] + mean[j] / n;
  if (kind === 'center') return { kind, scale: s, dim, mean, std, constantFeatures };
  if (kind === 'global-standardize') {
    let m = 0;
    for (let j = 0; j < dim; j++) m += mean[j];
    m /= dim;
    let v = 0;
    for (let t = 0; t < n * dim; t++) {
      const d = raw[t] / s - m;
      v += d * d;
    }
    let sd = Math.sqrt(v / (n * dim));
    if (!(sd >= STD_FLOOR)) {
      sd = 1;
      constantFeatures = dim;
    }
    mean.fill(m);
    std.fill(sd);
    return { kind, scale: s, dim, mean, std, constantFeatures };
  }
  if (kind !== 'standardize')
    throw new Error(
      `preprocess must be one of none, scale, center, standardize, global-standardize; got ${String(kind)}`,
    );
  const v = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) {
      const d = raw[o + j] / s - mean[j];
      v[j] += d * d;
    }
  }
  for (let j = 0; j < dim; j++) {
    const sd = Math.sqrt(v[j] / n);
    if (sd >= STD_FLOOR) std[j] = sd;
    else constantFeatures++;
  }
  return { kind, scale: s, dim, mean, std, constantFeatures };
}

/** Applies fitted stats to rows of raw features (length multiple of dim) → float32. */
export function applyPreprocess(stats: PreprocessStats, raw: ArrayLike<number>): Float32Array {
  const { dim, scale, mean, std } = stats;
  if (raw.length % dim !== 0) throw new Error(`applyPreprocess: ${raw.length} values is not a multiple of dim ${dim}`);
  const out = new Float32Array(raw.length);
  const inv = new Float64Array(dim);
  for (let j = 0; j < dim; j++) inv[j] = 1 / std[j];
  const n = raw.length / dim;
  if (raw instanceof Uint8Array) {
    // Bytes: a 256-entry table of raw/scale keeps the loop monomorphic and division-free, with
    // the same float64 values as the generic path.
    const table = new Float64Array(256);
    for (let b = 0; b < 256; b++) table[b] = b / scale;
    for (let i = 0; i < n; i++) {
      const o = i * dim;
      for (let j = 0; j < dim; j++) out[o + j] = (table[raw[o + j]] - mean[j]) * inv[j];
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) out[o + j] = (raw[o + j] / scale - mean[j]) * inv[j];
  }
  return out;
}
