import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStudyFile, reproduce, studySweep } from '../../src/studies/run.ts';
import { findStudy } from '../../src/studies/registry.ts';
import { eosGdRunClaims } from '../../src/studies/eos-gd.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import type { StudyRun } from '../../src/studies/study.ts';
import type { MetricRow } from '../../src/experiments/metrics.ts';
import { finishedSummary } from './summaries.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-eos-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A synthetic GD run: sharpness every 10 steps, loss every step. */
function synthetic(lr: number, sharp: (s: number) => number, loss: (s: number) => number, steps: number): StudyRun {
  const rows: MetricRow[] = [];
  for (let s = 0; s <= steps; s++) {
    const row: Record<string, unknown> = { step: s, lr, train_loss: loss(s), threshold: 2 / lr };
    if (s % 10 === 0) row.sharpness = sharp(s);
    rows.push(row as MetricRow);
  }
  const final = { train_loss: loss(steps), train_acc: null, test_loss: null, test_acc: null, sharpness: sharp(steps) };
  return {
    name: `lr-${lr}`,
    params: { 'optimizer.lr': lr },
    dir: '',
    rows,
    config: resolveConfig({ optimizer: { name: 'gd', lr }, train: { steps } }),
    summary: finishedSummary({
      status: 'completed',
      reason: null,
      steps,
      final,
    }),
  };
}

test('eos-gd evaluator: textbook run held; a run that never reaches 2/η inconclusive; one hovering at 0.7·2/η did not hold', () => {
  const t = loadStudyFile('eos-gd').tolerances;
  // Sharpening from 10 to 2/η = 20 by step 300, then ±3 % around 20 with a loss that oscillates on a falling trend.
  const textbook = synthetic(
    0.1,
    (s) => (s < 300 ? 10 + (10 * s) / 300 : 20 * (1 + 0.03 * Math.sin(s / 7))),
    (s) => Math.exp(-s / 400) * (1 + (s > 300 ? 0.05 * Math.sin(s) : 0)),
    1000,
  );
  const [c1, c2, c3] = eosGdRunClaims(textbook, t);
  assert.equal(c1!.verdict, 'held', c1!.evidence);
  assert.equal(c2!.verdict, 'held', c2!.evidence);
  assert.equal(c3!.verdict, 'held', c3!.evidence);
  assert.ok(Math.abs((c2!.values!.median_ratio as number) - 1) < 0.03);
  const never = eosGdRunClaims(
    synthetic(
      0.1,
      () => 12,
      (s) => 1 / (1 + s),
      1000,
    ),
    t,
  );
  assert.deepEqual(
    never.map((c) => c.verdict),
    ['inconclusive', 'inconclusive', 'inconclusive'],
  );
  // Reaches 0.9·2/η once, then sits at 0.7·2/η: the hover claim did not hold.
  const low = eosGdRunClaims(
    synthetic(
      0.1,
      (s) => (s === 100 ? 18.5 : s < 100 ? 10 : 14),
      (s) => 1 / (1 + s),
      1000,
    ),
    t,
  );
  assert.equal(low[1]!.verdict, 'did not hold', low[1]!.evidence);
  // A monotone loss in the edge phase did not hold (non-monotone is part of the claim).
  assert.equal(low[2]!.verdict, 'did not hold', low[2]!.evidence);
});

test('eos-gd --quick: sharpening, hovering at 2/η and the non-monotone falling loss hold with the quick tolerances', async () => {
  const def = findStudy('eos-gd')!;
  const file = loadStudyFile('eos-gd');
  const out = join(dir, 'quick');
  const r = await reproduce(def, { quick: true, out, parallel: 2 });
  const grid = studySweep(file, true).grid;
  const cells = grid['lr_multiple']!.length;
  assert.equal(r.runs.length, cells * grid['train.seed']!.length);
  assert.ok(r.runs.every((x) => x.summary.status === 'completed'));
  assert.ok(r.runs.every((x) => /after the curvature first reached 0\.9·threshold/.test(x.summary.reason ?? '')));
  assert.equal(r.claims.length, 3 * cells);
  for (const c of r.claims) assert.equal(c.verdict, 'held', `${c.claim}: ${c.evidence}`);
  const tq = { ...file.tolerances, ...file.quick_tolerances };
  for (const c of r.claims.filter((x) => x.values?.mean_median_ratio !== undefined)) {
    const m = c.values!.mean_median_ratio as number;
    assert.ok(m >= tq.ratio_lo! && m <= tq.ratio_hi!, `median ratio ${m}`);
  }
  const claims = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8'));
  assert.equal(claims.study, 'eos-gd');
  assert.deepEqual(
    claims.claims.map((c: { verdict: string }) => c.verdict),
    r.claims.map((c) => c.verdict),
  );
  assert.ok(existsSync(r.report!));
  const html = readFileSync(r.report!, 'utf8');
  const section = html.indexOf('<section class="claims">');
  assert.ok(section > html.indexOf('<body'), 'claims table after <body>');
  assert.ok(
    !/<section|<h1|<figure/.test(html.slice(html.indexOf('>', html.indexOf('<body')) + 1, section)),
    'nothing before the claims table',
  );
  assert.ok(html.includes('class="verdict">held'));
});
