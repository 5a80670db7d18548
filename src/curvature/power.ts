/**
 * Power iteration with deflation: a slow but simple cross-check for Lanczos. Pair p is the
 * dominant eigenpair of (I − VVᵀ)(A − shift·I) on the complement of the pairs V already found;
 * a final Rayleigh–Ritz step on span(V) removes the cross-talk that inexact earlier pairs
 * leave in later ones.
 */
import { createRng, normalArray } from '../util/random.ts';
import { symmetricEigen } from './denseEigen.ts';
import { freezeEigenResult, isConverged, type EigenResult } from './eigenResult.ts';
import type { LinearOperator } from './operator.ts';
import { axpy, dot, fixSign, norm, orthogonalizeAgainst, scaleInPlace } from './vec.ts';

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
  if (!Number.isInteger(kWanted) || kWanted < 1) throw new Error(`powerIteration: k must be a positive integer, got ${kWanted}`);
  const k = Math.min(kWanted, n);
  const maxIt = options.maxIterations ?? 1000;
  if (!Number.isInteger(maxIt) || maxIt < 1) throw new Error(`powerIteration: maxIterations must be ≥ 1, got ${maxIt}`);
  const tol = options.tol ?? 1e-6;
  const shift = options.shift ?? 0;
  const rng = createRng(options.seed ?? 0);

  const V: Float64Array[] = [];
  const AV: Float64Array[] = [];
  let iterations = 0;
  const t = new Float64Array(n); // residual scratch

  for (let p = 0; p < k; p++) {
    let v = p === 0 && options.start ? Float64Array.from(options.start) : normalArray(rng, n);
    if (v.length !== n) throw new Error(`powerIteration: start has length ${v.length}, operator dim is ${n}`);
    orthogonalizeAgainst(v, V, p);
    let nv = norm(v);
    if (!(nv > 0)) {
      v = normalArray(rng, n);
      orthogonalizeAgainst(v, V, p);
      nv = norm(v);
    }
    scaleInPlace(v, 1 / nv);
    let Av: Float64Array = new Float64Array(n);
    for (let it = 0; it < maxIt; it++) {
      const w = await op.matvec(v);
      if (w.length !== n) throw new Error(`operator returned length ${w.length}, expected ${n}`);
      iterations++;
      const theta = dot(v, w);
      for (let i = 0; i < n; i++) t[i] = w[i] - theta * v[i];
      orthogonalizeAgainst(t, V, p);
      const res = norm(t);
      if (!Number.isFinite(res)) throw new Error(`powerIteration: non-finite residual at iteration ${it}`);
      if (isConverged(res, theta, tol) || it + 1 === maxIt) {
        Av = w;
        break;
      }
      Av = Float64Array.from(w); // w becomes the next iterate
      if (shift !== 0) axpy(w, -shift, v);
      orthogonalizeAgainst(w, V, p);
      const nw = norm(w);
      if (!(nw > 0)) break; // v is (numerically) an eigenvector with eigenvalue = shift
      scaleInPlace(w, 1 / nw);
      v = w;
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
