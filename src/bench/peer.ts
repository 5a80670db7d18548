/**
 * Peers of `edgewise bench`: PyTorch (bench/peers/torch_bench.py, Debian's python3-torch) and,
 * on GPUs, JAX (bench/peers/jax_bench.py). Each runs as one warm server process that loads the
 * workloads (weights, data, directions as raw float32 files) and times one measure on request,
 * so the bench can alternate Edgewise and the peers measure by measure.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * The folder of the peer scripts: $EDGEWISE_PEERS_DIR if set; else `peers/` beside this module when
 * it exists (the esbuild bundle of bench/gpu/pack.sh, .gpu/app/run.mjs, carries its copy there);
 * else bench/peers of the checkout or installed package (from src/bench/ and dist/ alike).
 */
export function peersDir(env: NodeJS.ProcessEnv = process.env, moduleUrl: string = import.meta.url): string {
  if (env.EDGEWISE_PEERS_DIR) return resolve(env.EDGEWISE_PEERS_DIR);
  const beside = fileURLToPath(new URL('./peers/', moduleUrl));
  if (existsSync(join(beside, 'peer_server.py'))) return beside;
  return fileURLToPath(new URL('../../bench/peers/', moduleUrl));
}

export const PEER_SCRIPT = join(peersDir(), 'torch_bench.py');
export const JAX_SCRIPT = join(peersDir(), 'jax_bench.py');
/** Debian's interpreter (python3-torch installs for it, not for other pythons on PATH). */
export const PEER_PYTHON = process.env.EDGEWISE_BENCH_PYTHON ?? '/usr/bin/python3';

export type PeerKind = 'pytorch' | 'jax';
/** Where the peers run: the CPU, or CUDA (PyTorch with device='cuda'; JAX on its GPU). */
export type PeerDevice = 'cpu' | 'cuda';

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
  iters?: number;
  lr?: number;
  steps?: number;
  every?: number;
}

export interface PeerCheck {
  quantity: string;
  value: number;
}

/** Why the peer cannot run here, or null if it can (quick import check; CUDA is checked on start). */
export function peerUnavailable(kind: PeerKind = 'pytorch'): string | null {
  const mod = kind === 'pytorch' ? 'torch' : 'jax';
  const r = spawnSync(PEER_PYTHON, ['-c', `import ${mod}; print(${mod}.__version__)`], { encoding: 'utf8' });
  if (r.error) return `${PEER_PYTHON} not found (${r.error.message})`;
  if (r.status !== 0) {
    return kind === 'pytorch'
      ? `PyTorch is not importable by ${PEER_PYTHON}: install it with 'apt-get install python3-torch libopenblas0-pthread'`
      : `JAX is not importable by ${PEER_PYTHON}`;
  }
  return null;
}

const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes a workload's arrays into dir; returns its spec with file names in place of arrays. */
export function writeWorkload(dir: string, index: number, w: PeerWorkload): Record<string, unknown> {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const key of ['theta', 'x', 'y', 'v', 'eigvec'] as const) {
    const arr = w[key];
    if (!arr) continue;
    const f = `w${index}_${key}.f32`;
    writeFileSync(join(dir, f), bytes(arr));
    files[key] = f;
  }
  const { theta: _t, x: _x, y: _y, v: _v, eigvec: _e, ...rest } = w;
  return { ...rest, ...files };
}

/** A warm peer process answering one JSON request per line. */
export class PeerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderrTail = '';
  /** The peer's hello: library version, threads, device name. */
  info: Record<string, unknown> = {};

  private constructor(
    readonly kind: PeerKind,
    script: string,
    threads: number,
    device: PeerDevice,
  ) {
    this.child = spawn(PEER_PYTHON, [script, '--threads', String(threads), '--device', device], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts the peer; rejects with the peer's own message if it cannot run (e.g. no CUDA). */
  static async start(kind: PeerKind, threads: number, device: PeerDevice): Promise<PeerProcess> {
    const p = new PeerProcess(kind, kind === 'pytorch' ? PEER_SCRIPT : JAX_SCRIPT, threads, device);
    p.info = (await p.next()) as Record<string, unknown>;
    return p;
  }

  private async next(): Promise<unknown> {
    const r = await this.lines.next();
    if (r.done) {
      const code = await new Promise<number | null>((res) =>
        this.child.exitCode !== null ? res(this.child.exitCode) : this.child.once('exit', res),
      );
      throw new Error(
        `${this.kind} peer exited (code ${code}): ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    return JSON.parse(r.value);
  }

  private async request(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const res = (await this.next()) as Record<string, unknown>;
    if (typeof res.error === 'string') throw new Error(`${this.kind} peer: ${res.error}`);
    return res;
  }

  /** Loads a workload written by writeWorkload into dir. */
  async load(dir: string, spec: Record<string, unknown>): Promise<void> {
    await this.request({ cmd: 'load', dir, workload: spec });
  }

  /** Times `runs` calls of one measure (its first request sets it up, and warms it up unless warmup is false); ms. */
  async time(workload: string, measure: string, runs = 1, warmup = true): Promise<number[]> {
    return (await this.request({ cmd: 'time', workload, measure, runs, warmup })).ms as number[];
  }

  /** The peer's values of the agreement checks for a workload. */
  async checks(workload: string): Promise<PeerCheck[]> {
    return (await this.request({ cmd: 'checks', workload })).checks as PeerCheck[];
  }

  /** Frees a workload's memory in the peer. */
  async drop(workload: string): Promise<void> {
    await this.request({ cmd: 'drop', workload });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin.write(`${JSON.stringify({ cmd: 'quit' })}\n`);
    this.child.stdin.end();
    await new Promise((res) => this.child.once('exit', res));
  }
}
