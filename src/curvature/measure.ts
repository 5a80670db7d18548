/**
 * One curvature measurement during training: top-k Hessian eigenpairs (sharpness) and/or the
 * top-k of the Gauss–Newton matrix G (ggn_sharpness), optionally
 * the Adam-preconditioned sharpness λ1(P^-1/2 H P^-1/2), the smallest eigenvalue, the trace and
 * the spectral density, and the rotation of the top eigenvectors since the previous
 * measurement. The start vectors are seeded per measurement, so a run is reproducible.
 */
import type { DatasetObjective } from '../train/datasetObjective.ts';
import type { FloatArray } from '../engine/params.ts';
import { ggnOperator, hessianOperator, type HessianOperator } from './hessian.ts';
import { lanczos } from './lanczos.ts';
import { preconditionedOperator, type LinearOperator } from './operator.ts';
import { eigenvectorCosine, subspaceCosine, subspaceOverlap } from './rotation.ts';
import { hutchinson } from './trace.ts';
import { slq, spectralDensity } from './density.ts';

/** Which matrices' top-k a measurement takes: the Hessian, the Gauss–Newton matrix, or both. */
export type MatrixChoice = 'hessian' | 'ggn' | 'both';

export interface MeasureOptions {
  /** Number of top eigenpairs (≥ 1). */
  topK: number;
  /**
   * Top-k of H (default), of G, or of both. With 'ggn' the rotation measures follow G's
   * eigenvectors; the preconditioned sharpness, λmin, trace and density stay the Hessian's.
   */
  matrix?: MatrixChoice;
  /** Lanczos steps (HVPs) per eigen-solve. */
  iterations: number;
  /** Lanczos' reorthogonalization (default 'partial'; see lanczosTridiagonalize). */
  reorthogonalization?: 'partial' | 'full';
  /** Seed of the Lanczos start vector(s) for this measurement. */
  seed: number;
  /** Convergence tolerance of the reported flags (relative residual); float32 HVPs need ~1e-3. */
  tol?: number;
  /** Diagonal P of an adaptive optimizer: also measure λ1(P^-1/2 H P^-1/2). */
  preconditioner?: Float64Array | null;
  /** Previous measurement's top eigenvectors, for the rotation measures. */
  previous?: readonly Float64Array[] | null;
  /** Also the smallest eigenvalue (negative curvature). */
  smallest?: boolean;
  /** Hutchinson probes for the trace (0 = skip). */
  traceProbes?: number;
  /** Spectral density by SLQ: probes and Lanczos steps (omit to skip). */
  density?: { runs: number; steps: number; points?: number } | null;
}

export interface CurvatureMeasurement {
  /** λ1(H); absent when only G was measured. */
  sharpness?: number;
  /** Top-k eigenvalues of H, descending (absent when only G was measured). */
  eigs?: number[];
  residuals?: number[];
  converged?: boolean[];
  /** λ1(G) and G's top-k, descending, when G was measured. */
  ggn_sharpness?: number;
  ggn_eigs?: number[];
  ggn_residuals?: number[];
  /** Unit top-k eigenvectors (float64) of H (of G when only G was measured), for rotation tracking and slices. */
  eigvecs: Float64Array[];
  /** |cos| between this and the previous top eigenvector; null without a previous one. */
  eigvec_cos: number | null;
  /** Mean squared cosine of the principal angles between the top-k eigenspaces. */
  subspace_overlap: number | null;
  /** |cos| between this top eigenvector and the previous top-k eigenspace (robust to λ1/λ2 exchanges); null without a previous one. */
  eigvec_subspace_cos: number | null;
  precond_sharpness?: number;
  precond_converged?: boolean;
  lambda_min?: number;
  trace?: number;
  trace_stderr?: number;
  density?: { x: number[]; density: number[] };
  hvps: number;
}

/** Measures the curvature of the objective's full-data loss at θ. */
export async function measureCurvature(
  objective: DatasetObjective,
  theta: FloatArray,
  o: MeasureOptions,
): Promise<CurvatureMeasurement> {
  const matrix = o.matrix ?? 'hessian';
  if (matrix !== 'hessian' && matrix !== 'ggn' && matrix !== 'both')
    throw new Error(`matrix must be hessian, ggn or both, got ${String(matrix)}`);
  // H is prepared only when something below measures it (not for G's top-k alone).
  let hessianOp: HessianOperator | undefined;
  const hessian = async (): Promise<HessianOperator> => (hessianOp ??= await hessianOperator(objective, theta));
  const tol = o.tol ?? 1e-3;
  const topOf = (op: LinearOperator, seed: number) =>
    lanczos(op, {
      k: o.topK,
      iterations: o.iterations,
      reorthogonalization: o.reorthogonalization,
      seed,
      tol,
      earlyStop: false,
      exactResiduals: false,
    });
  const m: CurvatureMeasurement = {
    eigvecs: [],
    eigvec_cos: null,
    subspace_overlap: null,
    eigvec_subspace_cos: null,
    hvps: 0,
  };
  if (matrix !== 'ggn') {
    const top = await topOf(await hessian(), o.seed);
    m.sharpness = top.eigenvalues[0]!;
    m.eigs = top.eigenvalues.slice();
    m.residuals = top.residuals.slice();
    m.converged = top.converged.slice();
    m.eigvecs = top.eigenvectors.slice();
  }
  let ggnProducts = 0;
  if (matrix !== 'hessian') {
    const G = await ggnOperator(objective, theta);
    // The same start vector as H's (same seed), so with 'both' the two solves differ only in the matrix.
    const top = await topOf(G, o.seed);
    m.ggn_sharpness = top.eigenvalues[0]!;
    m.ggn_eigs = top.eigenvalues.slice();
    m.ggn_residuals = top.residuals.slice();
    if (matrix === 'ggn') m.eigvecs = top.eigenvectors.slice();
    ggnProducts = G.calls;
  }
  if (o.previous && o.previous.length > 0) {
    m.eigvec_cos = eigenvectorCosine(o.previous[0]!, m.eigvecs[0]!);
    const k = Math.min(o.previous.length, m.eigvecs.length);
    m.subspace_overlap = subspaceOverlap(o.previous.slice(0, k), m.eigvecs.slice(0, k));
    m.eigvec_subspace_cos = subspaceCosine(o.previous, m.eigvecs[0]!);
  }
  if (o.preconditioner) {
    const P: LinearOperator = preconditionedOperator(await hessian(), o.preconditioner);
    const pr = await lanczos(P, {
      k: 1,
      iterations: o.iterations,
      reorthogonalization: o.reorthogonalization,
      seed: o.seed + 1,
      tol,
      earlyStop: false,
      exactResiduals: false,
    });
    m.precond_sharpness = pr.eigenvalues[0]!;
    m.precond_converged = pr.converged[0]!;
  }
  if (o.smallest) {
    const sm = await lanczos(await hessian(), {
      k: 1,
      iterations: o.iterations,
      reorthogonalization: o.reorthogonalization,
      seed: o.seed + 2,
      tol,
      which: 'smallest',
      earlyStop: false,
      exactResiduals: false,
    });
    m.lambda_min = sm.eigenvalues[0]!;
  }
  if (o.traceProbes && o.traceProbes > 0) {
    const t = await hutchinson(await hessian(), { samples: o.traceProbes, seed: o.seed + 3 });
    m.trace = t.estimate;
    m.trace_stderr = t.stdError;
  }
  if (o.density) {
    const q = await slq(await hessian(), { runs: o.density.runs, steps: o.density.steps, seed: o.seed + 4 });
    const d = spectralDensity(q, o.density.points ? { grid: { points: o.density.points } } : {});
    m.density = { x: Array.from(d.x), density: Array.from(d.density) };
  }
  m.hvps = (hessianOp?.calls ?? 0) + ggnProducts;
  return m;
}
