/**
 * `edgewise reproduce NAME`: runs a study's sweep (in child processes, several at once,
 * skipping finished runs), evaluates its claims, and writes claims.json plus a report whose
 * first section is the claims table.
 */
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as os from 'node:os';
import { parse as parseYaml } from 'yaml';
import { expandSweep, type SweepRun } from '../experiments/sweep.ts';
import { runSweep } from '../experiments/sweepRunner.ts';
import { readRunSummaryStatus } from '../experiments/sweepStatus.ts';
import { runInChild } from '../experiments/childRun.ts';
import { RunStore } from '../experiments/runStore.ts';
import { readMetrics } from '../experiments/metrics.ts';
import { writeJsonAtomic } from '../experiments/atomicWrite.ts';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { deepMerge } from '../experiments/configPaths.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFile, StudyRun, StudyVariant } from './study.ts';
import { parseStudyFile, StudyFileError } from './schema.ts';
import { checkFollowUpSeeds, FOLLOW_UP, followUpOf, followUpProvenance, isFollowUp } from './followUp.ts';

export const STUDIES_DIR = fileURLToPath(new URL('../../studies/', import.meta.url));

/** Names of the shipped study files. */
export function listStudyFiles(dir = STUDIES_DIR): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => f.slice(0, -5))
        .sort()
    : [];
}

/** Reads studies/NAME.yaml and checks it against its study's schema (src/studies/schema.ts). */
export function loadStudyFile(name: string, dir = STUDIES_DIR): StudyFile {
  const path = join(dir, `${name}.yaml`);
  if (!existsSync(path))
    throw new Error(`unknown study '${name}' (available: ${listStudyFiles(dir).join(', ') || 'none'})`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new StudyFileError(`${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseStudyFile<StudyFile>(raw, path, name);
}

/** The distinct seeds of `runs`, ascending. */
const seedsOf = (runs: readonly StudyRun[]): number[] =>
  [...new Set(runs.map((r) => r.config.train.seed))].sort((a, b) => a - b);

/**
 * The seeds of each kind of run (the `kind` param: a max-lr study's η_max searches 'trial' and
 * early-curvature runs 'curve'; follow-up runs 'follow-up'), when the kinds use different seeds;
 * else nothing. Kinds with the same seeds share a group ('trial+curve').
 */
export function seedGroupsOf(runs: readonly StudyRun[]): { seed_groups?: Record<string, number[]> } {
  const kinds = new Map<string, StudyRun[]>();
  // With follow-up cells, the study's own runs are the group 'grid' and the follow-up's its own.
  const followUp = runs.some(isFollowUp);
  for (const r of runs) {
    const kind = isFollowUp(r)
      ? FOLLOW_UP
      : typeof r.params.kind === 'string'
        ? r.params.kind
        : followUp
          ? 'grid'
          : null;
    if (kind !== null) (kinds.get(kind) ?? kinds.set(kind, []).get(kind)!).push(r);
  }
  // Kinds with the same seeds form one group, keyed 'trial+curve'.
  const bySeeds = new Map<string, { kinds: string[]; seeds: number[] }>();
  for (const [k, rs] of kinds) {
    const seeds = seedsOf(rs);
    const g = bySeeds.get(seeds.join(','));
    if (g) g.kinds.push(k);
    else bySeeds.set(seeds.join(','), { kinds: [k], seeds });
  }
  if (bySeeds.size <= 1) return {};
  return { seed_groups: Object.fromEntries([...bySeeds.values()].map((g) => [g.kinds.join('+'), g.seeds] as const)) };
}

/**
 * The study file with seeds 0..count−1. In a study that sweeps `train.seed` anywhere, every grid
 * (the study's, its variants', the quick ones) sweeps these seeds, also a variant grid that had
 * left the seed at the base's (so that every comparison is paired by seed); a max-lr search
 * (`max_lr.seeds`, also under `quick:`) runs that many seeds; follow-up cells (followUp.ts) are
 * dropped. A study without seeds (closed forms) is returned unchanged.
 */
export function withSeeds(f: StudyFile, count: number): StudyFile {
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`seeds must be an integer ≥ 1 (got ${count})`);
  const seeds = Array.from({ length: count }, (_, i) => i);
  const grids = [f.grid, f.quick?.grid, ...[...(f.variants ?? []), ...(f.quick?.variants ?? [])].map((v) => v.grid)];
  const sweepsSeeds = grids.some((g) => g !== undefined && 'train.seed' in g);
  const grid = (g: Record<string, unknown[]> | undefined) =>
    g !== undefined && (sweepsSeeds || 'train.seed' in g) ? { ...g, 'train.seed': seeds } : g;
  const variants = (vs: StudyVariant[]) => vs.map((v) => ({ ...v, grid: grid(v.grid)! }));
  // A max-lr section (the study's own, or under quick:, merged over it) runs `count` seeds.
  const maxLr = (m: object | undefined) => (m === undefined ? {} : { max_lr: { ...m, seeds: count } });
  type WithMaxLr = { max_lr?: object };
  const q = f.quick as (StudyFile['quick'] & WithMaxLr) | undefined;
  // The follow-up's fresh seeds would collide with 0..count−1: with --seeds it is not run.
  const { follow_up: _dropped, ...rest } = f as StudyFile & { follow_up?: unknown };
  const out: StudyFile & WithMaxLr = {
    ...rest,
    grid: grid(f.grid)!,
    ...(f.variants !== undefined ? { variants: variants(f.variants) } : {}),
    ...maxLr((f as WithMaxLr).max_lr),
    ...(q !== undefined
      ? {
          quick: {
            ...q,
            ...(q.grid !== undefined ? { grid: grid(q.grid)! } : {}),
            ...(q.variants !== undefined ? { variants: variants(q.variants) } : {}),
            ...maxLr(q.max_lr),
          },
        }
      : {}),
  };
  return out;
}

/** The sweep (base + grid) of a study, reduced for --quick. */
export function studySweep(
  f: StudyFile,
  quick: boolean,
): { base: Record<string, unknown>; grid: Record<string, unknown[]> } {
  if (!quick || !f.quick) return { base: f.base, grid: f.grid };
  return { base: deepMerge(f.base, f.quick.base ?? {}), grid: { ...f.grid, ...(f.quick.grid ?? {}) } };
}

/** One sweep of a study: its base × grid, with the variant's name (undefined for the study's own). */
export interface StudySweep {
  readonly variant: string | undefined;
  readonly base: Record<string, unknown>;
  readonly grid: Record<string, unknown[]>;
}

/**
 * A study's sweeps (quick-reduced): its own base × grid, then each variant's (the variant's base
 * merged over the study's, its own grid).
 */
export function studySweeps(f: StudyFile, quick: boolean): StudySweep[] {
  const sweep = studySweep(f, quick);
  const variants = (quick && f.quick?.variants !== undefined ? f.quick.variants : f.variants) ?? [];
  // The follow-up cells (followUp.ts): the study's base with fresh seeds, full version only.
  const fu = followUpOf(f, quick);
  if (fu) checkFollowUpSeeds(f, fu);
  return [
    { variant: undefined, ...sweep },
    ...variants.map((v) => ({ variant: v.name, base: deepMerge(sweep.base, v.base ?? {}), grid: v.grid })),
    ...(fu ? [{ variant: FOLLOW_UP, base: sweep.base, grid: fu.grid }] : []),
  ];
}

/** The union of grids: per key, every value once (compared as JSON), in first-seen order. */
export function unionGrids(grids: readonly Record<string, unknown[]>[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const g of grids)
    for (const [k, vs] of Object.entries(g))
      for (const v of vs) if (!(out[k] ??= []).some((x) => JSON.stringify(x) === JSON.stringify(v))) out[k]!.push(v);
  return out;
}

/**
 * The runs of a study file with variants: base × grid, then each variant's runs (its base merged
 * over the study's, its own grid), named `<variant>_<grid values>`; plus the union of the grids.
 */
export function studyPlan(f: StudyFile, quick: boolean): { runs: PlannedRun[]; grid: Record<string, unknown[]> } {
  const sweeps = studySweeps(f, quick);
  const runs: PlannedRun[] = sweeps.flatMap((s) =>
    expandSweep(
      { base: s.base, grid: s.grid },
      `studies/${f.name}.yaml${s.variant === undefined ? '' : ` (variant ${s.variant})`}`,
    ).map((r) =>
      s.variant === undefined
        ? { name: r.name, params: r.params, config: r.config }
        : { name: `${s.variant}_${r.name}`, params: { variant: s.variant, ...r.params }, config: r.config },
    ),
  );
  return { runs, grid: unionGrids(sweeps.map((s) => s.grid)) };
}

/** Runs the study's sweep through the sweep runner (child processes); returns the finished runs. */
export async function runStudySweep(ctx: StudyContext): Promise<StudyRun[]> {
  if (studySweeps(ctx.file, ctx.quick).length > 1) {
    const plan = studyPlan(ctx.file, ctx.quick);
    return runStudyRuns(ctx, plan.runs, plan.grid);
  }
  const sweep = studySweep(ctx.file, ctx.quick);
  return runStudyGrid(ctx, expandSweep(sweep, `studies/${ctx.file.name}.yaml`), sweep.grid);
}

/** A shard of a study finished while runs of other shards are not: nothing to evaluate yet. */
export class ShardPending extends Error {
  override readonly name = 'ShardPending';
  constructor(
    message: string,
    readonly unfinished: number,
  ) {
    super(message);
  }
}

/** A finished run directory of a study as evaluators read it. */
export function loadStudyRun(name: string, params: Readonly<Record<string, unknown>>, dir: string): StudyRun {
  const store = new RunStore(dir);
  const summary = store.readSummary();
  if (summary === null) throw new Error(`${dir}: no summary.json (the run never started)`);
  return {
    name,
    params,
    dir,
    config: store.readConfig().config,
    summary,
    rows: readMetrics(join(dir, 'metrics.jsonl')).rows,
  };
}

/**
 * Runs `runs` with the sweep runner (src/experiments/sweepRunner.ts: sweep.json, a lock per run,
 * finished runs skipped, a failed run retried once, so several `reproduce` workers may share
 * ctx.out and `edgewise sweep --status` reads it), then loads every run. Runs left unfinished
 * (aborted, or held by a worker that stopped) are an error naming them.
 */
export async function runStudyGrid(
  ctx: StudyContext,
  runs: readonly SweepRun[],
  grid: Record<string, unknown[]>,
): Promise<StudyRun[]> {
  const threads = Math.max(1, Math.floor(os.availableParallelism() / ctx.parallel));
  let done = 0;
  const result = await runSweep({
    runs,
    name: ctx.file.name,
    grid,
    outDir: ctx.out,
    parallel: ctx.parallel,
    log: ctx.log,
    shard: ctx.shard ?? null,
    runOne: async (run, dir, signal) => {
      const summary = await runInChild(run.config, dir, { threads, signal });
      done++;
      ctx.log(`[${done}/${runs.length}] ${run.name}: ${summary.status}${summary.reason ? ` (${summary.reason})` : ''}`);
    },
  });
  const open = result.rows.filter((r) => r.status !== 'completed' && r.status !== 'diverged' && r.status !== 'failed');
  if (open.length === 0 && ctx.shard) {
    // This worker's shard is done; the claims need every run.
    const waiting = runs.filter(
      (r) => !['completed', 'diverged', 'failed'].includes(readRunSummaryStatus(join(ctx.out, r.name)).status),
    );
    if (waiting.length > 0)
      throw new ShardPending(
        `shard ${ctx.shard.index}/${ctx.shard.count} done; ${waiting.length} of ${runs.length} runs of other shards unfinished (edgewise reproduce ${ctx.file.name} --status); run reproduce without --shard to evaluate once all are done`,
        waiting.length,
      );
  }
  if (open.length > 0)
    throw new Error(
      `${ctx.out}: ${open.length} runs unfinished (${open
        .slice(0, 3)
        .map((r) => `${r.name}: ${r.error ?? r.status}`)
        .join('; ')}${open.length > 3 ? '; …' : ''})`,
    );
  return runs.map((r) => loadStudyRun(r.name, r.params, join(ctx.out, r.name)));
}

/** One run of a study whose run list is not a plain grid (e.g. learning rates in multiples of 2/λ0). */
export interface PlannedRun {
  name: string;
  params: Record<string, unknown>;
  /** A partial or resolved config (resolved with the defaults). */
  config: Record<string, unknown> | Config;
}

/**
 * Runs an explicit list of runs through the sweep runner (like runStudySweep); sweep.json gets
 * `grid` (the keys of `params`, for the report) and returns the finished runs in list order.
 */
export async function runStudyRuns(
  ctx: StudyContext,
  planned: readonly PlannedRun[],
  grid: Record<string, unknown[]>,
): Promise<StudyRun[]> {
  return runStudyGrid(
    ctx,
    planned.map((r, index) => ({ index, name: r.name, params: r.params, config: resolveConfig(r.config) })),
    grid,
  );
}

/** Renders a study's own figures into the report directory; returns the HTML section (empty if none). */
export async function studyFiguresHtml(
  def: StudyDefinition,
  runs: StudyRun[],
  ctx: StudyContext,
  reportDir: string,
): Promise<string> {
  if (!def.figures) return '';
  const figs = await def.figures(runs, ctx);
  if (figs.length === 0) return '';
  const { specToSvg, namespaceSvgIds } = await import('../report/render.ts');
  const parts: string[] = [];
  for (const f of figs) {
    try {
      const svg = await specToSvg(f.spec as never);
      writeFileSync(join(reportDir, `study-${f.id}.svg`), svg);
      parts.push(
        `<figure id="study-${esc(f.id)}"><h3>${esc(f.title)}</h3>${namespaceSvgIds(svg, `study-${f.id}`)}<figcaption>${esc(f.caption)}</figcaption></figure>`,
      );
    } catch (e) {
      parts.push(
        `<p class="warning">figure ${esc(f.id)} could not be rendered: ${esc((e as Error).message.split('\n')[0] ?? '')}</p>`,
      );
    }
  }
  return `<section class="study-figures"><h2>${esc(ctx.file.title)}: study figures</h2>\n${parts.join('\n')}</section>`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The claims table as an HTML section. */
export function claimsHtml(title: string, claims: readonly ClaimResult[], note: string): string {
  const rows = claims
    .map(
      (c) =>
        `<tr class="${c.verdict.replace(/ /g, '-')}"><td>${esc(c.claim)}</td><td>${esc(c.evidence)}</td><td class="verdict">${c.verdict}</td></tr>`,
    )
    .join('\n');
  return `<section class="claims"><h2>${esc(title)}: claims</h2><p>${esc(note)}</p>
<style>.claims table{border-collapse:collapse;width:100%}.claims td,.claims th{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}
.claims .held .verdict{color:#1a7f37;font-weight:bold}.claims .did-not-hold .verdict{color:#b42318;font-weight:bold}.claims .inconclusive .verdict{color:#8a6d00;font-weight:bold}</style>
<table><thead><tr><th>claim</th><th>measured evidence</th><th>verdict</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
}

/** The command line (the report renders in a child `edgewise report`; studies sit beside cli/). */
const EDGEWISE_BIN = fileURLToPath(new URL('../../bin/edgewise.js', import.meta.url));

/**
 * The sweep report of `dir` (report/index.html). Rendered in a child process (`edgewise report`),
 * since the PNG rasterizer is native code that can abort the whole process on some figures; if
 * that child fails, the report is written again here without PNGs (SVG figures only).
 */
export async function writeReportSafely(dir: string, log: (l: string) => void): Promise<string> {
  const { spawn } = await import('node:child_process');
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [EDGEWISE_BIN, 'report', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      stderr = (stderr + c).slice(-4000);
    });
    child.on('error', () => resolve(-1));
    child.on('exit', (c) => resolve(c));
  });
  const html = join(dir, 'report', 'index.html');
  if (code === 0 && existsSync(html)) return html;
  log(
    `report: the renderer failed (exit ${String(code)}: ${
      stderr
        .trim()
        .split('\n')
        .find((l) => /panicked|Error/.test(l)) ??
      stderr.trim().split('\n').pop() ??
      ''
    }); writing it without PNGs`,
  );
  const { writeReport } = await import('../report/report.ts');
  return (await writeReport(dir, { png: false })).html;
}

export interface StudyOutcome {
  claims: ClaimResult[];
  runs: StudyRun[];
  report: string | null;
  elapsed_s: number;
}

/**
 * The seconds its runs took, summed over runs (each run's own elapsed_s; null when none has one):
 * the study's compute time, also when this evaluation reused runs computed earlier.
 */
export function runsTime(runs: readonly Pick<StudyRun, 'summary'>[]): number | null {
  const t = runs
    .map((r) => r.summary.elapsed_s)
    .filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return t.length === 0 ? null : t.reduce((a, x) => a + x, 0);
}

/**
 * Runs a study end to end into `out`. With `shard` (grid studies only: their runs go through the
 * sweep runner) this worker runs one shard; the claims are evaluated by whichever worker finds
 * every run finished, else reproduce rejects with ShardPending.
 */
export async function reproduce(
  def: StudyDefinition,
  o: {
    quick: boolean;
    out: string;
    parallel?: number;
    log?: (l: string) => void;
    report?: boolean;
    shard?: { index: number; count: number } | null;
    /** Run seeds 0..seeds−1 instead of the study's own (see `withSeeds`). */
    seeds?: number;
  },
): Promise<StudyOutcome> {
  const t0 = performance.now();
  const file = o.seeds === undefined ? loadStudyFile(def.name) : withSeeds(loadStudyFile(def.name), o.seeds);
  if (o.shard && def.execute)
    throw new Error(
      `study ${def.name} plans its runs itself (searches, λ0 measurements); --shard applies to grid studies only`,
    );
  const tolerances = { ...file.tolerances, ...(o.quick ? (file.quick_tolerances ?? {}) : {}) };
  const ctx: StudyContext = {
    quick: o.quick,
    tolerances,
    file,
    out: o.out,
    log: o.log ?? (() => {}),
    parallel: o.parallel ?? os.availableParallelism(),
    shard: o.shard ?? null,
  };
  const runs = def.execute ? await def.execute(ctx) : await runStudySweep(ctx);
  const claims = await def.evaluate(runs, ctx);
  const elapsed = (performance.now() - t0) / 1000;
  const provenance = {
    finished_at: new Date().toISOString(),
    command: `edgewise reproduce ${def.name}${o.quick ? ' --quick' : ''}${o.seeds !== undefined ? ` --seeds ${o.seeds}` : ''}`,
    machine: `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.arch()}, Node ${process.versions.node}`,
    ...(def.deterministic ? { deterministic: true } : { seeds: seedsOf(runs), ...seedGroupsOf(runs) }),
    runs_time_s: runsTime(runs),
    ...followUpProvenance(file, o.quick),
  };
  writeJsonAtomic(join(o.out, 'claims.json'), {
    study: def.name,
    title: file.title,
    quick: o.quick,
    tolerances,
    elapsed_s: elapsed,
    ...provenance,
    claims,
  });
  let report: string | null = null;
  if (o.report !== false) {
    report = await writeReportSafely(o.out, ctx.log);
    const html = readFileSync(report, 'utf8');
    const note = `${o.quick ? 'Quick version' : 'Full version'}; ${runs.length} runs; ${elapsed.toFixed(0)} s on ${os.availableParallelism()} cores (expected: ${o.quick ? file.expected_minutes.quick : file.expected_minutes.full} min on 2 cores).`;
    const section = claimsHtml(file.title, claims, note) + (await studyFiguresHtml(def, runs, ctx, dirname(report)));
    const at = html.search(/<body[^>]*>/);
    const injected = at >= 0 ? html.replace(/<body[^>]*>/, (m) => `${m}\n${section}`) : section + html;
    writeFileSync(report, injected);
  }
  return { claims, runs, report, elapsed_s: elapsed };
}
