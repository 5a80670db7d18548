/**
 * The engine's platform in a browser worker (src/engine/platform.ts): onnxruntime-web sessions
 * on one execution provider chosen by the worker (WebGPU, or wasm on the CPU), host tensors,
 * the pure-TypeScript SHA-256 for cache keys (WebCrypto's digest is asynchronous), no profiles.
 *
 * On WebGPU the worker runs the engine's `webgpu` backend, as `edgewise train` with
 * `backend: webgpu` does on Node: sessions with `outputLocation: 'gpu-buffer'` leave those
 * outputs in device memory (onnxruntime-web's `preferredOutputLocation`), and such tensors feed
 * other sessions without a copy, since onnxruntime-web runs every WebGPU session on one
 * GPUDevice (ort.env.webgpu.device). On wasm it runs the `ort` backend, every tensor on the host.
 */
import type * as Ort from 'onnxruntime-web/webgpu';
import {
  hasDeviceOutputs,
  type EnginePlatform,
  type Hasher,
  type PlatformSession,
  type PlatformTensor,
} from '../../../src/engine/platform.ts';
import { Sha256 } from '../../../src/util/sha256.ts';

/** Where the Lab's graphs run: onnxruntime-web's WebGPU provider, or its wasm (CPU) provider. */
export type LabProvider = 'webgpu' | 'wasm';

/** Why WebGPU cannot be used in this context, or null when an adapter is available. */
export async function webGpuMissing(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined)
    return 'this browser exposes no WebGPU here (navigator.gpu is missing: not supported, disabled, or not a secure context)';
  try {
    const adapter = await gpu.requestAdapter();
    return adapter === null ? 'WebGPU is present but no adapter is available (requestAdapter() gave null)' : null;
  } catch (e) {
    return `requesting a WebGPU adapter failed: ${(e as Error).message}`;
  }
}

/** The browser platform over an onnxruntime-web module, running every session on `provider`. */
export function browserPlatform(ort: typeof Ort, provider: LabProvider): EnginePlatform {
  // onnxruntime-web's WebGPU provider refuses to create a session while another is being created
  // ("another WebGPU EP inference session is being created"), and the engine compiles graphs
  // concurrently: creations are queued here, one at a time.
  let creating: Promise<unknown> = Promise.resolve();
  return {
    name: 'browser',
    async createSession(bytes, options = {}): Promise<PlatformSession> {
      const where = options.outputLocation ?? 'cpu';
      const onDevice = hasDeviceOutputs(where);
      // Device outputs need a WebGPU session (as on Node, session.ts): a wasm session cannot place them.
      if (onDevice && options.device !== 'webgpu') throw new Error("outputLocation 'gpu-buffer' needs device webgpu");
      const cpuNodes = options.cpuNodes ?? [];
      // The engine's host vector kernels (Gram–Schmidt over a host Krylov basis) stay on the CPU, as
      // on Node: one dispatch each, on vectors the host holds anyway.
      const ep =
        options.device === 'webgpu'
          ? { name: 'webgpu' as const, ...(cpuNodes.length > 0 ? { forceCpuNodeNames: cpuNodes } : {}) }
          : options.role === 'kernel'
            ? 'wasm'
            : provider;
      const create = creating.then(() =>
        ort.InferenceSession.create(bytes, {
          executionProviders: [ep],
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          logSeverityLevel: 3,
          ...(onDevice ? { preferredOutputLocation: typeof where === 'object' ? { ...where } : 'gpu-buffer' } : {}),
        }),
      );
      creating = create.catch(() => undefined);
      const session = await create;
      return {
        async run(feeds, fetches) {
          if (fetches === undefined) return session.run(feeds as Record<string, Ort.Tensor>);
          // onnxruntime-web does not write into preallocated host outputs as onnxruntime-node does
          // (the basis kernels, basisGraphs.ts, rely on it): results are copied into them here.
          const res = await session.run(feeds as Record<string, Ort.Tensor>, Object.keys(fetches));
          const out: Record<string, PlatformTensor> = { ...res };
          for (const [name, pre] of Object.entries(fetches)) {
            if (pre === null) continue;
            (pre.data as Float32Array).set(res[name]!.data as Float32Array);
            res[name]!.dispose();
            out[name] = pre;
          }
          return out;
        },
        endProfiling: () => session.endProfiling(),
        release: () => session.release(),
      };
    },
    tensor(type, data, dims): PlatformTensor {
      return new ort.Tensor(type, data, dims.slice());
    },
    hasher(): Hasher {
      return new Sha256();
    },
    // Intra-op threads are set once for onnxruntime-web (ort.env.wasm.numThreads), not per session.
    availableParallelism: () => 1,
    async ensureWebGpuAdapter() {
      const why = await webGpuMissing();
      if (why !== null) throw new Error(why);
    },
    makeProfileFolder() {
      throw new Error('profiles are not written in the browser');
    },
    profilePath: (folder, name) => `${folder}/${name}`,
  };
}
