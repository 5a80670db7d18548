/**
 * The results document (`edgewise results`): the claims tables and key figures of every study as
 * last run, with when, how (the command), where (the machine) and how long — written from the
 * studies' `claims.json` files, never by hand. Each study's claims.json and figures are kept
 * beside the document (docs/results/<study>/, committed), so the document can be rebuilt from the
 * repository alone: `edgewise results docs/results --out docs/results.md`.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { writeFileAtomic } from '../experiments/atomicWrite.ts';
import { loadStudyFile } from './run.ts';
import type { ClaimResult } from './study.ts';
import { seedRange } from './measures.ts';

export { seedRange };

/** Where and how a study was run, as recorded in its claims.json (absent in older files). */
export interface StudyProvenance {
  /** ISO 8601 time the claims were evaluated. */
  finished_at?: string;
  /** The command line that ran the study. */
  command?: string;
  /** CPU model, core count and memory of the machine. */
  machine?: string;
  /** Seeds per configuration. */
  seeds?: number[];
  /** The seeds of each kind of run where kinds use different seeds (e.g. trial: η_max searches, curve: curve runs). */
  seed_groups?: Record<string, number[]>;
  /** The study involves no random choice (no seeds). */
  deterministic?: boolean;
  /** Seconds its runs took, summed over runs (absent in older files). */
  runs_time_s?: number | null;
  /** A remark on where these claims came from (e.g. evaluated under earlier rules), shown under the study. */
  note?: string;
  /** Follow-up cells on fresh seeds (followUp.ts): why, and at which test level. */
  follow_up?: { reason: string; alpha: number };
}

/** The part of a study's claims.json that the results document shows. */
export interface StudyClaims extends StudyProvenance {
  study: string;
  title: string;
  quick: boolean;
  elapsed_s: number;
  claims: ClaimResult[];
}

/** One study's outcome with the figures to show (paths relative to the study directory). */
export interface StudyResult {
  claims: StudyClaims;
  dir: string;
  figures: string[];
  /** Minutes the full version is expected to take on this project's 2-core machines (from the study file). */
  expectedFullMinutes?: number;
}

/** What a kind of run (or kinds joined by '+') is, for the seeds line. */
const kindWords = (kind: string): string => kind.split('+').map(oneKindWords).join(' and ');
const oneKindWords = (kind: string): string =>
  ({
    trial: 'η_max searches',
    curve: 'early-curvature runs',
    fixed: 'fixed-η runs',
    grid: 'the grid',
    'follow-up': 'follow-up cells',
  })[kind] ?? `${kind} runs`;

/** The summary table's seeds cell: the count, or the count per kind of run ('6 + 8') where kinds use different seeds. */
export function seedCount(c: StudyProvenance): string {
  if (c.seed_groups)
    return Object.values(c.seed_groups)
      .map((g) => g.length)
      .join(' + ');
  return c.seeds ? String(c.seeds.length) : c.deterministic ? 'none (deterministic)' : '?';
}

/**
 * Reads `<dir>/claims.json` and lists the study figures: `<dir>/report/study-*.svg` (a study's
 * output directory) or `<dir>/study-*.svg` (a committed snapshot under docs/results/); errors name the file.
 */
export function loadStudyResult(dir: string): StudyResult {
  const file = join(dir, 'claims.json');
  if (!existsSync(file)) throw new Error(`${file}: not found (run 'edgewise reproduce NAME --out ${dir}' first)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const c = parsed as Partial<StudyClaims>;
  for (const key of ['study', 'title', 'quick', 'elapsed_s', 'claims'] as const) {
    if (c[key] === undefined) throw new Error(`${file}: missing key '${key}'`);
  }
  if (!Array.isArray(c.claims)) throw new Error(`${file}: 'claims' must be a list`);
  c.claims.forEach((x, i) => {
    if (x.scope !== undefined && x.scope !== 'run' && x.scope !== 'design')
      throw new Error(`${file}: claim ${i + 1} has scope '${String(x.scope)}' (known: 'run', 'design')`);
  });
  const svgs = (d: string) => (existsSync(d) ? readdirSync(d).filter((f) => /^study-.*\.svg$/.test(f)) : []);
  const inReport = svgs(join(dir, 'report'));
  const figures = inReport.length > 0 ? inReport.sort().map((f) => join('report', f)) : svgs(dir).sort();
  let expectedFullMinutes: number | undefined;
  try {
    expectedFullMinutes = loadStudyFile(c.study as string).expected_minutes.full;
  } catch {
    expectedFullMinutes = undefined; // a study no longer shipped: its run time is unknown
  }
  return { claims: c as StudyClaims, dir, figures, expectedFullMinutes };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * Where some rows are not claims of the papers (scope 'run': checks of single runs whose claim is
 * also judged across seeds; 'design': checks of a study's cells), the count of the claims alone,
 * so that such rows cannot carry the share decided.
 */
function claimsOnlyLine(results: readonly StudyResult[]): string[] {
  const rows = results.flatMap((r) => r.claims.claims);
  const claims = rows.filter((x) => x.scope === undefined);
  if (claims.length === rows.length) return [];
  const decided = claims.filter((x) => x.verdict !== 'inconclusive').length;
  const apart = (scope: 'run' | 'design', what: (n: number) => string) => {
    const n = rows.filter((x) => x.scope === scope).length;
    if (n === 0) return [];
    const where = results
      .map((r) => ({ study: r.claims.study, n: r.claims.claims.filter((x) => x.scope === scope).length }))
      .filter((x) => x.n > 0)
      .map((x) => `${x.study} ${x.n}`)
      .join(', ');
    return [`${n} ${what(n)} (${where})`];
  };
  const parts = [
    ...apart(
      'run',
      (n) =>
        `check${n === 1 ? 's a single run' : ' single runs'}, one per seed and setting, whose claim is also judged across seeds in a row of its own`,
    ),
    ...apart('design', (n) => `check${n === 1 ? 's' : ''} a study's design, that its cells can show the phenomenon`),
  ];
  return [
    '',
    `Of these ${rows.length} rows, ${parts.join('; ')}. Counting the ${claims.length} claims of the papers alone: ${decided} decided, ${Math.round((100 * decided) / claims.length)} %.`,
  ];
}

/** Formats seconds as "1 h 05 min", "12 min" or "40 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const min = Math.round(seconds / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** The study's run time: its runs' times summed when recorded, else the evaluation's own time. */
const runTime = (c: StudyClaims): number => (c.runs_time_s != null ? c.runs_time_s : c.elapsed_s);

/** Renders the results document as Markdown; `figurePath` maps a study's figure to its link. */
export function renderResults(
  results: readonly StudyResult[],
  o: {
    generatedAt: string;
    command: string;
    figurePath: (r: StudyResult, figure: string) => string;
    /** Study name → Markdown written by people about its outcome (e.g. why it differs from the paper). */
    discussion?: Readonly<Record<string, string>>;
    /** Where the discussion came from (named in the document). */
    discussionFile?: string;
    /** The command that rebuilds the document from the committed snapshots (named in the document). */
    rebuild?: string;
  },
): string {
  const lines: string[] = [
    '# Results',
    '',
    `Written by \`${o.command}\` on ${o.generatedAt} from each study's \`claims.json\`; do not edit by hand.`,
    ...(o.rebuild
      ? [
          `Each study's \`claims.json\` and figures are committed beside this page; rebuild it from the repository with \`${o.rebuild}\`.`,
        ]
      : []),
    'A verdict is computed from the runs: **held**, **did not hold** or **inconclusive**. A study run at its',
    'reduced (`--quick`) scale says so in its heading. Seeds "6 + 8": a study whose kinds of run use different',
    'seeds (η_max searches, then early-curvature runs; or the grid, then follow-up cells that judge again, on',
    'fresh seeds, a comparison the grid left undecided), counted per kind; its section lists them.',
    ...(o.discussionFile
      ? ['', `The **Discussion** under a study is written by people (from \`${o.discussionFile}\`), not computed.`]
      : []),
    '',
    '| study | scale | seeds | claims held | did not hold | inconclusive | run time (runs summed) | finished |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const count = (c: StudyClaims, v: string) => c.claims.filter((x) => x.verdict === v).length;
  for (const r of results) {
    const c = r.claims;
    lines.push(
      `| [${c.study}](#${c.study}) | ${c.quick ? 'reduced (quick)' : 'full'} | ${seedCount(c)} | ${count(c, 'held')} / ${c.claims.length} | ${count(c, 'did not hold')} | ${count(c, 'inconclusive')} | ${formatDuration(runTime(c))} | ${c.finished_at ?? 'unknown'} |`,
    );
  }
  // The share of claims the runs decided (held or did not hold), over every study on the page.
  const total = results.reduce((n, r) => n + r.claims.claims.length, 0);
  const undecided = results.reduce((n, r) => n + count(r.claims, 'inconclusive'), 0);
  if (total > 0)
    lines.push(
      `| **all** | | | ${results.reduce((n, r) => n + count(r.claims, 'held'), 0)} / ${total} | ${results.reduce((n, r) => n + count(r.claims, 'did not hold'), 0)} | ${undecided} | | ${Math.round((100 * (total - undecided)) / total)} % decided |`,
    );
  lines.push(...claimsOnlyLine(results));
  for (const r of results) {
    const c = r.claims;
    lines.push('', `<a id="${c.study}"></a>`, `## ${c.study}: ${c.title}`, '');
    const full =
      r.expectedFullMinutes === undefined
        ? ''
        : ` (the full study: about ${formatDuration(r.expectedFullMinutes * 60)} on 2 cores)`;
    lines.push(`- scale: ${c.quick ? `reduced (\`--quick\`): a smaller subset and fewer steps${full}` : 'full'}`);
    if (c.seeds)
      lines.push(
        `- seeds: ${seedRange(c.seeds)}${
          c.seed_groups
            ? ` (${Object.entries(c.seed_groups)
                .map(([k, g]) => `${kindWords(k)}: ${seedRange(g)}`)
                .join('; ')})`
            : ''
        }`,
      );
    else if (c.deterministic) lines.push('- seeds: none (deterministic: closed forms, no random choice)');
    lines.push(`- command: \`${c.command ?? `edgewise reproduce ${c.study}${c.quick ? ' --quick' : ''}`}\``);
    lines.push(`- machine: ${c.machine ?? 'not recorded'}`);
    if (c.note) lines.push(`- note: ${c.note}`);
    if (c.follow_up) lines.push(`- follow-up (judged at α = ${c.follow_up.alpha}): ${c.follow_up.reason.trim()}`);
    lines.push(
      `- run time: ${formatDuration(runTime(c))} (${c.runs_time_s != null ? 'its runs’ times summed; they ran 1–2 at a time on 2 cores' : 'not recorded: the evaluation’s time'}); evaluated in ${formatDuration(c.elapsed_s)}, finished ${c.finished_at ?? 'not recorded'}`,
      '',
    );
    lines.push('| claim | evidence | verdict |', '|---|---|---|');
    for (const x of c.claims) lines.push(`| ${cell(x.claim)} | ${cell(x.evidence)} | **${x.verdict}** |`);
    const discussion = o.discussion?.[c.study];
    if (discussion) lines.push('', '### Discussion', '', discussion.trim());
    for (const f of r.figures)
      lines.push('', `![${basename(f, '.svg').replace(/^study-/, '')}](${o.figurePath(r, f)})`);
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Reads a discussion file: YAML mapping study names (of `known`, when given) to Markdown text.
 * Errors name the file and the bad key.
 */
export function readDiscussion(file: string, known?: readonly string[]): Record<string, string> {
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${file}: expected a mapping from study names to text`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new Error(`${file}: '${k}' must be text`);
    if (known && !known.includes(k)) throw new Error(`${file}: '${k}' is not a study given (${known.join(', ')})`);
    out[k] = v;
  }
  return out;
}

/**
 * Writes the results document to `outFile`. Each study's claims.json and figures are copied beside
 * it under `<name>/<study>/` (the committed snapshot), replacing what a previous run left there; a
 * snapshot directory given together with another directory of the same study gives way to it.
 */
export function writeResults(
  studyDirs: readonly string[],
  outFile: string,
  command: string,
  now = new Date(),
  discussionFile?: string,
): { file: string; studies: number } {
  const assets = join(dirname(outFile), basename(outFile, '.md'));
  const snapshotOf = (study: string) => join(assets, study);
  const isSnapshot = (r: StudyResult) => resolve(r.dir) === resolve(snapshotOf(r.claims.study));
  const loaded = studyDirs.map(loadStudyResult);
  // A committed snapshot gives way to a fresh output directory of the same study.
  const results = loaded
    .filter(
      (r) => !(isSnapshot(r) && loaded.some((o) => o !== r && o.claims.study === r.claims.study && !isSnapshot(o))),
    )
    .sort((a, b) => a.claims.study.localeCompare(b.claims.study));
  for (let i = 1; i < results.length; i++)
    if (results[i]!.claims.study === results[i - 1]!.claims.study)
      throw new Error(
        `study ${results[i]!.claims.study} is given twice (${results[i - 1]!.dir}, ${results[i]!.dir}): pass one directory per study`,
      );
  const discussion =
    discussionFile === undefined
      ? undefined
      : readDiscussion(
          discussionFile,
          results.map((r) => r.claims.study),
        );
  // Snapshot each fresh study: its claims.json, and its figures in place of the old ones.
  for (const r of results) {
    if (isSnapshot(r)) continue;
    const target = snapshotOf(r.claims.study);
    mkdirSync(target, { recursive: true });
    for (const f of readdirSync(target)) if (/^study-.*\.svg$/.test(f)) rmSync(join(target, f));
    copyFileSync(join(r.dir, 'claims.json'), join(target, 'claims.json'));
  }
  const figurePath = (r: StudyResult, figure: string) => {
    const target = join(snapshotOf(r.claims.study), basename(figure));
    const source = join(r.dir, figure);
    if (resolve(source) !== resolve(target)) {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(source, target);
    }
    return relative(dirname(outFile), target).split('\\').join('/');
  };
  const rel = (f: string) => relative(process.cwd(), f).split('\\').join('/') || '.';
  const md = renderResults(results, {
    generatedAt: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    command,
    figurePath,
    discussion,
    discussionFile: discussionFile === undefined ? undefined : rel(discussionFile),
    rebuild: `edgewise results ${rel(assets)} --out ${rel(outFile)}${discussionFile === undefined ? '' : ` --discussion ${rel(discussionFile)}`}`,
  });
  writeFileAtomic(outFile, md);
  return { file: outFile, studies: results.length };
}
