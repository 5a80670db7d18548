/**
 * Lanczos with its basis in WebGPU device memory (the Hessian on the webgpu backend): the
 * device kernels against float64 sweeps on the host, and whole runs against the same Lanczos
 * on the ort backend (basis on the host): the same Ritz values and vectors to float32 accuracy,
 * breakdown restarts included, and every device value freed afterwards. Runs on SwiftShader
 * without a GPU (see test/engine/webgpu.test.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { normals, skip } from '../engine/webgpuDevice.ts';
import { deviceBasisKernels } from '../../src/engine/webgpu/deviceBasis.ts';
import { DatasetObjective } from '../../src/train/datasetObjective.ts';
import { hessianOperator } from '../../src/curvature/hessian.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { lanczosQuadrature } from '../../src/curvature/density.ts';
import { lanczosTridiagonalize } from '../../src/curvature/krylov.ts';
import { createRng } from '../../src/util/random.ts';
import { mlpSpec } from '../../src/bench/models.ts';

const eps32 = 2 ** -24;

describe('webgpu: Lanczos with the basis in device memory', { skip }, () => {
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

  it('device sweep: h = Q·w, ‖w − Qᵀh‖² and the unit vector as float64 on the host computes them', async () => {
    const k = deviceBasisKernels(gpu);
    const n = 1001;
    const rows = 3;
    const Qh = normals(rows * n, 1);
    const wh = normals(n, 2);
    const Q = await gpu.upload(Qh, [rows, n]);
    const w = await gpu.upload(wh, [1, n]);
    const r = await k.sweep(Q, w);
    const h64 = Array.from({ length: rows }, (_, i) => {
      let s = 0;
      for (let t = 0; t < n; t++) s += Qh[i * n + t]! * wh[t]!;
      return s;
    });
    for (let i = 0; i < rows; i++)
      assert.ok(Math.abs(r.h[i]! - h64[i]!) <= 20 * eps32 * n, `h[${i}] ${r.h[i]} vs ${h64[i]}`);
    const out64 = Array.from({ length: n }, (_, t) => wh[t]! - h64.reduce((s, hi, i) => s + hi * Qh[i * n + t]!, 0));
    const ss64 = out64.reduce((s, x) => s + x * x, 0);
    assert.ok(Math.abs(r.ss - ss64) <= 1e-4 * ss64, `ss ${r.ss} vs ${ss64}`);
    // The unit vector, read back as the last row of [Q; unit] combined with e_last.
    const grown = await k.append(Q, r.unit);
    assert.deepEqual(grown.dims, [rows + 1, n]);
    const e = new Float32Array(rows + 1);
    e[rows] = 1;
    const unit = await k.combine(grown, e);
    const scale = 1 / Math.sqrt(ss64);
    for (let t = 0; t < n; t++) assert.ok(Math.abs(unit[t]! - out64[t]! * scale) <= 1e-4, `unit[${t}]`);
    for (const v of [Q, w, r.out, r.unit, grown]) gpu.release(v);
  });

  /** An MLP's Hessian at one θ on webgpu and on ort, over the same seeded samples. */
  const hessians = async (dims: number[], batch: number) => {
    const spec = () => mlpSpec(dims, batch, 'mse');
    const x = normals(batch * dims[0]!, 3);
    const y = normals(batch * dims[dims.length - 1]!, 4);
    const onGpu = new DatasetObjective(gpu, spec, { n: batch, arrays: { x, y } }, batch);
    const onCpu = new DatasetObjective(cpu, spec, { n: batch, arrays: { x, y } }, batch);
    const dim = onCpu.objective(batch).layout.size;
    const theta = normals(dim, 5, 0.5);
    return { onGpu, dim, theta, Hg: await hessianOperator(onGpu, theta), Hc: await hessianOperator(onCpu, theta) };
  };

  const compare = async (dims: number[], batch: number, k: number, iterations: number) => {
    const { onGpu, dim, theta, Hg, Hc } = await hessians(dims, batch);
    assert.ok(Hg.device, 'the webgpu Hessian offers device products');
    assert.equal(Hc.device, undefined);
    await onGpu.evaluate(theta); // the samples are now kept on the device
    const baseline = gpu.residentBytes;
    const uploads = gpu.uploads;
    const opts = { k, iterations, seed: 11, earlyStop: false, exactResiduals: false } as const;
    const [rg, rc] = [await lanczos(Hg, opts), await lanczos(Hc, opts)];
    assert.equal(gpu.residentBytes, baseline, 'every device value of the run was freed');
    // θ and the start vector (as q0 and as Q's first row) went up, and restart vectors if any.
    assert.ok(gpu.uploads - uploads >= 3, 'the run went through the device');
    assert.equal(Hg.calls, rg.matvecs, 'the products ran on the device operator');
    const top = Math.abs(rc.eigenvalues[0]!);
    assert.equal(rg.eigenvalues.length, rc.eigenvalues.length);
    rg.eigenvalues.forEach((l, i) =>
      assert.ok(Math.abs(l - rc.eigenvalues[i]!) <= 1e-4 * top, `λ${i} ${l} vs ${rc.eigenvalues[i]}`),
    );
    // Stochastic Lanczos quadrature on the device: the same moments v̂ᵀAᵖv̂ (exact for p < 16 with
    // 8 nodes; single nodes past a low rank are rounding noise of no weight), its basis freed too.
    const probe = Float64Array.from(normals(dim, 12));
    const [qg, qc] = [await lanczosQuadrature(Hg, probe, 8), await lanczosQuadrature(Hc, probe, 8)];
    const moment = (q: typeof qg, p: number) => q.nodes.reduce((s, x, i) => s + q.weights[i]! * x ** p, 0);
    for (const p of [1, 2, 3])
      assert.ok(
        Math.abs(moment(qg, p) - moment(qc, p)) <= 1e-4 * top ** p,
        `moment ${p}: ${moment(qg, p)} vs ${moment(qc, p)}`,
      );
    assert.equal(gpu.residentBytes, baseline, 'the quadrature freed its device basis');
    const used = gpu.uploads - uploads;
    // basis: 'host' takes the host route on the same operator: products come back every step.
    const rh = await lanczos(Hg, { ...opts, basis: 'host' });
    assert.equal(gpu.uploads - uploads, used, 'nothing uploaded by Runtime.upload on the host route');
    rh.eigenvalues.forEach((l, i) =>
      assert.ok(Math.abs(l - rc.eigenvalues[i]!) <= 1e-4 * top, `host route λ${i} ${l} vs ${rc.eigenvalues[i]}`),
    );
    return { rg, rc, dim, uploads: used };
  };

  it('MLP Hessian: the same top-3 Ritz pairs as the host basis on ort', async () => {
    const { rg, rc, uploads } = await compare([8, 6, 3], 20, 3, 20);
    assert.equal(uploads, 6, 'θ and the start vector (twice) went up for Lanczos, the same for the quadrature');
    for (let i = 0; i < 3; i++) {
      let c = 0;
      for (let t = 0; t < rg.eigenvectors[i]!.length; t++) c += rg.eigenvectors[i]![t]! * rc.eigenvectors[i]![t]!;
      assert.ok(Math.abs(c) > 0.999, `eigenvector ${i}: |cos| ${Math.abs(c)}`);
    }
  });

  it('partial reorthogonalization on the device: the local and full sweeps give the host tridiagonal', async () => {
    const dims = [8, 6, 3];
    const batch = 20;
    const { onGpu, dim, theta, Hg, Hc } = await hessians(dims, batch);
    const start = normals(dim, 6);
    const steps = 30;
    const opts = { steps, onBreakdown: 'restart' as const };
    await onGpu.evaluate(theta); // the samples are now kept on the device
    const baseline = gpu.residentBytes;
    const rg = await lanczosTridiagonalize(Hg, start, { ...opts, rng: createRng(1) });
    const rc = await lanczosTridiagonalize(Hc, start, { ...opts, rng: createRng(1) });
    assert.equal(rg.where, 'device');
    assert.ok(rg.fullSweeps > 0 && rg.fullSweeps < rg.steps, `device full sweeps ${rg.fullSweeps} of ${rg.steps}`);
    const scale = Math.max(...rc.alpha.map(Math.abs));
    // The first steps agree to float32 rounding (later ones drift apart as Lanczos amplifies it).
    for (let j = 0; j < 8; j++) {
      assert.ok(Math.abs(rg.alpha[j]! - rc.alpha[j]!) <= 1e-4 * scale, `α${j}: ${rg.alpha[j]} vs ${rc.alpha[j]}`);
      assert.ok(Math.abs(rg.beta[j]! - rc.beta[j]!) <= 1e-4 * scale, `β${j}: ${rg.beta[j]} vs ${rc.beta[j]}`);
    }
    // The device basis is semi-orthogonal too: Q's Gram matrix from combinations Qᵀe_i.
    const rows: Float64Array[] = [];
    for (let i = 0; i < rg.steps; i++) {
      const e = new Array<number>(rg.steps).fill(0);
      e[i] = 1;
      rows.push(await rg.combine(e));
    }
    let off = 0;
    for (let i = 0; i < rows.length; i++)
      for (let k = 0; k < i; k++) {
        let d = 0;
        for (let t = 0; t < dim; t++) d += rows[i]![t]! * rows[k]![t]!;
        off = Math.max(off, Math.abs(d));
      }
    assert.ok(off <= 1e-3, `device basis: max |q_iᵀq_k| = ${off}`);
    rg.release();
    rc.release();
    assert.equal(gpu.residentBytes, baseline, 'every device value of the run was freed');
  });

  it('a Hessian of low rank (the Krylov space runs out): the same spectrum, zeros past the rank', async () => {
    // A linear model with MSE on 2 samples: H has rank 6 (2 per output), far below its 15 parameters.
    const { rg, dim } = await compare([4, 3], 2, 8, 15);
    assert.equal(dim, 15);
    assert.ok(
      rg.eigenvalues.slice(6).every((l) => Math.abs(l) <= 1e-4 * rg.eigenvalues[0]!),
      `zeros past the rank: ${rg.eigenvalues.join(', ')}`,
    );
  });

  it('breakdowns (β = 0 exactly) restart in random directions on the device, and free everything', async () => {
    const n = 64;
    const zeros = async () => new Float32Array(n);
    let onDevice = 0;
    const op = {
      dim: n,
      matvec: async () => new Float64Array(n),
      matvec32: zeros,
      device: {
        kernels: deviceBasisKernels(gpu),
        apply: async () => {
          onDevice++;
          return gpu.upload(new Float32Array(n), [1, n]);
        },
      },
    };
    const baseline = gpu.residentBytes;
    const r = await lanczos(op, { k: 3, iterations: 6, seed: 2, earlyStop: false, exactResiduals: false });
    assert.equal(r.iterations, 6, 'every step broke down and restarted');
    assert.equal(onDevice, 6, 'the products were the device operator’s');
    assert.ok(
      r.eigenvalues.length === 3 && r.eigenvalues.every((l) => l === 0),
      `eigenvalues ${r.eigenvalues.join(', ')}`,
    );
    // Ritz vectors of the zero operator are the restart vectors: unit and orthogonal to each other.
    for (let i = 0; i < 3; i++)
      for (let j = 0; j <= i; j++) {
        let d = 0;
        for (let t = 0; t < n; t++) d += r.eigenvectors[i]![t]! * r.eigenvectors[j]![t]!;
        assert.ok(Math.abs(d - (i === j ? 1 : 0)) <= 1e-5, `q${i}·q${j} = ${d}`);
      }
    assert.equal(gpu.residentBytes, baseline);
  });
});
