/**
 * Figures the study reports add to the sweep report's own (which already has every run's
 * sharpness with its threshold, final sharpness and test accuracy against η): curvature/threshold
 * ratios, ρ_t (|cos| of successive top eigenvectors) and losses of all runs on one chart each.
 */
import { lineChart, PALETTE, THRESHOLD_COLOR, DASH, type Series } from '../report/spec.ts';
import type { StudyFigure, StudyRun } from './study.ts';
import { ratioSeries, seriesOf } from './measures.ts';

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
  const spec = lineChart({
    title: o.title,
    xTitle: 'step',
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
