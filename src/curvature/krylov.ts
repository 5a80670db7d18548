/**
 * The Lanczos three-term recurrence with full reorthogonalization: builds an orthonormal Krylov
 * basis Q and the tridiagonal T = QᵀAQ. Shared by the eigensolver (lanczos.ts) and stochastic
 * Lanczos quadrature (density.ts).
 */
import type { Rng } from '../util/random.ts';
import type { BasisKernels } from '../engine/basisKernels.ts';
import type { DeviceValue } from '../engine/backend.ts';
import {
  workingProduct,
  type DeviceOperator,
  type LinearOperator,
  type Precision,
  type WorkingProduct,
} from './operator.ts';
import { combination, dot, norm, orthogonalizeAgainst, reorthogonalize, scaleInPlace, type Vec } from './vec.ts';

/** β below this × (running estimate of ‖T‖) counts as an invariant subspace (breakdown). */
export const BREAKDOWN_RTOL = 1e-12;

/**
 * A residual coupling of T: row `row` of T is coupled by `beta` to a direction outside the basis
 * (the next Lanczos vector, or a direction dropped at a breakdown). For a Ritz pair (θ, s),
 * ‖A Qs − θ Qs‖ = √(Σ (beta·s[row])²) up to rounding.
 */
export interface Coupling {
  readonly row: number;
  readonly beta: number;
}

/** The tridiagonal so far, as seen by a stopping test. */
export interface KrylovState {
  /** Diagonal of T (length m). */
  readonly alpha: readonly number[];
  /** Off-diagonal of T (length m−1; 0 after a breakdown restart). */
  readonly beta: readonly number[];
  /** Couplings to outside the basis: breakdowns so far, and the last row. */
  readonly couplings: readonly Coupling[];
}

export interface KrylovOptions {
  /** Maximum number of Lanczos steps (capped at dim). */
  readonly steps: number;
  /** Draws restart vectors after a breakdown. */
  readonly rng: Rng;
  /**
   * On breakdown (β≈0, Krylov space invariant): 'restart' continues from a random vector
   * orthogonal to the basis (the eigensolver, so later eigenvalues are still found); 'stop'
   * ends the recurrence (quadrature, which is then exact for the start vector).
   */
  readonly onBreakdown: 'restart' | 'stop';
  /** Called after each step; returning true ends the recurrence early. */
  readonly stopWhen?: (state: KrylovState) => boolean;
  /**
   * 'auto' (default): the basis is float32 when the operator offers matvec32 (its products are
   * float32 anyway; sums are still float64, orthogonality holds to float32 rounding);
   * 'float64' forces float64 vectors.
   */
  readonly precision?: Precision;
  /**
   * Where the basis lives: 'auto' (default) in device memory when the operator offers a device
   * product (webgpu), else on the host; 'host' keeps it on the host regardless (to compare).
   */
  readonly basis?: 'auto' | 'host';
}

export interface KrylovResult extends KrylovState {
  /**
   * The orthonormal Lanczos vectors q_0..q_{m−1}, each length dim (float32 when the operator's
   * products are); empty when the basis lives in device memory (see `combine`).
   */
  readonly basis: Vec[];
  /** Steps done (= m = alpha.length = matvecs). */
  readonly steps: number;
  /**
   * With the operator's basis kernels: the basis as one row-major float32 matrix (at least
   * m rows of length dim; basis[i] are views of its rows), for native products with Q.
   */
  readonly matrix?: Float32Array;
  /** Q·s (s: length m) as a float64 vector of length dim, wherever the basis lives. */
  combine(s: readonly number[]): Promise<Float64Array>;
  /** Frees a basis held in device memory (a no-op for host bases); combine() fails afterwards. */
  release(): void;
  /** Where the basis lived: 'host' (JS vectors or a native float32 matrix) or 'device' (WebGPU memory). */
  readonly where: 'host' | 'device';
}

/**
 * w ← w − a·q − b·p (the three-term recurrence), in one sweep; returns ‖w‖² afterwards.
 * p is ignored when b = 0.
 */
function threeTerm(w: Vec, a: number, q: Vec, b: number, p: Vec | undefined): number {
  const n = w.length;
  let ss = 0;
  if (b !== 0 && p) {
    for (let i = 0; i < n; i++) {
      w[i] = w[i] - a * q[i] - b * p[i];
      const x = w[i];
      ss += x * x;
    }
  } else {
    for (let i = 0; i < n; i++) {
      w[i] = w[i] - a * q[i];
      const x = w[i];
      ss += x * x;
    }
  }
  return ss;
}

/**
 * Where the Lanczos vectors live and how a step passes over them. Step j: w = A·q_j, the
 * three-term recurrence (projections recomputed), then full reorthogonalization against
 * q_0..q_j, repeated while it cancels much (DGKS, at most 3 sweeps), so that every vector is
 * orthogonalized at least twice; the normalized result is held as the candidate q_{j+1}.
 */
interface Basis {
  /** α_j (corrected by every sweep) and β_j = ‖w‖ after the sweeps. */
  step(j: number, bPrev: number): Promise<{ a: number; b: number }>;
  /** The candidate (normalized by b) becomes q_{j+1}. */
  accept(j: number, b: number): Promise<void>;
  /** A random unit vector orthogonal to q_0..q_j becomes q_{j+1}; false when none is left numerically. */
  restart(j: number, rng: Rng): Promise<boolean>;
  /** The result's view of the first m vectors. */
  result(m: number): Pick<KrylovResult, 'basis' | 'matrix' | 'combine' | 'release' | 'where'>;
}

/** A random vector orthogonalized twice against `basis` and normalized, or null if it vanishes. */
function randomOrthogonal(prod: WorkingProduct, basis: readonly Vec[], rng: Rng): Vec | null {
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = prod.randomNormal(rng);
    const r0 = norm(r);
    orthogonalizeAgainst(r, basis, basis.length);
    const r1 = norm(r);
    if (r1 > 1e-8 * r0) {
      scaleInPlace(r, 1 / r1);
      return r;
    }
  }
  return null; // the basis spans R^n numerically
}

/** Host vectors swept by JS loops (float64, or float32 without native kernels); products' results become rows in place. */
function hostBasis(prod: WorkingProduct, q0: Vec, steps: number): Basis {
  const basis: Vec[] = [q0];
  const coeffs = new Float64Array(steps);
  let pending: Vec | undefined;
  return {
    async step(j, bPrev) {
      const q = basis[j];
      const w = await prod.apply(q);
      let a = dot(q, w);
      const n1 = Math.sqrt(threeTerm(w, a, q, bPrev, j > 0 ? basis[j - 1] : undefined));
      // Full reorthogonalization; the correction along q_j refines α.
      coeffs.fill(0, 0, j + 1);
      const b = reorthogonalize(w, basis, j + 1, coeffs, n1);
      a += coeffs[j];
      pending = w;
      return { a, b };
    },
    async accept(_j, b) {
      scaleInPlace(pending!, 1 / b);
      basis.push(pending!);
    },
    async restart(_j, rng) {
      const r = randomOrthogonal(prod, basis, rng);
      if (r) basis.push(r);
      return r !== null;
    },
    result(m) {
      basis.length = m;
      return {
        basis,
        combine: async (s) => combination(basis, m, s, new Float64Array(q0.length)),
        release: () => {},
        where: 'host',
      };
    },
  };
}

/**
 * Float32 vectors in one preallocated steps×n matrix Q, every pass over it on native kernels
 * (onnxruntime's CPU MatMuls): the next vector is written straight into its row of Q.
 */
function nativeBasis(prod: WorkingProduct, kernels: BasisKernels, q0: Float32Array, steps: number): Basis {
  const n = q0.length;
  const Q = new Float32Array(steps * n);
  const row = (i: number): Float32Array => Q.subarray(i * n, (i + 1) * n);
  Q.set(q0);
  const basis: Vec[] = [row(0)];
  const scratch: [Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n)];
  let spare: Float32Array | undefined;
  return {
    async step(j) {
      const w = (await prod.apply(basis[j])) as Float32Array;
      const unit = j + 1 < steps ? row(j + 1) : (spare ??= new Float32Array(n));
      const count = j + 1;
      const lo = Math.max(0, j - 1);
      const local = await kernels.project(Q.subarray(lo * n, count * n), count - lo, w, scratch[0]);
      let a = local.h[j - lo]!;
      let before = Math.sqrt(local.ss);
      let after = before;
      let cur = 0;
      for (let sweep = 0; sweep < 3; sweep++) {
        const r = await kernels.sweep(Q, count, scratch[cur]!, scratch[1 - cur]!, unit);
        cur = 1 - cur;
        a += r.h[j]!;
        after = Math.sqrt(r.ss);
        if (!(after < Math.SQRT1_2 * before)) break;
        before = after;
      }
      return { a, b: after };
    },
    async accept(j) {
      basis.push(row(j + 1)); // already normalized by the sweep
    },
    async restart(j, rng) {
      const r = randomOrthogonal(prod, basis, rng);
      if (r) {
        row(j + 1).set(r);
        basis.push(row(j + 1));
      }
      return r !== null;
    },
    result(m) {
      basis.length = m;
      return {
        basis,
        matrix: Q,
        combine: async (s) => {
          const out = new Float32Array(n);
          await kernels.combine(Q, m, Float32Array.from(s), out);
          return new Float64Array(out);
        },
        release: () => {},
        where: 'host',
      };
    },
  };
}

/**
 * The basis in WebGPU device memory: products, sweeps and the growing matrix Q stay on the
 * device, and only α's and β's ingredients (k coefficients and a squared norm per sweep) come
 * back to the host. Every device value made here is released as soon as it is not needed.
 */
async function deviceBasis(dev: DeviceOperator, q0: Float32Array): Promise<Basis> {
  const k = dev.kernels;
  const rt = k.runtime;
  const n = q0.length;
  const free = (...vs: (DeviceValue | undefined)[]) => {
    for (const v of vs) if (v) rt.release(v);
  };
  let Q = await rt.upload(q0, [1, n]);
  let prev: DeviceValue | undefined;
  let cur = await rt.upload(q0, [1, n]);
  let candidate: DeviceValue | undefined;
  // The candidate becomes q_{j+1}: Q grows by one row on the device, and the two newest rows
  // are kept for the three-term step.
  const grow = async (): Promise<void> => {
    const c = candidate!;
    candidate = undefined;
    const grown = await k.append(Q, c);
    free(Q, prev);
    Q = grown;
    prev = cur;
    cur = c;
  };
  const sweepAll = async (w: DeviceValue, before: number, j: number) => {
    let a = 0;
    let after = before;
    let x = w;
    for (let sweep = 0; sweep < 3; sweep++) {
      const r = await k.sweep(Q, x);
      if (x !== w) free(x);
      free(candidate);
      x = r.out;
      candidate = r.unit;
      a += r.h[j] ?? 0;
      after = Math.sqrt(r.ss);
      if (!(after < Math.SQRT1_2 * before)) break;
      before = after;
    }
    if (x !== w) free(x);
    return { a, after };
  };
  return {
    async step(j) {
      const w = await dev.apply(cur);
      const local = prev ? await k.project2(prev, cur, w) : await k.project(Q, w);
      free(w);
      const { a, after } = await sweepAll(local.out, Math.sqrt(local.ss), j);
      free(local.out);
      return { a: local.h[local.h.length - 1]! + a, b: after };
    },
    accept: () => grow(),
    async restart(_j, rng) {
      let ok = false;
      for (let attempt = 0; attempt < 5 && !ok; attempt++) {
        const r = new Float32Array(n);
        rng.fillNormal(r);
        const r0 = norm(r);
        const rv = await rt.upload(r, [1, n]);
        // Twice against the whole basis ("twice is enough"), then normalized by the second sweep.
        const first = await k.project(Q, rv);
        free(rv);
        const second = await k.sweep(Q, first.out);
        free(first.out, second.out);
        free(candidate);
        candidate = second.unit;
        ok = Math.sqrt(second.ss) > 1e-8 * r0;
      }
      if (ok) await grow();
      return ok;
    },
    result() {
      let released = false;
      return {
        basis: [],
        combine: async (s) => {
          if (released) throw new Error('Lanczos: the device basis was released');
          return new Float64Array(await k.combine(Q, Float32Array.from(s)));
        },
        release: () => {
          if (released) return;
          released = true;
          free(Q, prev, cur, candidate);
          dev.release?.();
        },
        where: 'device',
      };
    },
  };
}

/**
 * Runs up to `steps` Lanczos steps from `start` (any nonzero vector; normalized internally).
 * Each step is one matvec, the three-term recurrence, and full reorthogonalization: a blocked
 * classical Gram–Schmidt sweep against the whole basis, repeated when it cancels much (DGKS),
 * so with the recurrence as the first pass every vector is orthogonalized at least twice.
 * Where the basis lives follows the operator: in WebGPU device memory when it offers a device
 * product (only scalars cross to the host per step); else in one preallocated steps×dim float32
 * matrix swept by native kernels when it brings basis kernels; else in JS vectors (the
 * operator's results become basis vectors in place). Memory: one dim-length vector per step.
 * Call the result's release() when done with a device basis.
 */
export async function lanczosTridiagonalize(
  op: LinearOperator,
  start: Vec,
  options: KrylovOptions,
): Promise<KrylovResult> {
  const n = op.dim;
  if (start.length !== n) throw new Error(`Lanczos start vector has length ${start.length}, operator dim is ${n}`);
  const steps = Math.min(Math.floor(options.steps), n);
  if (!(steps >= 1)) throw new Error(`Lanczos needs at least one step, got ${options.steps}`);
  const prod = workingProduct(op, options.precision);
  const q0 = prod.vector(start);
  const n0 = norm(q0);
  if (!(n0 > 0) || !Number.isFinite(n0)) throw new Error('Lanczos start vector must be finite and nonzero');
  scaleInPlace(q0, 1 / n0);

  const B =
    prod.float32 && op.device && options.basis !== 'host'
      ? await deviceBasis(op.device, q0 as Float32Array)
      : prod.float32 && op.basisKernels
        ? nativeBasis(prod, op.basisKernels, q0 as Float32Array, steps)
        : hostBasis(prod, q0, steps);
  const alpha: number[] = [];
  const beta: number[] = [];
  const breaks: Coupling[] = [];
  let couplings: Coupling[] = [];
  let normEst = 0;
  try {
    for (let j = 0; j < steps; j++) {
      const bPrev = j > 0 ? beta[j - 1] : 0;
      const { a, b } = await B.step(j, bPrev);
      alpha.push(a);
      if (!Number.isFinite(b) || !Number.isFinite(a))
        throw new Error(`Lanczos: non-finite value at step ${j} (operator returned NaN/Inf?)`);
      normEst = Math.max(normEst, Math.abs(a) + bPrev + b);
      const breakdown = b <= BREAKDOWN_RTOL * normEst;
      couplings = [...breaks, { row: j, beta: b }];
      if (j + 1 === steps) break;
      if (options.stopWhen?.({ alpha, beta, couplings })) break;
      if (!breakdown) {
        beta.push(b);
        await B.accept(j, b);
        continue;
      }
      if (options.onBreakdown === 'stop') break;
      // Invariant subspace: continue in a random direction orthogonal to it. A and the basis span
      // are invariant, so T stays tridiagonal with a zero coupling here.
      if (!(await B.restart(j, options.rng))) break; // basis already spans R^n numerically
      breaks.push({ row: j, beta: b });
      beta.push(0);
    }
  } catch (e) {
    B.result(alpha.length).release();
    throw e;
  }
  const m = alpha.length;
  return { alpha, beta: beta.slice(0, m - 1), couplings, steps: m, ...B.result(m) };
}
