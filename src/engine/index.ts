/**
 * The engine layer: a small typed graph IR, a tracer (`GraphBuilder`, `Tensor`, `ops`), reverse
 * and forward mode as graph transforms (`vjp`, `jvp`, `grad`, `hvp`), compiled objectives with
 * exact Hessian-vector products, and the backends that run graphs (onnxruntime `ort` on CPUs,
 * `webgpu` on GPUs, the float64 `reference` interpreter), on a platform (`EnginePlatform`; on Node
 * `nodePlatform`, onnxruntime-node).
 */
export {
  EngineRuntime,
  Runtime,
  backendDType,
  graphFingerprint,
  isDeviceValue,
  type BackendName,
  type DeviceExecutable,
  type DeviceValue,
  type Executable,
  type Feed,
  type Feeds,
  type Outputs,
  type RuntimeOptions,
  type Value,
} from './backend.ts';
export type {
  EnginePlatform,
  Hasher,
  PlatformSession,
  PlatformTensor,
  SessionOptions,
  TensorData,
  TensorElement,
} from './platform.ts';
export { nodePlatform } from './nodePlatform.ts';
export { GraphBuilder, Tensor, inferShape } from './builder.ts';
export {
  broadcastShapes,
  fmtShape,
  isFloat,
  shapeEq,
  size,
  type ConvAttrs,
  type DType,
  type Graph,
  type Node,
  type Op,
  type OpKind,
  type Shape,
  type Window2d,
} from './ir.ts';
export * as ops from './ops.ts';
export { ggnvp, grad, hvp, jvp, valueAndGrad, vjp, type ScalarFn } from './autodiff/transforms.ts';
export {
  CompiledObjective,
  type CurvatureMatrix,
  type DataSpec,
  type Evaluation,
  type GradEvaluation,
  type DeviceGradEvaluation,
  type DeviceHvp,
  type HvpAtPoint,
  type LossOutput,
  type ObjectiveSpec,
} from './objective.ts';
export { ParameterLayout, type FloatArray, type ParamSpec } from './params.ts';
export { simplify, splitGraph, type SplitGraph } from './passes.ts';
export {
  basisKernelsFor,
  createBasisKernels,
  createBasisKernelsOn,
  type BasisKernels,
  type SweepResult,
  type TwiceResult,
} from './basisKernels.ts';
export {
  deviceBasisKernels,
  type DeviceBasisKernels,
  type DeviceSweep,
  type DeviceTwice,
} from './webgpu/deviceBasis.ts';
export type { OnnxAttribute, OnnxElemType, OnnxModel, OnnxNode, OnnxTensorValue, OnnxValueInfo } from './onnx/proto.ts';
export { evaluate as evaluateReference, type Feeds as ReferenceFeeds } from './reference/interpreter.ts';
