/**
 * `edgewise bench`: Edgewise's engine and curvature on the workloads of issue #6, side by side
 * with PyTorch 1.13 (double-backward HVPs, PyHessian-style power iteration) when Debian's
 * python3-torch is installed. Prints a table with ratios and writes bench/results/latest.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../engine/builder.ts';
import * as o from '../engine/ops.ts';
import { Runtime } from '../engine/backend.ts';
import { CompiledObjective, type ObjectiveSpec } from '../engine/objective.ts';
import { DatasetObjective } from '../train/datasetObjective.ts';
import { hessianOperator } from '../curvature/hessian.ts';
import { lanczos } from '../curvature/lanczos.ts';
import { loadDataset, oneHot } from '../data/dataset.ts';
import { createRng, type Rng } from '../util/random.ts';
import { measure, type Timing } from './timing.ts';
import { cnnSpec, mlpSpec } from './models.ts';
import { peerUnavailable, runPeer, type PeerResult, type PeerWorkload } from './peer.ts';

export interface BenchRow {
  workload: string;
  measure: string;
  edgewise_ms: number;
  edgewise_min_ms: number;
  edgewise_max_ms: number;
  pytorch_ms: number | null;
  ratio: number | null;
  note?: string;
}

export interface BenchOptions {
  threads?: number;
  /** Skip the PyTorch peer even if installed. */
  noPeer?: boolean;
  /** Fewer runs and smaller scaling grid (for a first look). */
  quick?: boolean;
  out?: string;
  log?: (line: string) => void;
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

/** Runs the benchmark; returns the rows (also printed and written to JSON). */
export async function runBench(opts: BenchOptions = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const threads = opts.threads ?? os.availableParallelism();
  const runs = opts.quick ? 3 : 5;
  const rt = new Runtime({ backend: 'ort', threads });
  const rows: Omit<BenchRow, 'pytorch_ms' | 'ratio'>[] = [];
  const checks: { workload: string; quantity: string; value: number }[] = [];
  const peer: PeerWorkload[] = [];
  const add = (workload: string, m: string, t: Timing, note?: string) => {
    rows.push({ workload, measure: m, edgewise_ms: t.median_ms, edgewise_min_ms: t.min_ms, edgewise_max_ms: t.max_ms, ...(note ? { note } : {}) });
    log(`  ${workload} ${m}: ${t.median_ms.toFixed(1)} ms (min ${t.min_ms.toFixed(1)}, max ${t.max_ms.toFixed(1)})`);
  };
  const rng = createRng(20261125);

  // W1: MLP 784-512-512-10, tanh, softmax cross-entropy, batch 5000.
  {
    const W = 'W1 mlp-784-512-512-10 ce b5000';
    log(W);
    const spec = mlpSpec([784, 512, 512, 10], 5000, 'cross-entropy');
    const obj = new CompiledObjective(rt, spec);
    const theta = lecunInit(spec, rng);
    const { x, y } = randomData(rng, 5000, [784], 10);
    const v = unit(theta.length, rng);
    add(W, 'forward', await measure(() => obj.value(theta, { x, y }), runs));
    add(W, 'gradient', await measure(() => obj.valueAndGrad(theta, { x, y }), runs));
    add(W, 'hvp_cold', await measure(async () => (await obj.at(theta, { x, y })).hvp(v), runs), 'prepare at θ + one HVP');
    const at = await obj.at(theta, { x, y });
    add(W, 'hvp_amortized', await measure(() => at.hvp(v), runs), 'one more HVP at the same θ');
    const ds = new DatasetObjective(rt, () => spec, { n: 5000, arrays: { x, y } }, 5000);
    let top: Float64Array | null = null;
    const sharp = async (k: number) => {
      const H = await hessianOperator(ds, theta);
      const r = await lanczos(H, { k, iterations: 20, seed: 0, earlyStop: false, exactResiduals: false });
      top = r.eigenvectors[0]!;
      return r;
    };
    add(W, 'sharpness', await measure(() => sharp(1), runs), 'Lanczos top-1, 20 HVPs');
    add(W, 'top5', await measure(() => sharp(5), Math.max(1, runs - 2)), 'Lanczos top-5, 20 HVPs');
    const g = await obj.valueAndGrad(theta, { x, y });
    const hv = await at.hvp(v);
    const eig = await sharp(1);
    checks.push({ workload: W, quantity: 'loss', value: g.loss }, { workload: W, quantity: 'grad_norm', value: norm(g.grad) },
      { workload: W, quantity: 'hvp_norm', value: norm(hv) }, { workload: W, quantity: 'rayleigh_top_eigvec', value: eig.eigenvalues[0]! });
    peer.push({
      workload: W, arch: 'mlp', loss: 'cross-entropy', param_shapes: spec.params.map((p) => p.shape.slice()),
      theta, x, x_shape: [5000, 784], y, y_shape: [5000, 10], v, eigvec: Float32Array.from(top!),
      measures: ['forward', 'gradient', 'hvp_cold', 'hvp_amortized', 'sharpness', 'top5'], runs, runs_top5: 1, iters: 20,
    });
  }

  // W2: CNN on 1x28x28, batch 1000.
  {
    const W = 'W2 cnn-32-64 ce b1000';
    log(W);
    const spec = cnnSpec(1000, 'cross-entropy');
    const obj = new CompiledObjective(rt, spec);
    const theta = lecunInit(spec, rng);
    const { x, y } = randomData(rng, 1000, [1, 28, 28], 10);
    const v = unit(theta.length, rng);
    add(W, 'gradient', await measure(() => obj.valueAndGrad(theta, { x, y }), runs));
    add(W, 'hvp_cold', await measure(async () => (await obj.at(theta, { x, y })).hvp(v), runs), 'prepare at θ + one HVP');
    const at = await obj.at(theta, { x, y });
    add(W, 'hvp_amortized', await measure(() => at.hvp(v), runs), 'one more HVP at the same θ');
    const g = await obj.valueAndGrad(theta, { x, y });
    checks.push({ workload: W, quantity: 'loss', value: g.loss }, { workload: W, quantity: 'grad_norm', value: norm(g.grad) },
      { workload: W, quantity: 'hvp_norm', value: norm(await at.hvp(v)) });
    peer.push({
      workload: W, arch: 'cnn', loss: 'cross-entropy', param_shapes: spec.params.map((p) => p.shape.slice()),
      theta, x, x_shape: [1000, 1, 28, 28], y, y_shape: [1000, 10], v, measures: ['gradient', 'hvp_cold', 'hvp_amortized'], runs,
    });
  }

  // W3: one full-batch GD step + sharpness, fc-tanh [200, 200], MSE, 5000 Fashion-MNIST images.
  {
    let data;
    let source = 'fashion-mnist';
    try {
      data = await loadDataset({ name: 'fashion-mnist', train_size: 5000, test_size: 1, preprocess: 'center', flatten: true });
    } catch {
      source = 'mnist';
      data = await loadDataset({ name: 'mnist', train_size: 5000, test_size: 1, preprocess: 'center', flatten: true });
    }
    const W = `W3 eos-step fc-tanh-200-200 mse ${source} n5000`;
    log(W);
    const spec = mlpSpec([784, 200, 200, 10], 5000, 'mse');
    const x = data.train.x;
    const y = oneHot(data.train.y!, 10);
    const theta0 = lecunInit(spec, rng);
    const ds = new DatasetObjective(rt, () => spec, { n: 5000, arrays: { x, y } }, 5000);
    const lr = 0.05;
    const step = async () => {
      const { grad } = await ds.lossAndGrad(theta0);
      const theta = theta0.map((t, i) => t - lr * grad[i]!);
      const H = await hessianOperator(ds, theta);
      return lanczos(H, { k: 1, iterations: 20, seed: 0, earlyStop: false, exactResiduals: false });
    };
    add(W, 'gd_step_sharpness', await measure(step, runs), 'gradient + update + Lanczos top-1 (20 HVPs)');
    const g = await ds.lossAndGrad(theta0);
    checks.push({ workload: W, quantity: 'loss', value: g.loss }, { workload: W, quantity: 'grad_norm', value: norm(g.grad) });
    peer.push({
      workload: W, arch: 'mlp', loss: 'mse', param_shapes: spec.params.map((p) => p.shape.slice()),
      theta: theta0, x, x_shape: [5000, 784], y, y_shape: [5000, 10], measures: ['gd_step_sharpness'], runs, lr, iters: 20,
    });
  }

  // GEMM 2048³ float32.
  {
    const n = 2048;
    const b = new GraphBuilder();
    const a = b.input('a', [n, n]);
    const c = b.input('b', [n, n]);
    const exe = await rt.compile(b.build({ y: o.matmul(a, c) }));
    const A = new Float32Array(n * n).map(() => rng.normal());
    const B = new Float32Array(n * n).map(() => rng.normal());
    const t = await measure(() => exe.run({ a: A, b: B }), runs + 2, 2);
    const gflops = (2 * n ** 3) / (t.median_ms * 1e6);
    add('GEMM 2048x2048 f32', 'matmul', t, `${gflops.toFixed(1)} GFLOP/s (median); ${((2 * n ** 3) / (t.min_ms * 1e6)).toFixed(1)} at best`);
  }

  // Scaling: amortized HVP time vs samples (width 512) and vs width (5000 samples).
  {
    const W = 'scaling mlp-784-w-w-10 ce';
    log(W);
    const grid: [number, number][] = opts.quick ? [[1000, 512], [5000, 512], [5000, 128]]
      : [[1000, 512], [2500, 512], [5000, 512], [5000, 128], [5000, 256]];
    for (const [n, w] of grid) {
      const spec = mlpSpec([784, w, w, 10], n, 'cross-entropy');
      const obj = new CompiledObjective(rt, spec);
      const theta = lecunInit(spec, rng);
      const { x, y } = randomData(rng, n, [784], 10);
      const at = await obj.at(theta, { x, y });
      const v = unit(theta.length, rng);
      add(W, `hvp_amortized n=${n} width=${w}`, await measure(() => at.hvp(v), runs));
    }
  }
  await rt.dispose();

  // The PyTorch peer, side by side.
  let peerResult: PeerResult | null = null;
  const why = opts.noPeer ? 'disabled by --no-peer' : peerUnavailable();
  if (why === null) {
    log(`PyTorch peer (${threads} threads)…`);
    const dir = mkdtempSync(join(tmpdir(), 'edgewise-bench-'));
    try {
      peerResult = runPeer(dir, peer, threads);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    log(`PyTorch peer not run: ${why}`);
  }
  const final: BenchRow[] = rows.map((r) => {
    const p = peerResult?.results.find((q) => q.workload === r.workload && q.measure === r.measure);
    return { ...r, pytorch_ms: p?.median_ms ?? null, ratio: p ? r.edgewise_ms / p.median_ms : null };
  });
  const agreement = checks.map((c) => {
    const p = peerResult?.checks.find((q) => q.workload === c.workload && q.quantity === c.quantity);
    const rel = p ? Math.abs(c.value - p.value) / Math.max(Math.abs(p.value), 1e-12) : null;
    return { ...c, pytorch: p?.value ?? null, rel_diff: rel, agrees: rel === null ? null : rel < 1e-3 };
  });
  printTable(final, agreement, peerResult, why, threads);
  const out = opts.out ?? fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(final, null, 2)}\n`);
  writeFileSync(out.replace(/\.json$/, '.meta.json'), `${JSON.stringify({
    date: new Date().toISOString(), threads, cpus: os.cpus().map((c) => c.model)[0], node: process.version,
    pytorch: peerResult?.torch ?? null, peer_skipped_reason: why, checks: agreement,
  }, null, 2)}\n`);
  log(`wrote ${out}`);
  if (agreement.some((a) => a.agrees === false)) throw new Error('Edgewise and PyTorch disagree beyond float32 tolerance (see the checks above)');
  return final;
}

function printTable(rows: BenchRow[], checks: { workload: string; quantity: string; value: number; pytorch: number | null; rel_diff: number | null }[], peer: PeerResult | null, why: string | null, threads: number): void {
  const w = [44, 30, 12, 12, 8];
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' ');
  const out: string[] = [];
  out.push(`edgewise bench — ${threads} threads${peer ? `, PyTorch ${peer.torch} (${peer.threads} threads)` : `, no PyTorch peer (${why})`}`);
  out.push(line(['workload', 'measure', 'edgewise ms', 'pytorch ms', 'ratio']));
  for (const r of rows) {
    out.push(line([r.workload, r.measure, r.edgewise_ms.toFixed(1), r.pytorch_ms === null ? '—' : r.pytorch_ms.toFixed(1), r.ratio === null ? '—' : `${r.ratio.toFixed(2)}x`]) + (r.note ? `  ${r.note}` : ''));
  }
  out.push('');
  out.push('agreement (float32): quantity, edgewise, pytorch, rel. diff');
  for (const c of checks) {
    out.push(`  ${c.workload} ${c.quantity}: ${c.value.toPrecision(7)} ${c.pytorch === null ? '—' : c.pytorch.toPrecision(7)} ${c.rel_diff === null ? '' : c.rel_diff.toExponential(1)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
