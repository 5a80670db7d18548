/** The server's JSON API and its server-sent events (relative URLs: works behind a path prefix). */
import type {
  DensityResponse,
  MetricsResponse,
  RunsResponse,
  SlicesResponse,
  SweepResponse,
} from '../../src/server/types.ts';

/** api/runs/<id…>/<resource> with each id segment percent-encoded. */
export function runUrl(id: string, resource: string): string {
  return `api/runs/${id.split('/').map(encodeURIComponent).join('/')}/${resource}`;
}

/** GET a JSON resource; throws an Error carrying the server's message. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { Accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as unknown;
  if (!res.ok) {
    const msg =
      body !== null && typeof body === 'object' && 'error' in body
        ? String((body as { error: unknown }).error)
        : res.statusText;
    throw new Error(`${res.status}: ${msg}`);
  }
  return body as T;
}

export const api = {
  runs: () => getJson<RunsResponse>('api/runs'),
  config: (id: string) => getJson<Record<string, unknown>>(runUrl(id, 'config')),
  metrics: (id: string, since = -1, fields?: string[]) =>
    getJson<MetricsResponse>(`${runUrl(id, 'metrics')}?since=${since}${fields ? `&fields=${fields.join(',')}` : ''}`),
  density: (id: string, step?: number) =>
    getJson<DensityResponse>(`${runUrl(id, 'density')}${step === undefined ? '' : `?step=${step}`}`),
  slices: (id: string, step?: number) =>
    getJson<SlicesResponse>(`${runUrl(id, 'slices')}${step === undefined ? '' : `?step=${step}`}`),
  sweep: (id: string) => getJson<SweepResponse>(`api/sweeps/${id.split('/').map(encodeURIComponent).join('/')}`),
};

/** Connection state of all open streams, shown in the top bar. */
const listeners = new Set<(live: boolean) => void>();
let open = 0;
export function onLiveChange(f: (live: boolean) => void): void {
  listeners.add(f);
}
function setOpen(delta: number): void {
  open += delta;
  for (const f of listeners) f(open > 0);
}

/**
 * Subscribes to an SSE endpoint; handlers by event name get the parsed data. EventSource
 * reconnects by itself (sending Last-Event-ID). Returns a function that closes the stream.
 */
export function subscribe(url: string, handlers: Record<string, (data: unknown) => void>): () => void {
  const es = new EventSource(url);
  let isOpen = false;
  const mark = (o: boolean): void => {
    if (o !== isOpen) setOpen(o ? 1 : -1);
    isOpen = o;
  };
  es.onopen = () => mark(true);
  es.onerror = () => mark(false);
  for (const [name, f] of Object.entries(handlers)) {
    es.addEventListener(name, (ev) => {
      let data: unknown;
      try {
        data = JSON.parse((ev as MessageEvent<string>).data);
      } catch {
        return;
      }
      f(data);
    });
  }
  return () => {
    mark(false);
    es.close();
  };
}
