import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normalArray } from '../../src/util/random.ts';
import {
  applyBlock,
  congruenceOperator,
  denseOperator,
  diagonalOperator,
  materialize,
  preconditionedOperator,
  restrictedOperator,
  scaledOperator,
  shiftedOperator,
  type LinearOperator,
} from '../../src/curvature/operator.ts';
import { lanczos } from '../../src/curvature/lanczos.ts';
import { symmetricEigen } from '../../src/curvature/denseEigen.ts';
import { linspace, matvec, withSpectrum } from './helpers.ts';

const rng = createRng(21);
const n = 12;
const { A } = withSpectrum(linspace(-2, 5, n), rng);

/** Wraps an operator with a matmat that counts block calls. */
function withMatmat(op: LinearOperator): LinearOperator & { blocks: number } {
  const wrapped = {
    dim: op.dim,
    blocks: 0,
    matvec: (v: Float64Array) => op.matvec(v),
    async matmat(vs: readonly Float64Array[]): Promise<Float64Array[]> {
      wrapped.blocks++;
      return Promise.all(vs.map((v) => op.matvec(v)));
    },
  };
  return wrapped;
}

test('denseOperator matches a direct product; materialize recovers the matrix exactly', async () => {
  const op = denseOperator(A, n);
  const v = normalArray(rng, n);
  assert.deepEqual(await op.matvec(v), matvec(A, n, v));
  assert.deepEqual(await materialize(op), A);
  assert.deepEqual(await materialize(op, 5), A);
  await assert.rejects(op.matvec(new Float64Array(n + 1)), /length/);
  assert.throws(() => denseOperator(A, n + 1), /entries/);
});

test('diagonalOperator, scaledOperator and shiftedOperator', async () => {
  const d = new Float64Array([1, -2, 3]);
  const M = await materialize(diagonalOperator(d));
  assert.deepEqual(
    Array.from(M, (x) => x + 0),
    [1, 0, 0, 0, -2, 0, 0, 0, 3],
  ); // +0 folds -0
  const S = await materialize(scaledOperator(denseOperator(A, n), -0.5));
  S.forEach((x, i) => assert.equal(x, -0.5 * A[i]));
  const T = await materialize(shiftedOperator(denseOperator(A, n), 1.5));
  T.forEach((x, i) => assert.equal(x, A[i] - (i % (n + 1) === 0 ? 1.5 : 0)));
});

test('preconditionedOperator equals the dense D^-1/2 A D^-1/2', async () => {
  const p = Float64Array.from({ length: n }, () => 0.1 + rng.uniform() * 10);
  const P = await materialize(preconditionedOperator(denseOperator(A, n), p));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const want = A[i * n + j] / Math.sqrt(p[i] * p[j]);
      assert.ok(Math.abs(P[i * n + j] - want) <= 1e-15 * Math.abs(want) + 1e-300);
    }
  }
  // Its top eigenvalue (by Lanczos) is the dense oracle's.
  const dense = symmetricEigen(P, n);
  const lz = await lanczos(preconditionedOperator(denseOperator(A, n), p), { k: 2, iterations: n, tol: 1e-10 });
  assert.ok(Math.abs(lz.eigenvalues[0] - dense.values[0]) < 1e-10 * Math.abs(dense.values[0]));
  assert.throws(() => preconditionedOperator(denseOperator(A, n), new Float64Array(n)), /positive/);
  assert.throws(() => preconditionedOperator(denseOperator(A, n), new Float64Array(n - 1).fill(1)), /length/);
});

test('congruenceOperator allows any finite scaling, including negative', async () => {
  const s = Float64Array.from({ length: n }, () => rng.normal());
  const C = await materialize(congruenceOperator(denseOperator(A, n), s));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.equal(C[i * n + j], s[i] * (A[i * n + j] * s[j]));
});

test('restrictedOperator equals the dense principal sub-block', async () => {
  const idx = [7, 2, 3, 11];
  const B = await materialize(restrictedOperator(denseOperator(A, n), idx));
  for (let a = 0; a < idx.length; a++) {
    for (let b = 0; b < idx.length; b++) assert.equal(B[a * idx.length + b], A[idx[a] * n + idx[b]]);
  }
  assert.equal(restrictedOperator(denseOperator(A, n), new Int32Array([0, 1])).dim, 2);
  assert.throws(() => restrictedOperator(denseOperator(A, n), [1, 1]), /twice/);
  assert.throws(() => restrictedOperator(denseOperator(A, n), [n]), /outside/);
  assert.throws(() => restrictedOperator(denseOperator(A, n), [0.5]), /outside/);
});

test('block products go through matmat, also through the combinators', async () => {
  const inner = withMatmat(denseOperator(A, n));
  const p = new Float64Array(n).fill(4);
  const pre = preconditionedOperator(inner, p);
  const R = await materialize(restrictedOperator(pre, [0, 5, 6]), 2);
  assert.equal(inner.blocks, 2); // 3 columns in blocks of 2
  for (const [a, i] of [0, 5, 6].entries()) {
    for (const [b, j] of [0, 5, 6].entries()) assert.ok(Math.abs(R[a * 3 + b] - A[i * n + j] / 4) < 1e-16);
  }
  const out = await applyBlock(inner, [normalArray(rng, n)]);
  assert.equal(out.length, 1);
  assert.equal(inner.blocks, 3);
  assert.deepEqual(await applyBlock(inner, []), []);
});

test('combinators carry a float32 product through (matvec32) and it agrees with matvec to float32 rounding', async () => {
  const dense = denseOperator(A, n);
  // A float32 product of the same matrix, as the HVP on onnxruntime offers it.
  const base: LinearOperator = {
    dim: n,
    matvec: (v) => dense.matvec(v),
    matvec32: async (v) => new Float32Array(await dense.matvec(new Float64Array(v))),
  };
  const s = normalArray(rng, n);
  const p = Float64Array.from(normalArray(rng, n), (x) => 1 + x * x);
  const cases: [string, LinearOperator][] = [
    ['scaled', scaledOperator(base, -0.5)],
    ['shifted', shiftedOperator(base, 1.5)],
    ['congruence', congruenceOperator(base, s)],
    ['preconditioned', preconditionedOperator(base, p)],
    ['restricted', restrictedOperator(base, [0, 5, 6])],
  ];
  for (const [name, op] of cases) {
    assert.ok(op.matvec32, `${name} offers matvec32`);
    const v = normalArray(rng, op.dim);
    const want = await op.matvec(v);
    const got = await op.matvec32!(new Float32Array(v));
    assert.ok(got instanceof Float32Array && got.length === op.dim);
    const scale = Math.max(...Array.from(want, Math.abs));
    for (let i = 0; i < op.dim; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * scale, `${name}[${i}]`);
  }
  assert.equal(scaledOperator(dense, 2).matvec32, undefined, 'no float32 product where the operator has none');
});
