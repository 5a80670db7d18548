/**
 * The Hessian of a training loss (and its Gauss–Newton matrix) as a LinearOperator: exact HVPs (forward-over-reverse) from
 * the engine, over the full dataset in chunks with exact weighting. The engine computes in its
 * own dtype (float32 on ort, float64 on the reference backend); float32 operators also offer
 * matvec32, so solvers keep their vectors in float32 and no conversion happens per product,
 * and basis kernels on the same runtime for the solvers' passes over their Krylov basis.
 */
import type { LinearOperator } from './operator.ts';
import type { DatasetObjective } from '../train/datasetObjective.ts';
import type { FloatArray } from '../engine/params.ts';
import type { CurvatureMatrix } from '../engine/objective.ts';
import { basisKernelsFor } from '../engine/basisGraphs.ts';
import type { Runtime } from '../engine/backend.ts';
import { deviceBasisKernels, type DeviceBasisKernels } from '../engine/webgpu/deviceBasis.ts';

// One set of device kernels per Runtime (a cache: the kernels are pure functions of their inputs).
const deviceKernels = new WeakMap<Runtime, DeviceBasisKernels>();
function deviceKernelsFor(rt: Runtime): DeviceBasisKernels {
  let k = deviceKernels.get(rt);
  if (!k) deviceKernels.set(rt, (k = deviceBasisKernels(rt)));
  return k;
}

/** A curvature operator (the Hessian, or the Gauss–Newton matrix) that counts its products. */
export interface HessianOperator extends LinearOperator {
  /** Number of products (HVPs, or G·v) performed so far. */
  readonly calls: number;
}

/** H = ∇²L(θ) over the objective's dataset, prepared at θ (length-dim vectors). */
export function hessianOperator(objective: DatasetObjective, theta: FloatArray): Promise<HessianOperator> {
  return curvatureOperator(objective, theta, 'hessian');
}

/**
 * G = Jᵀ ∇²_f ℓ J, the generalized Gauss–Newton matrix of the objective's loss over its dataset
 * at θ (J: the outputs' Jacobian in θ; ∇²_f ℓ: the loss's Hessian in the outputs, I/n for MSE,
 * (diag(p) − ppᵀ)/n per sample for cross-entropy). Exact products G·v = vjp(f, ∇²_f ℓ·jvp(f, v))
 * built by the engine's transforms, with the same chunking, float32 path and device residency as
 * hessianOperator. Symmetric positive semi-definite for these losses.
 */
export function ggnOperator(objective: DatasetObjective, theta: FloatArray): Promise<HessianOperator> {
  return curvatureOperator(objective, theta, 'ggn');
}

/** The operator of a curvature matrix (the Hessian or the Gauss–Newton matrix) at θ. */
export async function curvatureOperator(
  objective: DatasetObjective,
  theta: FloatArray,
  matrix: CurvatureMatrix,
): Promise<HessianOperator> {
  const name = matrix === 'ggn' ? 'Gauss–Newton' : 'Hessian';
  const at = await objective.hvpAt(theta, matrix);
  const f32 = theta instanceof Float32Array;
  const dim = theta.length;
  let calls = 0;
  const kernels = f32 ? basisKernelsFor(objective.runtime) : undefined;
  const check = (v: FloatArray): void => {
    if (v.length !== dim) throw new Error(`${name} matvec: expected a vector of length ${dim}, got ${v.length}`);
  };
  const dev = at.device;
  const op: HessianOperator = {
    dim,
    // On webgpu (one chunk): products on device vectors, so Lanczos keeps its basis on the GPU.
    ...(dev
      ? {
          device: {
            kernels: deviceKernelsFor(dev.runtime),
            apply: (v) => {
              calls++;
              return dev.hvp(v);
            },
            release: () => dev.release(),
          },
        }
      : {}),
    get calls() {
      return calls;
    },
    async matvec(v: Float64Array): Promise<Float64Array> {
      check(v);
      calls++;
      // new TypedArray(typedArray) converts natively (TypedArray.from would iterate in JS).
      const hv = await at.hvp(f32 ? new Float32Array(v) : v);
      return hv instanceof Float64Array ? hv : new Float64Array(hv);
    },
    ...(f32
      ? {
          // Float32 vectors: the solvers' passes over the basis run on the runtime's kernels.
          ...(kernels ? { basisKernels: kernels } : {}),
          async matvec32(v: Float32Array): Promise<Float32Array> {
            check(v);
            calls++;
            return (await at.hvp(v)) as Float32Array;
          },
        }
      : {}),
  };
  return op;
}
