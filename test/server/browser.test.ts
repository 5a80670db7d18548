/**
 * End to end: the built app in Debian's Chromium (driven by playwright-core, which never downloads
 * a browser) against the server over a fixture directory. Builds web/dist first if it is missing.
 * Saves screenshots under test-artifacts/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, DEFAULT_STATIC_DIR, type RunningServer } from '../../src/server/index.ts';
import { jsonl, syntheticRows, writeFixture, type Fixture } from './fixture.ts';

/** Debian's Chromium; EDGEWISE_CHROMIUM points elsewhere (e.g. on a developer machine). */
const CHROMIUM = process.env.EDGEWISE_CHROMIUM ?? '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = join(REPO, 'test-artifacts');

let fx: Fixture;
let server: RunningServer | null = null;
let browser: Browser | null = null;
let page: Page;
const pageErrors: string[] = [];

/** Without Chromium these tests skip (npm test's last line names them; .ci/run installs it). */
const SKIP = existsSync(CHROMIUM) ? false : `Chromium is absent (${CHROMIUM}): apt-get install chromium`;

before(async () => {
  if (SKIP) return;
  if (!existsSync(join(DEFAULT_STATIC_DIR, 'index.html'))) {
    const vite = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');
    const r = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  }
  fx = writeFixture(mkdtempSync(join(tmpdir(), 'edgewise-browser-')));
  server = await createServer({ dir: fx.dir, port: 0, pollMs: 200 }).start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

const url = (hash = ''): string => `${(server as RunningServer).url}${hash}`;

/**
 * Polls a condition from Node (not by evaluating a string in the page: the app's CSP forbids
 * eval, and Playwright's string predicates need it once they poll); fails after `ms`.
 */
async function until(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Number of x values in a chart (kept in data-points by the chart wrapper). */
async function points(key: string): Promise<number> {
  return Number(await page.locator(`[data-chart="${key}"]`).getAttribute('data-points'));
}

test(
  'the run list shows the fixture runs, sweeps, statuses; the filter narrows it and is kept in the URL',
  { skip: SKIP },
  async () => {
    await page.goto(url());
    await page.locator(`tr[data-run="${fx.liveId}"]`).waitFor();
    for (const id of [fx.liveId, fx.adamId, ...fx.sweepRunIds]) {
      assert.equal(await page.locator(`tr[data-run="${id}"]`).count(), 1, `${id} listed`);
    }
    assert.equal(
      await page.locator(`tr[data-run="${fx.liveId}"] [data-status]`).getAttribute('data-status'),
      'running',
    );
    assert.equal(
      await page.locator(`tr[data-run="${fx.sweepRunIds[2]}"] [data-status]`).getAttribute('data-status'),
      'diverged',
    );
    assert.equal(await page.locator(`a[data-sweep="${fx.sweepId}"]`).count(), 1);
    await page.screenshot({ path: join(ARTIFACTS, 'runs.png') });

    await page.fill('[data-testid="filter"]', 'diverged');
    await until('one run row is left', async () => (await page.locator('tr[data-run]').count()) === 1);
    assert.equal(await page.locator('tr[data-run]').getAttribute('data-run'), fx.sweepRunIds[2]);
    assert.match(page.url(), /q=diverged/);
    await page.fill('[data-testid="filter"]', 'adam');
    await until('one run row is left', async () => (await page.locator('tr[data-run]').count()) === 1);
    assert.equal(await page.locator('tr[data-run]').getAttribute('data-run'), fx.adamId);
    await page.fill('[data-testid="filter"]', '');
  },
);

test(
  'a run page: sharpness chart with its 2/η threshold line; new rows appear live; toggles live in the URL',
  { skip: SKIP },
  async () => {
    await page.goto(url());
    await page.click(`tr[data-run="${fx.liveId}"] a`);
    await page.waitForURL(/#\/run\/live-gd/);
    const sharp = page.locator('[data-chart="sharpness"]');
    await sharp.waitFor();
    // The threshold is a labelled series in the chart's legend.
    const legend = await sharp.locator('.u-legend').innerText();
    assert.match(legend, /2\/η/);
    assert.match(legend, /λ₁/);
    const rows = syntheticRows({ optimizer: 'gd', lr: 0.05, steps: 400, seed: 7 });
    assert.equal(await points('sharpness'), 261); // steps 0..260
    assert.equal(await page.locator('[data-testid="last-step"]').innerText(), '260');
    for (const key of ['loss', 'accuracy', 'eigs', 'rotation', 'lr', 'grad_norm', 'density', 'slices']) {
      assert.equal(await page.locator(`[data-chart="${key}"]`).count(), 1, `chart ${key}`);
    }
    // The config at a glance: one chip per section, from the run's config.json.
    const chips = await page.locator('.chips').innerText();
    assert.match(chips, /data\s+synthetic-gmm · 512 train/);
    assert.match(chips, /optimizer\s+gd · η=0\.05/);

    // The run goes on: append rows to metrics.jsonl; they appear without a reload.
    appendFileSync(join(fx.livePath, 'metrics.jsonl'), jsonl(rows.filter((r) => r.step > 260 && r.step <= 275)));
    await until(
      'the last step shown is 275',
      async () => (await page.locator('[data-testid="last-step"]').textContent()) === '275',
    );
    assert.equal(await points('sharpness'), 276);
    assert.equal(await points('loss'), 276);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // x-axis in η·t and a log scale: in the URL, so the view can be shared.
    await page.click('[data-testid="x-mode"] button[data-value="time"]');
    await page.waitForURL(/x=time/);
    await page.click('[data-testid="log-scale"] button[data-value="log"]');
    await page.waitForURL(/log=1/);
    const shared = page.url();
    await page.goto('about:blank');
    await page.goto(shared);
    await page.locator('[data-chart="sharpness"]').waitFor();
    assert.equal(
      await page.locator('[data-testid="x-mode"] button[data-value="time"]').getAttribute('aria-pressed'),
      'true',
    );
    assert.equal(
      await page.locator('[data-testid="log-scale"] button[data-value="log"]').getAttribute('aria-pressed'),
      'true',
    );
    assert.equal(await points('sharpness'), 276);
    // In η·t mode the x axis ends at Σ η over the updates (constant η = 0.05 here).
    const xAxis = await page.locator('[data-chart="sharpness"] .u-legend').innerText();
    assert.match(xAxis, /η·t/);
  },
);

test('an Adam run compares the preconditioned sharpness with 38/η', { skip: SKIP }, async () => {
  await page.goto(url(`#/run/${fx.adamId}`));
  const sharp = page.locator('[data-chart="sharpness"]');
  await sharp.waitFor();
  const legend = await sharp.locator('.u-legend').innerText();
  assert.match(legend, /38\/η/);
  assert.match(legend, /λ₁\(P⁻¹H\)/);
});

test(
  'a sweep page: overlaid sharpness, sharpness and accuracy vs η, max stable η per variant',
  { skip: SKIP },
  async () => {
    await page.goto(url(`#/sweep/${fx.sweepId}`));
    await page.locator('[data-chart="sweep-sharpness"]').waitFor();
    for (const key of ['sweep-final-sharpness', 'sweep-test-acc'])
      assert.equal(await page.locator(`[data-chart="${key}"]`).count(), 1);
    const maxStable = await page.locator('[data-testid="max-stable-lr"]').allInnerTexts();
    assert.deepEqual(maxStable, ['0.05', '0.1']); // warmup 0, warmup 50
    await page.screenshot({ path: join(ARTIFACTS, 'sweep.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  },
);
