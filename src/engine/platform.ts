/**
 * What the engine needs from the machine it runs on, as one object: onnxruntime sessions and
 * tensors, a hash for cache keys, the default thread count, a WebGPU adapter check and the
 * profile folder. The engine's runtime (runtime.ts) and basis kernels (basisGraphs.ts) take an
 * EnginePlatform and import nothing Node-specific; nodePlatform.ts implements it with
 * onnxruntime-node, a browser worker with onnxruntime-web. The session and tensor types are the
 * part of onnxruntime's common API (onnxruntime-common) that the engine uses, structurally.
 */

/** Element types of the tensors the engine feeds and reads. */
export type TensorElement = 'float32' | 'float64' | 'int64' | 'bool';

/** A tensor's data for each element type: float32, float64, int64 (BigInt64Array), bool (Uint8Array of 0/1). */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

/** An onnxruntime tensor: on the host (`data` readable) or in device memory (location 'gpu-buffer'). */
export interface PlatformTensor {
  readonly dims: readonly number[];
  /** The host data (a typed array of the element type); not to be read for device tensors. */
  readonly data: unknown;
  /** Frees the tensor's memory (device memory for a 'gpu-buffer' tensor). */
  dispose(): void;
}

/** An onnxruntime inference session, as the engine uses it. */
export interface PlatformSession {
  /**
   * Runs the model. `fetches` names the outputs to return: null lets onnxruntime allocate it, a
   * tensor is written in place (host outputs preallocated by the caller).
   */
  run(
    feeds: Readonly<Record<string, PlatformTensor>>,
    fetches?: Readonly<Record<string, PlatformTensor | null>>,
  ): Promise<Readonly<Record<string, PlatformTensor>>>;
  /** Writes the profile (sessions created with `profile`). */
  endProfiling(): void;
  release(): Promise<void>;
}

/** Options for creating a session; `threads` = intra-op threads (default: the platform's parallelism). */
export interface SessionOptions {
  threads?: number;
  /** Where the graph runs: 'cpu' (default) or 'webgpu'. */
  device?: 'cpu' | 'webgpu';
  /**
   * What the session runs: a model's graph (default), or one of the engine's small vector kernels
   * (basisGraphs.ts), which a platform may place apart (the Lab keeps them on the CPU).
   */
  role?: 'graph' | 'kernel';
  /** Names of nodes to run on the CPU provider (webgpu only; see src/engine/webgpu/placement.ts). */
  cpuNodes?: readonly string[];
  /** Let idle intra-op workers busy-wait between runs (onnxruntime's default; off here, see onnx/session.ts). */
  spinning?: boolean;
  /**
   * Where outputs are returned: 'cpu' (default) or 'gpu-buffer' (webgpu: left in device memory,
   * for feeding other sessions), for all outputs or per output name (unnamed ones: 'cpu').
   */
  outputLocation?: 'cpu' | 'gpu-buffer' | Readonly<Record<string, 'cpu' | 'gpu-buffer'>>;
  /**
   * Record onnxruntime's profile (a Chrome trace: per-node kernel times, and on webgpu the GPU
   * shader times) to `<profile>_<timestamp>.json`, written by session.endProfiling().
   */
  profile?: string;
}

/** Whether `where` (SessionOptions.outputLocation) leaves any output in device memory. */
export function hasDeviceOutputs(where: SessionOptions['outputLocation']): boolean {
  return where === 'gpu-buffer' || (typeof where === 'object' && Object.values(where).includes('gpu-buffer'));
}

/** An incremental hash (cache keys: equal inputs give equal digests, distinct ones distinct digests). */
export interface Hasher {
  update(data: string | Uint8Array): void;
  /** The digest as lowercase hex. */
  digest(): string;
}

/** The machine-specific services of the engine (see the module comment). */
export interface EnginePlatform {
  /** A short name for messages ('node', 'browser'). */
  readonly name: string;
  /** Loads serialized ONNX model bytes into a session; rejects if onnxruntime cannot load the model. */
  createSession(bytes: Uint8Array, options?: SessionOptions): Promise<PlatformSession>;
  /** A host tensor over `data` (no copy) with the given dims. */
  tensor(type: TensorElement, data: TensorData, dims: readonly number[]): PlatformTensor;
  /** A fresh incremental hash (SHA-256 on Node). */
  hasher(): Hasher;
  /** The default number of intra-op threads (the cores available). */
  availableParallelism(): number;
  /**
   * Resolves when a WebGPU adapter is usable; rejects with an Error that names what is missing
   * (never falls back to the CPU).
   */
  ensureWebGpuAdapter(): Promise<void>;
  /** Creates a folder for profiles (and its parents); platforms without files throw. */
  makeProfileFolder(folder: string): void;
  /** The path of `name` inside a profile folder. */
  profilePath(folder: string, name: string): string;
}
