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
import { expandSweep } from '../experiments/sweep.ts';
import { EDGEWISE_BIN, runInChild } from '../experiments/childRun.ts';
import { RunStore } from '../experiments/runStore.ts';
import { readMetrics } from '../experiments/metrics.ts';
import { writeJsonAtomic } from '../experiments/atomicWrite.ts';
import { resolveConfig, type Config } from '../experiments/config.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFile, StudyRun } from './study.ts';

export const STUDIES_DIR = fileURLToPath(new URL('../../studies/', import.meta.url));

/** Names of the shipped study files. */
export function listStudyFiles(dir = STUDIES_DIR): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort() : [];
}

/** Reads and checks studies/NAME.yaml. */
export function loadStudyFile(name: string, dir = STUDIES_DIR): StudyFile {
  const path = join(dir, `${name}.yaml`);
  if (!existsSync(path)) throw new Error(`unknown study '${name}' (available: ${listStudyFiles(dir).join(', ') || 'none'})`);
  const f = parseYaml(readFileSync(path, 'utf8')) as StudyFile;
  for (const key of ['title', 'expected_minutes', 'base', 'grid', 'tolerances'] as const) {
    if (f?.[key] === undefined) throw new Error(`${path}: missing '${key}'`);
  }
  return { ...f, name };
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
      ? merge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** The sweep (base + grid) of a study, reduced for --quick. */
export function studySweep(f: StudyFile, quick: boolean): { base: Record<string, unknown>; grid: Record<string, unknown[]> } {
  if (!quick || !f.quick) return { base: f.base, grid: f.grid };
  return { base: merge(f.base, f.quick.base ?? {}), grid: { ...f.grid, ...(f.quick.grid ?? {}) } };
}

/** Runs up to `limit` tasks at once. */
export async function pool<T, R>(items: readonly T[], limit: number, task: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * The runs of a study file with variants: base × grid, then each variant's runs (its base merged
 * over the study's, its own grid), named `<variant>_<grid values>`; plus the union of the grids.
 */
export function studyPlan(f: StudyFile, quick: boolean): { runs: PlannedRun[]; grid: Record<string, unknown[]> } {
  const sweep = studySweep(f, quick);
  const variants = (quick && f.quick?.variants !== undefined ? f.quick.variants : f.variants) ?? [];
  const runs: PlannedRun[] = expandSweep(sweep, `studies/${f.name}.yaml`).map((r) => ({ name: r.name, params: r.params, config: r.config }));
  const grid: Record<string, unknown[]> = {};
  const addGrid = (g: Record<string, unknown[]>) => {
    for (const [k, vs] of Object.entries(g)) for (const v of vs) if (!(grid[k] ??= []).some((x) => JSON.stringify(x) === JSON.stringify(v))) grid[k]!.push(v);
  };
  addGrid(sweep.grid);
  for (const v of variants) {
    const vr = expandSweep({ base: merge(sweep.base, v.base ?? {}), grid: v.grid }, `studies/${f.name}.yaml (variant ${v.name})`);
    addGrid(v.grid);
    for (const r of vr) runs.push({ name: `${v.name}_${r.name}`, params: { variant: v.name, ...r.params }, config: r.config });
  }
  return { runs, grid };
}

/** Runs the study's sweep in child processes; returns the finished runs. */
export async function runStudySweep(ctx: StudyContext): Promise<StudyRun[]> {
  if ((ctx.quick && ctx.file.quick?.variants !== undefined ? ctx.file.quick.variants : ctx.file.variants)?.length) {
    const plan = studyPlan(ctx.file, ctx.quick);
    return runStudyRuns(ctx, plan.runs, plan.grid);
  }
  const sweep = studySweep(ctx.file, ctx.quick);
  const runs = expandSweep(sweep, `studies/${ctx.file.name}.yaml`);
  writeJsonAtomic(join(ctx.out, 'sweep.json'), {
    name: ctx.file.name, grid: sweep.grid, runs: runs.map((r) => ({ index: r.index, name: r.name, params: r.params })),
  });
  const threads = Math.max(1, Math.floor(os.availableParallelism() / ctx.parallel));
  let done = 0;
  return pool(runs, ctx.parallel, async (r) => {
    const dir = join(ctx.out, r.name);
    const summary = await runInChild(r.config, dir, { threads });
    done++;
    ctx.log(`[${done}/${runs.length}] ${r.name}: ${summary.status}${summary.reason ? ` (${summary.reason})` : ''}`);
    return { name: r.name, params: r.params, dir, config: new RunStore(dir).readConfig().config, summary, rows: readMetrics(join(dir, 'metrics.jsonl')).rows };
  });
}

/** One run of a study whose run list is not a plain grid (e.g. learning rates in multiples of 2/λ0). */
export interface PlannedRun {
  name: string;
  params: Record<string, unknown>;
  /** A partial or resolved config (resolved with the defaults). */
  config: Record<string, unknown> | Config;
}

/**
 * Runs an explicit list of runs in child processes (like runStudySweep); writes sweep.json with
 * `grid` (the keys of `params`, for the report) and returns the finished runs in list order.
 */
export async function runStudyRuns(ctx: StudyContext, planned: readonly PlannedRun[], grid: Record<string, unknown[]>): Promise<StudyRun[]> {
  writeJsonAtomic(join(ctx.out, 'sweep.json'), {
    name: ctx.file.name, grid, runs: planned.map((r, index) => ({ index, name: r.name, params: r.params })),
  });
  const threads = Math.max(1, Math.floor(os.availableParallelism() / ctx.parallel));
  let done = 0;
  return pool(planned, ctx.parallel, async (r) => {
    const dir = join(ctx.out, r.name);
    const summary = await runInChild(resolveConfig(r.config), dir, { threads });
    done++;
    ctx.log(`[${done}/${planned.length}] ${r.name}: ${summary.status}${summary.reason ? ` (${summary.reason})` : ''}`);
    return { name: r.name, params: r.params, dir, config: new RunStore(dir).readConfig().config, summary, rows: readMetrics(join(dir, 'metrics.jsonl')).rows };
  });
}

/** Renders a study's own figures into the report directory; returns the HTML section (empty if none). */
export async function studyFiguresHtml(def: StudyDefinition, runs: StudyRun[], ctx: StudyContext, reportDir: string): Promise<string> {
  if (!def.figures) return '';
  const figs = await def.figures(runs, ctx);
  if (figs.length === 0) return '';
  const { specToSvg, namespaceSvgIds } = await import('../report/render.ts');
  const parts: string[] = [];
  for (const f of figs) {
    try {
      const svg = await specToSvg(f.spec as never);
      writeFileSync(join(reportDir, `study-${f.id}.svg`), svg);
      parts.push(`<figure id="study-${esc(f.id)}"><h3>${esc(f.title)}</h3>${namespaceSvgIds(svg, `study-${f.id}`)}<figcaption>${esc(f.caption)}</figcaption></figure>`);
    } catch (e) {
      parts.push(`<p class="warning">figure ${esc(f.id)} could not be rendered: ${esc((e as Error).message.split('\n')[0] ?? '')}</p>`);
    }
  }
  return `<section class="study-figures"><h2>${esc(ctx.file.title)}: study figures</h2>\n${parts.join('\n')}</section>`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The claims table as an HTML section. */
export function claimsHtml(title: string, claims: readonly ClaimResult[], note: string): string {
  const rows = claims.map((c) => `<tr class="${c.verdict.replace(/ /g, '-')}"><td>${esc(c.claim)}</td><td>${esc(c.evidence)}</td><td class="verdict">${c.verdict}</td></tr>`).join('\n');
  return `<section class="claims"><h2>${esc(title)}: claims</h2><p>${esc(note)}</p>
<style>.claims table{border-collapse:collapse;width:100%}.claims td,.claims th{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}
.claims .held .verdict{color:#1a7f37;font-weight:bold}.claims .did-not-hold .verdict{color:#b42318;font-weight:bold}.claims .inconclusive .verdict{color:#8a6d00;font-weight:bold}</style>
<table><thead><tr><th>claim</th><th>measured evidence</th><th>verdict</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
}

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
    child.stderr.on('data', (c: string) => { stderr = (stderr + c).slice(-4000); });
    child.on('error', () => resolve(-1));
    child.on('exit', (c) => resolve(c));
  });
  const html = join(dir, 'report', 'index.html');
  if (code === 0 && existsSync(html)) return html;
  log(`report: the renderer failed (exit ${String(code)}: ${stderr.trim().split('\n').find((l) => /panicked|Error/.test(l)) ?? stderr.trim().split('\n').pop() ?? ''}); writing it without PNGs`);
  const { writeReport } = await import('../report/report.ts');
  return (await writeReport(dir, { png: false })).html;
}

export interface StudyOutcome {
  claims: ClaimResult[];
  runs: StudyRun[];
  report: string | null;
  elapsed_s: number;
}

/** Runs a study end to end into `out`. */
export async function reproduce(def: StudyDefinition, o: { quick: boolean; out: string; parallel?: number; log?: (l: string) => void; report?: boolean }): Promise<StudyOutcome> {
  const t0 = performance.now();
  const file = loadStudyFile(def.name);
  const tolerances = { ...file.tolerances, ...(o.quick ? file.quick_tolerances ?? {} : {}) };
  const ctx: StudyContext = { quick: o.quick, tolerances, file, out: o.out, log: o.log ?? (() => {}), parallel: o.parallel ?? os.availableParallelism() };
  const runs = def.execute ? await def.execute(ctx) : await runStudySweep(ctx);
  const claims = await def.evaluate(runs, ctx);
  const elapsed = (performance.now() - t0) / 1000;
  const provenance = {
    finished_at: new Date().toISOString(),
    command: `edgewise reproduce ${def.name}${o.quick ? ' --quick' : ''}`,
    machine: `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.arch()}, Node ${process.versions.node}`,
    seeds: [...new Set(runs.map((r) => r.config.train.seed))].sort((a, b) => a - b),
  };
  writeJsonAtomic(join(o.out, 'claims.json'), { study: def.name, title: file.title, quick: o.quick, tolerances, elapsed_s: elapsed, ...provenance, claims });
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
