/**
 * Vega-Lite spec builders for a sweep: final sharpness vs learning rate with the c/η reference
 * curves, final test accuracy vs learning rate, the runs' sharpness curves overlaid, and the
 * largest learning rate that did not diverge per variant (runs grouped by their non-lr grid
 * values). All are pure functions of `SweepPoint`s / curves derived from a `SweepData`.
 */
import { shortLabels } from '../experiments/sweep.ts';
import { formatLr } from '../util/format.ts';
import type { SweepData, ThresholdQuantity } from './data.ts';
import { getPath } from '../experiments/configPaths.ts';
import { runThresholdQuantity, thresholdCoefficient, thresholdLabel } from './data.ts';
import {
  DASH,
  decimate,
  FIGURE_WIDTH,
  frame,
  PALETTE,
  spansDecades,
  type FrameOptions,
  type VlSpec,
  type XY,
} from './spec.ts';

/** The grid key of the learning rate. */
export const LR_KEY = 'optimizer.lr';

/** One run of a sweep as the sweep figures see it. */
export interface SweepPoint {
  readonly name: string;
  /** completed | diverged | failed | running | unknown | missing (no directory yet). */
  readonly status: string;
  readonly lr: number | null;
  /** The run's non-lr grid values as text ('all runs' when lr is the only grid key). */
  readonly variant: string;
  /** All its grid values as text (e.g. "lr=0.02, name=adam"). */
  readonly label: string;
  readonly finalSharpness: number | null;
  readonly finalPrecondSharpness: number | null;
  readonly finalTestAcc: number | null;
  /** Threshold = coefficient/η, on `quantity` (null if unknown). */
  readonly coefficient: number | null;
  readonly quantity: ThresholdQuantity;
}

/** A run's curve for the overlaid-curves figure. */
export interface SweepCurve {
  readonly label: string;
  readonly points: readonly XY[];
  /** The run's threshold over the same steps (empty if it does not apply to this quantity). */
  readonly threshold: readonly XY[];
}

export interface SweepFigureOptions extends FrameOptions {
  readonly subtitle?: string;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A grid value as text: numbers as written, lists joined by ×. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(showValue).join('×');
  if (v === undefined) return '—';
  return JSON.stringify(v) ?? String(v);
}

/** A grid value of `key` as text: learning rates (keys ending in `lr`) with 4 significant digits. */
export function showParam(key: string, v: unknown): string {
  return typeof v === 'number' && /(^|\.)lr$/.test(key) ? formatLr(v) : showValue(v);
}

/** "key=value, key=value" with the shortest unique dotted suffix of each key; `exact` shows values in full. */
function describe(keys: readonly string[], params: Readonly<Record<string, unknown>>, exact = false): string {
  const labels = shortLabels(keys);
  return keys.map((k, i) => `${labels[i]}=${exact ? showValue(params[k]) : showParam(k, params[k])}`).join(', ');
}

/** Each run's legend label; values in full where rounding would make two labels equal. */
function runLabels(
  keys: readonly string[],
  runs: readonly { readonly params: Readonly<Record<string, unknown>> }[],
): string[] {
  const short = runs.map((r) => describe(keys, r.params));
  return new Set(short).size === short.length ? short : runs.map((r) => describe(keys, r.params, true));
}

/** The sweep's runs as points for the sweep figures, in sweep order. */
export function sweepPoints(sweep: SweepData): SweepPoint[] {
  const otherKeys = sweep.keys.filter((k) => k !== LR_KEY);
  const labels = runLabels(sweep.keys, sweep.runs);
  return sweep.runs.map((r, i) => {
    const run = r.run;
    const lrRaw = r.params[LR_KEY] ?? getPath(run?.config, LR_KEY);
    const quantity = runThresholdQuantity(run?.rows ?? [], run?.config ?? null);
    return {
      name: r.name,
      status: run === null ? 'missing' : run.status,
      lr: finite(lrRaw) ? lrRaw : null,
      variant: otherKeys.length > 0 ? describe(otherKeys, r.params) : 'all runs',
      label: sweep.keys.length > 0 ? labels[i]! : r.name,
      finalSharpness: run?.final.sharpness ?? null,
      finalPrecondSharpness: run?.final.precond_sharpness ?? null,
      finalTestAcc: run?.final.test_acc ?? null,
      coefficient: run === null ? null : thresholdCoefficient(run.rows, run.config, quantity),
      quantity,
    };
  });
}

/** Distinct values in first-appearance order. */
function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** Color encoding for variants: none when there is one, categorical otherwise. */
function variantColor(variants: readonly string[]): Record<string, unknown> {
  if (variants.length <= 1) return { value: PALETTE[0] };
  return {
    field: 'variant',
    type: 'nominal',
    scale: { domain: [...variants], range: PALETTE },
    legend: { title: null, symbolType: 'circle' },
  };
}

const STATUS_SHAPES = {
  domain: ['completed', 'diverged', 'failed', 'running', 'unknown'],
  range: ['circle', 'cross', 'triangle-down', 'diamond', 'square'],
};

/** Shape by status, with only the statuses present in the legend (same shape for a status in every figure). */
function shapeEncoding(statuses: readonly string[]): Record<string, unknown> {
  const present = unique(statuses);
  const domain = [
    ...STATUS_SHAPES.domain.filter((d) => present.includes(d)),
    ...present.filter((d) => !STATUS_SHAPES.domain.includes(d)),
  ];
  const range = domain.map((d) => STATUS_SHAPES.range[STATUS_SHAPES.domain.indexOf(d)] ?? 'triangle-up');
  return {
    field: 'status',
    type: 'nominal',
    scale: { domain, range },
    legend: { title: null, symbolType: 'circle', orient: 'top' },
  };
}

/** n log-spaced values from a to b (a, b > 0). */
function logspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a * Math.pow(b / a, i / (n - 1)));
}

/**
 * Final (preconditioned) sharpness vs learning rate (log x), with the reference curves y = c/η for
 * the runs' threshold coefficients (y = 2/η always for λ1(H)); shape = status, color = variant.
 * Log y by default when the values span > 3× (then c/η is a straight line).
 */
export function finalSharpnessVsLrFigure(
  points: readonly SweepPoint[],
  o: SweepFigureOptions & { quantity?: ThresholdQuantity; logY?: boolean } = {},
): VlSpec | null {
  const quantity = o.quantity ?? 'sharpness';
  const key = quantity === 'sharpness' ? 'finalSharpness' : 'finalPrecondSharpness';
  const pts = points.filter((p) => p.lr !== null && p.lr > 0 && finite(p[key]));
  if (pts.length === 0) return null;
  const lrs = pts.map((p) => p.lr as number);
  const lo = Math.min(...lrs) / 1.5;
  const hi = Math.max(...lrs) * 1.5;
  const coefs = unique([
    ...(quantity === 'sharpness' ? [2] : []),
    ...points
      .filter((p) => p.quantity === quantity && p.coefficient !== null)
      .map((p) => Number((p.coefficient as number).toPrecision(6))),
  ]);
  const ref = coefs.flatMap((c) =>
    logspace(lo, hi, 60).map((lr) => ({ lr, reference: c / lr, curve: `y = ${thresholdLabel(c)}` })),
  );
  const ys = [...pts.map((p) => p[key] as number), ...ref.map((r) => r.reference)];
  const logY = o.logY ?? spansDecades(ys, 3);
  const variants = unique(pts.map((p) => p.variant));
  const yTitle = quantity === 'sharpness' ? 'final sharpness λ1(H)' : 'final λ1(P⁻¹H)';
  const yScale = logY
    ? { type: 'log', domain: [Math.min(...ys) / 1.3, Math.max(...ys) * 1.3] }
    : { domain: [Math.min(0, ...ys), 1.1 * Math.max(...ys)] };
  const x = {
    field: 'lr',
    type: 'quantitative',
    title: 'learning rate η (log scale)',
    scale: { type: 'log', domain: [lo, hi], nice: false },
  };
  const layers: Record<string, unknown>[] = [
    {
      data: { values: ref },
      mark: { type: 'line', strokeDash: DASH, strokeWidth: 1.4, clip: true },
      encoding: {
        x,
        y: { field: 'reference', type: 'quantitative', title: yTitle, scale: yScale },
        detail: { field: 'curve', type: 'nominal' },
        color: { value: '#d62728' },
      },
    },
    {
      data: { values: unique(ref.map((r) => r.curve)).map((curve) => ref.filter((r) => r.curve === curve)[0]) },
      mark: { type: 'text', align: 'left', dx: 6, dy: -6, color: '#d62728', fontSize: 11 },
      encoding: { x, y: { field: 'reference', type: 'quantitative', scale: yScale }, text: { field: 'curve' } },
    },
    {
      data: {
        values: pts.map((p) => ({ lr: p.lr, value: p[key], status: p.status, variant: p.variant, name: p.name })),
      },
      mark: { type: 'point', filled: true, size: 70, opacity: 0.9 },
      encoding: {
        x,
        y: { field: 'value', type: 'quantitative', scale: yScale },
        color: variantColor(variants),
        shape: shapeEncoding(pts.map((p) => p.status)),
        tooltip: [{ field: 'name' }],
      },
    },
  ];
  const title =
    quantity === 'sharpness' ? 'Final sharpness vs learning rate' : 'Final preconditioned sharpness vs learning rate';
  return {
    ...frame(title, o.subtitle ?? 'dashed: the stability threshold c/η; runs at the edge of stability sit on it', o),
    layer: layers,
  } as unknown as VlSpec;
}

/** Final test accuracy vs learning rate (log x), one line per variant; shape = status. */
export function testAccVsLrFigure(points: readonly SweepPoint[], o: SweepFigureOptions = {}): VlSpec | null {
  const pts = points
    .filter((p) => p.lr !== null && p.lr > 0 && finite(p.finalTestAcc))
    .sort((a, b) => (a.lr as number) - (b.lr as number));
  if (pts.length === 0) return null;
  const variants = unique(pts.map((p) => p.variant));
  const values = pts.map((p) => ({
    lr: p.lr,
    acc: p.finalTestAcc,
    status: p.status,
    variant: p.variant,
    name: p.name,
  }));
  const fractions = values.every((v) => (v.acc as number) >= 0 && (v.acc as number) <= 1);
  const x = {
    field: 'lr',
    type: 'quantitative',
    title: 'learning rate η (log scale)',
    scale: { type: 'log', nice: false, padding: 20 },
  };
  const y = {
    field: 'acc',
    type: 'quantitative',
    title: 'final test accuracy',
    scale: fractions
      ? {
          zero: false,
          domain: [
            Math.max(0, Math.min(...values.map((v) => v.acc as number)) - 0.05),
            Math.min(1, Math.max(...values.map((v) => v.acc as number)) + 0.05),
          ],
        }
      : { zero: false },
  };
  return {
    ...frame('Final test accuracy vs learning rate', o.subtitle ?? 'diverged runs have no final test accuracy', o),
    data: { values },
    layer: [
      {
        mark: { type: 'line', strokeWidth: 1.4, opacity: 0.7 },
        encoding: { x, y, color: variantColor(variants), detail: { field: 'variant' } },
      },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x,
          y,
          color: variantColor(variants),
          shape: shapeEncoding(pts.map((p) => p.status)),
          tooltip: [{ field: 'name' }],
        },
      },
    ],
  } as unknown as VlSpec;
}

/**
 * The runs' sharpness curves overlaid, colored by their grid values (in the given order), each
 * with its own threshold dashed in the same color. Log y when a curve blows up (divergence).
 */
export function sharpnessCurvesFigure(
  curves: readonly SweepCurve[],
  o: SweepFigureOptions & { quantity?: ThresholdQuantity; sequential?: boolean } = {},
): VlSpec | null {
  const cs = curves.filter((c) => c.points.some((p) => finite(p.y)));
  if (cs.length === 0) return null;
  const labels = cs.map((c) => c.label);
  const values = cs.flatMap((c) =>
    decimate(
      c.points.filter((p) => finite(p.y)),
      600,
    ).map((p) => ({ step: p.x, value: p.y, run: c.label })),
  );
  const thr = cs.flatMap((c) =>
    decimate(
      c.threshold.filter((p) => finite(p.y)),
      300,
    ).map((p) => ({ step: p.x, threshold: p.y, run: c.label })),
  );
  const vmax = Math.max(...values.map((v) => v.value));
  const vmin = Math.min(...values.map((v) => v.value));
  const lateThr = cs.map((c) => c.threshold[c.threshold.length - 1]?.y).filter(finite);
  const settle = lateThr.length > 0 ? Math.max(...lateThr) : null;
  const logY = vmin > 0 && settle !== null && vmax > 10 * settle;
  const yScale = logY ? { type: 'log' } : { domain: [Math.min(0, vmin), 1.15 * Math.max(vmax, settle ?? vmax)] };
  const color = {
    field: 'run',
    type: 'nominal',
    scale: o.sequential
      ? { domain: labels, scheme: { name: 'viridis', extent: [0, 0.85] } }
      : { domain: labels, range: labels.length <= 10 ? PALETTE : { scheme: 'tableau20' } },
    legend: legendLayout(labels, o.width ?? FIGURE_WIDTH),
  };
  const quantity = o.quantity ?? 'sharpness';
  const yTitle = quantity === 'sharpness' ? 'λ1 of the Hessian' : 'λ1 of P⁻¹H';
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 1.5, clip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'value', type: 'quantitative', title: yTitle, scale: yScale },
        color,
      },
    },
  ];
  if (thr.length > 0) {
    layers.push({
      data: { values: thr },
      mark: { type: 'line', strokeDash: DASH, strokeWidth: 1, opacity: 0.9, clip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative' },
        y: { field: 'threshold', type: 'quantitative', scale: yScale },
        color: { ...color, legend: null },
      },
    });
  }
  const title = quantity === 'sharpness' ? 'Sharpness of every run' : 'Preconditioned sharpness of every run';
  return {
    ...frame(title, o.subtitle ?? 'dashed: each run’s stability threshold, same color', o),
    layer: layers,
  } as unknown as VlSpec;
}

/**
 * Where a legend of `labels` goes: above the plot in as many columns as fit (Vega estimates text
 * at about 0.8 em per character in Node, so entries are sized generously), or in one column on
 * the right when there are many runs.
 */
function legendLayout(labels: readonly string[], width: number): Record<string, unknown> {
  if (labels.length > 8) return { title: null, symbolType: 'stroke', orient: 'right', columns: 1, labelLimit: 170 };
  const longest = Math.max(...labels.map((l) => l.length));
  const columns = Math.max(1, Math.min(labels.length, Math.floor((width - 20) / (44 + 9 * longest))));
  return { title: null, symbolType: 'stroke', orient: 'top', columns };
}

/** Per variant: the largest lr whose run completed, and the smallest lr that diverged. */
export interface MaxStableLr {
  readonly variant: string;
  /** Largest lr with status completed (null if none completed). */
  readonly maxStableLr: number | null;
  /** Smallest lr with status diverged (null if none diverged). */
  readonly minDivergedLr: number | null;
  readonly completed: number;
  readonly diverged: number;
  /** Runs neither completed nor diverged (running, failed, missing). */
  readonly other: number;
}

/**
 * The largest learning rate that trained without diverging, per variant (Gilmer et al.'s figure of
 * merit). Only finished runs count: completed = stable, diverged = unstable; running, failed and
 * missing runs are not evidence either way.
 */
export function maxStableLr(points: readonly SweepPoint[]): MaxStableLr[] {
  const out: MaxStableLr[] = [];
  for (const variant of unique(points.map((p) => p.variant))) {
    const ps = points.filter((p) => p.variant === variant && p.lr !== null);
    const ok = ps.filter((p) => p.status === 'completed').map((p) => p.lr as number);
    const bad = ps.filter((p) => p.status === 'diverged').map((p) => p.lr as number);
    out.push({
      variant,
      maxStableLr: ok.length > 0 ? Math.max(...ok) : null,
      minDivergedLr: bad.length > 0 ? Math.min(...bad) : null,
      completed: ok.length,
      diverged: bad.length,
      other: ps.length - ok.length - bad.length,
    });
  }
  return out;
}

/** Max stable lr per variant (filled dot, labeled) and the smallest diverged lr (red cross), over all tried lrs (gray). */
export function maxStableLrFigure(points: readonly SweepPoint[], o: SweepFigureOptions = {}): VlSpec | null {
  const rows = maxStableLr(points);
  const tried = points.filter((p) => p.lr !== null && p.lr > 0);
  if (tried.length === 0 || rows.every((r) => r.maxStableLr === null && r.minDivergedLr === null)) return null;
  const marks = rows.flatMap((r) => [
    ...(r.maxStableLr !== null
      ? [
          {
            variant: r.variant,
            lr: r.maxStableLr,
            kind: 'largest lr that did not diverge',
            text: `${Number(r.maxStableLr.toPrecision(4))}`,
          },
        ]
      : []),
    ...(r.minDivergedLr !== null
      ? [{ variant: r.variant, lr: r.minDivergedLr, kind: 'smallest lr that diverged', text: '' }]
      : []),
  ]);
  const variants = rows.map((r) => r.variant);
  const tl = tried.map((p) => p.lr as number);
  const x = {
    field: 'lr',
    type: 'quantitative',
    title: 'learning rate η (log scale)',
    scale: { type: 'log', nice: false, domain: [Math.min(...tl) / 1.4, Math.max(...tl) * 1.4] },
  };
  const y = { field: 'variant', type: 'nominal', title: null, sort: variants, axis: { labelLimit: 260 } };
  const height = o.height ?? Math.max(200, 110 + 36 * variants.length);
  return {
    ...frame(
      'Largest stable learning rate',
      o.subtitle ?? 'gray: tried learning rates; runs still going or failed do not count',
      { ...o, height },
    ),
    layer: [
      {
        data: { values: tried.map((p) => ({ variant: p.variant, lr: p.lr })) },
        mark: { type: 'point', color: '#999', size: 40 },
        encoding: { x, y },
      },
      {
        data: { values: marks },
        mark: { type: 'point', filled: true, size: 150, strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: {
            field: 'kind',
            type: 'nominal',
            scale: {
              domain: ['largest lr that did not diverge', 'smallest lr that diverged'],
              range: ['#2ca02c', '#d62728'],
            },
            legend: { title: null, symbolType: 'circle' },
          },
          shape: {
            field: 'kind',
            type: 'nominal',
            scale: {
              domain: ['largest lr that did not diverge', 'smallest lr that diverged'],
              range: ['circle', 'cross'],
            },
            legend: null,
          },
        },
      },
      {
        data: { values: marks.filter((m) => m.text !== '') },
        mark: { type: 'text', dy: -14, fontSize: 11, color: '#2ca02c' },
        encoding: { x, y, text: { field: 'text' } },
      },
    ],
  } as unknown as VlSpec;
}
