/**
 * What the run's charts show, as data: one definition per chart (title, note, series and how
 * each series reads a metric row), the x column, and the threshold at a row. runCharts.ts
 * draws them; the run view and the Lab feed both the same rows.
 */
import type { MetricRowView, ThresholdInfo } from '../../../src/server/types.ts';
import { GGN_COLOR, PALETTE, SHARPNESS_COLOR, THRESHOLD_COLOR, type ChartData } from '../charts.ts';
import { num } from '../format.ts';

type Row = MetricRowView;
const TRAIN = PALETTE[0];
const TEST = PALETTE[1];

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

/** One line of a chart: its legend, colour, dash (dashed lines are references, e.g. the threshold) and value at a row. */
export interface SeriesDef {
  label: string;
  color: string;
  dash?: number[];
  get: (r: Row) => number | null;
}

/** One chart card: key (data-card), title, note, layout and scale options, and its series. */
export interface ChartDef {
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
export function thresholdAt(r: Row, t: ThresholdInfo | null): number | null {
  const logged = num(r.threshold);
  if (logged !== null) return logged;
  const lr = num(r.lr);
  return t !== null && lr !== null && lr > 0 ? t.coefficient / lr : null;
}

/** Every chart the run view can show for these rows and threshold (Adam's preconditioned sharpness, GGN and top-k adapt). */
export function chartDefs(rows: readonly Row[], t: ThresholdInfo | null): ChartDef[] {
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

/** A chart's data: the x column, then one column per series. */
export function columnsOf(def: ChartDef, rows: readonly Row[], x: number[]): ChartData {
  return [x, ...def.series.map((s) => rows.map((r) => s.get(r)))];
}

/** Series that have at least one value (a chart shows only what was measured). */
export function present(def: ChartDef, rows: readonly Row[]): ChartDef | null {
  const measured = def.series.filter((s) => s.dash !== undefined || rows.some((r) => s.get(r) !== null));
  const real = measured.filter((s) => s.dash === undefined);
  return real.length === 0 ? null : { ...def, series: measured };
}
