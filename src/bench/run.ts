/**
 * `edgewise bench`: Edgewise's engine and curvature on the workloads of issues #6 and #14, side
 * by side with PyTorch (double-backward HVPs, PyHessian-style power iteration) when it is
 * installed, and with JAX on GPUs. The peers run as warm processes and the bench alternates
 * them measure by measure (Edgewise, PyTorch, Edgewise, PyTorch, …), so that each ratio is the
 * median of paired ratios taken under the same conditions, reported with its spread. Prints a
 * table and writes bench/results/latest.json under the working directory (gpu-latest.json in GPU mode).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { GraphBuilder } from '../engine/builder.ts';
import * as o from '../engine/ops.ts';
import { Runtime, type BackendName } from '../engine/backend.ts';
import { CompiledObjective, type ObjectiveSpec } from '../engine/objective.ts';
import { DatasetObjective } from '../train/datasetObjective.ts';
import { DeviceTraining } from '../train/deviceTraining.ts';
import { createOptimizer } from '../train/optimizers.ts';
import { ggnOperator, hessianOperator } from '../curvature/hessian.ts';
import { lanczos } from '../curvature/lanczos.ts';
import { measureCurvature } from '../curvature/measure.ts';
import { loadDataset, oneHot } from '../data/dataset.ts';
import { createRng, type Rng } from '../util/random.ts';
import { measure as measureRuns, type Timing } from './timing.ts';
import { formatProfiles, readProfiles } from './profile.ts';
import { cnnSpec, mlpSpec } from './models.ts';
import {
  PeerProcess,
  peerUnavailable,
  writeWorkload,
  type PeerCheck,
  type PeerDevice,
  type PeerWorkload,
} from './peer.ts';

/** The agreement checks every workload reports: loss and gradient norm at θ0. */
function lossChecks(g: { loss: number; grad: Float32Array | Float64Array }): { quantity: string; value: number }[] {
  return [
    { quantity: 'loss', value: g.loss },
    { quantity: 'grad_norm', value: norm(g.grad) },
  ];
}

export interface BenchRow {
  workload: string;
  measure: string;
  /** The backend Edgewise ran on. */
  backend: BackendName;
  /** Median over the timed runs. */
  edgewise_ms: number;
  edgewise_min_ms: number;
  edgewise_max_ms: number;
  pytorch_ms: number | null;
  /** Median of the paired ratios edgewise/pytorch (each pair timed back to back). */
  ratio: number | null;
  /** [min, max] of the paired ratios. */
  ratio_spread: [number, number] | null;
  /** [first quartile, third quartile] of the paired ratios. */
  ratio_iqr: [number, number] | null;
  /** Number of alternated Edgewise/peer pairs (Edgewise-only rows: timed runs). */
  pairs: number;
  /** JAX (GPU mode only): median ms, median paired ratio edgewise/jax and its [min, max]. */
  jax_ms?: number | null;
  jax_ratio?: number | null;
  jax_ratio_spread?: [number, number] | null;
  note?: string;
}

/** Workload ids that --only accepts. */
export const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'GEMM', 'scaling'] as const;
export type WorkloadId = (typeof WORKLOADS)[number];

export interface BenchOptions {
  threads?: number;
  /** Backend that Edgewise's side runs on (default 'ort'); each row records it. */
  backend?: BackendName;
  /** Device of the peers: 'cpu' (default) or 'cuda' (PyTorch on CUDA, plus JAX when importable). */
  peerDevice?: PeerDevice;
  /** Skip the peers even if installed. */
  noPeer?: boolean;
  /** Fewer pairs and a smaller scaling grid (for a first look). */
  quick?: boolean;
  /** Run only these workloads (default: all). */
  only?: readonly string[];
  /** Time only these measures of the selected workloads (default: all; e.g. sharpness, ggn_sharpness). */
  measures?: readonly string[];
  /** Alternated pairs per measure (default 5, quick 3; W4: 3, quick 1). */
  pairs?: number;
  /** GD steps of W4 (default 1000, the demo's run; fewer for a smoke test). */
  eosSteps?: number;
  out?: string;
  /**
   * A folder for onnxruntime profiles of Edgewise's graphs (slows the runs down): after the runs,
   * where each graph's time goes is printed and written to <profile>/summary.txt.
   */
  profile?: string;
  log?: (line: string) => void;
}

/** Parses a --only list ("W1,W4"; case-insensitive); throws on unknown ids. */
export function parseOnly(list: string): WorkloadId[] {
  const ids = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return ids.map((id) => {
    const w = WORKLOADS.find((x) => x.toLowerCase() === id.toLowerCase());
    if (!w) throw new Error(`--only: unknown workload '${id}'; known: ${WORKLOADS.join(', ')}`);
    return w;
  });
}

function lecunInit(spec: ObjectiveSpec, rng: Rng): Float32Array {
  const theta: number[] = [];
  for (const p of spec.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const fanIn = p.shape.length > 1 ? n / p.shape[0]! : 0;
    for (let i = 0; i < n; i++) theta.push(fanIn > 0 ? rng.normal() / Math.sqrt(fanIn) : 0);
  }
  return Float32Array.from(theta);
}

function randomData(rng: Rng, n: number, shape: number[], classes: number) {
  const x = new Float32Array(n * shape.reduce((a, b) => a * b, 1)).map(() => rng.normal());
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) y[i * classes + rng.int(classes)] = 1;
  return { x, y };
}

const unit = (n: number, rng: Rng): Float32Array => {
  const v = new Float32Array(n).map(() => rng.normal());
  const s = norm(v);
  return v.map((x) => x / s);
};

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** Quantile q ∈ [0, 1] of xs by linear interpolation. */
export function quantile(xs: readonly number[], q: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Median, [min, max] and [q1, q3] of paired ratios a_i / b_i. */
export function pairedRatios(
  a: readonly number[],
  b: readonly number[],
): { median: number; spread: [number, number]; iqr: [number, number] } {
  if (a.length !== b.length || a.length === 0) throw new Error('pairedRatios: need equally many paired timings (≥ 1)');
  const r = a.map((x, i) => x / b[i]!);
  return {
    median: quantile(r, 0.5),
    spread: [Math.min(...r), Math.max(...r)],
    iqr: [quantile(r, 0.25), quantile(r, 0.75)],
  };
}

async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** One timed quantity of a workload; `pairs` overrides the default count. */
interface Measure {
  measure: string;
  fn: () => Promise<unknown>;
  note?: string;
  /** A note from the Edgewise timing (e.g. GFLOP/s). */
  noteOf?: (t: Timing) => string;
  pairs?: number;
  /** One untimed run first, on each side (default true; a long run warms itself up). */
  warmup?: boolean;
  /** The peers' measure to pair with (default: the same name), for a variant of one of theirs. */
  peerMeasure?: string;
}

/** A workload ready to time: Edgewise's measures, the peers' copy, and the agreement checks. */
interface Prepared {
  label: string;
  measures: Measure[];
  /** Absent: Edgewise-only rows, timed with `runs` runs each. */
  peer?: PeerWorkload;
  /** Peer measures named differently from Edgewise's (none so far). */
  checks?: () => Promise<PeerCheck[]>;
}

interface Ctx {
  rt: Runtime;
  quick: boolean;
  eosSteps: number;
  log: (l: string) => void;
}

/** W1: MLP 784-512-512-10, tanh, softmax cross-entropy, batch 5000. */
async function setupW1({ rt }: Ctx, rng: Rng): Promise<Prepared> {
  const label = 'W1 mlp-784-512-512-10 ce b5000';
  const spec = mlpSpec([784, 512, 512, 10], 5000, 'cross-entropy');
  const obj = new CompiledObjective(rt, spec);
  const theta = lecunInit(spec, rng);
  const { x, y } = randomData(rng, 5000, [784], 10);
  const v = unit(theta.length, rng);
  // The samples stay in device memory on webgpu, as in training (and in the peers); ort: as they are.
  const data = { x: await rt.keep(x, [5000, 784]), y: await rt.keep(y, [5000, 10]) };
  const at = await obj.at(theta, data);
  const ds = new DatasetObjective(rt, () => spec, { n: 5000, arrays: { x, y } }, 5000);
  const sharp = async (k: number, basis: 'auto' | 'host' = 'auto') => {
    const H = await hessianOperator(ds, theta);
    return lanczos(H, { k, iterations: 20, seed: 0, earlyStop: false, exactResiduals: false, basis });
  };
  const ggnSharp = async () =>
    lanczos(await ggnOperator(ds, theta), { k: 1, iterations: 20, seed: 0, earlyStop: false, exactResiduals: false });
  const atGgn = await obj.at(theta, data, 'ggn');
  const top = (await sharp(1)).eigenvectors[0]!;
  return {
    label,
    measures: [
      { measure: 'forward', fn: () => obj.value(theta, data) },
      { measure: 'gradient', fn: () => obj.valueAndGrad(theta, data) },
      { measure: 'hvp_cold', fn: async () => (await obj.at(theta, data)).hvp(v), note: 'prepare at θ + one HVP' },
      { measure: 'hvp_amortized', fn: () => at.hvp(v), note: 'one more HVP at the same θ' },
      {
        measure: 'sharpness',
        fn: () => sharp(1),
        note: rt.backend === 'webgpu' ? 'Lanczos top-1, 20 HVPs, basis on the GPU' : 'Lanczos top-1, 20 HVPs',
      },
      ...(rt.backend === 'webgpu'
        ? [
            {
              measure: 'sharpness_host_basis',
              fn: () => sharp(1, 'host'),
              note: 'the same, basis on the host (products cross per step)',
              peerMeasure: 'sharpness',
            },
          ]
        : []),
      {
        measure: 'ggn_sharpness',
        fn: ggnSharp,
        note: 'Lanczos top-1 of the Gauss–Newton matrix, 20 G·v (PyTorch: power iteration, autograd G·v)',
      },
      { measure: 'top5', fn: () => sharp(5), note: 'Lanczos top-5, 20 HVPs (PyTorch: 5×20 by deflation)', pairs: 2 },
    ],
    checks: async () => {
      const g = await obj.valueAndGrad(theta, data);
      const hv = await at.hvp(v);
      const eig = await sharp(1);
      return [
        ...lossChecks(g),
        { quantity: 'hvp_norm', value: norm(hv) },
        { quantity: 'ggn_vp_norm', value: norm(await atGgn.hvp(v)) },
        { quantity: 'rayleigh_top_eigvec', value: eig.eigenvalues[0]! },
      ];
    },
    peer: {
      workload: label,
      arch: 'mlp',
      loss: 'cross-entropy',
      param_shapes: spec.params.map((p) => p.shape.slice()),
      theta,
      x,
      x_shape: [5000, 784],
      y,
      y_shape: [5000, 10],
      v,
      eigvec: Float32Array.from(top),
      iters: 20,
    },
  };
}

/** W2: CNN on 1x28x28, batch 1000. */
async function setupW2({ rt }: Ctx, rng: Rng): Promise<Prepared> {
  const label = 'W2 cnn-32-64 ce b1000';
  const spec = cnnSpec(1000, 'cross-entropy');
  const obj = new CompiledObjective(rt, spec);
  const theta = lecunInit(spec, rng);
  const { x, y } = randomData(rng, 1000, [1, 28, 28], 10);
  const v = unit(theta.length, rng);
  const data = { x: await rt.keep(x, [1000, 1, 28, 28]), y: await rt.keep(y, [1000, 10]) };
  const at = await obj.at(theta, data);
  return {
    label,
    measures: [
      { measure: 'gradient', fn: () => obj.valueAndGrad(theta, data) },
      { measure: 'hvp_cold', fn: async () => (await obj.at(theta, data)).hvp(v), note: 'prepare at θ + one HVP' },
      { measure: 'hvp_amortized', fn: () => at.hvp(v), note: 'one more HVP at the same θ' },
    ],
    checks: async () => {
      const g = await obj.valueAndGrad(theta, data);
      return [...lossChecks(g), { quantity: 'hvp_norm', value: norm(await at.hvp(v)) }];
    },
    peer: {
      workload: label,
      arch: 'cnn',
      loss: 'cross-entropy',
      param_shapes: spec.params.map((p) => p.shape.slice()),
      theta,
      x,
      x_shape: [1000, 1, 28, 28],
      y,
      y_shape: [1000, 10],
      v,
    },
  };
}

/** Fashion-MNIST if installed, else the embedded MNIST digits; flattened. */
async function images(n: number, preprocess: 'center' | 'standardize', prefer: 'fashion-mnist' | 'mnist') {
  const names = prefer === 'fashion-mnist' ? (['fashion-mnist', 'mnist'] as const) : (['mnist'] as const);
  let err: unknown;
  for (const name of names) {
    try {
      const data = await loadDataset({ name, train_size: n, test_size: 1, preprocess, flatten: true });
      return { name, x: data.train.x as Float32Array, y: oneHot(data.train.y!, 10) };
    } catch (e) {
      err = e;
    }
  }
  throw err;
}

/** W3: one full-batch GD step + sharpness, fc-tanh [200, 200], MSE, 5000 images. */
async function setupW3({ rt }: Ctx, rng: Rng): Promise<Prepared> {
  const { name, x, y } = await images(5000, 'center', 'fashion-mnist');
  const label = `W3 eos-step fc-tanh-200-200 mse ${name} n5000`;
  const spec = mlpSpec([784, 200, 200, 10], 5000, 'mse');
  const theta0 = lecunInit(spec, rng);
  const ds = new DatasetObjective(rt, () => spec, { n: 5000, arrays: { x, y } }, 5000);
  const lr = 0.05;
  const step = async () => {
    const { grad } = await ds.lossAndGrad(theta0);
    const theta = theta0.map((t, i) => t - lr * grad[i]!);
    const H = await hessianOperator(ds, theta);
    return lanczos(H, { k: 1, iterations: 20, seed: 0, earlyStop: false, exactResiduals: false });
  };
  return {
    label,
    measures: [{ measure: 'gd_step_sharpness', fn: step, note: 'gradient + update + Lanczos top-1 (20 HVPs)' }],
    checks: async () => {
      const g = await ds.lossAndGrad(theta0);
      return [...lossChecks(g)];
    },
    peer: {
      workload: label,
      arch: 'mlp',
      loss: 'mse',
      param_shapes: spec.params.map((p) => p.shape.slice()),
      theta: theta0,
      x,
      x_shape: [5000, 784],
      y,
      y_shape: [5000, 10],
      lr,
      iters: 20,
    },
  };
}

/**
 * W4: the demo's whole edge-of-stability run (src/cli/demo.ts, its beyond-threshold run):
 * fc-tanh [200, 200], MSE, 1000 standardized MNIST digits, 1000 full-batch GD steps at
 * η = 3/λ0, sharpness (top-2 Lanczos, 20 HVPs) at step 0 and every 10 steps: 1000 gradients
 * and 101 × 20 HVPs. The PyTorch peer does the same loop with 20-HVP power iteration.
 */
async function setupW4({ rt, log, eosSteps }: Ctx, rng: Rng): Promise<Prepared> {
  const { name, x, y } = await images(1000, 'standardize', 'mnist');
  const n = 1000;
  const steps = eosSteps;
  const label = `W4 eos-run fc-tanh-200-200 mse ${name} n1000 ${steps} steps`;
  const every = 10;
  const spec = mlpSpec([784, 200, 200, 10], n, 'mse');
  const theta0 = lecunInit(spec, rng);
  const ds = new DatasetObjective(rt, () => spec, { n, arrays: { x, y } }, n);
  const lambda0 = (await measureCurvature(ds, theta0, { topK: 2, iterations: 20, seed: 0 })).sharpness!;
  const lr = 3 / lambda0;
  log(`  λ0 = ${lambda0.toPrecision(4)}, η = 3/λ0 = ${lr.toPrecision(4)}`);
  let lastSharpness = Number.NaN;
  // As in training (experiments/runner.ts): on webgpu θ and the gradient stay in device memory
  // and θ comes back to the host only for the measurements.
  const gd = createOptimizer({ name: 'gd' });
  const run = async () => {
    const theta = new Float32Array(theta0);
    const state = gd.init(theta.length);
    const dev = rt.backend === 'webgpu' ? await DeviceTraining.start(ds, gd, theta, state, 'full') : null;
    let previous: Float64Array[] | null = null;
    try {
      for (let step = 0; ; step++) {
        if (step % every === 0) {
          if (dev?.stale) await dev.pull(theta, state);
          const m = await measureCurvature(ds, theta, { topK: 2, iterations: 20, seed: step, previous });
          previous = m.eigvecs;
          lastSharpness = m.sharpness!;
        }
        if (step === steps) break;
        if (dev) await dev.step(state, lr, (await dev.gradient()).gradNorm, null);
        else {
          const { grad } = await ds.lossAndGrad(theta);
          for (let i = 0; i < theta.length; i++) theta[i] -= lr * grad[i]!;
        }
      }
    } finally {
      dev?.dispose();
    }
  };
  return {
    label,
    measures: [
      {
        measure: 'eos_run',
        fn: run,
        note: `${steps} GD steps at η=3/λ0, sharpness (20 HVPs) every ${every}`,
        pairs: 3,
        warmup: false,
      },
    ],
    checks: async () => {
      const g = await ds.lossAndGrad(theta0);
      log(`  final sharpness ${lastSharpness.toPrecision(4)} (2/η = ${(2 / lr).toPrecision(4)})`);
      return [...lossChecks(g)];
    },
    peer: {
      workload: label,
      arch: 'mlp',
      loss: 'mse',
      param_shapes: spec.params.map((p) => p.shape.slice()),
      theta: theta0,
      x,
      x_shape: [n, 784],
      y,
      y_shape: [n, 10],
      lr,
      iters: 20,
      steps,
      every,
    },
  };
}

/** GEMM 2048³ float32 (Edgewise only). */
async function setupGemm({ rt }: Ctx, rng: Rng): Promise<Prepared> {
  const n = 2048;
  const b = new GraphBuilder();
  const a = b.input('a', [n, n]);
  const c = b.input('b', [n, n]);
  const exe = await rt.compile(b.build({ y: o.matmul(a, c) }));
  const A = new Float32Array(n * n).map(() => rng.normal());
  const B = new Float32Array(n * n).map(() => rng.normal());
  return {
    label: 'GEMM 2048x2048 f32',
    measures: [
      {
        measure: 'matmul',
        fn: () => exe.run({ a: A, b: B }),
        noteOf: (t) =>
          `${((2 * n ** 3) / (t.median_ms * 1e6)).toFixed(1)} GFLOP/s (median); ${((2 * n ** 3) / (t.min_ms * 1e6)).toFixed(1)} at best`,
      },
    ],
  };
}

/** Amortized HVP time vs samples (width 512) and vs width (5000 samples) (Edgewise only). */
async function setupScaling({ rt, quick }: Ctx, rng: Rng): Promise<Prepared> {
  const grid: [number, number][] = quick
    ? [
        [1000, 512],
        [5000, 512],
        [5000, 128],
      ]
    : [
        [1000, 512],
        [2500, 512],
        [5000, 512],
        [5000, 128],
        [5000, 256],
      ];
  const measures: Measure[] = [];
  for (const [n, w] of grid) {
    const spec = mlpSpec([784, w, w, 10], n, 'cross-entropy');
    const obj = new CompiledObjective(rt, spec);
    const theta = lecunInit(spec, rng);
    const { x, y } = randomData(rng, n, [784], 10);
    const at = await obj.at(theta, { x, y });
    const v = unit(theta.length, rng);
    measures.push({ measure: `hvp_amortized n=${n} width=${w}`, fn: () => at.hvp(v) });
  }
  return { label: 'scaling mlp-784-w-w-10 ce', measures };
}

const SETUPS: Record<WorkloadId, (ctx: Ctx, rng: Rng) => Promise<Prepared>> = {
  W1: setupW1,
  W2: setupW2,
  W3: setupW3,
  W4: setupW4,
  GEMM: setupGemm,
  scaling: setupScaling,
};

/** The GPU's name from nvidia-smi, or null (the WebGPU EP does not report its adapter). */
function nvidiaGpuName(): string | null {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim().split('\n')[0]! : null;
}

/** Runs the benchmark; returns the rows (also printed and written to JSON). */
export async function runBench(opts: BenchOptions = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const threads = opts.threads ?? os.availableParallelism();
  const quick = opts.quick ?? false;
  const backend = opts.backend ?? 'ort';
  const peerDevice = opts.peerDevice ?? 'cpu';
  if (peerDevice !== 'cpu' && peerDevice !== 'cuda')
    throw new Error(`bench: --peer must be cpu or cuda, got '${String(peerDevice)}'`);
  if (backend === 'reference')
    throw new Error("bench: backend 'reference' is the float64 oracle, too slow to benchmark; use ort or webgpu");
  const gpu = backend === 'webgpu' || peerDevice === 'cuda';
  const only = opts.only && opts.only.length > 0 ? opts.only.map((s) => parseOnly(s)).flat() : [...WORKLOADS];
  const pairsFor = (m: Measure): number =>
    opts.pairs ?? (m.pairs !== undefined ? (quick ? 1 : m.pairs) : quick ? 3 : 5);

  // The peers first: asking for CUDA where there is none is an error, not a silent CPU run.
  const peers: PeerProcess[] = [];
  const why: string | null = opts.noPeer ? 'disabled by --no-peer' : peerUnavailable('pytorch');
  if (why !== null && peerDevice === 'cuda' && !opts.noPeer) throw new Error(`bench --peer cuda: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), 'edgewise-bench-'));
  const rt = new Runtime({ backend, threads, profile: opts.profile });
  const started = performance.now();
  try {
    if (why === null)
      peers.push(
        await PeerProcess.start('pytorch', threads, peerDevice).catch((e: Error) => {
          throw new Error(`bench: the PyTorch peer cannot run (${peerDevice}): ${e.message}`);
        }),
      );
    if (why === null && gpu && peerDevice === 'cuda') {
      const noJax = peerUnavailable('jax');
      if (noJax === null) peers.push(await PeerProcess.start('jax', threads, peerDevice));
      else log(`JAX peer not run: ${noJax}`);
    }
    await rt.ready();
    const edgewiseDevice =
      backend === 'webgpu'
        ? `webgpu (${nvidiaGpuName() ?? 'adapter name not reported'})`
        : `cpu (${os.cpus()[0]?.model ?? 'unknown'}, ${threads} threads)`;
    log(`edgewise: ${backend} on ${edgewiseDevice}`);
    for (const p of peers) log(`${p.kind} peer: ${JSON.stringify(p.info)}`);
    if (why !== null) log(`PyTorch peer not run: ${why}`);
    const torch = peers.find((p) => p.kind === 'pytorch') ?? null;
    const jax = peers.find((p) => p.kind === 'jax') ?? null;

    const rows: BenchRow[] = [];
    const agreement: {
      workload: string;
      quantity: string;
      value: number;
      pytorch: number | null;
      rel_diff: number | null;
      agrees: boolean | null;
    }[] = [];
    const ctx: Ctx = { rt, quick, log, eosSteps: opts.eosSteps ?? 1000 };
    for (const [index, id] of WORKLOADS.entries()) {
      if (!only.includes(id)) continue;
      const wl = await SETUPS[id](ctx, createRng(20261125 + index));
      log(wl.label);
      const live = wl.peer ? peers : [];
      for (const p of live) await p.load(dir, writeWorkload(dir, index, wl.peer!));
      const unknown = (opts.measures ?? []).filter((name) => !wl.measures.some((m) => m.measure === name));
      if (opts.measures && unknown.length === opts.measures.length) {
        throw new Error(
          `bench --measures: ${wl.label} has none of ${opts.measures.join(', ')}; its measures: ${wl.measures.map((m) => m.measure).join(', ')}`,
        );
      }
      for (const m of wl.measures) {
        if (opts.measures && !opts.measures.includes(m.measure)) continue;
        const pairs = pairsFor(m);
        if (live.length === 0) {
          const t: Timing = await measureRuns(m.fn, pairs, 1);
          const note = m.noteOf?.(t) ?? m.note;
          rows.push({
            workload: wl.label,
            measure: m.measure,
            backend,
            edgewise_ms: t.median_ms,
            edgewise_min_ms: t.min_ms,
            edgewise_max_ms: t.max_ms,
            pytorch_ms: null,
            ratio: null,
            ratio_spread: null,
            ratio_iqr: null,
            pairs,
            ...(note ? { note } : {}),
          });
          log(`  ${m.measure}: ${t.median_ms.toFixed(1)} ms (min ${t.min_ms.toFixed(1)}, max ${t.max_ms.toFixed(1)})`);
          continue;
        }
        const warmup = m.warmup ?? true;
        if (warmup) await m.fn(); // Edgewise's; each peer warms up on its first request of a measure
        const e: number[] = [];
        const got = new Map<PeerProcess, number[] | null>(live.map((p) => [p, []]));
        for (let r = 0; r < pairs; r++) {
          e.push(await timeOnce(m.fn));
          for (const p of live) {
            const ts = got.get(p);
            if (!ts) continue;
            try {
              ts.push(...(await p.time(wl.label, m.peerMeasure ?? m.measure, 1, warmup)));
            } catch (err) {
              log(`  ${p.kind} ${m.measure}: ${(err as Error).message}`);
              got.set(p, null);
            }
          }
        }
        const te = { median: quantile(e, 0.5), min: Math.min(...e), max: Math.max(...e) };
        const pt = torch ? (got.get(torch) ?? null) : null;
        const jt = jax ? (got.get(jax) ?? null) : null;
        const pr = pt && pt.length === e.length ? pairedRatios(e, pt) : null;
        const jr = jt && jt.length === e.length ? pairedRatios(e, jt) : null;
        rows.push({
          workload: wl.label,
          measure: m.measure,
          backend,
          edgewise_ms: te.median,
          edgewise_min_ms: te.min,
          edgewise_max_ms: te.max,
          pytorch_ms: pt && pr ? quantile(pt, 0.5) : null,
          ratio: pr?.median ?? null,
          ratio_spread: pr?.spread ?? null,
          ratio_iqr: pr?.iqr ?? null,
          pairs,
          ...(jax
            ? {
                jax_ms: jt && jr ? quantile(jt, 0.5) : null,
                jax_ratio: jr?.median ?? null,
                jax_ratio_spread: jr?.spread ?? null,
              }
            : {}),
          ...(m.note ? { note: m.note } : {}),
        });
        log(
          `  ${m.measure}: edgewise ${te.median.toFixed(1)} ms${pr ? `, pytorch ${quantile(pt!, 0.5).toFixed(1)} ms, ratio ${pr.median.toFixed(2)} [${pr.spread[0].toFixed(2)}–${pr.spread[1].toFixed(2)}]` : ''}${jr ? `, jax ${quantile(jt!, 0.5).toFixed(1)} ms, ratio ${jr.median.toFixed(2)}` : ''} (${pairs} pairs)`,
        );
      }
      if (wl.checks) {
        const mine = await wl.checks();
        const theirs = torch && wl.peer ? await torch.checks(wl.label) : [];
        for (const c of mine) {
          const p = theirs.find((q) => q.quantity === c.quantity);
          const rel = p ? Math.abs(c.value - p.value) / Math.max(Math.abs(p.value), 1e-12) : null;
          agreement.push({
            workload: wl.label,
            quantity: c.quantity,
            value: c.value,
            pytorch: p?.value ?? null,
            rel_diff: rel,
            agrees: rel === null ? null : rel < 1e-3,
          });
        }
      }
      for (const p of live) await p.drop(wl.label);
    }

    printTable(rows, agreement, torch, jax, why, threads, backend);
    // Relative to the working directory: an installed package must not write into node_modules.
    const out = resolve(opts.out ?? join('bench', 'results', `${gpu ? 'gpu-latest' : 'latest'}.json`));
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, `${JSON.stringify(rows, null, 2)}\n`);
    writeFileSync(
      out.replace(/\.json$/, '.meta.json'),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          threads,
          cpus: os.cpus().map((c) => c.model)[0],
          node: process.version,
          backend,
          edgewise_device: edgewiseDevice,
          peer_device: peerDevice,
          pytorch: torch?.info.torch ?? null,
          pytorch_device: torch?.info.device ?? null,
          jax: jax?.info.jax ?? null,
          jax_device: jax?.info.device ?? null,
          peer_skipped_reason: why,
          workloads: only,
          checks: agreement,
        },
        null,
        2,
      )}\n`,
    );
    log(`wrote ${out}`);
    if (agreement.some((a) => a.agrees === false))
      throw new Error('Edgewise and PyTorch disagree beyond float32 tolerance (see the checks above)');
    return rows;
  } finally {
    for (const p of peers) await p.close().catch(() => undefined);
    await rt.dispose(); // writes the profiles
    rmSync(dir, { recursive: true, force: true });
    if (opts.profile !== undefined) {
      try {
        const profiles = readProfiles(opts.profile);
        const wall = performance.now() - started;
        const inside = profiles.reduce((s, p) => s + (p.runs * p.usPerRun) / 1000, 0);
        const summary =
          `wall time since the runtime started (compiles, warm-ups, checks and every measure): ${wall.toFixed(0)} ms, ` +
          `of which ${((100 * inside) / wall).toFixed(0)} % inside onnxruntime's runs\n` +
          formatProfiles(profiles);
        writeFileSync(join(opts.profile, 'summary.txt'), `${summary}\n`);
        log(`where the time goes (onnxruntime profiles in ${opts.profile}):\n${summary}`);
      } catch (e) {
        log(`bench --profile: could not summarize the profiles in ${opts.profile}: ${(e as Error).message}`);
      }
    }
  }
}

function fmtSpread(s: [number, number] | null | undefined): string {
  return s ? `${s[0].toFixed(2)}–${s[1].toFixed(2)}` : '';
}

function printTable(
  rows: BenchRow[],
  checks: { workload: string; quantity: string; value: number; pytorch: number | null; rel_diff: number | null }[],
  torch: PeerProcess | null,
  jax: PeerProcess | null,
  why: string | null,
  threads: number,
  backend: BackendName,
): void {
  const w = [56, 30, 12, 12, 8, 12, 6];
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(w[i] ?? 12) : c.padStart(w[i] ?? 12))).join(' ');
  const out: string[] = [];
  const peerText = torch
    ? `, PyTorch ${String(torch.info.torch)} on ${String(torch.info.device)}`
    : `, no PyTorch peer (${why})`;
  out.push(
    `edgewise bench — ${backend}, ${threads} threads${peerText}${jax ? `, JAX ${String(jax.info.jax)} on ${String(jax.info.device)}` : ''}`,
  );
  out.push('ratio = median of paired edgewise/peer ratios (runs alternated); spread = min–max of the pairs');
  out.push(
    line([
      'workload',
      'measure',
      'edgewise ms',
      'pytorch ms',
      'ratio',
      'spread',
      'pairs',
      ...(jax ? ['jax ms', 'jax ratio'] : []),
    ]),
  );
  for (const r of rows) {
    out.push(
      line([
        r.workload,
        r.measure,
        r.edgewise_ms.toFixed(1),
        r.pytorch_ms === null ? '—' : r.pytorch_ms.toFixed(1),
        r.ratio === null ? '—' : `${r.ratio.toFixed(2)}x`,
        fmtSpread(r.ratio_spread),
        String(r.pairs),
        ...(jax
          ? [r.jax_ms == null ? '—' : r.jax_ms.toFixed(1), r.jax_ratio == null ? '—' : `${r.jax_ratio.toFixed(2)}x`]
          : []),
      ]) + (r.note ? `  ${r.note}` : ''),
    );
  }
  out.push('');
  out.push('agreement (float32): quantity, edgewise, pytorch, rel. diff');
  for (const c of checks) {
    out.push(
      `  ${c.workload} ${c.quantity}: ${c.value.toPrecision(7)} ${c.pytorch === null ? '—' : c.pytorch.toPrecision(7)} ${c.rel_diff === null ? '' : c.rel_diff.toExponential(1)}`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
