// Study files are typed: every shipped file matches its study's schema, and an unknown key — at
// the top, inside a section, in quick:, in the tolerances — is an error naming the file and key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { listStudyFiles, loadStudyFile, STUDIES_DIR } from '../../src/studies/run.ts';
import { STUDY_FILE_SPECS } from '../../src/studies/schema.ts';

test('every shipped study file matches its schema, and every study has a spec', () => {
  const names = listStudyFiles();
  assert.ok(names.length >= 11);
  for (const name of names) {
    assert.ok(STUDY_FILE_SPECS[name], `no schema for studies/${name}.yaml`);
    const f = loadStudyFile(name);
    assert.equal(f.name, name);
    // The tolerances the file sets are exactly what was read (nothing dropped by the schema).
    const raw = parse(readFileSync(join(STUDIES_DIR, `${name}.yaml`), 'utf8')) as {
      tolerances: Record<string, number>;
    };
    assert.deepEqual(f.tolerances, raw.tolerances);
  }
});

test('unknown keys are errors naming the file and the dotted key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgewise-study-schema-'));
  try {
    const warmup = parse(readFileSync(join(STUDIES_DIR, 'warmup.yaml'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    // The study name selects the schema; each case is an edited copy of warmup's file in `dir`.
    const bad = (name: string, edit: (f: Record<string, Record<string, unknown>>) => void, expect: RegExp) => {
      const f = structuredClone(warmup);
      edit(f);
      const copy = join(dir, 'warmup.yaml');
      writeFileSync(copy, stringify(f));
      assert.throws(
        () => loadStudyFile('warmup', dir),
        (e: Error) => e.message.includes(copy) && expect.test(e.message),
        `${name}: ${expect}`,
      );
    };
    bad(
      'top',
      (f) => {
        f.tolerance = { min_lr_gain: 1 };
      },
      /unknown key 'tolerance'/,
    );
    bad(
      'nested',
      (f) => {
        f.max_lr!.stop_train_accuracy = 0.9;
      },
      /unknown key 'max_lr\.stop_train_accuracy'/,
    );
    bad(
      'quick',
      (f) => {
        (f.quick!.max_lr as Record<string, unknown>).bisect = 1;
      },
      /unknown key 'quick\.max_lr\.bisect'/,
    );
    bad(
      'tolerance',
      (f) => {
        f.tolerances!.min_lr_gian = 1.3;
      },
      /unknown key 'tolerances\.min_lr_gian'/,
    );
    bad(
      'quick-tolerance',
      (f) => {
        f.quick_tolerances!.early_ratio = 0.1;
      },
      /unknown key 'quick_tolerances\.early_ratio'/,
    );
    bad(
      'missing',
      (f) => {
        delete (f as Record<string, unknown>).max_lr;
      },
      /missing 'max_lr'/,
    );
    bad(
      'type',
      (f) => {
        f.max_lr!.seeds = 0;
      },
      /max_lr\.seeds: must be an integer >= 1/,
    );
    // The same key is fine where the study declares it: catapult has max_lr but no curves.
    const cat = parse(readFileSync(join(STUDIES_DIR, 'catapult.yaml'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'catapult.yaml'), stringify({ ...cat, curves: { lr: 1, steps: 10 } }));
    assert.throws(() => loadStudyFile('catapult', dir), /catapult\.yaml: unknown key 'curves'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
