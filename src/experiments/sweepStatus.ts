/**
 * The state of a sweep in its output directory (`edgewise sweep SWEEP --status`), read from the
 * files alone, so it works from any machine that mounts the directory while workers run:
 * `OUT/sweep.json` lists the runs; each run's summary.json says whether it finished, and its
 * `.lock` whether a worker is on it (fresh heartbeat) or was (stale: dead or silent worker).
 */
import { join } from 'node:path';
import { DEFAULT_STALE_AFTER_MS, lockState, type LockInfo } from './lock.ts';
import { hasSweepManifest, readSweepManifest, RunStore, type RunStatus } from './runStore.ts';

/**
 * Where one run stands:
 * - completed | diverged | failed: summary.json says it finished (whatever its lock says);
 * - running: not finished, locked by a worker with a fresh heartbeat;
 * - stale: not finished, locked by a dead or silent worker (the next worker to reach it takes over);
 * - missing: not finished and nobody on it: never started, or interrupted (`started`).
 */
export type RunState = 'completed' | 'diverged' | 'failed' | 'running' | 'stale' | 'missing';

/** One run's row in a status report. */
export interface RunStateRow {
  readonly index: number;
  readonly name: string;
  readonly state: RunState;
  /** summary.json status ('new' = none; 'unreadable' = a summary.json that cannot be read). */
  readonly summary: RunStatus | 'new' | 'unreadable';
  /** Updates done according to summary.json (null without one). */
  readonly steps: number | null;
  /** The run directory has a summary (it was started), for missing runs: interrupted, will resume. */
  readonly started: boolean;
  /** The lock, when the run is running or stale. */
  readonly lock: LockInfo | null;
  /** Milliseconds since the lock's last heartbeat (running/stale), else null. */
  readonly heartbeatAgeMs: number | null;
  /** Why a lock is stale, or why a summary is unreadable. */
  readonly note: string | null;
}

export interface SweepStatus {
  readonly outDir: string;
  readonly name: string | null;
  readonly total: number;
  readonly completed: number;
  readonly diverged: number;
  readonly failed: number;
  readonly running: number;
  readonly stale: number;
  /** Not finished and nobody on it (includes `interrupted`). */
  readonly missing: number;
  /** Of the missing: started and left unfinished without a lock (a stopped worker); they resume. */
  readonly interrupted: number;
  readonly rows: readonly RunStateRow[];
}

/** Reads summary.json of a run: its status (or 'new'), steps, or 'unreadable' with the error. */
export function readRunSummaryStatus(runDir: string): {
  status: RunStatus | 'new' | 'unreadable';
  steps: number | null;
  error: string | null;
} {
  try {
    const s = new RunStore(runDir).readSummary();
    return { status: s?.status ?? 'new', steps: s?.steps ?? null, error: null };
  } catch (e) {
    return { status: 'unreadable', steps: null, error: (e as Error).message.split('\n')[0] };
  }
}

/** The state of one run directory (see RunState). An unreadable summary counts as failed. */
export function runState(
  index: number,
  name: string,
  runDir: string,
  opts: { readonly staleAfterMs?: number; readonly now?: number } = {},
): RunStateRow {
  const sum = readRunSummaryStatus(runDir);
  const base = {
    index,
    name,
    summary: sum.status,
    steps: sum.steps,
    started: sum.status !== 'new',
    lock: null,
    heartbeatAgeMs: null,
    note: sum.error,
  };
  if (sum.status === 'completed' || sum.status === 'diverged' || sum.status === 'failed')
    return { ...base, state: sum.status };
  if (sum.status === 'unreadable') return { ...base, state: 'failed' };
  const lock = lockState(runDir, { staleAfterMs: opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now: opts.now });
  if (lock.state === 'free') return { ...base, state: 'missing' };
  return {
    ...base,
    state: lock.state === 'held' ? 'running' : 'stale',
    lock: lock.info,
    heartbeatAgeMs: lock.ageMs,
    note: lock.state === 'stale' ? lock.reason : null,
  };
}

/**
 * Counts the runs of a sweep by state. `runs` defaults to the list in `outDir/sweep.json`.
 * `staleAfterMs` must match the workers' (default DEFAULT_STALE_AFTER_MS).
 */
export function sweepStatus(
  outDir: string,
  runs?: ReadonlyArray<{ readonly index: number; readonly name: string }>,
  opts: { readonly staleAfterMs?: number; readonly now?: number } = {},
): SweepStatus {
  let name: string | null = null;
  let list = runs;
  if (list === undefined) {
    const manifest = readSweepManifest(outDir);
    name = manifest.name;
    list = manifest.runs;
  } else if (hasSweepManifest(outDir)) {
    try {
      name = readSweepManifest(outDir).name;
    } catch {
      name = null;
    }
  }
  const now = opts.now ?? Date.now();
  const rows = list.map((r) =>
    runState(r.index, r.name, join(outDir, r.name), { staleAfterMs: opts.staleAfterMs, now }),
  );
  const count = (s: RunState): number => rows.filter((r) => r.state === s).length;
  return {
    outDir,
    name,
    total: rows.length,
    completed: count('completed'),
    diverged: count('diverged'),
    failed: count('failed'),
    running: count('running'),
    stale: count('stale'),
    missing: count('missing'),
    interrupted: rows.filter((r) => r.state === 'missing' && r.started).length,
    rows,
  };
}

function ago(ms: number | null): string {
  if (ms === null) return '';
  return ms < 1000 ? 'just now' : `${(ms / 1000).toFixed(0)} s ago`;
}

/**
 * The CLI's text for `--status`: a count per state, then (with `details`, the default) one line
 * per run that is not completed: its state, name, steps, worker and heartbeat age.
 */
export function formatSweepStatus(st: SweepStatus, opts: { readonly details?: boolean } = {}): string {
  const done = st.completed + st.diverged + st.failed;
  const pad = (n: number): string => String(n).padStart(String(st.total).length);
  const lines = [
    `sweep ${st.name === null ? '' : `${JSON.stringify(st.name)} `}in ${st.outDir}: ${st.total} run${st.total === 1 ? '' : 's'}`,
    `  done      ${pad(done)}/${st.total}  (completed ${st.completed}, diverged ${st.diverged}, failed ${st.failed})`,
    `  running   ${pad(st.running)}`,
    `  stale     ${pad(st.stale)}${st.stale > 0 ? '  (worker dead or silent; the next worker to reach it takes it over)' : ''}`,
    `  missing   ${pad(st.missing)}${st.interrupted > 0 ? `  (${st.interrupted} interrupted: resume when a worker reaches them)` : ''}`,
  ];
  if (opts.details ?? true) {
    const rest = st.rows.filter((r) => r.state !== 'completed');
    if (rest.length > 0) {
      const w = Math.max(...rest.map((r) => r.name.length));
      lines.push('');
      for (const r of rest) {
        const parts = [
          `  ${r.state.padEnd(9)} ${String(r.index).padStart(String(st.total).length)}  ${r.name.padEnd(w)}`,
        ];
        if (r.steps !== null) parts.push(`step ${r.steps}`);
        if (r.lock !== null) parts.push(`${r.lock.host}:${r.lock.pid}, heartbeat ${ago(r.heartbeatAgeMs)}`);
        if (r.state === 'missing' && r.started) parts.push('interrupted');
        if (r.note !== null) parts.push(r.note);
        lines.push(parts.join('  '));
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
