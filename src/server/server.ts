/**
 * The dashboard's HTTP server (node:http, no framework): a read-only JSON API over a directory of
 * runs, server-sent events for live updates, and the built browser app from web/dist.
 *
 *   GET /api/runs                        runs and sweeps                       (RunsResponse)
 *   GET /api/events                      SSE `runs` (RunsResponse) whenever the list changes
 *   GET /api/sweeps                      {sweeps: SweepEntry[]}
 *   GET /api/sweeps/:id                  runs of a sweep, varied values, max stable lr per variant
 *   GET /api/runs/:id/config             config.json as written
 *   GET /api/runs/:id/summary            summary.json as written (404 before the run starts)
 *   GET /api/runs/:id/metrics[?since=S][&fields=a,b]   rows with step > S (MetricsResponse)
 *   GET /api/runs/:id/density[?step=N]   spectral density (latest measured, or at step N)
 *   GET /api/runs/:id/slices[?step=N]    loss along eigenvector directions
 *   GET /api/runs/:id/events[?since=S]   SSE: `rows` (RowsEvent) as metrics.jsonl grows, `summary`
 *                                        when summary.json changes, `ready` once caught up
 *   GET /, /assets/…                     the app (web/dist)
 *
 * Run ids are paths relative to the served directory and appear in URLs with their literal '/'
 * (`/api/runs/sweep-lr/lr-0.01/metrics`): the last segment names the resource.
 * Everything else is an error with a JSON body {error}: 400 unsafe path or bad parameter, 403
 * outside the served directory or a foreign Host header, 404 unknown, 405 not GET/HEAD, 422
 * unreadable file. See paths.ts for how paths are checked.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { realpathSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInside, readJsonInside, readMetricsInside } from './files.ts';
import { decodeSegments, HttpError, realInside } from './paths.ts';
import { listCurvatureSnapshots, RUN_FILES } from '../experiments/runStore.ts';
import { RunIndex, type RunRecord } from './runIndex.ts';
import { MetricsTail, watchDir } from './tail.ts';
import type {
  DensityResponse,
  DensityView,
  MetricRowView,
  MetricsResponse,
  RowsEvent,
  SlicesResponse,
  SlicesView,
} from './types.ts';

export interface ServerOptions {
  /** Directory of runs (a run, a sweep, or a directory of runs and sweeps). */
  dir: string;
  /** Interface to listen on; default 127.0.0.1 (only this machine). */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** The built app; default web/dist of this package. */
  staticDir?: string;
  /** Polling period of live updates (fs.watch comes on top), in ms; default 1000. */
  pollMs?: number;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:6070/ */
  url: string;
  close(): Promise<void>;
}

export interface DashboardServer {
  start(): Promise<RunningServer>;
}

/** web/dist of this package (where `vite build --config web/vite.config.ts` writes). */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Command that builds the app into web/dist. */
export const BUILD_COMMAND = 'npx vite build --config web/vite.config.ts';

const RUN_RESOURCES = new Set(['config', 'summary', 'metrics', 'density', 'slices', 'events']);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const HEARTBEAT_MS = 15_000;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  // The Lab's onnxruntime-web: compiled by streaming only when served as application/wasm.
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

const BASE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** The app's Content-Security-Policy: same-origin only; 'wasm-unsafe-eval' lets the Lab compile onnxruntime-web's wasm. */
export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...BASE_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof HttpError) {
    if (e.status === 405) res.setHeader('Allow', 'GET, HEAD');
    sendJson(res, e.status, { error: e.message });
  } else {
    // Never echo internals (paths, contents) of unexpected errors.
    sendJson(res, 500, { error: 'internal error' });
  }
}

/** Query parameters, each at most once and only the allowed names. */
function parseQuery(query: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (query === '') return out;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    throw new HttpError(400, 'bad query string');
  }
  for (const [k, v] of params) {
    if (!allowed.includes(k))
      throw new HttpError(
        400,
        `unknown parameter ${JSON.stringify(k.slice(0, 40))}${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ' (none allowed)'}`,
      );
    if (out.has(k)) throw new HttpError(400, `parameter ${k} given twice`);
    out.set(k, v);
  }
  return out;
}

function intParam(q: Map<string, string>, name: string, min: number): number | null {
  const v = q.get(name);
  if (v === undefined) return null;
  const n = /^-?\d{1,15}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new HttpError(400, `${name} must be an integer >= ${min}`);
  return n;
}

function fieldsParam(q: Map<string, string>): Set<string> | null {
  const v = q.get('fields');
  if (v === undefined) return null;
  const names = v.split(',');
  if (names.length > 64 || names.some((n) => !/^[A-Za-z0-9_]{1,64}$/.test(n)))
    throw new HttpError(400, 'fields must be a comma-separated list of metric names');
  return new Set(['step', ...names]);
}

function pick(row: MetricRowView, fields: Set<string> | null): MetricRowView {
  if (fields === null) return row;
  const out: MetricRowView = { step: row.step };
  for (const k of fields) if (k in row) out[k] = row[k];
  return out;
}

const finiteOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.map((x) => finiteOrNull(x) ?? NaN) : []);

function densityView(raw: unknown, step: number): DensityView | null {
  if (raw === null || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const x = numbers(r.x);
  const density = numbers(r.density);
  if (x.length === 0 || x.length !== density.length) return null;
  return {
    step: finiteOrNull(r.step) ?? step,
    x: x.map((v) => (Number.isNaN(v) ? 0 : v)),
    density: density.map((v) => (Number.isNaN(v) ? 0 : v)),
  };
}

function slicesView(raw: unknown, step: number): SlicesView | null {
  if (raw === null || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const t = numbers(r.t);
  if (t.length === 0 || !Array.isArray(r.directions)) return null;
  const directions: SlicesView['directions'] = [];
  for (const d of r.directions as unknown[]) {
    if (d === null || typeof d !== 'object') continue;
    const dd = d as Record<string, unknown>;
    const loss = Array.isArray(dd.loss) ? dd.loss.map(finiteOrNull) : [];
    if (loss.length !== t.length) continue;
    directions.push({
      name: typeof dd.name === 'string' ? dd.name : `direction ${directions.length + 1}`,
      eigenvalue: finiteOrNull(dd.eigenvalue),
      loss,
    });
  }
  return directions.length === 0 ? null : { step: finiteOrNull(r.step) ?? step, t, directions };
}

/** A server-sent-events response. */
class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  closed = false;

  constructor(
    readonly res: ServerResponse,
    private readonly onClose: () => void,
  ) {
    res.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.heartbeat = setInterval(() => this.res.write(': ping\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
    res.on('close', () => this.close());
  }

  send(event: string, data: unknown, id?: number): void {
    if (this.closed) return;
    this.res.write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.onClose();
    this.res.end();
  }
}

/** A dashboard server over `dir`; nothing is opened until start(). */
export function createServer(options: ServerOptions): DashboardServer {
  const host = options.host ?? '127.0.0.1';
  const pollMs = options.pollMs ?? 1000;
  let rootReal: string;
  try {
    rootReal = realpathSync(options.dir);
  } catch {
    throw new Error(`serve: ${options.dir}: no such directory`);
  }
  if (!statSync(rootReal).isDirectory()) throw new Error(`serve: ${options.dir}: not a directory`);
  const staticDir = options.staticDir ?? DEFAULT_STATIC_DIR;
  const index = new RunIndex(rootReal);
  const streams = new Set<SseStream>();
  const loopbackOnly = LOOPBACK.has(host);

  // ---- the run list stream: one shared watcher while anyone listens
  const listClients = new Set<SseStream>();
  let listStop: (() => void) | null = null;
  let listSig = '';
  const pushList = (): void => {
    let body: string;
    try {
      body = JSON.stringify(index.list());
    } catch {
      return;
    }
    if (body === listSig) return;
    listSig = body;
    const data = JSON.parse(body) as unknown;
    for (const c of listClients) c.send('runs', data);
  };

  function listEvents(res: ServerResponse): void {
    const sse = new SseStream(res, () => {
      listClients.delete(sse);
      streams.delete(sse);
      if (listClients.size === 0 && listStop !== null) {
        listStop();
        listStop = null;
      }
    });
    streams.add(sse);
    listClients.add(sse);
    index.scan(true);
    sse.send('runs', index.list());
    if (listStop === null) {
      listSig = JSON.stringify(index.list());
      listStop = watchDir(rootReal, pollMs, () => {
        index.scan(true);
        pushList();
      });
    }
  }

  function runEvents(req: IncomingMessage, res: ServerResponse, run: RunRecord, since: number): void {
    const last = req.headers['last-event-id'];
    if (typeof last === 'string' && /^\d{1,15}$/.test(last)) since = Math.max(since, Number(last));
    const metricsPath = index.file(run, RUN_FILES.metrics);
    const summaryPath = index.file(run, RUN_FILES.summary);
    // Refuse up front (403) when a file of the run resolves outside the served directory.
    realInside(rootReal, metricsPath);
    realInside(rootReal, summaryPath);
    const tail = new MetricsTail(rootReal, metricsPath);
    let summarySig = '';
    const checkSummary = (): void => {
      let sig = '-';
      try {
        const st = statSync(summaryPath);
        sig = `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch {
        /* missing */
      }
      if (sig === summarySig) return;
      summarySig = sig;
      let summary: unknown;
      try {
        summary = readJsonInside(rootReal, summaryPath) ?? null;
      } catch {
        return; // half-written or damaged: try again on the next change
      }
      sse.send('summary', summary);
    };
    let stop: (() => void) | null = null;
    const sse = new SseStream(res, () => {
      streams.delete(sse);
      stop?.();
    });
    streams.add(sse);
    const sendRows = (ev: RowsEvent): void => {
      const lastStep = ev.rows.length > 0 ? ev.rows[ev.rows.length - 1].step : undefined;
      sse.send('rows', ev, lastStep);
    };
    const first = tail.poll();
    const initial = (first?.rows ?? []).filter((r) => r.step > since);
    if (initial.length > 0) sendRows({ reset: false, rows: initial });
    checkSummary();
    sse.send('ready', { since, last_step: initial.length > 0 ? initial[initial.length - 1].step : null });
    const onChange = (): void => {
      if (sse.closed) return;
      const u = tail.poll();
      if (u !== null) sendRows(u);
      checkSummary();
    };
    stop = watchDir(run.dir, pollMs, onChange);
  }

  function runResource(
    req: IncomingMessage,
    res: ServerResponse,
    run: RunRecord,
    resource: string,
    query: string,
  ): void {
    switch (resource) {
      case 'config':
      case 'summary': {
        parseQuery(query, []);
        const value = readJsonInside(rootReal, index.file(run, `${resource}.json`));
        if (value === undefined)
          throw new HttpError(
            404,
            `${run.id} has no ${resource}.json${resource === 'summary' ? ' (not started)' : ''}`,
          );
        return sendJson(res, 200, value);
      }
      case 'metrics': {
        const q = parseQuery(query, ['since', 'fields']);
        const since = intParam(q, 'since', -1) ?? -1;
        const fields = fieldsParam(q);
        const m = readMetricsInside(rootReal, index.file(run, RUN_FILES.metrics));
        const body: MetricsResponse = {
          id: run.id,
          rows: m.rows.filter((r) => r.step > since).map((r) => pick(r, fields)),
          last_step: m.rows.length > 0 ? m.rows[m.rows.length - 1].step : null,
          partial_line: m.partial,
          skipped_lines: m.skipped,
        };
        return sendJson(res, 200, body);
      }
      case 'density':
      case 'slices': {
        const q = parseQuery(query, ['step']);
        const wanted = intParam(q, 'step', 0);
        const files = new Map(listCurvatureSnapshots(run.dir, resource).map((f) => [f.step, f.file]));
        const steps = [...files.keys()];
        const view = resource === 'density' ? densityView : slicesView;
        let current: DensityView | SlicesView | null = null;
        // The requested step, or the latest readable one (a file may be damaged).
        const candidates = wanted === null ? [...steps].reverse() : files.has(wanted) ? [wanted] : [];
        if (wanted !== null && candidates.length === 0)
          throw new HttpError(404, `${run.id} has no ${resource} at step ${wanted}`);
        for (const s of candidates) {
          let raw: unknown;
          try {
            raw = readJsonInside(rootReal, files.get(s) as string);
          } catch (e) {
            if (wanted !== null) throw e;
            continue;
          }
          current = view(raw, s);
          if (current !== null) break;
          if (wanted !== null) throw new HttpError(422, `${resource} at step ${s} is not readable`);
        }
        const body: DensityResponse | SlicesResponse = { steps, current } as DensityResponse | SlicesResponse;
        return sendJson(res, 200, body);
      }
      case 'events': {
        const q = parseQuery(query, ['since']);
        const since = intParam(q, 'since', -1) ?? -1;
        if (req.method === 'HEAD') return sendJson(res, 200, {});
        return runEvents(req, res, run, since);
      }
    }
    throw new HttpError(404, 'unknown resource');
  }

  function api(req: IncomingMessage, res: ServerResponse, segs: string[], query: string): void {
    const [head, ...rest] = segs;
    if (head === 'runs' && rest.length === 0) {
      parseQuery(query, []);
      return sendJson(res, 200, index.list());
    }
    if (head === 'events' && rest.length === 0) {
      parseQuery(query, []);
      if (req.method === 'HEAD') return sendJson(res, 200, {});
      return listEvents(res);
    }
    if (head === 'sweeps' && rest.length === 0) {
      parseQuery(query, []);
      return sendJson(res, 200, { sweeps: index.list().sweeps });
    }
    if (head === 'sweeps' && rest.length > 0) {
      parseQuery(query, []);
      const sweep = index.sweep(rest.join('/'));
      if (sweep === undefined) throw new HttpError(404, 'no such sweep');
      return sendJson(res, 200, sweep);
    }
    if (head === 'runs' && rest.length >= 2 && RUN_RESOURCES.has(rest[rest.length - 1])) {
      const run = index.run(rest.slice(0, -1).join('/'));
      if (run === undefined) throw new HttpError(404, 'no such run');
      return runResource(req, res, run, rest[rest.length - 1], query);
    }
    throw new HttpError(404, 'unknown API route');
  }

  function serveStatic(res: ServerResponse, segs: string[]): void {
    let staticReal: string;
    try {
      staticReal = realpathSync(staticDir);
    } catch {
      throw new HttpError(404, `the dashboard app is not built: run \`${BUILD_COMMAND}\``);
    }
    const rel = segs.length === 0 ? ['index.html'] : segs;
    const file = join(staticReal, ...rel);
    const real = realInside(staticReal, file);
    if (real === null || !statSync(real).isFile()) throw new HttpError(404, 'not found');
    const body = readInside(staticReal, real, 64 * 1024 * 1024);
    if (body === null) throw new HttpError(404, 'not found');
    const ext = extname(real).toLowerCase();
    res.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': rel[0] === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...(ext === '.html' ? { 'Content-Security-Policy': CSP } : {}),
    });
    res.end(body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new HttpError(405, `method ${String(req.method).slice(0, 20)} not allowed (GET, HEAD)`);
      if (loopbackOnly) {
        // DNS rebinding: a page on another origin must not reach a loopback server by name.
        const h = req.headers.host;
        const name = h === undefined ? 'localhost' : h.replace(/:\d+$/, '').toLowerCase();
        if (!LOOPBACK.has(name)) throw new HttpError(403, 'forbidden Host header');
      }
      const target = req.url ?? '';
      const q = target.indexOf('?');
      const rawPath = q === -1 ? target : target.slice(0, q);
      const query = q === -1 ? '' : target.slice(q + 1);
      if (query.includes('\0') || query.length > 4096) throw new HttpError(400, 'bad query string');
      const segs = decodeSegments(rawPath);
      if (segs[0] === 'api') api(req, res, segs.slice(1), query);
      else serveStatic(res, segs);
    } catch (e) {
      sendError(res, e);
    }
  }

  let server: Server | null = null;

  return {
    start(): Promise<RunningServer> {
      if (server !== null) return Promise.reject(new Error('server already started'));
      const srv = createHttpServer(handle);
      server = srv;
      srv.on('clientError', (_err, socket) => {
        if (socket.writable)
          socket.end(
            'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":"bad request"}',
          );
        else socket.destroy();
      });
      return new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(options.port ?? 0, host, () => {
          srv.off('error', reject);
          const addr = srv.address() as AddressInfo;
          const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          resolve({
            url: `http://${shown}:${addr.port}/`,
            close: () =>
              new Promise<void>((done) => {
                for (const s of [...streams]) s.close();
                listStop?.();
                listStop = null;
                srv.close(() => done());
                srv.closeAllConnections();
              }),
          });
        });
      });
    },
  };
}
