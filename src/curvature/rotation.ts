/** How much eigenvectors and eigenspaces move between two curvature measurements. */
import { dot, norm, orthonormalize } from './vec.ts';

/** |cos ∠(u, v)| ∈ [0, 1]: sign- and scale-invariant (eigenvectors have no sign). */
export function eigenvectorCosine(u: Float64Array, v: Float64Array): number {
  if (u.length !== v.length) throw new Error(`eigenvectorCosine: lengths differ (${u.length} vs ${v.length})`);
  const nu = norm(u);
  const nv = norm(v);
  if (!(nu > 0) || !(nv > 0)) throw new Error('eigenvectorCosine: zero vector');
  return Math.min(1, Math.abs(dot(u, v)) / (nu * nv));
}

/**
 * Overlap of span(U) and span(V) ∈ [0, 1]: the mean of cos² of the min(kU, kV) principal angles,
 * = ‖ÛᵀV̂‖_F² / min(kU, kV) for orthonormalized bases Û, V̂. 1 for the same subspace under any
 * basis change; about k/n on average for independent random k-dim subspaces of R^n.
 * Throws if either set of vectors is linearly dependent.
 */
export function subspaceOverlap(U: readonly Float64Array[], V: readonly Float64Array[]): number {
  if (U.length === 0 || V.length === 0) throw new Error('subspaceOverlap: empty basis');
  const n = U[0].length;
  for (const w of [...U, ...V]) {
    if (w.length !== n) throw new Error(`subspaceOverlap: vectors of different lengths (${w.length} vs ${n})`);
  }
  const Uo = orthonormalize(U, 'throw');
  const Vo = orthonormalize(V, 'throw');
  let f = 0;
  for (const u of Uo) for (const v of Vo) f += dot(u, v) ** 2;
  return Math.min(1, f / Math.min(Uo.length, Vo.length));
}

/**
 * |cos| of the angle between v and span(U) ∈ [0, 1]: ‖ÛᵀV‖/‖v‖ for an orthonormalized basis Û.
 * Matches v against the previous top-k eigenspace: an exchange of λ1 and λ2 (a small eigengap)
 * moves the top eigenvector to the old second one, which is no rotation out of the subspace.
 */
export function subspaceCosine(U: readonly Float64Array[], v: Float64Array): number {
  if (U.length === 0) throw new Error('subspaceCosine: empty basis');
  for (const w of U)
    if (w.length !== v.length)
      throw new Error(`subspaceCosine: vectors of different lengths (${w.length} vs ${v.length})`);
  const nv = norm(v);
  if (!(nv > 0)) throw new Error('subspaceCosine: zero vector');
  let f = 0;
  for (const u of orthonormalize(U, 'drop')) f += dot(u, v) ** 2;
  return Math.min(1, Math.sqrt(f) / nv);
}
