/** Pieces shared by the views: cards, status badges, toggles, the runs table. */
import type { RunEntry, RunStatusName } from '../../src/server/types.ts';
import { h } from './dom.ts';
import { ago, fmt, pct, showValue } from './format.ts';
import { formatHash, type Route } from './state.ts';

/** A view mounted in #app; update() gets a new route for the same view and id. */
export interface ViewHandle {
  update(route: import('./state.ts').Route): void;
  destroy(): void;
}

/** A titled card; returns the card and its body. */
export function card(
  title: string,
  note?: string,
  opts: { wide?: boolean; key?: string } = {},
): { el: HTMLElement; body: HTMLElement; head: HTMLElement } {
  const head = h('div', { class: 'card-head' }, h('h3', {}, title), note ? h('p', { class: 'note' }, note) : null);
  const body = h('div', { class: 'card-body' });
  const el = h('section', { class: `card${opts.wide ? ' wide' : ''}`, 'data-card': opts.key }, head, body);
  return { el, body, head };
}

export function statusBadge(status: RunStatusName, reason?: string | null): HTMLElement {
  return h('span', { class: `badge status-${status}`, title: reason ?? undefined, 'data-status': status }, status);
}

/** A two-or-more-way segmented toggle. */
export function segmented<T extends string>(
  label: string,
  options: ReadonlyArray<[T, string]>,
  value: T,
  onChange: (v: T) => void,
  testId?: string,
): HTMLElement {
  const group = h('div', { class: 'segmented', role: 'group', 'aria-label': label, 'data-testid': testId });
  for (const [v, text] of options) {
    const b = h(
      'button',
      {
        type: 'button',
        class: v === value ? 'on' : '',
        'aria-pressed': v === value ? 'true' : 'false',
        'data-value': v,
      },
      text,
    );
    b.addEventListener('click', () => {
      if (v !== value) onChange(v);
    });
    group.append(b);
  }
  return h('div', { class: 'control' }, h('span', { class: 'control-label' }, label), group);
}

export function stat(label: string, value: string, sub?: string, testId?: string): HTMLElement {
  return h(
    'div',
    { class: 'stat', 'data-testid': testId },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    sub ? h('div', { class: 'stat-sub' }, sub) : null,
  );
}

/** λ₁/threshold from a list entry (only where the final sharpness is the compared quantity). */
export function edgeRatio(r: RunEntry): number | null {
  if (r.threshold === null || r.threshold.quantity !== 'sharpness' || r.final.sharpness === null || r.lr === null)
    return null;
  return (r.final.sharpness * r.lr) / r.threshold.coefficient;
}

type SortKey =
  'id' | 'status' | 'optimizer' | 'lr' | 'steps' | 'train_loss' | 'test_acc' | 'sharpness' | 'ratio' | 'updated';

const COLUMNS: Array<{ key: SortKey; label: string; title?: string; num?: boolean }> = [
  { key: 'id', label: 'Run' },
  { key: 'status', label: 'Status' },
  { key: 'optimizer', label: 'Optimizer' },
  { key: 'lr', label: 'η', title: 'peak learning rate', num: true },
  { key: 'steps', label: 'Steps', num: true },
  { key: 'train_loss', label: 'Train loss', num: true },
  { key: 'test_acc', label: 'Test acc.', num: true },
  { key: 'sharpness', label: 'Sharpness λ₁', num: true },
  {
    key: 'ratio',
    label: 'λ₁ ÷ 2/η',
    title: 'final sharpness over the GD stability threshold (1 = at the edge)',
    num: true,
  },
  { key: 'updated', label: 'Updated', num: true },
];

function sortValue(r: RunEntry, k: SortKey): number | string {
  switch (k) {
    case 'id':
      return r.id;
    case 'status':
      return r.status;
    case 'optimizer':
      return r.optimizer ?? '';
    case 'lr':
      return r.lr ?? -Infinity;
    case 'steps':
      return r.steps ?? -Infinity;
    case 'train_loss':
      return r.final.train_loss ?? Infinity;
    case 'test_acc':
      return r.final.test_acc ?? -Infinity;
    case 'sharpness':
      return r.final.sharpness ?? -Infinity;
    case 'ratio':
      return edgeRatio(r) ?? -Infinity;
    case 'updated':
      return r.updated_at ?? '';
  }
}

/** Text a filter matches against: id, status, optimizer, lr, grid values. */
export function searchText(r: RunEntry): string {
  const params = r.params
    ? Object.entries(r.params).map(([k, v]) => `${k}=${showValue(v)} ${k.split('.').pop()}=${showValue(v)}`)
    : [];
  return [r.id, r.status, r.optimizer ?? '', r.lr === null ? '' : `lr=${r.lr} η=${r.lr} ${r.lr}`, ...params]
    .join(' ')
    .toLowerCase();
}

/** True if every whitespace-separated term of `q` occurs in the run's search text. */
export function matches(r: RunEntry, q: string): boolean {
  const text = searchText(r);
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t !== '')
    .every((t) => text.includes(t));
}

/** A sortable table of runs; call render(runs) to (re)fill it. */
export class RunsTable {
  readonly el: HTMLTableElement;
  private readonly tbody: HTMLTableSectionElement;
  private sort: { key: SortKey; dir: 1 | -1 } | null = null;
  private runs: RunEntry[] = [];

  constructor(private readonly opts: { showSweep: boolean; empty: string }) {
    const tr = h('tr');
    for (const c of COLUMNS) {
      const th = h('th', { class: c.num ? 'num' : '', title: c.title, 'data-col': c.key }, c.label);
      th.addEventListener('click', () => {
        this.sort =
          this.sort?.key === c.key
            ? { key: c.key, dir: this.sort.dir === 1 ? -1 : 1 }
            : { key: c.key, dir: c.num ? -1 : 1 };
        this.render(this.runs);
      });
      tr.append(th);
    }
    this.tbody = h('tbody');
    this.el = h('table', { class: 'runs', 'data-testid': 'runs-table' }, h('thead', {}, tr), this.tbody);
  }

  render(runs: RunEntry[]): void {
    this.runs = runs;
    const rows = [...runs];
    if (this.sort !== null) {
      const { key, dir } = this.sort;
      rows.sort((a, b) => {
        const x = sortValue(a, key);
        const y = sortValue(b, key);
        return (x < y ? -1 : x > y ? 1 : 0) * dir;
      });
    }
    const sort = this.sort;
    for (const th of this.el.querySelectorAll('th')) {
      const on = sort !== null && sort.key === th.dataset.col;
      th.classList.toggle('sorted', on);
      th.dataset.dir = on ? String(sort.dir) : '';
    }
    this.tbody.replaceChildren(
      ...(rows.length === 0
        ? [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' }, this.opts.empty))]
        : rows.map((r) => this.row(r))),
    );
  }

  private row(r: RunEntry): HTMLTableRowElement {
    const href = formatHash({ view: 'run', id: r.id });
    const name = h(
      'a',
      { href, class: 'run-link' },
      this.opts.showSweep && r.sweep ? h('span', { class: 'sweep-prefix' }, `${r.sweep}/`) : null,
      r.name,
    );
    const progress =
      r.total_steps && r.steps !== null && r.status === 'running'
        ? h(
            'div',
            { class: 'progress' },
            h('div', {
              class: 'progress-bar',
              style: `width:${Math.min(100, (100 * r.steps) / r.total_steps).toFixed(1)}%`,
            }),
          )
        : null;
    const ratio = edgeRatio(r);
    const tr = h(
      'tr',
      { 'data-run': r.id },
      h('td', { class: 'name' }, name),
      h('td', {}, statusBadge(r.status, r.reason)),
      h('td', {}, r.optimizer ?? '–'),
      h('td', { class: 'num' }, fmt(r.lr)),
      h(
        'td',
        { class: 'num' },
        h('span', {}, r.steps === null ? '–' : `${r.steps}${r.total_steps ? ` / ${r.total_steps}` : ''}`),
        progress,
      ),
      h('td', { class: 'num' }, fmt(r.final.train_loss)),
      h('td', { class: 'num' }, pct(r.final.test_acc)),
      h('td', { class: 'num' }, fmt(r.final.sharpness)),
      h(
        'td',
        { class: `num${ratio !== null && ratio > 0.9 ? ' at-edge' : ''}` },
        ratio === null ? '–' : ratio.toFixed(2),
      ),
      h('td', { class: 'num muted', title: r.updated_at ?? '' }, ago(r.updated_at)),
    );
    tr.addEventListener('click', (ev) => {
      if ((ev.target as HTMLElement).closest('a') === null) location.hash = href;
    });
    return tr;
  }
}

/** The x-axis (steps or η·t) and y-axis (linear or log) toggles of the chart views, kept in the route. */
export function axisToggles(current: Route, navigate: (patch: Partial<Route>) => void): HTMLElement[] {
  return [
    segmented(
      'x-axis',
      [
        ['steps', 'steps'],
        ['time', 'η·t'],
      ],
      current.x,
      (x) => navigate({ x }),
      'x-mode',
    ),
    segmented(
      'y-axis',
      [
        ['lin', 'linear'],
        ['log', 'log'],
      ],
      current.log ? 'log' : 'lin',
      (v) => navigate({ log: v === 'log' }),
      'log-scale',
    ),
  ];
}
