/**
 * Derivative rules of every primitive, written with the traced tensor functions so that the
 * rules are themselves differentiable: that is what makes forward-over-reverse HVPs (and any
 * higher order) exact everywhere, conv and pooling included.
 *
 * A null tangent or cotangent stands for an exact zero and is never materialized.
 */
import type { Tensor } from '../builder.ts';
import type { Node, Op } from '../ir.ts';
import * as o from '../ops.ts';

type Maybe = Tensor | null;

const addMaybe = (a: Maybe, b: Maybe): Maybe => (a === null ? b : b === null ? a : o.add(a, b));

/** Reshapes a reduction's output-shaped tensor to keep the reduced axes as size 1. */
function keepDimsOf(t: Tensor, node: Node, input: Tensor): Tensor {
  const op = node.op as Extract<Op, { kind: 'reduceSum' | 'reduceMax' }>;
  if (op.keepDims) return t;
  const axes = new Set(op.axes.map((a) => (a < 0 ? a + input.rank : a)));
  return o.reshape(
    t,
    input.shape.map((d, i) => (axes.has(i) ? 1 : d)),
  );
}

/**
 * Cotangents of a node's inputs given the cotangent g of its output; `need[i]` says which
 * inputs need one (the others may be returned as null).
 */
export function vjpRule(node: Node, xs: readonly Tensor[], y: Tensor, g: Tensor, need: readonly boolean[]): Maybe[] {
  const op = node.op;
  const [a, b] = xs as [Tensor, Tensor];
  switch (op.kind) {
    case 'input':
    case 'constant':
    case 'greater':
    case 'less':
    case 'equal':
    case 'sign':
    case 'stopGradient':
      return xs.map(() => null);
    case 'add':
      return [need[0] ? o.sumTo(g, a.shape) : null, need[1] ? o.sumTo(g, b.shape) : null];
    case 'sub':
      return [need[0] ? o.sumTo(g, a.shape) : null, need[1] ? o.neg(o.sumTo(g, b.shape)) : null];
    case 'mul':
      return [need[0] ? o.sumTo(o.mul(g, b), a.shape) : null, need[1] ? o.sumTo(o.mul(g, a), b.shape) : null];
    case 'div':
      return [
        need[0] ? o.sumTo(o.div(g, b), a.shape) : null,
        need[1] ? o.neg(o.sumTo(o.div(o.mul(g, y), b), b.shape)) : null,
      ];
    case 'pow':
      return [
        need[0] ? o.sumTo(o.mul(g, o.mul(b, o.pow(a, o.sub(b, 1)))), a.shape) : null,
        need[1] ? o.sumTo(o.mul(g, o.mul(y, o.log(a))), b.shape) : null,
      ];
    case 'maximum': {
      const m = o.less(a, b); // b wins strictly; ties go to a
      return [need[0] ? o.sumTo(o.where(m, 0, g), a.shape) : null, need[1] ? o.sumTo(o.where(m, g, 0), b.shape) : null];
    }
    case 'neg':
      return [o.neg(g)];
    case 'exp':
      return [o.mul(g, y)];
    case 'log':
      return [o.div(g, a)];
    case 'tanh':
      return [o.mul(g, o.sub(1, o.mul(y, y)))];
    case 'sigmoid':
      return [o.mul(g, o.mul(y, o.sub(1, y)))];
    case 'sqrt':
      return [o.div(o.mul(g, 0.5), y)];
    case 'abs':
      return [o.mul(g, o.sign(a))];
    case 'erf':
      return [o.mul(g, o.mul(o.exp(o.neg(o.mul(a, a))), 2 / Math.sqrt(Math.PI)))];
    case 'cast':
      return [o.cast(g, a.dtype)];
    case 'where': {
      const [c, p, q] = xs as [Tensor, Tensor, Tensor];
      return [
        null,
        need[1] ? o.sumTo(o.where(c, g, 0), p.shape) : null,
        need[2] ? o.sumTo(o.where(c, 0, g), q.shape) : null,
      ];
    }
    case 'reduceSum':
      return [o.broadcastTo(keepDimsOf(g, node, a), a.shape)];
    case 'reduceMax': {
      const mask = o.equal(a, o.broadcastTo(keepDimsOf(y, node, a), a.shape));
      return [o.where(mask, o.broadcastTo(keepDimsOf(g, node, a), a.shape), 0)];
    }
    case 'reshape':
      return [o.reshape(g, a.shape)];
    case 'transpose': {
      const inv = new Array<number>(op.perm.length);
      op.perm.forEach((p, i) => (inv[p] = i));
      return [o.transpose(g, inv)];
    }
    case 'broadcastTo':
      return [o.sumTo(g, a.shape)];
    case 'concat': {
      let off = 0;
      return xs.map((x, i) => {
        const n = x.shape[op.axis]!;
        const r = need[i] ? o.slice(g, op.axis, off, off + n) : null;
        off += n;
        return r;
      });
    }
    case 'slice':
      return [o.pad(g, op.axis, op.start, a.shape[op.axis]! - op.end)];
    case 'pad':
      return [o.slice(g, op.axis, op.before, op.before + a.shape[op.axis]!)];
    case 'matmul': {
      const { transA: tA, transB: tB } = op;
      return [
        need[0] ? (tA ? o.matmul(b, g, tB, true) : o.matmul(g, b, false, !tB)) : null,
        need[1] ? (tB ? o.matmul(g, a, true, tA) : o.matmul(a, g, !tA, false)) : null,
      ];
    }
    case 'conv2d':
      return [
        need[0] ? o.conv2dBackInput(g, b, op, a.shape) : null,
        need[1] ? o.conv2dBackWeight(a, g, op, b.shape) : null,
      ];
    case 'conv2dBackInput': // y = B_x(gy = a, w = b); g has x's shape
      return [need[0] ? o.conv2d(g, b, op) : null, need[1] ? o.conv2dBackWeight(g, a, op, b.shape) : null];
    case 'conv2dBackWeight': // y = B_w(x = a, gy = b); g has w's shape
      return [need[0] ? o.conv2dBackInput(b, g, op, a.shape) : null, need[1] ? o.conv2d(a, g, op) : null];
    case 'avgPool2d':
      return [a.builder.apply({ kind: 'avgPool2dBack', ...o.windowOf(op), inputShape: a.shape }, [g])];
    case 'avgPool2dBack':
      return [a.builder.apply({ kind: 'avgPool2d', ...o.windowOf(op) }, [g])];
    case 'maxPool2d':
      return [a.builder.apply({ kind: 'maxPoolScatter', ...o.windowOf(op) }, [o.stopGradient(a), g])];
    case 'maxPoolGather':
      return [null, need[1] ? a.builder.apply({ kind: 'maxPoolScatter', ...o.windowOf(op) }, [a, g]) : null];
    case 'maxPoolScatter':
      return [null, need[1] ? a.builder.apply({ kind: 'maxPoolGather', ...o.windowOf(op) }, [a, g]) : null];
    case 'gather':
      return [need[0] ? a.builder.apply({ kind: 'gatherBack', rows: a.shape[0]! }, [g, b]) : null, null];
    case 'gatherBack':
      return [need[0] ? a.builder.apply({ kind: 'gather' }, [g, b]) : null, null];
  }
}

/** Tangent of a node's output given its inputs' tangents (null = zero); null if zero. */
export function jvpRule(node: Node, xs: readonly Tensor[], y: Tensor, dx: readonly Maybe[]): Maybe {
  const op = node.op;
  const [a, b] = xs as [Tensor, Tensor];
  const [da, db] = dx as [Maybe, Maybe];
  const full = (t: Maybe): Maybe => (t === null ? null : o.broadcastTo(t, y.shape));
  switch (op.kind) {
    case 'input':
    case 'constant':
    case 'greater':
    case 'less':
    case 'equal':
    case 'sign':
    case 'stopGradient':
      return null;
    case 'add':
      return full(addMaybe(da, db));
    case 'sub':
      return full(addMaybe(da, db === null ? null : o.neg(db)));
    case 'mul':
      return full(addMaybe(da && o.mul(da, b), db && o.mul(a, db)));
    case 'div':
      return full(addMaybe(da && o.div(da, b), db && o.neg(o.div(o.mul(db, y), b))));
    case 'pow':
      return full(addMaybe(da && o.mul(da, o.mul(b, o.pow(a, o.sub(b, 1)))), db && o.mul(db, o.mul(y, o.log(a)))));
    case 'maximum': {
      const m = o.less(a, b);
      if (da === null && db === null) return null;
      return full(o.where(m, db ?? 0, da ?? 0));
    }
    case 'neg':
      return da && o.neg(da);
    case 'exp':
      return da && o.mul(da, y);
    case 'log':
      return da && o.div(da, a);
    case 'tanh':
      return da && o.mul(da, o.sub(1, o.mul(y, y)));
    case 'sigmoid':
      return da && o.mul(da, o.mul(y, o.sub(1, y)));
    case 'sqrt':
      return da && o.div(o.mul(da, 0.5), y);
    case 'abs':
      return da && o.mul(da, o.sign(a));
    case 'erf':
      return da && o.mul(da, o.mul(o.exp(o.neg(o.mul(a, a))), 2 / Math.sqrt(Math.PI)));
    case 'cast':
      return da && o.cast(da, y.dtype);
    case 'where': {
      const [c] = xs as [Tensor];
      const [, dp, dq] = dx;
      if (!dp && !dq) return null;
      return full(o.where(c, dp ?? 0, dq ?? 0));
    }
    case 'reduceSum':
      return da && y.builder.apply(op, [da]);
    case 'reduceMax': {
      if (!da) return null;
      const mask = o.equal(a, o.broadcastTo(keepDimsOf(y, node, a), a.shape));
      return y.builder.apply({ kind: 'reduceSum', axes: op.axes, keepDims: op.keepDims }, [o.where(mask, da, 0)]);
    }
    case 'reshape':
    case 'transpose':
    case 'broadcastTo':
    case 'slice':
    case 'pad':
    case 'avgPool2d':
    case 'avgPool2dBack':
      return da && y.builder.apply(op, [da]);
    case 'concat': {
      if (dx.every((d) => d === null)) return null;
      return o.concat(
        xs.map((x, i) => dx[i] ?? o.broadcastTo(x.builder.constant(0, [], x.dtype), x.shape)),
        op.axis,
      );
    }
    case 'matmul':
      return addMaybe(da && o.matmul(da, b, op.transA, op.transB), db && o.matmul(a, db, op.transA, op.transB));
    case 'conv2d':
    case 'conv2dBackInput':
    case 'conv2dBackWeight':
      // bilinear: d B(a, b) = B(da, b) + B(a, db)
      return addMaybe(da && y.builder.apply(op, [da, b]), db && y.builder.apply(op, [a, db]));
    case 'maxPool2d':
      return da && y.builder.apply({ kind: 'maxPoolGather', ...o.windowOf(op) }, [o.stopGradient(a), da]);
    case 'maxPoolGather':
    case 'maxPoolScatter':
      return db && y.builder.apply(op, [a, db]);
    case 'gather':
    case 'gatherBack':
      return da && y.builder.apply(op, [da, b]);
  }
}
