import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import {
  bootstrapDiff,
  bootstrapMean,
  bootstrapPairs,
  cohensD,
  judgeInterval,
  permutationTest,
  sampleStd,
  type Interval,
} from '../../src/studies/stats.ts';

const normals = (seed: number, n: number, mu = 0, sigma = 1) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => mu + sigma * rng.normal());
};

test('bootstrap interval of a large normal sample ≈ mean ± 1.96·s/√n', () => {
  const xs = normals(11, 2000, 3, 2);
  const ci = bootstrapMean(xs, { seed: 1 });
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const se = sampleStd(xs) / Math.sqrt(xs.length);
  assert.equal(ci.estimate, m);
  // The 2.5 % quantile of 2000 resamples has a Monte Carlo error of about 0.06·se (binomial
  // count error over the normal density at 1.96); 0.2·se is > 3 such errors.
  assert.ok(Math.abs(ci.lo - (m - 1.96 * se)) < 0.2 * se, `lo ${ci.lo} vs ${m - 1.96 * se}`);
  assert.ok(Math.abs(ci.hi - (m + 1.96 * se)) < 0.2 * se, `hi ${ci.hi} vs ${m + 1.96 * se}`);
  assert.equal(ci.n, 2000);
  // Seeded: the same seed gives the same interval, another seed a different one.
  assert.deepEqual(bootstrapMean(xs, { seed: 1 }), ci);
  assert.notEqual(bootstrapMean(xs, { seed: 2 }).lo, ci.lo);
});

test('bootstrap intervals cover the true mean about 95 % of the time (normal samples of 40)', () => {
  let cover = 0;
  const reps = 200;
  for (let r = 0; r < reps; r++) {
    const ci = bootstrapMean(normals(1000 + r, 40, 5, 1), { seed: r });
    if (ci.lo <= 5 && 5 <= ci.hi) cover++;
  }
  // Percentile intervals at n = 40 cover ≈ 93–95 %; 200 repetitions have a binomial sd of ≈ 1.6 %.
  assert.ok(cover / reps >= 0.88 && cover / reps <= 0.99, `coverage ${cover / reps}`);
});

test('unpaired and paired difference intervals match the normal-theory widths', () => {
  const a = normals(21, 1500, 1, 1);
  const b = normals(22, 1000, 0, 2);
  const ci = bootstrapDiff(a, b, { seed: 3 });
  const se = Math.sqrt(sampleStd(a) ** 2 / a.length + sampleStd(b) ** 2 / b.length);
  const d = a.reduce((s, x) => s + x, 0) / a.length - b.reduce((s, x) => s + x, 0) / b.length;
  assert.ok(Math.abs(ci.estimate - d) < 1e-12);
  assert.ok(
    Math.abs(ci.lo - (d - 1.96 * se)) < 0.2 * se && Math.abs(ci.hi - (d + 1.96 * se)) < 0.2 * se,
    `${ci.lo}, ${ci.hi} vs ${d} ± ${1.96 * se}`,
  );
  // Paired: a shared per-pair offset cancels, so the paired interval is much narrower than the unpaired one.
  const base = normals(23, 500, 0, 10);
  const noise = normals(24, 500, 0, 0.1);
  const x = base.map((v, i) => v + 0.5 + noise[i]!);
  const paired = bootstrapDiff(x, base, { paired: true, seed: 4 });
  const unpaired = bootstrapDiff(x, base, { seed: 4 });
  const sed = 0.1 / Math.sqrt(500);
  assert.ok(Math.abs(paired.hi - paired.lo - 2 * 1.96 * sed) < 0.4 * sed, `paired width ${paired.hi - paired.lo}`);
  assert.ok(unpaired.hi - unpaired.lo > 20 * (paired.hi - paired.lo));
  assert.equal(judgeInterval(paired, 'positive'), 'held');
  assert.throws(() => bootstrapDiff([1, 2], [1], { paired: true }), /differ in length/);
});

test('permutation test: exact enumerations of small cases', () => {
  // C(6, 3) = 20 splits; only {1,2,3} and {4,5,6} as group a give |mean difference| ≥ 3.
  const two = permutationTest([1, 2, 3], [4, 5, 6]);
  assert.equal(two.exact, true);
  assert.equal(two.permutations, 20);
  assert.equal(two.statistic, -3);
  assert.equal(two.pValue, 2 / 20);
  assert.equal(permutationTest([1, 2, 3], [4, 5, 6], { alternative: 'less' }).pValue, 1 / 20);
  assert.equal(permutationTest([1, 2, 3], [4, 5, 6], { alternative: 'greater' }).pValue, 1);
  // Paired sign flips: 2^4 = 16; all differences positive → only the identity is as large.
  const p = permutationTest([2, 3, 4, 5], [1, 1, 1, 1], { paired: true, alternative: 'greater' });
  assert.equal(p.permutations, 16);
  assert.equal(p.pValue, 1 / 16);
  // Differences 1, 1, 1, −1 (mean 0.5): the sign patterns with mean ≥ 0.5 are those with at most one minus: 1 + 4 = 5.
  assert.equal(permutationTest([2, 2, 2, 0], [1, 1, 1, 1], { paired: true, alternative: 'greater' }).pValue, 5 / 16);
});

test('permutation test: identical groups give a large p, separated groups a small one (Monte Carlo)', () => {
  const a = normals(31, 40);
  const same = permutationTest(a, a.slice(), { seed: 1, resamples: 4000 });
  assert.equal(same.exact, false);
  assert.ok(same.pValue > 0.9, `p ${same.pValue}`);
  const far = permutationTest(normals(32, 40, 1), normals(33, 40, 0), { seed: 1, resamples: 4000 });
  // A 1-sd shift with 40 per group is a z of ≈ 4.5 (two-sided p ≈ 1e-5): at most a few of 4000 relabellings come close.
  assert.ok(far.pValue < 0.002, `p ${far.pValue}`);
  // Under the null, p is roughly uniform: about 5 % of tests reject at 0.05.
  let reject = 0;
  for (let r = 0; r < 100; r++)
    if (permutationTest(normals(2000 + r, 10), normals(3000 + r, 10), { seed: r, resamples: 500 }).pValue < 0.05)
      reject++;
  assert.ok(reject <= 13, `${reject}/100 null tests rejected`);
});

test('judgeInterval: held only when the interval excludes no effect on the claimed side', () => {
  const ci = (lo: number, hi: number, n = 5): Interval => ({ estimate: (lo + hi) / 2, lo, hi, level: 0.95, n });
  assert.equal(judgeInterval(ci(0.1, 0.3), 'positive'), 'held');
  assert.equal(judgeInterval(ci(-0.1, 0.3), 'positive'), 'inconclusive');
  assert.equal(judgeInterval(ci(-0.3, -0.1), 'positive'), 'did not hold');
  assert.equal(judgeInterval(ci(-0.3, -0.1), 'negative'), 'held');
  assert.equal(judgeInterval(ci(1.1, 1.3), 'positive', 1), 'held');
  assert.equal(judgeInterval(ci(0.1, 0.3, 1), 'positive'), 'inconclusive', 'one value has no interval');
  assert.equal(judgeInterval(ci(Number.NaN, 1), 'positive'), 'inconclusive');
});

test("Cohen's d against the closed form", () => {
  // a: mean 2, var 1; b: mean 0, var 1 → pooled sd 1, d = 2.
  assert.equal(cohensD([1, 2, 3], [-1, 0, 1]), 2);
  assert.ok(Number.isNaN(cohensD([1], [2, 3])));
});

test('bootstrapPairs: the interval of a correlation of a strong linear relation excludes 0, of independent data covers it', () => {
  const x = normals(41, 400);
  const e = normals(42, 400);
  const pearson = (a: number[], b: number[]) => {
    const ma = a.reduce((s, v) => s + v, 0) / a.length;
    const mb = b.reduce((s, v) => s + v, 0) / b.length;
    let sab = 0,
      saa = 0,
      sbb = 0;
    for (let i = 0; i < a.length; i++) {
      sab += (a[i]! - ma) * (b[i]! - mb);
      saa += (a[i]! - ma) ** 2;
      sbb += (b[i]! - mb) ** 2;
    }
    return sab / Math.sqrt(saa * sbb);
  };
  // y = 0.6x + 0.8e: correlation 0.6; Fisher z gives the sd of r ≈ (1 − ρ²)/√n = 0.032.
  const y = x.map((v, i) => 0.6 * v + 0.8 * e[i]!);
  const ci = bootstrapPairs(x, y, pearson, { seed: 1 });
  assert.ok(ci.lo > 0.45 && ci.hi < 0.75 && ci.lo < ci.estimate && ci.estimate < ci.hi, `${ci.lo}, ${ci.hi}`);
  assert.ok(Math.abs(ci.hi - ci.lo - 2 * 1.96 * 0.032) < 0.03, `width ${ci.hi - ci.lo}`);
  const indep = bootstrapPairs(x, e, pearson, { seed: 1 });
  assert.ok(indep.lo < 0 && indep.hi > 0, `${indep.lo}, ${indep.hi}`);
  assert.ok(Number.isNaN(bootstrapPairs([1, 1], [2, 3], pearson).lo), 'a constant list has no correlation');
});
