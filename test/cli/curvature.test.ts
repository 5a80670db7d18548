/** `edgewise curvature RUN_DIR` and `edgewise report RUN_DIR` on a finished run. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FAST, cli, tempDir } from './helpers.ts';

describe('edgewise curvature and report', () => {
  it('analyses the latest checkpoint: eigenpairs, λmin, trace, density, slices; the report shows them', () => {
    const dir = join(tempDir(), 'run');
    assert.equal(cli(['train', ...FAST, '--set', 'train.steps=10', '--out', dir]).status, 0);
    const r = cli(['curvature', dir, '--top-k', '3', '--iters', '12']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /step 10: eigenvalues/);
    const a = JSON.parse(readFileSync(join(dir, 'curvature', 'analysis-step-000010.json'), 'utf8'));
    assert.equal(a.eigs.length, 3);
    assert.ok(a.eigs[0] >= a.eigs[1] && a.eigs[1] >= a.eigs[2], 'descending');
    assert.ok(a.lambda_min <= a.eigs[2], 'λmin below the top eigenvalues');
    assert.ok(Number.isFinite(a.trace), 'trace');
    // The sharpness measured during training at step 10 agrees with the analysis (same θ, float32).
    const row10 = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((x) => x.step === 10);
    assert.ok(Math.abs(row10.sharpness - a.eigs[0]) < 1e-3 * Math.abs(a.eigs[0]), `${row10.sharpness} vs ${a.eigs[0]}`);
    const slices = JSON.parse(readFileSync(join(dir, 'curvature', 'slices-step-000010.json'), 'utf8'));
    assert.equal(slices.directions.length, 2);
    const mid = (slices.t.length - 1) / 2;
    assert.ok(Math.abs(slices.directions[0].loss[mid] - slices.base_loss) < 1e-5, 'the slice passes through θ');
    const rep = cli(['report', dir]);
    assert.equal(rep.status, 0, rep.stderr);
    const files = readdirSync(join(dir, 'report'));
    assert.ok(files.includes('index.html') && files.includes('metrics.csv'), files.join(','));
    assert.ok(files.some((f) => f.startsWith('density')) && files.some((f) => f.startsWith('slices')), files.join(','));
    const bad = cli(['curvature', join(dir, 'nope')]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /nope/);
    assert.ok(existsSync(join(dir, 'report', 'sharpness.svg')));
  });

  it('--ggn adds the Gauss–Newton top-k and trace, measured during training with curvature.matrix both', () => {
    const dir = join(tempDir(), 'run');
    const t = cli(['train', ...FAST, '--set', 'train.steps=10', '--set', 'curvature.matrix=both', '--out', dir]);
    assert.equal(t.status, 0, t.stderr);
    const r = cli(['curvature', dir, '--top-k', '2', '--iters', '12', '--ggn']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Gauss–Newton: eigenvalues/);
    const a = JSON.parse(readFileSync(join(dir, 'curvature', 'analysis-step-000010.json'), 'utf8'));
    assert.equal(a.ggn_eigs.length, 2);
    assert.ok(a.ggn_eigs[0] >= a.ggn_eigs[1] && a.ggn_eigs[1] >= 0, 'descending, G is positive semi-definite');
    assert.ok(a.ggn_trace > 0);
    const row10 = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((x) => x.step === 10);
    assert.ok(
      Math.abs(row10.ggn_sharpness - a.ggn_eigs[0]) < 1e-3 * a.ggn_eigs[0],
      `${row10.ggn_sharpness} vs ${a.ggn_eigs[0]}`,
    );
    const rep = cli(['report', dir]);
    assert.equal(rep.status, 0, rep.stderr);
    assert.ok(existsSync(join(dir, 'report', 'ggn-gap.svg')), 'the report draws the Hessian minus Gauss–Newton gap');
  });
});
