/**
 * The Lab (#/lab): trains a run of the CLI's config in this browser tab, in a Web Worker
 * (worker.ts) on onnxruntime-web, with no Edgewise server behind the page. The config lives in
 * the URL (`#/lab?config=<URI-encoded JSON>&run=1`, like the TensorFlow playground), is validated
 * by the CLI's schema (resolveConfig, same one-line errors), and the run's rows are drawn by the
 * run view's charts and exported as metrics.jsonl and config.json. Data files picked in
 * `#lab-files` (Fashion-MNIST, CIFAR-10) go to the worker as File objects with each run; they
 * cannot be in the URL, so a shared link to such a config needs the files picked again.
 *
 * The root element is `#lab`, with `data-status` (idle | running | completed | diverged | failed)
 * and `data-backend` (webgpu | wasm, once the worker has chosen), `data-engine` (the engine's
 * backend: webgpu | ort) and `data-residency` (device: training state stays in GPU memory;
 * host: every tensor goes through host memory) and, once done, `data-device-runs` (JSON: runs of
 * device-resident graphs by their device outputs, EngineRuntime.deviceRuns).
 */
import type { ThresholdInfo } from '../../../src/server/types.ts';
import type { MetricRow } from '../../../src/experiments/metricRows.ts';
import { configIssues, issuesLine } from '../../../src/experiments/config.ts';
import { stat, type ViewHandle } from '../components.ts';
import { h } from '../dom.ts';
import { fmt, num, pct } from '../format.ts';
import { RunCharts } from '../run/runCharts.ts';
import { lastValue } from '../run/runStats.ts';
import type { MetricRowView } from '../../../src/server/types.ts';
import { pickedSummary } from './pickedFiles.ts';
import { PRESETS, type LabPreset } from './presets.ts';
import type { StartMessage, WorkerMessage } from './protocol.ts';

type LabStatus = 'idle' | 'running' | 'completed' | 'diverged' | 'failed';

/** What the Lab's URL holds: the config as typed (JSON text), η = factor/λ0 if set, and whether to run on load. */
export interface LabState {
  readonly config: string | null;
  readonly lrTimesLambda0: number | null;
  readonly run: boolean;
}

/** Parses the Lab's hash (`#/lab?config=…&lr0=3&run=1`). */
export function parseLabHash(hash: string): LabState {
  const qi = hash.indexOf('?');
  const p = new URLSearchParams(qi === -1 ? '' : hash.slice(qi + 1));
  const f = Number(p.get('lr0'));
  return { config: p.get('config'), lrTimesLambda0: p.has('lr0') && f > 0 ? f : null, run: p.get('run') === '1' };
}

/** The Lab's hash for a config (JSON, compact) and options. */
export function formatLabHash(config: string, lrTimesLambda0: number | null, run = false): string {
  let compact = config;
  try {
    compact = JSON.stringify(JSON.parse(config));
  } catch {
    // Unparseable text stays as typed, so that the URL still shows what is wrong.
  }
  return `#/lab?config=${encodeURIComponent(compact)}${lrTimesLambda0 !== null ? `&lr0=${lrTimesLambda0}` : ''}${run ? '&run=1' : ''}`;
}

/** The config text's problem as the CLI words it (one line), or null with the parsed input. */
export function checkConfigText(text: string): { input: unknown; error: string | null } {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (e) {
    return { input: null, error: `config: not valid JSON (${(e as Error).message})` };
  }
  const { config, issues } = configIssues(input ?? {});
  return { input, error: config === null ? issuesLine(issues) : null };
}

/** The threshold the rows were compared with (quantity and η·threshold), for the charts' labels. */
function thresholdOf(rows: readonly MetricRow[]): ThresholdInfo | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i]!;
    const t = r.threshold;
    const lr = r.lr;
    if (typeof t === 'number' && typeof lr === 'number' && lr > 0) {
      const coefficient = Number((t * lr).toPrecision(6));
      return {
        quantity: r.threshold_quantity === 'preconditioned_sharpness' ? 'preconditioned_sharpness' : 'sharpness',
        coefficient,
        label: `${Number(coefficient.toPrecision(3))}/η`,
      };
    }
  }
  return null;
}

/** Mounts the Lab in `app`. */
export function labView(app: HTMLElement): ViewHandle {
  const initial = parseLabHash(location.hash);
  const first: LabPreset = PRESETS[0]!;
  let lrTimesLambda0 = initial.config === null ? first.lrTimesLambda0 : initial.lrTimesLambda0;
  let worker: Worker | null = null;
  let rows: MetricRow[] = [];
  let metricsText: string | null = null;
  let runConfig: unknown = null;
  let summary: unknown = null;
  let urls: string[] = [];

  const root = h('div', { id: 'lab', 'data-status': 'idle' });
  const badge = h('span', { class: 'badge', 'data-testid': 'lab-status' }, 'idle');
  const backendEl = h('p', { id: 'lab-backend', class: 'muted' }, 'Backend: chosen when a run starts.');
  const presetSel = h('select', { id: 'lab-preset', 'aria-label': 'preset' });
  presetSel.append(h('option', { value: '' }, '(custom)'));
  for (const p of PRESETS) presetSel.append(h('option', { value: p.id }, p.title));
  const presetNote = h('p', { class: 'muted lab-note' });
  const textarea = h('textarea', { id: 'lab-config', rows: 16, spellcheck: 'false', 'aria-label': 'config (JSON)' });
  const lr0Box = h('input', { type: 'checkbox', id: 'lab-lr0' });
  const lr0Factor = h('input', { type: 'number', id: 'lab-lr0-factor', min: 0, step: 'any', value: 3 });
  // No `accept`: the raw IDX files have no extension to filter on.
  const filesInput = h('input', { type: 'file', id: 'lab-files', multiple: true, 'aria-label': 'data files' });
  const filesNote = h('span', { id: 'lab-files-note', class: 'muted' }, pickedSummary([]));
  const errorEl = h('p', { id: 'lab-error', class: 'message', role: 'alert' });
  const runBtn = h('button', { type: 'button', id: 'lab-run', class: 'lab-button' }, 'Run');
  const stopBtn = h('button', { type: 'button', id: 'lab-stop', class: 'lab-button', disabled: true }, 'Stop');
  const shareLink = h('a', { id: 'lab-share', href: '#/lab' }, 'link that runs this config');
  const messageEl = h('p', { id: 'lab-message', class: 'muted' });
  const stats = h('div', { class: 'stats' });
  const metricsLink = h('a', { id: 'lab-metrics', download: 'metrics.jsonl' }, 'metrics.jsonl');
  const configLink = h('a', { id: 'lab-config-json', download: 'config.json' }, 'config.json');
  // With the summary, the three files form a run directory that `edgewise report` and `serve` open.
  const summaryLink = h('a', { id: 'lab-summary-json', download: 'summary.json', hidden: true }, 'summary.json');
  const summarySep = h('span', { hidden: true }, ' · ');
  const exportsEl = h(
    'p',
    { class: 'lab-exports', hidden: true },
    'Export: ',
    metricsLink,
    ' · ',
    configLink,
    summarySep,
    summaryLink,
  );
  const grid = h('div', { class: 'grid' });
  const charts = new RunCharts(grid, { x: 'steps', log: false });

  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'title-row' }, h('h1', {}, 'Lab'), badge)),
    h(
      'p',
      { class: 'muted' },
      'Trains in this tab (a Web Worker on onnxruntime-web), with the same config, data and training loop as ',
      h('code', {}, 'edgewise train'),
      '. The URL holds the config: share it to reproduce the run.',
    ),
    backendEl,
    h('div', { class: 'lab-form' }, h('label', {}, 'Preset ', presetSel), presetNote),
    h(
      'details',
      { class: 'config-json', open: true },
      h('summary', {}, 'config (JSON in the schema of ', h('code', {}, 'edgewise train CONFIG'), ')'),
      textarea,
    ),
    h(
      'p',
      { class: 'lab-form' },
      h('label', {}, lr0Box, ' set η = '),
      lr0Factor,
      ' / λ0, with λ0 the sharpness measured at initialization before the run',
    ),
    h(
      'p',
      { class: 'lab-form' },
      h('label', {}, 'Data files ', filesInput),
      ' for data.name fashion-mnist (its four IDX files) or cifar10 (its six binary batches); they stay in this tab. ',
      filesNote,
    ),
    errorEl,
    h('p', { class: 'lab-form' }, runBtn, ' ', stopBtn, ' ', shareLink),
    messageEl,
    stats,
    exportsEl,
    grid,
  );
  app.replaceChildren(root);

  const setStatus = (s: LabStatus): void => {
    root.dataset.status = s;
    badge.textContent = s;
    badge.className = `badge status-${s}`;
    runBtn.disabled = s === 'running';
    stopBtn.disabled = s !== 'running';
  };

  const writeUrl = (): void => {
    const hash = formatLabHash(textarea.value, lrTimesLambda0);
    history.replaceState(null, '', hash);
    shareLink.href = formatLabHash(textarea.value, lrTimesLambda0, true);
  };

  /** Validates the config text; shows the CLI's one-line error; returns the input when valid. */
  const validate = (): { ok: boolean; input: unknown } => {
    const { input, error } = checkConfigText(textarea.value);
    errorEl.textContent = error ?? '';
    return { ok: error === null, input };
  };

  const syncLr0 = (): void => {
    lr0Box.checked = lrTimesLambda0 !== null;
    if (lrTimesLambda0 !== null) lr0Factor.value = String(lrTimesLambda0);
  };

  const showPreset = (p: LabPreset): void => {
    textarea.value = JSON.stringify(p.config, null, 2);
    lrTimesLambda0 = p.lrTimesLambda0;
    presetNote.textContent = p.note;
    presetSel.value = p.id;
    syncLr0();
    validate();
    writeUrl();
  };

  const renderStats = (): void => {
    const last = rows[rows.length - 1];
    const lastWith = (k: string): number | null => lastValue(rows, k);
    const t = thresholdOf(rows);
    const pre = t?.quantity === 'preconditioned_sharpness';
    const sharp = lastWith(pre ? 'precond_sharpness' : 'sharpness');
    const thr = lastWith('threshold');
    stats.replaceChildren(
      stat('Step', last ? String(last.step) : '–', undefined, 'lab-step'),
      stat('Train loss', fmt(lastWith('train_loss')), `accuracy ${pct(lastWith('train_acc'))}`),
      stat('Test accuracy', pct(lastWith('test_acc')), `loss ${fmt(lastWith('test_loss'))}`),
      stat(pre ? 'Precond. sharpness' : 'Sharpness λ₁', fmt(sharp), pre ? 'λ₁(P⁻¹H)' : 'top Hessian eigenvalue'),
      stat(`Threshold ${t?.label ?? '2/η'}`, fmt(thr), last && num(last.lr) !== null ? `η = ${fmt(num(last.lr))}` : ''),
    );
  };

  const setExports = (): void => {
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
    const text = metricsText ?? rows.map((r) => `${JSON.stringify(r)}\n`).join('');
    const m = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
    const c = URL.createObjectURL(new Blob([`${JSON.stringify(runConfig, null, 2)}\n`], { type: 'application/json' }));
    urls.push(m, c);
    metricsLink.href = m;
    configLink.href = c;
    summaryLink.hidden = summarySep.hidden = summary === null;
    if (summary !== null) {
      const s = URL.createObjectURL(new Blob([`${JSON.stringify(summary, null, 2)}\n`], { type: 'application/json' }));
      urls.push(s);
      summaryLink.href = s;
    }
    exportsEl.hidden = false;
  };

  let drawPending = false;
  const draw = (): void => {
    // Rows can come faster than frames: draw at most once per frame, so the page stays responsive.
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      renderStats();
      charts.setRows(rows as unknown as MetricRowView[], thresholdOf(rows));
    });
  };

  const stop = (why: string | null): void => {
    worker?.terminate();
    worker = null;
    if (why !== null) {
      messageEl.textContent = why;
      setStatus('idle');
      setExports();
    }
  };

  const onMessage = (m: WorkerMessage): void => {
    switch (m.type) {
      case 'backend':
        root.dataset.backend = m.backend;
        root.dataset.engine = m.engine;
        // On wasm every tensor is on the host; on webgpu the loop says where the state lives (residency).
        if (m.engine === 'ort') root.dataset.residency = 'host';
        backendEl.textContent =
          m.backend === 'webgpu'
            ? 'Backend: WebGPU (onnxruntime-web’s WebGPU provider; the engine’s webgpu backend, as edgewise train with backend: webgpu).'
            : `Backend: wasm on the CPU (onnxruntime-web), because WebGPU is unavailable: ${m.why ?? 'unknown reason'}.`;
        break;
      case 'residency':
        root.dataset.residency = m.device ? 'device' : 'host';
        backendEl.textContent = `${backendEl.textContent?.replace(/ (Parameters|The update).*$/, '') ?? ''} ${
          m.device
            ? 'Parameters, gradient and optimizer state stay in GPU memory.'
            : `The update runs on the host (${m.why ?? 'unknown reason'}).`
        }`;
        break;
      case 'message':
        messageEl.textContent = m.text;
        break;
      case 'lr':
        // The run's config now has the measured η: the URL reproduces this exact run.
        textarea.value = JSON.stringify(withLr(JSON.parse(textarea.value) as Record<string, unknown>, m.lr), null, 2);
        lrTimesLambda0 = null;
        syncLr0();
        presetSel.value = '';
        runConfig = m.config;
        writeUrl();
        messageEl.textContent = `λ0 = ${m.lambda0.toPrecision(4)}: training with η = ${m.lr.toPrecision(4)} (2/η = ${(2 / m.lr).toPrecision(4)})`;
        break;
      case 'start':
        messageEl.textContent += ` · ${m.params} parameters, ${m.trainSize} training samples, ${m.steps} steps`;
        break;
      case 'row':
        rows.push(m.row);
        draw();
        break;
      case 'done':
        metricsText = m.metrics;
        summary = m.summary;
        worker?.terminate();
        worker = null;
        setExports();
        renderStats();
        charts.setRows(rows as unknown as MetricRowView[], thresholdOf(rows));
        messageEl.textContent = `${m.summary.status} after ${m.summary.steps} steps in ${(m.elapsedMs / 1000).toFixed(1)} s${m.summary.reason ? `: ${m.summary.reason}` : ''}`;
        root.dataset.elapsedMs = String(Math.round(m.elapsedMs));
        root.dataset.deviceRuns = JSON.stringify(m.deviceRuns);
        setStatus(m.summary.status === 'running' ? 'failed' : m.summary.status);
        break;
      case 'error':
        worker?.terminate();
        worker = null;
        errorEl.textContent = m.message;
        setStatus('failed');
        if (rows.length > 0) setExports();
        break;
    }
  };

  const start = (): void => {
    stop(null);
    const { ok, input } = validate();
    if (!ok) {
      setStatus('failed');
      return;
    }
    rows = [];
    metricsText = null;
    summary = null;
    runConfig = configIssues(input ?? {}).config;
    exportsEl.hidden = true;
    charts.setRows([], null);
    messageEl.textContent = 'starting…';
    delete root.dataset.engine;
    delete root.dataset.residency;
    delete root.dataset.deviceRuns;
    setStatus('running');
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => onMessage(e.data);
    worker.onerror = (e) => onMessage({ type: 'error', message: `the Lab's worker failed: ${e.message}` });
    const msg: StartMessage = {
      type: 'start',
      config: input,
      lrTimesLambda0,
      mnistUrl: new URL('lab/mnist.bin', document.baseURI).href,
      files: [...(filesInput.files ?? [])],
    };
    worker.postMessage(msg);
  };

  presetSel.addEventListener('change', () => {
    const p = PRESETS.find((x) => x.id === presetSel.value);
    if (p) showPreset(p);
  });
  textarea.addEventListener('input', () => {
    presetSel.value = '';
    presetNote.textContent = '';
    validate();
    writeUrl();
  });
  const onLr0 = (): void => {
    const f = Number(lr0Factor.value);
    lrTimesLambda0 = lr0Box.checked && f > 0 ? f : null;
    writeUrl();
  };
  filesInput.addEventListener('change', () => {
    filesNote.textContent = pickedSummary([...(filesInput.files ?? [])]);
  });
  lr0Box.addEventListener('change', onLr0);
  lr0Factor.addEventListener('input', onLr0);
  runBtn.addEventListener('click', start);
  stopBtn.addEventListener('click', () => stop(`stopped after step ${rows[rows.length - 1]?.step ?? 0}`));

  if (initial.config === null) showPreset(first);
  else {
    textarea.value = prettyJson(initial.config);
    const p = PRESETS.find((x) => JSON.stringify(x.config) === initial.config);
    presetSel.value = p?.id ?? '';
    presetNote.textContent = p?.note ?? '';
    syncLr0();
    validate();
    writeUrl();
  }
  renderStats();
  if (initial.run) start();

  return {
    update() {
      // The Lab writes its own hash (replaceState); a hash typed or pasted by the user reloads it.
      const next = parseLabHash(location.hash);
      if (next.config !== null && prettyJson(next.config) !== textarea.value) {
        textarea.value = prettyJson(next.config);
        lrTimesLambda0 = next.lrTimesLambda0;
        syncLr0();
        validate();
        if (next.run) start();
      }
    },
    destroy() {
      stop(null);
      charts.destroy();
      for (const u of urls) URL.revokeObjectURL(u);
    },
  };
}

/** The config with optimizer.lr set. */
function withLr(input: Record<string, unknown>, lr: number): Record<string, unknown> {
  const opt = input.optimizer !== null && typeof input.optimizer === 'object' ? input.optimizer : {};
  return { ...input, optimizer: { ...opt, lr } };
}

/** JSON text laid out for the editor (or the text as is, when it does not parse). */
function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
