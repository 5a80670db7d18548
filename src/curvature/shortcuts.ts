/**
 * The three questions a PyHessian / hessian-eigenthings user asks of a Hessian operator, as
 * one call each: the top eigenpairs, the trace, the spectral density. Thin wrappers over
 * `lanczos`, `hutchinson` and `slq` + `spectralDensity`, with the same options.
 */
import type { EigenResult } from './eigenResult.ts';
import { lanczos, type LanczosOptions } from './lanczos.ts';
import type { LinearOperator } from './operator.ts';
import { hutchinson, type HutchinsonOptions, type HutchinsonResult } from './trace.ts';
import { slq, spectralDensity, type Density, type DensityOptions, type SlqOptions, type SlqResult } from './density.ts';

/** Top-k eigenpairs (eigenvalues descending, in the operator's units; unit eigenvectors of length dim) by Lanczos; default 2k+20 steps, capped at dim. */
export function topEigenpairs(
  op: LinearOperator,
  k = 1,
  options: Omit<LanczosOptions, 'k' | 'which'> = {},
): Promise<EigenResult> {
  return lanczos(op, { iterations: Math.max(20, 2 * k + 20), ...options, k, which: 'largest' });
}

/** tr(A) ≈ mean of zᵀAz over `samples` (default 100) Rademacher probes, with its standard error (Hutchinson). */
export function trace(op: LinearOperator, options: HutchinsonOptions = {}): Promise<HutchinsonResult> {
  return hutchinson(op, options);
}

/** A spectral density with its quadrature: `runs` × `steps` matvecs (default 10 × 30). */
export interface SpectralDensity extends Density {
  /** The stochastic Lanczos quadrature it was smoothed from (Ritz values and weights per run). */
  readonly quadrature: SlqResult;
}

/** Eigenvalue density ρ(λ) on a grid (x in the operator's units, ∫ρ dx ≈ 1) by stochastic Lanczos quadrature, Gaussian-broadened. */
export async function density(op: LinearOperator, options: SlqOptions & DensityOptions = {}): Promise<SpectralDensity> {
  const quadrature = await slq(op, options);
  return Object.freeze({ ...spectralDensity(quadrature, options), quadrature });
}
