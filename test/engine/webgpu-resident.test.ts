/**
 * Data kept in WebGPU device memory (Runtime.keep, and DatasetObjective's samples on the webgpu
 * backend): uploaded once, fed to graphs as often as needed with the same results as host
 * feeds, checked against the ort backend, and clear errors (never a crash) when misused.
 * Runs on a real WebGPU device: SwiftShader on a machine without a GPU (see webgpu.test.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeviceValue, Runtime, type DeviceValue } from '../../src/engine/backend.ts';
import { GraphBuilder } from '../../src/engine/builder.ts';
import * as o from '../../src/engine/ops.ts';
import { normals, skip } from './webgpuDevice.ts';
import { DatasetObjective } from '../../src/train/datasetObjective.ts';
import { mlpSpec } from '../../src/bench/models.ts';
import { relErr } from './harness.ts';

/** z = tanh(x·W) summed over rows: a graph with one data input and one parameter. */
function rowSumGraph() {
  const b = new GraphBuilder();
  const x = b.input('x', [8, 5], 'float32');
  const w = b.input('w', [5, 3], 'float32');
  return b.build({ z: o.sum(o.tanh(o.matmul(x, w)), [0]) });
}

describe('webgpu: values kept in device memory', { skip }, () => {
  let rt: Runtime;
  before(() => {
    rt = new Runtime({ backend: 'webgpu', threads: 1 });
  });
  after(() => rt.dispose());

  it('keep uploads an array once and the graph gives exactly what host feeds give', async () => {
    const x = normals(40, 1);
    const w = normals(15, 2);
    const exe = await rt.compile(rowSumGraph());
    const before = rt.uploads;
    const kept = await rt.keep(x, [8, 5]);
    assert.ok(isDeviceValue(kept));
    assert.deepEqual(kept.dims, [8, 5]);
    assert.equal(await rt.keep(x, [8, 5]), kept, 'the same array and dims: the same device copy');
    assert.equal(rt.uploads, before + 1);
    assert.ok(rt.residentBytes >= x.byteLength);
    const fromHost = await exe.run({ x, w });
    for (let i = 0; i < 3; i++) assert.deepEqual(await exe.run({ x: kept, w }), fromHost);
    assert.equal(rt.uploads, before + 1, 'feeding the kept value uploads nothing');
    // Released early: feeding it is an error, and keep() uploads the array again.
    const bytes = rt.residentBytes;
    rt.release(kept);
    assert.equal(rt.residentBytes, bytes - x.byteLength);
    await assert.rejects(exe.run({ x: kept, w }), /feed 'x': its device copy was released/);
    const again = await rt.keep(x, [8, 5]);
    assert.notEqual(again, kept);
    assert.equal(rt.uploads, before + 2);
    assert.deepEqual(await exe.run({ x: again, w }), fromHost);
  });

  it('a kept value of other dims, or fed to a CPU graph, is a clear error', async () => {
    const exe = await rt.compile(rowSumGraph());
    const flat = await rt.keep(normals(40, 3), [40]);
    await assert.rejects(
      exe.run({ x: flat, w: normals(15, 2) }),
      /feed 'x' is a float32 \[40\] device value, expected float32 \[8, 5\]/,
    );
    const cpu = new Runtime({ backend: 'ort', threads: 1 });
    try {
      assert.equal((await cpu.keep(normals(40, 3), [8, 5])) instanceof Float32Array, true, 'ort keeps nothing');
      const onCpu = await cpu.compile(rowSumGraph());
      await assert.rejects(
        onCpu.run({ x: await rt.keep(normals(40, 4), [8, 5]), w: normals(15, 2) }),
        /feed 'x' is in WebGPU device memory; this graph runs on the CPU/,
      );
    } finally {
      await cpu.dispose();
    }
    await assert.rejects(rt.keep(normals(40, 5), [8, 4]), /keep: 40 values do not fill shape \[8, 4\]/);
  });

  it('a value fed after its Runtime was disposed is an error naming it, and a new Runtime works', async () => {
    const own = new Runtime({ backend: 'webgpu', threads: 1 });
    const x = normals(40, 6);
    const kept = await own.keep(x, [8, 5]);
    await own.dispose();
    assert.ok(isDeviceValue(kept) && kept.released);
    const exe = await rt.compile(rowSumGraph());
    await assert.rejects(
      exe.run({ x: kept, w: normals(15, 2) }),
      /feed 'x': its device copy was released \(Runtime.release or dispose\)/,
    );
    const again = new Runtime({ backend: 'webgpu', threads: 1 });
    try {
      const z = await (await again.compile(rowSumGraph())).run({ x: await again.keep(x, [8, 5]), w: normals(15, 2) });
      assert.deepEqual(z, await exe.run({ x, w: normals(15, 2) }));
    } finally {
      await again.dispose();
    }
  });
});

describe('webgpu: a dataset objective uploads its samples once; gradients at a θ on the device', { skip }, () => {
  const n = 50;
  const chunk = 30; // two chunks, 30 + 20 samples
  const spec = (b: number) => mlpSpec([6, 7, 3], b, 'cross-entropy');
  const x = normals(n * 6, 7);
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) y[i * 3 + (i % 3)] = 1;
  const theta = normals(6 * 7 + 7 + 7 * 3 + 3, 8, 0.4);
  const v = normals(theta.length, 9);
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

  it('loss, gradient and HVPs agree with the ort backend, with one upload per chunk and array', async () => {
    const onGpu = new DatasetObjective(gpu, spec, { n, arrays: { x, y } }, chunk);
    const onCpu = new DatasetObjective(cpu, spec, { n, arrays: { x, y } }, chunk);
    const before = gpu.uploads;
    for (let step = 0; step < 3; step++) {
      const [g, c] = [await onGpu.lossAndGrad(theta), await onCpu.lossAndGrad(theta)];
      assert.ok(Math.abs(g.loss - c.loss) <= 1e-5 * Math.abs(c.loss), `loss ${g.loss} vs ${c.loss}`);
      assert.ok(relErr(g.grad, c.grad) <= 1e-4, `gradient rel. error ${relErr(g.grad, c.grad)}`);
      const [hg, hc] = [await (await onGpu.hvpAt(theta)).hvp(v), await (await onCpu.hvpAt(theta)).hvp(v)];
      assert.ok(relErr(hg, hc) <= 1e-4, `HVP rel. error ${relErr(hg, hc)}`);
    }
    assert.equal(gpu.uploads - before, 4, 'x and y of each of the two chunks, once');
    // A minibatch is used for one step: fed from the host, not kept.
    const mb = onGpu.withSamples({ n: 10, arrays: { x: x.subarray(0, 60), y: y.subarray(0, 30) } });
    const [gm, cm] = [
      await mb.lossAndGrad(theta),
      await onCpu.withSamples({ n: 10, arrays: { x: x.subarray(0, 60), y: y.subarray(0, 30) } }).lossAndGrad(theta),
    ];
    assert.ok(relErr(gm.grad, cm.grad) <= 1e-4);
    assert.equal(gpu.uploads - before, 4);
  });

  it('download gives back what was uploaded; a released value is a clear error', async () => {
    const dv = await gpu.upload(theta, [theta.length]);
    assert.deepEqual(await gpu.download(dv), theta);
    gpu.release(dv);
    await assert.rejects(gpu.download(dv), /released/);
  });

  const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, a) => s + a * a, 0));
  /** A device gradient against the ort backend's host gradient (float64 sums) on the same samples. */
  const sameAsHost = async (
    g: { loss: number; metrics: Record<string, number>; grad: DeviceValue; gradNorm: number; paramNorm: number },
    c: { loss: number; metrics: Record<string, number>; grad: ArrayLike<number> },
  ) => {
    const grad = await gpu.download(g.grad);
    gpu.release(g.grad);
    assert.ok(Math.abs(g.loss - c.loss) <= 1e-5 * c.loss, `loss ${g.loss} vs ${c.loss}`);
    assert.deepEqual(Object.keys(g.metrics), Object.keys(c.metrics));
    assert.ok(relErr(grad, c.grad) <= 1e-4, `gradient rel. error ${relErr(grad, c.grad)}`);
    assert.ok(Math.abs(g.gradNorm - norm(c.grad)) <= 1e-5 * norm(c.grad), `‖g‖ ${g.gradNorm} vs ${norm(c.grad)}`);
    assert.ok(Math.abs(g.paramNorm - norm(theta)) <= 1e-6 * norm(theta), `‖θ‖ ${g.paramNorm} vs ${norm(theta)}`);
  };

  it('the flat gradient graph at a θ on the device, in one chunk or summed over two, gives the host gradient, ‖g‖ and ‖θ‖', async () => {
    const c = await new DatasetObjective(cpu, spec, { n, arrays: { x, y } }, n).lossAndGrad(theta);
    const th = await gpu.upload(theta, [theta.length]);
    for (const size of [n, chunk]) {
      const onGpu = new DatasetObjective(gpu, spec, { n, arrays: { x, y } }, size);
      await sameAsHost(await onGpu.deviceLossAndGrad(th), c);
    }
    gpu.release(th);
  });

  it('a minibatch gathered on the device gives the host gradient of those rows', async () => {
    const idx = Int32Array.of(41, 3, 17, 3, 29, 0, 49);
    const rowsOf = (a: Float32Array, w: number) => {
      const out = new Float32Array(idx.length * w);
      idx.forEach((r, i) => out.set(a.subarray(r * w, (r + 1) * w), i * w));
      return out;
    };
    const c = await new DatasetObjective(
      cpu,
      spec,
      { n: idx.length, arrays: { x: rowsOf(x, 6), y: rowsOf(y, 3) } },
      chunk,
    ).lossAndGrad(theta);
    const th = await gpu.upload(theta, [theta.length]);
    const onGpu = new DatasetObjective(gpu, spec, { n, arrays: { x, y } }, chunk);
    await sameAsHost(await onGpu.deviceMinibatchLossAndGrad(th, idx), c);
    await assert.rejects(onGpu.deviceMinibatchLossAndGrad(th, new Int32Array(chunk + 1)), /at most 30 rows/);
    gpu.release(th);
  });
});
