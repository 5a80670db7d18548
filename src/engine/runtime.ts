/**
 * Backends that execute graphs, on any platform (platform.ts: onnxruntime-node on Node,
 * onnxruntime-web in a browser): `ort` (lowered to ONNX, run by onnxruntime's native
 * multi-threaded CPU kernels), `webgpu` (the same ONNX, run by onnxruntime's WebGPU execution
 * provider: Dawn over Vulkan on Linux, on a GPU) and `reference` (the float64 interpreter). An
 * `EngineRuntime` compiles each distinct graph once and caches the executable; it is an explicit
 * object, not global state. backend.ts gives it the Node platform by default (`Runtime`).
 */
import type { DType, Graph } from './ir.ts';
import { size } from './ir.ts';
import { evaluate } from './reference/interpreter.ts';
import { lowerToOnnx } from './onnx/lower.ts';
import { DEFAULT_OPSET, encodeModel, type OnnxModel } from './onnx/proto.ts';
import type { EnginePlatform, Hasher, PlatformSession, PlatformTensor } from './platform.ts';
import { forceCpuNodes } from './webgpu/placement.ts';

export type BackendName = 'ort' | 'webgpu' | 'reference';

/** The float type a backend computes in: float32 on onnxruntime (CPU and WebGPU), float64 on the reference. */
export function backendDType(backend: BackendName): 'float32' | 'float64' {
  return backend === 'reference' ? 'float64' : 'float32';
}

/** Values fed to and returned from graphs, keyed by input/output name. */
export type Value = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | readonly number[];

/**
 * A float32 tensor in device memory (webgpu): kept by `Runtime.keep`, uploaded by `upload`, or
 * an output of a `compileDevice` graph; fed to graphs like a host array but without a copy.
 * Opaque: only a graph output placed on the host brings values back (onnxruntime-node 1.30 aborts
 * the process on getData() of a GPU tensor). It lives until `Runtime.release` or `dispose`.
 */
export interface DeviceValue {
  readonly kind: 'device';
  readonly dtype: 'float32';
  readonly dims: readonly number[];
  /** Whether it was released (feeding it then is an error, not a crash). */
  readonly released: boolean;
}

/** What a graph input accepts: a host array, or a value kept on the executable's device. */
export type Feed = Value | DeviceValue;
export type Feeds = Record<string, Feed>;

/** Whether a feed is a DeviceValue (not a host array). */
export function isDeviceValue(v: Feed): v is DeviceValue {
  return (v as DeviceValue).kind === 'device';
}

/** A DeviceValue with its onnxruntime tensor (location 'gpu-buffer'). */
class KeptTensor implements DeviceValue {
  readonly kind = 'device' as const;
  readonly dtype = 'float32' as const;
  released = false;
  constructor(
    readonly dims: readonly number[],
    readonly tensor: PlatformTensor,
    /** Bytes of device memory. */
    readonly bytes: number,
    /** Drops keep()'s cache entry, for a kept value released early. */
    public forget?: () => void,
  ) {}
}

/** A graph compiled with some outputs left in device memory (webgpu; Runtime.compileDevice). */
export interface DeviceExecutable {
  readonly inputNames: readonly string[];
  /** Runs the graph: outputs named at compile time come back as DeviceValues (release them), the rest as host arrays. */
  run(feeds: Feeds): Promise<{ host: Outputs; device: Record<string, DeviceValue> }>;
}

/** The tensor to feed for a DeviceValue, or an Error saying why it cannot be fed to input `name`. */
function deviceFeed(
  name: string,
  dtype: DType,
  shape: readonly number[],
  v: DeviceValue,
  dynamic = false,
): PlatformTensor {
  if (!(v instanceof KeptTensor)) throw new Error(`feed '${name}': not a DeviceValue made by Runtime.keep`);
  if (v.released) throw new Error(`feed '${name}': its device copy was released (Runtime.release or dispose)`);
  const fits = (d: number, i: number) => d === shape[i] || (dynamic && shape[i]! < 0);
  if (dtype !== v.dtype || v.dims.length !== shape.length || !v.dims.every(fits)) {
    throw new Error(
      `feed '${name}' is a ${v.dtype} [${v.dims.join(', ')}] device value, expected ${dtype} [${shape.join(', ')}]`,
    );
  }
  return v.tensor;
}
/** Float outputs as Float32Array/Float64Array; bool outputs as Uint8Array (0/1); int64 as BigInt64Array. */
export type Outputs = Record<string, Float32Array | Float64Array>;

/** A compiled graph. `run` accepts feeds of any numeric array type and converts as needed. */
export interface Executable {
  readonly backend: BackendName;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Feeds): Promise<Outputs>;
  dispose(): Promise<void>;
}

export interface RuntimeOptions {
  backend: BackendName;
  /** Sessions, hashing, threads and the adapter check (backend.ts's Runtime: the Node platform by default). */
  platform?: EnginePlatform;
  /** Intra-op threads for ort (default: available parallelism); on webgpu, for the nodes left on the CPU. */
  threads?: number;
  /**
   * A folder for onnxruntime profiles (ort, webgpu): each compiled graph records one, written on
   * dispose() as `<folder>/<graph>-<n>_<timestamp>.json` (summarizeProfiles reads them).
   */
  profile?: string;
}

/** A stable fingerprint of a graph's structure, shapes and constants, by the platform's hash. */
export function graphFingerprint(g: Graph, h: Hasher): string {
  for (const n of g.nodes) {
    const { op } = n;
    h.update(`${n.id}|${n.dtype}|${n.shape.join(',')}|${n.inputs.join(',')}|`);
    if (op.kind === 'constant') {
      h.update('constant|');
      h.update(new Uint8Array(op.data.buffer, op.data.byteOffset, op.data.byteLength));
    } else {
      h.update(JSON.stringify(op));
    }
    h.update('\n');
  }
  h.update(`in:${g.inputs.join(',')}|out:${g.outputs.map((o) => `${o.name}=${o.id}`).join(',')}`);
  return h.digest();
}

function inputSpecs(g: Graph): { name: string; dtype: DType; shape: readonly number[] }[] {
  return g.inputs.map((id) => {
    const n = g.nodes[id]!;
    if (n.op.kind !== 'input') throw new Error('graph input is not an input node');
    return { name: n.op.name, dtype: n.dtype, shape: n.shape };
  });
}

function toTensor(
  platform: EnginePlatform,
  name: string,
  dtype: DType,
  shape: readonly number[],
  v: Value,
): PlatformTensor {
  const n = size(shape);
  if (v.length !== n)
    throw new Error(`feed '${name}' has ${v.length} values, expected ${n} for shape [${shape.join(', ')}]`);
  const dims = shape.slice();
  switch (dtype) {
    case 'float32':
      return platform.tensor(
        'float32',
        v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>),
        dims,
      );
    case 'float64':
      return platform.tensor(
        'float64',
        v instanceof Float64Array ? v : Float64Array.from(v as ArrayLike<number>),
        dims,
      );
    case 'int64':
      return platform.tensor(
        'int64',
        v instanceof BigInt64Array ? v : BigInt64Array.from(Array.from(v as ArrayLike<number>, (x) => BigInt(x))),
        dims,
      );
    case 'bool':
      return platform.tensor(
        'bool',
        v instanceof Uint8Array ? v : Uint8Array.from(v as ArrayLike<number>, (x) => (x ? 1 : 0)),
        dims,
      );
  }
}

/** A graph's name in profile file names: what it computes, from its outputs' names (hvp:…, grad:…). */
function graphKind(g: Graph): string {
  const names = g.outputs.map((o) => o.name);
  if (names.some((n) => n.startsWith('hvp:'))) return 'hvp';
  if (names.some((n) => n.startsWith('grad:'))) return 'grad';
  return names.includes('loss') ? 'value' : 'graph';
}

async function compileOrt(
  platform: EnginePlatform,
  g: Graph,
  threads: number,
  device: 'cpu' | 'webgpu',
  profile: string | undefined,
): Promise<Executable> {
  const specs = inputSpecs(g);
  const model = lowerToOnnx(g);
  const cpuNodes = device === 'webgpu' ? forceCpuNodes(model) : [];
  const session = await platform.createSession(encodeModel(model), { threads, device, cpuNodes, profile });
  const outputNames = g.outputs.map((o) => o.name);
  return {
    backend: device === 'webgpu' ? 'webgpu' : 'ort',
    inputNames: specs.map((s) => s.name),
    outputNames,
    async run(feeds) {
      const f: Record<string, PlatformTensor> = {};
      for (const s of specs) {
        const v = feeds[s.name];
        if (v === undefined) throw new Error(`missing feed for input '${s.name}'`);
        if (!isDeviceValue(v)) f[s.name] = toTensor(platform, s.name, s.dtype, s.shape, v);
        else if (device === 'webgpu') f[s.name] = deviceFeed(s.name, s.dtype, s.shape, v);
        else throw new Error(`feed '${s.name}' is in WebGPU device memory; this graph runs on the CPU (backend ort)`);
      }
      const res = await session.run(f);
      const out: Outputs = {};
      for (const name of outputNames) {
        // Non-float outputs (bool masks, int64 indices) pass through in their own typed array,
        // so that feeding them back (e.g. carried HVP values) costs no conversion.
        out[name] = res[name]!.data as Float32Array;
      }
      return out;
    },
    async dispose() {
      if (profile !== undefined) session.endProfiling();
      await session.release();
    },
  };
}

function compileReference(g: Graph): Executable {
  const specs = inputSpecs(g);
  return {
    backend: 'reference',
    inputNames: specs.map((s) => s.name),
    outputNames: g.outputs.map((o) => o.name),
    async run(feeds) {
      const f: Record<string, ArrayLike<number>> = {};
      for (const s of specs) {
        const v = feeds[s.name];
        if (v === undefined) throw new Error(`missing feed for input '${s.name}'`);
        if (isDeviceValue(v))
          throw new Error(`feed '${s.name}' is in WebGPU device memory; the reference backend runs on the host`);
        f[s.name] = v instanceof BigInt64Array ? Array.from(v, Number) : (v as ArrayLike<number>);
      }
      return evaluate(g, f);
    },
    dispose: async () => {},
  };
}

/** y = x for float32 tensors of any dims of one rank: an upload with its output in device memory, a download with it on the host. */
function identityModel(rank: number, graphName: 'upload' | 'download'): OnnxModel {
  const io = (name: string) => ({ name, type: 'float32' as const, shape: Array.from({ length: rank }, () => -1) });
  return {
    graphName,
    opset: DEFAULT_OPSET,
    initializers: [],
    inputs: [io('x')],
    outputs: [io('y')],
    nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
  };
}

/** Compiles graphs for one backend on a platform, caching executables by graph fingerprint. */
export class EngineRuntime {
  readonly backend: BackendName;
  /** Where sessions come from (onnxruntime-node, onnxruntime-web). */
  readonly platform: EnginePlatform;
  readonly threads: number;
  /**
   * Whether HVPs should run as a split graph, feeding activations cached at θ back from the
   * host. On the CPU this saves recomputing them; on a GPU the host round trip costs more than
   * the recomputation (H200, MLP HVP: unsplit 30.7 ms, split 48.9 ms), so webgpu runs whole.
   */
  readonly splitHvp: boolean;
  private readonly cache = new Map<string, Promise<Executable>>();
  private adapter?: Promise<void>;
  /** Device copies made by keep, by host array, then by dims. */
  private readonly kept = new WeakMap<Float32Array, Map<string, Promise<KeptTensor>>>();
  /** Every device copy alive, released (before the sessions) on dispose. */
  private readonly live = new Set<KeptTensor>();
  /** Identity graphs with device outputs, by rank: the upload path. */
  private readonly uploaders = new Map<number, Promise<PlatformSession>>();
  /** Identity graphs with host outputs, by rank: the download path. */
  private readonly downloaders = new Map<number, Promise<PlatformSession>>();
  private uploadCount = 0;
  private keptBytes = 0;
  private readonly profile?: string;
  private profiled = 0;
  private readonly deviceCache = new Map<string, Promise<DeviceExecutable>>();
  private readonly deviceSessions: PlatformSession[] = [];
  private readonly deviceRunCounts = new Map<string, number>();

  constructor(options: RuntimeOptions & { platform: EnginePlatform }) {
    this.backend = options.backend;
    this.platform = options.platform;
    this.threads = options.threads ?? this.platform.availableParallelism();
    this.splitHvp = options.backend !== 'webgpu';
    this.profile = options.profile;
    if (this.profile !== undefined) this.platform.makeProfileFolder(this.profile);
  }

  /**
   * Resolves when the backend can run graphs. For webgpu it checks for a WebGPU adapter and
   * rejects with an Error that names what is missing (never falls back to the CPU).
   */
  ready(): Promise<void> {
    if (this.backend !== 'webgpu') return Promise.resolve();
    this.adapter ??= this.platform.ensureWebGpuAdapter();
    return this.adapter;
  }

  /** The executable for g (compiled on first use; later calls with an identical graph reuse it). */
  compile(g: Graph): Promise<Executable> {
    const key = graphFingerprint(g, this.platform.hasher());
    let e = this.cache.get(key);
    if (!e) {
      e =
        this.backend === 'reference'
          ? Promise.resolve(compileReference(g))
          : this.ready().then(() =>
              compileOrt(
                this.platform,
                g,
                this.threads,
                this.backend === 'webgpu' ? 'webgpu' : 'cpu',
                this.profile !== undefined
                  ? this.platform.profilePath(this.profile, `${graphKind(g)}-${++this.profiled}`)
                  : undefined,
              ),
            );
      this.cache.set(key, e);
      e.catch(() => this.cache.delete(key));
    }
    return e;
  }

  /** Number of distinct compiled graphs. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * `v` (shape `dims`) as a graph feed that stays in device memory: on webgpu a float32 array is
   * uploaded once, and later calls with the same array and dims return the same DeviceValue (so
   * the array must not change afterwards: training data, not parameters). Other backends and
   * other types get `v` back as it is. The copy lives until dispose().
   */
  keep(v: Value, dims: readonly number[]): Promise<Feed> {
    if (this.backend !== 'webgpu' || !(v instanceof Float32Array)) return Promise.resolve(v);
    if (size(dims) !== v.length) {
      return Promise.reject(new Error(`keep: ${v.length} values do not fill shape [${dims.join(', ')}]`));
    }
    let byDims = this.kept.get(v);
    if (!byDims) this.kept.set(v, (byDims = new Map()));
    const key = dims.join(',');
    let copy = byDims.get(key);
    if (!copy) {
      const made = this.uploadTensor(v, dims);
      copy = made.then((t) => {
        t.forget = () => byDims.delete(key);
        return t;
      });
      byDims.set(key, copy);
      copy.catch(() => byDims.delete(key));
    }
    return copy;
  }

  /**
   * A fresh device copy of `v` (shape `dims`) on webgpu, not cached (for values that change, such
   * as θ or a solver's vectors); free it with release() when done, or it lives until dispose().
   */
  upload(v: Float32Array, dims: readonly number[]): Promise<DeviceValue> {
    if (this.backend !== 'webgpu') {
      return Promise.reject(new Error(`upload: backend ${this.backend} has no device memory`));
    }
    if (size(dims) !== v.length) {
      return Promise.reject(new Error(`upload: ${v.length} values do not fill shape [${dims.join(', ')}]`));
    }
    return this.uploadTensor(v, dims);
  }

  private async uploadTensor(v: Float32Array, dims: readonly number[]): Promise<KeptTensor> {
    await this.ready();
    const rank = dims.length;
    const res = await (await this.identity(rank, 'upload')).run({ x: this.platform.tensor('float32', v, dims) });
    this.uploadCount++;
    return this.adopt(res.y!);
  }

  /**
   * A host copy of a device value (float32, its dims' size). Runs an identity graph whose output
   * is placed on the host: onnxruntime-node aborts on getData() of a GPU tensor, so values come
   * back only as graph outputs.
   */
  async download(v: DeviceValue): Promise<Float32Array> {
    if (!(v instanceof KeptTensor) || !this.live.has(v)) {
      throw new Error(
        v.released ? 'download: the device value was released' : 'download: not a device value of this Runtime',
      );
    }
    const res = await (await this.identity(v.dims.length, 'download')).run({ x: v.tensor });
    return res.y!.data as Float32Array;
  }

  /** The identity session of a rank whose output is in device memory (upload) or on the host (download). */
  private identity(rank: number, kind: 'upload' | 'download'): Promise<PlatformSession> {
    const cache = kind === 'upload' ? this.uploaders : this.downloaders;
    let session = cache.get(rank);
    if (!session) {
      session = this.platform.createSession(encodeModel(identityModel(rank, kind)), {
        threads: this.threads,
        device: 'webgpu',
        outputLocation: kind === 'upload' ? 'gpu-buffer' : 'cpu',
      });
      cache.set(rank, session);
    }
    return session;
  }

  /** Wraps a device tensor made by one of this runtime's sessions as a DeviceValue it owns. */
  private adopt(t: PlatformTensor): KeptTensor {
    const kept = new KeptTensor(t.dims.slice(), t, 4 * size(t.dims));
    this.live.add(kept);
    this.keptBytes += kept.bytes;
    return kept;
  }

  /** Frees a device value now (it must come from this runtime); feeding it afterwards is an error. Idempotent. */
  release(v: DeviceValue): void {
    if (!(v instanceof KeptTensor) || v.released) return;
    if (!this.live.has(v)) throw new Error('release: this device value belongs to another Runtime');
    v.released = true;
    v.forget?.();
    this.live.delete(v);
    this.keptBytes -= v.bytes;
    v.tensor.dispose();
  }

  /**
   * Compiles an ONNX model (or a graph, lowered) for webgpu with the outputs named in
   * `deviceOutputs` left in device memory, so they can feed the next graph without a round trip
   * through the host. Cached like compile().
   */
  compileDevice(graph: Graph | OnnxModel, deviceOutputs: readonly string[]): Promise<DeviceExecutable> {
    if (this.backend !== 'webgpu') {
      return Promise.reject(new Error(`compileDevice: backend ${this.backend} has no device memory`));
    }
    const model = 'nodes' in graph && 'opset' in graph ? graph : lowerToOnnx(graph);
    const bytes = encodeModel(model);
    const h = this.platform.hasher();
    h.update(bytes);
    const key = `device|${deviceOutputs.join(',')}|${h.digest()}`;
    let e = this.deviceCache.get(key);
    if (!e) {
      e = this.ready().then(async () => {
        const where = Object.fromEntries(
          model.outputs.map((o) => [o.name, deviceOutputs.includes(o.name) ? 'gpu-buffer' : 'cpu'] as const),
        );
        for (const name of deviceOutputs) {
          if (!(name in where)) throw new Error(`compileDevice: the model has no output '${name}'`);
        }
        const session = await this.platform.createSession(bytes, {
          threads: this.threads,
          device: 'webgpu',
          outputLocation: where,
        });
        this.deviceSessions.push(session);
        const specs = model.inputs.map((i) => ({ name: i.name, dtype: i.type as DType, shape: i.shape }));
        return {
          inputNames: specs.map((s) => s.name),
          run: async (feeds: Feeds) => {
            const f: Record<string, PlatformTensor> = {};
            for (const s of specs) {
              const v = feeds[s.name];
              if (v === undefined) throw new Error(`missing feed for input '${s.name}'`);
              if (isDeviceValue(v)) f[s.name] = deviceFeed(s.name, s.dtype, s.shape, v, true);
              else {
                // One dynamic dim (−1) takes what the feed's length leaves for it.
                const known = s.shape.reduce((p, d) => (d < 0 ? p : p * d), 1);
                const shape = s.shape.map((d) => (d < 0 ? v.length / known : d));
                f[s.name] = toTensor(this.platform, s.name, s.dtype, shape, v);
              }
            }
            const res = await session.run(f);
            const kind = deviceOutputs.join(',');
            this.deviceRunCounts.set(kind, (this.deviceRunCounts.get(kind) ?? 0) + 1);
            const host: Outputs = {};
            const device: Record<string, DeviceValue> = {};
            for (const [name, t] of Object.entries(res)) {
              if (deviceOutputs.includes(name)) device[name] = this.adopt(t);
              else host[name] = t.data as Float32Array;
            }
            return { host, device };
          },
        };
      });
      this.deviceCache.set(key, e);
      e.catch(() => this.deviceCache.delete(key));
    }
    return e;
  }

  /** Host-to-device copies made by keep so far (each array and dims once). */
  get uploads(): number {
    return this.uploadCount;
  }

  /**
   * Runs of compileDevice graphs so far, by their device outputs joined with ',' (e.g.
   * 'next:theta' for device training's update, 'hvp' for a device HVP): which device paths ran.
   */
  get deviceRuns(): Record<string, number> {
    return Object.fromEntries(this.deviceRunCounts);
  }

  /** Bytes held in device memory by keep. */
  get residentBytes(): number {
    return this.keptBytes;
  }

  /** Releases device copies (first: sessions must outlive the tensors they made), then every compiled graph. */
  async dispose(): Promise<void> {
    for (const t of this.live) {
      t.released = true;
      t.tensor.dispose();
    }
    this.live.clear();
    this.keptBytes = 0;
    const all = [
      ...this.cache.values(),
      ...this.uploaders.values(),
      ...this.downloaders.values(),
      ...this.deviceSessions,
    ];
    this.cache.clear();
    this.uploaders.clear();
    this.downloaders.clear();
    this.deviceCache.clear();
    this.deviceSessions.length = 0;
    for (const e of all) {
      const x = await e;
      await ('release' in x ? x.release() : x.dispose());
    }
  }
}

/** The runtime as platform-neutral code names it (backend.ts's `Runtime` is one, on Node by default). */
export type Runtime = EngineRuntime;
