import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { metricsToCsv } from '../../src/experiments/csv.ts';
import { readMetrics } from '../../src/experiments/metrics.ts';
import { pngSize } from '../../src/report/render.ts';
import { writeReport } from '../../src/report/report.ts';
import { tempDir, writeRun, writeSweep } from './fixtures.ts';

const root = tempDir();
after(() => rmSync(root, { recursive: true, force: true }));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function svgCount(html: string): number {
  return (html.match(/<svg\b/g) ?? []).length;
}

describe('run report', () => {
  it('GD at the edge of stability: html, svg, png and csv, threshold line dashed', async () => {
    const f = writeRun(join(root, 'gd-eos'), { warmup: 50, density: true, slices: true });
    const r = await writeReport(f.dir);
    assert.equal(r.kind, 'run');
    assert.equal(r.html, join(f.dir, 'report', 'index.html'));
    const html = readFileSync(r.html, 'utf8');
    const svgs = r.figures.filter((p) => p.endsWith('.svg'));
    const pngs = r.figures.filter((p) => p.endsWith('.png'));
    assert.equal(svgs.length, pngs.length);
    for (const id of [
      'loss',
      'accuracy',
      'sharpness',
      'eigenvalues',
      'eigvec-cos',
      'lr',
      'grad-norm',
      'density',
      'slices-step-000400',
      'plane-step-000400',
    ]) {
      assert.ok(svgs.includes(join(f.dir, 'report', `${id}.svg`)), `${id}.svg`);
    }
    for (const p of r.figures) assert.ok(existsSync(p), p);
    // Every figure inlined; ids made unique per figure.
    assert.equal(svgCount(html), svgs.length);
    assert.ok(html.includes('id="fig-sharpness-clip'));
    // Header: name, status, config summary with the threshold, final metrics.
    assert.ok(html.includes('<h1>gd-eos</h1>'));
    assert.ok(html.includes('completed'));
    assert.ok(html.includes('2/η = 100 on λ1(H)'));
    assert.ok(html.includes('<b>gd</b>, η = 0.02'));
    assert.ok(html.includes('warmup 50 steps'));
    // The sharpness SVG has a dashed path (the threshold).
    const sharp = readFileSync(join(f.dir, 'report', 'sharpness.svg'), 'utf8');
    assert.match(sharp, /<path[^>]*stroke-dasharray="6,4"/);
    // PNGs: signature and size = 720×300 at scale 2.
    for (const p of pngs) {
      const buf = readFileSync(p);
      assert.ok(buf.subarray(0, 8).equals(PNG_SIGNATURE), p);
      assert.deepEqual(pngSize(buf), { width: 1440, height: 600 }, basename(p));
    }
    // metrics.csv is csv.ts's conversion of the rows.
    assert.equal(
      readFileSync(join(f.dir, 'report', 'metrics.csv'), 'utf8'),
      metricsToCsv(readMetrics(join(f.dir, 'metrics.jsonl')).rows),
    );
  });

  it('honours size and PNG scale options; png: false writes no PNG', async () => {
    const f = writeRun(join(root, 'small'), { steps: 100 });
    const out = join(root, 'small-out');
    const r = await writeReport(f.dir, { outDir: out, width: 500, height: 240, pngScale: 1 });
    assert.ok(r.html.startsWith(out));
    const png = r.figures.find((p) => p.endsWith('loss.png'));
    assert.ok(png !== undefined);
    assert.deepEqual(pngSize(readFileSync(png)), { width: 500, height: 240 });
    const r2 = await writeReport(f.dir, { png: false });
    assert.ok(r2.figures.length > 0 && r2.figures.every((p) => p.endsWith('.svg')));
  });

  it('Adam: preconditioned sharpness figure with 38/η', async () => {
    const f = writeRun(join(root, 'adam'), { optimizer: 'adam', lr: 0.001, steps: 200 });
    const r = await writeReport(f.dir, { png: false });
    const svg = readFileSync(join(f.dir, 'report', 'precond-sharpness.svg'), 'utf8');
    assert.match(svg, /stroke-dasharray="6,4"/);
    assert.ok(svg.includes('38/η'));
    const html = readFileSync(r.html, 'utf8');
    assert.ok(html.includes('38/η = 38000 on λ1(P⁻¹H)'), 'threshold in the config summary');
  });

  it('diverged run: status and reason shown, figures up to the divergence', async () => {
    const f = writeRun(join(root, 'diverged'), { lr: 0.08, steps: 300, divergeAt: 150 });
    const r = await writeReport(f.dir, { png: false });
    const html = readFileSync(r.html, 'utf8');
    assert.ok(html.includes('class="status diverged"'));
    assert.ok(html.includes('non-finite train loss at step 150'));
    assert.ok(r.figures.some((p) => p.endsWith('sharpness.svg')));
    assert.ok(svgCount(html) > 3);
  });

  it('removes figures of an earlier report that no longer apply', async () => {
    const f = writeRun(join(root, 'stale'), { steps: 400, density: true });
    await writeReport(f.dir, { png: false });
    assert.ok(existsSync(join(f.dir, 'report', 'density.svg')));
    rmSync(join(f.dir, 'curvature'), { recursive: true });
    await writeReport(f.dir, { png: false });
    assert.ok(!existsSync(join(f.dir, 'report', 'density.svg')));
  });
});

describe('sweep report', () => {
  it('4 runs over lr: sweep figures, run table and per-run CSVs', async () => {
    const dir = join(root, 'sweep');
    const names = writeSweep(dir);
    const r = await writeReport(dir, { pngScale: 1 });
    assert.equal(r.kind, 'sweep');
    const html = readFileSync(r.html, 'utf8');
    for (const id of ['final-sharpness-vs-lr', 'test-acc-vs-lr', 'sharpness-curves', 'max-stable-lr']) {
      assert.ok(r.figures.includes(join(dir, 'report', `${id}.svg`)), id);
      assert.ok(r.figures.includes(join(dir, 'report', `${id}.png`)), id);
      assert.ok(html.includes(`<figure id="${id}">`), id);
    }
    assert.equal(svgCount(html), r.figures.filter((p) => p.endsWith('.svg')).length);
    assert.ok(html.includes('<h1>lr-sweep</h1>'));
    // The reference curve is dashed in the SVG.
    assert.match(readFileSync(join(dir, 'report', 'final-sharpness-vs-lr.svg'), 'utf8'), /stroke-dasharray="6,4"/);
    // Max stable lr table: 0.04 completed, 0.08 diverged.
    assert.match(html, /<td>all runs<\/td><td class="num">0\.04<\/td><td class="num">0\.08<\/td>/);
    // Run table: every run with its status and lr.
    for (const n of names) assert.ok(html.includes(`<a href="metrics-${n}.csv">${n}</a>`), n);
    for (const n of names) assert.ok(existsSync(join(dir, 'report', `metrics-${n}.csv`)));
    const runsCsv = readFileSync(join(dir, 'report', 'runs.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(runsCsv.length, 1 + names.length);
    assert.ok(runsCsv[0].startsWith('name,status,optimizer.lr,steps'));
    assert.ok(runsCsv[4].startsWith('lr-0.08,diverged,0.08,150'));
    for (const p of r.figures.filter((x) => x.endsWith('.png'))) assert.equal(pngSize(readFileSync(p)).width, 720);
  });

  it('lists runs of sweep.json that have not started', async () => {
    const dir = join(root, 'sweep-partial');
    const names = writeSweep(dir);
    rmSync(join(dir, names[2]), { recursive: true });
    const r = await writeReport(dir, { png: false });
    const html = readFileSync(r.html, 'utf8');
    assert.ok(html.includes(`<td>${names[2]}</td><td><span class="status missing">missing</span>`));
    assert.ok(r.figures.some((p) => p.endsWith('max-stable-lr.svg')));
  });
});

describe('errors', () => {
  it('a directory that is neither a run nor a sweep gives an error naming it', async () => {
    const empty = tempDir('edgewise-notarun-');
    try {
      await assert.rejects(
        writeReport(empty),
        (e: Error) => e.message.includes(empty) && /not a run or sweep/.test(e.message),
      );
      await assert.rejects(
        writeReport(join(empty, 'nope')),
        (e: Error) => e.message.includes(join(empty, 'nope')) && /does not exist/.test(e.message),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
