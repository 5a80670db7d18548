/** Test oracles built independently of src/curvature: random orthogonal matrices and known spectra. */
import { normalArray, type Rng } from '../../src/util/random.ts';

/**
 * A Haar-random n×n orthogonal matrix as columns: Gram–Schmidt (modified, two passes) on the
 * columns of a Gaussian matrix, i.e. the Q of its QR factorization with positive diag(R).
 */
export function randomOrthogonal(n: number, rng: Rng): Float64Array[] {
  const cols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const g = normalArray(rng, n);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of cols) {
        let h = 0;
        for (let i = 0; i < n; i++) h += q[i] * g[i];
        for (let i = 0; i < n; i++) g[i] -= h * q[i];
      }
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += g[i] * g[i];
    const nr = Math.sqrt(s);
    if (!(nr > 0)) throw new Error('degenerate Gaussian matrix');
    for (let i = 0; i < n; i++) g[i] /= nr;
    cols.push(g);
  }
  return cols;
}

/** Row-major A = Q diag(lambdas) Qᵀ with random orthogonal Q; Q's columns are the eigenvectors. */
export function withSpectrum(lambdas: readonly number[], rng: Rng): { A: Float64Array; Q: Float64Array[] } {
  const n = lambdas.length;
  const Q = randomOrthogonal(n, rng);
  const A = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const q = Q[k];
    const l = lambdas[k];
    for (let i = 0; i < n; i++) {
      const li = l * q[i];
      for (let j = 0; j < n; j++) A[i * n + j] += li * q[j];
    }
  }
  // Exact symmetry (the sum above is symmetric up to rounding only).
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) {
      const m = 0.5 * (A[i * n + j] + A[j * n + i]);
      A[i * n + j] = m;
      A[j * n + i] = m;
    }
  return { A, Q };
}

/** Row-major dense A·v. */
export function matvec(A: Float64Array, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function nrm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** ‖Av − λv‖. */
export function residual(A: Float64Array, n: number, lambda: number, v: Float64Array): number {
  const r = matvec(A, n, v);
  for (let i = 0; i < n; i++) r[i] -= lambda * v[i];
  return nrm(r);
}

/** |cos| between two vectors. */
export function absCos(a: Float64Array, b: Float64Array): number {
  return Math.abs(dot(a, b)) / (nrm(a) * nrm(b));
}

/** n evenly spaced values from lo to hi. */
export function linspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1)));
}

/** Sample mean and standard error of the mean. */
export function meanSE(xs: readonly number[]): { mean: number; se: number; sd: number } {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
  return { mean: m, se: Math.sqrt(v / xs.length), sd: Math.sqrt(v) };
}
