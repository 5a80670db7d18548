/**
 * The Krylov-basis kernels of basisGraphs.ts (re-exported here) with onnxruntime-node as the
 * default platform, for Node callers that have threads but no Runtime.
 */
import { createBasisKernelsOn, type BasisKernels } from './basisGraphs.ts';
import { nodePlatform } from './nodePlatform.ts';
import type { EnginePlatform } from './platform.ts';

export {
  basisKernelsFor,
  createBasisKernelsOn,
  normNodes,
  unitNodes,
  type BasisKernels,
  type SweepResult,
  type TwiceResult,
} from './basisGraphs.ts';

/** Basis kernels on onnxruntime's CPU provider (onnxruntime-node unless `platform` says otherwise) with `threads` intra-op threads. */
export function createBasisKernels(threads: number, platform: EnginePlatform = nodePlatform): BasisKernels {
  return createBasisKernelsOn(platform, threads);
}
