/**
 * The Lab (#/lab) end to end in Debian's Chromium (playwright-core), from the static build in
 * web/dist served by a plain static file server (no Edgewise server; CSP on every response):
 * a run on WebGPU (SwiftShader; training state and Lanczos basis in device memory, checked) and
 * one on the wasm fallback give the metrics of the same config trained by the CLI's runner, row
 * for row, and so do runs on data files picked in the page (Fashion-MNIST, CIFAR-10); a bad
 * config shows the CLI's one-line error.
 * Builds web/dist first when it is missing or older than its sources. EDGEWISE_LAB_TIMING=1 also
 * times the first preset on both backends (README, "Lab in the browser").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { resolveConfig } from '../../src/experiments/config.ts';
import { MemoryRunSink } from '../../src/experiments/memorySink.ts';
import type { MetricRow } from '../../src/experiments/metricRows.ts';
import { trainRun } from '../../src/experiments/runner.ts';
import { FASHION_MNIST_SYSTEM_DIR } from '../../src/data/fashion.ts';
import { createServer, CSP } from '../../src/server/index.ts';
import { writeReport } from '../../src/report/report.ts';
import { missingFilesError, neededFiles } from '../../web/src/lab/pickedFiles.ts';
import { PRESETS } from '../../web/src/lab/presets.ts';
import { writeFakeCifar } from '../data/fixtures.ts';

const CHROMIUM = process.env.EDGEWISE_CHROMIUM ?? '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(REPO, 'web', 'dist');
const SKIP = existsSync(CHROMIUM) ? false : `Chromium is absent (${CHROMIUM}): apt-get install chromium`;
/** Backends to time the first preset on: EDGEWISE_LAB_TIMING=1 (both), or a comma list of webgpu, wasm. */
const TIMING = (process.env.EDGEWISE_LAB_TIMING === '1' ? 'webgpu,wasm' : (process.env.EDGEWISE_LAB_TIMING ?? ''))
  .split(',')
  .filter((b) => b === 'webgpu' || b === 'wasm');
const WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** The small config of the comparison: 200 digits, one hidden layer of 32, GD, 30 steps, λ1 and λ2 every 10. */
const SMALL = {
  data: { name: 'mnist', train_size: 200, test_size: 100 },
  model: { arch: 'mlp', widths: [32] },
  loss: 'mse',
  optimizer: { name: 'gd', lr: 0.1 },
  train: { steps: 30 },
  curvature: { every: 10, top_k: 2, lanczos_iters: 10 },
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Newest modification time (ms) of the files under `dir` (recursive). */
function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, f));
    if (s.isFile()) t = Math.max(t, s.mtimeMs);
  }
  return t;
}

/** Builds web/dist when it is missing, has no Lab, or is older than the sources it bundles. */
function ensureBuild(): void {
  const index = join(DIST, 'index.html');
  const built = existsSync(index) && existsSync(join(DIST, 'lab', 'mnist.bin')) ? statSync(index).mtimeMs : 0;
  const sources = Math.max(
    newest(join(REPO, 'web', 'src')),
    newest(join(REPO, 'src')),
    statSync(join(REPO, 'web', 'index.html')).mtimeMs,
    statSync(join(REPO, 'web', 'vite.config.ts')).mtimeMs,
  );
  if (built >= sources) return;
  const vite = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'error'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
}

let server: Server | null = null;
let base = '';
const browsers: Browser[] = [];
let dir = '';

before(async () => {
  if (SKIP) return;
  ensureBuild();
  dir = mkdtempSync(join(tmpdir(), 'edgewise-lab-'));
  // A plain static file server: files of web/dist, MIME types by extension, the app's CSP on every response.
  server = createHttpServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    const file = join(DIST, path === '/' ? 'index.html' : path);
    if (!file.startsWith(DIST) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(async () => {
  for (const b of browsers) await b.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openPage(webgpu: boolean): Promise<{ page: Page; errors: string[] }> {
  const b = await chromium.launch({ executablePath: CHROMIUM, args: webgpu ? WEBGPU_ARGS : ['--disable-gpu'] });
  browsers.push(b);
  const page = await b.newPage({ viewport: { width: 1300, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // CSP violations are reported on the console.
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) errors.push(m.text());
  });
  return { page, errors };
}

const labUrl = (config: unknown, run: boolean): string =>
  `${base}#/lab?config=${encodeURIComponent(JSON.stringify(config))}${run ? '&run=1' : ''}`;

/** Waits until the Lab's run ends; returns its data-status. */
async function finished(page: Page, ms: number): Promise<string> {
  const done = '#lab:is([data-status=completed],[data-status=diverged],[data-status=failed])';
  await page.locator(done).waitFor({ timeout: ms });
  return (await page.locator('#lab').getAttribute('data-status'))!;
}

/** The text of a download link's file. */
async function download(page: Page, selector: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return readFileSync((await d.path())!, 'utf8');
}

/** The CLI's rows for a config (trainRun in process, backend ort). */
async function cliRows(input: unknown): Promise<MetricRow[]> {
  const sink = new MemoryRunSink();
  const s = await trainRun(resolveConfig(input), { dir: join(dir, 'cli'), sink });
  assert.equal(s.status, 'completed');
  return sink.rows;
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** Lab rows against the CLI's: same steps and fields, train loss within 1e-3 and λ1 within 1e-2 (relative), λ1 measured `measuredRows` times. */
function compareRows(lab: MetricRow[], cli: MetricRow[], measuredRows = 4): void {
  assert.deepEqual(
    lab.map((r) => r.step),
    cli.map((r) => r.step),
    'same logged steps',
  );
  assert.deepEqual(
    lab.map((r) => Object.keys(r).sort()),
    cli.map((r) => Object.keys(r).sort()),
    'same fields in each row',
  );
  let measured = 0;
  lab.forEach((r, i) => {
    const c = cli[i]!;
    const tl = rel(r.train_loss as number, c.train_loss as number);
    assert.ok(tl < 1e-3, `step ${r.step}: train loss ${String(r.train_loss)} vs CLI ${String(c.train_loss)}`);
    if (typeof c.sharpness === 'number') {
      measured++;
      const sh = rel(r.sharpness as number, c.sharpness);
      assert.ok(sh < 1e-2, `step ${r.step}: sharpness ${String(r.sharpness)} vs CLI ${c.sharpness}`);
    }
  });
  assert.equal(measured, measuredRows, 'λ1 measured at every curvature step');
}

const parseJsonl = (text: string): MetricRow[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as MetricRow);

test('every preset is a valid config in the CLI’s schema', () => {
  for (const p of PRESETS) assert.doesNotThrow(() => resolveConfig(p.config), p.id);
  assert.equal(PRESETS[0]!.lrTimesLambda0, 3, 'the first preset is the demo’s η = 3/λ0');
});

test(
  'the Lab trains the config in the URL on WebGPU (SwiftShader) and matches the CLI row for row',
  { skip: SKIP, timeout: 180_000 },
  async () => {
    const { page, errors } = await openPage(true);
    await page.goto(labUrl(SMALL, true));
    assert.equal(await finished(page, 150_000), 'completed', (await page.locator('#lab-error').textContent()) ?? '');
    assert.equal(await page.locator('#lab').getAttribute('data-backend'), 'webgpu');
    // The engine's webgpu backend, with θ, the gradient and the optimizer state in GPU memory
    // (as reported by the training loop itself, not by the worker's choice of provider).
    assert.equal(await page.locator('#lab').getAttribute('data-engine'), 'webgpu');
    assert.equal(await page.locator('#lab').getAttribute('data-residency'), 'device');
    assert.match((await page.locator('#lab-backend').textContent())!, /WebGPU.*stay in GPU memory/);
    // The device graphs that ran: one update per step and a gradient per row (device training),
    // HVPs on device vectors and the Krylov-basis kernels (Lanczos with its basis on the GPU).
    const runs = JSON.parse((await page.locator('#lab').getAttribute('data-device-runs'))!) as Record<string, number>;
    assert.equal(runs['next:theta'], 30, JSON.stringify(runs));
    assert.equal(runs.grad, 31, JSON.stringify(runs));
    assert.ok((runs.hvp ?? 0) >= 4 * 10, JSON.stringify(runs));
    assert.ok(
      Object.entries(runs).some(([k, n]) => k.split(',').includes('unit') && n > 0),
      JSON.stringify(runs),
    );
    const lab = parseJsonl(await download(page, '#lab-metrics'));
    compareRows(lab, await cliRows(SMALL));
    const config = await download(page, '#lab-config-json');
    assert.deepEqual(JSON.parse(config), resolveConfig(SMALL));
    const summary = await download(page, '#lab-summary-json');
    assert.equal(JSON.parse(summary).status, 'completed');
    assert.equal(JSON.parse(summary).steps, lab[lab.length - 1]!.step);
    // The three exports form a run directory that `edgewise report` opens.
    const runDir = mkdtempSync(join(tmpdir(), 'edgewise-lab-export-'));
    try {
      writeFileSync(join(runDir, 'metrics.jsonl'), lab.map((r) => `${JSON.stringify(r)}\n`).join(''));
      writeFileSync(join(runDir, 'config.json'), config);
      writeFileSync(join(runDir, 'summary.json'), summary);
      const rep = await writeReport(runDir);
      assert.ok(existsSync(rep.html));
      assert.ok(
        rep.figures.some((f) => f.endsWith('sharpness.svg')),
        rep.figures.join(', '),
      );
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
    // The sharpness chart against 2/η and the top-k chart are drawn by the run view's chart code.
    assert.equal(await page.locator('[data-card="sharpness"]').count(), 1);
    assert.equal(await page.locator('[data-card="eigs"]').count(), 1);
    assert.deepEqual(errors, []);
  },
);

test(
  'without WebGPU the Lab says why and runs on wasm; stop and restart; the result matches the CLI',
  { skip: SKIP, timeout: 120_000 },
  async () => {
    const { page, errors } = await openPage(false);
    const long = { ...SMALL, train: { steps: 400 } };
    await page.goto(labUrl(long, true));
    await page.locator('#lab[data-status=running][data-backend=wasm]').waitFor({ timeout: 30_000 });
    assert.match((await page.locator('#lab-backend').textContent())!, /wasm .*because WebGPU is unavailable: \S/);
    assert.equal(await page.locator('#lab').getAttribute('data-engine'), 'ort');
    assert.equal(await page.locator('#lab').getAttribute('data-residency'), 'host');
    // The page stays responsive while the worker trains: rows arrive, then Stop ends the run.
    await page.locator('[data-testid="lab-step"] .stat-value:text-matches("^[1-9]")').waitFor({ timeout: 30_000 });
    await page.click('#lab-stop');
    await page.locator('#lab[data-status=idle]').waitFor();
    assert.match((await page.locator('#lab-message').textContent())!, /stopped after step \d+/);
    // The same config again, now with 30 steps (typed into the editor), to completion.
    await page.fill('#lab-config', JSON.stringify(SMALL));
    // The URL follows the editor (history.replaceState), and the share link runs the config on open.
    await page.waitForURL((u) => decodeURIComponent(u.hash).includes('"steps":30'), { timeout: 5_000 });
    assert.match(decodeURIComponent((await page.locator('#lab-share').getAttribute('href'))!), /"steps":30.*&run=1$/);
    await page.click('#lab-run');
    assert.equal(await finished(page, 60_000), 'completed', (await page.locator('#lab-error').textContent()) ?? '');
    compareRows(parseJsonl(await download(page, '#lab-metrics')), await cliRows(SMALL));
    assert.equal(await page.locator('#lab').getAttribute('data-device-runs'), '{}', 'no device graphs on wasm');
    assert.deepEqual(errors, []);
  },
);

/** The file-picking run: SMALL on 64 Fashion-MNIST images, a hidden layer of 16, 5 steps, λ1 at steps 0 and 5. */
const FASHION = {
  ...SMALL,
  data: { name: 'fashion-mnist', train_size: 64, test_size: 32 },
  model: { arch: 'mlp', widths: [16] },
  train: { steps: 5 },
  curvature: { every: 5, top_k: 1, lanczos_iters: 8 },
};
const FASHION_FILES = neededFiles('fashion-mnist').map((n) => join(FASHION_MNIST_SYSTEM_DIR, n));

test(
  "the Lab trains on picked data files (Debian's Fashion-MNIST, fake CIFAR-10 batches) on wasm and matches the CLI; files not picked: the one-line error",
  {
    skip: SKIP || (FASHION_FILES.every(existsSync) ? false : `Debian's dataset-fashion-mnist is not installed`),
    timeout: 120_000,
  },
  async () => {
    const { page, errors } = await openPage(false);
    await page.goto(labUrl(FASHION, true));
    await page.locator('#lab-error:not(:empty)').waitFor({ timeout: 30_000 });
    assert.equal(
      await page.locator('#lab-error').textContent(),
      missingFilesError('fashion-mnist', neededFiles('fashion-mnist')),
    );
    assert.equal(await page.locator('#lab').getAttribute('data-status'), 'failed');

    await page.setInputFiles('#lab-files', FASHION_FILES);
    assert.equal(await page.locator('#lab-files-note').textContent(), '4 files picked (fashion-mnist: complete).');
    await page.click('#lab-run');
    assert.equal(await finished(page, 90_000), 'completed', (await page.locator('#lab-error').textContent()) ?? '');
    compareRows(parseJsonl(await download(page, '#lab-metrics')), await cliRows(FASHION), 2);

    // CIFAR-10 (not installed here): six small fake batches, read by the CLI from data.dir.
    const cifarDir = mkdtempSync(join(tmpdir(), 'edgewise-lab-cifar-'));
    try {
      writeFakeCifar(cifarDir, [6, 6, 6, 6, 6, 6], 4);
      const cifar = { ...FASHION, data: { name: 'cifar10', dir: cifarDir, train_size: 20, test_size: 6 } };
      await page.setInputFiles(
        '#lab-files',
        neededFiles('cifar10').map((n) => join(cifarDir, n)),
      );
      await page.fill('#lab-config', JSON.stringify(cifar));
      await page.click('#lab-run');
      assert.equal(await finished(page, 90_000), 'completed', (await page.locator('#lab-error').textContent()) ?? '');
      compareRows(parseJsonl(await download(page, '#lab-metrics')), await cliRows(cifar), 2);
    } finally {
      rmSync(cifarDir, { recursive: true, force: true });
    }
    assert.deepEqual(errors, []);
  },
);

test('a bad config in the URL shows the CLI’s one-line error', { skip: SKIP, timeout: 60_000 }, async () => {
  const { page } = await openPage(false);
  const cases = [
    { config: { ...SMALL, optimizer: { name: 'gd', lr: -1 } }, run: true, status: 'failed' },
    { config: { ...SMALL, learning_rate: 0.1 }, run: false, status: 'idle' },
  ];
  for (const c of cases) {
    let want = '';
    assert.throws(
      () => resolveConfig(c.config),
      (e: Error) => ((want = e.message), true),
    );
    await page.goto('about:blank');
    await page.goto(labUrl(c.config, c.run));
    await page.locator('#lab-error:not(:empty)').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('#lab-error').textContent(), want);
    assert.equal(await page.locator('#lab').getAttribute('data-status'), c.status);
  }
});

test(
  'edgewise serve serves the Lab: application/wasm, and a CSP that allows wasm and nothing else',
  {
    skip: SKIP,
  },
  async () => {
    const s = await createServer({ dir, port: 0 }).start();
    try {
      const index = await fetch(s.url);
      const csp = index.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
      assert.doesNotMatch(csp, /'unsafe-eval'|https?:|\*/);
      const wasm = readdirSync(join(DIST, 'assets')).find((f) => f.endsWith('.wasm'))!;
      const res = await fetch(`${s.url}assets/${wasm}`, { method: 'HEAD' });
      assert.equal(res.headers.get('content-type'), 'application/wasm');
      // The dashboard's first page does not load the Lab: onnxruntime-web is only in the worker's chunk.
      const html = await index.text();
      const entry = /src="\.\/(assets\/index-[^"]+\.js)"/.exec(html)![1]!;
      const js = readFileSync(join(DIST, entry), 'utf8');
      assert.doesNotMatch(js, /onnxruntime|InferenceSession/);
    } finally {
      await s.close();
    }
  },
);

test(
  'timing of the first preset (EDGEWISE_LAB_TIMING=1)',
  { skip: SKIP || (TIMING.length > 0 ? false : 'set EDGEWISE_LAB_TIMING=1'), timeout: 3_600_000 },
  async () => {
    for (const webgpu of TIMING.map((b) => b === 'webgpu')) {
      const { page } = await openPage(webgpu);
      const t0 = Date.now();
      await page.goto(`${base}#/lab?run=1`);
      // No config in the URL: the first preset, with η = 3/λ0.
      // EDGEWISE_LAB_TIMING_BUDGET_S caps the wait; a run still going then reports the step it reached.
      const budget = Number(process.env.EDGEWISE_LAB_TIMING_BUDGET_S ?? 1700) * 1000;
      const status = await finished(page, budget).catch(() => 'running');
      const backend = `${await page.locator('#lab').getAttribute('data-backend')} (${await page.locator('#lab').getAttribute('data-residency')} state)`;
      const msg = await page.locator('#lab-message').textContent();
      const step = await page.locator('[data-testid="lab-step"] .stat-value').textContent();
      console.log(
        `lab preset ${PRESETS[0]!.id} on ${backend}: ${status} at step ${step}, ${((Date.now() - t0) / 1000).toFixed(1)} s wall (${msg})`,
      );
    }
  },
);
