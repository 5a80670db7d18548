/**
 * Following a growing metrics.jsonl. `MetricsTail.poll()` returns the rows appended since the
 * last poll. A line is only consumed once its newline is written (the writer emits a row and its
 * newline in one write call, so a line without one is still being written). The file counts as
 * rewritten — and the next update is a `reset` carrying every row — when it disappears, gets a
 * new inode (atomic replace, e.g. truncateMetrics on resume), shrinks below what was read, or
 * the bytes of the last consumed line changed (rewritten in place).
 *
 * `watchRun` calls back when a run directory changes: fs.watch on the directory (which also sees
 * atomic renames of summary.json), plus polling as a fallback where watching fails or misses.
 */
import { closeSync, watch, type FSWatcher } from 'node:fs';
import type { MetricRow } from '../experiments/metrics.ts';
import { openInside, parseLines, readAt } from './files.ts';

/** Bytes read per poll at most (a huge backlog arrives over several polls). */
const CHUNK = 8 * 1024 * 1024;

export interface TailUpdate {
  /** Replace what was shown: the file was rewritten (rows then holds all of it). */
  reset: boolean;
  rows: MetricRow[];
}

export class MetricsTail {
  private offset = 0;
  private ino: number | null = null;
  /** The last consumed line including its newline, to detect in-place rewrites. */
  private lastLine: Buffer | null = null;
  /** Lines that were not rows (corruption), so far. */
  skipped = 0;

  constructor(
    private readonly rootReal: string,
    readonly file: string,
  ) {}

  /** New rows since the last call, or null when nothing changed. Never throws for file problems. */
  poll(): TailUpdate | null {
    let f: ReturnType<typeof openInside>;
    try {
      f = openInside(this.rootReal, this.file);
    } catch {
      f = null;
    }
    if (f === null) {
      if (this.ino === null && this.offset === 0) return null;
      this.forget();
      return { reset: true, rows: [] };
    }
    try {
      let reset = false;
      if (this.ino !== null && (f.ino !== this.ino || f.size < this.offset || !this.lastLineIntact(f.fd))) {
        this.forget();
        reset = true;
      }
      this.ino = f.ino;
      const rows: MetricRow[] = [];
      while (f.size > this.offset) {
        const buf = readAt(f.fd, this.offset, Math.min(CHUNK, f.size - this.offset));
        const cut = buf.lastIndexOf(0x0a) + 1;
        if (cut === 0) {
          if (buf.length === CHUNK) {
            // A single line longer than CHUNK: not a metrics row; skip it.
            this.offset += buf.length;
            this.skipped++;
            continue;
          }
          break; // an incomplete last line: wait for its newline
        }
        const parsed = parseLines(buf.subarray(0, cut));
        for (const r of parsed.rows) rows.push(r);
        this.skipped += parsed.skipped;
        this.lastLine = Buffer.from(buf.subarray(parsed.lastLineStart, cut));
        this.offset += cut;
        if (cut < buf.length && buf.length < CHUNK) break;
      }
      return reset || rows.length > 0 ? { reset, rows } : null;
    } finally {
      closeSync(f.fd);
    }
  }

  private lastLineIntact(fd: number): boolean {
    if (this.lastLine === null) return true;
    const at = this.offset - this.lastLine.length;
    return readAt(fd, at, this.lastLine.length).equals(this.lastLine);
  }

  private forget(): void {
    this.offset = 0;
    this.ino = null;
    this.lastLine = null;
    this.skipped = 0;
  }
}

/**
 * Calls `onChange` (debounced) when something in `dir` may have changed: on fs.watch events and
 * every `pollMs` regardless. Returns a function that stops watching.
 */
export function watchDir(dir: string, pollMs: number, onChange: () => void): () => void {
  let pending: NodeJS.Timeout | null = null;
  const fire = (): void => {
    if (pending !== null) return;
    pending = setTimeout(() => {
      pending = null;
      onChange();
    }, 25);
  };
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, { persistent: false }, fire);
    watcher.on('error', () => {
      watcher?.close();
      watcher = null;
    });
  } catch {
    watcher = null; // e.g. out of inotify watches: polling still works
  }
  const timer = setInterval(onChange, pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (pending !== null) clearTimeout(pending);
    watcher?.close();
  };
}
