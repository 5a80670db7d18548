/**
 * Tight Float64Array kernels shared by the curvature algorithms. Vectors can be ~10^6 long
 * (one entry per network parameter), so everything here works in place and allocates only
 * what it returns.
 */
import type { Rng } from '../util/random.ts';

/** Inner product aᵀb of two equal-length vectors. */
export function dot(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  // Four accumulators: faster (breaks the add dependency chain) and a little more accurate.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * b[i];
  return s0 + s1 + (s2 + s3);
}

/** Euclidean norm ‖a‖₂. */
export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** y ← y + alpha·x, in place. */
export function axpy(y: Float64Array, alpha: number, x: Float64Array): void {
  const n = y.length;
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

/** x ← c·x, in place. */
export function scaleInPlace(x: Float64Array, c: number): void {
  const n = x.length;
  for (let i = 0; i < n; i++) x[i] *= c;
}

/**
 * Removes from w its components along basis[0..count-1] (assumed orthonormal) by classical
 * Gram–Schmidt applied twice ("twice is enough"), in place. The projections removed are added
 * into `coeffs` when given (length ≥ count), e.g. to correct a Lanczos α.
 */
export function orthogonalizeAgainst(
  w: Float64Array,
  basis: readonly Float64Array[],
  count: number,
  coeffs?: Float64Array,
): void {
  if (count === 0) return;
  const h = new Float64Array(count);
  for (let pass = 0; pass < 2; pass++) {
    // Classical GS: all projections from the same w, then one subtraction sweep.
    for (let i = 0; i < count; i++) h[i] = dot(basis[i], w);
    for (let i = 0; i < count; i++) axpy(w, -h[i], basis[i]);
    if (coeffs) for (let i = 0; i < count; i++) coeffs[i] += h[i];
  }
}

/**
 * Orthonormal basis of span(vs) by CGS2, in input order. A vector whose norm drops below
 * relTol × its original norm after orthogonalization is numerically dependent: it is dropped
 * (`'drop'`) or reported as an error (`'throw'`). Inputs are not modified.
 */
export function orthonormalize(
  vs: readonly Float64Array[],
  onDependent: 'drop' | 'throw',
  relTol = 1e-10,
): Float64Array[] {
  const out: Float64Array[] = [];
  for (let j = 0; j < vs.length; j++) {
    const w = Float64Array.from(vs[j]);
    const n0 = norm(w);
    orthogonalizeAgainst(w, out, out.length);
    const n1 = norm(w);
    if (!(n1 > relTol * n0) || n0 === 0) {
      if (onDependent === 'throw') {
        throw new Error(`orthonormalize: vector ${j} is linearly dependent on the previous ones`);
      }
      continue;
    }
    scaleInPlace(w, 1 / n1);
    out.push(w);
  }
  return out;
}

/** Flips v in place so that its largest-magnitude entry (first one on ties) is positive. */
export function fixSign(v: Float64Array): void {
  let idx = 0;
  let best = -1;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > best) {
      best = a;
      idx = i;
    }
  }
  if (v.length > 0 && v[idx] < 0) scaleInPlace(v, -1);
}

/** A length-n vector of independent ±1 entries (Rademacher), 32 signs per RNG draw. */
export function rademacherArray(rng: Rng, n: number): Float64Array {
  const out = new Float64Array(n);
  let bits = 0;
  for (let i = 0; i < n; i++) {
    if ((i & 31) === 0) bits = rng.nextUint32();
    out[i] = bits & 1 ? 1 : -1;
    bits >>>= 1;
  }
  return out;
}
