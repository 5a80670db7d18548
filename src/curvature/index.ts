/** Public API of the curvature layer: operators, eigensolvers, trace and density estimators. */
export {
  type LinearOperator,
  applyBlock,
  denseOperator,
  diagonalOperator,
  scaledOperator,
  shiftedOperator,
  congruenceOperator,
  preconditionedOperator,
  restrictedOperator,
  materialize,
} from './operator.ts';
export { type DenseEigen, symmetricEigen } from './denseEigen.ts';
export { type TridiagonalEigen, tridiagonalEigen } from './tridiagonalEigen.ts';
export { type EigenResult, eigenResiduals } from './eigenResult.ts';
export {
  type Coupling,
  type KrylovState,
  type KrylovOptions,
  type KrylovResult,
  lanczosTridiagonalize,
} from './krylov.ts';
export { type Which, type LanczosOptions, lanczos } from './lanczos.ts';
export { type PowerOptions, powerIteration } from './power.ts';
export {
  type ProbeDistribution,
  type HutchinsonOptions,
  type HutchinsonResult,
  type HutchPlusPlusOptions,
  type HutchPlusPlusResult,
  hutchinson,
  hutchPlusPlus,
} from './trace.ts';
export {
  type Quadrature,
  type SlqOptions,
  type SlqResult,
  type DensityOptions,
  type Density,
  type Moments,
  lanczosQuadrature,
  slq,
  spectralDensity,
  moments,
} from './density.ts';
export { eigenvectorCosine, subspaceOverlap } from './rotation.ts';
export { dot, norm, axpy, orthonormalize, rademacherArray } from './vec.ts';
