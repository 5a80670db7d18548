/**
 * The engine's platform on Node (platform.ts): onnxruntime-node sessions with CPU-throughput
 * defaults (onnx/session.ts), SHA-256 from node:crypto, os.availableParallelism(), the WebGPU
 * adapter check in a child process (webgpu/adapter.ts), and profile folders on disk.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession } from './onnx/session.ts';
import type { EnginePlatform, Hasher, PlatformSession, PlatformTensor } from './platform.ts';
import { ensureWebGpuAdapter } from './webgpu/adapter.ts';

/** onnxruntime-node's session, seen through the engine's structural type (checked here at compile time). */
const asPlatformSession = (s: ort.InferenceSession): PlatformSession => s;

/** The Node platform: onnxruntime-node and the Node standard library. */
export const nodePlatform: EnginePlatform = {
  name: 'node',
  createSession: (bytes, options) => createSession(bytes, options).then(asPlatformSession),
  tensor(type, data, dims): PlatformTensor {
    return new ort.Tensor(type, data, dims.slice());
  },
  hasher(): Hasher {
    const h = createHash('sha256');
    return {
      update: (data) => void h.update(data),
      digest: () => h.digest('hex'),
    };
  },
  availableParallelism: () => os.availableParallelism(),
  ensureWebGpuAdapter,
  makeProfileFolder: (folder) => void mkdirSync(folder, { recursive: true }),
  profilePath: (folder, name) => join(folder, name),
};
