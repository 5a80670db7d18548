/**
 * Runs one configured run (or one checkpoint analysis) in a child process that executes
 * runWorker.ts, so that several runs use several cores and a crash or kill of one run cannot take
 * the caller down. A partial run in the directory is resumed; a finished one is left as it is.
 *
 * The child is forked from the worker module next to this one: runWorker.ts under the
 * TypeScript sources (with the tsx loader added when this process has it only through the
 * register() API), runWorker.js in the compiled package.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.ts';
import type { RunEvents } from './runner.ts';
import { RunStore, type RunSummary } from './runStore.ts';
import type { WorkerEvent, WorkerSpec } from './runWorker.ts';

const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** Path of the worker module that child runs execute. */
export const RUN_WORKER = fileURLToPath(new URL(FROM_SOURCES ? './runWorker.ts' : './runWorker.js', import.meta.url));

/** Node options for the child: this process's, plus the tsx loader when the worker is TypeScript and none is given. */
function workerExecArgv(): string[] {
  const own = process.execArgv;
  if (!FROM_SOURCES || own.some((a) => /tsx/.test(a))) return own;
  // bin/edgewise.js registers tsx through its API, which a child does not inherit.
  return [...own, '--import', import.meta.resolve('tsx')];
}

export interface ChildRunOptions {
  /** onnxruntime threads for the child (e.g. cores / parallel runs). */
  threads?: number;
  /** Aborting stops the child after its current step (SIGTERM); the run stays resumable. */
  signal?: AbortSignal;
  /** Receives the child's stderr lines (errors), without the trailing newline. */
  onLine?: (line: string) => void;
  /** Receives the child's progress (trainRun's events). */
  events?: RunEvents;
  env?: NodeJS.ProcessEnv;
}

/** Forks the worker on `spec`; resolves with its exit code (null when killed) and the tail of its stderr. */
async function forkWorker(
  spec: WorkerSpec,
  o: ChildRunOptions,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; tail: string }> {
  const child: ChildProcess = fork(RUN_WORKER, [JSON.stringify(spec)], {
    execArgv: workerExecArgv(),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...o.env },
  });
  const abort = (): void => {
    child.kill('SIGTERM');
  };
  if (o.signal?.aborted) abort();
  else o.signal?.addEventListener('abort', abort, { once: true });
  child.on('message', (m: WorkerEvent) => {
    const ev = o.events;
    if (ev === undefined) return;
    if (m.type === 'start') ev.onStart?.(m.info);
    else if (m.type === 'row') ev.onRow?.(m.row);
    else if (m.type === 'message') ev.onMessage?.(m.text);
  });
  let tail = '';
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-65536);
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) o.onLine?.(l);
  });
  try {
    return await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve({ code, signal, tail }));
    });
  } finally {
    o.signal?.removeEventListener('abort', abort);
    if (partial !== '') o.onLine?.(partial);
  }
}

const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

/** Trains `config` into `dir` in a child process (resuming a partial run there); resolves with the run's summary. */
export async function runInChild(config: Config, dir: string, o: ChildRunOptions = {}): Promise<RunSummary> {
  const store = new RunStore(dir);
  const status = store.status();
  if (status === 'completed' || status === 'diverged') return store.readSummary()!;
  mkdirSync(dir, { recursive: true });
  const c = o.threads !== undefined ? { ...config, threads: o.threads } : config;
  const { code, signal, tail } = await forkWorker({ task: 'train', dir, config: c, resume: true }, o);
  const summary = store.readSummary();
  if (!summary) throw new Error(`run ${dir} ended (${signal ?? `exit ${code}`}) without a summary: ${lastLine(tail)}`);
  return summary;
}

/**
 * Analyses the checkpoint of `dir` at `step` (default: the latest) in a child process
 * (analysis.ts: writes RUN_DIR/curvature/analysis-, density- and slices-step-N.json). Rejects
 * with the child's last error line when it fails.
 */
export async function analyseInChild(
  dir: string,
  a: { step?: number; topK?: number; iterations?: number } = {},
  o: ChildRunOptions = {},
): Promise<void> {
  const { code, signal, tail } = await forkWorker({ task: 'analyse', dir, ...a }, o);
  if (code !== 0) throw new Error(`analysis of ${dir} failed (${signal ?? `exit ${code}`}): ${lastLine(tail)}`);
}
