/**
 * The Lanczos three-term recurrence with partial (Simon's) or full reorthogonalization: builds a
 * Krylov basis Q, orthonormal to working precision (full) or semi-orthogonal (partial:
 * |q_iᵀq_k| ≲ √ε, which keeps T = QᵀAQ's Ritz values accurate to O(ε‖A‖)), and the tridiagonal
 * T. Shared by the eigensolver (lanczos.ts) and stochastic Lanczos quadrature (density.ts).
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
import {
  basisDots,
  combination,
  dot,
  norm,
  orthogonalizeAgainst,
  reorthogonalize,
  scaleInPlace,
  subtractCombination,
  type Vec,
} from './vec.ts';

/** β below this × (running estimate of ‖T‖) counts as an invariant subspace (breakdown). */
export const BREAKDOWN_RTOL = 1e-12;

/**
 * Floor of the relative rounding level ε that partial reorthogonalization assumes for one step
 * (see Orthogonality), by working precision. Float32: a float32 HVP's own rounding is well
 * above ε32 (6e-8), so a conservative 1e-6 (≈ 17 ε32); float64: 1e-15 (≈ 4.5 ε64). The level
 * actually used is raised to the operator's observed asymmetry where that is larger.
 */
export const NOISE_FLOOR = { float32: 1e-6, float64: 1e-15 } as const;

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
  /**
   * 'partial' (default): each new vector is orthogonalized twice against q_j and q_{j−1} only,
   * and against the whole basis only when Simon's estimates of the loss of orthogonality
   * exceed √ε (then for two vectors in a row): the basis stays semi-orthogonal. 'full':
   * against the whole basis at every step (blocked classical Gram–Schmidt, DGKS).
   */
  readonly reorthogonalization?: 'partial' | 'full';
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
   * Steps whose new vector was orthogonalized against the whole basis: every step with 'full';
   * with 'partial' the ones the estimates called for (β ≈ 0 makes them blow up, so this includes
   * the step before a breakdown). Restarts after a breakdown are not counted.
   */
  readonly fullSweeps: number;
  /**
   * The relative rounding level ε of one step that 'partial' assumed (NOISE_FLOOR, or the
   * operator's observed asymmetry where larger): the basis is kept to |q_iᵀq_k| ≲ √ε. NaN with
   * 'full'.
   */
  readonly noiseLevel: number;
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

/** A partial-reorthogonalization step: α_j and β_j after the local passes, and the raw q_{j−1}ᵀ(A·q_j). */
interface LocalStep {
  readonly a: number;
  readonly b: number;
  /** q_{j−1}ᵀw before any projection (NaN at j = 0): compared with β_{j−1}, it shows the operator's asymmetry. */
  readonly hPrev: number;
}

/**
 * Where the Lanczos vectors live and how a step passes over them. A 'full' step j (step):
 * w = A·q_j, the three-term recurrence (projections recomputed), then full reorthogonalization
 * against q_0..q_j, repeated while it cancels much (DGKS, at most 3 sweeps), so that every
 * vector is orthogonalized at least twice. A 'partial' step (local): w = A·q_j orthogonalized
 * twice against q_j and q_{j−1} only; widen() then takes it against the whole basis when the
 * estimates call for it. Either way the result is held as the candidate q_{j+1}.
 */
interface Basis {
  /** 'full': α_j (corrected by every sweep) and β_j = ‖w‖ after the sweeps. */
  step(j: number, bPrev: number): Promise<{ a: number; b: number }>;
  /** 'partial': α_j and β_j after two local passes against q_j, q_{j−1}. */
  local(j: number): Promise<LocalStep>;
  /** The candidate of local() (norm b) swept against q_0..q_j (DGKS): α_j's correction and β_j after. */
  widen(j: number, b: number): Promise<{ da: number; b: number }>;
  /** The candidate (of norm b) becomes q_{j+1}. */
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
    async local(j) {
      const w = await prod.apply(basis[j]);
      // Classical Gram–Schmidt twice against [q_{j−1}, q_j]: the second pass removes what the
      // first one's rounding left (its share of α is added in).
      const two = j > 0 ? [basis[j - 1], basis[j]] : [basis[j]];
      const c = two.length;
      const h1 = new Float64Array(c);
      const h2 = new Float64Array(c);
      basisDots(two, c, w, h1);
      subtractCombination(w, two, c, h1);
      basisDots(two, c, w, h2);
      const b = Math.sqrt(subtractCombination(w, two, c, h2));
      pending = w;
      return { a: h1[c - 1] + h2[c - 1], b, hPrev: j > 0 ? h1[0] : NaN };
    },
    async widen(j, b) {
      coeffs.fill(0, 0, j + 1);
      const after = reorthogonalize(pending!, basis, j + 1, coeffs, b);
      return { da: coeffs[j], b: after };
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
  // Where step j's candidate q_{j+1} goes: its row of Q, or a spare vector at the last step.
  const unitOf = (j: number): Float32Array => (j + 1 < steps ? row(j + 1) : (spare ??= new Float32Array(n)));
  return {
    async step(j) {
      const w = (await prod.apply(basis[j])) as Float32Array;
      const unit = unitOf(j);
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
    async local(j) {
      const w = (await prod.apply(basis[j])) as Float32Array;
      const lo = Math.max(0, j - 1);
      // Both passes against rows j−1, j and the normalization in one native call, the result
      // written straight into its row of Q.
      const r = await kernels.sweepTwice(Q.subarray(lo * n, (j + 1) * n), j + 1 - lo, w, unitOf(j));
      const last = j - lo;
      return { a: r.h1[last]! + r.h2[last]!, b: Math.sqrt(r.ss), hPrev: j > 0 ? r.h1[0]! : NaN };
    },
    async widen(j, b) {
      // The candidate is unit already: sweep a copy of it (the kernels write unit elsewhere than
      // their input), and scale the sweeps' results back by its norm b.
      const unit = unitOf(j);
      scratch[0].set(unit);
      let before = 1;
      let after = 1;
      let da = 0;
      let cur = 0;
      for (let sweep = 0; sweep < 3; sweep++) {
        const r = await kernels.sweep(Q, j + 1, scratch[cur], scratch[1 - cur], unit);
        cur = 1 - cur;
        da += r.h[j]!;
        after = Math.sqrt(r.ss);
        if (!(after < Math.SQRT1_2 * before)) break;
        before = after;
      }
      return { da: b * da, b: b * after };
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
    async local() {
      const w = await dev.apply(cur);
      const r = prev ? await k.sweepTwice2(prev, cur, w) : await k.sweepTwice(Q, w);
      free(w, candidate);
      candidate = r.unit;
      const last = r.h.length - 1;
      return { a: r.h[last]! + r.h2[last]!, b: Math.sqrt(r.ss), hPrev: prev ? r.h[0]! : NaN };
    },
    async widen(j, b) {
      // The candidate is unit already; sweepAll replaces it (and frees it) with its swept copy.
      const { a, after } = await sweepAll(candidate!, 1, j);
      return { da: b * a, b: b * after };
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
 * Simon's ω-recurrence (Simon 1984): estimates ω_{i,k} of q_iᵀq_k, the Lanczos vectors' loss of
 * orthogonality, from α's and β's alone (host scalars, wherever the basis lives). With
 * Aq_i = β_i q_{i+1} + α_i q_i + β_{i−1} q_{i−1} − f_i for every i (f_i: step i's rounding,
 * the product's included) and A symmetric:
 *   β_j ω_{j+1,k} = β_k ω_{j,k+1} + (α_k − α_j) ω_{j,k} + β_{k−1} ω_{j,k−1} − β_{j−1} ω_{j−1,k} + ϑ_{j,k},
 * ϑ_{j,k} = q_jᵀf_k − q_kᵀf_j. It is bounded by ε(‖Aq_j‖ + ‖Aq_k‖), ‖Aq_i‖ ≈ the norm of T's
 * row i, and added with the sign of the rest, so that the estimates err large. Three rows are
 * kept: ω_{j−1,·}, ω_{j,·} and ω_{j+1,·}.
 */
class Orthogonality {
  private prev: Float64Array;
  private cur: Float64Array;
  private next: Float64Array;

  constructor(steps: number) {
    this.prev = new Float64Array(steps + 1);
    this.cur = new Float64Array(steps + 1);
    this.next = new Float64Array(steps + 1);
    this.cur[0] = 1; // ω_{0,0}
  }

  /**
   * ω_{j+1,k} for k ≤ j from α_0..α_j, β_0..β_{j−1}, β_j = b and the relative rounding level
   * eps; returns max_k |ω_{j+1,k}| (∞ or NaN when b = 0).
   */
  estimate(j: number, alpha: readonly number[], beta: readonly number[], b: number, eps: number): number {
    const { prev, cur, next } = this;
    const aj = alpha[j];
    const bPrev = j > 0 ? beta[j - 1] : 0;
    const rj = Math.hypot(aj, bPrev, b);
    let worst = 0;
    // k = j−1, j: see below.
    for (let k = 0; k + 1 < j; k++) {
      let t = beta[k] * cur[k + 1] + (alpha[k] - aj) * cur[k] - bPrev * prev[k];
      if (k > 0) t += beta[k - 1] * cur[k - 1];
      const theta = eps * (rj + Math.hypot(alpha[k], k > 0 ? beta[k - 1] : 0, beta[k]));
      t = (t + (t < 0 ? -theta : theta)) / b;
      next[k] = t;
      worst = Math.max(worst, Math.abs(t));
    }
    // Against q_{j−1} and q_j the two local passes leave rounding only: at most the level that
    // one pass keeps locally in plain Lanczos, ϑ_{j,j}/β_j.
    const local = (2 * eps * rj) / b;
    if (j > 0) next[j - 1] = local;
    next[j] = local;
    next[j + 1] = 1;
    return Math.max(worst, local);
  }

  /** q_{j+1} was orthogonalized against the whole basis: its estimates drop to the rounding level. */
  reset(j: number, level: number): void {
    this.next.fill(level, 0, j + 1);
    this.next[j + 1] = 1;
  }

  /** q_{j+1} joins the basis: its row becomes the current one. */
  advance(): void {
    const spare = this.prev;
    this.prev = this.cur;
    this.cur = this.next;
    this.next = spare;
  }
}

/**
 * Runs up to `steps` Lanczos steps from `start` (any nonzero vector; normalized internally).
 * Each step is one matvec and the three-term recurrence, then:
 * - 'partial' (default; Simon's partial reorthogonalization): a second classical Gram–Schmidt
 *   pass against q_j and q_{j−1}, which also normalizes. The estimates ω_{j+1,k} of q_{j+1}ᵀq_k
 *   (Orthogonality) follow from α, β; when max_k |ω_{j+1,k}| exceeds √ε, q_{j+1} and the next
 *   vector are swept against the whole basis (the next one because q_j's loss of orthogonality
 *   would pass to it through the recurrence), and their estimates reset to ε. ε is the relative
 *   rounding of one step: NOISE_FLOOR for the working precision, raised to the largest
 *   asymmetry |q_{j−1}ᵀAq_j − β_{j−1}|/(‖Aq_{j−1}‖ + ‖Aq_j‖) seen so far (a direct sample of
 *   ϑ_{j,j−1}, so of the products' own error where that is the larger). The basis stays semi-orthogonal (|q_iᵀq_k| ≲ √ε), which
 *   keeps T's Ritz values those of a nearby matrix (Simon); `fullSweeps` counts the sweeps.
 * - 'full': full reorthogonalization at every step (a blocked classical Gram–Schmidt sweep
 *   against the whole basis, repeated when it cancels much, DGKS), so with the recurrence as
 *   the first pass every vector is orthogonalized at least twice.
 * Restarts after a breakdown are orthogonalized against the whole basis either way.
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
  const mode = options.reorthogonalization ?? 'partial';
  if (mode !== 'partial' && mode !== 'full') {
    throw new Error(`Lanczos: reorthogonalization must be 'partial' or 'full', got ${String(mode)}`);
  }
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
  const omega = mode === 'partial' ? new Orthogonality(steps) : undefined;
  let noise: number = prod.float32 ? NOISE_FLOOR.float32 : NOISE_FLOOR.float64;
  let fullSweeps = 0;
  // Simon's rule: the vector after a reorthogonalized one is reorthogonalized as well.
  let forced = false;
  const alpha: number[] = [];
  const beta: number[] = [];
  const breaks: Coupling[] = [];
  let couplings: Coupling[] = [];
  let normEst = 0;
  try {
    for (let j = 0; j < steps; j++) {
      const bPrev = j > 0 ? beta[j - 1] : 0;
      let a: number;
      let b: number;
      if (!omega) {
        ({ a, b } = await B.step(j, bPrev));
        fullSweeps++;
      } else {
        const local = await B.local(j);
        a = local.a;
        b = local.b;
        if (Number.isFinite(a) && Number.isFinite(b) && j + 1 < steps) {
          if (j > 0) {
            // The asymmetry q_{j−1}ᵀAq_j − β_{j−1} is one sample of ϑ_{j,j−1} (see Orthogonality).
            const scale = Math.hypot(a, bPrev, b) + Math.hypot(alpha[j - 1], j > 1 ? beta[j - 2] : 0, bPrev);
            if (scale > 0) noise = Math.max(noise, Math.abs(local.hPrev - bPrev) / scale);
          }
          alpha.push(a);
          const worst = omega.estimate(j, alpha, beta, b, noise);
          alpha.pop();
          // NaN (b = 0, a breakdown) counts as exceeded; the last step's candidate is never used.
          const exceeded = !(worst <= Math.sqrt(noise));
          if ((exceeded || forced) && b > 0) {
            const wide = await B.widen(j, b);
            a += wide.da;
            b = wide.b;
            omega.reset(j, noise);
            fullSweeps++;
            forced = exceeded && !forced;
          } else forced = false;
        }
      }
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
        omega?.advance();
        continue;
      }
      if (options.onBreakdown === 'stop') break;
      // Invariant subspace: continue in a random direction orthogonal to it. A and the basis span
      // are invariant, so T stays tridiagonal with a zero coupling here.
      if (!(await B.restart(j, options.rng))) break; // basis already spans R^n numerically
      omega?.reset(j, noise);
      omega?.advance();
      forced = false;
      breaks.push({ row: j, beta: b });
      beta.push(0);
    }
  } catch (e) {
    B.result(alpha.length).release();
    throw e;
  }
  const m = alpha.length;
  const noiseLevel = omega ? noise : NaN;
  return { alpha, beta: beta.slice(0, m - 1), couplings, steps: m, fullSweeps, noiseLevel, ...B.result(m) };
}
