/**
 * `writeReport(dir)`: a static report of a run or a sweep directory, written to `<dir>/report/`:
 *   index.html          self-contained page (inline SVG figures, config, status, final metrics)
 *   <figure>.svg/.png   each figure (PNG at `pngScale`× the SVG size)
 *   metrics.csv         a run's metrics (sweep: metrics-<run>.csv per run, and runs.csv)
 * A run that is running, diverged, killed mid-write or missing curvature files gives a report
 * with the figures its data supports; only a directory that is neither a run nor a sweep throws.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../experiments/atomicWrite.ts';
import { metricsToCsv } from '../experiments/csv.ts';
import {
  detectKind,
  loadRun,
  loadSweep,
  runThresholdQuantity,
  thresholdCoefficient,
  type RunData,
  type SweepData,
} from './data.ts';
import { describeThreshold, runFigures, seriesOf, thresholdSeries, type Figure } from './figures.ts';
import { runPage, sweepPage, type PageFigure } from './html.ts';
import { namespaceSvgIds, specToSvg, svgToPng } from './render.ts';
import {
  finalSharpnessVsLrFigure,
  LR_KEY,
  maxStableLr,
  maxStableLrFigure,
  sharpnessCurvesFigure,
  sweepPoints,
  testAccVsLrFigure,
  type SweepCurve,
  type SweepPoint,
} from './sweepFigures.ts';

export interface ReportOptions {
  /** Output directory (default `<dir>/report`). */
  readonly outDir?: string;
  /** Write a PNG next to each SVG (default true). */
  readonly png?: boolean;
  /** PNG pixels per SVG pixel (default 2). */
  readonly pngScale?: number;
  /** Figure size in CSS pixels (default 720 × 300). */
  readonly width?: number;
  readonly height?: number;
  /** Log y for the loss figure: true, false or 'auto' (default: log when the loss spans > 10×). */
  readonly logLoss?: boolean | 'auto';
  /** Slice snapshots to plot, evenly spaced (default 3). */
  readonly maxSliceFigures?: number;
}

export interface ReportResult {
  readonly kind: 'run' | 'sweep';
  /** Path of index.html. */
  readonly html: string;
  /** Paths of the figure files written (.svg, and .png unless png: false), in page order. */
  readonly figures: string[];
  /** Paths of the CSV files written. */
  readonly csv: string[];
  /** Problems found in the inputs (also shown on the page). */
  readonly warnings: string[];
}

/** File extensions this module writes at the top of the output directory (stale ones are removed). */
const OWN_FILES = /\.(svg|png|csv|html)$/;

interface Rendered {
  page: PageFigure[];
  files: string[];
  warnings: string[];
}

/** Renders figures to SVG (+ PNG) files in `out`; a figure that fails to render becomes a warning. */
async function renderFigures(figs: readonly Figure[], out: string, o: ReportOptions): Promise<Rendered> {
  const r: Rendered = { page: [], files: [], warnings: [] };
  for (const f of figs) {
    let svg: string;
    try {
      svg = await specToSvg(f.spec);
    } catch (e) {
      r.warnings.push(`figure ${f.id} could not be rendered: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const names = [`${f.id}.svg`];
    writeFileAtomic(join(out, `${f.id}.svg`), svg);
    if (o.png ?? true) {
      try {
        writeFileAtomic(join(out, `${f.id}.png`), svgToPng(svg, { scale: o.pngScale ?? 2 }));
        names.push(`${f.id}.png`);
      } catch (e) {
        r.warnings.push(`figure ${f.id}: PNG failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    r.files.push(...names.map((n) => join(out, n)));
    r.page.push({
      id: f.id,
      title: f.title,
      caption: f.caption,
      svg: namespaceSvgIds(svg, `fig-${f.id}`),
      files: names,
    });
  }
  return r;
}

/** Removes files this module wrote earlier that the new report does not have (only in our own report dir). */
function removeStale(out: string, keep: readonly string[]): void {
  const kept = new Set(keep.map((p) => resolve(p)));
  for (const name of readdirSync(out)) {
    const p = resolve(out, name);
    if (OWN_FILES.test(name) && !kept.has(p)) rmSync(p, { force: true });
  }
}

function optimizerSubtitle(run: RunData): string | undefined {
  const opt = run.config?.optimizer as Record<string, unknown> | undefined;
  if (opt === undefined || typeof opt.name !== 'string') return run.name;
  return `${run.name} · ${opt.name}, η = ${String(opt.lr)}`;
}

async function writeRunReport(run: RunData, out: string, o: ReportOptions, defaultOut: boolean): Promise<ReportResult> {
  const figs = runFigures(run, {
    width: o.width,
    height: o.height,
    subtitle: optimizerSubtitle(run),
    logLoss: o.logLoss,
    maxSliceFigures: o.maxSliceFigures,
  });
  const r = await renderFigures(figs, out, o);
  const csvPath = join(out, 'metrics.csv');
  let csv: string | null = null;
  if (run.rows.length > 0) {
    writeFileAtomic(csvPath, metricsToCsv(run.rows));
    csv = 'metrics.csv';
  }
  const html = join(out, 'index.html');
  writeFileAtomic(
    html,
    runPage(run, { threshold: describeThreshold(run), figures: r.page, csv, figureWarnings: r.warnings }),
  );
  const csvFiles = csv !== null ? [csvPath] : [];
  if (defaultOut) removeStale(out, [html, ...r.files, ...csvFiles]);
  return { kind: 'run', html, figures: r.files, csv: csvFiles, warnings: [...run.warnings, ...r.warnings] };
}

/** The runs' sharpness curves (λ1(H), or λ1(P⁻¹H) when `precond`) with their thresholds. */
function sweepCurves(sweep: SweepData, points: readonly SweepPoint[], precond: boolean): SweepCurve[] {
  const field = precond ? 'precond_sharpness' : 'sharpness';
  const quantity = precond ? 'preconditioned_sharpness' : 'sharpness';
  const curves: SweepCurve[] = [];
  sweep.runs.forEach((r, i) => {
    if (r.run === null) return;
    const pts = seriesOf(r.run.rows, field);
    if (pts.length === 0) return;
    let threshold =
      runThresholdQuantity(r.run.rows, r.run.config) === quantity
        ? thresholdSeries(r.run.rows, quantity, thresholdCoefficient(r.run.rows, r.run.config, quantity))
        : [];
    threshold = threshold.filter((p) => p.x >= pts[0].x && p.x <= pts[pts.length - 1].x);
    curves.push({ label: points[i].label, points: pts, threshold });
  });
  return curves;
}

/** Whether the curves should be colored in sequence: one grid key, all its values numbers. */
function sequentialGrid(sweep: SweepData): boolean {
  return sweep.keys.length === 1 && sweep.runs.every((r) => typeof r.params[sweep.keys[0]] === 'number');
}

async function writeSweepReport(
  sweep: SweepData,
  out: string,
  o: ReportOptions,
  defaultOut: boolean,
): Promise<ReportResult> {
  const points = sweepPoints(sweep);
  const size = { width: o.width, height: o.height };
  const lrs = new Set(points.map((p) => p.lr).filter((x) => x !== null));
  const variesLr = lrs.size > 1 || sweep.keys.includes(LR_KEY);
  const figs: Figure[] = [];
  const add = (id: string, title: string, caption: string, spec: Figure['spec'] | null) => {
    if (spec !== null) figs.push({ id, title, caption, spec });
  };
  // Order the runs by the single numeric grid value, so the color scale reads as a sequence.
  const seq = sequentialGrid(sweep);
  const order = (cs: SweepCurve[]): SweepCurve[] => {
    if (!seq) return cs;
    const k = sweep.keys[0];
    const val = new Map(sweep.runs.map((r, i) => [points[i].label, r.params[k] as number]));
    return [...cs].sort((a, b) => (val.get(a.label) ?? 0) - (val.get(b.label) ?? 0));
  };
  if (variesLr) {
    add(
      'final-sharpness-vs-lr',
      'Final sharpness vs learning rate',
      'Sharpness at the end of each run against its learning rate; dashed: y = 2/η (and the runs’ own thresholds c/η). Runs at the edge of stability lie on the curve.',
      finalSharpnessVsLrFigure(points, size),
    );
    if (points.some((p) => p.finalPrecondSharpness !== null)) {
      add(
        'final-precond-sharpness-vs-lr',
        'Final preconditioned sharpness vs learning rate',
        'λ1(P⁻¹H) at the end of each adaptive run; dashed: the runs’ thresholds c/η (38/η for Adam with β1 = 0.9).',
        finalSharpnessVsLrFigure(points, { ...size, quantity: 'preconditioned_sharpness' }),
      );
    }
    add(
      'test-acc-vs-lr',
      'Final test accuracy vs learning rate',
      'Test accuracy at the end of each run; one line per variant.',
      testAccVsLrFigure(points, size),
    );
  }
  add(
    'sharpness-curves',
    'Sharpness of every run',
    'Each run’s sharpness over training, colored by its grid values; dashed: its threshold.',
    sharpnessCurvesFigure(order(sweepCurves(sweep, points, false)), { ...size, sequential: seq }),
  );
  const pc = order(sweepCurves(sweep, points, true));
  if (pc.length > 0)
    add(
      'precond-sharpness-curves',
      'Preconditioned sharpness of every run',
      'λ1(P⁻¹H) of the adaptive runs; dashed: their thresholds.',
      sharpnessCurvesFigure(pc, { ...size, quantity: 'preconditioned_sharpness', sequential: seq }),
    );
  const stable = variesLr ? maxStableLr(points) : null;
  if (variesLr)
    add(
      'max-stable-lr',
      'Largest stable learning rate',
      'Per variant (the runs’ non-lr grid values): the largest learning rate whose run completed without diverging, and the smallest that diverged.',
      maxStableLrFigure(points, size),
    );

  const r = await renderFigures(figs, out, o);
  const csv = new Map<string, string>();
  const csvFiles: string[] = [];
  for (const run of sweep.runs) {
    if (run.run === null || run.run.rows.length === 0) continue;
    const name = `metrics-${run.name}.csv`;
    writeFileAtomic(join(out, name), metricsToCsv(run.run.rows));
    csv.set(run.name, name);
    csvFiles.push(join(out, name));
  }
  const table = sweep.runs.map((run, i) => ({
    name: run.name,
    status: points[i].status,
    ...Object.fromEntries(sweep.keys.map((k) => [k, run.params[k] ?? null])),
    steps: run.run?.steps ?? null,
    ...(run.run?.final ?? {}),
    reason: run.run?.reason ?? null,
  }));
  writeFileAtomic(join(out, 'runs.csv'), metricsToCsv(table));
  csvFiles.push(join(out, 'runs.csv'));
  const html = join(out, 'index.html');
  writeFileAtomic(html, sweepPage(sweep, { points, stable, figures: r.page, csv, figureWarnings: r.warnings }));
  if (defaultOut) removeStale(out, [html, ...r.files, ...csvFiles]);
  const warnings = [
    ...sweep.warnings,
    ...r.warnings,
    ...sweep.runs.flatMap((s) => (s.run?.warnings ?? []).map((w) => `${s.name}: ${w}`)),
  ];
  return { kind: 'sweep', html, figures: r.files, csv: csvFiles, warnings };
}

/**
 * Writes the report of a run or sweep directory (see the module comment) and returns the paths
 * written. Throws only when `dir` is neither a run (metrics.jsonl or summary.json) nor a sweep
 * (sweep.json or run sub-directories), or when the output cannot be written.
 */
export async function writeReport(dir: string, opts: ReportOptions = {}): Promise<ReportResult> {
  const kind = detectKind(dir);
  if (kind === null) {
    const why = existsSync(dir)
      ? 'has no metrics.jsonl or summary.json, no sweep.json and no run sub-directories'
      : 'does not exist';
    throw new Error(`${dir}: not a run or sweep directory (${why})`);
  }
  const out = opts.outDir ?? join(dir, 'report');
  mkdirSync(out, { recursive: true });
  const defaultOut = opts.outDir === undefined;
  return kind === 'run'
    ? writeRunReport(loadRun(dir), out, opts, defaultOut)
    : writeSweepReport(loadSweep(dir), out, opts, defaultOut);
}
