import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  linearization,
  toyEigen,
  toyGd,
  toyGrad,
  toyHessian,
  toyLoss,
  contourSegments,
  type ToyModel,
} from '../../src/studies/toy-depth.ts';
import { loadStudyFile, reproduce } from '../../src/studies/run.ts';
import { findStudy } from '../../src/studies/registry.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-toy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const models: [ToyModel, number[]][] = [
  [{ depth: 2, y: 1 }, [3, 0.1]],
  [{ depth: 2, y: 1 }, [-0.7, 1.9]],
  [{ depth: 3, y: 1 }, [1.8, 1.2, 0.4]],
  [{ depth: 3, y: -0.5 }, [0.3, -1.1, 2.2]],
  [linearization([3, 0.1], 1), [2.5, -0.4]],
];

test('closed-form gradient and Hessian match central finite differences in float64', () => {
  const h = 1e-5;
  for (const [m, t] of models) {
    const g = toyGrad(m, t);
    const H = toyHessian(m, t);
    const d = t.length;
    for (let i = 0; i < d; i++) {
      const tp = t.slice();
      const tm = t.slice();
      tp[i]! += h;
      tm[i]! -= h;
      const fd = (toyLoss(m, tp) - toyLoss(m, tm)) / (2 * h);
      assert.ok(
        Math.abs(fd - g[i]!) < 1e-7 * Math.max(1, Math.abs(g[i]!)),
        `grad depth ${m.depth} [${i}]: ${fd} vs ${g[i]}`,
      );
      const gp = toyGrad(m, tp);
      const gm = toyGrad(m, tm);
      for (let j = 0; j < d; j++) {
        const fdH = (gp[j]! - gm[j]!) / (2 * h);
        assert.ok(
          Math.abs(fdH - H[i * d + j]!) < 1e-6 * Math.max(1, Math.abs(H[i * d + j]!)),
          `H depth ${m.depth} [${i},${j}]: ${fdH} vs ${H[i * d + j]}`,
        );
      }
    }
  }
});

test('depth 2 on its minimum manifold: eigenvalues θ1² + θ2² and 0 (closed form)', () => {
  for (const a of [0.5, 1, 3]) {
    const t = [a, 1 / a];
    const e = toyEigen({ depth: 2, y: 1 }, t);
    assert.ok(Math.abs(e.values[0]! - (a * a + 1 / (a * a))) < 1e-12);
    assert.ok(Math.abs(e.values[1]!) < 1e-12);
    // Top eigenvector ∝ ∇f = (θ2, θ1).
    const n = Math.hypot(1 / a, a);
    assert.ok(Math.abs(Math.abs((e.top[0]! * (1 / a)) / n + (e.top[1]! * a) / n) - 1) < 1e-12);
  }
});

test('GD on the depth-1 control: converges iff η < 2/λ (|1 − ηλ| < 1), with ρ = 1', () => {
  const m = linearization([3, 0.1], 1);
  const lambda = 3 * 3 + 0.1 * 0.1; // ‖∇f(θ0)‖²
  assert.ok(Math.abs(toyEigen(m, [0, 0]).values[0]! - lambda) < 1e-12);
  const below = toyGd(m, [3, 0.1], (0.9 * 2) / lambda, 400, 1e6);
  assert.equal(below.status, 'completed');
  assert.ok((below.rows.at(-1)!.train_loss as number) < 1e-20);
  assert.ok(below.rows.every((r) => r.eigvec_cos === undefined || (r.eigvec_cos as number) > 1 - 1e-12));
  const above = toyGd(m, [3, 0.1], (1.1 * 2) / lambda, 400, 1e6);
  assert.equal(above.status, 'diverged');
});

test('contour segments of a linear function are straight and at the right level', () => {
  const xs = [0, 1, 2, 3];
  const ys = [0, 1, 2, 3];
  const z = xs.map((x) => ys.map((y) => x + y));
  const segs = contourSegments(xs, ys, z, 2.5);
  assert.ok(segs.length > 0);
  for (const [x1, y1, x2, y2] of segs) {
    assert.ok(Math.abs(x1 + y1 - 2.5) < 1e-12);
    assert.ok(Math.abs(x2 + y2 - 2.5) < 1e-12);
  }
});

test('toy-depth --quick: every claim holds with the study file’s quick tolerances; claims.json and the report are written', async () => {
  const def = findStudy('toy-depth')!;
  const file = loadStudyFile('toy-depth');
  const out = join(dir, 'quick');
  const r = await reproduce(def, { quick: true, out });
  assert.equal(r.runs.length, 3 * file.quick!.grid!.lr_multiple!.length);
  const verdicts = r.claims.map((c) => `${c.verdict}: ${c.claim} — ${c.evidence}`);
  assert.ok(r.claims.length >= 8, verdicts.join('\n'));
  for (const c of r.claims) assert.equal(c.verdict, 'held', `${c.claim}: ${c.evidence}`);
  const claims = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8'));
  assert.equal(claims.study, 'toy-depth');
  assert.equal(claims.quick, true);
  assert.equal(claims.claims.length, r.claims.length);
  assert.ok(existsSync(join(out, 'contours.json')));
  const html = readFileSync(r.report!, 'utf8');
  const body = html.indexOf('<body');
  const section = html.indexOf('<section class="claims">');
  assert.ok(body >= 0 && section > body, 'claims table right after <body>');
  assert.ok(
    !/<section|<h1|<figure/.test(html.slice(html.indexOf('>', body) + 1, section)),
    'nothing before the claims table',
  );
  assert.ok(html.includes('Trajectories over the loss contours (depth 2)'));
});
