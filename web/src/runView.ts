/**
 * One run: headline numbers, the sharpness against its stability threshold, and the other
 * training curves, updated live as metrics.jsonl grows. The parts are in run/: the data
 * (runData.ts, mergeRows.ts), the stat tiles (runStats.ts), the config chips
 * (configSummary.ts), the metric charts (chartDefs.ts, runCharts.ts) and the curvature cards
 * (curvatureCards.ts).
 */
import type { MetricRowView, RowsEvent, RunEntry, RunStatusName } from '../../src/server/types.ts';
import { runUrl, subscribe } from './api.ts';
import { axisToggles, statusBadge, type ViewHandle } from './components.ts';
import { h } from './dom.ts';
import { configSummary } from './run/configSummary.ts';
import { CurvatureCards } from './run/curvatureCards.ts';
import { RunCharts } from './run/runCharts.ts';
import { mergeRows } from './run/mergeRows.ts';
import { loadRun } from './run/runData.ts';
import { runStats } from './run/runStats.ts';
import { formatHash, type Route } from './state.ts';

/** Mounts the view of run `route.id` in `app`. */
export function runView(app: HTMLElement, route: Route): ViewHandle {
  const id = route.id;
  let current = route;
  let rows: MetricRowView[] = [];
  let entry: RunEntry | null = null;
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
  const curvature = new CurvatureCards(curvGrid, id, {
    rows: () => rows,
    threshold: () => entry?.threshold ?? null,
    log: () => current.log,
  });
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
    stats.replaceChildren(...runStats(rows, entry?.threshold ?? null, entry?.total_steps ?? null));
    const last = rows[rows.length - 1];
    lastStep.textContent = last ? String(last.step) : '–';
  };

  const onRows = (ev: RowsEvent): void => {
    rows = mergeRows(rows, ev);
    renderStats();
    charts.setRows(rows, entry?.threshold ?? null);
    curvature.schedule();
  };

  const start = async (): Promise<void> => {
    renderControls();
    try {
      const run = await loadRun(id);
      if (destroyed) return;
      entry = run.entry;
      rows = run.metrics.rows;
      if (entry?.sweep)
        crumb.replaceChildren(
          h('a', { href: formatHash({ view: 'sweep', id: entry.sweep }) }, `sweep ${entry.sweep}`),
          ' / ',
        );
      else crumb.replaceChildren(h('a', { href: '#/' }, 'runs'), ' / ');
      renderHeader(entry?.status ?? 'unknown', entry?.reason ?? null);
      if (run.metrics.skipped_lines > 0)
        message.textContent = `${run.metrics.skipped_lines} damaged line(s) in metrics.jsonl were skipped.`;
      if (run.config !== null) configEl.replaceChildren(...configSummary(run.config));
      renderStats();
      charts.setRows(rows, entry?.threshold ?? null);
      if (rows.length === 0) message.textContent = 'No metrics yet.';
      void curvature.load();
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
        curvature.reload();
      }
    },
    destroy() {
      destroyed = true;
      unsubscribe?.();
      charts.destroy();
      curvature.destroy();
    },
  };
}
