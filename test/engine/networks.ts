/** Tiny whole networks (MLP; CNN with normalization and pooling) shared by the Hessian tests of every backend. */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/engine/builder.ts';
import * as o from '../../src/engine/ops.ts';
import { Runtime } from '../../src/engine/backend.ts';
import { CompiledObjective, type HvpAtPoint, type ObjectiveSpec } from '../../src/engine/objective.ts';
import { createRng } from '../../src/util/random.ts';
import { relErr } from './harness.ts';

export function mlpSpec(dtype: 'float32' | 'float64'): ObjectiveSpec {
  const dims = [4, 5, 3];
  const params = [];
  for (let l = 0; l < 2; l++)
    params.push(
      { name: `l${l}.weight`, shape: [dims[l + 1]!, dims[l]!] },
      { name: `l${l}.bias`, shape: [dims[l + 1]!] },
    );
  return {
    params,
    dtype,
    data: [
      { name: 'x', shape: [6, 4] },
      { name: 'y', shape: [6, 3] },
    ],
    loss(p, d) {
      let h: Tensor = d.x!;
      for (let l = 0; l < 2; l++) {
        h = o.add(o.matmul(h, p[`l${l}.weight`]!, false, true), p[`l${l}.bias`]!);
        if (l === 0) h = o.tanh(h);
      }
      return o.neg(o.mean(o.sum(o.mul(o.logSoftmax(h), d.y!), [1])));
    },
  };
}

/** conv 3x3 → per-channel normalization over the batch (BatchNorm, train mode) → relu →
 * max pool → conv 2x2 stride 1 → avg pool → dense → MSE. */
export function cnnSpec(dtype: 'float32' | 'float64'): ObjectiveSpec {
  return {
    dtype,
    params: [
      { name: 'c1.weight', shape: [2, 1, 3, 3] },
      { name: 'c1.bias', shape: [2] },
      { name: 'bn.weight', shape: [2] },
      { name: 'bn.bias', shape: [2] },
      { name: 'c2.weight', shape: [3, 2, 2, 2] },
      { name: 'fc.weight', shape: [2, 3] },
      { name: 'fc.bias', shape: [2] },
    ],
    data: [
      { name: 'x', shape: [3, 1, 6, 6] },
      { name: 'y', shape: [3, 2] },
    ],
    loss(p, d) {
      let h = o.add(o.conv2d(d.x!, p['c1.weight']!, { pad: 1 }), o.reshape(p['c1.bias']!, [1, 2, 1, 1]));
      const mu = o.mean(h, [0, 2, 3], true);
      const c = o.sub(h, mu);
      const varc = o.mean(o.mul(c, c), [0, 2, 3], true);
      h = o.mul(c, o.rsqrt(o.add(varc, 1e-5)));
      h = o.add(o.mul(h, o.reshape(p['bn.weight']!, [1, 2, 1, 1])), o.reshape(p['bn.bias']!, [1, 2, 1, 1]));
      h = o.relu(h);
      h = o.maxPool2d(h, { kernel: 2, stride: 2 }); // 3x3
      h = o.conv2d(h, p['c2.weight']!); // 2x2
      h = o.avgPool2d(h, { kernel: 2 }); // 1x1
      h = o.reshape(h, [3, 3]);
      const out = o.add(o.matmul(h, p['fc.weight']!, false, true), p['fc.bias']!);
      const r = o.sub(out, d.y!);
      return o.mul(o.sum(o.mul(r, r)), 0.5 / 3);
    },
  };
}

export function randomProblem(spec: ObjectiveSpec, seed: number) {
  const rng = createRng(seed);
  const obj = new CompiledObjective(new Runtime({ backend: 'reference' }), spec);
  const theta = Float64Array.from({ length: obj.layout.size }, () => 0.5 * rng.normal());
  const data: Record<string, Float64Array> = {};
  for (const s of spec.data) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    data[s.name] =
      s.name === 'y' && spec.data[0]!.shape.length === 2
        ? Float64Array.from({ length: n }, (_, i) => (i % s.shape[1]! === rng.int(s.shape[1]!) ? 1 : 0))
        : Float64Array.from({ length: n }, () => rng.normal());
  }
  return { obj, theta, data };
}

/** A float32 backend's HVP, loss and gradient against the float64 reference on the same problem. */
export async function checkOrtAgrees(spec64: ObjectiveSpec, spec32: ObjectiveSpec, rt: Runtime): Promise<void> {
  const { obj, theta, data } = randomProblem(spec64, 5);
  const fast = new CompiledObjective(rt, spec32);
  const rng = createRng(9);
  const v = Float64Array.from({ length: obj.layout.size }, () => rng.normal());
  const want = await (await obj.at(theta, data)).hvp(v);
  const got = await (await fast.at(Float32Array.from(theta), data)).hvp(Float32Array.from(v));
  assert.ok(relErr(got, want) < 1e-4, `${rt.backend} HVP rel. error ${relErr(got, want)}`);
  const g64 = await obj.valueAndGrad(theta, data);
  const g32 = await fast.valueAndGrad(Float32Array.from(theta), data);
  assert.ok(
    Math.abs(g32.loss - g64.loss) < 1e-5 * Math.max(1, Math.abs(g64.loss)),
    'Math.abs(g32.loss - g64.loss) < 1e-5 * Math.max(1, Math.abs(g64.loss))',
  );
  assert.ok(relErr(g32.grad, g64.grad) < 1e-4, `${rt.backend} gradient rel. error ${relErr(g32.grad, g64.grad)}`);
}

/** The dense P×P Hessian (row-major, float64) assembled column by column from HVPs with the unit vectors. */
export async function denseHessian(at: HvpAtPoint, P: number, dtype: 'float32' | 'float64'): Promise<Float64Array> {
  const H = new Float64Array(P * P);
  for (let j = 0; j < P; j++) {
    const e = dtype === 'float32' ? new Float32Array(P) : new Float64Array(P);
    e[j] = 1;
    const col = await at.hvp(e);
    for (let i = 0; i < P; i++) H[i * P + j] = col[i]!;
  }
  return H;
}

/**
 * The whole Hessian from a float32 backend's HVPs against the float64 reference's: equal to
 * float32 accuracy, and symmetric to float32 accuracy (the graphs compute H·e_j and H·e_i by
 * different arithmetic, so symmetry is not automatic).
 */
export async function checkDenseHessianAgrees(
  spec64: ObjectiveSpec,
  spec32: ObjectiveSpec,
  rt: Runtime,
): Promise<void> {
  const { obj, theta, data } = randomProblem(spec64, 3);
  const P = obj.layout.size;
  const want = await denseHessian(await obj.at(theta, data), P, 'float64');
  const fast = new CompiledObjective(rt, spec32);
  const got = await denseHessian(await fast.at(Float32Array.from(theta), data), P, 'float32');
  const e = relErr(got, want);
  assert.ok(e < 1e-4, `${rt.backend} Hessian vs reference: rel. error ${e}`);
  const gotT = new Float64Array(P * P);
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) gotT[i * P + j] = got[j * P + i]!;
  const asym = relErr(got, gotT);
  assert.ok(asym < 1e-4, `${rt.backend} Hessian asymmetry ${asym}`);
}
