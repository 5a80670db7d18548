/**
 * Power iteration with deflation: a slow but simple cross-check for Lanczos. Pair p is the
 * dominant eigenpair of (I − VVᵀ)(A − shift·I) on the complement of the pairs V already found;
 * a final Rayleigh–Ritz step on span(V) removes the cross-talk that inexact earlier pairs
 * leave in later ones.
 */
import { createRng } from '../util/random.ts';
import { symmetricEigen } from './denseEigen.ts';
import { freezeEigenResult, isConverged, type EigenResult } from './eigenResult.ts';
import { workingProduct, type LinearOperator, type Precision } from './operator.ts';
import { axpy, dot, fixSign, norm, orthogonalizeAgainst, scaleInPlace, type Vec } from './vec.ts';

export interface PowerOptions {
  /** Number of eigenpairs (default 1). */
  readonly k?: number;
  /** Maximum iterations per eigenpair (default 1000). */
  readonly maxIterations?: number;
  /** Convergence: ‖Av − θv‖ ≤ tol·max(1,|θ|) (default 1e-6). */
  readonly tol?: number;
  /** Seed of the random start vectors (default 0). */
  readonly seed?: number;
  /** Warm start for the first pair. */
  readonly start?: Float64Array;
  /** Iterate with A − shift·I (default 0), e.g. shift ≈ λ_max to reach the smallest eigenvalues. */
  readonly shift?: number;
  /** 'auto' (default): float32 iterates when the operator offers matvec32; 'float64' forces float64. */
  readonly precision?: Precision;
}

/** v·w, w·w and v·v in one read pass (float64 sums; two interleaved sets break the add chains). */
function moments(v: Vec, w: Vec): [number, number, number] {
  const n = w.length;
  let vw0 = 0;
  let ww0 = 0;
  let vv0 = 0;
  let vw1 = 0;
  let ww1 = 0;
  let vv1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const w0 = w[i];
    const v0 = v[i];
    const w1 = w[i + 1];
    const v1 = v[i + 1];
    vw0 += v0 * w0;
    ww0 += w0 * w0;
    vv0 += v0 * v0;
    vw1 += v1 * w1;
    ww1 += w1 * w1;
    vv1 += v1 * v1;
  }
  if (i < n) {
    vw0 += v[i] * w[i];
    ww0 += w[i] * w[i];
    vv0 += v[i] * v[i];
  }
  return [vw0 + vw1, ww0 + ww1, vv0 + vv1];
}

/** ‖w − θv‖², exactly (one pass). */
function residual2(w: Vec, v: Vec, theta: number): number {
  const n = w.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const r = w[i] - theta * v[i];
    s += r * r;
  }
  return s;
}

/** next ← c·(w − shift·v), one write pass. */
function scaledShift(w: Vec, v: Vec, shift: number, c: number, next: Vec): void {
  const n = w.length;
  if (shift === 0) for (let i = 0; i < n; i++) next[i] = c * w[i];
  else for (let i = 0; i < n; i++) next[i] = c * (w[i] - shift * v[i]);
}

/**
 * Top-k eigenpairs by power iteration with projection deflation, ordered by decreasing
 * |λ − shift|. Pair p stops when its residual with the found pairs projected out is
 * ≤ tol·max(1,|θ|). Reported residuals ‖Av − θv‖ are exact and cost no extra matvecs: A·v
 * is kept from the last iteration of each pair and rotated along in the Rayleigh–Ritz step.
 */
export async function powerIteration(op: LinearOperator, options: PowerOptions = {}): Promise<EigenResult> {
  const n = op.dim;
  const kWanted = options.k ?? 1;
  if (!Number.isInteger(kWanted) || kWanted < 1)
    throw new Error(`powerIteration: k must be a positive integer, got ${kWanted}`);
  const k = Math.min(kWanted, n);
  const maxIt = options.maxIterations ?? 1000;
  if (!Number.isInteger(maxIt) || maxIt < 1) throw new Error(`powerIteration: maxIterations must be ≥ 1, got ${maxIt}`);
  const tol = options.tol ?? 1e-6;
  const shift = options.shift ?? 0;
  const rng = createRng(options.seed ?? 0);

  const prod = workingProduct(op, options.precision);
  const V: Vec[] = [];
  const AV: Vec[] = [];
  let iterations = 0;
  const t = prod.vector(new Float64Array(n)); // residual scratch (deflated pairs only)

  for (let p = 0; p < k; p++) {
    if (p === 0 && options.start && options.start.length !== n) {
      throw new Error(`powerIteration: start has length ${options.start.length}, operator dim is ${n}`);
    }
    let v = p === 0 && options.start ? prod.vector(options.start) : prod.randomNormal(rng);
    orthogonalizeAgainst(v, V, p);
    let nv = norm(v);
    if (!(nv > 0)) {
      v = prod.randomNormal(rng);
      orthogonalizeAgainst(v, V, p);
      nv = norm(v);
    }
    scaleInPlace(v, 1 / nv);
    let Av: Vec = prod.vector(new Float64Array(n));
    // The previous iterate's buffer, reused for the next iterate (no allocation per iteration).
    let free: Vec | undefined;
    for (let it = 0; it < maxIt; it++) {
      const w = await prod.apply(v);
      iterations++;
      // The next iterate (A − shift·I)v/‖·‖ goes into a buffer of its own: w is kept as A·v for
      // the final Rayleigh–Ritz step.
      const next: Vec = free ?? (w instanceof Float32Array ? new Float32Array(n) : new Float64Array(n));
      free = undefined;
      let theta: number;
      let res2: number;
      let next2: number;
      if (p === 0) {
        // Nothing deflated: one read pass gives θ, ‖w − θv‖² and ‖w − shift·v‖² in closed form,
        // and one write pass the next iterate. The residual's closed form cancels once it is
        // small next to ‖w‖, so near convergence it is recomputed exactly before it decides.
        const [vw, ww, vv] = moments(v, w);
        theta = vw;
        res2 = Math.max(0, ww - 2 * theta * vw + theta * theta * vv);
        if (Math.sqrt(res2) <= 10 * tol * Math.max(1, Math.abs(theta))) res2 = residual2(w, v, theta);
        next2 = Math.max(0, ww - 2 * shift * vw + shift * shift * vv);
      } else {
        theta = dot(v, w);
        for (let i = 0; i < n; i++) t[i] = w[i] - theta * v[i];
        orthogonalizeAgainst(t, V, p);
        res2 = dot(t, t);
        for (let i = 0; i < n; i++) next[i] = w[i] - shift * v[i];
        orthogonalizeAgainst(next, V, p);
        next2 = dot(next, next);
      }
      const res = Math.sqrt(res2);
      if (!Number.isFinite(res)) throw new Error(`powerIteration: non-finite residual at iteration ${it}`);
      Av = w;
      if (isConverged(res, theta, tol) || it + 1 === maxIt) break;
      const nw = Math.sqrt(next2);
      if (!(nw > 0)) break; // v is (numerically) an eigenvector with eigenvalue = shift
      if (p === 0) scaledShift(w, v, shift, 1 / nw, next);
      else scaleInPlace(next, 1 / nw);
      free = v;
      v = next;
    }
    V.push(v);
    AV.push(Av);
  }

  // Rayleigh–Ritz on span(V): H = VᵀAV (k×k), rotate V and AV by H's eigenvectors.
  const H = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) H[i * k + j] = dot(V[i], AV[j]);
  const { values, vectors } = symmetricEigen(H, k);
  const order = Array.from({ length: k }, (_, i) => i).sort(
    (a, b) => Math.abs(values[b] - shift) - Math.abs(values[a] - shift) || values[b] - values[a],
  );
  const eigenvalues: number[] = [];
  const eigenvectors: Float64Array[] = [];
  const residuals: number[] = [];
  for (const c of order) {
    if (k === 1) {
      // One pair: span(V) is v itself; θ, the exact residual and the unit float64 eigenvector
      // in three passes instead of the general combination's ten.
      const [v, Av] = [V[0], AV[0]];
      const [vAv, , vv] = moments(v, Av);
      const theta = vAv / vv;
      const nv = Math.sqrt(vv);
      const x = new Float64Array(n);
      for (let i = 0; i < n; i++) x[i] = v[i] / nv;
      fixSign(x);
      eigenvalues.push(theta);
      eigenvectors.push(x);
      residuals.push(Math.sqrt(residual2(Av, v, theta)) / nv);
      break;
    }
    const y = vectors[c];
    const x = new Float64Array(n);
    const Ax = new Float64Array(n);
    for (let j = 0; j < k; j++) {
      axpy(x, y[j], V[j]);
      axpy(Ax, y[j], AV[j]);
    }
    const nx = norm(x);
    scaleInPlace(x, 1 / nx);
    scaleInPlace(Ax, 1 / nx);
    const theta = dot(x, Ax);
    axpy(Ax, -theta, x);
    fixSign(x);
    eigenvalues.push(theta);
    eigenvectors.push(x);
    residuals.push(norm(Ax));
  }
  return freezeEigenResult({
    eigenvalues,
    eigenvectors,
    residuals,
    converged: residuals.map((r, i) => isConverged(r, eigenvalues[i], tol)),
    residualKind: 'exact',
    iterations,
    matvecs: iterations,
  });
}
