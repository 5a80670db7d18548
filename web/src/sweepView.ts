/**
 * One sweep: sharpness curves of its runs overlaid, final sharpness and test accuracy against the
 * learning rate, and the largest learning rate that still trains for each variant (the runs that
 * differ only in η).
 */
import type { MetricRowView, RunsResponse, SweepResponse } from '../../src/server/types.ts';
import { api, subscribe } from './api.ts';
import { Chart, PALETTE, THRESHOLD_COLOR, type ChartData } from './charts.ts';
import { axisToggles, card, RunsTable, type ViewHandle } from './components.ts';
import { h } from './dom.ts';
import { fmt, num, showValue } from './format.ts';
import { xColumn } from './run/chartDefs.ts';
import { formatHash, type Route } from './state.ts';

const DASHES: Array<number[] | undefined> = [undefined, [8, 4], [2, 3], [12, 3, 2, 3]];

/** Aligns several (x, y) series on the union of their x values (uPlot needs one x column). */
export function align(series: ReadonlyArray<{ x: number[]; y: Array<number | null> }>): ChartData {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const col: Array<number | null> = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((x, i) => (col[at.get(x) as number] = s.y[i]));
    return col;
  });
  return [xs, ...cols];
}

export function sweepView(app: HTMLElement, route: Route): ViewHandle {
  const id = route.id;
  let current = route;
  let sweep: SweepResponse | null = null;
  const curves = new Map<string, MetricRowView[]>();
  let charts: Chart[] = [];
  let destroyed = false;

  const title = h('h1', {}, id);
  const meta = h('div', { class: 'crumb' }, h('a', { href: '#/' }, 'runs'), ' / sweep');
  const controls = h('div', { class: 'controls' });
  const gridInfo = h('div', { class: 'chips' });
  const variantsEl = h('div');
  const chartsEl = h('div', { class: 'grid' });
  const table = new RunsTable({ showSweep: false, empty: 'No runs.' });
  const message = h('p', { class: 'message' });
  app.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {}, meta, h('div', { class: 'title-row' }, title))),
    gridInfo,
    h('div', { class: 'toolbar' }, controls),
    message,
    variantsEl,
    chartsEl,
    h('div', { class: 'table-wrap' }, table.el),
  );

  const navigate = (patch: Partial<Route>): void => {
    location.hash = formatHash({ ...current, ...patch });
  };

  const renderControls = (): void => {
    controls.replaceChildren(...axisToggles(current, navigate));
  };

  const lrColor = (lr: number | null, lrs: number[]): string =>
    PALETTE[Math.max(0, lrs.indexOf(lr ?? NaN)) % PALETTE.length];

  const renderVariants = (s: SweepResponse): void => {
    const c = card(
      'Largest stable learning rate',
      'Per variant (runs that differ only in η): the largest η that completed, and the smallest larger η that diverged.',
      { key: 'variants' },
    );
    const tbody = h('tbody');
    for (const v of s.variants) {
      tbody.append(
        h(
          'tr',
          { 'data-variant': v.label },
          h('td', {}, v.label),
          h(
            'td',
            {},
            h(
              'div',
              { class: 'lr-steps' },
              ...v.runs.map((r) =>
                h(
                  'a',
                  { href: formatHash({ view: 'run', id: r.id }), class: `lr-pill status-${r.status}`, title: r.status },
                  `η=${fmt(r.lr)}`,
                ),
              ),
            ),
          ),
          h('td', { class: 'num strong', 'data-testid': 'max-stable-lr' }, fmt(v.max_stable_lr)),
          h('td', { class: 'num' }, fmt(v.min_unstable_lr)),
        ),
      );
    }
    c.body.append(
      h(
        'table',
        { class: 'variants' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Variant'),
            h('th', {}, 'Runs by η'),
            h('th', { class: 'num' }, 'max stable η'),
            h('th', { class: 'num' }, 'first unstable η'),
          ),
        ),
        tbody,
      ),
    );
    variantsEl.replaceChildren(c.el);
  };

  const buildCharts = (): void => {
    for (const ch of charts) ch.destroy();
    charts = [];
    chartsEl.replaceChildren();
    const s = sweep;
    if (s === null) return;
    const lrs = [...new Set(s.runs.map((r) => r.lr).filter((v): v is number => v !== null))].sort((a, b) => a - b);
    const variantOf = new Map<string, number>();
    s.variants.forEach((v, i) => v.runs.forEach((r) => variantOf.set(r.id, i)));
    const pre = s.runs.some((r) => r.threshold?.quantity === 'preconditioned_sharpness');
    const key = pre ? 'precond_sharpness' : 'sharpness';
    const label = (r: SweepResponse['runs'][number]): string => {
      const others = Object.entries(r.params ?? {}).filter(([k]) => k !== 'optimizer.lr');
      return [`η=${fmt(r.lr)}`, ...others.map(([k, v]) => `${k.split('.').pop()}=${showValue(v)}`)].join(' ');
    };

    // Overlaid sharpness curves, with each η's threshold as a dashed line of the same color.
    const series: Array<{ x: number[]; y: Array<number | null> }> = [];
    const specs: Array<{ label: string; color: string; dash?: number[]; width?: number }> = [];
    for (const r of s.runs) {
      const rows = curves.get(r.id) ?? [];
      const x = xColumn(rows, current.x);
      const keep = rows.map((row) => num(row[key]) !== null);
      series.push({ x: x.filter((_, i) => keep[i]), y: rows.filter((_, i) => keep[i]).map((row) => num(row[key])) });
      specs.push({
        label: label(r),
        color: lrColor(r.lr, lrs),
        dash: DASHES[(variantOf.get(r.id) ?? 0) % DASHES.length],
      });
    }
    const data = align(series);
    const thresholds = new Map<number, string>();
    for (const r of s.runs)
      if (r.lr !== null && r.threshold !== null) thresholds.set(r.lr, `${r.threshold.label} (η=${fmt(r.lr)})`);
    const coef = s.runs.find((r) => r.threshold !== null)?.threshold?.coefficient ?? 2;
    const xs = data[0];
    const cols: ChartData = [...data] as ChartData;
    for (const [lr, l] of thresholds) {
      cols.push(xs.map(() => coef / lr));
      specs.push({ label: l, color: lrColor(lr, lrs), dash: [3, 3], width: 1 });
    }
    const c1 = card(
      pre ? 'Preconditioned sharpness of every run' : 'Sharpness of every run',
      'Color: η. Dashed: each η’s stability threshold. Line style: variant.',
      { wide: true, key: 'sweep-sharpness' },
    );
    chartsEl.append(c1.el);
    charts.push(
      new Chart(
        c1.body,
        {
          key: 'sweep-sharpness',
          xLabel: current.x === 'time' ? 'η·t' : 'step',
          series: specs,
          logY: current.log,
          height: 320,
        },
        cols,
      ),
    );

    // Final values against η, one marker series per variant, plus the threshold curve.
    const perVariant = (get: (r: SweepResponse['runs'][number]) => number | null): Array<Array<number | null>> =>
      s.variants.map((v) =>
        lrs.map((lr) => {
          const run = s.runs.find((r) => r.lr === lr && v.runs.some((vr) => vr.id === r.id));
          return run === undefined ? null : get(run);
        }),
      );
    const variantSpecs = s.variants.map((v, i) => ({
      label: v.label,
      color: PALETTE[i % PALETTE.length],
      scatter: true,
    }));
    const finalSharpness = (r: SweepResponse['runs'][number]): number | null => {
      const rows = curves.get(r.id) ?? [];
      for (let i = rows.length - 1; i >= 0; i--) {
        const v = num(rows[i][key]);
        if (v !== null) return v;
      }
      return pre ? null : r.final.sharpness;
    };
    const c2 = card(
      pre ? 'Final preconditioned sharpness vs. η' : 'Final sharpness vs. η',
      `Last measured ${pre ? 'λ₁(P⁻¹H)' : 'λ₁'} of each run; at the edge of stability it sits on the dashed ${s.runs[0]?.threshold?.label ?? '2/η'} curve.`,
      { key: 'sweep-final-sharpness' },
    );
    chartsEl.append(c2.el);
    charts.push(
      new Chart(
        c2.body,
        {
          key: 'sweep-final-sharpness',
          xLabel: 'η',
          series: [
            ...variantSpecs,
            { label: s.runs[0]?.threshold?.label ?? '2/η', color: THRESHOLD_COLOR, dash: [6, 4] },
          ],
          logX: true,
          logY: true,
          xTicks: lrs,
          height: 260,
        },
        [lrs, ...perVariant(finalSharpness), lrs.map((lr) => coef / lr)],
      ),
    );
    const c3 = card('Test accuracy vs. η', 'Final test accuracy of runs that did not diverge.', {
      key: 'sweep-test-acc',
    });
    chartsEl.append(c3.el);
    charts.push(
      new Chart(
        c3.body,
        {
          key: 'sweep-test-acc',
          xLabel: 'η',
          series: variantSpecs,
          logX: true,
          xTicks: lrs,
          yRange: [0, 1],
          height: 260,
        },
        [lrs, ...perVariant((r) => (r.status === 'diverged' || r.status === 'failed' ? null : r.final.test_acc))],
      ),
    );
  };

  const render = (): void => {
    const s = sweep;
    if (s === null) return;
    title.textContent = s.name;
    gridInfo.replaceChildren(
      ...Object.entries(s.grid).map(([k, vs]) =>
        h('span', { class: 'chip' }, h('b', {}, k), ' ', vs.map(showValue).join(', ')),
      ),
      h(
        'span',
        { class: 'chip' },
        h('b', {}, 'runs'),
        ' ',
        String(s.runs.length),
        ' ',
        ...s.runs.map((r) => h('span', { class: `dot status-${r.status}`, title: `${r.name}: ${r.status}` })),
      ),
    );
    renderVariants(s);
    table.render(s.runs);
    buildCharts();
  };

  let loading = false;
  const load = async (): Promise<void> => {
    if (loading) return;
    loading = true;
    try {
      const s = await api.sweep(id);
      const fields = ['lr', 'sharpness', 'precond_sharpness'];
      const metrics = await Promise.all(s.runs.map((r) => api.metrics(r.id, -1, fields).catch(() => null)));
      if (destroyed) return;
      metrics.forEach((m, i) => curves.set(s.runs[i].id, m?.rows ?? []));
      sweep = s;
      message.textContent = '';
      render();
    } catch (e) {
      message.textContent = `Cannot load sweep ${id}: ${(e as Error).message}`;
    } finally {
      loading = false;
    }
  };

  renderControls();
  void load();
  // Reload when a run of this sweep changes (throttled: every curve is refetched).
  let lastSig = '';
  let timer: ReturnType<typeof setTimeout> | null = null;
  const unsubscribe = subscribe('api/events', {
    runs: (d) => {
      const sig = JSON.stringify(
        (d as RunsResponse).runs.filter((r) => r.sweep === id).map((r) => [r.id, r.status, r.steps]),
      );
      if (lastSig !== '' && sig !== lastSig && timer === null) {
        timer = setTimeout(() => {
          timer = null;
          void load();
        }, 2000);
      }
      lastSig = sig;
    },
  });

  return {
    update(r) {
      const changed = r.x !== current.x || r.log !== current.log;
      current = r;
      renderControls();
      if (changed) buildCharts();
    },
    destroy() {
      destroyed = true;
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
      for (const ch of charts) ch.destroy();
    },
  };
}
