/**
 * Runs one configured run in a child process (`edgewise train`), so that several runs use
 * several cores and a crash or kill of one run cannot take the caller down. A partial run in
 * the directory is resumed; a finished one is left as it is.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.ts';
import { RunStore, type RunSummary } from './runStore.ts';

export const EDGEWISE_BIN = fileURLToPath(new URL('../../bin/edgewise.js', import.meta.url));

export interface ChildRunOptions {
  /** onnxruntime threads for the child (e.g. cores / parallel runs). */
  threads?: number;
  signal?: AbortSignal;
  /** Receives the child's progress lines (stderr), without the trailing newline. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Trains `config` into `dir` in a child process; resolves with the run's summary. */
export async function runInChild(config: Config, dir: string, o: ChildRunOptions = {}): Promise<RunSummary> {
  const store = new RunStore(dir);
  const status = store.status();
  if (status === 'completed' || status === 'diverged') return store.readSummary()!;
  mkdirSync(dir, { recursive: true });
  const resume = existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'resume.safetensors'));
  const args = [EDGEWISE_BIN, 'train', '--out', dir];
  if (resume) {
    args.push('--resume');
  } else {
    const cfgFile = join(dir, 'requested-config.json');
    const c = o.threads !== undefined ? { ...config, threads: o.threads } : config;
    writeFileSync(cfgFile, JSON.stringify(c, null, 2));
    args.splice(2, 0, cfgFile);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...o.env } });
  const abort = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', abort, { once: true });
  let tail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    tail += chunk;
    const lines = tail.split('\n');
    tail = lines.pop() ?? '';
    for (const l of lines) o.onLine?.(l);
    if (tail.length > 65536) tail = tail.slice(-65536);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  o.signal?.removeEventListener('abort', abort);
  const summary = store.readSummary();
  if (!summary) throw new Error(`run ${dir} ended (exit ${code}) without a summary: ${tail.trim().split('\n').pop() ?? ''}`);
  return summary;
}
