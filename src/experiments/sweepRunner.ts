/**
 * Running a sweep, or one shard of it, into a shared output directory (`edgewise sweep SWEEP
 * [--shard I/N | --shard-from-env] --out OUT`). Any number of workers, on any machines that
 * mount OUT, may run at once, with the same or different shards:
 *
 * - Every worker writes `OUT/sweep.json` ({name, grid, runs: [{index, name, params}]}) with the
 *   same content (atomically), so `--status` and `edgewise report` know the whole sweep.
 * - A worker goes through its shard's runs in order, up to `parallel` at once. For each run
 *   (directory `OUT/<run name>`) it skips a finished one, takes the run's lock (lock.ts) or moves
 *   on when a live worker holds it, checks again under the lock that the run is not finished (it
 *   may have finished just before), then calls `runOne` and releases the lock. When it took the
 *   lock over from a dead or silent worker, it first deletes that worker's leftover temporary
 *   files (`.tmp-*` of interrupted atomic writes).
 * - Finished runs are never redone: completed and diverged (a result) are final. A `failed` run
 *   is retried `retryFailed` times (default 1) in the life of the directory, counted in the
 *   run's `.attempts.jsonl`, in case the failure was transient (a full disk, a file system
 *   hiccup); a failure that repeats is final. A run left unfinished (a killed worker, a
 *   preempted node) is not a failure: the next worker to reach it resumes it.
 * - Runs held by another live worker are revisited every `pollMs` until they finish or their
 *   lock goes stale (then this worker takes over and resumes them), so a worker returns only
 *   when its whole shard is finished (`waitForOthers: false` returns instead).
 * - Aborting `signal` (SIGTERM from a scheduler) aborts the runs in progress and releases their
 *   locks, so the next worker resumes them without waiting for the lock to go stale.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { TEMP_PREFIX } from './atomicWrite.ts';
import { ConfigError } from './config.ts';
import { readConfigFile } from './loadConfig.ts';
import { acquireRunLock, DEFAULT_STALE_AFTER_MS, LOCK_FILE, lockState, type RunLock } from './lock.ts';
import { runFilePath, writeSweepManifest, type RunStatus, type SweepManifest } from './runStore.ts';
import { expandSweep, parseSweep, shard as shardRuns, type SweepRun } from './sweep.ts';
import { readRunSummaryStatus } from './sweepStatus.ts';

/** Per-run record of the attempts the runner started (JSON lines), in the run directory. */
export const ATTEMPTS_FILE = '.attempts.jsonl';

/** What runOne is told about this attempt. */
export interface RunAttempt {
  /** summary.json status when the attempt began: 'new', 'running' (resume a partial run) or 'failed' (a retry). */
  readonly previous: RunStatus | 'new';
  /** 1 + attempts started before on this run, by any worker. */
  readonly attempt: number;
  /** Why the previous holder's lock was taken over (dead or silent worker), or null. */
  readonly tookOver: string | null;
}

/**
 * Trains one run into `runDir` (exists; holds the lock file `.lock`, which runOne must leave
 * alone) and resolves when the run has finished (summary.json completed | diverged | failed).
 * When `signal` aborts (lock lost, or the worker is stopping) it must stop writing promptly.
 */
export type RunOne = (run: SweepRun, runDir: string, signal: AbortSignal, attempt: RunAttempt) => Promise<void>;

export interface RunSweepOptions {
  /** A sweep file (YAML or JSON) to expand; or give `runs`. */
  readonly sweepFile?: string;
  /** The expanded runs (with `name` and `grid` for sweep.json; grid defaults to the values the runs take). */
  readonly runs?: readonly SweepRun[];
  readonly name?: string | null;
  readonly grid?: Readonly<Record<string, readonly unknown[]>>;
  /** The shared output directory; run i goes to `outDir/<runs[i].name>`. */
  readonly outDir: string;
  /** Run only the runs with index ≡ shard.index (mod shard.count). Default: all. */
  readonly shard?: { readonly index: number; readonly count: number } | null;
  /** Runs at once in this worker. Default: cpuBudget() (the CPUs it may use, container limits included). */
  readonly parallel?: number;
  readonly runOne: RunOne;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** Lock staleness bound (ms); every worker and `--status` must use the same. Default DEFAULT_STALE_AFTER_MS. */
  readonly staleAfterMs?: number;
  /** Lock heartbeat period (ms). Default defaultHeartbeatMs(staleAfterMs). */
  readonly heartbeatMs?: number;
  /** How many times a failed run is retried over the life of the directory. Default 1. */
  readonly retryFailed?: number;
  /** Wait for runs of this shard that other live workers hold (default true). */
  readonly waitForOthers?: boolean;
  /** How often to look again at runs another worker holds (ms). Default 5000. */
  readonly pollMs?: number;
  /** Stops the worker: no new runs; runs in progress get an aborted signal. */
  readonly signal?: AbortSignal;
}

/** One run of the shard, as this worker left it. */
export interface SweepRunRow {
  readonly index: number;
  readonly name: string;
  /** summary.json status at the end ('new': never started). */
  readonly status: RunStatus | 'new' | 'unreadable';
  /** Times this worker called runOne for it. */
  readonly starts: number;
  /** The last error runOne threw for it, or null. */
  readonly error: string | null;
}

export interface SweepResult {
  readonly outDir: string;
  readonly shard: { readonly index: number; readonly count: number } | null;
  /** Runs in the whole sweep, and in this shard. */
  readonly total: number;
  readonly shardRuns: number;
  /** runOne calls made by this worker. */
  readonly started: number;
  /** Shard runs by status at the end (whoever ran them). */
  readonly completed: number;
  readonly diverged: number;
  readonly failed: number;
  /** Shard runs not finished at the end (runOne threw or returned early, held elsewhere, or aborted). */
  readonly unfinished: number;
  /** runOne calls that threw. */
  readonly errors: number;
  readonly aborted: boolean;
  readonly rows: readonly SweepRunRow[];
}

/** Process exit status for a worker: 0 when every run of its shard completed or diverged, else 1. */
export function sweepExitCode(result: SweepResult): number {
  return result.completed + result.diverged === result.shardRuns && !result.aborted ? 0 : 1;
}

/**
 * CPUs this process may use: os.availableParallelism() (CPU affinity, as Slurm sets it), capped
 * by a cgroup CPU quota (a container's CPU limit, as Kubernetes sets it), rounded up; >= 1.
 */
export function cpuBudget(): number {
  const cores = availableParallelism();
  const quota = (text: string | null, period: string | null): number | null => {
    const q = Number(text);
    const p = Number(period);
    return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? Math.ceil(q / p) : null;
  };
  const read = (f: string): string | null => {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch {
      return null;
    }
  };
  const v2 = read('/sys/fs/cgroup/cpu.max')?.split(/\s+/) ?? null; // "max 100000" or "400000 100000"
  const limit =
    v2 !== null
      ? quota(v2[0], v2[1] ?? null)
      : quota(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return Math.max(1, limit === null ? cores : Math.min(cores, limit));
}

// ---------------------------------------------------------------- shards from the environment

/** A shard and where it came from (for the log line). */
export interface EnvShard {
  readonly index: number;
  readonly count: number;
  readonly source: 'kubernetes' | 'slurm';
  readonly description: string;
}

function envInt(env: Readonly<Record<string, string | undefined>>, key: string): number | null {
  const v = env[key];
  if (v === undefined || v.trim() === '') return null;
  if (!/^\s*\d+\s*$/.test(v))
    throw new ConfigError(`--shard-from-env: ${key}=${JSON.stringify(v)} is not a non-negative integer`);
  return Number(v);
}

/**
 * The shard of this worker from a scheduler's environment (`--shard-from-env`):
 * - Kubernetes Indexed Job: index = JOB_COMPLETION_INDEX; count = `count` or EDGEWISE_SHARD_COUNT
 *   (the Job's `completions`; Kubernetes does not tell a pod).
 * - Slurm job array: with a count given (`count` or EDGEWISE_SHARD_COUNT), index =
 *   SLURM_ARRAY_TASK_ID itself, so `--array=0-(N-1)` or any subset of it (resubmitting some
 *   shards) works; without, index = (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) /
 *   SLURM_ARRAY_TASK_STEP and count = SLURM_ARRAY_TASK_COUNT (the array must be one range).
 * JOB_COMPLETION_INDEX wins when both are set. Errors (ConfigError) say what to set.
 */
export function shardFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  count?: number,
): EnvShard {
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 1))
    throw new ConfigError(`--shard-from-env: the shard count must be an integer >= 1 (got ${count})`);
  const explicit = count ?? envInt(env, 'EDGEWISE_SHARD_COUNT');
  if (explicit !== null && explicit < 1)
    throw new ConfigError('--shard-from-env: EDGEWISE_SHARD_COUNT must be >= 1 (got 0)');
  const countSource = count !== undefined ? 'the given count' : 'EDGEWISE_SHARD_COUNT';
  const check = (index: number, n: number, what: string, source: EnvShard['source']): EnvShard => {
    if (index >= n)
      throw new ConfigError(
        `--shard-from-env: ${what} gives shard ${index}, but there are only ${n} shards (0..${n - 1})`,
      );
    return { index, count: n, source, description: `shard ${index}/${n} from ${what}` };
  };

  const k8s = envInt(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== null) {
    if (explicit === null) {
      throw new ConfigError(
        `--shard-from-env: JOB_COMPLETION_INDEX=${k8s} is set (Kubernetes Indexed Job) but the number of shards is not: ` +
          "set EDGEWISE_SHARD_COUNT to the Job's completions",
      );
    }
    return check(k8s, explicit, `JOB_COMPLETION_INDEX=${k8s} of ${explicit} (${countSource})`, 'kubernetes');
  }

  const id = envInt(env, 'SLURM_ARRAY_TASK_ID');
  if (id !== null) {
    if (explicit !== null)
      return check(id, explicit, `SLURM_ARRAY_TASK_ID=${id} of ${explicit} (${countSource})`, 'slurm');
    const n = envInt(env, 'SLURM_ARRAY_TASK_COUNT');
    if (n === null || n < 1) {
      throw new ConfigError(
        `--shard-from-env: SLURM_ARRAY_TASK_ID=${id} is set but SLURM_ARRAY_TASK_COUNT is not: set EDGEWISE_SHARD_COUNT to the number of shards`,
      );
    }
    const min = envInt(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = envInt(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    if (step < 1) throw new ConfigError('--shard-from-env: SLURM_ARRAY_TASK_STEP must be >= 1');
    if (id < min || (id - min) % step !== 0) {
      throw new ConfigError(
        `--shard-from-env: SLURM_ARRAY_TASK_ID=${id} is not on the range MIN=${min}, STEP=${step}: submit --array=0-${n - 1}, ` +
          'or set EDGEWISE_SHARD_COUNT so task ids are shard indices',
      );
    }
    return check(
      (id - min) / step,
      n,
      `SLURM_ARRAY_TASK_ID=${id} (min ${min}, step ${step}) of SLURM_ARRAY_TASK_COUNT=${n}`,
      'slurm',
    );
  }
  throw new ConfigError(
    '--shard-from-env: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (Slurm job array) is set; use --shard I/N outside a job array',
  );
}

// ---------------------------------------------------------------- sweep.json

/** Grid values the runs take, key → distinct values in order of appearance. */
function gridOf(runs: readonly SweepRun[]): Record<string, unknown[]> {
  const grid: Record<string, unknown[]> = {};
  const seen: Record<string, Set<string>> = {};
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.params)) {
      grid[k] ??= [];
      seen[k] ??= new Set();
      const canon = JSON.stringify(v);
      if (!seen[k].has(canon)) {
        seen[k].add(canon);
        grid[k].push(v);
      }
    }
  }
  return grid;
}

/** The manifest of a sweep (what every worker writes to sweep.json). */
export function sweepManifest(
  runs: readonly SweepRun[],
  name: string | null = null,
  grid: Readonly<Record<string, readonly unknown[]>> = gridOf(runs),
): SweepManifest {
  return { name, grid, runs: runs.map((r) => ({ index: r.index, name: r.name, params: r.params })) };
}

// ---------------------------------------------------------------- the runner

interface AttemptLine {
  readonly event: 'start' | 'end';
  readonly previous?: string;
}

function readAttempts(runDir: string): AttemptLine[] {
  let text: string;
  try {
    text = readFileSync(join(runDir, ATTEMPTS_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: AttemptLine[] = [];
  for (const line of text.split('\n')) {
    try {
      const v = JSON.parse(line) as AttemptLine;
      if (v !== null && typeof v === 'object') out.push(v);
    } catch {
      // a partial line from a killed worker
    }
  }
  return out;
}

/**
 * Deletes the temporary files of interrupted atomic writes (atomicWrite.ts) in a run directory
 * and its checkpoints/. Only called under a lock taken over from a dead or silent holder: they
 * are that holder's, and nobody else writes there. Returns how many were removed.
 */
function removeTempFiles(runDir: string): number {
  let n = 0;
  for (const dir of [runDir, runFilePath(runDir, 'checkpoints')]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      rmSync(join(dir, name), { force: true });
      n++;
    }
  }
  return n;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

type Outcome = 'final' | 'busy' | 'retry' | 'error' | 'unfinished';

/** Runs a sweep (or one shard of it) into `outDir`; see the file comment. Resolves with counts. */
export async function runSweep(opts: RunSweepOptions): Promise<SweepResult> {
  const log = opts.log ?? (() => {});
  let runs: readonly SweepRun[];
  let name: string | null = opts.name ?? null;
  let grid = opts.grid;
  if (opts.sweepFile !== undefined) {
    if (opts.runs !== undefined) throw new Error('runSweep: give sweepFile or runs, not both');
    const raw = readConfigFile(opts.sweepFile);
    const spec = parseSweep(raw, opts.sweepFile);
    runs = expandSweep(raw, opts.sweepFile);
    name = opts.name ?? spec.name;
    grid ??= Object.fromEntries(spec.grid.map((g) => [g.key, g.values]));
  } else if (opts.runs !== undefined) {
    runs = opts.runs;
  } else {
    throw new Error('runSweep: give sweepFile or runs');
  }
  const parallel = opts.parallel ?? cpuBudget();
  if (!Number.isSafeInteger(parallel) || parallel < 1)
    throw new RangeError(`parallel must be an integer >= 1 (got ${parallel})`);
  const retryFailed = opts.retryFailed ?? 1;
  if (!Number.isSafeInteger(retryFailed) || retryFailed < 0)
    throw new RangeError(`retryFailed must be an integer >= 0 (got ${retryFailed})`);
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const pollMs = opts.pollMs ?? 5000;
  const waitForOthers = opts.waitForOthers ?? true;
  const shard = opts.shard ?? null;
  const mine = shard === null ? [...runs] : shardRuns(runs, shard.index, shard.count);
  const tag = shard === null ? '' : `[shard ${shard.index}/${shard.count}] `;

  writeSweepManifest(opts.outDir, sweepManifest(runs, name, grid), log);

  const stop = new AbortController();
  const onStop = (): void => stop.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onStop();
  opts.signal?.addEventListener('abort', onStop, { once: true });

  const starts = new Map<number, number>();
  const errors = new Map<number, string>();
  let started = 0;
  let errorCount = 0;

  const retriesUsed = (runDir: string): number =>
    readAttempts(runDir).filter((a) => a.event === 'start' && a.previous === 'failed').length;
  /** Whether the status is final for this runner (failed counts once its retries are used up). */
  const isFinal = (status: string, runDir: string): boolean =>
    status === 'completed' ||
    status === 'diverged' ||
    ((status === 'failed' || status === 'unreadable') && retriesUsed(runDir) >= retryFailed);

  async function attempt(run: SweepRun): Promise<Outcome> {
    const runDir = join(opts.outDir, run.name);
    const before = readRunSummaryStatus(runDir).status;
    if (isFinal(before, runDir)) {
      // A worker killed between finishing a run and releasing its lock leaves a stale lock: tidy up.
      if (existsSync(join(runDir, LOCK_FILE)) && lockState(runDir, { staleAfterMs }).state === 'stale') {
        acquireRunLock(runDir, { staleAfterMs, heartbeatMs: 0 })?.release();
      }
      return 'final';
    }
    let acquired: RunLock | null;
    try {
      acquired = acquireRunLock(runDir, {
        staleAfterMs,
        heartbeatMs: opts.heartbeatMs,
        onLost: (reason) => log(`${tag}${run.name}: lock lost (${reason}); stopping this attempt`),
        onError: (e) => log(`${tag}${run.name}: heartbeat failed: ${e.message}`),
      });
    } catch (e) {
      errors.set(run.index, (e as Error).message);
      errorCount++;
      log(`${tag}${run.name}: cannot lock: ${(e as Error).message}`);
      return 'error';
    }
    if (acquired === null) {
      const st = lockState(runDir, { staleAfterMs });
      const who = st.state !== 'free' && st.info !== null ? `${st.info.host}:${st.info.pid}` : 'another worker';
      log(`${tag}${run.name}: held by ${who}`);
      return 'busy';
    }
    const lock = acquired;
    const ac = new AbortController();
    const abortRun = (): void => ac.abort(lock.signal.aborted ? lock.signal.reason : stop.signal.reason);
    lock.signal.addEventListener('abort', abortRun, { once: true });
    stop.signal.addEventListener('abort', abortRun, { once: true });
    try {
      // Check again under the lock: another worker may have finished it since we looked.
      const sum = readRunSummaryStatus(runDir).status;
      if (isFinal(sum, runDir)) return 'final';
      if (stop.signal.aborted) return 'unfinished';
      const previous: RunStatus | 'new' = sum === 'unreadable' ? 'failed' : sum;
      const attemptNo = readAttempts(runDir).filter((a) => a.event === 'start').length + 1;
      const tookOver = lock.tookOver?.reason ?? null;
      if (tookOver !== null) {
        const removed = removeTempFiles(runDir);
        if (removed > 0) log(`${tag}${run.name}: removed ${removed} temporary file(s) left by the previous holder`);
      }
      appendFileSync(
        join(runDir, ATTEMPTS_FILE),
        `${JSON.stringify({ event: 'start', owner: lock.owner, at: new Date().toISOString(), previous, attempt: attemptNo, took_over: tookOver })}\n`,
      );
      log(
        `${tag}${run.name}: start (${previous === 'new' ? 'new' : previous === 'running' ? 'resume' : 'retry after failure'}${tookOver !== null ? `; took over: ${tookOver}` : ''})`,
      );
      starts.set(run.index, (starts.get(run.index) ?? 0) + 1);
      started++;
      let threw: Error | null = null;
      try {
        await opts.runOne(run, runDir, ac.signal, { previous, attempt: attemptNo, tookOver });
      } catch (e) {
        threw = e instanceof Error ? e : new Error(String(e));
      }
      const after = readRunSummaryStatus(runDir).status;
      if (!lock.lost) {
        appendFileSync(
          join(runDir, ATTEMPTS_FILE),
          `${JSON.stringify({ event: 'end', owner: lock.owner, at: new Date().toISOString(), status: after, error: threw?.message ?? null })}\n`,
        );
      }
      if (threw !== null) {
        errors.set(run.index, threw.message);
        errorCount++;
        log(`${tag}${run.name}: error: ${threw.message.split('\n')[0]} (status ${after})`);
      } else log(`${tag}${run.name}: ${after}`);
      if (lock.lost) return 'busy'; // someone else has it now
      if (after === 'failed' || after === 'unreadable') return isFinal(after, runDir) ? 'final' : 'retry';
      if (threw !== null) return 'error';
      return isFinal(after, runDir) ? 'final' : 'unfinished';
    } finally {
      lock.signal.removeEventListener('abort', abortRun);
      stop.signal.removeEventListener('abort', abortRun);
      lock.release();
    }
  }

  const queue: { run: SweepRun; notBefore: number }[] = mine.map((run) => ({ run, notBefore: 0 }));
  async function slot(): Promise<void> {
    while (!stop.signal.aborted) {
      const item = queue.shift();
      if (item === undefined) return;
      const wait = item.notBefore - Date.now();
      if (wait > 0) await sleep(wait, stop.signal);
      if (stop.signal.aborted) return;
      let outcome: Outcome;
      try {
        outcome = await attempt(item.run);
      } catch (e) {
        // An I/O error in the runner's own bookkeeping: give up on this run, keep the others going.
        errors.set(item.run.index, (e as Error).message);
        errorCount++;
        log(`${tag}${item.run.name}: error: ${(e as Error).message.split('\n')[0]}`);
        outcome = 'error';
      }
      if (outcome === 'retry') queue.push({ run: item.run, notBefore: 0 });
      else if (outcome === 'busy' && waitForOthers) queue.push({ run: item.run, notBefore: Date.now() + pollMs });
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, mine.length)) }, () => slot()));
  } finally {
    opts.signal?.removeEventListener('abort', onStop);
  }

  const rows: SweepRunRow[] = mine.map((run) => ({
    index: run.index,
    name: run.name,
    status: readRunSummaryStatus(join(opts.outDir, run.name)).status,
    starts: starts.get(run.index) ?? 0,
    error: errors.get(run.index) ?? null,
  }));
  const count = (s: string): number => rows.filter((r) => r.status === s).length;
  const completed = count('completed');
  const diverged = count('diverged');
  const failed = count('failed') + count('unreadable');
  const result: SweepResult = {
    outDir: opts.outDir,
    shard,
    total: runs.length,
    shardRuns: mine.length,
    started,
    completed,
    diverged,
    failed,
    unfinished: mine.length - completed - diverged - failed,
    errors: errorCount,
    aborted: stop.signal.aborted,
    rows,
  };
  log(
    `${tag}done: ${result.shardRuns} runs in this shard: ${completed} completed, ${diverged} diverged, ${failed} failed, ${result.unfinished} unfinished; ${started} started here${result.aborted ? ' (stopped early)' : ''}`,
  );
  return result;
}
