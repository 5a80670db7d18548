import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadStudyFile, studyPlan, studySweep, studySweeps } from '../../src/studies/run.ts';
import { findStudy } from '../../src/studies/registry.ts';
import { gridProduct } from '../../src/experiments/sweep.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { withParams, LR_MULTIPLE } from '../../src/studies/plan.ts';
import { EOS_GD_ONLY_TOLERANCES } from '../../src/studies/tolerances.ts';

/** The issue-8 studies: study file name → evaluator module. */
const STUDIES: Record<string, string> = {
  'eos-gd': 'eos-gd.ts',
  'eos-adam': 'eos-adam.ts',
  rotation: 'rotation.ts',
  'toy-depth': 'toy-depth.ts',
  'flatness-lr': 'flatness-lr.ts',
  'sgd-batch': 'sgd-batch.ts',
  'adam-clipped': 'adam-clipped.ts',
  'depth-rotation': 'depth-rotation.ts',
};

test('every study is registered and its file has a title, expected minutes, a quick version and tolerances', () => {
  for (const name of Object.keys(STUDIES)) {
    const f = loadStudyFile(name);
    assert.ok(findStudy(name), `${name} registered`);
    assert.ok(f.title.length > 0 && (f.description ?? '').length > 0, name);
    assert.ok(
      f.expected_minutes.full > 0 &&
        f.expected_minutes.quick > 0 &&
        f.expected_minutes.quick <= f.expected_minutes.full,
      name,
    );
    assert.ok(f.quick !== undefined, `${name} has a quick version`);
    assert.ok(Object.keys(f.tolerances).length > 0, name);
  }
});

test('every tolerance an evaluator reads is in its study file', () => {
  for (const [name, mod] of Object.entries(STUDIES)) {
    const f = loadStudyFile(name);
    const src = [mod, ...(name === 'eos-adam' ? ['eos-gd.ts'] : [])]
      .map((m) => readFileSync(new URL(`../../src/studies/${m}`, import.meta.url), 'utf8'))
      .join('\n');
    const used = new Set([...src.matchAll(/tol\(t, '([a-z0-9_]+)'\)/g)].map((m) => m[1]!));
    // tols(t, 'a', 'b', …) reads several at once (possibly across lines).
    for (const m of src.matchAll(/tols\(\s*t,([^)]*)\)/g))
      for (const q of m[1]!.matchAll(/'([a-z0-9_]+)'/g)) used.add(q[1]!);
    if (name === 'eos-adam') for (const k of EOS_GD_ONLY_TOLERANCES) used.delete(k); // eos-gd-only claims
    assert.ok(used.size > 0, name);
    for (const k of used) {
      assert.equal(typeof f.tolerances[k], 'number', `${name}: tolerance ${k}`);
      assert.equal(typeof { ...f.tolerances, ...f.quick_tolerances }[k], 'number', `${name} (quick): tolerance ${k}`);
    }
  }
});

test('the runs of every study (full and quick) are valid configs', () => {
  for (const name of Object.keys(STUDIES)) {
    const f = loadStudyFile(name);
    for (const quick of [false, true]) {
      if (name === 'toy-depth') continue; // not network configs (checked by its own test)
      const sweep = studySweep(f, quick);
      if (Object.keys(sweep.grid).includes(LR_MULTIPLE)) {
        // The main sweep and each variant's (its base over the study's), as planMultiples builds them.
        for (const s of studySweeps(f, quick)) {
          const keys = Object.keys(s.grid);
          for (const p of gridProduct(keys.map((key) => ({ key, values: s.grid[key]! }))))
            resolveConfig(withParams(s.base, p));
        }
      } else {
        assert.ok(studyPlan(f, quick).runs.length > 0, `${name} ${quick ? 'quick' : 'full'}`);
      }
    }
  }
});
