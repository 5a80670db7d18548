import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadRun } from '../../src/report/data.ts';
import { writeReport } from '../../src/report/report.ts';
import { tempDir, writeRun, writeSweep } from './fixtures.ts';

const root = tempDir();
after(() => rmSync(root, { recursive: true, force: true }));

const opts = { png: false } as const;
const svgCount = (html: string) => (html.match(/<svg\b/g) ?? []).length;

describe('partial and damaged runs do not throw', () => {
  it('running run killed mid-write: partial last line dropped, warned, figures kept', async () => {
    const f = writeRun(join(root, 'killed'), { status: 'running', steps: 300 });
    appendFileSync(join(f.dir, 'metrics.jsonl'), '{"step": 302, "lr": 0.02, "train_lo');
    const r = await writeReport(f.dir, opts);
    const html = readFileSync(r.html, 'utf8');
    assert.ok(html.includes('class="status running"'));
    assert.ok(html.includes('partial line'));
    assert.ok(svgCount(html) >= 5);
    assert.equal(loadRun(f.dir).rows.length, f.rows.length);
  });

  it('a damaged line in the middle: the other rows are kept', async () => {
    const f = writeRun(join(root, 'damaged'), { steps: 100 });
    const lines = readFileSync(join(f.dir, 'metrics.jsonl'), 'utf8').split('\n');
    lines[10] = 'not json at all';
    writeFileSync(join(f.dir, 'metrics.jsonl'), lines.join('\n'));
    const run = loadRun(f.dir);
    assert.equal(run.rows.length, f.rows.length - 1);
    assert.ok(run.warnings.some((w) => w.includes('damaged')));
    const r = await writeReport(f.dir, opts);
    assert.ok(r.figures.some((p) => p.endsWith('sharpness.svg')));
  });

  it('no summary.json, no config.json: status unknown, figures from the metrics', async () => {
    const f = writeRun(join(root, 'bare'), { steps: 100, noSummary: true });
    rmSync(join(f.dir, 'config.json'));
    const r = await writeReport(f.dir, opts);
    const html = readFileSync(r.html, 'utf8');
    assert.ok(html.includes('class="status unknown"'));
    assert.ok(html.includes('config.json is missing'));
    assert.ok(html.includes('summary.json is missing'));
    // The threshold still comes from the rows' threshold field.
    assert.match(readFileSync(join(f.dir, 'report', 'sharpness.svg'), 'utf8'), /stroke-dasharray="6,4"/);
    // Final metrics fall back to the last measured values.
    assert.equal(
      loadRun(f.dir).final.sharpness,
      [...f.rows].reverse().find((r2) => typeof r2.sharpness === 'number')?.sharpness,
    );
  });

  it('unreadable config.json and summary.json, garbage curvature files', async () => {
    const f = writeRun(join(root, 'garbage'), { steps: 100 });
    writeFileSync(join(f.dir, 'config.json'), '{"optimizer": {"name": "gd", ');
    writeFileSync(join(f.dir, 'summary.json'), '[1, 2');
    mkdirSync(join(f.dir, 'curvature'), { recursive: true });
    writeFileSync(
      join(f.dir, 'curvature', 'density-step-000000.json'),
      JSON.stringify({ step: 0, x: [1, 2, 3], density: [1, 2] }),
    );
    writeFileSync(join(f.dir, 'curvature', 'density-step-000020.json'), '{"step": 20, "x": [');
    writeFileSync(
      join(f.dir, 'curvature', 'slices-step-000020.json'),
      JSON.stringify({
        step: 20,
        t: [0, 1],
        directions: [{ name: 'v1', loss: [1] }],
        plane: { a: [0, 1], b: [0, 1, 2], loss: [[1, 2]] },
      }),
    );
    const r = await writeReport(f.dir, opts);
    const html = readFileSync(r.html, 'utf8');
    assert.ok(html.includes('density-step-000000.json: not a density'));
    assert.ok(html.includes('density-step-000020.json: cannot read'));
    assert.ok(html.includes('plane.loss is not 2×3'));
    assert.ok(!r.figures.some((p) => p.includes('density') || p.includes('slices') || p.includes('plane')));
    assert.ok(r.figures.some((p) => p.endsWith('loss.svg')));
  });

  it('empty metrics.jsonl, or only summary.json: a page without figures', async () => {
    const d1 = join(root, 'empty');
    mkdirSync(d1);
    writeFileSync(join(d1, 'metrics.jsonl'), '');
    const r1 = await writeReport(d1, opts);
    assert.deepEqual(r1.figures, []);
    assert.ok(readFileSync(r1.html, 'utf8').includes('No metrics to plot yet'));
    const d2 = join(root, 'summary-only');
    mkdirSync(d2);
    writeFileSync(
      join(d2, 'summary.json'),
      JSON.stringify({ status: 'failed', reason: 'out of memory', steps: 0, final: {} }),
    );
    const r2 = await writeReport(d2, opts);
    const html = readFileSync(r2.html, 'utf8');
    assert.ok(html.includes('class="status failed"') && html.includes('out of memory'));
  });

  it('metrics without curvature keys, nulls everywhere, lr 0 at the start of warmup', async () => {
    const d = join(root, 'sparse');
    mkdirSync(d);
    const rows = [
      { step: 0, lr: 0, train_loss: 2.3, threshold: null, threshold_quantity: 'sharpness' },
      { step: 1, lr: 0.01, train_loss: null, grad_norm: null, sharpness: null, eigs: [null, 3], eigvec_cos: null },
      { step: 2, lr: 0.02, train_loss: 2.1 },
    ];
    writeFileSync(join(d, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = await writeReport(d, opts);
    const ids = r.figures.map((p) => p.split('/').pop());
    assert.ok(ids.includes('loss.svg') && ids.includes('lr.svg') && ids.includes('eigenvalues.svg'));
    assert.ok(!ids.includes('sharpness.svg') && !ids.includes('accuracy.svg') && !ids.includes('eigvec-cos.svg'));
  });

  it('a sweep with a damaged sweep.json and a damaged run', async () => {
    const dir = join(root, 'sweep-damaged');
    const names = writeSweep(dir);
    writeFileSync(join(dir, 'sweep.json'), '{"name": ');
    writeFileSync(join(dir, names[1], 'metrics.jsonl'), '{"step": 0, "train_loss": 1}\n{"step": 5, "tra');
    rmSync(join(dir, names[1], 'summary.json'));
    const r = await writeReport(dir, opts);
    const html = readFileSync(r.html, 'utf8');
    assert.ok(html.includes('sweep.json: cannot read'));
    for (const n of names) assert.ok(html.includes(`>${n}</a>`), n);
    assert.ok(r.figures.some((p) => p.endsWith('final-sharpness-vs-lr.svg')));
  });
});
