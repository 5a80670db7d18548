/** The run's charts drawn from chartDefs.ts, in a grid of cards (shared by the run view and the Lab). */
import type { MetricRowView, ThresholdInfo } from '../../../src/server/types.ts';
import { Chart } from '../charts.ts';
import { card } from '../components.ts';
import { chartDefs, columnsOf, present, xColumn, type ChartDef } from './chartDefs.ts';

type Row = MetricRowView;

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
