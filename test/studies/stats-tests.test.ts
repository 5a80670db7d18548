import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import {
  decidePaired,
  equivalence,
  judgeBand,
  judgePaired,
  incompleteBeta,
  incompleteGammaQ,
  logGamma,
  mannKendall,
  normalCdf,
  pairedComparison,
  pairedText,
  studentTCdf,
  studentTQuantile,
} from '../../src/studies/stats.ts';

const close = (a: number, b: number, tol: number, what = '') =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);

const normals = (seed: number, n: number, mu = 0, sigma = 1) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => mu + sigma * rng.normal());
};

test('logGamma against factorials and Γ(½) = √π', () => {
  let f = 1;
  for (let k = 1; k <= 20; k++) {
    close(logGamma(k), Math.log(f), 1e-13, `lnΓ(${k})`);
    f *= k;
  }
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13);
  close(logGamma(1.5), Math.log(Math.sqrt(Math.PI) / 2), 1e-13);
});

test('incomplete beta: integer parameters against the binomial tail; I_x(a, 1) = x^a', () => {
  // I_x(a, b) = P(Binomial(a + b − 1, x) ≥ a) for integers a, b ≥ 1.
  const choose = (n: number, k: number) => {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return r;
  };
  for (const [a, b] of [
    [1, 1],
    [2, 3],
    [5, 2],
    [7, 9],
    [20, 15],
  ] as const)
    for (const x of [0.01, 0.2, 0.5, 0.77, 0.99]) {
      const n = a + b - 1;
      let tail = 0;
      for (let k = a; k <= n; k++) tail += choose(n, k) * x ** k * (1 - x) ** (n - k);
      close(incompleteBeta(x, a, b), tail, 1e-12, `I_${x}(${a},${b})`);
    }
  close(incompleteBeta(0.3, 2.5, 1), 0.3 ** 2.5, 1e-13);
  assert.equal(incompleteBeta(0, 2, 3), 0);
  assert.equal(incompleteBeta(1, 2, 3), 1);
});

test('incomplete gamma: Q(k, x) for integer k is the Poisson CDF; Q(1, x) = e^−x', () => {
  for (const k of [1, 2, 5, 12])
    for (const x of [0.1, 1, 4, 10, 30]) {
      let s = 0;
      let term = 1;
      for (let i = 0; i < k; i++) {
        s += term;
        term *= x / (i + 1);
      }
      close(incompleteGammaQ(k, x), Math.exp(-x) * s, 1e-12, `Q(${k},${x})`);
    }
});

test('normal CDF: symmetry, known quantiles and agreement with a direct integration', () => {
  assert.equal(normalCdf(0), 0.5);
  // 1.959963984540054 is the 97.5 % quantile (well-known constant).
  close(normalCdf(1.959963984540054), 0.975, 1e-14);
  for (const z of [-4, -1.3, 0.7, 2.5]) close(normalCdf(z) + normalCdf(-z), 1, 1e-15);
  // Simpson's rule of the density from 0 to z (float64, 20000 panels).
  for (const z of [0.3, 1, 2, 3.5]) {
    const m = 20000;
    const h = z / m;
    const phi = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
    let s = phi(0) + phi(z);
    for (let i = 1; i < m; i++) s += (i % 2 ? 4 : 2) * phi(i * h);
    close(normalCdf(z), 0.5 + (s * h) / 3, 1e-12, `Φ(${z})`);
  }
  // Far tail: Φ(−10) ≈ φ(10)/10·(1 − 1/100 + 3/10⁴) (Mills ratio), to ~1e-5 relative.
  const phi10 = Math.exp(-50) / Math.sqrt(2 * Math.PI);
  const mills = (phi10 / 10) * (1 - 1 / 100 + 3 / 1e4 - 15 / 1e6);
  assert.ok(Math.abs(normalCdf(-10) / mills - 1) < 1e-5, `${normalCdf(-10)} vs ${mills}`);
});

test('Student t CDF and quantile: closed forms at df = 1 and 2, normal limit, round trips', () => {
  for (const t of [-30, -3, -0.5, 0, 0.2, 1, 7]) {
    close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `T1(${t})`);
    close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13, `T2(${t})`);
  }
  for (const p of [0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.9995]) {
    close(studentTQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-10, `q1(${p})`);
    close(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-10, `q2(${p})`);
    for (const df of [3, 5, 17.5, 60]) close(studentTCdf(studentTQuantile(p, df), df), p, 1e-12, `round trip ${df}`);
  }
  // df = 4 closed form: F(t) = ½ + t·(t² + 6)/(2·(4 + t²)^{3/2}).
  for (const t of [-2, 0.4, 3])
    close(studentTCdf(t, 4), 0.5 + (t / (2 * Math.sqrt(4 + t * t))) * (1 + 2 / (4 + t * t)), 1e-13);
  // As df → ∞ the t CDF approaches Φ (difference O(1/df)).
  for (const z of [-2, -0.5, 1, 2.5]) assert.ok(Math.abs(studentTCdf(z, 1e7) - normalCdf(z)) < 1e-7);
  assert.ok(Math.abs(studentTQuantile(0.975, 1e7) - 1.959963984540054) < 1e-6);
  // Quantiles decrease towards the normal one as df grows.
  assert.ok(studentTQuantile(0.975, 5) > studentTQuantile(0.975, 10) && studentTQuantile(0.975, 10) > 1.96);
});

/** Brute-force sign-flip p: every sign pattern by its bit mask. */
function bruteSignFlip(d: number[]): number {
  const obs = Math.abs(d.reduce((s, x) => s + x, 0));
  let c = 0;
  for (let m = 0; m < 2 ** d.length; m++) {
    let s = 0;
    for (let i = 0; i < d.length; i++) s += m & (1 << i) ? -d[i]! : d[i]!;
    if (Math.abs(s) >= obs - 1e-9 * Math.max(...d.map(Math.abs))) c++;
  }
  return c / 2 ** d.length;
}

test('pairedComparison: exact sign-flip p against brute force; t-interval against the formula', () => {
  // Six positive differences: only the all-plus and all-minus patterns are as extreme: 2/64.
  const six = pairedComparison([1, 2, 3, 4, 5, 6]);
  assert.equal(six.pValue, 2 / 64);
  assert.equal(six.exact, true);
  assert.equal(six.permutations, 64);
  // Three seeds can never reach p < 0.05 (2/8 = 0.25).
  assert.equal(pairedComparison([1, 2, 3]).pValue, 0.25);
  for (let r = 0; r < 20; r++) {
    const d = normals(100 + r, 3 + (r % 9), r % 3 === 0 ? 0 : 0.7);
    const c = pairedComparison(d);
    assert.equal(c.pValue, bruteSignFlip(d), `case ${r}`);
    const n = d.length;
    const m = d.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
    const t = studentTQuantile(0.975, n - 1);
    close(c.mean, m, 1e-14);
    close(c.lo, m - (t * sd) / Math.sqrt(n), 1e-12);
    close(c.hi, m + (t * sd) / Math.sqrt(n), 1e-12);
    // The interval's coverage property in closed form: the t statistic at the bound is the quantile.
    close(studentTCdf((m - c.lo) / (sd / Math.sqrt(n)), n - 1), 0.975, 1e-10);
  }
  // Ties of |d|: differences 1, 1, 1, −1 (sum 2): patterns with |sum| ≥ 2: sums ±2 or ±4 → 10/16.
  assert.equal(pairedComparison([1, 1, 1, -1]).pValue, 10 / 16);
  // All zeros: every pattern ties → p = 1.
  assert.equal(pairedComparison([0, 0, 0, 0, 0, 0]).pValue, 1);
  assert.ok(Number.isNaN(pairedComparison([2]).lo));
  assert.throws(() => pairedComparison([1, Number.NaN]), /not finite/);
});

test('pairedComparison: Monte Carlo above 20 pairs is seeded and close to the t-test p', () => {
  const d = normals(7, 30, 0.4);
  const a = pairedComparison(d, { seed: 3, resamples: 20000 });
  assert.equal(a.exact, false);
  assert.deepEqual(pairedComparison(d, { seed: 3, resamples: 20000 }), a);
  const n = d.length;
  const tStat = a.mean / (a.sd / Math.sqrt(n));
  const pT = 2 * (1 - studentTCdf(Math.abs(tStat), n - 1));
  // For normal data with n = 30 the randomization and t p's agree closely; 20000 samples have an sd ≤ 0.0035.
  assert.ok(Math.abs(a.pValue - pT) < 0.03, `${a.pValue} vs ${pT}`);
});

test('equivalence (TOST): p = max of the one-sided t p-values; decides no effect within the margin', () => {
  const d = [0.01, -0.02, 0.015, 0.0, -0.01, 0.005];
  const e = equivalence(d, 0.1);
  const n = d.length;
  const m = d.reduce((s, x) => s + x, 0) / n;
  const se = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1)) / Math.sqrt(n);
  close(e.pLower, 1 - studentTCdf((m + 0.1) / se, n - 1), 1e-14);
  close(e.pUpper, studentTCdf((m - 0.1) / se, n - 1), 1e-14);
  assert.equal(e.pValue, Math.max(e.pLower, e.pUpper));
  assert.ok(e.pValue < 0.001);
  // The same data with a margin inside the spread: not shown equivalent.
  assert.ok(equivalence(d, 0.005).pValue > 0.05);
  // TOST at α is the (1 − 2α) t-interval inside (−margin, margin).
  const cmp = pairedComparison(d, { level: 0.9 });
  for (const margin of [0.005, 0.01, 0.012, 0.02, 0.05]) {
    const inside = cmp.lo > -margin && cmp.hi < margin;
    assert.equal(equivalence(d, margin).pValue < 0.05, inside, `margin ${margin}`);
  }
  assert.throws(() => equivalence(d, 0), /margin/);
});

test('decidePaired: each of the three verdicts', () => {
  const up = pairedComparison([0.5, 0.7, 0.6, 0.9, 0.4, 0.8]);
  assert.equal(decidePaired(up, 'positive'), 'held');
  assert.equal(decidePaired(up, 'negative'), 'did not hold');
  const noise = [0.3, -0.2, 0.1, -0.4, 0.2, -0.1];
  assert.equal(decidePaired(pairedComparison(noise), 'positive'), 'inconclusive');
  const tiny = [0.001, -0.002, 0.0015, 0, -0.001, 0.0005];
  assert.equal(decidePaired(pairedComparison(tiny), 'positive', equivalence(tiny, 0.05)), 'did not hold');
  assert.equal(decidePaired(pairedComparison(tiny), 'positive', equivalence(tiny, 0.0001)), 'inconclusive');
  assert.equal(decidePaired(pairedComparison([1, 2, 3]), 'positive'), 'inconclusive', 'three seeds: p ≥ 0.25');
  const text = pairedText(up, (x) => x.toFixed(2));
  assert.match(text, /^0\.65 \[95 % t-CI 0\.\d\d, 0\.\d\d\], sign-flip p = 0\.031 \(exact, n = 6\)$/);
});

/** Brute-force Mann–Kendall: S over every permutation of the values (each of the n! equally likely). */
function bruteMk(x: number[]): { p: number; variance: number; mean: number } {
  const sOf = (y: number[]) => {
    let s = 0;
    for (let i = 0; i < y.length; i++) for (let j = i + 1; j < y.length; j++) s += Math.sign(y[j]! - y[i]!);
    return s;
  };
  const obs = Math.abs(sOf(x));
  let count = 0;
  let total = 0;
  let sum = 0;
  let sum2 = 0;
  const perm = (rest: number[], acc: number[]) => {
    if (rest.length === 0) {
      const s = sOf(acc);
      total++;
      sum += s;
      sum2 += s * s;
      if (Math.abs(s) >= obs) count++;
      return;
    }
    for (let i = 0; i < rest.length; i++) perm([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, rest[i]!]);
  };
  perm(x, []);
  return { p: count / total, variance: sum2 / total - (sum / total) ** 2, mean: sum / total };
}

test('Mann–Kendall: exact p and tie-corrected variance against brute-force enumeration', () => {
  const cases = [
    [1, 2, 3, 4, 5],
    [5, 4, 3, 2, 1],
    [3, 1, 4, 1, 5, 9, 2],
    [1, 1, 2, 2, 3, 3],
    [2, 2, 2, 1, 3, 3, 4],
    [0.4, -0.3, 0.9, 1.2, 0.8, 1.5, 1.1],
    [7, 7, 7, 7],
  ];
  for (const x of cases) {
    const mk = mannKendall(x);
    const b = bruteMk(x);
    assert.equal(mk.exact, true);
    close(mk.pValue, b.p, 1e-12, `p of ${x}`);
    // Under no trend E[S] = 0 and the tie-corrected formula is Var(S) exactly.
    assert.ok(Math.abs(b.mean) < 1e-9);
    close(mk.variance, b.variance, 1e-9, `var of ${x}`);
  }
  // Strictly increasing n = 5: S = 10 is attained only by the sorted and reversed orders: 2/120.
  assert.equal(mannKendall([1, 2, 3, 4, 5]).s, 10);
  assert.equal(mannKendall([1, 2, 3, 4, 5]).pValue, 2 / 120);
  assert.equal(mannKendall([7, 7, 7, 7]).pValue, 1);
});

test("Mann–Kendall: normal approximation above 10 values; Sen's slope", () => {
  const x = [3, 5, 4, 6, 8, 7, 9, 12, 10, 11, 14, 13];
  const mk = mannKendall(x);
  assert.equal(mk.exact, false);
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += Math.sign(x[j]! - x[i]!);
  assert.equal(mk.s, s);
  close(mk.variance, (n * (n - 1) * (2 * n + 5)) / 18, 1e-14);
  close(mk.pValue, 2 * normalCdf(-(s - 1) / Math.sqrt(mk.variance)), 1e-14);
  // The exact p at n = 10 and the continuity-corrected normal one are close (a check of the approximation).
  const ten = normals(5, 10).map((v, i) => v + 0.2 * i);
  const ex = mannKendall(ten);
  const approx = 2 * normalCdf(-(Math.abs(ex.s) - 1) / Math.sqrt(ex.variance));
  assert.ok(Math.abs(ex.pValue - approx) < 0.02, `${ex.pValue} vs ${approx}`);
  // Sen's slope of a line with one outlier is the line's slope.
  const line = Array.from({ length: 15 }, (_, i) => 2 - 0.5 * i);
  line[7] = 100;
  assert.equal(mannKendall(line).slope, -0.5);
  // Null: about 5 % of trendless series reject at 0.05.
  let reject = 0;
  for (let r = 0; r < 200; r++) if (mannKendall(normals(500 + r, 25)).pValue < 0.05) reject++;
  assert.ok(reject >= 2 && reject <= 20, `${reject}/200`);
});

test('judgeBand and judgePaired: the three verdicts, from the tests they are built on', () => {
  const f = (x: number) => x.toFixed(3);
  const inside = [0.98, 1.01, 1.0, 0.99, 1.02, 1.0];
  const b = judgeBand(inside, 0.85, 1.15, f);
  assert.equal(b.verdict, 'held');
  // The band test is the TOST of the centred values with the half-width as margin.
  assert.equal(
    b.eq.pValue,
    equivalence(
      inside.map((v) => v - 1),
      0.15,
    ).pValue,
  );
  assert.equal(judgeBand([0.7, 0.72, 0.69, 0.71, 0.7, 0.73], 0.85, 1.15, f).verdict, 'did not hold');
  assert.equal(judgeBand([1.3, 1.25, 1.4, 1.28, 1.33, 1.31], 0.85, 1.15, f).verdict, 'did not hold');
  assert.equal(judgeBand([0.95, 1.25, 0.95, 1.25, 0.95, 1.25], 0.85, 1.15, f).verdict, 'inconclusive');
  // minEffect: significant but smaller than required → inconclusive, or did not hold when TOST bounds it.
  const small = [0.011, 0.009, 0.01, 0.012, 0.008, 0.01];
  assert.equal(judgePaired(small, 'positive', f).verdict, 'held');
  assert.equal(judgePaired(small, 'positive', f, { minEffect: 0.05 }).verdict, 'inconclusive');
  assert.equal(judgePaired(small, 'positive', f, { margin: 0.05, minEffect: 0.05 }).verdict, 'did not hold');
});

test('judgePaired and judgeBand leave out seeds without a value (NaN) and count only the others', () => {
  const f = (x: number) => x.toFixed(2);
  const j = judgePaired([1, 2, Number.NaN, 3, 4, 5, 6], 'positive', f);
  assert.equal(j.cmp.n, 6);
  assert.equal(j.cmp.pValue, 2 / 64);
  assert.equal(judgeBand([1, Number.NaN, 1.01, 0.99], 0.9, 1.1, f).cmp.n, 3);
});
