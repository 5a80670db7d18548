import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normalArray } from '../../src/util/random.ts';
import { eigenvectorCosine, subspaceCosine, subspaceOverlap } from '../../src/curvature/rotation.ts';
import { absCos, meanSE, randomOrthogonal } from './helpers.ts';

const rng = createRng(61);

test('eigenvectorCosine is |cos|, sign- and scale-invariant', () => {
  const u = normalArray(rng, 25);
  const v = normalArray(rng, 25);
  const c = eigenvectorCosine(u, v);
  assert.ok(Math.abs(c - absCos(u, v)) < 1e-15);
  assert.ok(
    Math.abs(
      eigenvectorCosine(
        u,
        v.map((x) => -3 * x),
      ) - c,
    ) < 1e-15,
  );
  assert.ok(
    Math.abs(
      eigenvectorCosine(
        u,
        u.map((x) => -x),
      ) - 1,
    ) < 1e-15,
  );
  assert.equal(eigenvectorCosine(new Float64Array([1, 0]), new Float64Array([0, 2])), 0);
  assert.throws(() => eigenvectorCosine(u, new Float64Array(25)), /zero/);
});

/** Columns U·M for a k×k matrix M (row-major). */
function times(U: Float64Array[], M: Float64Array): Float64Array[] {
  const k = U.length;
  return Array.from({ length: k }, (_, j) => {
    const out = new Float64Array(U[0].length);
    for (let i = 0; i < k; i++) for (let t = 0; t < out.length; t++) out[t] += U[i][t] * M[i * k + j];
    return out;
  });
}

test('subspaceOverlap is 1 for the same subspace in any basis, 0 for orthogonal ones', () => {
  const n = 30;
  const k = 4;
  const Q = randomOrthogonal(n, rng);
  const U = Q.slice(0, k);
  const R = randomOrthogonal(k, rng);
  const Rm = new Float64Array(k * k);
  R.forEach((col, j) => col.forEach((x, i) => (Rm[i * k + j] = x)));
  assert.ok(Math.abs(subspaceOverlap(U, times(U, Rm)) - 1) < 1e-12);
  const G = normalArray(rng, k * k); // generic invertible, non-orthogonal basis change
  assert.ok(Math.abs(subspaceOverlap(U, times(U, G)) - 1) < 1e-12);
  assert.ok(subspaceOverlap(U, Q.slice(k, 2 * k)) < 1e-28);
});

test('subspaceOverlap equals the mean cos² of known principal angles', () => {
  const e = (i: number, n = 5): Float64Array => {
    const v = new Float64Array(n);
    v[i] = 1;
    return v;
  };
  assert.equal(subspaceOverlap([e(0), e(1)], [e(0), e(2)]), 0.5);
  const th = 0.3;
  const tilted = new Float64Array([Math.cos(th), 0, Math.sin(th), 0, 0]);
  const got = subspaceOverlap([e(0), e(1)], [tilted, e(1)]);
  assert.ok(Math.abs(got - (Math.cos(th) ** 2 + 1) / 2) < 1e-15);
  // Different k: averages over min(kU, kV) angles.
  assert.ok(Math.abs(subspaceOverlap([e(0)], [tilted, e(1)]) - Math.cos(th) ** 2) < 1e-15);
  assert.throws(() => subspaceOverlap([e(0), e(0)], [e(1)]), /dependent/);
});

test('random k-dim subspaces of Rⁿ overlap k/n on average', () => {
  const n = 40;
  const k = 3;
  const xs: number[] = [];
  for (let t = 0; t < 300; t++) {
    const U = Array.from({ length: k }, () => normalArray(rng, n));
    const V = Array.from({ length: k }, () => normalArray(rng, n));
    xs.push(subspaceOverlap(U, V));
  }
  const { mean, se } = meanSE(xs);
  assert.ok(Math.abs(mean - k / n) < 4 * se, `mean ${mean} vs ${k / n} (se ${se})`);
});

test('subspaceCosine: an exchange of the top two eigenvectors is no rotation; a tilt out of the span is cos θ', () => {
  const n = 12;
  const Q = randomOrthogonal(n, rng);
  // v1 of the next measurement = the previous v2 (λ1 and λ2 swapped): |cos(v1, v1')| = 0 but it stays in the top-2 span.
  assert.ok(eigenvectorCosine(Q[0]!, Q[1]!) < 1e-12);
  assert.ok(
    Math.abs(
      subspaceCosine(
        [Q[0]!, Q[1]!],
        Q[1]!.map((x) => -2 * x),
      ) - 1,
    ) < 1e-12,
  );
  // Tilted by θ out of span(q0, q1) towards q2: cos θ, whatever the basis of the span.
  const th = 0.4;
  const inSpan = Q[0]!.map((x, i) => (x + Q[1]![i]!) / Math.SQRT2);
  const v = inSpan.map((x, i) => Math.cos(th) * x + Math.sin(th) * Q[2]![i]!);
  assert.ok(Math.abs(subspaceCosine([Q[0]!, Q[1]!], v) - Math.cos(th)) < 1e-12);
  assert.ok(Math.abs(subspaceCosine([Q[0]!.map((x, i) => x + 3 * Q[1]![i]!), Q[1]!], v) - Math.cos(th)) < 1e-12);
  assert.ok(subspaceCosine([Q[0]!], Q[3]!) < 1e-12);
  assert.throws(() => subspaceCosine([Q[0]!], new Float64Array(n)), /zero/);
});
