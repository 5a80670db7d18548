/**
 * The run view's curvature cards, loaded from the server apart from the metric rows: the Hessian
 * spectral density and the loss along eigenvectors, each with a step picker.
 */
import type { DensityResponse, MetricRowView, SlicesResponse, ThresholdInfo } from '../../../src/server/types.ts';
import { api } from '../api.ts';
import { Chart, PALETTE, SHARPNESS_COLOR, THRESHOLD_COLOR } from '../charts.ts';
import { card } from '../components.ts';
import { h } from '../dom.ts';
import { fmt } from '../format.ts';
import { thresholdAt } from './chartDefs.ts';

/** What the cards read from the run view when they draw: its rows, threshold and y scale. */
export interface CurvatureContext {
  rows(): readonly MetricRowView[];
  threshold(): ThresholdInfo | null;
  log(): boolean;
}

/** A `<select>` of steps that calls `onPick` with the chosen one. */
function stepSelect(steps: number[], selected: number, onPick: (s: number) => void): HTMLElement {
  const sel = h('select', { 'aria-label': 'step' });
  for (const s of steps) sel.append(h('option', { value: s, selected: s === selected }, `step ${s}`));
  sel.addEventListener('change', () => onPick(Number(sel.value)));
  return sel;
}

/** The density and slices cards of run `id` in `grid`. */
export class CurvatureCards {
  private charts: Chart[] = [];
  /** The steps and scale last drawn, so a reload that brings nothing new redraws nothing. */
  private shown = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;

  constructor(
    private readonly grid: HTMLElement,
    private readonly id: string,
    private readonly ctx: CurvatureContext,
  ) {}

  /** Fetches density and slices and redraws the cards when their steps (or the scale) changed. */
  async load(): Promise<void> {
    const id = this.id;
    const [density, slices] = await Promise.all([api.density(id).catch(() => null), api.slices(id).catch(() => null)]);
    if (this.destroyed) return;
    const sig = JSON.stringify([density?.steps, slices?.steps, this.ctx.log()]);
    if (sig === this.shown) return;
    this.shown = sig;
    for (const c of this.charts) c.destroy();
    this.charts = [];
    this.grid.replaceChildren();
    if (density !== null && density.current !== null) this.showDensity(density);
    if (slices !== null && slices.current !== null) this.showSlices(slices);
  }

  /** Loads now and redraws even if the steps did not change (the axes did). */
  reload(): void {
    this.shown = '';
    void this.load();
  }

  /** Loads in 3 s unless a load is already due: rows stream faster than new curvature files appear. */
  schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.load();
    }, 3000);
  }

  /** Stops pending loads and removes the charts. */
  destroy(): void {
    this.destroyed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const c of this.charts) c.destroy();
  }

  private showDensity(d: DensityResponse): void {
    const cur = d.current;
    if (cur === null) return;
    const { el, body, head } = card(
      `Hessian spectral density`,
      'Stochastic Lanczos quadrature; the dashed line is the stability threshold at that step.',
      { key: 'density' },
    );
    this.grid.append(el);
    const rows = this.ctx.rows();
    const threshold = this.ctx.threshold();
    const row = rows.find((r) => r.step >= cur.step) ?? rows[rows.length - 1];
    const thr = row ? thresholdAt(row, threshold) : null;
    const chart = new Chart(
      body,
      {
        key: 'density',
        xLabel: 'eigenvalue',
        series: [{ label: `density (step ${cur.step})`, color: SHARPNESS_COLOR, breakGaps: true }],
        logY: this.ctx.log(),
        vlines:
          thr !== null && threshold?.quantity !== 'preconditioned_sharpness'
            ? [{ x: thr, color: THRESHOLD_COLOR, label: threshold?.label ?? '2/η' }]
            : [],
        height: 220,
      },
      [cur.x, cur.density],
    );
    this.charts.push(chart);
    head.append(
      stepSelect(d.steps, cur.step, (s) => {
        api.density(this.id, s).then(
          (n) => {
            if (n.current !== null) chart.setData([n.current.x, n.current.density]);
          },
          () => undefined,
        );
      }),
    );
  }

  private showSlices(s: SlicesResponse): void {
    const cur = s.current;
    if (cur === null) return;
    const { el, body, head } = card(
      'Loss along eigenvectors',
      'L(θ + t·v) for top eigenvectors v (and a random direction): curvature made visible.',
      { key: 'slices' },
    );
    this.grid.append(el);
    const spec = (dirs: typeof cur.directions) =>
      dirs.map((d, i) => ({
        label: d.eigenvalue === null ? d.name : `${d.name} (λ=${fmt(d.eigenvalue, 3)})`,
        color: PALETTE[i % PALETTE.length],
        breakGaps: true,
      }));
    const chart = new Chart(
      body,
      { key: 'slices', xLabel: 't', series: spec(cur.directions), logY: this.ctx.log(), height: 220 },
      [cur.t, ...cur.directions.map((d) => d.loss)],
    );
    this.charts.push(chart);
    head.append(
      stepSelect(s.steps, cur.step, (step) => {
        api.slices(this.id, step).then(
          (n) => {
            if (n.current !== null && n.current.directions.length === cur.directions.length)
              chart.setData([n.current.t, ...n.current.directions.map((d) => d.loss)]);
          },
          () => undefined,
        );
      }),
    );
  }
}
