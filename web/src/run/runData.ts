/** The run view's first load of a run from the server (rows streamed after it: mergeRows.ts). */
import type { MetricsResponse, RunEntry } from '../../../src/server/types.ts';
import { api } from '../api.ts';

/** A run as first shown: its list entry (null if not listed), config (null if unreadable) and metric rows. */
export interface LoadedRun {
  readonly entry: RunEntry | null;
  readonly config: Record<string, unknown> | null;
  readonly metrics: MetricsResponse;
}

/** Fetches run `id`'s entry, config and metrics together; fails when the list or the metrics cannot be read. */
export async function loadRun(id: string): Promise<LoadedRun> {
  const [list, config, metrics] = await Promise.all([api.runs(), api.config(id).catch(() => null), api.metrics(id)]);
  return { entry: list.runs.find((r) => r.id === id) ?? null, config, metrics };
}
