/**
 * The PyTorch peer: writes workloads (weights, data, directions as raw float32 files plus a
 * spec.json) for bench/peers/torch_bench.py and runs it with Debian's python3-torch, if present.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEER_SCRIPT = fileURLToPath(new URL('../../bench/peers/torch_bench.py', import.meta.url));
/** Debian's interpreter (python3-torch installs for it, not for other pythons on PATH). */
export const PEER_PYTHON = process.env.EDGEWISE_BENCH_PYTHON ?? '/usr/bin/python3';

export interface PeerWorkload {
  workload: string;
  arch: 'mlp' | 'cnn';
  loss: 'cross-entropy' | 'mse';
  activation?: 'tanh' | 'relu';
  param_shapes: number[][];
  theta: Float32Array;
  x: Float32Array;
  x_shape: number[];
  y: Float32Array;
  y_shape: number[];
  v?: Float32Array;
  eigvec?: Float32Array;
  measures: string[];
  runs?: number;
  iters?: number;
  lr?: number;
  [key: `runs_${string}`]: number;
}

export interface PeerResult {
  torch: string;
  threads: number;
  results: { workload: string; measure: string; median_ms: number; min_ms: number; max_ms: number }[];
  checks: { workload: string; quantity: string; value: number }[];
}

/** Why the peer cannot run here, or null if it can. */
export function peerUnavailable(): string | null {
  const r = spawnSync(PEER_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return `${PEER_PYTHON} not found (${r.error.message})`;
  if (r.status !== 0) return `PyTorch is not importable by ${PEER_PYTHON}: install it with 'apt-get install python3-torch libopenblas0-pthread'`;
  return null;
}

const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes the workloads into dir and runs the peer; progress lines go to stderr. */
export function runPeer(dir: string, workloads: PeerWorkload[], threads: number): PeerResult {
  mkdirSync(dir, { recursive: true });
  const spec = workloads.map((w, i) => {
    const files: Record<string, string> = {};
    for (const key of ['theta', 'x', 'y', 'v', 'eigvec'] as const) {
      const arr = w[key];
      if (!arr) continue;
      const f = `w${i}_${key}.f32`;
      writeFileSync(join(dir, f), bytes(arr));
      files[key] = f;
    }
    const { theta: _t, x: _x, y: _y, v: _v, eigvec: _e, ...rest } = w;
    return { ...rest, ...files };
  });
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ threads, workloads: spec }));
  const r = spawnSync(PEER_PYTHON, [PEER_SCRIPT, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`PyTorch peer failed (exit ${r.status}): ${r.error?.message ?? ''}`);
  return JSON.parse(r.stdout) as PeerResult;
}
