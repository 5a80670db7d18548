/** Function transforms against closed forms, and graph passes against the unsplit graph. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/engine/builder.ts';
import * as o from '../../src/engine/ops.ts';
import { grad, hvp, jvp, vjp } from '../../src/engine/autodiff/transforms.ts';
import { simplify, splitGraph, whereZeroToMul } from '../../src/engine/passes.ts';
import { evaluate } from '../../src/engine/reference/interpreter.ts';
import { createRng, normalArray } from '../../src/util/random.ts';
import { relErr } from './harness.ts';

describe('transforms on closed forms', () => {
  it('quadratic ½xᵀAx: grad = Ax, hvp = Av, for a random symmetric A', () => {
    const n = 6;
    const rng = createRng(1);
    const M = normalArray(rng, n * n);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = M[i * n + j]! + M[j * n + i]!;
    const b = new GraphBuilder();
    const x = b.input('x', [n, 1], 'float64');
    const v = b.input('v', [n, 1], 'float64');
    const Ac = b.constant(A, [n, n], 'float64');
    const f = (t: typeof x) => o.mul(o.sum(o.mul(t, o.matmul(Ac, t))), 0.5);
    const r = hvp(f)([x], [v]);
    const xv = normalArray(createRng(99), n);
    const vv = normalArray(createRng(98), n);
    const out2 = evaluate(simplify(b.build({ g: r.grads[0]!, hv: r.hvps[0]! })), { x: xv, v: vv });
    const Ax = new Float64Array(n);
    const Av = new Float64Array(n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        Ax[i] += A[i * n + j]! * xv[j]!;
        Av[i] += A[i * n + j]! * vv[j]!;
      }
    assert.ok(relErr(out2.g!, Ax) < 1e-13, 'relErr(out2.g!, Ax) < 1e-13');
    assert.ok(relErr(out2.hv!, Av) < 1e-13, 'relErr(out2.hv!, Av) < 1e-13');
  });

  it('grad of Σ log(1+x²) is 2x/(1+x²); jvp of tanh is (1−tanh²)·v', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [5], 'float64');
    const v = b.input('v', [5], 'float64');
    const [g] = grad((t) => o.sum(o.log(o.add(o.mul(t, t), 1))))(x);
    const [dt] = jvp([o.tanh(x)], [x], [v]);
    const xs = [0.3, -1.2, 2, 0, 5];
    const vs = [1, 2, -1, 0.5, 3];
    const out = evaluate(simplify(b.build({ g: g!, dt: dt! })), { x: xs, v: vs });
    xs.forEach((xi, i) => {
      assert.ok(
        Math.abs(out.g![i]! - (2 * xi) / (1 + xi * xi)) < 1e-15,
        'Math.abs(out.g![i]! - (2 * xi) / (1 + xi * xi)) < 1e-15',
      );
      assert.ok(
        Math.abs(out.dt![i]! - (1 - Math.tanh(xi) ** 2) * vs[i]!) < 1e-15,
        'Math.abs(out.dt![i]! - (1 - Math.tanh(xi) ** 2) * vs[i]!) < 1e-15',
      );
    });
  });

  it('stopGradient blocks derivatives but not values', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3], 'float64');
    const y = b.input('y', [3], 'float64');
    const f = o.sum(o.mul(o.stopGradient(x), y));
    const [gx, gy] = vjp([f], [b.constant(1, [], 'float64')], [x, y]);
    const out = evaluate(simplify(b.build({ f, gx: gx!, gy: gy! })), { x: [1, 2, 3], y: [4, 5, 6] });
    assert.deepEqual(Array.from(out.gx!), [0, 0, 0]);
    assert.deepEqual(Array.from(out.gy!), [1, 2, 3]);
    assert.equal(out.f![0], 32);
  });

  it('unreachable inputs get zero cotangents and zero tangents', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2], 'float64');
    const z = b.input('z', [2], 'float64');
    const f = o.sum(o.exp(x));
    const [gz] = vjp([f], [b.constant(1, [], 'float64')], [z]);
    const [tf] = jvp([f], [z], [z]);
    const out = evaluate(simplify(b.build({ gz: gz!, tf: tf! })), { x: [1, 2], z: [3, 4] });
    assert.deepEqual(Array.from(out.gz!), [0, 0]);
    assert.deepEqual(Array.from(out.tf!), [0]);
  });
});

describe('graph passes', () => {
  it('simplify merges common subexpressions and drops dead nodes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3], 'float64');
    const a1 = o.tanh(x);
    const a2 = o.tanh(x);
    o.exp(x); // dead
    const g = simplify(b.build({ y: o.add(a1, a2) }));
    assert.equal(g.nodes.filter((n) => n.op.kind === 'tanh').length, 1);
    assert.equal(g.nodes.filter((n) => n.op.kind === 'exp').length, 0);
    const out = evaluate(g, { x: [0.1, 0.2, 0.3] });
    assert.ok(Math.abs(out.y![1]! - 2 * Math.tanh(0.2)) < 1e-15, 'Math.abs(out.y![1]! - 2 * Math.tanh(0.2)) < 1e-15');
  });

  it('splitGraph: prepare + main computes what the whole graph computes', () => {
    const b = new GraphBuilder();
    const w = b.input('w', [4, 3], 'float64');
    const x = b.input('x', [5, 3], 'float64');
    const v = b.input('v', [4, 3], 'float64');
    const loss = (t: typeof w) => o.sum(o.tanh(o.matmul(x, t, false, true)));
    const r = hvp(loss)([w], [v]);
    const g = simplify(b.build({ hv: r.hvps[0]! }));
    const s = splitGraph(g, ['v']);
    assert.ok(s.carried.length > 0, 'something is carried over');
    assert.ok(
      !s.prepare.nodes.some((n) => n.op.kind === 'input' && (n.op as { name: string }).name === 'v'),
      "!s.prepare.nodes.some((n) => n.op.kind === 'input' && (n.op as { name: string })",
    );
    const rng = createRng(4);
    const feeds = { w: normalArray(rng, 12), x: normalArray(rng, 15), v: normalArray(rng, 12) };
    const whole = evaluate(g, feeds).hv!;
    const fixed = evaluate(s.prepare, feeds);
    const mainFeeds: Record<string, ArrayLike<number>> = { v: feeds.v };
    for (const n of s.carried) mainFeeds[n] = fixed[n]!;
    for (const n of s.passedInputs) mainFeeds[n] = feeds[n as 'w' | 'x'];
    const parts = evaluate(s.main, mainFeeds).hv!;
    assert.deepEqual(Array.from(parts), Array.from(whole));
    // The main graph does no work that is independent of v: no tanh of the primal remains.
    assert.equal(s.main.nodes.filter((n) => n.op.kind === 'tanh').length, 0);
  });

  it('whereZeroToMul computes the same values with no where on a zero left', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 3], 'float64');
    const y = b.input('y', [3], 'float64');
    const f = o.add(o.sum(o.mul(o.relu(x), y)), o.sum(o.where(o.less(x, 0), 0, o.exp(y))));
    const r = hvp((t) => o.add(f, o.sum(o.mul(o.relu(t), t))))([x], [x]);
    const g = simplify(b.build({ f, hv: r.hvps[0]! }));
    const rewritten = whereZeroToMul(g);
    assert.equal(rewritten.nodes.filter((n) => n.op.kind === 'where').length, 0, 'no where left');
    const rng = createRng(11);
    const feeds = { x: normalArray(rng, 12), y: normalArray(rng, 3) };
    const a = evaluate(g, feeds);
    const c = evaluate(rewritten, feeds);
    // Equal values (a product can give −0 where where gave +0).
    const same = (u: Float64Array, v: Float64Array) => u.length === v.length && u.every((z, i) => z === v[i]);
    assert.ok(same(c.f!, a.f!), `f: ${c.f} vs ${a.f}`);
    assert.ok(same(c.hv!, a.hv!), `hv: ${c.hv} vs ${a.hv}`);
  });

  it('shape errors name the op and both shapes', () => {
    const b = new GraphBuilder();
    const a = b.input('a', [2, 3]);
    const c = b.input('c', [4, 5]);
    assert.throws(() => o.matmul(a, c), /matmul: inner dims differ: \[2, 3\] x \[4, 5\]/);
    assert.throws(() => o.add(a, c), /shapes \[2, 3\] and \[4, 5\] do not broadcast/);
  });
});
