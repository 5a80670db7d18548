/**
 * The WebGPU device for tests: SwiftShader (Debian's Chromium) added to the Vulkan loader's
 * drivers unless the environment names drivers itself, and `skip`, false when an adapter works
 * or the reason the webgpu tests skip. Importing this module probes once, before any session.
 */
import { existsSync } from 'node:fs';
import { probeWebGpu, SWIFTSHADER_ICD } from '../../src/engine/webgpu/adapter.ts';
import { createRng } from '../../src/util/random.ts';

// onnxruntime reads the Vulkan drivers once, at the first WebGPU session.
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ADD_DRIVER_FILES = [process.env.VK_ADD_DRIVER_FILES, SWIFTSHADER_ICD].filter(Boolean).join(':');
}
const adapter = await probeWebGpu().then(
  () => null,
  (e: Error) => e.message,
);

/** false with a working adapter; else why the webgpu tests skip, and what installs one. */
export const skip: false | string =
  adapter === null ? false : `${adapter} — apt-get install libvulkan1 chromium-common`;

/** n float32 draws of N(0, std²) from seed. */
export function normals(n: number, seed: number, std = 1): Float32Array {
  const v = new Float32Array(n);
  createRng(seed).fillNormal(v, std);
  return v;
}
