/**
 * The engine's runtime on Node: `Runtime` is runtime.ts's EngineRuntime with the Node platform
 * (onnxruntime-node, nodePlatform.ts) unless another is given. Everything else of runtime.ts is
 * re-exported, so Node code keeps importing from here; browser-safe code imports runtime.ts.
 */
import { nodePlatform } from './nodePlatform.ts';
import type { Graph } from './ir.ts';
import { EngineRuntime, graphFingerprint as fingerprintWith, type RuntimeOptions } from './runtime.ts';

export {
  EngineRuntime,
  backendDType,
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
} from './runtime.ts';

/** Compiles graphs for one backend, caching executables by graph fingerprint (on Node by default). */
export class Runtime extends EngineRuntime {
  constructor(options: RuntimeOptions) {
    super({ ...options, platform: options.platform ?? nodePlatform });
  }
}

/** A stable fingerprint (SHA-256) of a graph's structure, shapes and constants. */
export function graphFingerprint(g: Graph): string {
  return fingerprintWith(g, nodePlatform.hasher());
}
