import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadRun, loadSweep, thresholdLabel } from '../../src/report/data.ts';
import { flattenConfig, variedKeys } from '../../src/experiments/configPaths.ts';
import {
  accuracyFigure,
  densityFigure,
  eigenvaluesFigure,
  finalSharpnessVsLrFigure,
  lossFigure,
  maxStableLr,
  precondSharpnessFigure,
  sharpnessFigure,
  spread,
  sweepPoints,
  thresholdSeries,
} from '../../src/report/figures.ts';
import { specToSvg } from '../../src/report/render.ts';
import { decimate, specLayers, type VlSpec } from '../../src/report/spec.ts';
import { coefficientOf, SWEEP_LRS, tempDir, writeRun, writeSweep } from './fixtures.ts';

const root = tempDir();
after(() => rmSync(root, { recursive: true, force: true }));

/** The layer whose y encoding reads `field`, and its data values. */
function layerFor(
  spec: VlSpec,
  field: string,
): { layer: Record<string, unknown>; values: Record<string, number>[] } | null {
  for (const l of specLayers(spec)) {
    const enc = l.encoding as { y?: { field?: string } } | undefined;
    if (enc?.y?.field === field) return { layer: l, values: (l.data as { values: Record<string, number>[] }).values };
  }
  return null;
}

describe('decimate', () => {
  it('keeps short series and, for long ones, each bucket’s extremes', () => {
    const pts = Array.from({ length: 10_000 }, (_, i) => ({ x: i, y: Math.sin(i / 3) * (1 + i / 1000) }));
    assert.deepEqual(decimate(pts.slice(0, 50), 100), pts.slice(0, 50));
    const d = decimate(pts, 1000);
    assert.ok(d.length <= 1000);
    // The envelope survives: global max and min are kept, x stays increasing.
    assert.equal(Math.max(...d.map((p) => p.y)), Math.max(...pts.map((p) => p.y)));
    assert.equal(Math.min(...d.map((p) => p.y)), Math.min(...pts.map((p) => p.y)));
    for (let i = 1; i < d.length; i++) assert.ok(d[i].x > d[i - 1].x);
  });

  it('spread keeps the ends and spaces the rest evenly', () => {
    assert.deepEqual(spread([1, 2, 3, 4, 5, 6, 7], 3), [1, 4, 7]);
    assert.deepEqual(spread([1, 2], 3), [1, 2]);
  });
});

describe('threshold', () => {
  it('labels c/η from the coefficient', () => {
    assert.equal(thresholdLabel(2), '2/η');
    assert.equal(thresholdLabel((2 + 2 * 0.9) / (1 - 0.9)), '38/η');
    assert.equal(thresholdLabel(2 + 2 * 0.9), '3.8/η');
  });

  it('follows the learning rate during warmup (a curve, 2/η_t at every step)', () => {
    const f = writeRun(join(root, 'warm'), { warmup: 100, steps: 300 });
    const run = loadRun(f.dir);
    const th = thresholdSeries(run.rows, 'sharpness', 2);
    assert.ok(th.length > 100);
    for (const p of th) assert.ok(Math.abs(p.y - 2 / f.lrAt(p.x)) <= 1e-9 * p.y, `step ${p.x}`);
    // Rows without a threshold field fall back to c/lr.
    const bare = run.rows.map(({ threshold: _t, threshold_quantity: _q, ...r }) => r);
    const th2 = thresholdSeries(bare, 'sharpness', 2);
    for (const p of th2) assert.ok(Math.abs(p.y - 2 / f.lrAt(p.x)) <= 1e-9 * p.y);
  });
});

describe('run figures', () => {
  const gd = writeRun(join(root, 'gd'), { warmup: 50, density: true });
  const run = loadRun(gd.dir);

  it('sharpness figure: a dashed layer encoding `threshold`, with 2/η_t over the measured steps', async () => {
    const spec = sharpnessFigure(run.rows, { config: run.config });
    assert.ok(spec !== null);
    const th = layerFor(spec, 'threshold');
    assert.ok(th !== null, 'a layer encodes threshold');
    assert.deepEqual((th.layer.mark as { strokeDash?: number[] }).strokeDash, [6, 4]);
    const sharp = layerFor(spec, 'sharpness');
    assert.ok(sharp !== null);
    const steps = sharp.values.map((v) => v.step);
    for (const v of th.values) {
      assert.ok(v.step >= Math.min(...steps) && v.step <= Math.max(...steps));
      assert.ok(Math.abs(v.threshold - 2 / gd.lrAt(v.step)) <= 1e-9 * v.threshold);
    }
    const legend = JSON.stringify(spec);
    assert.ok(legend.includes('"2/η"'), 'threshold labelled 2/η');
    const svg = await specToSvg(spec);
    assert.match(svg, /stroke-dasharray="6,4"/);
  });

  it('Adam: the preconditioned figure carries 38/η; the raw sharpness figure has no threshold', () => {
    const f = writeRun(join(root, 'adam'), { optimizer: 'adam', lr: 0.001, steps: 200 });
    const r = loadRun(f.dir);
    const pre = precondSharpnessFigure(r.rows, { config: r.config });
    assert.ok(pre !== null);
    const th = layerFor(pre, 'threshold');
    assert.ok(th !== null);
    const c = coefficientOf('adam');
    for (const v of th.values) assert.ok(Math.abs(v.threshold - c / 0.001) <= 1e-9 * v.threshold);
    assert.ok(JSON.stringify(pre).includes('"38/η"'));
    const raw = sharpnessFigure(r.rows, { config: r.config });
    assert.ok(raw !== null);
    assert.equal(layerFor(raw, 'threshold'), null);
    // A GD run has no preconditioned sharpness, so no such figure.
    assert.equal(precondSharpnessFigure(run.rows, { config: run.config }), null);
  });

  it('top-k eigenvalues: one layer per eigenvalue, values from eigs', () => {
    const spec = eigenvaluesFigure(run.rows, { config: run.config });
    assert.ok(spec !== null);
    for (let i = 1; i <= 3; i++) {
      const l = layerFor(spec, `eig_${i}`);
      assert.ok(l !== null);
      const byStep = new Map(
        run.rows.filter((r) => Array.isArray(r.eigs)).map((r) => [r.step, (r.eigs as number[])[i - 1]]),
      );
      for (const v of l.values) assert.equal(v[`eig_${i}`], byStep.get(v.step));
    }
  });

  it('loss: log y on request or when it spans decades; null without data', () => {
    const log = lossFigure(run.rows, { logY: true });
    assert.ok(log !== null && JSON.stringify(log).includes('"type":"log"'));
    const lin = lossFigure(run.rows, { logY: false });
    assert.ok(lin !== null && !JSON.stringify(lin).includes('"type":"log"'));
    assert.equal(lossFigure([]), null);
    assert.equal(accuracyFigure([{ step: 0 }]), null);
    assert.equal(sharpnessFigure([{ step: 0, train_loss: 1 }]), null);
  });

  it('density: log y, threshold rule at 2/η', () => {
    const spec = densityFigure(run.densities, { threshold: { value: 100, label: '2/η' } });
    assert.ok(spec !== null);
    const s = JSON.stringify(spec);
    assert.ok(s.includes('"type":"log"'));
    assert.ok(specLayers(spec).some((l) => (l.mark as { type: string }).type === 'rule'));
  });
});

describe('sweep figures', () => {
  const dir = join(root, 'sweep');
  writeSweep(dir);
  const sweep = loadSweep(dir);
  const points = sweepPoints(sweep);

  it('reads sweep.json keys and each run’s lr and status', () => {
    assert.deepEqual(sweep.keys, ['optimizer.lr']);
    assert.deepEqual(
      points.map((p) => p.lr),
      SWEEP_LRS,
    );
    assert.deepEqual(
      points.map((p) => p.status),
      ['completed', 'completed', 'completed', 'diverged'],
    );
  });

  it('final sharpness vs lr: log x, with the reference y = 2/η', () => {
    const spec = finalSharpnessVsLrFigure(points);
    assert.ok(spec !== null);
    const ref = layerFor(spec, 'reference');
    assert.ok(ref !== null);
    for (const v of ref.values) assert.ok(Math.abs(v.reference - 2 / v.lr) <= 1e-9 * v.reference);
    const pts = layerFor(spec, 'value');
    assert.ok(pts !== null);
    assert.deepEqual(
      pts.values.map((v) => v.lr),
      SWEEP_LRS,
    );
  });

  it('max stable lr: the largest completed lr per variant and the smallest diverged', () => {
    const rows = maxStableLr(points);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].maxStableLr, 0.04);
    assert.equal(rows[0].minDivergedLr, 0.08);
    // Two variants, grouped by the non-lr value.
    const two = maxStableLr([
      ...points.map((p) => ({ ...p, variant: 'warmup=0' })),
      ...points.map((p) => ({ ...p, variant: 'warmup=100', status: 'completed' })),
      { ...points[0], variant: 'warmup=100', lr: 1, status: 'failed' },
    ]);
    assert.deepEqual(
      two.map((r) => [r.variant, r.maxStableLr, r.minDivergedLr, r.other]),
      [
        ['warmup=0', 0.04, 0.08, 0],
        ['warmup=100', 0.08, null, 1],
      ],
    );
  });

  it('without sweep.json the varied keys come from the configs', () => {
    assert.deepEqual(
      variedKeys(
        [
          { optimizer: { lr: 1, name: 'gd' }, seed: 1 },
          { optimizer: { lr: 2, name: 'gd' }, seed: 2 },
        ].map(flattenConfig),
      ),
      ['optimizer.lr'],
    );
    const d2 = join(root, 'sweep-nojson');
    writeSweep(d2, false);
    const s2 = loadSweep(d2);
    assert.deepEqual(s2.keys, ['optimizer.lr']);
    assert.deepEqual(
      s2.runs.map((r) => r.params['optimizer.lr']),
      SWEEP_LRS,
    );
  });
});

describe('lineChart rules and bands', () => {
  it('draws a horizontal rule and a shaded band in the rendered SVG', async () => {
    const { lineChart } = await import('../../src/report/spec.ts');
    const pts = [0, 1, 2, 3].map((x) => ({ x, y: 10 + x }));
    const spec = lineChart({
      title: 't',
      xTitle: 'step',
      yTitle: 'y',
      series: [
        {
          label: 'a',
          field: 'y0',
          points: pts,
          color: '#123456',
          band: pts.map((p) => ({ x: p.x, lo: p.y - 1, hi: p.y + 1 })),
        },
      ],
      rules: [{ y: 11.5, color: '#abcdef', dash: [6, 4] }],
    })!;
    const svg = await specToSvg(spec);
    // The rule: a line in its colour inside the rule mark container (a rule layer without data draws nothing).
    const rule = /aria-roledescription="rule mark container">(.*?)<\/g>/s.exec(svg);
    assert.ok(rule !== null && /stroke="#abcdef"/.test(rule[1]!), 'the rule is drawn');
    // The band: an area path in the series' colour.
    const area = /aria-roledescription="area mark container">(.*?)<\/g>/s.exec(svg);
    assert.ok(area !== null && /fill="#123456"/.test(area[1]!), 'the band is drawn');
  });
});

describe('lineChart legends', () => {
  it('wraps a long legend into columns that fit the plot width (a single row cut entries off)', async () => {
    const { lineChart, legendColumns } = await import('../../src/report/spec.ts');
    const labels = [16, 64, 256, 'full'].flatMap((b) => [0.5, 2].map((m) => `B = ${b}, ${m}×2/λ0 (6 runs)`));
    const spec = lineChart({
      title: 't',
      xTitle: 'step',
      yTitle: 'y',
      series: labels.map((label, i) => ({
        label,
        field: `y${i}`,
        points: [0, 1, 2].map((x) => ({ x, y: 1 + i + x })),
        color: '#123456',
      })),
      rules: [{ y: 2, color: '#abcdef' }],
    })!;
    const svg = await specToSvg(spec);
    // The plot's width from the rule (drawn across it), the legend entries' extents from their backgrounds.
    const plotWidth = -Number(
      /rule mark container"><line transform="translate\([\d.]+,[\d.]+\)" x2="(-[\d.]+)"/.exec(svg)![1],
    );
    const legend = svg.slice(svg.indexOf('role-legend-entry'));
    const entries = [
      ...legend.matchAll(
        /<g transform="translate\(([\d.]+),([\d.]+)\)"><path class="background" aria-hidden="true" d="M0,0h([\d.]+)v/g,
      ),
    ]
      .map((m) => ({ x: Number(m[1]), y: Number(m[2]), w: Number(m[3]) }))
      .filter((e) => e.w > 0); // the entries' empty container
    assert.equal(entries.length, labels.length, 'every entry is drawn');
    assert.ok(new Set(entries.map((e) => e.y)).size > 1, 'wrapped into several rows');
    const right = Math.max(...entries.map((e) => e.x + e.w));
    assert.ok(right <= plotWidth, `legend right edge ${right} within the plot width ${plotWidth}`);
    assert.equal(legendColumns(['a', 'b', 'c']), 3, 'short labels: one row');
    assert.equal(legendColumns([]), 1);
  });
});
