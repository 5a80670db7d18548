/**
 * Metric rows as metrics.jsonl lines (metrics.ts has the file): numbers are finite or null (NaN
 * and ±Infinity, a diverging loss, are written as null), typed arrays are written as JSON lists,
 * and every row has an integer `step` >= 0. No Node access: an in-memory run (memorySink.ts)
 * keeps rows as they read back from the file.
 */

/** One metrics row (`step` plus whatever was measured). */
export interface MetricRow {
  readonly step: number;
  readonly [key: string]: unknown;
}

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
  return v;
}

/** One row as a JSON line (no newline); throws if `step` is not an integer >= 0. */
export function serializeRow(row: MetricRow): string {
  if (!Number.isSafeInteger(row.step) || row.step < 0)
    throw new Error(`metrics row: step must be an integer >= 0 (got ${String(row.step)})`);
  return JSON.stringify(row, replacer);
}

/** One JSON line as a metrics row, or null if it is not one (bad JSON, no integer step ≥ 0). */
export function parseRow(line: string): MetricRow | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const step = (v as { step?: unknown }).step;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) return null;
  return v as MetricRow;
}
