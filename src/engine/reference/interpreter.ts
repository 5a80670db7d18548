/**
 * The reference backend: a plain TypeScript interpreter of the graph IR over Float64Array.
 * Slow and exact (every value is a double, whatever the graph's dtype); the oracle that the
 * fast backend and the autodiff transforms are tested against, and usable for tiny models.
 */
import type { Graph, Node, Op, Shape, Window2d, ConvAttrs } from '../ir.ts';
import { size, windowOut } from '../ir.ts';
import { erf } from './special.ts';

export type Feeds = Record<string, ArrayLike<number>>;

function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** For each flat index of `out`, the flat index of the broadcast source of shape `inp`. */
function broadcastIndex(inp: Shape, out: Shape): Int32Array {
  const n = size(out);
  const idx = new Int32Array(n);
  const lead = out.length - inp.length;
  const is = strides(inp);
  const eff = out.map((d, i) => (i < lead || inp[i - lead] === 1 ? 0 : is[i - lead]!));
  const counter = new Array<number>(out.length).fill(0);
  let src = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = src;
    for (let ax = out.length - 1; ax >= 0; ax--) {
      counter[ax]!++;
      src += eff[ax]!;
      if (counter[ax]! < out[ax]!) break;
      src -= eff[ax]! * counter[ax]!;
      counter[ax] = 0;
    }
  }
  return idx;
}

function elementwise(vals: Float64Array[], shapes: Shape[], out: Shape, f: (...a: number[]) => number): Float64Array {
  const n = size(out);
  const res = new Float64Array(n);
  const maps = shapes.map((s) => broadcastIndex(s, out));
  if (vals.length === 1) {
    const [a] = vals as [Float64Array];
    const [ma] = maps as [Int32Array];
    for (let i = 0; i < n; i++) res[i] = f(a[ma[i]!]!);
  } else if (vals.length === 2) {
    const [a, b] = vals as [Float64Array, Float64Array];
    const [ma, mb] = maps as [Int32Array, Int32Array];
    for (let i = 0; i < n; i++) res[i] = f(a[ma[i]!]!, b[mb[i]!]!);
  } else {
    for (let i = 0; i < n; i++) res[i] = f(...vals.map((v, j) => v[maps[j]![i]!]!));
  }
  return res;
}

const UNARY: Record<string, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  erf,
  stopGradient: (x) => x,
};

const BINARY: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a < b ? b : a),
  greater: (a, b) => (a > b ? 1 : 0),
  less: (a, b) => (a < b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
};

function reduce(
  x: Float64Array,
  shape: Shape,
  axes: readonly number[],
  init: number,
  f: (acc: number, v: number) => number,
): Float64Array {
  const ax = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
  const outShape = shape.map((d, i) => (ax.has(i) ? 1 : d));
  const res = new Float64Array(size(outShape)).fill(init);
  const map = broadcastIndex(outShape, shape); // each input element → its output slot
  for (let i = 0; i < x.length; i++) res[map[i]!] = f(res[map[i]!]!, x[i]!);
  return res;
}

function transpose(x: Float64Array, shape: Shape, perm: readonly number[]): Float64Array {
  const out = perm.map((p) => shape[p]!);
  const is = strides(shape);
  const ps = perm.map((p) => is[p]!);
  const res = new Float64Array(x.length);
  const counter = new Array<number>(out.length).fill(0);
  let src = 0;
  for (let k = 0; k < res.length; k++) {
    res[k] = x[src]!;
    for (let a = out.length - 1; a >= 0; a--) {
      counter[a]!++;
      src += ps[a]!;
      if (counter[a]! < out[a]!) break;
      src -= ps[a]! * counter[a]!;
      counter[a] = 0;
    }
  }
  return res;
}

/** Copies blocks along `axis`: the tensor viewed as [outer, axisLen, inner]. */
function axisView(shape: Shape, axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis]!, inner];
}

function matmul(
  a: Float64Array,
  as: Shape,
  b: Float64Array,
  bs: Shape,
  tA: boolean,
  tB: boolean,
  out: Shape,
): Float64Array {
  const r = as.length;
  const batch = r === 3 ? as[0]! : 1;
  const [m, n] = [out[r - 2]!, out[r - 1]!];
  const k = tA ? as[r - 2]! : as[r - 1]!;
  const aRows = as[r - 2]!,
    aCols = as[r - 1]!,
    bRows = bs[r - 2]!,
    bCols = bs[r - 1]!;
  const res = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = p * aRows * aCols,
      bo = p * bRows * bCols,
      ro = p * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = tA ? a[ao + q * aCols + i]! : a[ao + i * aCols + q]!;
          const bv = tB ? b[bo + j * bCols + q]! : b[bo + q * bCols + j]!;
          s += av * bv;
        }
        res[ro + i * n + j] = s;
      }
    }
  }
  return res;
}

/**
 * Visits every (x, w, y) index triple of a grouped 2-D convolution whose input position is
 * inside the image: y[n,o,i,j] += x[n,c,h,w'] · w[o,c−g·Cg,ki,kj]. The three conv primitives
 * are this one loop with a different output.
 */
function convVisit(xs: Shape, ws: Shape, a: ConvAttrs, visit: (xi: number, wi: number, yi: number) => void): void {
  const [N, C, H, W] = xs as [number, number, number, number];
  const [O, Cg, KH, KW] = ws as [number, number, number, number];
  const HO = windowOut(H, KH, a.stride[0], a.pad[0], a.dilation[0]);
  const WO = windowOut(W, KW, a.stride[1], a.pad[1], a.dilation[1]);
  const Og = O / a.groups;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let cg = 0; cg < Cg; cg++) {
        const c = g * Cg + cg;
        for (let ki = 0; ki < KH; ki++)
          for (let kj = 0; kj < KW; kj++) {
            const wi = ((o * Cg + cg) * KH + ki) * KW + kj;
            for (let i = 0; i < HO; i++) {
              const h = i * a.stride[0] - a.pad[0] + ki * a.dilation[0];
              if (h < 0 || h >= H) continue;
              for (let j = 0; j < WO; j++) {
                const w = j * a.stride[1] - a.pad[1] + kj * a.dilation[1];
                if (w < 0 || w >= W) continue;
                visit(((n * C + c) * H + h) * W + w, wi, ((n * O + o) * HO + i) * WO + j);
              }
            }
          }
      }
    }
  void C;
}

/** Visits (input index or -1 for padding, output index) pairs of a pooling window. */
function poolVisit(xs: Shape, p: Window2d, visit: (xi: number, yi: number) => void): void {
  const [N, C, H, W] = xs as [number, number, number, number];
  const HO = windowOut(H, p.kernel[0], p.stride[0], p.pad[0], p.dilation[0]);
  const WO = windowOut(W, p.kernel[1], p.stride[1], p.pad[1], p.dilation[1]);
  for (let nc = 0; nc < N * C; nc++)
    for (let i = 0; i < HO; i++)
      for (let j = 0; j < WO; j++) {
        const yi = (nc * HO + i) * WO + j;
        for (let ki = 0; ki < p.kernel[0]; ki++)
          for (let kj = 0; kj < p.kernel[1]; kj++) {
            const h = i * p.stride[0] - p.pad[0] + ki * p.dilation[0];
            const w = j * p.stride[1] - p.pad[1] + kj * p.dilation[1];
            visit(h < 0 || h >= H || w < 0 || w >= W ? -1 : (nc * H + h) * W + w, yi);
          }
      }
}

/** Flat input index of the (first) maximum of each max-pooling window. */
function argmaxPool(x: Float64Array, xs: Shape, p: Window2d, outSize: number): Int32Array {
  const best = new Float64Array(outSize).fill(-Infinity);
  const arg = new Int32Array(outSize).fill(-1);
  poolVisit(xs, p, (xi, yi) => {
    if (xi >= 0 && (x[xi]! > best[yi]! || arg[yi] === -1)) {
      best[yi] = x[xi]!;
      arg[yi] = xi;
    }
  });
  return arg;
}

function evalNode(n: Node, ins: Float64Array[], shapes: Shape[]): Float64Array {
  const op: Op = n.op;
  const [a, b] = ins as [Float64Array, Float64Array];
  switch (op.kind) {
    case 'input':
    case 'constant':
      throw new Error('unreachable');
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
    case 'pow':
    case 'maximum':
    case 'greater':
    case 'less':
    case 'equal':
      return elementwise(ins, shapes, n.shape, BINARY[op.kind]!);
    case 'neg':
    case 'exp':
    case 'log':
    case 'tanh':
    case 'sigmoid':
    case 'sqrt':
    case 'abs':
    case 'sign':
    case 'erf':
    case 'stopGradient':
      return elementwise(ins, shapes, n.shape, UNARY[op.kind]!);
    case 'cast': {
      const f = op.to === 'int64' ? Math.trunc : op.to === 'bool' ? (v: number) => (v !== 0 ? 1 : 0) : (v: number) => v;
      return a.map(f);
    }
    case 'where':
      return elementwise(ins, shapes, n.shape, (c, p, q) => (c !== 0 ? p! : q!));
    case 'reduceSum':
      return reduce(a, shapes[0]!, op.axes, 0, (s, v) => s + v);
    case 'reduceMax':
      return reduce(a, shapes[0]!, op.axes, -Infinity, (s, v) => (v > s || Number.isNaN(v) ? v : s));
    case 'reshape':
      return a.slice();
    case 'transpose':
      return transpose(a, shapes[0]!, op.perm);
    case 'broadcastTo':
      return elementwise([a], [shapes[0]!], n.shape, (v) => v);
    case 'concat': {
      const [outer, , inner] = axisView(n.shape, op.axis);
      const res = new Float64Array(size(n.shape));
      const rowOut = n.shape[op.axis]! * inner;
      let off = 0;
      ins.forEach((x, k) => {
        const len = shapes[k]![op.axis]! * inner;
        for (let o = 0; o < outer; o++) res.set(x.subarray(o * len, (o + 1) * len), o * rowOut + off);
        off += len;
      });
      return res;
    }
    case 'slice': {
      const [outer, len, inner] = axisView(shapes[0]!, op.axis);
      const m = (op.end - op.start) * inner;
      const res = new Float64Array(outer * m);
      for (let o = 0; o < outer; o++)
        res.set(a.subarray(o * len * inner + op.start * inner, o * len * inner + op.end * inner), o * m);
      return res;
    }
    case 'pad': {
      const [outer, len, inner] = axisView(shapes[0]!, op.axis);
      const m = (len + op.before + op.after) * inner;
      const res = new Float64Array(outer * m);
      for (let o = 0; o < outer; o++)
        res.set(a.subarray(o * len * inner, (o + 1) * len * inner), o * m + op.before * inner);
      return res;
    }
    case 'matmul':
      return matmul(a, shapes[0]!, b, shapes[1]!, op.transA, op.transB, n.shape);
    case 'conv2d': {
      const y = new Float64Array(size(n.shape));
      convVisit(shapes[0]!, shapes[1]!, op, (xi, wi, yi) => (y[yi] += a[xi]! * b[wi]!));
      return y;
    }
    case 'conv2dBackInput': {
      // (gy, w) → x-shaped
      const gx = new Float64Array(size(n.shape));
      convVisit(op.inputShape, shapes[1]!, op, (xi, wi, yi) => (gx[xi] += a[yi]! * b[wi]!));
      return gx;
    }
    case 'conv2dBackWeight': {
      // (x, gy) → w-shaped
      const gw = new Float64Array(size(n.shape));
      convVisit(shapes[0]!, op.weightShape, op, (xi, wi, yi) => (gw[wi] += a[xi]! * b[yi]!));
      return gw;
    }
    case 'avgPool2d': {
      const y = new Float64Array(size(n.shape));
      const k = op.kernel[0] * op.kernel[1];
      poolVisit(shapes[0]!, op, (xi, yi) => (y[yi] += xi >= 0 ? a[xi]! / k : 0));
      return y;
    }
    case 'avgPool2dBack': {
      const gx = new Float64Array(size(n.shape));
      const k = op.kernel[0] * op.kernel[1];
      poolVisit(op.inputShape, op, (xi, yi) => {
        if (xi >= 0) gx[xi] += a[yi]! / k;
      });
      return gx;
    }
    case 'maxPool2d': {
      const arg = argmaxPool(a, shapes[0]!, op, size(n.shape));
      return Float64Array.from(arg, (i) => a[i]!);
    }
    case 'maxPoolGather': {
      const arg = argmaxPool(a, shapes[0]!, op, size(n.shape));
      return Float64Array.from(arg, (i) => b[i]!);
    }
    case 'maxPoolScatter': {
      const arg = argmaxPool(a, shapes[0]!, op, b.length);
      const gx = new Float64Array(a.length);
      arg.forEach((xi, yi) => (gx[xi] += b[yi]!));
      return gx;
    }
    case 'gather': {
      const row = size(shapes[0]!.slice(1));
      const res = new Float64Array(size(n.shape));
      for (let i = 0; i < b.length; i++) {
        const r = b[i]!;
        if (r < 0 || r >= shapes[0]![0]! || !Number.isInteger(r)) throw new Error(`gather: index ${r} out of range`);
        res.set(a.subarray(r * row, (r + 1) * row), i * row);
      }
      return res;
    }
    case 'gatherBack': {
      const row = size(n.shape.slice(1));
      const res = new Float64Array(size(n.shape));
      for (let i = 0; i < b.length; i++) {
        const r = b[i]!;
        for (let j = 0; j < row; j++) res[r * row + j] += a[i * row + j]!;
      }
      return res;
    }
  }
}

/** Evaluates a graph in float64; feeds are keyed by input name. Returns outputs by name. */
export function evaluate(g: Graph, feeds: Feeds): Record<string, Float64Array> {
  const vals = new Array<Float64Array | undefined>(g.nodes.length);
  const live = new Uint8Array(g.nodes.length);
  for (const { id } of g.outputs) live[id] = 1;
  for (let id = g.nodes.length - 1; id >= 0; id--) if (live[id]) for (const i of g.nodes[id]!.inputs) live[i] = 1;
  for (const n of g.nodes) {
    if (!live[n.id]) continue;
    if (n.op.kind === 'input') {
      const f = feeds[n.op.name];
      if (!f) throw new Error(`missing feed for input '${n.op.name}'`);
      if (f.length !== size(n.shape))
        throw new Error(`feed '${n.op.name}' has ${f.length} values, expected ${size(n.shape)}`);
      vals[n.id] = Float64Array.from(f);
    } else if (n.op.kind === 'constant') {
      vals[n.id] = n.op.data;
    } else {
      vals[n.id] = evalNode(
        n,
        n.inputs.map((i) => vals[i]!),
        n.inputs.map((i) => g.nodes[i]!.shape),
      );
    }
  }
  const out: Record<string, Float64Array> = {};
  for (const o of g.outputs) out[o.name] = vals[o.id]!;
  return out;
}
