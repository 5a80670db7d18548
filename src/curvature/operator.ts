/**
 * Symmetric linear operators R^dim → R^dim and combinators on them. Curvature algorithms see a
 * matrix only through `matvec`, so the same code serves the Hessian, the Gauss–Newton matrix,
 * the Adam-preconditioned Hessian P^-1/2 H P^-1/2, per-layer blocks, and dense test matrices.
 */

import type { BasisKernels } from '../engine/basisKernels.ts';
import type { DeviceValue } from '../engine/backend.ts';
import type { DeviceBasisKernels } from '../engine/webgpu/deviceBasis.ts';
import type { Rng } from '../util/random.ts';
import type { Vec } from './vec.ts';

/** A symmetric linear map R^dim -> R^dim. matvec may be async (it runs a neural-net HVP). */
export interface LinearOperator {
  readonly dim: number;
  /**
   * A·v. Must not modify v; returns a fresh length-dim array that the caller owns (callers
   * mutate it in place, e.g. Lanczos reuses it as its next basis vector).
   */
  matvec(v: Float64Array): Promise<Float64Array>;
  /** Optional block product (columns as separate arrays); default = sequential matvecs. */
  matmat?(vs: readonly Float64Array[]): Promise<Float64Array[]>;
  /**
   * Optional native float32 product for operators that compute in float32 (the HVP on
   * onnxruntime): same contract as matvec. Solvers then keep their vectors in float32 and
   * skip two float64↔float32 conversions per product.
   */
  matvec32?(v: Float32Array): Promise<Float32Array>;
  /**
   * Optional native kernels for the solvers' float32 vectors (Gram–Schmidt sweeps over the
   * Krylov basis), e.g. onnxruntime's for a Hessian built on a Runtime. They do not depend on
   * A, so combinators pass them through; without them solvers use their JS loops.
   */
  readonly basisKernels?: BasisKernels;
  /**
   * Optional product on vectors in WebGPU device memory, with basis kernels there (the Hessian
   * on the webgpu backend): Lanczos then keeps its whole basis on the device. Combinators that
   * change the product (scaling, shifts, preconditioning) do not pass it on.
   */
  readonly device?: DeviceOperator;
}

/** A·v on device vectors ([1, dim] float32); the result is a new device value the caller releases. */
export interface DeviceOperator {
  apply(v: DeviceValue): Promise<DeviceValue>;
  readonly kernels: DeviceBasisKernels;
  /** Frees what the operator holds in device memory between solver runs (e.g. θ's copy); apply() makes it again. */
  release?(): void;
}

/** op's basis kernels as a spread-able field of a derived operator (none if op has none). */
function kernelsOf(op: LinearOperator): { basisKernels?: BasisKernels } {
  return op.basisKernels ? { basisKernels: op.basisKernels } : {};
}

/** Working precision of an iterative solver: 'auto' = float32 where the operator offers matvec32. */
export type Precision = 'auto' | 'float64';

/** The product and vector type a solver works with for op (see Precision). */
export interface WorkingProduct {
  readonly float32: boolean;
  /** A·v in the working type; returns a fresh array the caller owns. */
  apply(v: Vec): Promise<Vec>;
  /** A copy of src (length dim) in the working type. */
  vector(src: ArrayLike<number>): Vec;
  /** A fresh length-dim vector of N(0, 1) draws from rng, in the working type (no float64 copy first). */
  randomNormal(rng: Rng): Vec;
}

/** Picks the solver's working product for op (float32 only where op has matvec32 and precision is 'auto'). */
export function workingProduct(op: LinearOperator, precision: Precision = 'auto'): WorkingProduct {
  if (precision !== 'auto' && precision !== 'float64') {
    throw new Error(`precision must be 'auto' or 'float64', got ${String(precision)}`);
  }
  const m32 = precision === 'auto' ? op.matvec32?.bind(op) : undefined;
  const check = (r: Vec): Vec => {
    if (r.length !== op.dim) throw new Error(`operator returned length ${r.length}, expected ${op.dim}`);
    return r;
  };
  if (m32) {
    return {
      float32: true,
      apply: async (v) => check(await m32(v instanceof Float32Array ? v : new Float32Array(v))),
      vector: (src) => new Float32Array(src),
      randomNormal: (rng) => fillNormal(rng, new Float32Array(op.dim)),
    };
  }
  return {
    float32: false,
    apply: async (v) => check(await op.matvec(v instanceof Float64Array ? v : new Float64Array(v))),
    vector: (src) => new Float64Array(src),
    randomNormal: (rng) => fillNormal(rng, new Float64Array(op.dim)),
  };
}

function fillNormal<V extends Vec>(rng: Rng, v: V): V {
  rng.fillNormal(v);
  return v;
}

function checkLength(what: string, v: Vec, dim: number): void {
  if (v.length !== dim) throw new Error(`${what}: expected a vector of length ${dim}, got ${v.length}`);
}

/** A·vs for a block of vectors: uses op.matmat when present, else sequential matvecs. */
export async function applyBlock(op: LinearOperator, vs: readonly Float64Array[]): Promise<Float64Array[]> {
  if (vs.length === 0) return [];
  const out = op.matmat ? await op.matmat(vs) : [];
  if (!op.matmat) for (const v of vs) out.push(await op.matvec(v));
  if (out.length !== vs.length) throw new Error(`matmat returned ${out.length} columns for ${vs.length} inputs`);
  for (const r of out) checkLength('operator result', r, op.dim);
  return out;
}

/** Operator of a dense row-major symmetric n×n matrix A (length n²; symmetry is not checked). */
export function denseOperator(A: Float64Array, n: number): LinearOperator {
  if (!Number.isInteger(n) || n < 1) throw new Error(`denseOperator: n must be a positive integer, got ${n}`);
  if (A.length !== n * n) throw new Error(`denseOperator: expected ${n * n} entries for n=${n}, got ${A.length}`);
  return {
    dim: n,
    async matvec(v: Float64Array): Promise<Float64Array> {
      checkLength('denseOperator.matvec', v, n);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) s += A[row + j] * v[j];
        out[i] = s;
      }
      return out;
    },
  };
}

/** Operator of diag(d), length-n vector d. */
export function diagonalOperator(d: Float64Array): LinearOperator {
  const n = d.length;
  if (n < 1) throw new Error('diagonalOperator: empty diagonal');
  return {
    dim: n,
    async matvec(v: Float64Array): Promise<Float64Array> {
      checkLength('diagonalOperator.matvec', v, n);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = d[i] * v[i];
      return out;
    },
  };
}

/** c·A for a scalar c. */
export function scaledOperator(op: LinearOperator, c: number): LinearOperator {
  const scale = <T extends Vec>(r: T): T => {
    for (let i = 0; i < r.length; i++) r[i] *= c;
    return r;
  };
  const m32 = op.matvec32?.bind(op);
  return {
    dim: op.dim,
    matvec: async (v) => scale(await op.matvec(v)),
    ...kernelsOf(op),
    ...(m32 ? { matvec32: async (v: Float32Array) => scale(await m32(v)) } : {}),
    ...(op.matmat ? { matmat: async (vs: readonly Float64Array[]) => (await applyBlock(op, vs)).map(scale) } : {}),
  };
}

/** A − σI (spectral shift), e.g. to steer power iteration towards the other end of the spectrum. */
export function shiftedOperator(op: LinearOperator, sigma: number): LinearOperator {
  const shift = <T extends Vec>(r: T, v: Vec): T => {
    for (let i = 0; i < r.length; i++) r[i] -= sigma * v[i];
    return r;
  };
  const m32 = op.matvec32?.bind(op);
  return {
    dim: op.dim,
    matvec: async (v) => shift(await op.matvec(v), v),
    ...kernelsOf(op),
    ...(m32 ? { matvec32: async (v: Float32Array) => shift(await m32(v), v) } : {}),
    ...(op.matmat
      ? { matmat: async (vs: readonly Float64Array[]) => (await applyBlock(op, vs)).map((r, j) => shift(r, vs[j])) }
      : {}),
  };
}

/** Congruence S·A·S with S = diag(s): v ↦ s ⊙ A(s ⊙ v). Symmetric whenever A is. */
export function congruenceOperator(op: LinearOperator, s: Float64Array): LinearOperator {
  const n = op.dim;
  checkLength('congruenceOperator scaling', s, n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(s[i])) throw new Error(`congruenceOperator: scaling entry ${i} is ${s[i]}`);
  }
  const pre = <T extends Vec>(v: T): T => {
    checkLength('congruenceOperator.matvec', v, n);
    const out = (v instanceof Float32Array ? new Float32Array(n) : new Float64Array(n)) as T;
    for (let i = 0; i < n; i++) out[i] = s[i] * v[i];
    return out;
  };
  const post = <T extends Vec>(r: T): T => {
    for (let i = 0; i < n; i++) r[i] *= s[i];
    return r;
  };
  const m32 = op.matvec32?.bind(op);
  return {
    dim: n,
    matvec: async (v) => post(await op.matvec(pre(v))),
    ...kernelsOf(op),
    ...(m32 ? { matvec32: async (v: Float32Array) => post(await m32(pre(v))) } : {}),
    ...(op.matmat
      ? { matmat: async (vs: readonly Float64Array[]) => (await applyBlock(op, vs.map(pre))).map(post) }
      : {}),
  };
}

/**
 * Preconditioned operator P^-1/2 A P^-1/2 for a positive diagonal preconditioner P = diag(p)
 * (length dim; for Adam, p ∝ √v̂ + ε): v ↦ p^-1/2 ⊙ A(p^-1/2 ⊙ v). Same spectrum as P^-1 A.
 */
export function preconditionedOperator(op: LinearOperator, p: Float64Array): LinearOperator {
  checkLength('preconditionedOperator diagonal', p, op.dim);
  const s = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] > 0) || !Number.isFinite(p[i])) {
      throw new Error(`preconditionedOperator: diagonal entry ${i} must be positive and finite, got ${p[i]}`);
    }
    s[i] = 1 / Math.sqrt(p[i]);
  }
  return congruenceOperator(op, s);
}

/**
 * The principal sub-block A[I, I] for distinct coordinates I (e.g. one layer's parameters):
 * v ↦ (A·embed(v))[I], where embed puts v on I and zeros elsewhere. dim = I.length.
 */
export function restrictedOperator(op: LinearOperator, indices: ArrayLike<number>): LinearOperator {
  const m = indices.length;
  if (m < 1) throw new Error('restrictedOperator: no indices');
  const idx = Int32Array.from(indices as ArrayLike<number>);
  const seen = new Uint8Array(op.dim);
  for (let i = 0; i < m; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= op.dim) {
      throw new Error(`restrictedOperator: index ${k} at position ${i} is outside [0, ${op.dim})`);
    }
    if (seen[k]) throw new Error(`restrictedOperator: index ${k} appears twice`);
    seen[k] = 1;
  }
  const embed = <T extends Vec>(v: T): T => {
    checkLength('restrictedOperator.matvec', v, m);
    const full = (v instanceof Float32Array ? new Float32Array(op.dim) : new Float64Array(op.dim)) as T;
    for (let i = 0; i < m; i++) full[idx[i]] = v[i];
    return full;
  };
  const take = <T extends Vec>(r: T): T => {
    const out = (r instanceof Float32Array ? new Float32Array(m) : new Float64Array(m)) as T;
    for (let i = 0; i < m; i++) out[i] = r[idx[i]];
    return out;
  };
  const m32 = op.matvec32?.bind(op);
  return {
    dim: m,
    matvec: async (v) => take(await op.matvec(embed(v))),
    ...kernelsOf(op),
    ...(m32 ? { matvec32: async (v: Float32Array) => take(await m32(embed(v))) } : {}),
    ...(op.matmat
      ? { matmat: async (vs: readonly Float64Array[]) => (await applyBlock(op, vs.map(embed))).map(take) }
      : {}),
  };
}

/**
 * The dense row-major dim×dim matrix of op, built column by column from A·e_j (dim matvecs,
 * in blocks of `blockSize` through matmat). For tests and tiny networks only.
 */
export async function materialize(op: LinearOperator, blockSize = 32): Promise<Float64Array> {
  const n = op.dim;
  const A = new Float64Array(n * n);
  for (let j0 = 0; j0 < n; j0 += blockSize) {
    const cols: Float64Array[] = [];
    for (let j = j0; j < Math.min(n, j0 + blockSize); j++) {
      const e = new Float64Array(n);
      e[j] = 1;
      cols.push(e);
    }
    const res = await applyBlock(op, cols);
    for (let c = 0; c < res.length; c++) {
      const col = res[c];
      const j = j0 + c;
      for (let i = 0; i < n; i++) A[i * n + j] = col[i];
    }
  }
  return A;
}
