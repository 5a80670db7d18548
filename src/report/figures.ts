/**
 * Vega-Lite spec builders for one run's figures. Each builder is a pure function of metric rows
 * (or curvature snapshots) and returns a spec, or null when the run has nothing to plot for it
 * (so a report of a partial run simply has fewer figures). Sweep figures: sweepFigures.ts.
 */
import type { MetricRow } from '../experiments/metrics.ts';
import type { DensitySnapshot, RunData, SliceSnapshot, ThresholdQuantity } from './data.ts';
import { configThreshold, runThresholdQuantity, thresholdCoefficient, thresholdLabel } from './data.ts';
import {
  DASH,
  frame,
  lineChart,
  PALETTE,
  spansDecades,
  THRESHOLD_COLOR,
  type FrameOptions,
  type Series,
  type VlSpec,
  type XY,
} from './spec.ts';

export * from './sweepFigures.ts';

/** A figure of a report: a file-name-safe id, a title and caption for the page, and its spec. */
export interface Figure {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: VlSpec;
}

export interface RunFigureOptions extends FrameOptions {
  /** Second title line (e.g. the run name and optimizer). */
  readonly subtitle?: string;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** (step, row[key]) for the rows where `key` is a finite number. */
export function seriesOf(rows: readonly MetricRow[], key: string): XY[] {
  const out: XY[] = [];
  for (const r of rows) {
    const v = r[key];
    if (finite(v)) out.push({ x: r.step, y: v });
  }
  return out;
}

/** Whether a log y axis is wanted: an explicit choice, or 'auto' = the values span > `ratio`. */
function wantLog(choice: boolean | 'auto' | undefined, values: readonly number[], ratio: number): boolean {
  return choice === true || ((choice ?? 'auto') === 'auto' && spansDecades(values, ratio));
}

/** Train and test loss vs step; `logY` true, false or 'auto' (log when the loss spans > 10×). */
export function lossFigure(
  rows: readonly MetricRow[],
  o: RunFigureOptions & { logY?: boolean | 'auto' } = {},
): VlSpec | null {
  const train = seriesOf(rows, 'train_loss');
  const test = seriesOf(rows, 'test_loss');
  const logY = wantLog(
    o.logY,
    [...train, ...test].map((p) => p.y),
    10,
  );
  return lineChart({
    ...o,
    title: 'Loss',
    xTitle: 'step',
    yTitle: logY ? 'loss (log scale)' : 'loss',
    logY,
    series: [
      { label: 'train loss', field: 'train_loss', points: train, color: PALETTE[0] },
      { label: 'test loss', field: 'test_loss', points: test, color: PALETTE[1], showPoints: true },
    ],
  });
}

/** Train and test accuracy vs step (y in [0, 1] when the values are fractions). */
export function accuracyFigure(rows: readonly MetricRow[], o: RunFigureOptions = {}): VlSpec | null {
  const train = seriesOf(rows, 'train_acc');
  const test = seriesOf(rows, 'test_acc');
  const all = [...train, ...test].map((p) => p.y);
  const fractions = all.length > 0 && all.every((v) => v >= 0 && v <= 1);
  return lineChart({
    ...o,
    title: 'Accuracy',
    xTitle: 'step',
    yTitle: 'accuracy',
    yDomain: fractions ? [0, 1] : undefined,
    series: [
      { label: 'train accuracy', field: 'train_acc', points: train, color: PALETTE[0] },
      { label: 'test accuracy', field: 'test_acc', points: test, color: PALETTE[1], showPoints: true },
    ],
  });
}

/**
 * The stability threshold for `quantity` over the steps: the row's `threshold` where the row has
 * one for this quantity, else c/lr with the run's coefficient c (so warmup gives a curve).
 */
export function thresholdSeries(
  rows: readonly MetricRow[],
  quantity: ThresholdQuantity,
  coefficient: number | null,
): XY[] {
  const out: XY[] = [];
  for (const r of rows) {
    const q = r.threshold_quantity ?? quantity;
    if (finite(r.threshold) && q === quantity) out.push({ x: r.step, y: r.threshold });
    else if (coefficient !== null && finite(r.lr) && r.lr > 0) out.push({ x: r.step, y: coefficient / r.lr });
  }
  return out;
}

/**
 * A y range that shows the curvature series and the threshold where the run settles (the
 * threshold at tiny warmup learning rates would squash everything else), or 'log' when the series
 * itself blows up (divergence) far past the threshold.
 */
function curvatureRange(values: readonly number[], threshold: readonly XY[]): [number, number] | 'log' | undefined {
  if (values.length === 0) return undefined;
  const maxV = Math.max(...values);
  const minV = Math.min(...values);
  const late = threshold
    .slice(Math.floor(threshold.length / 2))
    .map((p) => p.y)
    .sort((a, b) => a - b);
  const settle = late.length > 0 ? late[Math.floor(late.length / 2)] : null;
  if (settle === null) return undefined;
  if (minV > 0 && maxV > 10 * settle) return 'log';
  return [Math.min(0, minV), 1.15 * Math.max(maxV, settle)];
}

interface CurvatureFigureOptions extends RunFigureOptions {
  /** Config of the run (for the threshold when rows lack `threshold`). */
  readonly config?: Record<string, unknown> | null;
}

function curvatureFigure(
  rows: readonly MetricRow[],
  field: 'sharpness' | 'precond_sharpness',
  o: CurvatureFigureOptions,
): VlSpec | null {
  const pts = seriesOf(rows, field);
  // λ1 of the Gauss–Newton matrix (curvature.matrix: ggn | both) shares λ1(H)'s chart and threshold.
  const ggn = field === 'sharpness' ? seriesOf(rows, 'ggn_sharpness') : [];
  if (pts.length === 0 && ggn.length === 0) return null;
  const span = pts.length > 0 ? pts : ggn;
  const quantity: ThresholdQuantity = field === 'sharpness' ? 'sharpness' : 'preconditioned_sharpness';
  const runQuantity = runThresholdQuantity(rows, o.config ?? null);
  const series: Series[] = [];
  if (pts.length > 0)
    series.push({
      label: field === 'sharpness' ? 'λ1(H) (sharpness)' : 'λ1(P⁻¹H) (preconditioned)',
      field,
      points: pts,
      color: PALETTE[0],
      showPoints: true,
    });
  if (ggn.length > 0)
    series.push({
      label: 'λ1(G) (Gauss–Newton)',
      field: 'ggn_sharpness',
      points: ggn,
      color: PALETTE[2],
      // Dotted over λ1(H)'s solid line: the two often coincide, and both should stay visible.
      dash: [2, 3],
      strokeWidth: 2.2,
    });
  let th: XY[] = [];
  if (runQuantity === quantity) {
    const c = thresholdCoefficient(rows, o.config ?? null, quantity);
    th = thresholdSeries(rows, quantity, c);
    if (th.length > 0) {
      // Only across the steps where the curvature was measured.
      const lo = span[0].x;
      const hi = span[span.length - 1].x;
      th = th.filter((p) => p.x >= lo && p.x <= hi);
      if (th.length === 1) th = [th[0], { x: hi === th[0].x ? lo : hi, y: th[0].y }];
      series.push({
        label: c !== null ? thresholdLabel(c) : 'threshold',
        field: 'threshold',
        points: th,
        color: THRESHOLD_COLOR,
        dash: DASH,
        strokeWidth: 1.8,
      });
    }
  }
  const range = curvatureRange(
    [...pts, ...ggn].map((p) => p.y),
    th,
  );
  const title =
    field !== 'sharpness'
      ? 'Preconditioned sharpness'
      : ggn.length > 0
        ? 'Sharpness: Hessian and Gauss–Newton'
        : 'Sharpness';
  return lineChart({
    ...o,
    title,
    xTitle: 'step',
    yTitle:
      field !== 'sharpness'
        ? 'λ1 of P⁻¹H'
        : ggn.length === 0
          ? 'λ1 of the Hessian'
          : pts.length === 0
            ? 'λ1 of the Gauss–Newton matrix'
            : 'λ1',
    logY: range === 'log',
    yDomain: range !== 'log' ? range : undefined,
    series,
    legend: true,
  });
}

/**
 * Sharpness λ1(H) vs step, with the stability threshold (dashed, per-row) when it applies to λ1(H),
 * and λ1 of the Gauss–Newton matrix beside it when the run measured it.
 */
export function sharpnessFigure(rows: readonly MetricRow[], o: CurvatureFigureOptions = {}): VlSpec | null {
  return curvatureFigure(rows, 'sharpness', o);
}

/** Preconditioned sharpness λ1(P⁻¹H) vs step (Adam-type runs), with (2+2β1)/((1−β1)η) dashed. */
export function precondSharpnessFigure(rows: readonly MetricRow[], o: CurvatureFigureOptions = {}): VlSpec | null {
  return curvatureFigure(rows, 'precond_sharpness', o);
}

/**
 * The Hessian's part beyond Gauss–Newton along the top: λ1(H) − λ1(G) (and λ2(H) − λ2(G)) vs step,
 * for runs that measured both matrices; null otherwise.
 */
export function ggnGapFigure(rows: readonly MetricRow[], o: RunFigureOptions = {}): VlSpec | null {
  const gap = (i: number): XY[] =>
    rows.flatMap((r) => {
      const h = Array.isArray(r.eigs) ? r.eigs[i] : undefined;
      const g = Array.isArray(r.ggn_eigs) ? r.ggn_eigs[i] : undefined;
      return finite(h) && finite(g) ? [{ x: r.step, y: h - g }] : [];
    });
  const g1 = gap(0);
  if (g1.length === 0) return null;
  const g2 = gap(1);
  return lineChart({
    ...o,
    title: 'Hessian minus Gauss–Newton',
    xTitle: 'step',
    yTitle: 'λ(H) − λ(G)',
    series: [
      { label: 'λ1(H) − λ1(G)', field: 'gap1', points: g1, color: PALETTE[0], showPoints: true },
      ...(g2.length > 0 ? [{ label: 'λ2(H) − λ2(G)', field: 'gap2', points: g2, color: PALETTE[1] }] : []),
    ],
    legend: true,
  });
}

/** Top-k Hessian eigenvalues (rows' `eigs`, descending) vs step, with the λ1 threshold dashed when it applies. */
export function eigenvaluesFigure(rows: readonly MetricRow[], o: CurvatureFigureOptions = {}): VlSpec | null {
  const k = Math.max(0, ...rows.map((r) => (Array.isArray(r.eigs) ? r.eigs.length : 0)));
  if (k === 0) return null;
  const series: Series[] = [];
  for (let i = 0; i < k; i++) {
    const pts: XY[] = [];
    for (const r of rows) {
      const v = Array.isArray(r.eigs) ? r.eigs[i] : undefined;
      if (finite(v)) pts.push({ x: r.step, y: v });
    }
    series.push({
      label: `λ${i + 1}`,
      field: `eig_${i + 1}`,
      points: pts,
      color: PALETTE[i % PALETTE.length],
      showPoints: k <= 3,
    });
  }
  const all = series.flatMap((s) => s.points);
  let th: XY[] = [];
  if (runThresholdQuantity(rows, o.config ?? null) === 'sharpness' && all.length > 0) {
    const c = thresholdCoefficient(rows, o.config ?? null, 'sharpness');
    const lo = Math.min(...all.map((p) => p.x));
    const hi = Math.max(...all.map((p) => p.x));
    th = thresholdSeries(rows, 'sharpness', c).filter((p) => p.x >= lo && p.x <= hi);
    if (th.length > 1)
      series.push({
        label: c !== null ? thresholdLabel(c) : 'threshold',
        field: 'threshold',
        points: th,
        color: THRESHOLD_COLOR,
        dash: DASH,
      });
  }
  const range = curvatureRange(
    all.map((p) => p.y),
    th,
  );
  return lineChart({
    ...o,
    title: `Top ${k} Hessian eigenvalue${k > 1 ? 's' : ''}`,
    xTitle: 'step',
    yTitle: 'eigenvalue',
    logY: range === 'log',
    yDomain: range !== 'log' ? range : undefined,
    series,
  });
}

/** |cos| between consecutive top eigenvectors (and the top-k subspace overlap) vs step. */
export function eigvecCosFigure(rows: readonly MetricRow[], o: RunFigureOptions = {}): VlSpec | null {
  return lineChart({
    ...o,
    title: 'Rotation of the top eigenvector',
    xTitle: 'step',
    yTitle: '|cos| / overlap',
    yDomain: [0, 1],
    series: [
      {
        label: '|cos(v1, previous v1)|',
        field: 'eigvec_cos',
        points: seriesOf(rows, 'eigvec_cos'),
        color: PALETTE[2],
        showPoints: true,
      },
      {
        label: 'top-k subspace overlap',
        field: 'subspace_overlap',
        points: seriesOf(rows, 'subspace_overlap'),
        color: PALETTE[5],
        showPoints: true,
      },
    ],
  });
}

/** One metric vs step, on a log y axis when it spans more than 30×. */
function oneMetricFigure(
  rows: readonly MetricRow[],
  o: RunFigureOptions,
  field: 'lr' | 'grad_norm',
  title: string,
  symbol: string,
  color: string,
): VlSpec | null {
  const pts = seriesOf(rows, field);
  const logY = spansDecades(
    pts.map((p) => p.y),
    30,
  );
  return lineChart({
    ...o,
    title,
    xTitle: 'step',
    yTitle: logY ? `${symbol} (log scale)` : symbol,
    logY,
    series: [{ label: symbol, field, points: pts, color }],
  });
}

/** Learning rate vs step (log y when it spans > 30×, e.g. warmup from tiny values). */
export function lrFigure(rows: readonly MetricRow[], o: RunFigureOptions = {}): VlSpec | null {
  return oneMetricFigure(rows, o, 'lr', 'Learning rate', 'η', PALETTE[4]);
}

/** Gradient norm ‖∇L‖ vs step (log y when it spans > 30×). */
export function gradNormFigure(rows: readonly MetricRow[], o: RunFigureOptions = {}): VlSpec | null {
  return oneMetricFigure(rows, o, 'grad_norm', 'Gradient norm', '‖∇L‖', PALETTE[3]);
}

/** At most n items, evenly spaced, always keeping the first and the last. */
export function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return items.slice();
  if (n <= 1) return [items[items.length - 1]];
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]);
}

/**
 * Spectral densities (log y) at the measured steps (up to 8, colored by step); `threshold`, when
 * given, is drawn as a dashed vertical line (the λ1 threshold at the last snapshot's step).
 */
export function densityFigure(
  snapshots: readonly DensitySnapshot[],
  o: RunFigureOptions & { threshold?: { value: number; label: string } | null } = {},
): VlSpec | null {
  const snaps = spread(snapshots, 8);
  const values: Record<string, number>[] = [];
  for (const s of snaps) {
    // SLQ densities are sums of Gaussians whose tails underflow towards 1e-300; a floor at
    // 1e-8 of the peak (values below are drawn at it) keeps the log axis on what carries information.
    const peak = Math.max(0, ...s.density.filter(finite));
    const floor = peak * 1e-8;
    if (!(peak > 0)) continue;
    for (let i = 0; i < s.x.length; i++)
      if (finite(s.x[i]) && finite(s.density[i]))
        values.push({ x: s.x[i], density: Math.max(s.density[i], floor), step: s.step });
  }
  if (values.length === 0) return null;
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 1.4, clip: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'eigenvalue λ', scale: { zero: false, nice: false } },
        y: {
          field: 'density',
          type: 'quantitative',
          title: 'density (log scale)',
          scale: { type: 'log' },
          axis: { format: '~e', tickCount: 8 },
        },
        color: {
          field: 'step',
          type: 'ordinal',
          title: 'step',
          scale: { scheme: 'viridis' },
          legend: { title: 'step', orient: 'right', symbolType: 'stroke' },
        },
      },
    },
  ];
  if (o.threshold && finite(o.threshold.value)) {
    layers.push({
      data: { values: [{ x: o.threshold.value, label: o.threshold.label }] },
      mark: { type: 'rule', color: THRESHOLD_COLOR, strokeDash: DASH, strokeWidth: 1.6 },
      encoding: { x: { field: 'x', type: 'quantitative' } },
    });
    layers.push({
      data: { values: [{ x: o.threshold.value, label: o.threshold.label }] },
      mark: { type: 'text', color: THRESHOLD_COLOR, align: 'left', dx: 4, dy: 4, baseline: 'top', fontSize: 11 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    });
  }
  return { ...frame('Hessian spectral density', o.subtitle, o), layer: layers } as unknown as VlSpec;
}

/** The loss along each direction of one slice snapshot vs t, with the quadratic model L(0) + ½λt² dashed. */
export function slicesFigure(snap: SliceSnapshot, o: RunFigureOptions = {}): VlSpec | null {
  const values: Record<string, number | string>[] = [];
  const model: Record<string, number | string>[] = [];
  const labels: string[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of snap.directions) {
    const label = d.eigenvalue !== null ? `${d.name} (λ = ${Number(d.eigenvalue.toPrecision(4))})` : d.name;
    labels.push(label);
    let l0: number | null = null;
    let best = Infinity;
    snap.t.forEach((t, i) => {
      const y = d.loss[i];
      if (!finite(t) || !finite(y)) return;
      values.push({ t, loss: y, direction: label });
      lo = Math.min(lo, y);
      hi = Math.max(hi, y);
      if (Math.abs(t) < best) {
        best = Math.abs(t);
        l0 = y;
      }
    });
    if (d.eigenvalue !== null && l0 !== null) {
      for (const t of snap.t)
        if (finite(t)) model.push({ t, model: l0 + 0.5 * d.eigenvalue * t * t, direction: label });
    }
  }
  if (values.length === 0) return null;
  const pad = 0.08 * (hi - lo || Math.abs(hi) || 1);
  const y = { type: 'quantitative', title: 'training loss', scale: { domain: [lo - pad, hi + pad] } };
  const color = {
    field: 'direction',
    type: 'nominal',
    scale: { domain: labels, range: PALETTE },
    legend: { title: null },
  };
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 1.8, clip: true },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'distance t along the direction' },
        y: { ...y, field: 'loss' },
        color,
      },
    },
  ];
  if (model.length > 0) {
    layers.push({
      data: { values: model },
      mark: { type: 'line', strokeDash: [3, 3], strokeWidth: 1, opacity: 0.8, clip: true },
      encoding: {
        x: { field: 't', type: 'quantitative' },
        y: { ...y, field: 'model' },
        color: { ...color, legend: null },
      },
    });
  }
  return {
    ...frame(
      `Loss slices at step ${snap.step}`,
      o.subtitle ?? 'solid: L(θ + t·v); dashed: quadratic model L(θ) + ½λt²',
      o,
    ),
    layer: layers,
  } as unknown as VlSpec;
}

/** Heatmap of the loss on the plane of one slice snapshot: loss[i][j] at (a[i], b[j]); θ marked at the origin. */
export function planeFigure(snap: SliceSnapshot, o: RunFigureOptions = {}): VlSpec | null {
  const p = snap.plane;
  if (p === null) return null;
  const edges = (v: number[]): number[] => {
    // Cell edges halfway between grid points (extrapolated at the ends).
    const e: number[] = [];
    for (let i = 0; i <= v.length; i++) {
      if (v.length === 1) e.push(v[0] + (i === 0 ? -0.5 : 0.5));
      else if (i === 0) e.push(v[0] - (v[1] - v[0]) / 2);
      else if (i === v.length) e.push(v[i - 1] + (v[i - 1] - v[i - 2]) / 2);
      else e.push((v[i - 1] + v[i]) / 2);
    }
    return e;
  };
  const ea = edges(p.a);
  const eb = edges(p.b);
  const values: Record<string, number>[] = [];
  for (let i = 0; i < p.a.length; i++) {
    for (let j = 0; j < p.b.length; j++) {
      const l = p.loss[i][j];
      if (finite(l)) values.push({ a0: ea[i], a1: ea[i + 1], b0: eb[j], b1: eb[j + 1], loss: l, edge: l });
    }
  }
  if (values.length === 0) return null;
  const colorScale = {
    scheme: 'viridis',
    ...(spansDecades(
      values.map((v) => v.loss),
      100,
    )
      ? { type: 'log' }
      : {}),
  };
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: 'rect', strokeWidth: 0.6 },
      encoding: {
        x: { field: 'a0', type: 'quantitative', title: 'a', scale: { zero: false, nice: false } },
        x2: { field: 'a1' },
        y: { field: 'b0', type: 'quantitative', title: 'b', scale: { zero: false, nice: false } },
        y2: { field: 'b1' },
        color: {
          field: 'loss',
          type: 'quantitative',
          title: 'loss',
          scale: colorScale,
          legend: { orient: 'right', title: 'loss', type: 'gradient' },
        },
        // Cells stroked in their own color: no antialiasing seams between them. (A field of its
        // own, else Vega-Lite merges the stroke and color legends into a symbol legend.)
        stroke: { field: 'edge', type: 'quantitative', scale: colorScale, legend: null },
      },
    },
    {
      data: { values: [{ a0: 0, b0: 0 }] },
      mark: { type: 'point', shape: 'cross', color: 'white', size: 80, filled: true },
      encoding: { x: { field: 'a0', type: 'quantitative' }, y: { field: 'b0', type: 'quantitative' } },
    },
  ];
  return {
    ...frame(`Loss on a plane at step ${snap.step}`, o.subtitle ?? 'L(θ + a·u + b·w); + marks θ', o),
    layer: layers,
  } as unknown as VlSpec;
}

/** "2/η = 40 on λ1(H)" style description of a run's threshold (null if unknown). */
export function describeThreshold(run: Pick<RunData, 'rows' | 'config'>): string | null {
  const q = runThresholdQuantity(run.rows, run.config);
  const c = thresholdCoefficient(run.rows, run.config, q);
  if (c === null) return null;
  const lr = [...run.rows].reverse().find((r) => finite(r.lr))?.lr;
  const eta =
    finite(lr) && lr > 0
      ? lr
      : configThreshold(run.config) !== null
        ? (run.config!.optimizer as Record<string, number>).lr
        : null;
  const on = q === 'sharpness' ? 'λ1(H)' : 'λ1(P⁻¹H)';
  return eta !== null && eta > 0
    ? `${thresholdLabel(c)} = ${Number((c / eta).toPrecision(4))} on ${on}`
    : `${thresholdLabel(c)} on ${on}`;
}

/** Every figure that the run's data supports, in report order (absent data = no figure). */
export function runFigures(
  run: RunData,
  o: RunFigureOptions & { logLoss?: boolean | 'auto'; maxSliceFigures?: number } = {},
): Figure[] {
  const out: Figure[] = [];
  const add = (id: string, title: string, caption: string, spec: VlSpec | null) => {
    if (spec !== null) out.push({ id, title, caption, spec });
  };
  const rows = run.rows;
  const base = { width: o.width, height: o.height, subtitle: o.subtitle };
  const cfg = { ...base, config: run.config };
  const q = runThresholdQuantity(rows, run.config);
  add(
    'loss',
    'Loss',
    'Training loss at every logged step and test loss where measured.',
    lossFigure(rows, { ...base, logY: o.logLoss }),
  );
  add('accuracy', 'Accuracy', 'Training and test accuracy.', accuracyFigure(rows, base));
  add(
    'sharpness',
    'Sharpness',
    q === 'sharpness'
      ? 'Top Hessian eigenvalue λ1 at the measured steps; dashed: the stability threshold at each step’s learning rate. Under GD the sharpness rises to the threshold and hovers there (edge of stability).'
      : 'Top Hessian eigenvalue λ1 at the measured steps. For this optimizer the stability threshold applies to the preconditioned sharpness (next figure).',
    sharpnessFigure(rows, cfg),
  );
  add(
    'ggn-gap',
    'Hessian minus Gauss–Newton',
    'λ1(H) − λ1(G) (and λ2) at the steps where both were measured: the curvature of the network’s own second derivatives along the top, which the Gauss–Newton matrix G leaves out. G is positive semi-definite; the negative eigenvalues of H come from this part.',
    ggnGapFigure(rows, base),
  );
  add(
    'precond-sharpness',
    'Preconditioned sharpness',
    'λ1(P⁻¹H) with Adam’s preconditioner P; dashed: (2+2β1)/((1−β1)η), where adaptive methods hover (38/η at β1 = 0.9).',
    precondSharpnessFigure(rows, cfg),
  );
  add(
    'eigenvalues',
    'Top eigenvalues',
    'The top-k Hessian eigenvalues (Lanczos) at the measured steps.',
    eigenvaluesFigure(rows, cfg),
  );
  add(
    'eigvec-cos',
    'Eigenvector rotation',
    '|cos| between the top eigenvector and the previous measurement’s (1 = no rotation); drops mark the rotations that instabilities cause.',
    eigvecCosFigure(rows, base),
  );
  add('lr', 'Learning rate', 'The learning rate η used at each step (schedule and warmup).', lrFigure(rows, base));
  add('grad-norm', 'Gradient norm', 'Norm of the full training gradient.', gradNormFigure(rows, base));
  if (run.densities.length > 0) {
    const last = run.densities[run.densities.length - 1];
    let th: { value: number; label: string } | null = null;
    if (q === 'sharpness') {
      const c = thresholdCoefficient(rows, run.config, 'sharpness');
      const near = thresholdSeries(rows, 'sharpness', c).reduce<XY | null>(
        (b, p) => (b === null || Math.abs(p.x - last.step) < Math.abs(b.x - last.step) ? p : b),
        null,
      );
      if (near !== null) th = { value: near.y, label: c !== null ? thresholdLabel(c) : 'threshold' };
    }
    add(
      'density',
      'Spectral density',
      `Hessian eigenvalue density (stochastic Lanczos quadrature) at the measured steps${th !== null ? '; dashed: the λ1 threshold at the last one' : ''}.`,
      densityFigure(run.densities, { ...base, threshold: th }),
    );
  }
  for (const s of spread(run.slices, o.maxSliceFigures ?? 3)) {
    const tag = String(s.step).padStart(6, '0');
    add(
      `slices-step-${tag}`,
      `Loss slices at step ${s.step}`,
      'Training loss along the top eigenvectors (and other directions); dashed: the quadratic model from the eigenvalue.',
      s.directions.length > 0 ? slicesFigure(s, base) : null,
    );
    add(
      `plane-step-${tag}`,
      `Loss plane at step ${s.step}`,
      'Training loss on a 2-D plane through the parameters.',
      planeFigure(s, base),
    );
  }
  return out;
}
