/**
 * One run: headline numbers, the sharpness against its stability threshold, and the other
 * training curves, updated live as metrics.jsonl grows.
 */
import type {
  DensityResponse,
  MetricRowView,
  RowsEvent,
  RunEntry,
  RunStatusName,
  SlicesResponse,
  ThresholdInfo,
} from '../../src/server/types.ts';
import { api, runUrl, subscribe } from './api.ts';
import { Chart, GGN_COLOR, PALETTE, SHARPNESS_COLOR, THRESHOLD_COLOR, type ChartData } from './charts.ts';
import { axisToggles, card, stat, statusBadge, type ViewHandle } from './components.ts';
import { h } from './dom.ts';
import { fmt, pct } from './format.ts';
import { formatHash, type Route } from './state.ts';

type Row = MetricRowView;
const TRAIN = PALETTE[0];
const TEST = PALETTE[1];

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The x column: steps, or "time" η·t = Σ η over the updates before each row. */
export function xColumn(rows: readonly Row[], mode: 'steps' | 'time'): number[] {
  if (mode === 'steps') return rows.map((r) => r.step);
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < rows.length; i++) {
    if (i > 0) t += (num(rows[i - 1].lr) ?? 0) * (rows[i].step - rows[i - 1].step);
    out.push(t);
  }
  return out;
}

interface SeriesDef {
  label: string;
  color: string;
  dash?: number[];
  get: (r: Row) => number | null;
}

interface ChartDef {
  key: string;
  title: string;
  note: string;
  yLabel?: string;
  wide?: boolean;
  linearOnly?: boolean;
  yRange?: [number, number];
  series: SeriesDef[];
}

/** Threshold at a row: the logged one, else coefficient/η at the row's lr. */
function thresholdAt(r: Row, t: ThresholdInfo | null): number | null {
  const logged = num(r.threshold);
  if (logged !== null) return logged;
  const lr = num(r.lr);
  return t !== null && lr !== null && lr > 0 ? t.coefficient / lr : null;
}

function chartDefs(rows: readonly Row[], t: ThresholdInfo | null): ChartDef[] {
  const pre = t?.quantity === 'preconditioned_sharpness';
  const label = t?.label ?? '2/η';
  const sharpKey = pre ? 'precond_sharpness' : 'sharpness';
  const sharpLabel = pre ? 'λ₁(P⁻¹H)' : 'λ₁';
  const topK = rows.reduce((k, r) => Math.max(k, Array.isArray(r.eigs) ? r.eigs.length : 0), 0);
  const hasGgn = !pre && rows.some((r) => num(r.ggn_sharpness) !== null);
  const threshold: SeriesDef = { label, color: THRESHOLD_COLOR, dash: [6, 4], get: (r) => thresholdAt(r, t) };
  const defs: ChartDef[] = [
    {
      key: 'sharpness',
      title: pre ? 'Preconditioned sharpness vs. stability threshold' : 'Sharpness vs. stability threshold',
      note: pre
        ? `Adam is stable on a quadratic while λ₁(P⁻¹H) < ${label}; at the edge of stability it hovers there.`
        : `GD is stable on a quadratic while λ₁ < ${label}; at the edge of stability λ₁ rises to ${label} and hovers there.`,
      wide: true,
      series: [
        { label: sharpLabel, color: SHARPNESS_COLOR, get: (r) => num(r[sharpKey]) },
        // λ₁ of the Gauss–Newton matrix, where the run measured it (curvature.matrix: ggn | both).
        ...(hasGgn ? [{ label: 'λ₁(G) Gauss–Newton', color: GGN_COLOR, get: (r: Row) => num(r.ggn_sharpness) }] : []),
        threshold,
      ],
    },
    {
      key: 'loss',
      title: 'Loss',
      note: 'Non-monotone at the edge of stability: spikes come with λ₁ crossing the threshold.',
      series: [
        { label: 'train', color: TRAIN, get: (r) => num(r.train_loss) },
        { label: 'test', color: TEST, get: (r) => num(r.test_loss) },
      ],
    },
    {
      key: 'accuracy',
      title: 'Accuracy',
      note: 'Fraction correct.',
      linearOnly: true,
      series: [
        { label: 'train', color: TRAIN, get: (r) => num(r.train_acc) },
        { label: 'test', color: TEST, get: (r) => num(r.test_acc) },
      ],
    },
    {
      key: 'ratio',
      title: 'Distance to the edge',
      note: `${sharpLabel} ÷ ${label}: 1 means at the edge of stability.`,
      series: [
        {
          label: `${sharpLabel} ÷ ${label}`,
          color: SHARPNESS_COLOR,
          get: (r) => {
            const s = num(r[sharpKey]);
            const th = thresholdAt(r, t);
            return s !== null && th !== null && th > 0 ? s / th : null;
          },
        },
        { label: 'edge', color: THRESHOLD_COLOR, dash: [6, 4], get: () => 1 },
      ],
    },
    {
      key: 'eigs',
      title: `Top-${topK || 'k'} Hessian eigenvalues`,
      note: 'Lanczos on the training-loss Hessian; the threshold applies to λ₁.',
      series: [
        ...Array.from({ length: topK }, (_, i): SeriesDef => ({
          label: `λ${String(i + 1).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[Number(d)])}`,
          color: [SHARPNESS_COLOR, ...PALETTE.slice(2)][i % 9],
          get: (r) => (Array.isArray(r.eigs) ? num(r.eigs[i]) : null),
        })),
        ...(pre ? [] : [threshold]),
        { label: 'λ_min', color: '#7f7f7f', get: (r) => num(r.lambda_min) },
      ],
    },
    {
      key: 'rotation',
      title: 'Eigenvector rotation',
      note: '|cos| between successive top eigenvectors (1 = no rotation); instabilities rotate them.',
      linearOnly: true,
      yRange: [0, 1],
      series: [
        { label: '|cos(v₁, v₁′)|', color: PALETTE[3], get: (r) => num(r.eigvec_cos) },
        { label: 'subspace overlap', color: PALETTE[2], get: (r) => num(r.subspace_overlap) },
      ],
    },
    {
      key: 'lr',
      title: 'Learning rate η',
      note: 'After warmup and decay.',
      series: [{ label: 'η', color: PALETTE[2], get: (r) => num(r.lr) }],
    },
    {
      key: 'grad_norm',
      title: 'Gradient norm',
      note: '‖∇L‖ at each step (before clipping).',
      series: [{ label: '‖∇L‖', color: PALETTE[4], get: (r) => num(r.grad_norm) }],
    },
  ];
  if (pre)
    defs.push({
      key: 'hessian',
      title: 'Sharpness λ₁(H)',
      note: 'The raw Hessian’s top eigenvalue (not preconditioned).',
      series: [{ label: 'λ₁(H)', color: PALETTE[0], get: (r) => num(r.sharpness) }],
    });
  defs.push({
    key: 'trace',
    title: 'Hessian trace',
    note: 'Hutchinson estimate.',
    series: [{ label: 'tr H', color: PALETTE[5], get: (r) => num(r.trace) }],
  });
  defs.push({
    key: 'param_norm',
    title: 'Parameter norm',
    note: '‖θ‖.',
    series: [{ label: '‖θ‖', color: PALETTE[7], get: (r) => num(r.param_norm) }],
  });
  return defs;
}

function columnsOf(def: ChartDef, rows: readonly Row[], x: number[]): ChartData {
  return [x, ...def.series.map((s) => rows.map((r) => s.get(r)))];
}

/** Series that have at least one value (a chart shows only what was measured). */
function present(def: ChartDef, rows: readonly Row[]): ChartDef | null {
  const measured = def.series.filter((s) => s.dash !== undefined || rows.some((r) => s.get(r) !== null));
  const real = measured.filter((s) => s.dash === undefined);
  return real.length === 0 ? null : { ...def, series: measured };
}

/**
 * The run's training curves in a grid of cards (sharpness against its threshold, loss, top-k
 * eigenvalues, …): shared by the run view and the Lab, which feed it metric rows as they come.
 */
export class RunCharts {
  private charts: Array<{ def: ChartDef; chart: Chart }> = [];
  private rows: readonly Row[] = [];

  constructor(
    private readonly grid: HTMLElement,
    private axes: { readonly x: 'steps' | 'time'; readonly log: boolean },
    private threshold: ThresholdInfo | null = null,
  ) {}

  /** Shows `rows` (ascending steps) with `threshold`; charts are rebuilt only when a new quantity appears. */
  setRows(rows: readonly Row[], threshold: ThresholdInfo | null = this.threshold): void {
    this.rows = rows;
    this.threshold = threshold;
    const defs = chartDefs(rows, threshold)
      .map((d) => present(d, rows))
      .filter((d): d is ChartDef => d !== null);
    const charts = this.charts;
    const sameShape =
      defs.length === charts.length &&
      defs.every((d, i) => d.key === charts[i].def.key && d.series.length === charts[i].def.series.length);
    if (!sameShape) return this.rebuild();
    const x = xColumn(rows, this.axes.x);
    defs.forEach((d, i) => {
      charts[i].def = d;
      charts[i].chart.setData(columnsOf(d, rows, x));
    });
  }

  /** Switches the x axis (steps or η·t) or the log scale, rebuilding the charts. */
  setAxes(axes: { readonly x: 'steps' | 'time'; readonly log: boolean }): void {
    this.axes = axes;
    this.rebuild();
  }

  private rebuild(): void {
    this.destroy();
    const rows = this.rows;
    const x = xColumn(rows, this.axes.x);
    const xLabel = this.axes.x === 'time' ? 'η·t' : 'step';
    for (const d of chartDefs(rows, this.threshold)) {
      const def = present(d, rows);
      if (def === null) continue;
      const { el, body } = card(def.title, def.note, { wide: def.wide, key: def.key });
      this.grid.append(el);
      const chart = new Chart(
        body,
        {
          key: def.key,
          xLabel,
          series: def.series.map((s) => ({
            label: s.label,
            color: s.color,
            dash: s.dash,
            width: s.dash ? 1.5 : undefined,
          })),
          logY: this.axes.log && !def.linearOnly,
          yRange: def.yRange,
          sync: 'run',
          height: def.wide ? 300 : 210,
        },
        columnsOf(def, rows, x),
      );
      this.charts.push({ def, chart });
    }
  }

  /** Removes the charts. */
  destroy(): void {
    for (const c of this.charts) c.chart.destroy();
    this.charts = [];
    this.grid.replaceChildren();
  }
}

export function runView(app: HTMLElement, route: Route): ViewHandle {
  const id = route.id;
  let current = route;
  let rows: Row[] = [];
  let entry: RunEntry | null = null;
  let config: Record<string, unknown> | null = null;
  let extraCharts: Chart[] = [];
  let unsubscribe: (() => void) | null = null;
  let destroyed = false;

  const title = h('h1', {}, id.split('/').pop() ?? id);
  const crumb = h('div', { class: 'crumb' });
  const badge = h('span');
  const stats = h('div', { class: 'stats', 'data-testid': 'stats' });
  const lastStep = h('span', { class: 'last-step', 'data-testid': 'last-step' }, '–');
  const controls = h('div', { class: 'controls' });
  const configEl = h('div', { class: 'config' });
  const grid = h('div', { class: 'grid' });
  const charts = new RunCharts(grid, route);
  const curvGrid = h('div', { class: 'grid' });
  const message = h('p', { class: 'message' });
  app.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('div', {}, crumb, h('div', { class: 'title-row' }, title, badge)),
      h('div', { class: 'head-side' }, h('span', { class: 'muted' }, 'last step '), lastStep),
    ),
    stats,
    h('div', { class: 'toolbar' }, controls),
    configEl,
    message,
    grid,
    curvGrid,
  );

  const navigate = (patch: Partial<Route>): void => {
    location.hash = formatHash({ ...current, ...patch });
  };

  const renderControls = (): void => {
    controls.replaceChildren(...axisToggles(current, navigate));
  };

  const renderHeader = (status: RunStatusName, reason: string | null): void => {
    badge.replaceChildren(statusBadge(status, reason), reason ? h('span', { class: 'reason' }, reason) : '');
  };

  const renderStats = (): void => {
    const t = entry?.threshold ?? null;
    const pre = t?.quantity === 'preconditioned_sharpness';
    const last = rows[rows.length - 1];
    const lastWith = (k: string): number | null => {
      for (let i = rows.length - 1; i >= 0; i--) {
        const v = num(rows[i][k]);
        if (v !== null) return v;
      }
      return null;
    };
    const sharp = lastWith(pre ? 'precond_sharpness' : 'sharpness');
    const thr = last ? thresholdAt(last, t) : null;
    const total = entry?.total_steps ?? null;
    stats.replaceChildren(
      stat('Step', last ? String(last.step) : '–', total ? `of ${total}` : undefined, 'stat-step'),
      stat('Train loss', fmt(lastWith('train_loss')), `accuracy ${pct(lastWith('train_acc'))}`),
      stat('Test accuracy', pct(lastWith('test_acc')), `loss ${fmt(lastWith('test_loss'))}`),
      stat(
        pre ? 'Precond. sharpness' : 'Sharpness λ₁',
        fmt(sharp),
        pre ? 'λ₁(P⁻¹H)' : 'top Hessian eigenvalue',
        'stat-sharpness',
      ),
      stat(
        `Threshold ${t?.label ?? '2/η'}`,
        fmt(thr),
        last && num(last.lr) !== null ? `η = ${fmt(num(last.lr))}` : undefined,
      ),
      stat(
        'λ₁ ÷ threshold',
        sharp !== null && thr ? (sharp / thr).toFixed(2) : '–',
        sharp !== null && thr && sharp / thr > 0.9 ? 'at the edge of stability' : 'below the edge',
      ),
    );
    lastStep.textContent = last ? String(last.step) : '–';
  };

  const renderConfig = (): void => {
    if (config === null) return;
    const c = config as Record<string, Record<string, unknown> | unknown>;
    const sec = (k: string): Record<string, unknown> =>
      c[k] !== null && typeof c[k] === 'object' ? (c[k] as Record<string, unknown>) : {};
    const data = sec('data');
    const model = sec('model');
    const opt = sec('optimizer');
    const sched = sec('schedule');
    const clip = sec('clip');
    const curv = sec('curvature');
    const init = model.init !== null && typeof model.init === 'object' ? (model.init as Record<string, unknown>) : {};
    const optBits = [String(opt.name ?? '?'), `η=${fmt(num(opt.lr))}`];
    if (opt.name === 'momentum' || opt.name === 'nesterov') optBits.push(`μ=${fmt(num(opt.momentum))}`);
    if (typeof opt.name === 'string' && opt.name.startsWith('adam'))
      optBits.push(`β₁=${fmt(num(opt.beta1))}`, `β₂=${fmt(num(opt.beta2))}`);
    if (opt.batch_size !== undefined) optBits.push(`batch ${String(opt.batch_size)}`);
    const chips: Array<[string, string]> = [
      ['data', `${String(data.name ?? '?')}${data.train_size ? ` · ${String(data.train_size)} train` : ''}`],
      [
        'model',
        `${String(model.arch ?? '?')} ${Array.isArray(model.widths) ? model.widths.join('×') : ''} ${String(model.activation ?? '')}${model.norm && model.norm !== 'none' ? ` · ${String(model.norm)}` : ''}`,
      ],
      [
        'init',
        `${String(init.scheme ?? '?')}${init.scale !== undefined && init.scale !== 1 ? ` ×${String(init.scale)}` : ''}`,
      ],
      ['loss', String(c.loss ?? '?')],
      ['optimizer', optBits.join(' · ')],
      ['schedule', `warmup ${String(sched.warmup_steps ?? 0)} · ${String(sched.decay ?? 'constant')}`],
      ['clip', clip.max_norm === null || clip.max_norm === undefined ? 'off' : `‖g‖ ≤ ${String(clip.max_norm)}`],
      ['curvature', `every ${String(curv.every ?? '?')} · top ${String(curv.top_k ?? '?')}`],
      ['seed', String(c.seed ?? '?')],
    ];
    const full = h(
      'details',
      { class: 'config-json' },
      h('summary', {}, 'config.json'),
      h('pre', {}, JSON.stringify(config, null, 2)),
    );
    configEl.replaceChildren(
      h('div', { class: 'chips' }, ...chips.map(([k, v]) => h('span', { class: 'chip' }, h('b', {}, k), ' ', v))),
      full,
    );
  };

  let curvatureShown = '';
  const loadCurvature = async (): Promise<void> => {
    const [density, slices] = await Promise.all([api.density(id).catch(() => null), api.slices(id).catch(() => null)]);
    if (destroyed) return;
    const sig = JSON.stringify([density?.steps, slices?.steps, current.log]);
    if (sig === curvatureShown) return;
    curvatureShown = sig;
    for (const c of extraCharts) c.destroy();
    extraCharts = [];
    curvGrid.replaceChildren();
    if (density !== null && density.current !== null) showDensity(density);
    if (slices !== null && slices.current !== null) showSlices(slices);
  };

  const stepSelect = (steps: number[], selected: number, onPick: (s: number) => void): HTMLElement => {
    const sel = h('select', { 'aria-label': 'step' });
    for (const s of steps) sel.append(h('option', { value: s, selected: s === selected }, `step ${s}`));
    sel.addEventListener('change', () => onPick(Number(sel.value)));
    return sel;
  };

  const showDensity = (d: DensityResponse): void => {
    const cur = d.current;
    if (cur === null) return;
    const { el, body, head } = card(
      `Hessian spectral density`,
      'Stochastic Lanczos quadrature; the dashed line is the stability threshold at that step.',
      { key: 'density' },
    );
    curvGrid.append(el);
    const row = rows.find((r) => r.step >= cur.step) ?? rows[rows.length - 1];
    const thr = row ? thresholdAt(row, entry?.threshold ?? null) : null;
    const chart = new Chart(
      body,
      {
        key: 'density',
        xLabel: 'eigenvalue',
        series: [{ label: `density (step ${cur.step})`, color: SHARPNESS_COLOR, breakGaps: true }],
        logY: current.log,
        vlines:
          thr !== null && entry?.threshold?.quantity !== 'preconditioned_sharpness'
            ? [{ x: thr, color: THRESHOLD_COLOR, label: entry?.threshold?.label ?? '2/η' }]
            : [],
        height: 220,
      },
      [cur.x, cur.density],
    );
    extraCharts.push(chart);
    head.append(
      stepSelect(d.steps, cur.step, (s) => {
        api.density(id, s).then(
          (n) => {
            if (n.current !== null) chart.setData([n.current.x, n.current.density]);
          },
          () => undefined,
        );
      }),
    );
  };

  const showSlices = (s: SlicesResponse): void => {
    const cur = s.current;
    if (cur === null) return;
    const { el, body, head } = card(
      'Loss along eigenvectors',
      'L(θ + t·v) for top eigenvectors v (and a random direction): curvature made visible.',
      { key: 'slices' },
    );
    curvGrid.append(el);
    const spec = (dirs: typeof cur.directions) =>
      dirs.map((d, i) => ({
        label: d.eigenvalue === null ? d.name : `${d.name} (λ=${fmt(d.eigenvalue, 3)})`,
        color: PALETTE[i % PALETTE.length],
        breakGaps: true,
      }));
    const chart = new Chart(
      body,
      { key: 'slices', xLabel: 't', series: spec(cur.directions), logY: current.log, height: 220 },
      [cur.t, ...cur.directions.map((d) => d.loss)],
    );
    extraCharts.push(chart);
    head.append(
      stepSelect(s.steps, cur.step, (step) => {
        api.slices(id, step).then(
          (n) => {
            if (n.current !== null && n.current.directions.length === cur.directions.length)
              chart.setData([n.current.t, ...n.current.directions.map((d) => d.loss)]);
          },
          () => undefined,
        );
      }),
    );
  };

  let curvTimer: ReturnType<typeof setTimeout> | null = null;
  const scheduleCurvature = (): void => {
    if (curvTimer !== null) return;
    curvTimer = setTimeout(() => {
      curvTimer = null;
      void loadCurvature();
    }, 3000);
  };

  const onRows = (ev: RowsEvent): void => {
    if (ev.reset) rows = [];
    const lastStepSeen = rows.length > 0 ? rows[rows.length - 1].step : -1;
    for (const r of ev.rows) if (r.step > lastStepSeen || ev.reset) rows.push(r);
    rows.sort((a, b) => a.step - b.step);
    renderStats();
    charts.setRows(rows, entry?.threshold ?? null);
    scheduleCurvature();
  };

  const start = async (): Promise<void> => {
    renderControls();
    try {
      const [list, cfg, metrics] = await Promise.all([api.runs(), api.config(id).catch(() => null), api.metrics(id)]);
      if (destroyed) return;
      entry = list.runs.find((r) => r.id === id) ?? null;
      config = cfg;
      rows = metrics.rows;
      if (entry?.sweep)
        crumb.replaceChildren(
          h('a', { href: formatHash({ view: 'sweep', id: entry.sweep }) }, `sweep ${entry.sweep}`),
          ' / ',
        );
      else crumb.replaceChildren(h('a', { href: '#/' }, 'runs'), ' / ');
      renderHeader(entry?.status ?? 'unknown', entry?.reason ?? null);
      if (metrics.skipped_lines > 0)
        message.textContent = `${metrics.skipped_lines} damaged line(s) in metrics.jsonl were skipped.`;
      renderConfig();
      renderStats();
      charts.setRows(rows, entry?.threshold ?? null);
      if (rows.length === 0) message.textContent = 'No metrics yet.';
      void loadCurvature();
      const since = rows.length > 0 ? rows[rows.length - 1].step : -1;
      unsubscribe = subscribe(`${runUrl(id, 'events')}?since=${since}`, {
        rows: (d) => onRows(d as RowsEvent),
        summary: (d) => {
          const s = d as { status?: RunStatusName; reason?: string | null } | null;
          if (s && typeof s.status === 'string') renderHeader(s.status, s.reason ?? null);
        },
      });
    } catch (e) {
      message.textContent = `Cannot load run ${id}: ${(e as Error).message}`;
    }
  };
  void start();

  return {
    update(r) {
      const changed = r.x !== current.x || r.log !== current.log;
      current = r;
      renderControls();
      if (changed) {
        charts.setAxes(r);
        curvatureShown = '';
        void loadCurvature();
      }
    },
    destroy() {
      destroyed = true;
      unsubscribe?.();
      if (curvTimer !== null) clearTimeout(curvTimer);
      charts.destroy();
      for (const c of extraCharts) c.destroy();
    },
  };
}
