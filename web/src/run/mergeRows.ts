/** Merging the metric rows a run's event stream brings into those the run view holds (no DOM, so Node tests run it). */
import type { MetricRowView, RowsEvent } from '../../../src/server/types.ts';

/**
 * `rows` with a streamed event's rows added, in ascending steps: a reset replaces them all;
 * otherwise only rows after the last step held are taken (the stream may repeat some).
 */
export function mergeRows(rows: readonly MetricRowView[], ev: RowsEvent): MetricRowView[] {
  const out = ev.reset ? [] : [...rows];
  const lastStepSeen = out.length > 0 ? out[out.length - 1].step : -1;
  for (const r of ev.rows) if (r.step > lastStepSeen || ev.reset) out.push(r);
  return out.sort((a, b) => a.step - b.step);
}
