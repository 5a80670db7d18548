/**
 * Tight typed-array kernels shared by the curvature algorithms. Vectors can be ~10^6 long (one
 * entry per network parameter) and are Float64Array, or Float32Array where the operator's HVP
 * is float32 (no conversions per matvec). Sums are accumulated in float64 either way.
 * Everything works in place and allocates only what it returns. The kernels over a basis are
 * blocked: a block of w stays in cache while every basis vector streams past it once, which
 * makes a Gram–Schmidt sweep memory-bound on the basis alone.
 */
import type { Rng } from '../util/random.ts';

/** A dense vector: float64, or float32 where the operator computes in float32. */
export type Vec = Float32Array | Float64Array;

/** Elements per block of the basis kernels (w's block and scratch stay in L1/L2). */
const BLOCK = 2048;

/** Inner product aᵀb of two equal-length vectors. */
export function dot(a: Vec, b: Vec): number {
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
export function norm(a: Vec): number {
  return Math.sqrt(dot(a, a));
}

/** y ← y + alpha·x, in place. */
export function axpy(y: Vec, alpha: number, x: Vec): void {
  const n = y.length;
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

/** x ← c·x, in place. */
export function scaleInPlace(x: Vec, c: number): void {
  const n = x.length;
  for (let i = 0; i < n; i++) x[i] *= c;
}

/**
 * out[i] = basis[i]ᵀw for i < count (out: length ≥ count), in one blocked sweep: each basis
 * vector is read once, w stays in cache.
 */
export function basisDots(basis: readonly Vec[], count: number, w: Vec, out: Float64Array): void {
  const n = w.length;
  out.fill(0, 0, count);
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const k1 = Math.min(n, k0 + BLOCK);
    let i = 0;
    // Four basis vectors per pass over the block: one load of w feeds four independent sums.
    for (; i + 3 < count; i += 4) {
      const q0 = basis[i];
      const q1 = basis[i + 1];
      const q2 = basis[i + 2];
      const q3 = basis[i + 3];
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = k0; k < k1; k++) {
        const x = w[k];
        s0 += q0[k] * x;
        s1 += q1[k] * x;
        s2 += q2[k] * x;
        s3 += q3[k] * x;
      }
      out[i] += s0;
      out[i + 1] += s1;
      out[i + 2] += s2;
      out[i + 3] += s3;
    }
    for (; i < count; i++) {
      const q = basis[i];
      let s0 = 0;
      let s1 = 0;
      let k = k0;
      for (; k + 1 < k1; k += 2) {
        s0 += q[k] * w[k];
        s1 += q[k + 1] * w[k + 1];
      }
      if (k < k1) s0 += q[k] * w[k];
      out[i] += s0 + s1;
    }
  }
}

/**
 * w ← w − Σ_{i<count} c[i]·basis[i], in place, in one blocked sweep (the combination is
 * accumulated in float64 and rounded once into w). Returns ‖w‖² of the stored result.
 */
export function subtractCombination(w: Vec, basis: readonly Vec[], count: number, c: Float64Array): number {
  const n = w.length;
  const acc = new Float64Array(Math.min(BLOCK, n));
  let ss = 0;
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const len = Math.min(n, k0 + BLOCK) - k0;
    for (let t = 0; t < len; t++) acc[t] = w[k0 + t];
    let i = 0;
    // Four basis vectors per pass over the block: one load and store of acc per four terms.
    for (; i + 3 < count; i += 4) {
      const c0 = c[i];
      const c1 = c[i + 1];
      const c2 = c[i + 2];
      const c3 = c[i + 3];
      const q0 = basis[i].subarray(k0, k0 + len);
      const q1 = basis[i + 1].subarray(k0, k0 + len);
      const q2 = basis[i + 2].subarray(k0, k0 + len);
      const q3 = basis[i + 3].subarray(k0, k0 + len);
      for (let t = 0; t < len; t++) acc[t] -= c0 * q0[t] + c1 * q1[t] + c2 * q2[t] + c3 * q3[t];
    }
    for (; i < count; i++) {
      const ci = c[i];
      if (ci === 0) continue;
      const q = basis[i].subarray(k0, k0 + len);
      for (let t = 0; t < len; t++) acc[t] -= ci * q[t];
    }
    for (let t = 0; t < len; t++) {
      w[k0 + t] = acc[t];
      const x = w[k0 + t];
      ss += x * x;
    }
  }
  return ss;
}

/** out ← Σ_{i<count} c[i]·basis[i] (e.g. a Ritz vector Q·s), in one blocked sweep; returns out. */
export function combination<T extends Vec>(basis: readonly Vec[], count: number, c: ArrayLike<number>, out: T): T {
  out.fill(0);
  const coeffs = Float64Array.from({ length: count }, (_, i) => -c[i]);
  subtractCombination(out, basis, count, coeffs);
  return out;
}

/**
 * One Gram–Schmidt sweep of w against basis[0..count-1] (assumed orthonormal) with the
 * Daniel–Gragg–Kaufman–Stewart test: the classical sweep (all projections from the same w,
 * then one subtraction) is repeated while it shrinks ‖w‖ below 1/√2 of its norm before the
 * sweep, i.e. while cancellation may have left components along the basis (at most 3 sweeps;
 * "twice is enough"). The projections removed are added into `coeffs` when given. `norm0` is
 * ‖w‖ on entry if the caller knows it. Returns ‖w‖ after.
 */
export function reorthogonalize(
  w: Vec,
  basis: readonly Vec[],
  count: number,
  coeffs?: Float64Array,
  norm0?: number,
): number {
  let before = norm0 ?? norm(w);
  if (count === 0) return before;
  const h = new Float64Array(count);
  let after = before;
  for (let sweep = 0; sweep < 3; sweep++) {
    basisDots(basis, count, w, h);
    after = Math.sqrt(subtractCombination(w, basis, count, h));
    if (coeffs) for (let i = 0; i < count; i++) coeffs[i] += h[i];
    if (!(after < Math.SQRT1_2 * before)) break;
    before = after;
  }
  return after;
}

/**
 * Removes from w its components along basis[0..count-1] (assumed orthonormal) by classical
 * Gram–Schmidt applied twice ("twice is enough"), in place. The projections removed are added
 * into `coeffs` when given (length ≥ count), e.g. to correct a Lanczos α.
 */
export function orthogonalizeAgainst(w: Vec, basis: readonly Vec[], count: number, coeffs?: Float64Array): void {
  if (count === 0) return;
  const h = new Float64Array(count);
  for (let pass = 0; pass < 2; pass++) {
    basisDots(basis, count, w, h);
    subtractCombination(w, basis, count, h);
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
    const w = new Float64Array(vs[j]);
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
export function fixSign(v: Vec): void {
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
