/**
 * The Hessian of a training loss as a LinearOperator: exact HVPs (forward-over-reverse) from
 * the engine, over the full dataset in chunks with exact weighting. Vectors cross the boundary
 * in float64 (Lanczos' precision); the engine computes in its own dtype (float32 on ort).
 */
import type { LinearOperator } from './operator.ts';
import type { DatasetObjective } from '../train/datasetObjective.ts';
import type { FloatArray } from '../engine/params.ts';

export interface HessianOperator extends LinearOperator {
  /** Number of HVPs performed so far. */
  readonly calls: number;
}

/** H = ∇²L(θ) over the objective's dataset, prepared at θ. */
export async function hessianOperator(objective: DatasetObjective, theta: FloatArray): Promise<HessianOperator> {
  const at = await objective.hvpAt(theta);
  const f32 = theta instanceof Float32Array;
  let calls = 0;
  const op: HessianOperator = {
    dim: theta.length,
    get calls() {
      return calls;
    },
    async matvec(v: Float64Array): Promise<Float64Array> {
      calls++;
      const hv = await at.hvp(f32 ? Float32Array.from(v) : v);
      return hv instanceof Float64Array ? hv : Float64Array.from(hv);
    },
  };
  return op;
}
