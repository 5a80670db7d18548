/** Shared helpers for the model-layer tests: run traced functions on the float64 interpreter. */
import { GraphBuilder, type Tensor } from '../../src/engine/builder.ts';
import type { Shape } from '../../src/engine/ir.ts';
import { evaluate } from '../../src/engine/reference/interpreter.ts';
import type { Mode } from '../../src/nn/layers.ts';
import type { Model } from '../../src/nn/model.ts';
import type { Rng } from '../../src/util/random.ts';

export interface In {
  readonly shape: Shape;
  readonly value: ArrayLike<number>;
}

/** Traces f over float64 inputs and evaluates its named outputs with the reference interpreter. */
export function run(
  inputs: Record<string, In>,
  f: (t: Record<string, Tensor>) => Record<string, Tensor>,
): Record<string, Float64Array> {
  const b = new GraphBuilder();
  const t: Record<string, Tensor> = {};
  const feeds: Record<string, ArrayLike<number>> = {};
  for (const [k, v] of Object.entries(inputs)) {
    t[k] = b.input(k, v.shape, 'float64');
    feeds[k] = v.value;
  }
  const out = evaluate(b.build(f(t)), feeds);
  const res: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(out)) res[k] = Float64Array.from(v);
  return res;
}

/** The model's logits [B, K] (and aux / taps) at flat θ on x, by the reference interpreter. */
export function forward(
  model: Model,
  theta: Float64Array,
  x: ArrayLike<number>,
  batch: number,
  mode: Mode,
  extra: { buffers?: Float64Array; masks?: Record<string, Float64Array>; taps?: boolean } = {},
): { logits: Float64Array; aux: Record<string, Float64Array>; taps: Record<string, Float64Array> } {
  const inputs: Record<string, In> = { x: { shape: [batch, ...model.inputShape], value: x } };
  const pv = model.layout.split(theta);
  for (const p of model.params) inputs[p.name] = { shape: p.shape, value: pv[p.name]! };
  if (extra.buffers) {
    const bv = model.bufferLayout.split(extra.buffers);
    for (const s of model.buffers) inputs[s.name] = { shape: s.shape, value: bv[s.name]! };
  }
  for (const [k, v] of Object.entries(extra.masks ?? {})) {
    const d = model.dropouts.find((q) => q.name === k)!;
    inputs[k] = { shape: [batch, ...d.shape], value: v };
  }
  const out = run(inputs, (t) => {
    const p: Record<string, Tensor> = {};
    for (const s of model.params) p[s.name] = t[s.name]!;
    const buffers: Record<string, Tensor> = {};
    for (const s of model.buffers) if (t[s.name]) buffers[s.name] = t[s.name]!;
    const masks: Record<string, Tensor> = {};
    for (const s of model.dropouts) if (t[s.name]) masks[s.name] = t[s.name]!;
    const aux: Record<string, Tensor> = {};
    const taps: Record<string, Tensor> | undefined = extra.taps ? {} : undefined;
    const logits = model.forward(p, t.x!, { mode, buffers, dropoutMasks: masks, aux, taps });
    const o: Record<string, Tensor> = { logits };
    for (const [k, v] of Object.entries(aux)) o[`aux:${k}`] = v;
    for (const [k, v] of Object.entries(taps ?? {})) o[`tap:${k}`] = v;
    return o;
  });
  const aux: Record<string, Float64Array> = {};
  const taps: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(out)) {
    if (k.startsWith('aux:')) aux[k.slice(4)] = v;
    if (k.startsWith('tap:')) taps[k.slice(4)] = v;
  }
  return { logits: out.logits!, aux, taps };
}

export function normals(rng: Rng, n: number, std = 1, mean = 0): Float64Array {
  return Float64Array.from({ length: n }, () => mean + std * rng.normal());
}

/** One-hot targets [n, k] for labels i % k (independent of the code under test). */
export function cyclicOneHot(n: number, k: number): Float64Array {
  const y = new Float64Array(n * k);
  for (let i = 0; i < n; i++) y[i * k + (i % k)] = 1;
  return y;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

export function stats(v: ArrayLike<number>): { mean: number; std: number; kurtosis: number; maxAbs: number } {
  const n = v.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i]!;
  const mean = s / n;
  let m2 = 0;
  let m4 = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const d = v[i]! - mean;
    m2 += d * d;
    m4 += d ** 4;
    maxAbs = Math.max(maxAbs, Math.abs(v[i]!));
  }
  m2 /= n;
  m4 /= n;
  return { mean, std: Math.sqrt(m2), kurtosis: m4 / (m2 * m2), maxAbs };
}
