/**
 * The curvature layer: linear operators (the Hessian of a training loss among them),
 * eigensolvers (Lanczos, power iteration, dense), trace and spectral-density estimators, and
 * eigenvector rotation measures. `hessian(model, loss, data, params)` is the PyHessian-style
 * entry (`gaussNewton(...)` the same for the Gauss–Newton matrix); `topEigenpairs`, `trace` and `density` answer the usual questions of any operator.
 */
export { type HessianOperator, curvatureOperator, ggnOperator, hessianOperator } from './hessian.ts';
export { type ModelHessian, type ModelHessianOptions, gaussNewton, hessian } from './modelHessian.ts';
export { type SpectralDensity, topEigenpairs, trace, density } from './shortcuts.ts';
export { type CurvatureMeasurement, type MatrixChoice, type MeasureOptions, measureCurvature } from './measure.ts';
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
  type DeviceOperator,
  type Precision,
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
export { dot, norm, axpy, orthonormalize, rademacherArray, type Vec } from './vec.ts';
