/**
 * metrics.jsonl: one JSON object per logged step, appended as training runs.
 *
 * - Each row is written with one write call of `json + '\n'`, so a crash (even SIGKILL) can only
 *   leave a partial LAST line. The reader drops such a line; the writer cuts it off before
 *   appending again, so the file stays valid JSONL.
 * - Numbers are finite or null: NaN and ±Infinity (a diverging loss) are written as null, so a
 *   key that is absent means "not measured at this step" and null means "measured, not finite".
 *   Typed arrays are written as JSON lists.
 * - Every row has an integer `step` >= 0.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from './atomicWrite.ts';
import { parseRow, serializeRow, type MetricRow } from './metricRows.ts';

export { parseRow, serializeRow, type MetricRow } from './metricRows.ts';

/** What readMetrics found. */
export interface MetricsContent {
  readonly rows: MetricRow[];
  /** The file ended in a partial line (e.g. killed mid-write); it was left out of `rows`. */
  readonly droppedPartialLine: boolean;
  /** Bytes of the file that hold complete rows (where a repaired file should end). */
  readonly validBytes: number;
  /** The last row has no trailing newline (complete JSON, but the newline was never written). */
  readonly unterminated: boolean;
  /** The text of each row's line, without the newline (to rewrite rows byte for byte). */
  readonly lines: string[];
}

/**
 * Reads metrics.jsonl (a missing file = no rows). A partial last line is dropped; any other
 * line that is not a JSON object with an integer step throws an error naming file and line.
 */
export function readMetrics(file: string): MetricsContent {
  if (!existsSync(file)) return { rows: [], droppedPartialLine: false, validBytes: 0, unterminated: false, lines: [] };
  const buf = readFileSync(file);
  const rows: MetricRow[] = [];
  const lines: string[] = [];
  let start = 0;
  let lineNo = 0;
  let validBytes = 0;
  while (start < buf.length) {
    lineNo++;
    const nl = buf.indexOf(0x0a, start);
    const end = nl === -1 ? buf.length : nl;
    const text = buf.toString('utf8', start, end);
    if (text.trim() !== '') {
      const row = parseRow(text);
      if (row === null) {
        if (nl === -1) return { rows, droppedPartialLine: true, validBytes, unterminated: false, lines };
        throw new Error(
          `${file}:${lineNo}: not a metrics row (a JSON object with an integer step): ${text.slice(0, 80)}`,
        );
      }
      rows.push(row);
      lines.push(text);
    }
    if (nl === -1)
      return { rows, droppedPartialLine: false, validBytes: buf.length, unterminated: text.trim() !== '', lines };
    start = nl + 1;
    validBytes = start;
  }
  return { rows, droppedPartialLine: false, validBytes, unterminated: false, lines };
}

/**
 * Makes `file` end in a complete row followed by a newline: cuts a partial last line, adds a
 * missing final newline. Returns what was read.
 */
export function repairMetrics(file: string): MetricsContent {
  const content = readMetrics(file);
  if (content.droppedPartialLine || content.unterminated) {
    const fd = openSync(file, 'r+');
    try {
      ftruncateSync(fd, content.validBytes);
      if (content.unterminated) writeSync(fd, '\n', content.validBytes);
    } finally {
      closeSync(fd);
    }
  }
  return content;
}

/**
 * Rewrites `file` (atomically) keeping exactly the rows with step <= maxStep, byte for byte, for
 * resuming from a checkpoint at maxStep. Returns the number of rows kept.
 */
export function truncateMetrics(file: string, maxStep: number): number {
  if (!existsSync(file)) return 0;
  const content = readMetrics(file);
  const kept = content.lines.filter((_, i) => content.rows[i].step <= maxStep);
  writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
  return kept.length;
}

/** Appends rows to a metrics.jsonl file; opened lazily (after repairing the tail), closed by close(). */
export class MetricsWriter {
  private fd: number | null = null;
  constructor(readonly file: string) {}

  /** Appends one row as one line (one write call). */
  append(row: MetricRow): void {
    const line = `${serializeRow(row)}\n`;
    if (this.fd === null) {
      if (existsSync(this.file)) repairMetrics(this.file);
      this.fd = openSync(this.file, 'a');
    }
    const bytes = Buffer.from(line, 'utf8');
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }

  /** Closes the file (a later append reopens it). */
  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}
