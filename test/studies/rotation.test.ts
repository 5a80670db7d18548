import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStudyFile, reproduce, studySweep } from '../../src/studies/run.ts';
import { findStudy } from '../../src/studies/registry.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-rotation-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('rotation --quick: ρ ≈ 1 below 2/λ0, drops coincide with instabilities above it, rotation grows with η', async () => {
  const def = findStudy('rotation')!;
  const file = loadStudyFile('rotation');
  const out = join(dir, 'quick');
  const r = await reproduce(def, { quick: true, out, parallel: 2 });
  const mults = studySweep(file, true).grid.lr_multiple as number[];
  assert.equal(r.runs.length, mults.length);
  // The runs' learning rates are the multiples of 2/λ0, λ0 measured at initialization.
  for (const run of r.runs) {
    const l0 = run.params.lambda0 as number;
    const first = run.rows.find((x) => typeof x.sharpness === 'number')!.sharpness as number;
    assert.ok(Math.abs(first - l0) / l0 < 1e-3, `λ0 ${l0} vs the run's step-0 sharpness ${first}`);
    assert.ok(Math.abs(run.config.optimizer.lr - ((run.params.lr_multiple as number) * 2) / l0) < 1e-12);
  }
  const by = (prefix: string) => r.claims.find((c) => c.claim.startsWith(prefix))!;
  const below = by('Below 2/λ0');
  const spikes = by('Above 2/λ0, drops of ρ (ρ <');
  const instab = by('Above 2/λ0, drops of ρ coincide with instabilities');
  const grows = by('Mean rotation');
  assert.equal(below.verdict, 'held', below.evidence);
  assert.equal(instab.verdict, 'held', instab.evidence);
  assert.equal(grows.verdict, 'held', grows.evidence);
  // The literal loss-spike claim is decided from the data either way (see the study file); it
  // must at least be computed from drop episodes that exist.
  assert.notEqual(spikes.verdict, 'inconclusive', spikes.evidence);
  assert.ok((spikes.values!.episodes as number) > 0);
  const claims = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8'));
  assert.equal(claims.claims.length, r.claims.length);
  assert.ok(existsSync(r.report!));
  const html = readFileSync(r.report!, 'utf8');
  const section = html.indexOf('<section class="claims">');
  assert.ok(section > html.indexOf('<body'));
  assert.ok(!/<section|<h1|<figure/.test(html.slice(html.indexOf('>', html.indexOf('<body')) + 1, section)), 'nothing before the claims table');
  assert.ok(html.includes('ρ_t: |cos| between successive top eigenvectors'));
});
