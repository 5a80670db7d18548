// Each study's tolerance names are written once (src/studies/tolerances.ts): the shipped study files
// set exactly those names (none unknown, none declared but never set), the schema is built from
// them, and a misspelled key in a file is an error naming the file and the dotted key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { listStudyFiles, STUDIES_DIR } from '../../src/studies/run.ts';
import { parseStudyFile, STUDY_FILE_SPECS, StudyFileError } from '../../src/studies/schema.ts';
import { STUDY_TOLERANCES, tolerancesOf } from '../../src/studies/tolerances.ts';
import { tol } from '../../src/studies/measures.ts';

type RawStudy = Record<string, unknown> & {
  tolerances?: Record<string, unknown>;
  quick_tolerances?: Record<string, unknown> | null;
};

const rawStudy = (name: string): RawStudy => parse(readFileSync(join(STUDIES_DIR, `${name}.yaml`), 'utf8')) as RawStudy;

/** What is wrong with a study file's tolerance keys against the names its evaluator reads. */
function problems(raw: RawStudy, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const section of ['tolerances', 'quick_tolerances'] as const)
    for (const k of Object.keys(raw[section] ?? {}))
      if (!names.includes(k)) out.push(`${section}.${k} is not a tolerance of the study`);
  for (const n of names) if (!Object.hasOwn(raw.tolerances ?? {}, n)) out.push(`${n} is declared but not set`);
  return out;
}

/** `name` with its last two letters swapped (a typo that is not itself a declared name). */
function misspell(name: string, names: readonly string[]): string {
  const typo = `${name.slice(0, -2)}${name.at(-1)}${name.at(-2)}`;
  return typo !== name && !names.includes(typo) ? typo : `${name}x`;
}

test('every shipped study has its tolerance names, and the schema lists exactly those', () => {
  const files = listStudyFiles();
  assert.ok(files.length >= 11);
  assert.deepEqual([...files].sort(), Object.keys(STUDY_TOLERANCES).sort());
  for (const name of files) {
    const names = STUDY_TOLERANCES[name as keyof typeof STUDY_TOLERANCES];
    assert.ok(names.length > 0, name);
    assert.equal(new Set(names).size, names.length, `${name}: a name is listed twice`);
    assert.deepEqual(STUDY_FILE_SPECS[name]?.tolerances, names, `${name}: schema's names`);
  }
});

test('every shipped file sets each of its study tolerances and no other', () => {
  for (const name of listStudyFiles()) {
    const names = STUDY_TOLERANCES[name as keyof typeof STUDY_TOLERANCES];
    assert.deepEqual(problems(rawStudy(name), names), [], `studies/${name}.yaml`);
  }
  // The check itself: an unknown key (either section) and a declared name left unset are found.
  const names = STUDY_TOLERANCES.warmup;
  const f = structuredClone(rawStudy('warmup'));
  delete f.tolerances![names[0]];
  f.quick_tolerances = { ...f.quick_tolerances, early_ratio: 0.1 };
  assert.deepEqual(problems(f, names), [
    'quick_tolerances.early_ratio is not a tolerance of the study',
    `${names[0]} is declared but not set`,
  ]);
});

test('a misspelled tolerance key is rejected naming the file and the dotted key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgewise-tolerance-names-'));
  try {
    for (const name of listStudyFiles()) {
      const names = STUDY_TOLERANCES[name as keyof typeof STUDY_TOLERANCES];
      for (const section of ['tolerances', 'quick_tolerances'] as const) {
        const f = structuredClone(rawStudy(name));
        const typo = misspell(names[0], names);
        // The typo replaces the real key in `tolerances:`, and is added to `quick_tolerances:`.
        const tols = { ...(f[section] ?? {}) };
        if (section === 'tolerances') delete tols[names[0]];
        f[section] = { ...tols, [typo]: 1 };
        const path = join(dir, `${name}.yaml`);
        writeFileSync(path, stringify(f));
        const back: unknown = parse(readFileSync(path, 'utf8'));
        assert.throws(
          () => parseStudyFile(back, path, name),
          (e: Error) =>
            e instanceof StudyFileError &&
            e.message.startsWith(`${path}: `) &&
            e.message.includes(`'${section}.${typo}'`),
          `${name}: ${section}.${typo}`,
        );
        // The unedited file parses: the error is the typo's.
        writeFileSync(path, stringify(rawStudy(name)));
        parseStudyFile(parse(readFileSync(path, 'utf8')), path, name);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an evaluator's typed view holds its names only; an unset one names its key when read", () => {
  const t = tolerancesOf(STUDY_TOLERANCES.warmup, { min_lr_gain: 1.3, other: 2 });
  assert.deepEqual(Object.keys(t).sort(), ['early_ratio_drop', 'min_lr_gain']);
  assert.equal(tol(t, 'min_lr_gain'), 1.3);
  assert.equal(t.early_ratio_drop, undefined);
  assert.throws(() => tol(t, 'early_ratio_drop'), /'early_ratio_drop' is missing from the study file/);
});
