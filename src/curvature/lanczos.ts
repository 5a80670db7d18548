/**
 * Extreme eigenpairs of a symmetric operator by the Lanczos method with partial (Simon's) or
 * full reorthogonalization (Ritz pairs of T = QᵀAQ), with honest residuals and convergence flags.
 */
import { createRng } from '../util/random.ts';
import { eigenResiduals, freezeEigenResult, isConverged, type EigenResult } from './eigenResult.ts';
import { lanczosTridiagonalize, type Coupling, type KrylovState } from './krylov.ts';
import { workingProduct, type LinearOperator, type Precision } from './operator.ts';
import { tridiagonalEigen } from './tridiagonalEigen.ts';
import { fixSign, norm, scaleInPlace } from './vec.ts';

/** Which end of the spectrum to report. */
export type Which = 'largest' | 'largest-magnitude' | 'smallest';

export interface LanczosOptions {
  /** Number of eigenpairs wanted (default 1); at most min(iterations, dim) are returned. */
  readonly k?: number;
  /** Maximum Lanczos steps = matvecs before residual checks (default max(20, 2k)); capped at dim. */
  readonly iterations?: number;
  /** Seed of the random start vector and of restart vectors after a breakdown (default 0). */
  readonly seed?: number;
  /**
   * Warm start, e.g. the previous top eigenvector (any nonzero length-dim vector). Krylov
   * methods only see directions present in the start: a start that is (almost) exactly some
   * eigenvector can converge on that pair before finding larger ones; use k ≥ 2 or
   * earlyStop: false where that matters.
   */
  readonly start?: Float64Array;
  /** 'largest' (default), 'largest-magnitude' or 'smallest'. */
  readonly which?: Which;
  /** Convergence: residual ≤ tol·max(1,|λ|) (default 1e-6). */
  readonly tol?: number;
  /**
   * true (default): residuals are ‖Av − λv‖ recomputed with one extra matvec per pair.
   * false: the Lanczos bound √Σ(β·s_row)² (β_m·|last Ritz-vector component| without
   * breakdowns), free but trusting the recurrence.
   */
  readonly exactResiduals?: boolean;
  /** Stop before `iterations` once the k wanted Ritz pairs meet tol by the Lanczos bound (default true). */
  readonly earlyStop?: boolean;
  /**
   * Vector precision: 'auto' (default) keeps the Lanczos vectors in float32 when the operator
   * offers matvec32 (a float32 HVP: its own rounding dominates); 'float64' forces float64.
   * Eigenvectors are returned in float64 either way.
   */
  readonly precision?: Precision;
  /** Where the Lanczos vectors live: 'auto' (default: device memory where the operator offers it) or 'host'. */
  readonly basis?: 'auto' | 'host';
  /**
   * 'partial' (default): Simon's partial reorthogonalization, against the whole basis only when
   * the estimated loss of orthogonality exceeds √ε (the basis stays semi-orthogonal, Ritz values
   * keep full accuracy); 'full': against the whole basis at every step (see krylov.ts).
   */
  readonly reorthogonalization?: 'partial' | 'full';
}

/** Indices into ascending `values` of the k wanted Ritz values, in reporting order. */
function selectRitz(values: Float64Array, k: number, which: Which): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  if (which === 'largest') idx.reverse();
  else if (which === 'largest-magnitude') {
    idx.sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || values[b] - values[a]);
  }
  return idx.slice(0, k);
}

function boundResidual(
  components: Float64Array[],
  rowOf: Map<number, number>,
  couplings: readonly Coupling[],
  i: number,
): number {
  let s = 0;
  for (const c of couplings) {
    const t = c.beta * components[rowOf.get(c.row)!][i];
    s += t * t;
  }
  return Math.sqrt(s);
}

/**
 * Top-k eigenpairs of a symmetric operator by Lanczos with partial (default) or full
 * reorthogonalization.
 * Eigenvalues are ordered per `which`: descending ('largest'), by |λ| descending
 * ('largest-magnitude'), ascending ('smallest'). Memory: `iterations` vectors of length dim.
 */
export async function lanczos(op: LinearOperator, options: LanczosOptions = {}): Promise<EigenResult> {
  const n = op.dim;
  const k = options.k ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`lanczos: k must be a positive integer, got ${k}`);
  const iterations = Math.min(options.iterations ?? Math.max(20, 2 * k), n);
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`lanczos: iterations must be a positive integer, got ${options.iterations}`);
  }
  const which = options.which ?? 'largest';
  if (which !== 'largest' && which !== 'largest-magnitude' && which !== 'smallest') {
    throw new Error(`lanczos: which must be 'largest', 'largest-magnitude' or 'smallest', got ${String(which)}`);
  }
  const tol = options.tol ?? 1e-6;
  const exact = options.exactResiduals ?? true;
  const kEff = Math.min(k, iterations);
  const rng = createRng(options.seed ?? 0);
  const start = options.start ?? workingProduct(op, options.precision).randomNormal(rng);

  const stopWhen =
    (options.earlyStop ?? true)
      ? (s: KrylovState): boolean => {
          if (s.alpha.length < kEff) return false;
          const rows = s.couplings.map((c) => c.row);
          const rowOf = new Map(rows.map((r, i) => [r, i]));
          const { values, components } = tridiagonalEigen(s.alpha, s.beta, rows);
          return selectRitz(values, kEff, which).every((i) =>
            isConverged(boundResidual(components, rowOf, s.couplings, i), values[i], tol),
          );
        }
      : undefined;

  const kr = await lanczosTridiagonalize(op, start, {
    steps: iterations,
    rng,
    onBreakdown: 'restart',
    stopWhen,
    precision: options.precision,
    basis: options.basis,
    reorthogonalization: options.reorthogonalization,
  });
  const m = kr.steps;
  const { values, components } = tridiagonalEigen(kr.alpha, kr.beta);
  const rowOf = new Map(Array.from({ length: m }, (_, r) => [r, r]));
  const chosen = selectRitz(values, Math.min(kEff, m), which);

  const eigenvalues: number[] = [];
  const eigenvectors: Float64Array[] = [];
  let residuals: number[] = [];
  try {
    for (const i of chosen) {
      const x = await kr.combine(Array.from({ length: m }, (_, r) => components[r][i]));
      scaleInPlace(x, 1 / norm(x));
      fixSign(x);
      eigenvalues.push(values[i]);
      eigenvectors.push(x);
      residuals.push(boundResidual(components, rowOf, kr.couplings, i));
    }
  } finally {
    kr.release();
  }
  let matvecs = m;
  if (exact) {
    residuals = await eigenResiduals(op, eigenvalues, eigenvectors);
    matvecs += eigenvectors.length;
  }
  return freezeEigenResult({
    eigenvalues,
    eigenvectors,
    residuals,
    converged: residuals.map((r, i) => isConverged(r, eigenvalues[i], tol)),
    residualKind: exact ? 'exact' : 'lanczos-bound',
    iterations: m,
    matvecs,
  });
}
