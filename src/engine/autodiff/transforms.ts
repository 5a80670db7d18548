/**
 * Reverse and forward mode as graph-to-graph transforms over a GraphBuilder, and the
 * JAX-style function transforms built from them: `grad`, `jvp`, `hvp` (forward-over-reverse),
 * `ggnvp` (Gauss–Newton products).
 */
import { type GraphBuilder, Tensor } from '../builder.ts';
import * as o from '../ops.ts';
import { vjpRule, jvpRule } from './rules.ts';

type Maybe = Tensor | null;

function zerosLike(t: Tensor): Tensor {
  return o.broadcastTo(t.builder.constant(0, [], t.dtype), t.shape);
}

function builderOf(ts: readonly Tensor[]): GraphBuilder {
  const b = ts[0]?.builder;
  if (!b) throw new Error('no tensors given');
  for (const t of ts) if (t.builder !== b) throw new Error(`${t} belongs to another graph`);
  return b;
}

/**
 * Appends the reverse-mode sweep: Σ_i ⟨cotangents[i], d outputs[i]⟩ differentiated with
 * respect to each of `wrt`. Returns one cotangent per `wrt` tensor (zeros if unreachable).
 */
export function vjp(outputs: readonly Tensor[], cotangents: readonly Tensor[], wrt: readonly Tensor[]): Tensor[] {
  const b = builderOf([...outputs, ...cotangents, ...wrt]);
  if (outputs.length !== cotangents.length) throw new Error('vjp: one cotangent per output');
  outputs.forEach((y, i) => {
    if (cotangents[i]!.size !== y.size && cotangents[i]!.rank !== 0) {
      throw new Error(`vjp: cotangent ${cotangents[i]} does not match ${y}`);
    }
  });
  const end = Math.max(...outputs.map((t) => t.id));
  const start = Math.min(...wrt.map((t) => t.id));
  // Which nodes lie downstream of some wrt tensor (only those carry cotangents).
  const dep = new Uint8Array(end + 1);
  for (const t of wrt) dep[t.id] = 1;
  for (let id = start; id <= end; id++) {
    if (!dep[id] && b.nodes[id]!.inputs.some((i) => dep[i])) dep[id] = 1;
  }
  const acc = new Map<number, Tensor[]>();
  const push = (id: number, t: Tensor): void => {
    const l = acc.get(id);
    if (l) l.push(t);
    else acc.set(id, [t]);
  };
  outputs.forEach((y, i) => {
    if (dep[y.id]) push(y.id, o.broadcastTo(cotangents[i]!, y.shape));
  });
  const total = (id: number): Maybe => {
    const l = acc.get(id);
    if (!l || l.length === 0) return null;
    return l.reduce((p, q) => o.add(p, q));
  };
  const wrtIds = new Set(wrt.map((t) => t.id));
  for (let id = end; id >= start; id--) {
    if (!dep[id] || wrtIds.has(id)) continue;
    const g = total(id);
    if (g === null) continue;
    acc.delete(id);
    const node = b.nodes[id]!;
    const xs = node.inputs.map((i) => b.tensor(i));
    const need = node.inputs.map((i) => dep[i] === 1);
    const gs = vjpRule(node, xs, b.tensor(id), g, need);
    gs.forEach((gi, k) => {
      if (gi !== null && need[k]) push(node.inputs[k]!, gi);
    });
  }
  return wrt.map((t) => total(t.id) ?? zerosLike(t));
}

/**
 * Appends the forward-mode sweep: the directional derivative of each output when each
 * `primals[i]` moves along `tangents[i]`. Returns one tangent per output (zeros if unaffected).
 */
export function jvp(outputs: readonly Tensor[], primals: readonly Tensor[], tangents: readonly Tensor[]): Tensor[] {
  const b = builderOf([...outputs, ...primals, ...tangents]);
  if (primals.length !== tangents.length) throw new Error('jvp: one tangent per primal');
  const tan = new Map<number, Tensor>();
  primals.forEach((p, i) => {
    const t = tangents[i]!;
    if (t.size !== p.size || t.dtype !== p.dtype) throw new Error(`jvp: tangent ${t} does not match primal ${p}`);
    tan.set(p.id, o.reshape(t, p.shape));
  });
  const end = Math.max(...outputs.map((t) => t.id));
  const start = Math.min(...primals.map((t) => t.id));
  const primalIds = new Set(primals.map((p) => p.id));
  for (let id = start; id <= end; id++) {
    if (primalIds.has(id)) continue;
    const node = b.nodes[id]!;
    if (!node.inputs.some((i) => tan.has(i))) continue;
    const xs = node.inputs.map((i) => b.tensor(i));
    const dxs = node.inputs.map((i) => tan.get(i) ?? null);
    const dy = jvpRule(node, xs, b.tensor(id), dxs);
    if (dy !== null) tan.set(id, dy);
  }
  return outputs.map((y) => tan.get(y.id) ?? zerosLike(y));
}

/** A scalar-valued function of several tensors. */
export type ScalarFn = (...args: Tensor[]) => Tensor;

/** grad(f)(...args): the gradient of scalar f with respect to the arguments listed in argnums. */
export function grad(f: ScalarFn, argnums: readonly number[] = [0]): (...args: Tensor[]) => Tensor[] {
  return (...args) => valueAndGrad(f, argnums)(...args).grads;
}

/** Like grad, also returning f's value (one trace shared by both). */
export function valueAndGrad(f: ScalarFn, argnums: readonly number[] = [0]) {
  return (...args: Tensor[]): { value: Tensor; grads: Tensor[] } => {
    const value = f(...args);
    if (value.size !== 1) throw new Error(`grad needs a scalar function, got ${value}`);
    const one = value.builder.constant(1, value.shape, value.dtype);
    const grads = vjp(
      [value],
      [one],
      argnums.map((i) => args[i]!),
    );
    return { value, grads };
  };
}

/**
 * Exact Hessian-vector products by forward-over-reverse: the tangent of ∇f along v.
 * Returns H·v with one tensor per argument in argnums (v has one tangent per argument).
 */
export function hvp(f: ScalarFn, argnums: readonly number[] = [0]) {
  return (args: readonly Tensor[], v: readonly Tensor[]): { value: Tensor; grads: Tensor[]; hvps: Tensor[] } => {
    const { value, grads } = valueAndGrad(f, argnums)(...args);
    const hvps = jvp(
      grads,
      argnums.map((i) => args[i]!),
      v,
    );
    return { value, grads, hvps };
  };
}

/**
 * Exact generalized Gauss–Newton-vector products for a loss written as ℓ(f(args)): G·v =
 * Jᵀ (∇²_f ℓ) J v with J = ∂f/∂args. J·v is forward mode through `net`, the loss's Hessian in
 * the outputs acts by forward-over-reverse on ℓ alone, and Jᵀ is reverse mode through `net`;
 * no second derivative of the network itself is taken. Returns the outputs f, ℓ's value and G·v
 * with one tensor per argument in argnums (v has one tangent per argument).
 */
export function ggnvp(
  net: (...args: Tensor[]) => Tensor,
  loss: (f: Tensor) => Tensor,
  argnums: readonly number[] = [0],
) {
  return (args: readonly Tensor[], v: readonly Tensor[]): { output: Tensor; value: Tensor; products: Tensor[] } => {
    const wrt = argnums.map((i) => args[i]!);
    const output = net(...args);
    const { value, grads } = valueAndGrad(loss, [0])(output);
    const [jv] = jvp([output], wrt, v);
    const [hjv] = jvp(grads, [output], [jv!]);
    const products = vjp([output], [hjv!], wrt);
    return { output, value, products };
  };
}
