/**
 * Dense symmetric eigen-decomposition in float64: Householder tridiagonalization (EISPACK tred2,
 * as in JAMA) followed by implicit QL. O(n³); meant as the test oracle and for tiny networks.
 */
import { tqlInPlace } from './tridiagonalEigen.ts';
import { fixSign } from './vec.ts';

/** Eigenvalues and unit eigenvectors of a dense symmetric matrix. */
export interface DenseEigen {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  /** vectors[i] is the unit eigenvector of values[i] (largest-magnitude entry positive). */
  readonly vectors: Float64Array[];
}

/** Householder reduction of symmetric V (rows, overwritten with the transform) to tridiagonal (d, e). */
function tred2(V: Float64Array[], d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let j = 0; j < n; j++) d[j] = V[n - 1][j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[i - 1][j];
        V[i][j] = 0;
        V[j][i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j][i] = f;
        g = e[j] + V[j][j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k][j] * d[k];
          e[k] += V[k][j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k][j] -= f * e[k] + g * d[k];
        d[j] = V[i - 1][j];
        V[i][j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the Householder transforms into V.
  for (let i = 0; i < n - 1; i++) {
    V[n - 1][i] = V[i][i];
    V[i][i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k][i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k][i + 1] * V[k][j];
        for (let k = 0; k <= i; k++) V[k][j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k][i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[n - 1][j];
    V[n - 1][j] = 0;
  }
  V[n - 1][n - 1] = 1;
  e[0] = 0;
}

/**
 * Eigen-decomposition of the symmetric n×n row-major matrix A (length n²). A is symmetrized as
 * (A+Aᵀ)/2 first, so a materialized Hessian with rounding asymmetry is accepted.
 */
export function symmetricEigen(A: Float64Array, n: number): DenseEigen {
  if (!Number.isInteger(n) || n < 1) throw new Error(`symmetricEigen: n must be a positive integer, got ${n}`);
  if (A.length !== n * n) throw new Error(`symmetricEigen: expected ${n * n} entries for n=${n}, got ${A.length}`);
  const V: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Float64Array(n);
    for (let j = 0; j < n; j++) row[j] = 0.5 * (A[i * n + j] + A[j * n + i]);
    V.push(row);
  }
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(A[i])) throw new Error(`symmetricEigen: entry ${i} is ${A[i]}`);
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(V, d, e);
  // tred2 leaves the subdiagonal in e[1..n-1]; tql wants e[i] coupling i and i+1.
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  tqlInPlace(d, e, V);
  const values = new Float64Array(n);
  const vectors: Float64Array[] = [];
  for (let r = 0; r < n; r++) {
    const c = n - 1 - r; // descending
    values[r] = d[c];
    const v = new Float64Array(n);
    for (let k = 0; k < n; k++) v[k] = V[k][c];
    fixSign(v);
    vectors.push(v);
  }
  return { values, vectors };
}
