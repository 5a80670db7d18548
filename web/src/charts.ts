/**
 * A small wrapper over uPlot: a chart that fills its container's width, follows resizes, shows
 * the latest values in its legend when the cursor is elsewhere (so a live run reads like a
 * status panel), and takes new data with setData(). Sparse series (curvature measured every k
 * steps) are drawn across gaps; on a log scale, values <= 0 are left out.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmt } from './format.ts';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Dashed line, e.g. [6, 4] for thresholds. */
  dash?: number[];
  width?: number;
  /** Markers only (scatter plots). */
  scatter?: boolean;
  /** Always draw markers on the line. */
  points?: boolean;
  /** Break the line at missing values (default: draw across them, for sparse measurements). */
  breakGaps?: boolean;
}

export interface ChartSpec {
  /** Value of the container's data-chart attribute (tests and CSS address charts by it). */
  key: string;
  xLabel: string;
  yLabel?: string;
  series: SeriesSpec[];
  logY?: boolean;
  logX?: boolean;
  height?: number;
  /** Charts with the same sync key share the cursor (by x value). */
  sync?: string;
  /** Vertical reference lines (e.g. the threshold in a spectral density). */
  vlines?: Array<{ x: number; color: string; label: string }>;
  /** Fixed y range (e.g. [0, 1] for a cosine). */
  yRange?: [number, number];
  /** Ticks at exactly these x values (e.g. the learning rates of a sweep), with some margin. */
  xTicks?: number[];
}

/** Columns: x, then one array per series (null = no value). */
export type ChartData = [number[], ...Array<Array<number | null>>];

/** Smallest value shown on a log scale, relative to the largest. */
const LOG_FLOOR = 1e-12;
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const AXIS_STROKE = '#5f6b7a';
const GRID = { stroke: '#eef1f4', width: 1 };

function lastDefined(arr: ArrayLike<number | null | undefined>, from: number): number | null {
  for (let i = Math.min(from, arr.length - 1); i >= 0; i--) {
    const v = arr[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** A log scale's range, safe when there is no positive data (uPlot would loop on log10(0)). */
function logRange(_u: uPlot, min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !(min > 0) || !(max > 0) || !Number.isFinite(min) || !Number.isFinite(max))
    return [1, 10];
  return uPlot.rangeLog(Math.max(min, max * LOG_FLOOR), max, 10, false) as [number, number];
}

/** x range around these ticks with a margin (multiplicative on a log axis). */
function xRange(ticks: number[], log: boolean): [number, number] {
  const lo = Math.min(...ticks);
  const hi = Math.max(...ticks);
  if (log) return [lo / 1.35, hi * 1.35];
  const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
  return [lo - pad, hi + pad];
}

/** Compact tick label: 3 significant digits, exponent form without padding (1e-6). */
function tick(v: number): string {
  const a = Math.abs(v);
  if (v !== 0 && (a >= 1e5 || a < 1e-3)) return Number(v.toPrecision(3)).toExponential();
  return fmt(v, 3);
}

function axisValues(_u: uPlot, splits: number[]): string[] {
  return splits.map((v) => (v === null || v === undefined ? '' : tick(v)));
}

/** Log y ticks: label powers of 10 only, every k-th decade when there are too many for the height. */
function logAxisValues(u: uPlot, splits: number[]): string[] {
  const isDecade = (v: number): boolean => v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
  const decades = splits.filter(isDecade).length;
  const room = Math.max(2, Math.floor(u.bbox.height / devicePixelRatio / 22));
  const k = Math.max(1, Math.ceil(decades / room));
  return splits.map((v) =>
    v !== null && v !== undefined && isDecade(v) && Math.round(Math.log10(v)) % k === 0 ? tick(v) : '',
  );
}

export class Chart {
  readonly el: HTMLDivElement;
  private u: uPlot | null = null;
  private readonly resize: ResizeObserver;
  private data: ChartData;
  private hovering = false;

  constructor(
    parent: HTMLElement,
    private readonly spec: ChartSpec,
    data: ChartData,
  ) {
    this.el = document.createElement('div');
    this.el.className = 'chart';
    this.el.dataset.chart = spec.key;
    parent.append(this.el);
    this.data = data;
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(this.el);
    this.create();
  }

  private width(): number {
    return Math.max(200, Math.floor(this.el.clientWidth || this.el.parentElement?.clientWidth || 600));
  }

  private prepared(data: ChartData): uPlot.AlignedData {
    const { logY, logX } = this.spec;
    let cols: ChartData = data;
    if (logX) {
      const keep = data[0].map((x) => x > 0);
      cols = data.map((c) => (c as Array<number | null>).filter((_, i) => keep[i])) as ChartData;
    }
    if (!logY) return cols as uPlot.AlignedData;
    // Log scale: only positive values, and none below 1e-12 of the largest (a density's tails
    // underflow towards 1e-320, which would stretch the axis over hundreds of decades).
    let top = 0;
    for (const c of cols.slice(1)) for (const v of c) if (v !== null && v > top) top = v;
    const floor = Math.max(top * LOG_FLOOR, Number.MIN_VALUE * 1e10);
    return [
      cols[0],
      ...cols.slice(1).map((c) => c.map((v) => (v !== null && v >= floor ? v : null))),
    ] as uPlot.AlignedData;
  }

  private create(): void {
    const s = this.spec;
    const opts: uPlot.Options = {
      width: this.width(),
      height: s.height ?? 220,
      cursor: {
        sync: s.sync ? { key: s.sync, scales: ['x', null] } : undefined,
        points: { size: 7 },
        drag: { x: true, y: false },
      },
      legend: { live: true },
      scales: {
        x: {
          time: false,
          distr: s.logX ? 3 : 1,
          ...(s.xTicks && s.xTicks.length > 0 ? { range: xRange(s.xTicks, !!s.logX) } : {}),
        },
        y: { distr: s.logY ? 3 : 1, ...(s.yRange ? { range: s.yRange } : s.logY ? { range: logRange } : {}) },
      },
      axes: [
        {
          label: s.xLabel,
          font: FONT,
          labelFont: FONT,
          stroke: AXIS_STROKE,
          grid: GRID,
          ticks: { stroke: '#dde2e8' },
          labelSize: 22,
          values: axisValues,
          // Label every given tick (a log axis otherwise labels only powers of 10).
          ...(s.xTicks && s.xTicks.length > 0
            ? { splits: () => s.xTicks as number[], filter: (_u: uPlot, splits: number[]) => splits }
            : {}),
        },
        {
          label: s.yLabel,
          font: FONT,
          labelFont: FONT,
          stroke: AXIS_STROKE,
          grid: GRID,
          ticks: { stroke: '#dde2e8' },
          size: 56,
          labelSize: s.yLabel ? 22 : 0,
          values: s.logY ? logAxisValues : axisValues,
        },
      ],
      series: [
        { label: s.xLabel, value: (_u, v) => fmt(v) },
        ...s.series.map((ss): uPlot.Series => ({
          label: ss.label,
          stroke: ss.color,
          width: ss.width ?? (ss.scatter ? 0 : 1.75),
          dash: ss.dash,
          spanGaps: !ss.breakGaps,
          ...(ss.scatter
            ? { paths: () => null, points: { show: true, size: 9, fill: ss.color, stroke: ss.color } }
            : ss.points
              ? { points: { show: true, size: 5, fill: ss.color } }
              : ss.dash
                ? { points: { show: false } }
                : {}),
          value: (u, v, si, di) => {
            if (v !== null && v !== undefined) return fmt(v);
            // Sparse series: show the latest measurement at or before the cursor.
            const col = u.data[si] as ArrayLike<number | null>;
            return fmt(lastDefined(col, di ?? col.length - 1));
          },
        })),
      ],
      hooks: {
        setCursor: [
          (u) => {
            const idx = u.cursor.idx;
            this.hovering = idx !== null && idx !== undefined;
            if (!this.hovering) this.showLatest();
          },
        ],
        draw: [(u) => this.drawVlines(u)],
      },
    };
    this.u = new uPlot(opts, this.prepared(this.data), this.el);
    this.el.dataset.points = String(this.data[0].length);
    this.showLatest();
  }

  private drawVlines(u: uPlot): void {
    const lines = this.spec.vlines ?? [];
    if (lines.length === 0) return;
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    for (const l of lines) {
      const x = u.valToPos(l.x, 'x', true);
      if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.strokeStyle = l.color;
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = l.color;
      ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
      ctx.textAlign = 'right';
      ctx.fillText(l.label, x - 4 * devicePixelRatio, top + 14 * devicePixelRatio);
    }
    ctx.restore();
  }

  /** Legend shows the last point when the cursor is not over the chart. */
  private showLatest(): void {
    const u = this.u;
    if (u === null || this.hovering) return;
    const n = (u.data[0] as ArrayLike<number>).length;
    if (n > 0) u.setLegend({ idx: n - 1 }, false);
  }

  private fit(): void {
    if (this.u === null) return;
    const w = this.width();
    if (Math.abs(w - this.u.width) > 1) this.u.setSize({ width: w, height: this.spec.height ?? 220 });
  }

  /** Replaces the data (e.g. with new live rows appended). */
  setData(data: ChartData): void {
    this.data = data;
    this.u?.setData(this.prepared(data), true);
    this.el.dataset.points = String(data[0].length);
    this.showLatest();
  }

  destroy(): void {
    this.resize.disconnect();
    this.u?.destroy();
    this.u = null;
    this.el.remove();
  }
}

/** Distinct, readable series colors (the first two as in tensorflow/playground). */
export const PALETTE = [
  '#0877bd',
  '#f59322',
  '#2ca02c',
  '#9467bd',
  '#d62728',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];
export const THRESHOLD_COLOR = '#d6336c';
export const SHARPNESS_COLOR = '#4c3bcf';
/** λ1 of the Gauss–Newton matrix, beside the Hessian's. */
export const GGN_COLOR = '#2ca02c';
