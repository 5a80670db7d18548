/**
 * Reading run files defensively: only regular files inside the served root (realpath-checked,
 * opened without following a final symlink and without blocking on FIFOs), bounded in size, and
 * tolerant of corruption — a half-written or damaged file yields what is readable or a 422,
 * never an exception that escapes a request.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { parseRow, readMetrics, type MetricRow } from '../experiments/metrics.ts';
import { HttpError, realInside } from './paths.ts';

/** Largest JSON file (config, summary, density, slices) the server reads, in bytes. */
export const MAX_JSON_BYTES = 32 * 1024 * 1024;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens a regular file inside `rootReal`; null if missing; HttpError 403 outside, 422 not a regular file. */
export function openInside(
  rootReal: string,
  path: string,
): { fd: number; size: number; mtimeMs: number; ino: number } | null {
  const real = realInside(rootReal, path);
  if (real === null) return null;
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch {
    return null;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new HttpError(422, 'not a regular file');
  }
  return { fd, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
}

/** Reads `length` bytes at `position` (fewer if the file is shorter). */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Whole content of a regular file inside the root, or null if missing; HttpError 413 over maxBytes. */
export function readInside(rootReal: string, path: string, maxBytes = MAX_JSON_BYTES): Buffer | null {
  const f = openInside(rootReal, path);
  if (f === null) return null;
  try {
    if (f.size > maxBytes) throw new HttpError(422, `file too large (${f.size} bytes)`);
    return readAt(f.fd, 0, f.size);
  } finally {
    closeSync(f.fd);
  }
}

/** Parsed JSON of a file inside the root; undefined if missing; HttpError(422) if not valid JSON. */
export function readJsonInside(rootReal: string, path: string): unknown {
  const buf = readInside(rootReal, path);
  if (buf === null) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (e) {
    throw new HttpError(422, `unreadable JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Like readJsonInside, but any problem gives undefined (for listings, which must not fail). */
export function readJsonQuiet(rootReal: string, path: string): unknown {
  try {
    return readJsonInside(rootReal, path);
  } catch {
    return undefined;
  }
}

/** Rows of complete lines in `buf` (which should end at a newline); damaged lines are counted, not thrown. */
export function parseLines(buf: Buffer): { rows: MetricRow[]; skipped: number; lastLineStart: number } {
  const rows: MetricRow[] = [];
  let skipped = 0;
  let start = 0;
  let lastLineStart = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl === -1 ? buf.length : nl;
    const text = buf.toString('utf8', start, end);
    if (text.trim() !== '') {
      const row = parseRow(text);
      if (row === null) skipped++;
      else rows.push(row);
    }
    lastLineStart = start;
    if (nl === -1) break;
    start = nl + 1;
  }
  return { rows, skipped, lastLineStart };
}

/** What is readable in a metrics.jsonl. */
export interface MetricsRead {
  rows: MetricRow[];
  partial: boolean;
  skipped: number;
}

/**
 * All rows of a metrics.jsonl inside the root (missing = none). Uses the run store's reader
 * (which drops a partial last line); if that refuses a damaged line in the middle, falls back to
 * keeping every readable line.
 */
export function readMetricsInside(rootReal: string, path: string): MetricsRead {
  const f = openInside(rootReal, path);
  if (f === null) return { rows: [], partial: false, skipped: 0 };
  closeSync(f.fd);
  const real = realInside(rootReal, path) ?? path;
  try {
    const m = readMetrics(real);
    return { rows: m.rows, partial: m.droppedPartialLine, skipped: 0 };
  } catch {
    const buf = readInside(rootReal, path, Number.MAX_SAFE_INTEGER) ?? Buffer.alloc(0);
    const cut = buf.lastIndexOf(0x0a) + 1;
    const { rows, skipped } = parseLines(buf.subarray(0, cut));
    return { rows, partial: buf.subarray(cut).toString('utf8').trim() !== '', skipped };
  }
}

/** The last complete, valid row of a metrics.jsonl (reads only the file's tail), or null. */
export function lastMetricsRow(rootReal: string, path: string, tailBytes = 256 * 1024): MetricRow | null {
  let f: ReturnType<typeof openInside>;
  try {
    f = openInside(rootReal, path);
  } catch {
    return null;
  }
  if (f === null) return null;
  try {
    const from = Math.max(0, f.size - tailBytes);
    const buf = readAt(f.fd, from, f.size - from);
    const cut = buf.lastIndexOf(0x0a) + 1;
    const { rows } = parseLines(buf.subarray(0, cut));
    return rows.length === 0 ? null : rows[rows.length - 1];
  } finally {
    closeSync(f.fd);
  }
}
