/** The record returned by the iterative eigensolvers (Lanczos, power iteration). */
import { applyBlock, type LinearOperator } from './operator.ts';
import { axpy, norm } from './vec.ts';

/** Eigenpairs found by an iterative solver; frozen (the Float64Arrays themselves are not). */
export interface EigenResult {
  /** Ritz values / eigenvalue estimates, in the order the solver documents. */
  readonly eigenvalues: readonly number[];
  /** Unit eigenvector estimates (length dim), largest-magnitude entry positive. */
  readonly eigenvectors: readonly Float64Array[];
  /** ‖A v − λ v‖₂ for each pair (see residualKind for how it was obtained). */
  readonly residuals: readonly number[];
  /** residual ≤ tol · max(1, |λ|). */
  readonly converged: readonly boolean[];
  /** 'exact': recomputed with one matvec per pair; 'lanczos-bound': β·|last Ritz component|. */
  readonly residualKind: 'exact' | 'lanczos-bound';
  /** Solver iterations (Lanczos steps, or power-iteration steps summed over pairs). */
  readonly iterations: number;
  /** Operator applications in total, residual checks included. */
  readonly matvecs: number;
}

/** Freezes a result record and its arrays. */
export function freezeEigenResult(r: EigenResult): EigenResult {
  return Object.freeze({
    eigenvalues: Object.freeze([...r.eigenvalues]),
    eigenvectors: Object.freeze([...r.eigenvectors]),
    residuals: Object.freeze([...r.residuals]),
    converged: Object.freeze([...r.converged]),
    residualKind: r.residualKind,
    iterations: r.iterations,
    matvecs: r.matvecs,
  });
}

/** ‖A v_i − λ_i v_i‖₂ for each pair, with one (block) operator application; costs vectors.length matvecs. */
export async function eigenResiduals(
  op: LinearOperator,
  values: readonly number[],
  vectors: readonly Float64Array[],
): Promise<number[]> {
  const Av = await applyBlock(op, vectors);
  return Av.map((r, i) => {
    axpy(r, -values[i], vectors[i]);
    return norm(r);
  });
}

/** The convergence test shared by the solvers: residual ≤ tol · max(1, |λ|). */
export function isConverged(residual: number, lambda: number, tol: number): boolean {
  return residual <= tol * Math.max(1, Math.abs(lambda));
}
