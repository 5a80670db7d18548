/** Shared machinery for engine tests: build value/grad/HVP graphs and check them. */
import { GraphBuilder, type Tensor } from '../../src/engine/builder.ts';
import type { DType, Graph } from '../../src/engine/ir.ts';
import * as o from '../../src/engine/ops.ts';
import { hvp, jvp } from '../../src/engine/autodiff/transforms.ts';
import { simplify } from '../../src/engine/passes.ts';
import { evaluate } from '../../src/engine/reference/interpreter.ts';
import { createRng, type Rng } from '../../src/util/random.ts';
import type { Runtime } from '../../src/engine/backend.ts';
import assert from 'node:assert/strict';

export interface InputSpec {
  shape: number[];
  /** normal (default), positive (in [0.5, 2]), or index (integers in [0, max)). */
  dist?: 'normal' | 'positive' | 'index';
  max?: number;
}

export interface Case {
  name: string;
  inputs: InputSpec[];
  f: (...xs: Tensor[]) => Tensor;
}

const diffIdx = (c: Case): number[] => c.inputs.flatMap((s, i) => (s.dist === 'index' ? [] : [i]));

/**
 * The test objective L(x) = Σ c1⊙y + ½ Σ (c2⊙y)² with y = f(x): nonlinear in y, so that its
 * Hessian exercises the second-order rules of f even when f is linear.
 */
export function buildCase(c: Case, dtype: DType): Graph {
  const b = new GraphBuilder();
  const xs = c.inputs.map((s, i) => b.input(`x${i}`, s.shape, s.dist === 'index' ? 'int64' : dtype));
  const di = diffIdx(c);
  const vs = di.map((i) => b.input(`v${i}`, c.inputs[i]!.shape, dtype));
  let c1: Tensor | null = null;
  let c2: Tensor | null = null;
  const loss = (...args: Tensor[]): Tensor => {
    const y = c.f(...args);
    c1 ??= b.input('c1', y.shape, dtype);
    c2 ??= b.input('c2', y.shape, dtype);
    return o.add(o.sum(o.mul(c1, y)), o.mul(o.sum(o.square(o.mul(c2, y))), 0.5));
  };
  const r = hvp(loss, di)(xs, vs);
  // Forward mode on the forward graph alone: the directional derivative dL·v.
  const [dL] = jvp(
    [r.value],
    di.map((i) => xs[i]!),
    vs,
  );
  const outs: Record<string, Tensor> = { loss: r.value, dL: dL! };
  di.forEach((i, k) => {
    outs[`g${i}`] = r.grads[k]!;
    outs[`h${i}`] = r.hvps[k]!;
  });
  return simplify(b.build(outs));
}

export function randomFeeds(c: Case, g: Graph, rng: Rng): Record<string, Float64Array> {
  const feeds: Record<string, Float64Array> = {};
  for (const id of g.inputs) {
    const n = g.nodes[id]!;
    const name = (n.op as { name: string }).name;
    const len = n.shape.reduce((a, b) => a * b, 1);
    const k = name.startsWith('x') ? Number(name.slice(1)) : -1;
    const spec = k >= 0 ? c.inputs[k]! : { shape: [], dist: 'normal' as const };
    feeds[name] = Float64Array.from({ length: len }, () => {
      if (spec.dist === 'index') return rng.int(spec.max ?? 2);
      if (spec.dist === 'positive') return 0.5 + 1.5 * rng.uniform();
      return rng.normal();
    });
  }
  return feeds;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

export interface FdReport {
  grad: number;
  jvp: number;
  hvp: number;
}

/** Compares vjp, jvp and HVP with central finite differences in float64. */
export function finiteDifferenceCheck(c: Case, seed = 0, h = 1e-5): FdReport {
  const g = buildCase(c, 'float64');
  const feeds = randomFeeds(c, g, createRng(seed));
  const at = (f: Record<string, Float64Array>) => evaluate(g, f);
  const base = at(feeds);
  const di = diffIdx(c);
  const shifted = (i: number, j: number, d: number) => {
    const f = { ...feeds, [`x${i}`]: feeds[`x${i}`]!.slice() };
    f[`x${i}`]![j]! += d;
    return f;
  };
  // Gradient vs coordinate-wise central differences of the loss.
  const gExact: number[] = [];
  const gFd: number[] = [];
  for (const i of di) {
    const x = feeds[`x${i}`]!;
    for (let j = 0; j < x.length; j++) {
      const step = h * Math.max(1, Math.abs(x[j]!));
      gFd.push((at(shifted(i, j, step)).loss![0]! - at(shifted(i, j, -step)).loss![0]!) / (2 * step));
      gExact.push(base[`g${i}`]![j]!);
    }
  }
  // Along the direction v: the loss's derivative (forward mode) and the gradient's (the HVP).
  const along = (d: number) => {
    const f = { ...feeds };
    for (const i of di) f[`x${i}`] = feeds[`x${i}`]!.map((x, j) => x + d * feeds[`v${i}`]![j]!);
    return at(f);
  };
  const p = along(h);
  const m = along(-h);
  const dirFd = (p.loss![0]! - m.loss![0]!) / (2 * h);
  const dirExact = base.dL![0]!;
  const hExact: number[] = [];
  const hFd: number[] = [];
  for (const i of di) {
    const gi = base[`g${i}`]!;
    for (let j = 0; j < gi.length; j++) {
      hFd.push((p[`g${i}`]![j]! - m[`g${i}`]![j]!) / (2 * h));
      hExact.push(base[`h${i}`]![j]!);
    }
  }
  return {
    grad: relErr(gExact, gFd),
    jvp: Math.abs(dirExact - dirFd) / Math.max(Math.abs(dirFd), 1e-12),
    hvp: relErr(hExact, hFd),
  };
}

/**
 * A float32 backend against the float64 reference on one case's value/gradient/jvp/HVP graph:
 * every output's relative error (in the 2-norm) must stay under `tol`.
 */
export async function checkAgainstReference(rt: Runtime, c: Case, tol = 1e-4, seed = 7): Promise<void> {
  const g64 = buildCase(c, 'float64');
  const g32 = buildCase(c, 'float32');
  const feeds = randomFeeds(c, g64, createRng(seed));
  const want = evaluate(g64, feeds);
  const got = await (await rt.compile(g32)).run(feeds);
  for (const name of Object.keys(want)) {
    const e = relErr(got[name]!, want[name]!);
    assert.ok(e < tol, `${rt.backend}, ${name}: rel. error ${e}`);
  }
}

export { createRng, o };
