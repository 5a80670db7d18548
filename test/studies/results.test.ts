import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration, seedCount, seedRange, writeResults } from '../../src/studies/results.ts';
import { runsTime, seedGroupsOf } from '../../src/studies/run.ts';
import type { StudyRun } from '../../src/studies/study.ts';

function studyDir(root: string, name: string, claims: unknown, figure?: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'report'), { recursive: true });
  writeFileSync(join(dir, 'claims.json'), JSON.stringify(claims));
  if (figure) writeFileSync(join(dir, 'report', figure), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

test('results document: a table per study, provenance, figures copied beside it', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-results-'));
  const a = studyDir(
    root,
    'b-study',
    {
      study: 'eos-gd',
      title: 'Edge of stability',
      quick: false,
      elapsed_s: 3725,
      finished_at: '2026-11-26T10:00:00Z',
      command: 'edgewise reproduce eos-gd',
      machine: '2 × Test CPU, 24 GiB',
      seeds: [0, 1, 2],
      claims: [
        { claim: 'λ1 hovers at 2/η', evidence: 'mean 0.98 × 2/η [0.95, 1.01]', verdict: 'held' },
        { claim: 'a | pipe', evidence: 'x', verdict: 'did not hold' },
      ],
    },
    'study-sharpness.svg',
  );
  const b = studyDir(root, 'a-study', {
    study: 'warmup',
    title: 'Warmup',
    quick: true,
    elapsed_s: 42,
    claims: [{ claim: 'c', evidence: 'e', verdict: 'inconclusive' }],
  });
  const out = join(root, 'docs', 'results.md');
  const r = writeResults([a, b], out, 'edgewise results runs', new Date('2026-11-26T12:00:00Z'));
  assert.equal(r.studies, 2);
  const md = readFileSync(out, 'utf8');
  assert.match(
    md,
    /\| \[eos-gd\]\(#eos-gd\) \| full \| 3 \| 1 \/ 2 \| 1 \| 0 \| 1 h 02 min \| 2026-11-26T10:00:00Z \|/,
  );
  assert.match(md, /\| \[warmup\]\(#warmup\) \| reduced \(quick\) \| \? \| 0 \/ 1 \| 0 \| 1 \| 42 s \| unknown \|/);
  // Totals: 3 claims, 1 held, 1 did not hold, 1 inconclusive: 2 of 3 decided.
  assert.match(md, /\| \*\*all\*\* \| \| \| 1 \/ 3 \| 1 \| 1 \| \| 67 % decided \|/);
  // Every row a claim: no second count.
  assert.doesNotMatch(md, /claims of the papers alone/);
  assert.ok(md.indexOf('## eos-gd') < md.indexOf('## warmup'), 'studies sorted by name');
  assert.match(md, /- seeds: 0–2\n/);
  // A reduced run names the full study's expected time, read from studies/warmup.yaml.
  assert.match(
    md,
    /- scale: reduced \(`--quick`\): a smaller subset and fewer steps \(the full study: about \d+ (min|h \d\d min) on 2 cores\)/,
  );
  assert.match(md, /- machine: 2 × Test CPU, 24 GiB/);
  assert.match(md, /\| a \\\| pipe \| x \| \*\*did not hold\*\* \|/);
  assert.match(md, /!\[sharpness\]\(results\/eos-gd\/study-sharpness\.svg\)/);
  assert.ok(existsSync(join(root, 'docs', 'results', 'eos-gd', 'study-sharpness.svg')));
  assert.match(md, /edgewise results runs/);
});

test('results document: a missing or corrupted claims.json is an error naming the file', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-results-'));
  const bad = join(root, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'claims.json'), '{"study": "x", ');
  assert.throws(
    () => writeResults([bad], join(root, 'r.md'), 'c'),
    (e: Error) => e.message.includes(join(bad, 'claims.json')) && /not valid JSON/.test(e.message),
  );
  writeFileSync(join(bad, 'claims.json'), '{"study": "x", "title": "t", "quick": false, "claims": []}');
  assert.throws(() => writeResults([bad], join(root, 'r.md'), 'c'), /missing key 'elapsed_s'/);
  assert.throws(() => writeResults([join(root, 'none')], join(root, 'r.md'), 'c'), /not found/);
  assert.equal(existsSync(join(root, 'r.md')), false, 'nothing written on error');
});

test('results document: a discussion file adds text under its studies; bad files and duplicates are errors', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-results-'));
  const claims = (quick: boolean) => ({
    study: 'rotation',
    title: 'Rotation',
    quick,
    elapsed_s: 60,
    seeds: [0, 1, 2],
    claims: [{ claim: 'c', evidence: 'e', verdict: 'did not hold' }],
  });
  const a = studyDir(root, 'full', claims(false));
  const disc = join(root, 'discussion.yaml');
  writeFileSync(disc, 'rotation: |\n  The eigengap was small at most steps.\n');
  const out = join(root, 'results.md');
  writeResults([a], out, 'c', new Date(), disc);
  const md = readFileSync(out, 'utf8');
  assert.match(md, /### Discussion\n\nThe eigengap was small at most steps\./);
  assert.match(md, /written by people/);
  writeFileSync(disc, 'rotaton: text\n');
  assert.throws(() => writeResults([a], out, 'c', new Date(), disc), /'rotaton' is not a study given \(rotation\)/);
  writeFileSync(disc, 'rotation: [1, 2]\n');
  assert.throws(() => writeResults([a], out, 'c', new Date(), disc), /'rotation' must be text/);
  assert.throws(() => writeResults([a], out, 'c', new Date(), join(root, 'nope.yaml')), /nope\.yaml: not found/);
  const b = studyDir(root, 'quick', claims(true));
  assert.throws(() => writeResults([a, b], out, 'c'), /study rotation is given twice/);
});

test('run time: the runs’ own times summed, not the time of an evaluation that reused them', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-results-'));
  const run = (elapsed: number | null) => ({ summary: { elapsed_s: elapsed } as never });
  const total = runsTime([run(1800), run(1925), run(null)]);
  assert.equal(total, 3725);
  assert.equal(runsTime([run(null)]), null);
  const dir = studyDir(root, 's', {
    study: 'eos-gd',
    title: 'E',
    quick: false,
    elapsed_s: 10,
    runs_time_s: total,
    claims: [],
  });
  writeResults([dir], join(root, 'r.md'), 'c');
  const md = readFileSync(join(root, 'r.md'), 'utf8');
  assert.match(md, /\| full \| \? \| 0 \/ 0 \| 0 \| 0 \| 1 h 02 min \|/);
  assert.match(md, /- run time: 1 h 02 min \(its runs’ times summed[^)]*\); evaluated in 10 s/);
});

test('seeds per kind of run: counted per kind in the table and listed in the section where the kinds differ', () => {
  const run = (kind: string, seed: number) =>
    ({ params: { kind }, config: { train: { seed } } }) as unknown as StudyRun;
  const trials = [0, 1, 2, 3, 4, 5].map((s) => run('trial', s));
  const curves = [6, 7, 8, 9, 10, 11, 12, 13].map((s) => run('curve', s));
  const groups = seedGroupsOf([...trials, ...curves]).seed_groups!;
  assert.deepEqual(groups, { trial: [0, 1, 2, 3, 4, 5], curve: [6, 7, 8, 9, 10, 11, 12, 13] });
  // The same seeds for every kind (or runs without a kind): no groups, the plain count.
  assert.deepEqual(seedGroupsOf([...trials, ...[0, 1, 2, 3, 4, 5].map((s) => run('curve', s))]), {});
  assert.equal(seedCount({ seeds: [0, 1, 2], seed_groups: undefined }), '3');
  assert.equal(seedCount({ seeds: [], seed_groups: groups }), '6 + 8');
  assert.equal(seedCount({ deterministic: true }), 'none (deterministic)');
  assert.equal(seedRange([6, 7, 8, 9]), '6–9');
  assert.equal(seedRange([0, 2, 3]), '0, 2, 3');
  const root = mkdtempSync(join(tmpdir(), 'edgewise-results-'));
  const dir = studyDir(root, 'w', {
    study: 'warmup',
    title: 'Warmup',
    quick: false,
    elapsed_s: 60,
    seeds: [...Array(14).keys()],
    seed_groups: groups,
    claims: [{ claim: 'c', evidence: 'e', verdict: 'held' }],
  });
  const out = join(root, 'results.md');
  writeResults([dir], out, 'edgewise results runs', new Date('2026-12-06T12:00:00Z'));
  const md = readFileSync(out, 'utf8');
  assert.match(md, /\| \[warmup\]\(#warmup\) \| full \| 6 \+ 8 \| 1 \/ 1 \|/);
  assert.match(md, /- seeds: 0–13 \(η_max searches: 0–5; early-curvature runs: 6–13\)/);
  // Follow-up cells: the grid's seeds and the follow-up's, and why and at which level the follow-up was judged.
  const fuDir = studyDir(root, 'sgd', {
    study: 'sgd-batch',
    title: 'SGD',
    quick: false,
    elapsed_s: 60,
    seeds: [...Array(10).keys()].map((i) => i + 12),
    seed_groups: { grid: [12, 13, 14, 15], 'follow-up': [16, 17, 18, 19, 20, 21] },
    follow_up: { reason: 'B = 16 was undecided. ', alpha: 0.025 },
    claims: [{ claim: 'c', evidence: 'e', verdict: 'held' }],
  });
  writeResults([fuDir], out, 'edgewise results runs', new Date('2026-12-06T12:00:00Z'));
  const fuMd = readFileSync(out, 'utf8');
  assert.match(fuMd, /\| full \| 4 \+ 6 \|/);
  assert.match(fuMd, /- seeds: 12–21 \(the grid: 12–15; follow-up cells: 16–21\)/);
  assert.match(fuMd, /- follow-up \(judged at α = 0\.025\): B = 16 was undecided\.\n/);
  const maxLrDir = studyDir(root, 'ir', {
    study: 'interventions-resnet',
    title: 'IR',
    quick: false,
    elapsed_s: 60,
    seeds: [...Array(8).keys()],
    seed_groups: { 'trial+curve': [0, 1, 2, 3, 4, 5], 'follow-up': [6, 7] },
    claims: [{ claim: 'c', evidence: 'e', verdict: 'held' }],
  });
  writeResults([maxLrDir], out, 'edgewise results runs', new Date('2026-12-06T12:00:00Z'));
  assert.match(
    readFileSync(out, 'utf8'),
    /- seeds: 0–7 \(η_max searches and early-curvature runs: 0–5; follow-up cells: 6, 7\)/,
  );
});

test('formatDuration', () => {
  assert.equal(formatDuration(40.4), '40 s');
  assert.equal(formatDuration(720), '12 min');
  assert.equal(formatDuration(3600 + 5 * 60), '1 h 05 min');
});

test('results document: rebuilt from the committed snapshots alone; a fresh run of a study replaces its snapshot', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-results-'));
  const claims = (study: string, verdict: string, note?: string) => ({
    study,
    title: study,
    quick: false,
    elapsed_s: 5,
    seeds: [0, 1, 2, 3, 4, 5],
    ...(note ? { note } : {}),
    claims: [{ claim: `${study} claim`, evidence: 'e', verdict }],
  });
  const runs = join(root, 'runs');
  const a = studyDir(runs, 'rotation', claims('rotation', 'held'), 'study-rho.svg');
  const b = studyDir(
    runs,
    'eos-gd',
    claims('eos-gd', 'inconclusive', 'evaluated under earlier rules'),
    'study-ratio.svg',
  );
  const docs = join(root, 'docs');
  const out = join(docs, 'results.md');
  writeResults([a, b], out, 'edgewise results runs');
  // Snapshots: claims.json and figures beside the page.
  for (const [s, f] of [
    ['rotation', 'study-rho.svg'],
    ['eos-gd', 'study-ratio.svg'],
  ])
    for (const file of ['claims.json', f!]) assert.ok(existsSync(join(docs, 'results', s!, file)), `${s}/${file}`);
  const first = readFileSync(out, 'utf8');
  assert.match(
    first,
    /rebuild it from the repository with `edgewise results .*docs\/results --out .*docs\/results\.md`/,
  );
  assert.match(first, /- note: evaluated under earlier rules/);
  // Rebuilt from the snapshots alone (the run directories gone): the same tables and figure links.
  rmSync(runs, { recursive: true, force: true });
  const again = join(docs, 'results.md');
  writeResults(
    [join(docs, 'results', 'rotation'), join(docs, 'results', 'eos-gd')],
    again,
    'edgewise results docs/results',
  );
  const second = readFileSync(again, 'utf8');
  const body = (md: string) => md.slice(md.indexOf('| study |'));
  assert.equal(body(second), body(first));
  // A fresh run of one study replaces its snapshot (claims and figures); the other stays.
  const fresh = studyDir(join(root, 'new'), 'rotation', claims('rotation', 'did not hold'), 'study-subspace.svg');
  writeResults([join(docs, 'results', 'rotation'), join(docs, 'results', 'eos-gd'), fresh], out, 'c');
  const third = readFileSync(out, 'utf8');
  assert.match(third, /\| rotation claim \| e \| \*\*did not hold\*\* \|/);
  assert.match(third, /\| eos-gd claim \| e \| \*\*inconclusive\*\* \|/);
  assert.ok(existsSync(join(docs, 'results', 'rotation', 'study-subspace.svg')));
  assert.ok(!existsSync(join(docs, 'results', 'rotation', 'study-rho.svg')), 'the stale figure is removed');
  assert.equal(
    JSON.parse(readFileSync(join(docs, 'results', 'rotation', 'claims.json'), 'utf8')).claims[0].verdict,
    'did not hold',
  );
});

test('results document: checks of single runs and of a design are counted apart from the claims of the papers', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-results-'));
  const seedRow = (seed: number, verdict: string) => ({
    claim: `[adam, seed ${seed}] hovers`,
    evidence: 'e',
    verdict,
    scope: 'run',
  });
  const a = studyDir(root, 'eos-adam', {
    study: 'eos-adam',
    title: 'Adam',
    quick: false,
    elapsed_s: 1,
    claims: [
      ...[0, 1, 2, 3, 4, 5].map((s) => seedRow(s, 'held')),
      { claim: '[adam] Across seeds, hovers', evidence: 'e', verdict: 'held' },
    ],
  });
  const b = studyDir(root, 'warmup', {
    study: 'warmup',
    title: 'Warmup',
    quick: false,
    elapsed_s: 1,
    claims: [
      { claim: 'c', evidence: 'e', verdict: 'inconclusive' },
      { claim: 'd', evidence: 'e', verdict: 'did not hold' },
      { claim: '(Sweep check) reaches divergence', evidence: 'e', verdict: 'held', scope: 'design' },
    ],
  });
  const out = join(root, 'results.md');
  writeResults([a, b], out, 'edgewise results', new Date('2026-12-06T12:00:00Z'));
  const md = readFileSync(out, 'utf8');
  // 10 rows, 9 decided (90 %); the claims alone: 3, 2 decided (67 %).
  assert.match(md, /\| \*\*all\*\* \| \| \| 8 \/ 10 \| 1 \| 1 \| \| 90 % decided \|/);
  assert.match(
    md,
    /Of these 10 rows, 6 check single runs, .* \(eos-adam 6\); 1 checks a study's design, .* \(warmup 1\)\. Counting the 3 claims of the papers alone: 2 decided, 67 %\./,
  );
  // A scope other than 'run' or 'design' is an error naming the file and row.
  const bad = studyDir(root, 'bad', {
    study: 'warmup',
    title: 'W',
    quick: false,
    elapsed_s: 1,
    claims: [{ claim: 'c', evidence: 'e', verdict: 'held', scope: 'seed' }],
  });
  assert.throws(
    () => writeResults([bad], join(root, 'bad.md'), 'edgewise results', new Date()),
    /bad\/claims\.json: claim 1 has scope 'seed' \(known: 'run', 'design'\)/,
  );
  rmSync(root, { recursive: true, force: true });
});
