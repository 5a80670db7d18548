/**
 * The report page: plain HTML with a small inline stylesheet and the figures' SVGs inlined, so
 * index.html is self-contained (the SVG/PNG/CSV files next to it are only extra downloads).
 */
import type { ReportFinal, RunData, SweepData } from './data.ts';
import type { MaxStableLr, SweepPoint } from './sweepFigures.ts';
import { showParam } from './sweepFigures.ts';

/** A rendered figure as the page shows it. */
export interface PageFigure {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  /** Inline SVG markup (ids already made unique on the page). */
  readonly svg: string;
  /** Sibling files to link (relative to index.html). */
  readonly files: readonly string[];
}

/** Escapes text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** A number for a table: 4 significant digits, exponent form when very large or small; '—' for null. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(3).replace(/\.?0+e/, 'e');
  return String(Number(x.toPrecision(4)));
}

/** An accuracy in [0, 1] as a percentage. */
export function fmtAcc(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return x >= 0 && x <= 1 ? `${(100 * x).toFixed(2)} %` : fmt(x);
}

const STYLE = `
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;max-width:780px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.dir{color:#666;font-size:12px;word-break:break-all}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:#888}
.completed{background:#2e7d32}.diverged{background:#c62828}.failed{background:#6a1b9a}.running{background:#1565c0}.missing,.unknown{background:#888}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}table.grid td,table.grid th{border-bottom:1px solid #eee;padding-right:14px}td.num{text-align:right;font-variant-numeric:tabular-nums}
.runs{overflow-x:auto}figure{margin:18px 0}figure svg{max-width:100%;height:auto;display:block}
figcaption{color:#555;font-size:12.5px;margin-top:4px}figcaption a{color:#1565c0;margin-left:6px}
.warn{background:#fff8e1;border-left:3px solid #f9a825;padding:6px 10px;font-size:13px}.warn ul{margin:0;padding-left:18px}
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<p class="dir">Written by edgewise report.</p>
</body>
</html>
`;
}

function statusBadge(status: string): string {
  return `<span class="status ${esc(status.replace(/[^a-z]/g, ''))}">${esc(status)}</span>`;
}

function kvTable(rows: ReadonlyArray<readonly [string, string]>): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function warnings(ws: readonly string[]): string {
  return ws.length === 0 ? '' : `<div class="warn"><ul>${ws.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>`;
}

function figures(figs: readonly PageFigure[]): string {
  return figs
    .map((f) => {
      const links = f.files
        .map((file) => `<a href="${esc(file)}">${esc(file.split('.').pop()!.toUpperCase())}</a>`)
        .join('');
      return `<figure id="${esc(f.id)}">\n${f.svg}\n<figcaption>${esc(f.caption)}${links}</figcaption>\n</figure>`;
    })
    .join('\n');
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The config keys worth a glance, as (label, HTML) rows; absent keys are left out. */
export function configSummary(config: Record<string, unknown> | null, threshold: string | null): [string, string][] {
  const out: [string, string][] = [];
  const sec = (k: string): Record<string, unknown> =>
    isObject(config?.[k]) ? (config![k] as Record<string, unknown>) : {};
  const opt = sec('optimizer');
  if (typeof opt.name === 'string') {
    const name = opt.name;
    const parts = [`<b>${esc(name)}</b>`, `η = ${esc(fmt(opt.lr as number))}`];
    if ((name === 'momentum' || name === 'nesterov') && typeof opt.momentum === 'number')
      parts.push(`μ = ${esc(opt.momentum)}`);
    if (/adam|rmsprop/.test(name)) {
      if (typeof opt.beta1 === 'number' && !name.startsWith('rmsprop')) parts.push(`β1 = ${esc(opt.beta1)}`);
      if (typeof opt.beta2 === 'number') parts.push(`β2 = ${esc(opt.beta2)}`);
    }
    if (opt.batch_size !== undefined) parts.push(`batch ${esc(opt.batch_size)}`);
    if (typeof opt.weight_decay === 'number' && opt.weight_decay > 0)
      parts.push(`weight decay ${esc(opt.weight_decay)}`);
    out.push(['optimizer', parts.join(', ')]);
  }
  if (threshold !== null) out.push(['stability threshold', esc(threshold)]);
  const sch = sec('schedule');
  if (Object.keys(sch).length > 0) {
    const parts = [`warmup ${esc(sch.warmup_steps ?? 0)} steps`, `decay ${esc(sch.decay ?? 'constant')}`];
    out.push(['schedule', parts.join(', ')]);
  }
  const clip = sec('clip');
  if (clip.max_norm !== undefined && clip.max_norm !== null)
    out.push(['gradient clipping', `max norm ${esc(clip.max_norm)}`]);
  const model = sec('model');
  if (typeof model.arch === 'string') {
    const init = isObject(model.init)
      ? `, init ${esc(model.init.scheme)}${model.init.scale !== undefined && model.init.scale !== 1 ? ` ×${esc(model.init.scale)}` : ''}`
      : '';
    const widths = Array.isArray(model.widths) ? ` ${esc(model.widths.join('-'))}` : '';
    const norm = typeof model.norm === 'string' && model.norm !== 'none' ? `, ${esc(model.norm)}` : '';
    out.push([
      'model',
      `${esc(model.arch)}${widths}${model.activation ? `, ${esc(model.activation)}` : ''}${norm}${init}`,
    ]);
  }
  const data = sec('data');
  if (typeof data.name === 'string')
    out.push([
      'data',
      `${esc(data.name)}${data.train_size !== undefined ? `, ${esc(data.train_size)} training examples` : ''}`,
    ]);
  if (typeof config?.loss === 'string') out.push(['loss', esc(config.loss)]);
  const train = sec('train');
  if (train.steps !== undefined) out.push(['steps', esc(train.steps)]);
  if (config?.seed !== undefined) out.push(['seed', esc(config.seed)]);
  const curv = sec('curvature');
  if (curv.every !== undefined)
    out.push(['curvature', `every ${esc(curv.every)} steps, top ${esc(curv.top_k ?? '?')} eigenvalues`]);
  return out;
}

function finalTable(f: ReportFinal): string {
  const rows: [string, string][] = [
    ['train loss', fmt(f.train_loss)],
    ['train accuracy', fmtAcc(f.train_acc)],
    ['test loss', fmt(f.test_loss)],
    ['test accuracy', fmtAcc(f.test_acc)],
    ['sharpness λ1(H)', fmt(f.sharpness)],
  ];
  if (f.precond_sharpness !== null) rows.push(['preconditioned sharpness', fmt(f.precond_sharpness)]);
  if (f.ggn_sharpness !== null) rows.push(['Gauss–Newton λ1', fmt(f.ggn_sharpness)]);
  return kvTable(rows.map(([k, v]) => [k, esc(v)] as const));
}

/** The HTML page of one run. */
export function runPage(
  run: RunData,
  o: {
    threshold: string | null;
    figures: readonly PageFigure[];
    csv: string | null;
    figureWarnings?: readonly string[];
  },
): string {
  const head = `<h1>${esc(run.name)}</h1>
<div class="dir">${esc(run.dir)}</div>
<p>${statusBadge(run.status)} after ${esc(run.steps ?? '?')} steps${run.reason ? ` — ${esc(run.reason)}` : ''}</p>`;
  const cfg = configSummary(run.config, o.threshold);
  const body = [
    head,
    warnings([...run.warnings, ...(o.figureWarnings ?? [])]),
    '<h2>Configuration</h2>',
    cfg.length > 0 ? kvTable(cfg) : '<p>No readable config.json.</p>',
    '<h2>Final metrics</h2>',
    finalTable(run.final),
    '<h2>Figures</h2>',
    o.figures.length > 0 ? figures(o.figures) : '<p>No metrics to plot yet.</p>',
    o.csv !== null ? `<p>Metrics as CSV: <a href="${esc(o.csv)}">${esc(o.csv)}</a></p>` : '',
  ];
  return page(`${run.name} — edgewise report`, body.filter((s) => s !== '').join('\n'));
}

/** The HTML page of a sweep. */
export function sweepPage(
  sweep: SweepData,
  o: {
    points: readonly SweepPoint[];
    stable: readonly MaxStableLr[] | null;
    figures: readonly PageFigure[];
    csv: ReadonlyMap<string, string>;
    figureWarnings?: readonly string[];
  },
): string {
  const counts = new Map<string, number>();
  for (const p of o.points) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
  const head = `<h1>${esc(sweep.name)}</h1>
<div class="dir">${esc(sweep.dir)}</div>
<p>${o.points.length} runs: ${[...counts].map(([s, n]) => `${statusBadge(s)} ${n}`).join(' ')}</p>`;
  const grid =
    sweep.keys.length > 0
      ? kvTable(
          sweep.keys.map(
            (k) => [k, esc([...new Set(sweep.runs.map((r) => showParam(k, r.params[k])))].join(', '))] as const,
          ),
        )
      : '<p>No grid (no sweep.json, and the runs’ configs do not differ).</p>';
  const first = sweep.runs.find((r) => r.run?.config)?.run?.config ?? null;
  const runWarnings = sweep.runs.flatMap((r) => (r.run?.warnings ?? []).map((w) => `${r.name}: ${w}`));
  const stable =
    o.stable === null
      ? ''
      : `<h2>Largest stable learning rate</h2>
<table class="grid"><tr><th>variant</th><th>largest lr that did not diverge</th><th>smallest lr that diverged</th><th>completed</th><th>diverged</th><th>other</th></tr>
${o.stable.map((s) => `<tr><td>${esc(s.variant)}</td><td class="num">${esc(fmt(s.maxStableLr))}</td><td class="num">${esc(fmt(s.minDivergedLr))}</td><td class="num">${s.completed}</td><td class="num">${s.diverged}</td><td class="num">${s.other}</td></tr>`).join('\n')}
</table>`;
  const table = `<h2>Runs</h2>
<div class="runs"><table class="grid"><tr><th>run</th><th>status</th>${sweep.keys.map((k) => `<th>${esc(k)}</th>`).join('')}<th>steps</th><th>train loss</th><th>train acc</th><th>test loss</th><th>test acc</th><th>sharpness</th><th>reason</th></tr>
${sweep.runs
  .map((r) => {
    const f = r.run?.final;
    const csv = o.csv.get(r.name);
    const name = csv !== undefined ? `<a href="${esc(csv)}">${esc(r.name)}</a>` : esc(r.name);
    const num = (v: string) => `<td class="num">${esc(v)}</td>`;
    return `<tr><td>${name}</td><td>${statusBadge(r.run?.status ?? 'missing')}</td>${sweep.keys.map((k) => `<td>${esc(showParam(k, r.params[k]))}</td>`).join('')}${num(String(r.run?.steps ?? '—'))}${num(fmt(f?.train_loss))}${num(fmtAcc(f?.train_acc))}${num(fmt(f?.test_loss))}${num(fmtAcc(f?.test_acc))}${num(fmt(f?.sharpness))}<td>${esc(r.run?.reason ?? '')}</td></tr>`;
  })
  .join('\n')}
</table></div>`;
  const body = [
    head,
    warnings([...sweep.warnings, ...(o.figureWarnings ?? [])]),
    '<h2>Grid</h2>',
    grid,
    first !== null
      ? `<h2>Configuration of the first run</h2>\n<p>The grid keys above vary between runs.</p>\n${kvTable(configSummary(first, null))}`
      : '',
    '<h2>Figures</h2>',
    o.figures.length > 0 ? figures(o.figures) : '<p>No finished runs to plot yet.</p>',
    stable,
    table,
    runWarnings.length > 0
      ? `<details><summary>Run warnings (${runWarnings.length})</summary>${warnings(runWarnings)}</details>`
      : '',
  ];
  return page(`${sweep.name} — edgewise sweep report`, body.filter((s) => s !== '').join('\n'));
}
