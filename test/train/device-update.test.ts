/**
 * The optimizer updates as device graphs (train/deviceUpdate.ts) against the host optimizers
 * (sgd.ts, adam.ts, rmsprop.ts, float64 moments): three consecutive updates of every optimizer,
 * with weight decay, clipping factors and per-coordinate η, agree to float32 rounding. Runs on a
 * real WebGPU device (SwiftShader without a GPU).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime, type DeviceValue } from '../../src/engine/backend.ts';
import { createOptimizer } from '../../src/train/optimizers.ts';
import { OPTIMIZER_NAMES, type OptimizerConfig } from '../../src/train/optimizer-config.ts';
import { updateGraph } from '../../src/train/deviceUpdate.ts';
import { skip, normals } from '../engine/webgpuDevice.ts';

const dim = 1000;

describe('optimizer updates on the device', { skip }, () => {
  const cases: { cfg: OptimizerConfig; scaled: boolean; clip: number }[] = OPTIMIZER_NAMES.flatMap((name) => [
    { cfg: { name, weight_decay: 0.01, clip_denominator: name.endsWith('-ub') ? 0.05 : null }, scaled: false, clip: 1 },
    { cfg: { name, weight_decay: 0, clip_denominator: name.endsWith('-ub') ? 0.05 : null }, scaled: true, clip: 0.5 },
  ]);
  for (const { cfg, scaled, clip } of cases) {
    it(`${cfg.name}${scaled ? ' with per-coordinate η' : ', weight decay'}: three updates match the host's`, async () => {
      const rt = new Runtime({ backend: 'webgpu', threads: 1 });
      try {
        const opt = createOptimizer(cfg);
        const theta0 = normals(dim, 1, 0.5);
        const lrScale = scaled ? Float32Array.from({ length: dim }, (_, i) => (i % 3 === 0 ? 0.1 : 1)) : undefined;
        const grads = [2, 3, 4].map((seed) => normals(dim, seed, 0.1));
        grads[1]!.fill(0, 0, 10); // zero coordinates: the 0/0 guards
        const lr = 0.02;

        // Host: float32 θ, float64 state, the gradient scaled by the clipping factor first.
        const hostTheta = Float32Array.from(theta0);
        const hostState = opt.init(dim);
        for (const g of grads) {
          const gs = Float32Array.from(g, (x) => x * clip);
          opt.step(hostState, hostTheta, gs, lr, lrScale);
        }

        // Device: the update graph run three times, its outputs feeding the next run.
        const u = updateGraph(opt.config, dim, scaled);
        const exe = await rt.compileDevice(u.graph, ['next:theta', ...u.buffers.map((b) => `next:${b}`)]);
        let theta: DeviceValue = await rt.upload(theta0, [dim]);
        const state: Record<string, DeviceValue> = {};
        for (const b of u.buffers) state[b] = await rt.upload(new Float32Array(dim), [dim]);
        const scale = lrScale ? await rt.upload(lrScale, [dim]) : undefined;
        for (let t = 1; t <= grads.length; t++) {
          const feeds: Record<string, DeviceValue | Float32Array> = {
            theta,
            grad: await rt.upload(grads[t - 1]!, [dim]),
            lr: Float32Array.of(lr),
            gscale: Float32Array.of(clip),
          };
          if (u.biasCorrected) {
            feeds.bc1 = Float32Array.of(1 - opt.config.beta1 ** t);
            feeds.bc2 = Float32Array.of(1 - opt.config.beta2 ** t);
          }
          if (scale) feeds.lr_scale = scale;
          for (const b of u.buffers) feeds[`state:${b}`] = state[b]!;
          const { device } = await exe.run(feeds);
          theta = device['next:theta']!;
          for (const b of u.buffers) state[b] = device[`next:${b}`]!;
        }
        const got = await rt.download(theta);
        // Compare the total movement θ3 − θ0 coordinate by coordinate, at float32 accuracy.
        let worst = 0;
        for (let i = 0; i < dim; i++) {
          const want = hostTheta[i]! - theta0[i]!;
          const err = Math.abs(got[i]! - hostTheta[i]!);
          const tol = 4e-7 * Math.abs(theta0[i]!) + 1e-4 * Math.abs(want) + 1e-9;
          worst = Math.max(worst, err / tol);
        }
        assert.ok(worst <= 1, `worst error ${worst.toFixed(2)}× the tolerance`);
        const moved = hostTheta.some((x, i) => x !== theta0[i]);
        assert.ok(moved, 'the host update moved θ');
        const fields = hostState as unknown as Record<string, Float64Array>;
        for (const b of u.buffers) {
          const dv = await rt.download(state[b]!);
          const hv = fields[b]!;
          // Moments are sums of terms that partly cancel: the error scale is the terms', not the sum's.
          const big = hv.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
          for (let i = 0; i < dim; i++) {
            assert.ok(
              Math.abs(dv[i]! - hv[i]!) <= 1e-5 * Math.abs(hv[i]!) + 1e-6 * big,
              `${b}[${i}]: ${dv[i]} vs ${hv[i]}`,
            );
          }
        }
      } finally {
        await rt.dispose();
      }
    });
  }
});
