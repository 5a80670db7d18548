/**
 * The webgpu backend (onnxruntime-node's WebGPU execution provider) against the float64
 * reference: every primitive's value/gradient/jvp/HVP graph, and whole-network gradients, HVPs
 * and dense Hessians, at the float32 tolerances the `ort` backend meets.
 *
 * It needs a WebGPU adapter. On a machine without a GPU, Debian's Chromium ships SwiftShader, a
 * Vulkan driver on the CPU that Dawn accepts (Mesa 22's lavapipe is turned down): this file adds
 * it to the Vulkan loader's drivers unless the environment names drivers itself, so CI runs the
 * real WebGPU path. Without any adapter the tests skip, saying what is missing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Runtime } from '../../src/engine/backend.ts';
import { diagnose, probeWebGpu, SWIFTSHADER_ICD, vulkanLoaderPresent } from '../../src/engine/webgpu/adapter.ts';
import { CASES } from './cases.ts';
import { checkAgainstReference } from './harness.ts';
import { checkDenseHessianAgrees, checkOrtAgrees, cnnSpec, mlpSpec } from './networks.ts';

// Must happen before the first WebGPU session: onnxruntime reads the Vulkan drivers only once.
// VK_ADD_DRIVER_FILES adds to the system's drivers, so a GPU's driver stays visible (Dawn ranks CPU adapters last).
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ADD_DRIVER_FILES = [process.env.VK_ADD_DRIVER_FILES, SWIFTSHADER_ICD].filter(Boolean).join(':');
}

const INSTALL = 'apt-get install libvulkan1 chromium-common (Vulkan loader; SwiftShader, a Vulkan driver on the CPU)';
const adapter = await probeWebGpu().then(
  () => null,
  (e: Error) => e.message,
);
const skip = adapter === null ? false : `${adapter} — to run these tests without a GPU: ${INSTALL}`;
if (skip) process.stderr.write(`webgpu tests skipped: ${skip}\n`);

describe('webgpu backend agrees with the reference (float32 vs float64)', { skip }, () => {
  let rt: Runtime;
  before(() => {
    rt = new Runtime({ backend: 'webgpu', threads: 1 });
  });
  after(() => rt.dispose());
  for (const c of CASES) it(c.name, () => checkAgainstReference(rt, c));
});

describe('webgpu backend: whole networks', { skip }, () => {
  let rt: Runtime;
  before(() => {
    rt = new Runtime({ backend: 'webgpu', threads: 1 });
  });
  after(() => rt.dispose());
  it('runs HVPs as one graph, not split (host round trips cost more than recomputation on GPUs)', () => {
    assert.equal(rt.splitHvp, false);
  });
  it('tiny MLP: HVP, loss and gradient agree with the reference', () =>
    checkOrtAgrees(mlpSpec('float64'), mlpSpec('float32'), rt));
  it('tiny CNN: HVP, loss and gradient agree with the reference', () =>
    checkOrtAgrees(cnnSpec('float64'), cnnSpec('float32'), rt));
  it('tiny MLP: dense Hessian from HVPs equals the reference Hessian, symmetric', () =>
    checkDenseHessianAgrees(mlpSpec('float64'), mlpSpec('float32'), rt));
  it('tiny CNN: dense Hessian from HVPs equals the reference Hessian, symmetric', () =>
    checkDenseHessianAgrees(cnnSpec('float64'), cnnSpec('float32'), rt));
});

describe('webgpu without an adapter: one line naming what is missing, never the CPU', () => {
  it('no Vulkan driver: the probe rejects and says so', async () => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      VK_ICD_FILENAMES: '/nonexistent/none.json',
      VK_ADD_DRIVER_FILES: undefined,
      VK_DRIVER_FILES: undefined,
    };
    await assert.rejects(probeWebGpu(env), (e: Error) => {
      assert.match(e.message, /^backend webgpu: no WebGPU adapter: /);
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.match(
        e.message,
        vulkanLoaderPresent() ? /no Vulkan driver found \(none at \/nonexistent\/none\.json/ : /libvulkan1/,
      );
      return true;
    });
  });
  it('no Vulkan loader: the message names the loader and its package', () => {
    const m = diagnose(
      'Failed to get a WebGPU adapter: No supported adapters',
      "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file",
    );
    assert.match(m, /Vulkan loader libvulkan\.so\.1 is not installed \(Debian\/Ubuntu: apt-get install libvulkan1\)/);
  });
});
