/**
 * The dashboard's JSON API: response shapes shared by the server (src/server) and the browser app
 * (web/). Types only — no imports — so the browser build can use them too.
 */

/** A run's status; 'new' = no summary.json yet, 'unknown' = summary.json unreadable. */
export type RunStatusName = 'running' | 'completed' | 'diverged' | 'failed' | 'new' | 'unknown';

/** Last measured values; null = never measured or not finite. */
export interface FinalView {
  train_loss: number | null;
  train_acc: number | null;
  test_loss: number | null;
  test_acc: number | null;
  sharpness: number | null;
}

/** Which curvature is compared with which threshold: value = coefficient / lr (units 1/lr). */
export interface ThresholdInfo {
  quantity: 'sharpness' | 'preconditioned_sharpness';
  /** threshold·η: 2 for GD, 2+2μ for heavy ball, (2+2β1)/(1−β1) = 38 for Adam at β1 = 0.9. */
  coefficient: number;
  /** Legend label, e.g. "2/η", "38/η". */
  label: string;
}

/** One row of GET /api/runs. */
export interface RunEntry {
  /** Path of the run directory relative to the served directory, '/'-separated. */
  id: string;
  /** Last path component. */
  name: string;
  /** Id of the sweep directory holding it, or null for a standalone run. */
  sweep: string | null;
  status: RunStatusName;
  reason: string | null;
  optimizer: string | null;
  /** Peak learning rate (optimizer.lr of the config). */
  lr: number | null;
  /** Updates done (the larger of summary.steps and the last logged step). */
  steps: number | null;
  /** train.steps of the config. */
  total_steps: number | null;
  final: FinalView;
  threshold: ThresholdInfo | null;
  /** Grid values of this run when it belongs to a sweep (from sweep.json, else inferred). */
  params: Record<string, unknown> | null;
  /** ISO time of the last change of summary.json or metrics.jsonl. */
  updated_at: string | null;
}

/** One sweep in GET /api/runs. */
export interface SweepEntry {
  id: string;
  name: string;
  runs: number;
  /** Dotted config keys whose values differ between its runs. */
  varied: string[];
}

export interface RunsResponse {
  runs: RunEntry[];
  sweeps: SweepEntry[];
}

/** A metrics.jsonl row as served (null = measured but not finite; absent = not measured). */
export interface MetricRowView {
  step: number;
  [key: string]: unknown;
}

export interface MetricsResponse {
  id: string;
  rows: MetricRowView[];
  /** Step of the last row in the file (not only of the rows returned), or null if none. */
  last_step: number | null;
  /** The file ended in an incomplete line (being written), which was left out. */
  partial_line: boolean;
  /** Lines that were not metrics rows (corruption), left out. */
  skipped_lines: number;
}

/** A group of sweep runs that differ only in the learning rate. */
export interface VariantView {
  label: string;
  params: Record<string, unknown>;
  /** Largest lr whose run completed (did not diverge or fail); null if none did. */
  max_stable_lr: number | null;
  /** Smallest lr above max_stable_lr that diverged, or null. */
  min_unstable_lr: number | null;
  runs: Array<{ id: string; lr: number | null; status: RunStatusName }>;
}

export interface SweepResponse {
  id: string;
  name: string;
  /** Grid of sweep.json (dotted key → values), or the inferred varied values. */
  grid: Record<string, unknown[]>;
  varied: string[];
  /** Runs with the largest sharpness seen in their metrics. */
  runs: Array<RunEntry & { max_sharpness: number | null }>;
  variants: VariantView[];
}

export interface DensityView {
  step: number;
  x: number[];
  density: number[];
}

export interface SlicesView {
  step: number;
  t: number[];
  directions: Array<{ name: string; eigenvalue: number | null; loss: Array<number | null> }>;
}

/** GET /api/runs/:id/density[?step=N]: available steps and the chosen one (default: latest). */
export interface DensityResponse {
  steps: number[];
  current: DensityView | null;
}

export interface SlicesResponse {
  steps: number[];
  current: SlicesView | null;
}

/** Data of the SSE event `rows` on /api/runs/:id/events; reset = replace everything shown. */
export interface RowsEvent {
  reset: boolean;
  rows: MetricRowView[];
}

/** Error body of every 4xx/5xx response. */
export interface ErrorResponse {
  error: string;
}
