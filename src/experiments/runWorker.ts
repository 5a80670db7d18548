/**
 * Entry module of a child run (forked by childRun.ts): trains one run, or analyses one
 * checkpoint, in its own process, so that several runs use several cores and a crash, abort or
 * kill of one cannot take the caller down (onnxruntime is native code).
 *
 * Protocol: argv[2] is a JSON WorkerSpec. Progress goes to the parent over the IPC channel as
 * WorkerEvent messages; errors go to stderr. SIGTERM/SIGINT stop a training run after the
 * current step with its resume state saved (a second signal quits at once); losing the parent
 * (IPC disconnect) quits at once, like a SIGKILL: the run stays resumable from its last resume
 * state. Exit status: 0 completed or diverged (or analysed), 1 failed or interrupted, 2 error.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseCheckpoint } from './analysis.ts';
import { resolveConfig } from './config.ts';
import type { MetricRow } from './runner.ts';
import { trainRun } from './runner.ts';
import { RunStore } from './runStore.ts';

/** What a child run does. */
export type WorkerSpec =
  /** Train `config` (a config object, resolved again here) into `dir`, or resume the run there. */
  | { readonly task: 'train'; readonly dir: string; readonly config: unknown; readonly resume: boolean }
  /** analyseCheckpoint(dir, {step, topK, iterations}). */
  | {
      readonly task: 'analyse';
      readonly dir: string;
      readonly step?: number;
      readonly topK?: number;
      readonly iterations?: number;
    };

/** Messages from the child to its parent (the RunEvents of trainRun, and analysis log lines). */
export type WorkerEvent =
  | {
      readonly type: 'start';
      readonly info: { steps: number; startStep: number; params: number; trainSize: number; resumed: boolean };
    }
  | { readonly type: 'row'; readonly row: MetricRow }
  | { readonly type: 'message'; readonly text: string };

function send(e: WorkerEvent): void {
  // The parent may be gone (then 'disconnect' ends this process).
  if (process.connected) process.send?.(e);
}

/** Runs one spec; resolves with the exit status. */
export async function runWorkerSpec(spec: WorkerSpec): Promise<number> {
  if (spec.task === 'analyse') {
    await analyseCheckpoint(spec.dir, {
      step: spec.step,
      topK: spec.topK,
      iterations: spec.iterations,
      log: (text) => send({ type: 'message', text }),
    });
    return 0;
  }
  const store = new RunStore(spec.dir);
  const resume = spec.resume && existsSync(store.configPath) && existsSync(store.resumePath);
  // A fresh start must not append to someone else's metrics (as `edgewise train` refuses it).
  if (!resume && existsSync(store.metricsPath))
    throw new Error(`'${spec.dir}' already holds a run without a resume state; remove it to start again`);
  const config = resume ? store.readConfig().config : resolveConfig(spec.config);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await trainRun(config, {
      dir: spec.dir,
      resume,
      signal: controller.signal,
      events: {
        onStart: (info) => send({ type: 'start', info }),
        onRow: (row) => send({ type: 'row', row }),
        onMessage: (text) => send({ type: 'message', text }),
      },
    });
    return summary.status === 'failed' ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  process.on('disconnect', () => process.exit(130));
  let code: number;
  try {
    code = await runWorkerSpec(JSON.parse(process.argv[2] ?? 'null') as WorkerSpec);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    code = 2;
  }
  // Explicit exit: the IPC channel and onnxruntime's threads would otherwise keep the process up.
  process.exit(code);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
