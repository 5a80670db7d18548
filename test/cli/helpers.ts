/** Runs the edgewise CLI as a child process, as a user would. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/edgewise.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `edgewise args…` to completion. */
export function cli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    env: { ...process.env, EDGEWISE_DEBUG: '', ...opts.env },
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `edgewise args…` in the background. */
export function cliSpawn(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function tempDir(prefix = 'edgewise-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A small, fast config: synthetic Gaussian mixture, MLP [32], GD, curvature every 5 steps. */
export const FAST = [
  '--set',
  'data.name=synthetic-gmm',
  '--set',
  'data.train_size=400',
  '--set',
  'data.test_size=200',
  '--set',
  'data.input_dim=20',
  '--set',
  'data.num_classes=4',
  '--set',
  'model.widths=[32]',
  '--set',
  'curvature.every=5',
  '--set',
  'curvature.lanczos_iters=10',
  '--set',
  'log.test_every=20',
  '--set',
  'threads=1',
];
