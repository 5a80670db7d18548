/**
 * Gauss–Newton products on the webgpu backend (SwiftShader without a GPU) against the ort
 * backend: host products over two chunks, the device product whose vectors stay in device
 * memory, and Lanczos' top eigenvalue of G with its basis on the device.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { DatasetObjective } from '../../src/train/datasetObjective.ts';
import { mlpSpec } from '../../src/bench/models.ts';
import { ggnOperator } from '../../src/curvature/hessian.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { normals, skip } from '../engine/webgpuDevice.ts';
import { relErr } from '../engine/harness.ts';

describe('webgpu: Gauss–Newton products agree with ort', { skip }, () => {
  const n = 50;
  const dims = [6, 7, 3];
  const x = normals(n * 6, 17);
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) y[i * 3 + (i % 3)] = 1;
  const theta = normals(6 * 7 + 7 + 7 * 3 + 3, 18, 0.5);
  let gpu: Runtime;
  let cpu: Runtime;
  before(() => {
    gpu = new Runtime({ backend: 'webgpu', threads: 1 });
    cpu = new Runtime({ backend: 'ort', threads: 1 });
  });
  after(async () => {
    await gpu.dispose();
    await cpu.dispose();
  });

  for (const loss of ['mse', 'cross-entropy'] as const) {
    it(`${loss}: G·v over two chunks, and on device vectors in one chunk`, async () => {
      const spec = (b: number) => mlpSpec(dims, b, loss);
      const onCpu = new DatasetObjective(cpu, spec, { n, arrays: { x, y } }, 30);
      for (const seed of [1, 2]) {
        const v = normals(theta.length, 20 + seed);
        const want = await (await onCpu.hvpAt(theta, 'ggn')).hvp(v);
        const twoChunks = new DatasetObjective(gpu, spec, { n, arrays: { x, y } }, 30);
        const got = await (await twoChunks.hvpAt(theta, 'ggn')).hvp(v);
        assert.ok(relErr(got, want) <= 1e-4, `host G·v rel. error ${relErr(got, want)}`);
        // One chunk: the operator offers the product on device vectors.
        const G = await ggnOperator(new DatasetObjective(gpu, spec, { n, arrays: { x, y } }, n), theta);
        assert.ok(G.device, 'a one-chunk webgpu operator has a device product');
        const dv = await gpu.upload(v, [1, v.length]);
        const out = await G.device.apply(dv);
        const onDevice = await gpu.download(out);
        gpu.release(dv);
        gpu.release(out);
        G.device.release?.();
        assert.ok(relErr(onDevice, want) <= 1e-4, `device G·v rel. error ${relErr(onDevice, want)}`);
      }
    });
  }

  it("Lanczos on G with its basis on the device finds ort's top eigenvalue", async () => {
    const spec = (b: number) => mlpSpec(dims, b, 'cross-entropy');
    const Gc = await ggnOperator(new DatasetObjective(cpu, spec, { n, arrays: { x, y } }, n), theta);
    const Gg = await ggnOperator(new DatasetObjective(gpu, spec, { n, arrays: { x, y } }, n), theta);
    const [c, g] = [
      await lanczos(Gc, { k: 1, iterations: 30, seed: 4 }),
      await lanczos(Gg, { k: 1, iterations: 30, seed: 4 }),
    ];
    assert.ok(
      Math.abs(g.eigenvalues[0]! - c.eigenvalues[0]!) <= 1e-3 * c.eigenvalues[0]!,
      `λ1(G) ${g.eigenvalues[0]} (webgpu) vs ${c.eigenvalues[0]} (ort)`,
    );
    assert.ok(c.eigenvalues[0]! > 0);
  });
});
