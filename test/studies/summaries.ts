// Run summaries for synthetic study runs: the evaluators read status, reason, steps and final
// values; the times are fixed (a 1-second run at the epoch) so that runs are reproducible.
import { runSummary, type FinalMetrics, type RunSummary } from '../../src/experiments/runSink.ts';

/** The summary of a finished synthetic run after `steps` updates (final values absent: null). */
export function finishedSummary(o: {
  steps: number;
  status?: RunSummary['status'];
  reason?: string | null;
  final?: Partial<FinalMetrics>;
}): RunSummary {
  return runSummary(
    o.status ?? 'completed',
    o.reason ?? null,
    o.steps,
    o.final ?? {},
    '1970-01-01T00:00:00.000Z',
    new Date(1000),
    true,
  );
}
