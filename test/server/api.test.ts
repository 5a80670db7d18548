import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/experiments/atomicWrite.ts';
import { readMetrics, type MetricRow } from '../../src/experiments/metrics.ts';
import { createServer, type RunningServer } from '../../src/server/index.ts';
import type {
  DensityResponse,
  MetricsResponse,
  RunsResponse,
  SlicesResponse,
  SweepResponse,
} from '../../src/server/types.ts';
import { jsonl, syntheticRows, writeFixture, type Fixture } from './fixture.ts';
import { getJson, rawRequest, SseClient } from './helpers.ts';

let fx: Fixture;
let server: RunningServer;
let base: string;
let staticDir: string;
const clients: SseClient[] = [];

before(async () => {
  const root = mkdtempSync(join(tmpdir(), 'edgewise-server-'));
  fx = writeFixture(root);
  // A metrics.jsonl that is a directory: unreadable, must not crash anything.
  mkdirSync(join(fx.dir, 'weird', 'metrics.jsonl'), { recursive: true });
  // A static app dir with symlinks leading out of it.
  staticDir = join(root, 'static');
  mkdirSync(join(staticDir, 'assets'), { recursive: true });
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  symlinkSync(fx.secretPath, join(staticDir, 'leak.txt'));
  symlinkSync(root, join(staticDir, 'assets', 'up'));
  server = await createServer({ dir: fx.dir, port: 0, staticDir, pollMs: 150 }).start();
  base = server.url;
});

after(async () => {
  for (const c of clients) c.close();
  await server.close();
  rmSync(fx.root, { recursive: true, force: true });
});

async function ok<T>(target: string): Promise<T> {
  const r = await getJson(base, target);
  assert.equal(r.status, 200, `${target}: ${r.text.slice(0, 200)}`);
  return r.json as T;
}

const metricsOf = (id: string): MetricRow[] => readMetrics(join(fx.dir, id, 'metrics.jsonl')).rows;
const fileJson = (...p: string[]): unknown => JSON.parse(readFileSync(join(fx.dir, ...p), 'utf8'));

describe('API over a run directory', () => {
  test('GET /api/runs lists runs (depth 1 and sweeps) with status, optimizer, lr, final metrics', async () => {
    const list = await ok<RunsResponse>('/api/runs');
    const ids = list.runs.map((r) => r.id).sort();
    for (const id of [fx.liveId, fx.adamId, fx.brokenId, ...fx.sweepRunIds])
      assert.ok(ids.includes(id), `${id} listed`);
    // Symlinks leaving DIR are not runs.
    assert.ok(!ids.some((id) => id.startsWith('escape') || id.startsWith('up')), ids.join(','));
    for (const id of [fx.adamId, ...fx.sweepRunIds]) {
      const r = list.runs.find((x) => x.id === id);
      assert.ok(r);
      const summary = fileJson(id, 'summary.json') as {
        status: string;
        steps: number;
        final: Record<string, number | null>;
      };
      const config = fileJson(id, 'config.json') as {
        optimizer: { name: string; lr: number };
        train: { steps: number };
      };
      assert.equal(r.status, summary.status, id);
      assert.equal(r.steps, summary.steps, id);
      assert.deepEqual(r.final, summary.final, id);
      assert.equal(r.optimizer, config.optimizer.name);
      assert.equal(r.lr, config.optimizer.lr);
      assert.equal(r.total_steps, config.train.steps);
      assert.ok(r.updated_at !== null && Number.isFinite(Date.parse(r.updated_at)));
    }
    const live = list.runs.find((r) => r.id === fx.liveId);
    assert.equal(live?.status, 'running');
    assert.equal(live?.sweep, null);
    // Thresholds: 2/η on λ1 for GD, (2+2β1)/((1−β1)η) = 38/η on λ1(P⁻¹H) for Adam at β1 = 0.9.
    assert.deepEqual(live?.threshold, { quantity: 'sharpness', coefficient: 2, label: '2/η' });
    const adam = list.runs.find((r) => r.id === fx.adamId);
    assert.equal(adam?.threshold?.quantity, 'preconditioned_sharpness');
    assert.ok(Math.abs((adam?.threshold?.coefficient ?? 0) - (2 + 2 * 0.9) / (1 - 0.9)) < 1e-9);
    assert.equal(adam?.threshold?.label, '38/η');
    const sweepRun = list.runs.find((r) => r.id === fx.sweepRunIds[0]);
    assert.equal(sweepRun?.sweep, fx.sweepId);
    assert.deepEqual(sweepRun?.params, { 'schedule.warmup_steps': 0, 'optimizer.lr': 0.02 });
    assert.deepEqual(list.sweeps, [
      { id: fx.sweepId, name: 'lr × warmup', runs: 6, varied: ['schedule.warmup_steps', 'optimizer.lr'] },
    ]);
  });

  test('config, summary and metrics are served as written; since and fields select rows', async () => {
    const id = fx.sweepRunIds[1];
    assert.deepEqual(await ok(`/api/runs/${id}/config`), fileJson(id, 'config.json'));
    assert.deepEqual(await ok(`/api/runs/${id}/summary`), fileJson(id, 'summary.json'));
    const all = await ok<MetricsResponse>(`/api/runs/${id}/metrics`);
    const rows = metricsOf(id);
    assert.deepEqual(all.rows, rows);
    assert.equal(all.last_step, rows[rows.length - 1].step);
    assert.equal(all.partial_line, false);
    const since = await ok<MetricsResponse>(`/api/runs/${id}/metrics?since=250`);
    assert.deepEqual(
      since.rows,
      rows.filter((r) => r.step > 250),
    );
    assert.equal(since.last_step, rows[rows.length - 1].step);
    const picked = await ok<MetricsResponse>(`/api/runs/${id}/metrics?since=-1&fields=sharpness,lr`);
    assert.deepEqual(
      picked.rows,
      rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => ['step', 'sharpness', 'lr'].includes(k)))),
    );
    // Percent-encoded ids address the same run.
    assert.deepEqual(
      await ok(`/api/runs/${encodeURIComponent(fx.sweepId)}/${encodeURIComponent(id.split('/')[1])}/config`),
      fileJson(id, 'config.json'),
    );
  });

  test('GET /api/sweeps/:id: varied values, largest sharpness, max stable lr per variant', async () => {
    const s = await ok<SweepResponse>(`/api/sweeps/${fx.sweepId}`);
    assert.equal(s.name, 'lr × warmup');
    assert.deepEqual(s.grid, { 'schedule.warmup_steps': [0, 50], 'optimizer.lr': [0.02, 0.05, 0.1] });
    assert.deepEqual(s.varied, ['schedule.warmup_steps', 'optimizer.lr']);
    assert.equal(s.runs.length, 6);
    for (const r of s.runs) {
      const sharp = metricsOf(r.id).flatMap((row) => (typeof row.sharpness === 'number' ? [row.sharpness] : []));
      assert.equal(r.max_sharpness, Math.max(...sharp), r.id);
    }
    // Oracle: per warmup value, the largest lr whose summary says completed.
    for (const w of [0, 50]) {
      const v = s.variants.find((x) => x.params['schedule.warmup_steps'] === w);
      assert.ok(v, `variant warmup ${w}`);
      assert.equal(v.label, `warmup_steps=${w}`);
      const mine = s.runs.filter((r) => r.params?.['schedule.warmup_steps'] === w);
      const stable = mine
        .filter((r) => (fileJson(r.id, 'summary.json') as { status: string }).status === 'completed')
        .map((r) => r.lr as number);
      assert.equal(v.max_stable_lr, Math.max(...stable));
      assert.deepEqual(
        v.runs.map((r) => r.lr),
        [0.02, 0.05, 0.1],
      );
    }
    assert.equal(s.variants.find((v) => v.params['schedule.warmup_steps'] === 0)?.min_unstable_lr, 0.1);
    assert.equal(s.variants.find((v) => v.params['schedule.warmup_steps'] === 50)?.min_unstable_lr, null);
    const all = await ok<{ sweeps: unknown[] }>('/api/sweeps');
    assert.equal(all.sweeps.length, 1);
  });

  test('a sweep without sweep.json: varied keys are inferred from the configs', async () => {
    const d = join(fx.dir, 'adhoc');
    for (const [name, lr] of [
      ['a', 0.01],
      ['b', 0.04],
    ] as const) {
      mkdirSync(join(d, name), { recursive: true });
      const cfg = fileJson(fx.liveId, 'config.json') as Record<string, Record<string, unknown>>;
      writeFileSync(
        join(d, name, 'config.json'),
        JSON.stringify({ ...cfg, optimizer: { ...cfg.optimizer, lr }, created_at: `2025-0${lr === 0.01 ? 1 : 2}-01` }),
      );
    }
    try {
      const s = await ok<SweepResponse>('/api/sweeps/adhoc');
      assert.deepEqual(s.varied, ['optimizer.lr']); // created_at is metadata, not a setting
      assert.deepEqual(s.grid, { 'optimizer.lr': [0.01, 0.04] });
      assert.deepEqual(
        s.runs.map((r) => [r.id, r.params, r.status]),
        [
          ['adhoc/a', { 'optimizer.lr': 0.01 }, 'new'],
          ['adhoc/b', { 'optimizer.lr': 0.04 }, 'new'],
        ],
      );
      assert.equal(s.variants.length, 1);
      assert.equal(s.variants[0].max_stable_lr, null);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('density and slices: latest by default, a chosen step, 404 for a missing step, empty where none', async () => {
    const cur = (p: string): unknown => JSON.parse(readFileSync(join(fx.livePath, 'curvature', p), 'utf8'));
    const d = await ok<DensityResponse>(`/api/runs/${fx.liveId}/density`);
    assert.deepEqual(d.steps, [100, 200]);
    assert.deepEqual(d.current, cur('density-step-000200.json'));
    const d100 = await ok<DensityResponse>(`/api/runs/${fx.liveId}/density?step=100`);
    assert.deepEqual(d100.current, cur('density-step-000100.json'));
    const s = await ok<SlicesResponse>(`/api/runs/${fx.liveId}/slices?step=100`);
    assert.deepEqual(s.current, cur('slices-step-000100.json'));
    assert.equal((await getJson(base, `/api/runs/${fx.liveId}/density?step=5`)).status, 404);
    assert.deepEqual(await ok(`/api/runs/${fx.adamId}/density`), { steps: [], current: null });
  });
});

describe('security: nothing outside DIR is served', () => {
  const targets = [
    '/../secret.txt',
    '/../../etc/passwd',
    '/api/runs/../../secret.txt/config',
    '/api/runs/../config',
    '/%2e%2e/secret.txt',
    '/%2E%2E/%2e%2e/etc/passwd',
    '/api/runs/%2e%2e/config',
    '/api/runs/.%2e/secret.txt/config',
    '/..%2fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/api/runs/..%2f..%2fsecret.txt/config',
    '/api/runs/live-gd%2f..%2f..%2fsecret.txt/config',
    '/%252e%252e/secret.txt',
    '/%252e%252e%252fsecret.txt',
    '/api/runs/%252e%252e%252fsecret.txt/config',
    '/%25252e%25252e/secret.txt',
    '//etc/passwd',
    '/api/runs//etc/passwd/config',
    `/api/runs/${encodeURIComponent(join('/', 'etc', 'passwd'))}/config`,
    'http://evil.example/etc/passwd',
    '/api/runs/live-gd%00/config',
    '/secret.txt%00.html',
    '/index.html%00',
    '/..%5csecret.txt',
    '/api/runs/..%5c..%5csecret.txt/config',
    '/..\\secret.txt',
    '/api/runs/escape/config',
    '/api/runs/escape/metrics',
    '/api/runs/escape/events',
    '/api/runs/linked/config',
    '/api/runs/linked/metrics',
    '/api/runs/linked/events',
    '/api/runs/up/secret.txt/config',
    '/api/runs/up/runs/live-gd/config',
    '/api/sweeps/..%2f',
    '/api/sweeps/up',
    '/leak.txt',
    '/assets/up/secret.txt',
    '/.env',
    '/assets/%2e%2e/%2e%2e/secret.txt',
  ];
  for (const target of targets) {
    test(`GET ${target} → 4xx, no secret`, async () => {
      const r = await rawRequest(base, target);
      assert.ok(r.status >= 400 && r.status < 500, `${target}: status ${r.status} ${r.body.slice(0, 120)}`);
      assert.ok(!r.body.includes(fx.secret) && !r.headers.includes(fx.secret), `${target} leaked the secret`);
      assert.ok(!r.body.includes('root:x:0:0'), `${target} leaked /etc/passwd`);
    });
  }

  test('a raw NUL byte in the request line is refused', async () => {
    const r = await rawRequest(base, '/api/runs/live-gd\0/config');
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    assert.ok(!r.body.includes(fx.secret));
  });

  test('a foreign Host header (DNS rebinding) is refused on a loopback server', async () => {
    const r = await rawRequest(base, '/api/runs', { host: 'evil.example:80' });
    assert.equal(r.status, 403);
    assert.ok((await rawRequest(base, '/api/runs', { host: 'localhost' })).status === 200);
  });

  test('the app itself is served, with a CSP on HTML and long caching on assets', async () => {
    const index = await rawRequest(base, '/');
    assert.equal(index.status, 200);
    assert.match(index.headers, /content-security-policy: default-src 'self'/i);
    assert.match(index.body, /<title>app<\/title>/);
    const js = await rawRequest(base, '/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers, /content-type: text\/javascript/i);
    assert.match(js.headers, /immutable/);
    assert.match(js.headers, /x-content-type-options: nosniff/i);
  });
});

describe('malformed requests get 4xx JSON errors', () => {
  const cases: Array<[string, string, number]> = [
    ['POST', '/api/runs', 405],
    ['PUT', `/api/runs/live-gd/config`, 405],
    ['DELETE', `/api/runs/live-gd/metrics`, 405],
    ['OPTIONS', '/', 405],
    ['GET', '/api/runs/live-gd/metrics?since=abc', 400],
    ['GET', '/api/runs/live-gd/metrics?since=1.5', 400],
    ['GET', '/api/runs/live-gd/metrics?since=-2', 400],
    ['GET', '/api/runs/live-gd/metrics?since=1&since=2', 400],
    ['GET', '/api/runs/live-gd/metrics?since=99999999999999999999', 400],
    ['GET', '/api/runs/live-gd/metrics?fields=a;b', 400],
    ['GET', '/api/runs/live-gd/metrics?bogus=1', 400],
    ['GET', '/api/runs/live-gd/events?since=x', 400],
    ['GET', '/api/runs/live-gd/density?step=-1', 400],
    ['GET', '/api/runs?x=1', 400],
    ['GET', '/api/runs/live-gd/%zz', 400],
    ['GET', '/api/runs/live-gd/bogus', 404],
    ['GET', '/api/runs/no-such-run/config', 404],
    ['GET', '/api/runs/live-gd', 404],
    ['GET', '/api/nothing', 404],
    ['GET', '/api', 404],
    ['GET', '/api/sweeps/no-such-sweep', 404],
    ['GET', '/no-such-file.js', 404],
  ];
  for (const [method, target, status] of cases) {
    test(`${method} ${target} → ${status}`, async () => {
      const r = await rawRequest(base, target, { method });
      assert.equal(r.status, status, r.body);
      assert.match(r.headers, /content-type: application\/json/i);
      const body = JSON.parse(r.body) as { error?: unknown };
      assert.equal(typeof body.error, 'string');
    });
  }
});

describe('damaged files never crash the server', () => {
  test('truncated metrics.jsonl: readable rows served, partial last line and corrupt line reported', async () => {
    const text = readFileSync(join(fx.dir, fx.brokenId, 'metrics.jsonl'), 'utf8');
    // Oracle: every complete line that parses as an object with an integer step.
    const lines = text.split('\n');
    const expected = lines.slice(0, -1).flatMap((l) => {
      try {
        const v = JSON.parse(l) as MetricRow;
        return Number.isSafeInteger(v.step) ? [v] : [];
      } catch {
        return [];
      }
    });
    const m = await ok<MetricsResponse>(`/api/runs/${fx.brokenId}/metrics`);
    assert.deepEqual(m.rows, expected);
    assert.equal(m.partial_line, true);
    assert.equal(m.skipped_lines, 1);
    assert.equal(m.last_step, 40);
    const s = await getJson(base, `/api/runs/${fx.brokenId}/summary`);
    assert.equal(s.status, 422);
    const list = await ok<RunsResponse>('/api/runs');
    const broken = list.runs.find((r) => r.id === fx.brokenId);
    assert.equal(broken?.status, 'unknown');
    assert.equal(broken?.steps, 40);
  });

  test('a metrics.jsonl that is a directory, an empty or binary file: errors or nothing, never a crash', async () => {
    assert.equal((await getJson(base, '/api/runs/weird/metrics')).status, 422);
    mkdirSync(join(fx.dir, 'garbage'), { recursive: true });
    writeFileSync(join(fx.dir, 'garbage', 'metrics.jsonl'), Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x7b, 0x0a]));
    writeFileSync(join(fx.dir, 'garbage', 'config.json'), '[1, 2');
    writeFileSync(join(fx.dir, 'garbage', 'summary.json'), 'null');
    const m = await ok<MetricsResponse>('/api/runs/garbage/metrics');
    assert.deepEqual(m.rows, []);
    assert.equal((await getJson(base, '/api/runs/garbage/config')).status, 422);
    const list = await ok<RunsResponse>('/api/runs');
    assert.equal(list.runs.find((r) => r.id === 'garbage')?.status, 'unknown');
    assert.equal((await getJson(base, '/api/runs')).status, 200);
  });
});

describe('live updates (server-sent events)', () => {
  test('rows appended to metrics.jsonl after connecting arrive; partial lines wait for their newline; rewrites reset', async () => {
    const file = join(fx.livePath, 'metrics.jsonl');
    const c = await SseClient.open(`${base}api/runs/${fx.liveId}/events?since=-1`);
    clients.push(c);
    assert.equal(c.status, 200);
    assert.match(c.contentType, /text\/event-stream/);
    const initial = await c.waitFor((e) => e.event === 'rows');
    assert.deepEqual((initial.data as { rows: MetricRow[] }).rows, metricsOf(fx.liveId));
    await c.waitFor((e) => e.event === 'ready');
    const mark = c.events.length;

    const more = syntheticRows({ optimizer: 'gd', lr: 0.05, steps: 400, seed: 7 }).filter(
      (r) => r.step > 260 && r.step <= 263,
    );
    appendFileSync(file, jsonl(more.slice(0, 2)));
    const got = await c.waitFor((e) => e.event === 'rows', 5000, mark);
    assert.deepEqual(got.data, { reset: false, rows: more.slice(0, 2) });
    assert.equal(got.id, '262');

    // Half a line: nothing is sent until the rest (with its newline) is written.
    const line = jsonl([more[2]]);
    const mark2 = c.events.length;
    appendFileSync(file, line.slice(0, 20));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(c.events.slice(mark2).filter((e) => e.event === 'rows').length, 0);
    appendFileSync(file, line.slice(20));
    const rest = await c.waitFor((e) => e.event === 'rows', 5000, mark2);
    assert.deepEqual(rest.data, { reset: false, rows: [more[2]] });

    // Resume from a checkpoint: the file is replaced by a shorter one → reset with all its rows.
    const mark3 = c.events.length;
    const kept = metricsOf(fx.liveId).filter((r) => r.step <= 100);
    writeFileAtomic(file, jsonl(kept));
    const reset = await c.waitFor((e) => e.event === 'rows', 5000, mark3);
    assert.deepEqual(reset.data, { reset: true, rows: kept });

    // Rewritten in place (same inode, longer content): also a reset.
    const mark4 = c.events.length;
    const other = syntheticRows({ optimizer: 'gd', lr: 0.05, steps: 400, seed: 99 }).filter((r) => r.step <= 120);
    writeFileSync(file, jsonl(other));
    const reset2 = await c.waitFor((e) => e.event === 'rows', 5000, mark4);
    assert.deepEqual(reset2.data, { reset: true, rows: other });

    // summary.json replaced atomically → a summary event.
    const mark5 = c.events.length;
    const summary = { ...(fileJson(fx.liveId, 'summary.json') as object), status: 'completed' };
    writeJsonAtomic(join(fx.livePath, 'summary.json'), summary);
    const s = await c.waitFor((e) => e.event === 'summary', 5000, mark5);
    assert.deepEqual(s.data, summary);
    c.close();
  });

  test('since and Last-Event-ID resume a stream after a step', async () => {
    const rows = metricsOf(fx.adamId);
    const c = await SseClient.open(`${base}api/runs/${fx.adamId}/events?since=295`);
    clients.push(c);
    const first = await c.waitFor((e) => e.event === 'rows');
    assert.deepEqual(
      (first.data as { rows: MetricRow[] }).rows,
      rows.filter((r) => r.step > 295),
    );
    c.close();
    const d = await SseClient.open(`${base}api/runs/${fx.adamId}/events`, { 'Last-Event-ID': '298' });
    clients.push(d);
    const again = await d.waitFor((e) => e.event === 'rows');
    assert.deepEqual(
      (again.data as { rows: MetricRow[] }).rows,
      rows.filter((r) => r.step > 298),
    );
    d.close();
  });

  test('/api/events pushes the run list when a run appears or changes', async () => {
    const c = await SseClient.open(`${base}api/events`);
    clients.push(c);
    const first = await c.waitFor((e) => e.event === 'runs');
    assert.ok(!(first.data as RunsResponse).runs.some((r) => r.id === 'newcomer'));
    const mark = c.events.length;
    mkdirSync(join(fx.dir, 'newcomer'));
    writeFileSync(
      join(fx.dir, 'newcomer', 'metrics.jsonl'),
      jsonl(syntheticRows({ optimizer: 'gd', lr: 0.01, steps: 3 })),
    );
    const next = await c.waitFor(
      (e) => e.event === 'runs' && (e.data as RunsResponse).runs.some((r) => r.id === 'newcomer'),
      5000,
      mark,
    );
    const entry = (next.data as RunsResponse).runs.find((r) => r.id === 'newcomer');
    assert.equal(entry?.status, 'new');
    assert.equal(entry?.steps, 3);
    c.close();
  });
});
