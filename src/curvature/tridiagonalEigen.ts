/**
 * Eigen-decomposition of a symmetric tridiagonal matrix by the implicit QL method with Wilkinson
 * shifts (EISPACK tql2, as in JAMA). Used for Lanczos' small T and, after Householder
 * reduction, for dense symmetric matrices.
 */

/** √(a²+b²) without destructive overflow/underflow. */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x === 0) return y;
  if (y === 0) return x;
  if (x > y) {
    const r = y / x;
    return x * Math.sqrt(1 + r * r);
  }
  const r = x / y;
  return y * Math.sqrt(1 + r * r);
}

/**
 * Implicit QL on the tridiagonal (d, e): d (length n) is the diagonal, e[i] couples i and i+1
 * for i < n−1 (e[n−1] is scratch). On return d holds the eigenvalues in ascending order and each
 * row z of Z has been multiplied on the right by the eigenvector matrix (columns permuted to
 * match). Z may hold any subset of rows of the starting transform, so tracking only, say, the
 * first or last row of the eigenvector matrix costs O(n) per rotation sweep instead of O(n²).
 */
export function tqlInPlace(d: Float64Array, e: Float64Array, Z: readonly Float64Array[]): void {
  const n = d.length;
  if (e.length < n) throw new Error('tqlInPlace: e must have length ≥ n');
  if (n === 0) return;
  e[n - 1] = 0;
  const eps = 2 ** -52;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    // m ≤ n−1 always, since e[n−1] = 0.
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('tridiagonal QL did not converge (60 sweeps on one eigenvalue)');
        // Wilkinson-type shift from the leading 2×2 block.
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // Implicit QL sweep from m−1 down to l.
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < Z.length; k++) {
            const z = Z[k];
            const zi1 = z[i + 1];
            z[i + 1] = s * z[i] + c * zi1;
            z[i] = c * z[i] - s * zi1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  // Selection sort ascending (n is small; keeps Z's columns in step).
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i];
    for (let j = i + 1; j < n; j++) {
      if (d[j] < p) {
        k = j;
        p = d[j];
      }
    }
    if (k !== i) {
      d[k] = d[i];
      d[i] = p;
      for (const z of Z) {
        const t = z[i];
        z[i] = z[k];
        z[k] = t;
      }
    }
  }
}

/** Result of {@link tridiagonalEigen}. */
export interface TridiagonalEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /** components[r][i] = entry rows[r] of the unit eigenvector of values[i]. */
  readonly components: Float64Array[];
}

/**
 * Eigenvalues (ascending) of the symmetric tridiagonal matrix with diagonal `diag` (length n)
 * and off-diagonal `off` (length n−1), plus the requested rows of its eigenvector matrix
 * (default: all rows, so components[r][i] is the full eigenvector matrix).
 */
export function tridiagonalEigen(
  diag: ArrayLike<number>,
  off: ArrayLike<number>,
  rows?: readonly number[],
): TridiagonalEigen {
  const n = diag.length;
  if (off.length < n - 1) throw new Error(`tridiagonalEigen: off-diagonal needs ${n - 1} entries, got ${off.length}`);
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = off[i];
  const which = rows ?? Array.from({ length: n }, (_, i) => i);
  const Z = which.map((r) => {
    if (!Number.isInteger(r) || r < 0 || r >= n) throw new Error(`tridiagonalEigen: row ${r} outside [0, ${n})`);
    const z = new Float64Array(n);
    z[r] = 1;
    return z;
  });
  tqlInPlace(d, e, Z);
  return { values: d, components: Z };
}
