/** HTTP helpers for the server tests: raw requests (nothing normalizes the path) and an SSE reader. */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends `GET <target>` byte for byte over a socket (fetch and http.request would normalize or
 * reject some targets) and reads the whole response.
 */
export function rawRequest(
  baseUrl: string,
  target: string,
  opts: { method?: string; host?: string; extra?: string } = {},
): Promise<RawResponse> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const buf = Buffer.concat(chunks);
      const split = buf.indexOf('\r\n\r\n');
      const headers = buf.toString('latin1', 0, split === -1 ? buf.length : split);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(headers);
      resolve({ status: m ? Number(m[1]) : 0, headers, body: split === -1 ? '' : buf.toString('utf8', split + 4) });
    });
    sock.write(
      `${opts.method ?? 'GET'} ${target} HTTP/1.1\r\nHost: ${opts.host ?? u.host}\r\n${opts.extra ?? ''}Connection: close\r\n\r\n`,
      'latin1',
    );
  });
}

/** GET a JSON resource (the path is sent as given). */
export async function getJson(
  baseUrl: string,
  target: string,
): Promise<{ status: number; json: unknown; text: string }> {
  const r = await rawRequest(baseUrl, target);
  // Chunked bodies do not occur: the server always sets Content-Length for JSON.
  let json: unknown;
  try {
    json = JSON.parse(r.body);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text: r.body };
}

export interface SseEvent {
  event: string;
  data: unknown;
  id?: string;
}

/** An open SSE connection collecting events; next() waits for the next matching one. */
export class SseClient {
  readonly events: SseEvent[] = [];
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closeFn: () => void = () => undefined;
  status = 0;
  contentType = '';

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        c.status = res.statusCode ?? 0;
        c.contentType = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.feed(chunk));
        res.on('error', () => undefined);
        resolve(c);
      });
      req.on('error', reject);
      c.closeFn = () => req.destroy();
      req.end();
    });
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      let event = 'message';
      let data = '';
      let id: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
        else if (line.startsWith('id: ')) id = line.slice(4);
      }
      if (data === '') continue;
      this.events.push({ event, data: JSON.parse(data) as unknown, id });
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Resolves with the first event (from index `from`) satisfying `pred`; rejects after `ms`. */
  async waitFor(pred: (e: SseEvent) => boolean, ms = 5000, from = 0): Promise<SseEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.slice(from).find(pred);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching SSE event within ${ms} ms; got: ${this.events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  close(): void {
    this.closeFn();
  }
}
