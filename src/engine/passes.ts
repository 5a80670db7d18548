/**
 * Graph clean-up and partial evaluation: dead-code elimination, common-subexpression
 * elimination, and `splitGraph`, which separates the part of a graph that does not depend on
 * some inputs so it can be computed once and fed back (e.g. activations for many HVPs at fixed θ).
 */
import type { Graph, Node, Op } from './ir.ts';
import { broadcastShapes, shapeEq } from './ir.ts';

const COMMUTATIVE: ReadonlySet<Op['kind']> = new Set(['add', 'mul']);

function opKey(op: Op, id: number): string {
  if (op.kind === 'constant') {
    // Hash small constants by value; big ones are never merged.
    return op.data.length <= 16 ? `constant:${Array.from(op.data).join(',')}` : `constant:#${id}`;
  }
  if (op.kind === 'input') return `input:${op.name}`;
  return JSON.stringify(op);
}

/**
 * Keeps only nodes the outputs depend on (inputs are always kept, in order) and merges nodes
 * that apply the same op to the same inputs. Renumbers ids densely.
 */
export function simplify(g: Graph): Graph {
  const live = new Uint8Array(g.nodes.length);
  for (const { id } of g.outputs) live[id] = 1;
  for (let id = g.nodes.length - 1; id >= 0; id--) {
    if (live[id]) for (const i of g.nodes[id]!.inputs) live[i] = 1;
  }
  for (const id of g.inputs) live[id] = 1;
  const remap = new Int32Array(g.nodes.length).fill(-1);
  const seen = new Map<string, number>();
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (!live[n.id]) continue;
    const inputs = n.inputs.map((i) => remap[i]!);
    // add and mul commute: a·b and b·a are one value (forward-over-reverse makes both).
    const keyInputs = COMMUTATIVE.has(n.op.kind) ? inputs.slice().sort((a, b) => a - b) : inputs;
    const key = `${opKey(n.op, n.id)}|${n.dtype}|${n.shape.join(',')}|${keyInputs.join(',')}`;
    const prev = seen.get(key);
    if (prev !== undefined && n.op.kind !== 'input') {
      remap[n.id] = prev;
      continue;
    }
    const id = nodes.length;
    nodes.push({ id, op: n.op, inputs, shape: n.shape, dtype: n.dtype });
    seen.set(key, id);
    remap[n.id] = id;
  }
  return {
    nodes,
    inputs: g.inputs.map((i) => remap[i]!),
    outputs: g.outputs.map((o) => ({ name: o.name, id: remap[o.id]! })),
  };
}

export interface SplitGraph {
  /** Computes the fixed values from the fixed inputs. Outputs are named `fixed:<k>`. */
  readonly prepare: Graph;
  /** The original outputs from the varying inputs plus the fixed values as inputs. */
  readonly main: Graph;
  /** Names of prepare's outputs, which are also main's extra inputs (same names). */
  readonly carried: readonly string[];
  /** Fixed inputs of the original graph that main also reads directly. */
  readonly passedInputs: readonly string[];
}

const CHEAP: ReadonlySet<Op['kind']> = new Set(['constant', 'reshape', 'broadcastTo']);

/**
 * Partial evaluation: nodes that do not depend on any of `varying` (input names) are moved to
 * a `prepare` graph; the values that cross over become inputs of `main`. Cheap nodes built
 * only from constants stay in main (recomputing them costs nothing, feeding them costs copies).
 */
export function splitGraph(g: Graph, varying: readonly string[]): SplitGraph {
  const names = new Set(varying);
  const dep = new Uint8Array(g.nodes.length); // depends on a varying input
  const constOnly = new Uint8Array(g.nodes.length); // built from constants only, cheaply
  for (const n of g.nodes) {
    if (n.op.kind === 'input') {
      if (names.has(n.op.name)) dep[n.id] = 1;
      continue;
    }
    if (n.inputs.some((i) => dep[i])) dep[n.id] = 1;
    else if (CHEAP.has(n.op.kind) && n.inputs.every((i) => constOnly[i])) constOnly[n.id] = 1;
  }
  for (const v of names) {
    if (!g.nodes.some((n) => n.op.kind === 'input' && n.op.name === v))
      throw new Error(`splitGraph: no input named '${v}'`);
  }
  // Crossing values: fixed, non-constant nodes used by varying nodes or returned as outputs.
  const crossing = new Set<number>();
  for (const n of g.nodes) {
    if (!dep[n.id]) continue;
    for (const i of n.inputs) if (!dep[i] && !constOnly[i]) crossing.add(i);
  }
  for (const o of g.outputs) if (!dep[o.id] && !constOnly[o.id]) crossing.add(o.id);
  const carriedIds = [...crossing].sort((a, b) => a - b);
  const nameOf = (id: number): string => {
    const n = g.nodes[id]!;
    return n.op.kind === 'input' ? n.op.name : `fixed:${id}`;
  };
  const computed = carriedIds.filter((id) => g.nodes[id]!.op.kind !== 'input');
  const passed = carriedIds.filter((id) => g.nodes[id]!.op.kind === 'input');
  const prepare = simplify({
    nodes: g.nodes,
    inputs: g.inputs.filter((i) => !dep[i]),
    outputs: computed.map((id) => ({ name: nameOf(id), id })),
  });
  // Main: fixed crossing nodes become inputs; other fixed nodes (except cheap constants) drop.
  const nodes: Node[] = g.nodes.map((n) => {
    if (crossing.has(n.id) && n.op.kind !== 'input') {
      return { id: n.id, op: { kind: 'input', name: nameOf(n.id) }, inputs: [], shape: n.shape, dtype: n.dtype };
    }
    return n;
  });
  const mainInputs = [...g.inputs.filter((i) => dep[i]), ...carriedIds];
  const main = simplify(pruneInputs({ nodes, inputs: mainInputs, outputs: g.outputs }));
  return { prepare, main, carried: computed.map(nameOf), passedInputs: passed.map(nameOf) };
}

/** Removes input nodes not listed in g.inputs by marking them dead (simplify keeps inputs). */
function pruneInputs(g: Graph): Graph {
  const keep = new Set(g.inputs);
  const live = new Uint8Array(g.nodes.length);
  for (const { id } of g.outputs) live[id] = 1;
  for (let id = g.nodes.length - 1; id >= 0; id--) if (live[id]) for (const i of g.nodes[id]!.inputs) live[i] = 1;
  for (const n of g.nodes) {
    if (live[n.id] && n.op.kind === 'input' && !keep.has(n.id)) {
      throw new Error(`splitGraph: main graph still needs input '${n.op.name}'`);
    }
  }
  return g;
}

/** Input names of a graph, in feed order. */
export function inputNames(g: Graph): string[] {
  return g.inputs.map((id) => {
    const op = g.nodes[id]!.op;
    if (op.kind !== 'input') throw new Error('graph input is not an input node');
    return op.name;
  });
}

/**
 * Rewrites where(c, a, 0) as a·cast(c) (and where(c, 0, b) as b·(1 − cast(c))) for float
 * results. onnxruntime's Mul is vectorized where its broadcasting Where is not, and after
 * splitGraph the cast of a fixed mask (e.g. ReLU's) is computed once with the other fixed
 * values instead of at every HVP. Differs from where only when the dropped side is ±inf/NaN.
 */
export function whereZeroToMul(g: Graph): Graph {
  const isZero = (id: number): boolean => {
    const op = g.nodes[id]!.op;
    return op.kind === 'constant' && op.data.length === 1 && op.data[0] === 0;
  };
  const nodes: Node[] = [];
  const remap: number[] = [];
  const push = (n: Omit<Node, 'id'>): number => {
    const id = nodes.length;
    nodes.push({ ...n, id });
    return id;
  };
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => remap[i]!);
    const float = n.dtype === 'float32' || n.dtype === 'float64';
    if (
      n.op.kind === 'where' &&
      float &&
      (isZero(n.inputs[1]!) || isZero(n.inputs[2]!)) &&
      !(isZero(n.inputs[1]!) && isZero(n.inputs[2]!))
    ) {
      const [c, a, b] = ins as [number, number, number];
      const cShape = g.nodes[n.inputs[0]!]!.shape;
      let mask = push({ op: { kind: 'cast', to: n.dtype }, inputs: [c], shape: cShape, dtype: n.dtype });
      let other = a;
      let otherShape = g.nodes[n.inputs[1]!]!.shape;
      if (isZero(n.inputs[1]!)) {
        const one = push({
          op: { kind: 'constant', data: new Float64Array([1]) },
          inputs: [],
          shape: [],
          dtype: n.dtype,
        });
        mask = push({ op: { kind: 'sub' }, inputs: [one, mask], shape: cShape, dtype: n.dtype });
        other = b;
        otherShape = g.nodes[n.inputs[2]!]!.shape;
      }
      const prodShape = broadcastShapes(otherShape, cShape);
      let out = push({ op: { kind: 'mul' }, inputs: [other, mask], shape: prodShape, dtype: n.dtype });
      if (!shapeEq(prodShape, n.shape))
        out = push({ op: { kind: 'broadcastTo', shape: n.shape }, inputs: [out], shape: n.shape, dtype: n.dtype });
      remap[n.id] = out;
      continue;
    }
    remap[n.id] = push({ op: n.op, inputs: ins, shape: n.shape, dtype: n.dtype });
  }
  return simplify({
    nodes,
    inputs: g.inputs.map((i) => remap[i]!),
    outputs: g.outputs.map((o) => ({ name: o.name, id: remap[o.id]! })),
  });
}
