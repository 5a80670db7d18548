/**
 * Building blocks of the report's Vega-Lite specs: the common frame (size, fonts, white
 * background), decimation of long series, and a layered line chart where each series is its own
 * layer (own data, own y field) so a chart can mix e.g. `sharpness` and `threshold` layers.
 */
import type { TopLevelSpec } from 'vega-lite';

export type VlSpec = TopLevelSpec;

/** A point of a series (x, y in data units). */
export interface XY {
  readonly x: number;
  readonly y: number;
}

/** Default figure size in CSS pixels (the whole figure, legend and title included). */
export const FIGURE_WIDTH = 720;
export const FIGURE_HEIGHT = 300;
/** Most points one series keeps (longer series are min/max-decimated). */
export const MAX_POINTS = 1500;

/** Categorical colors (Tableau 10). */
export const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#e45756',
  '#72b7b2',
  '#b279a2',
  '#eeca3b',
  '#9d755d',
  '#ff9da6',
  '#bab0ac',
];
export const THRESHOLD_COLOR = '#d62728';
/** Dash pattern of threshold and reference lines (px on, px off). */
export const DASH = [6, 4];

export interface FrameOptions {
  readonly width?: number;
  readonly height?: number;
}

/** Top-level properties every figure shares; `autosize: fit` makes the whole figure width×height. */
export function frame(title: string, subtitle: string | undefined, o: FrameOptions = {}): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: o.width ?? FIGURE_WIDTH,
    height: o.height ?? FIGURE_HEIGHT,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 8,
    background: 'white',
    title:
      subtitle === undefined || subtitle === ''
        ? { text: title, anchor: 'start' }
        : { text: title, subtitle, anchor: 'start' },
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555' },
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
      legend: {
        labelFontSize: 11,
        orient: 'top',
        title: null,
        symbolType: 'stroke',
        symbolStrokeWidth: 2,
        symbolSize: 200,
        labelLimit: 360,
      },
      view: { stroke: '#ccc' },
    },
  };
}

/**
 * At most `max` points of a series, keeping its envelope: the series is cut into max/2 buckets
 * and each keeps its smallest and largest y (in x order), so oscillations stay visible.
 */
export function decimate(points: readonly XY[], max = MAX_POINTS): XY[] {
  if (points.length <= max) return points.slice();
  const buckets = Math.max(1, Math.floor(max / 2));
  const out: XY[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * points.length) / buckets);
    const hi = Math.floor(((b + 1) * points.length) / buckets);
    let iMin = lo;
    let iMax = lo;
    for (let i = lo; i < hi; i++) {
      if (points[i].y < points[iMin].y) iMin = i;
      if (points[i].y > points[iMax].y) iMax = i;
    }
    if (iMin === iMax) out.push(points[iMin]);
    else out.push(points[Math.min(iMin, iMax)], points[Math.max(iMin, iMax)]);
  }
  return out;
}

/** One line of a chart. */
export interface Series {
  /** Legend entry. */
  readonly label: string;
  /** Field name of y in this layer's data (plain identifier: no dots or brackets). */
  readonly field: string;
  readonly points: readonly XY[];
  readonly color: string;
  /** Dash pattern; omitted = solid. */
  readonly dash?: readonly number[];
  /** Draw a dot at each point (for sparse measurements). */
  readonly showPoints?: boolean;
  readonly strokeWidth?: number;
  readonly opacity?: number;
  /** A shaded band around the line (e.g. the spread over seeds), drawn under it in its colour. */
  readonly band?: readonly { readonly x: number; readonly lo: number; readonly hi: number }[];
}

/** A straight reference line across the plot: vertical at x or horizontal at y. */
export interface RuleLine {
  readonly x?: number;
  readonly y?: number;
  readonly color: string;
  readonly dash?: readonly number[];
}

export interface LineChartOptions extends FrameOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** Field name of x in the data. Default 'step'. */
  readonly xField?: string;
  readonly series: readonly Series[];
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Fixed y range (marks outside are clipped). */
  readonly yDomain?: readonly [number, number];
  readonly rules?: readonly RuleLine[];
  /** Show the legend (default: when there is more than one series). */
  readonly legend?: boolean;
}

const positive = (p: XY) => p.y > 0;
const isFinitePoint = (p: XY) => Number.isFinite(p.x) && Number.isFinite(p.y);

/** True if the values span more than `ratio` (all positive), i.e. a log axis reads better. */
export function spansDecades(values: readonly number[], ratio = 30): boolean {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2 || v.some((x) => x <= 0)) return false;
  return Math.max(...v) / Math.min(...v) > ratio;
}

/**
 * Columns of a top legend so that every entry fits the figure's width (a single row, Vega-Lite's
 * default, cuts off the entries past the right edge). The legend starts above the plot, about
 * 80 px in (the y axis); an entry takes about 9 px per character (the column is as wide as its
 * widest entry) plus 50 px of symbol and padding.
 */
export function legendColumns(labels: readonly string[], width = FIGURE_WIDTH): number {
  const entry = 50 + 9 * Math.max(1, ...labels.map((l) => l.length));
  return Math.max(1, Math.min(labels.length, Math.floor((width - 80) / entry)));
}

/**
 * A layered line chart, one layer per series (each with its own data, y field `series.field` and
 * a legend entry), or null if no series has a point. Log axes drop non-positive values.
 */
export function lineChart(o: LineChartOptions): VlSpec | null {
  const xField = o.xField ?? 'step';
  const keep = (p: XY) => isFinitePoint(p) && (!o.logY || positive(p)) && (!o.logX || p.x > 0);
  const series = o.series
    .map((s) => ({ ...s, points: decimate(s.points.filter(keep)) }))
    .filter((s) => s.points.length > 0);
  if (series.length === 0) return null;
  const labels = series.map((s) => s.label);
  const colors = series.map((s) => s.color);
  const dashed = series.filter((s) => s.dash !== undefined);
  const showLegend = o.legend ?? series.length > 1;
  // Legend symbols of dashed series are dashed too (a legend has no per-entry dash otherwise).
  const dashExpr =
    dashed
      .map(
        (s) =>
          `datum.value === ${JSON.stringify(s.label)} ? ${JSON.stringify(s.dash!.map((d) => Math.max(1, d / 2)))} : `,
      )
      .join('') + '[]';
  const legend = showLegend
    ? { columns: legendColumns(labels), encode: { symbols: { update: { strokeDash: { signal: dashExpr } } } } }
    : null;
  const xEnc = {
    field: xField,
    type: 'quantitative',
    title: o.xTitle,
    scale: o.logX ? { type: 'log' } : { zero: false, nice: false },
  };
  const yScale: Record<string, unknown> = o.logY ? { type: 'log' } : { zero: false };
  if (o.yDomain !== undefined) yScale.domain = [...o.yDomain];
  const bands: Record<string, unknown>[] = series
    .filter((s) => s.band !== undefined && s.band.length > 0)
    .map((s) => ({
      data: {
        values: s
          .band!.filter((b) => Number.isFinite(b.lo) && Number.isFinite(b.hi) && (!o.logY || (b.lo > 0 && b.hi > 0)))
          .map((b) => ({ [xField]: b.x, lo: b.lo, hi: b.hi })),
      },
      mark: { type: 'area', clip: true, color: s.color, opacity: 0.15 },
      encoding: {
        x: xEnc,
        y: { field: 'lo', type: 'quantitative', title: o.yTitle, scale: yScale },
        y2: { field: 'hi' },
      },
    }));
  const layers: Record<string, unknown>[] = series.map((s) => ({
    data: { values: s.points.map((p) => ({ [xField]: p.x, [s.field]: p.y })) },
    mark: {
      type: 'line',
      clip: true,
      strokeWidth: s.strokeWidth ?? 1.6,
      ...(s.dash !== undefined ? { strokeDash: [...s.dash] } : {}),
      ...(s.opacity !== undefined ? { opacity: s.opacity } : {}),
      ...(s.showPoints && s.points.length <= 250 ? { point: { filled: true, size: 16 } } : {}),
    },
    encoding: {
      x: xEnc,
      y: {
        field: s.field,
        type: 'quantitative',
        title: o.yTitle,
        scale: yScale,
        ...(o.logY ? { axis: { tickCount: 8 } } : {}),
      },
      color: { datum: s.label, scale: { domain: labels, range: colors }, legend },
    },
  }));
  layers.unshift(...bands);
  for (const r of o.rules ?? []) {
    const enc =
      r.x !== undefined ? { x: { datum: r.x, type: 'quantitative' } } : { y: { datum: r.y, type: 'quantitative' } };
    layers.push({
      // One datum: a layer without data draws no mark (the chart has no top-level data).
      data: { values: [{}] },
      mark: { type: 'rule', color: r.color, strokeDash: r.dash ? [...r.dash] : undefined, clip: true },
      encoding: enc,
    });
  }
  return { ...frame(o.title, o.subtitle, o), layer: layers } as unknown as VlSpec;
}

/** The layers of a spec (empty for a single-view spec). */
export function specLayers(spec: VlSpec): Record<string, unknown>[] {
  const l = (spec as { layer?: unknown }).layer;
  return Array.isArray(l) ? (l as Record<string, unknown>[]) : [];
}
