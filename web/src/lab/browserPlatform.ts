/**
 * The engine's platform in a browser worker (src/engine/platform.ts): onnxruntime-web sessions
 * on one execution provider chosen by the worker (WebGPU, or wasm on the CPU), host tensors,
 * the pure-TypeScript SHA-256 for cache keys (WebCrypto's digest is asynchronous), no profiles.
 *
 * Graphs compiled for the engine's CPU backend (`ort`) run on the chosen provider with host
 * inputs and outputs: the same graphs as `edgewise train` with `backend: ort`, no device
 * residency (Runtime.keep / compileDevice) yet.
 */
import type * as Ort from 'onnxruntime-web/webgpu';
import type { EnginePlatform, Hasher, PlatformSession, PlatformTensor } from '../../../src/engine/platform.ts';
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
      if (options.outputLocation !== undefined && options.outputLocation !== 'cpu')
        throw new Error('the Lab keeps tensors on the host (no gpu-buffer outputs)');
      const create = creating.then(() =>
        ort.InferenceSession.create(bytes, {
          // The engine's vector kernels (Gram–Schmidt over the Krylov basis) stay on the CPU, as on
          // Node: one dispatch each, on vectors the host holds anyway.
          executionProviders: [options.device === 'webgpu' ? 'webgpu' : options.role === 'kernel' ? 'wasm' : provider],
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          logSeverityLevel: 3,
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
