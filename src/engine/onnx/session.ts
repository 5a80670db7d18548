/**
 * onnxruntime-node session creation with CPU-throughput defaults (the Node platform's
 * createSession, nodePlatform.ts; SessionOptions are declared in platform.ts).
 *
 * Session options and CPU throughput (onnxruntime-node 1.30, measured with bench/gemm.ts):
 * - intraOpNumThreads is what matters: it sizes the thread pool that splits a single kernel
 *   (MatMul/Gemm/Conv) across cores (2048³ MatMul best case: ~106 ms with 1 thread, ~53 ms with
 *   2 on this 2-vCPU box). Use the cores you can spare; more threads than free cores
 *   oversubscribes, and ORT's spinning workers then slow every run.
 * - interOpNumThreads only applies with executionMode 'parallel' (independent branches run
 *   concurrently); for the chain-like graphs we build, 'sequential' with 1 is the right choice.
 * - graphOptimizationLevel 'all' enables constant folding and operator fusions (e.g. MatMul+Add
 *   into Gemm, layout transforms for Conv); it costs a little at session creation only.
 * - enableCpuMemArena and enableMemPattern (both on by default) made no difference beyond noise,
 *   either for a 2048³ MatMul (the kernel dominates) or for a 64-op chain of 64×64 elementwise ops
 *   (~1 µs per op, dominated by kernel dispatch), so we leave the defaults. The arena keeps peak
 *   memory reserved between runs (turn it off to give memory back when shapes vary a lot); the
 *   memory pattern only applies to fixed input shapes in sequential mode.
 * - On a shared 2-vCPU VM, host contention changes run times by 2-3x; measure with care.
 * - Spinning is off (session.intra_op.allow_spinning = 0). Each session owns an intra-op pool
 *   whose workers busy-wait after a run; Edgewise alternates several sessions (gradient, HVP,
 *   Gram–Schmidt kernels), so one pool's spinning workers took the cores from the next
 *   session's. Measured on 2 cores: the demo's whole EoS run (bench W4) 65.3/67.3 s with
 *   spinning, 30.5/32.6 s without (same losses bit for bit); in Lanczos at W1 the HVP product
 *   went from 147.7 to 112.3 ms and Lanczos' own work from 19.4 to 11.5 ms per iteration
 *   (bench/profile-curvature.ts --batch 5000). `spinning: true` restores the default.
 *
 * Device 'webgpu' puts the graph on onnxruntime's WebGPU execution provider (Dawn over Vulkan
 * on Linux); nodes it has no kernel for still run on the CPU provider (in 1.30: float Sign, and
 * Reshape of int64 indices), as do the nodes named in `cpuNodes`.
 * Check that an adapter exists first (src/engine/webgpu/adapter.ts): without one, session
 * creation fails with an opaque message.
 */
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { hasDeviceOutputs, type SessionOptions } from '../platform.ts';

export type { SessionOptions } from '../platform.ts';

/** Loads serialized ONNX model bytes into an inference session; rejects if onnxruntime cannot load the model. */
export function createSession(bytes: Uint8Array, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const threads = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    return Promise.reject(new RangeError(`threads must be a positive integer, got ${threads}`));
  }
  const webgpu = options.device === 'webgpu';
  const cpuNodes = options.cpuNodes ?? [];
  if (!webgpu && cpuNodes.length > 0) return Promise.reject(new Error('cpuNodes needs device webgpu'));
  const where = options.outputLocation;
  const onDevice = hasDeviceOutputs(where);
  if (!webgpu && onDevice) return Promise.reject(new Error("outputLocation 'gpu-buffer' needs device webgpu"));
  // An empty forceCpuNodeNames is left out, not passed as [''] (which could match unnamed nodes).
  const provider = webgpu
    ? { name: 'webgpu' as const, ...(cpuNodes.length > 0 ? { forceCpuNodeNames: cpuNodes } : {}) }
    : 'cpu';
  return ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Errors only: onnxruntime's warnings (e.g. about graph clean-ups) are noise for users.
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: options.spinning === true ? '1' : '0' } } },
    ...(onDevice ? { preferredOutputLocation: typeof where === 'object' ? { ...where } : 'gpu-buffer' } : {}),
    ...(options.profile !== undefined ? { enableProfiling: true, profileFilePrefix: options.profile } : {}),
  });
}
