/** The start page: sweeps and runs, a filter, live status. */
import type { RunsResponse } from '../../src/server/types.ts';
import { api, subscribe } from './api.ts';
import { matches, RunsTable, type ViewHandle } from './components.ts';
import { h } from './dom.ts';
import { formatHash, type Route } from './state.ts';

export function listView(app: HTMLElement, route: Route): ViewHandle {
  let data: RunsResponse | null = null;
  let q = route.q;

  const filter = h('input', {
    type: 'search',
    class: 'filter',
    placeholder: 'Filter runs: adam, diverged, lr=0.05, warmup_steps=50 …',
    value: q,
    'aria-label': 'Filter runs',
    'data-testid': 'filter',
  });
  const counts = h('div', { class: 'counts', 'data-testid': 'counts' });
  const sweepsEl = h('div', { class: 'sweeps' });
  const table = new RunsTable({ showSweep: true, empty: 'No runs match.' });
  const message = h('p', { class: 'message' });
  app.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Runs'), counts), filter),
    sweepsEl,
    message,
    h('div', { class: 'table-wrap' }, table.el),
  );

  const render = (): void => {
    if (data === null) return;
    const runs = data.runs.filter((r) => matches(r, q));
    const running = data.runs.filter((r) => r.status === 'running').length;
    const n = (k: number, w: string): string => `${k} ${w}${k === 1 ? '' : 's'}`;
    counts.textContent = `${n(data.runs.length, 'run')} · ${running} running · ${n(data.sweeps.length, 'sweep')}${q ? ` · ${runs.length} shown` : ''}`;
    sweepsEl.replaceChildren(
      ...data.sweeps.map((s) => {
        const rs = data?.runs.filter((r) => r.sweep === s.id) ?? [];
        const dots = h(
          'div',
          { class: 'dots' },
          ...rs.map((r) => h('span', { class: `dot status-${r.status}`, title: `${r.name}: ${r.status}` })),
        );
        return h(
          'a',
          { class: 'sweep-card', href: formatHash({ view: 'sweep', id: s.id }), 'data-sweep': s.id },
          h('div', { class: 'sweep-title' }, s.name),
          h(
            'div',
            { class: 'sweep-meta' },
            `${s.runs} runs · varies ${s.varied.length === 0 ? 'nothing' : s.varied.join(', ')}`,
          ),
          dots,
        );
      }),
    );
    table.render(runs);
    message.textContent =
      data.runs.length === 0
        ? 'No runs in this directory yet. Start one with `edgewise train` or `edgewise sweep`; it appears here as soon as it writes its first files.'
        : '';
  };

  filter.addEventListener('input', () => {
    q = filter.value;
    // Keep the filter in the URL without re-rendering (replaceState fires no hashchange).
    history.replaceState(null, '', formatHash({ view: 'list', q }));
    render();
  });

  api
    .runs()
    .then((d) => {
      data = d;
      render();
    })
    .catch((e: Error) => (message.textContent = `Cannot load runs: ${e.message}`));
  const unsubscribe = subscribe('api/events', {
    runs: (d) => {
      data = d as RunsResponse;
      render();
    },
  });
  // Relative times ("5 s ago") age even without changes.
  const tick = setInterval(render, 10_000);

  return {
    update(r) {
      if (r.q !== q) {
        q = r.q;
        filter.value = q;
        render();
      }
    },
    destroy() {
      clearInterval(tick);
      unsubscribe();
    },
  };
}
