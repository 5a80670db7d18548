/**
 * Figures the study reports add to the sweep report's own (which already has every run's
 * sharpness with its threshold, final sharpness and test accuracy against η): curvature/threshold
 * ratios, ρ_t (|cos| of successive top eigenvectors) and losses of all runs on one chart each.
 */
import { lineChart, PALETTE, THRESHOLD_COLOR, DASH, type Series } from '../report/spec.ts';
import type { StudyFigure, StudyRun } from './study.ts';
import { median, ratioSeries, seriesOf, type Point } from './measures.ts';

const color = (i: number) => PALETTE[i % PALETTE.length]!;
const field = (i: number) => `y${i}`;

/** One line per run of `key` against step; null if no run has it. */
export function perRunFigure(
  runs: readonly StudyRun[],
  o: {
    id: string;
    title: string;
    caption: string;
    key: string;
    yTitle: string;
    label?: (r: StudyRun) => string;
    logY?: boolean;
    yDomain?: [number, number];
    ruleY?: number;
    ratioTo?: string;
  },
): StudyFigure | null {
  const series: Series[] = runs.map((r, i) => {
    const pts = o.ratioTo !== undefined ? ratioSeries(r.rows, o.key, o.ratioTo) : seriesOf(r.rows, o.key);
    return {
      label: (o.label ?? ((x: StudyRun) => x.name))(r),
      field: field(i),
      points: pts.map((p) => ({ x: p.step, y: p.value })),
      color: color(i),
      strokeWidth: 1.3,
    };
  });
  return stepFigure(o, series);
}

/** A figure of `series` against step, with a dashed threshold rule at `ruleY`; null if no series has a point. */
function stepFigure(
  o: {
    id: string;
    title: string;
    caption: string;
    yTitle: string;
    xTitle?: string;
    logY?: boolean;
    yDomain?: [number, number];
    ruleY?: number;
  },
  series: Series[],
): StudyFigure | null {
  const spec = lineChart({
    title: o.title,
    xTitle: o.xTitle ?? 'step',
    yTitle: o.yTitle,
    series,
    logY: o.logY,
    yDomain: o.yDomain,
    rules: o.ruleY !== undefined ? [{ y: o.ruleY, color: THRESHOLD_COLOR, dash: DASH }] : [],
    legend: true,
  });
  return spec === null ? null : { id: o.id, title: o.title, caption: o.caption, spec };
}

/** Drops the nulls. */
export function present(figs: ReadonlyArray<StudyFigure | null>): StudyFigure[] {
  return figs.filter((f): f is StudyFigure => f !== null);
}

/**
 * One line per cell (e.g. a learning rate over its seeds): at each step, the median over the
 * cell's runs of `series(run)`, with their min–max as a band; with `bin`, each run's series is
 * first averaged over consecutive bins of that many steps (noisy every-step quantities). Steps
 * that fewer than half of a cell's runs reached are left out. Null if nothing is left.
 */
export function medianBandFigure(
  runs: readonly StudyRun[],
  o: {
    id: string;
    title: string;
    caption: string;
    yTitle: string;
    /** The x axis (default 'step'), e.g. steps since a run reached its full η. */
    xTitle?: string;
    cell: (r: StudyRun) => { key: string; label: string; order: number };
    series: (r: StudyRun) => Point[];
    bin?: number;
    logY?: boolean;
    ruleY?: number;
  },
): StudyFigure | null {
  const cells = new Map<string, { label: string; order: number; runs: StudyRun[] }>();
  for (const r of runs) {
    const c = o.cell(r);
    (cells.get(c.key) ?? cells.set(c.key, { label: c.label, order: c.order, runs: [] }).get(c.key)!).runs.push(r);
  }
  const binned = (pts: Point[]): Point[] => {
    if (o.bin === undefined) return pts;
    const sums = new Map<number, { s: number; n: number }>();
    for (const p of pts) {
      const k = Math.floor(p.step / o.bin) * o.bin;
      const c = sums.get(k) ?? sums.set(k, { s: 0, n: 0 }).get(k)!;
      c.s += p.value;
      c.n++;
    }
    return [...sums.entries()].map(([step, c]) => ({ step, value: c.s / c.n }));
  };
  const series: Series[] = [...cells.values()]
    .sort((a, b) => a.order - b.order)
    .map((c, i) => {
      const at = new Map<number, number[]>();
      for (const r of c.runs)
        for (const p of binned(o.series(r)))
          if (Number.isFinite(p.value) && (!o.logY || p.value > 0))
            (at.get(p.step) ?? at.set(p.step, []).get(p.step)!).push(p.value);
      const m = [...at.entries()]
        .filter(([, v]) => 2 * v.length >= c.runs.length)
        .sort((a, b) => a[0] - b[0])
        .map(([x, v]) => ({ x, y: median(v), lo: Math.min(...v), hi: Math.max(...v) }));
      return {
        label: `${c.label} (${c.runs.length} run${c.runs.length === 1 ? '' : 's'})`,
        field: field(i),
        points: m.map((p) => ({ x: p.x, y: p.y })),
        band: m.map((p) => ({ x: p.x, lo: p.lo, hi: p.hi })),
        color: color(i),
        strokeWidth: 1.4,
      };
    });
  return stepFigure(o, series);
}
