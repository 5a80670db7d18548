/**
 * metrics.jsonl → CSV (RFC 4180: comma-separated, fields with , " CR LF or edge spaces quoted,
 * "" for a quote, LF line ends). Columns are the union of the rows' keys in order of first
 * appearance; lists are expanded to key_0, key_1, … (as many as the longest list, e.g. eigs_0,
 * eigs_1), nested mappings to key.sub. A key that is a list in some rows and a number in others
 * puts the number in key_0. Missing values and nulls are empty cells.
 */
import { writeFileAtomic } from './atomicWrite.ts';
import { readMetrics } from './metrics.ts';
import { flatten } from './configPaths.ts';

type Flat = Map<string, unknown>;

/** Flattens one row: nested mappings to `a.b`; lists stay lists (expanded by column later), typed arrays become lists. */
function flattenRow(row: Readonly<Record<string, unknown>>): Flat {
  const out: Flat = new Map();
  for (const [k, v] of flatten(row))
    out.set(k, ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v);
  return out;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text (header + one line per row) for metric rows. */
export function metricsToCsv(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string {
  const flat = rows.map(flattenRow);
  const order: string[] = [];
  const listLen = new Map<string, number>(); // keys that are a list in some row → longest length
  const seen = new Set<string>();
  for (const f of flat) {
    for (const [k, v] of f) {
      if (!seen.has(k)) {
        seen.add(k);
        order.push(k);
      }
      if (Array.isArray(v)) listLen.set(k, Math.max(listLen.get(k) ?? 0, v.length, 1));
    }
  }
  const columns: { name: string; key: string; at: number | null }[] = [];
  for (const k of order) {
    const n = listLen.get(k);
    if (n === undefined) columns.push({ name: k, key: k, at: null });
    else for (let i = 0; i < n; i++) columns.push({ name: `${k}_${i}`, key: k, at: i });
  }
  const lines = [columns.map((c) => cell(c.name)).join(',')];
  for (const f of flat) {
    lines.push(
      columns
        .map((c) => {
          const v = f.get(c.key);
          if (c.at === null) return cell(v);
          if (Array.isArray(v)) return cell(v[c.at]);
          return c.at === 0 ? cell(v) : '';
        })
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Converts a metrics.jsonl file (tolerating a partial last line) to CSV; writes `csvFile` atomically if given. */
export function metricsFileToCsv(metricsFile: string, csvFile?: string): string {
  const csv = metricsToCsv(readMetrics(metricsFile).rows);
  if (csvFile !== undefined) writeFileAtomic(csvFile, csv);
  return csv;
}
