/**
 * The model layer: layers, activations, architectures (mlp, cnn, resnet, deep-linear),
 * initializers (incl. Fixup, MetaInit, GradInit), losses and the model objective.
 */
export { ACTIVATIONS, activationFn, isActivationName, type ActivationName } from './activations.ts';
export {
  activation, avgPool, batchNorm, batchNormEval, batchNormTrain, conv, dense, dropout, flatten, globalAvgPool,
  layerNorm, layerNormApply, maxPool, residualBlock, scalarParam, sequential,
  type BatchNormInfo, type BatchNormOptions, type BufferSpec, type ConvOptions, type DenseOptions, type DropoutSpec,
  type ForwardContext, type Layer, type Mode, type ModelParam, type ParamRole, type PoolOptions, type ResidualOptions,
} from './layers.ts';
export {
  ARCHS, NORMS, POOLS, buildModel, resolveModelConfig, sampleDropoutMasks, updateRunningStats,
  type Arch, type Model, type ModelConfig, type NormName, type PoolName, type ResolvedModelConfig,
} from './model.ts';
export {
  BASE_SCHEMES, INIT_SCHEMES, drawWeights, fixupBranchScale, initBuffers, initParams, isInitScheme, schemeStd,
  type BaseScheme, type InitConfig, type InitScheme, type Initializable,
} from './init.ts';
export {
  LOSSES, accuracy, crossEntropy, lossFn, modelDataSpecs, modelFeeds, modelLoss, mse, objectiveSpec, oneHot,
  type LossName, type ObjectiveOptions,
} from './losses.ts';
export type { InitBatch, LearnedInitSetup } from './scaled.ts';
export { gradientQuotient, gradientQuotientScaleGrad, metaInit, type MetaInitOptions, type MetaInitResult, type MetaInitStep } from './metainit.ts';
export { gradInit, gradInitObjective, type GradInitOptions, type GradInitResult, type GradInitStep } from './gradinit.ts';
export { initializeModel, type Initialization, type InitializeOptions } from './initialize.ts';
