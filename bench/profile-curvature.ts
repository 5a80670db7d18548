/**
 * Host overhead of the curvature loop (issue 14): per Lanczos iteration, how long the operator's
 * matvec takes beyond the bare amortized HVP, and how long Lanczos' own work (recurrence,
 * reorthogonalization) takes. Prints medians over repeats; wall clock, so run it on a quiet box.
 *
 *   node --import tsx bench/profile-curvature.ts [--batch 1000] [--iters 20] [--repeats 5] [--threads N] [--basis native|js]
 *                                                [--reorth partial|full]
 *                                                [--hidden 512,512] [--loss ce|mse]
 *
 * The network is W1's, MLP 784-512-512-10 tanh with cross-entropy; --hidden 200,200 --loss mse
 * --batch 1000 is W4's (the demo's EoS run), whose HVP is 10× cheaper at a third of the dim.
 *
 * --basis js drops the operator's native basis kernels, so that Lanczos sweeps its basis in JS
 * loops (the path before issue 14's kernels), for a before/after comparison on the same box.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { Runtime, type BackendName } from '../src/engine/backend.ts';
import { CompiledObjective } from '../src/engine/objective.ts';
import { DatasetObjective } from '../src/train/datasetObjective.ts';
import { hessianOperator } from '../src/curvature/hessian.ts';
import { lanczos } from '../src/curvature/lanczos.ts';
import { lanczosTridiagonalize } from '../src/curvature/krylov.ts';
import { powerIteration } from '../src/curvature/power.ts';
import type { LinearOperator } from '../src/curvature/operator.ts';
import { createRng } from '../src/util/random.ts';
import { mlpSpec } from '../src/bench/models.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const batch = Number(opt('batch', '1000'));
const chunk = Number(opt('chunk', String(batch)));
const iters = Number(opt('iters', '20'));
const repeats = Number(opt('repeats', '5'));
const threads = Number(opt('threads', String(os.availableParallelism())));
const backend = opt('backend', 'ort') as BackendName;
const basisMode = opt('basis', 'native');
if (basisMode !== 'native' && basisMode !== 'js') throw new Error(`--basis must be native or js, got ${basisMode}`);
const reorth = opt('reorth', 'partial');
if (reorth !== 'partial' && reorth !== 'full') throw new Error(`--reorth must be partial or full, got ${reorth}`);

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
/**
 * CPU time of the calling (main) thread in ms, from /proc (10 ms ticks; sums over many calls
 * average the rounding out). JS work runs here, and onnxruntime runs its kernels on the calling
 * thread too (plus its pool), so differences of main-thread CPU isolate host work from other
 * load on the box, and from onnxruntime's pool threads spinning while JS computes.
 */
const cpu = (): number => {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // utime, stime (fields 14, 15) at 100 ticks/s
};
const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const min = (xs: number[]): number => Math.min(...xs);

interface Clock {
  wall: number;
  cpu: number;
}
const clock = (): Clock => ({ wall: now(), cpu: cpu() });
const since = (c: Clock): Clock => ({ wall: now() - c.wall, cpu: cpu() - c.cpu });

/** Wraps op so that the wall and CPU time spent inside its products are summed. */
function timed(op: LinearOperator): LinearOperator & { t: Clock; calls: number } {
  const t = { wall: 0, cpu: 0 };
  const wrap =
    <V>(f: (v: V) => Promise<V>) =>
    async (v: V): Promise<V> => {
      const c = clock();
      const r = await f(v);
      const d = since(c);
      t.wall += d.wall;
      t.cpu += d.cpu;
      w.calls++;
      return r;
    };
  const w = {
    dim: op.dim,
    t,
    calls: 0,
    matvec: wrap((v: Float64Array) => op.matvec(v)),
    ...(op.matvec32 ? { matvec32: wrap((v: Float32Array) => op.matvec32!(v)) } : {}),
    ...(op.basisKernels && basisMode === 'native' ? { basisKernels: op.basisKernels } : {}),
  };
  return w;
}

const rng = createRng(7);
const hidden = opt('hidden', '512,512').split(',').map(Number);
const lossName = opt('loss', 'ce');
if (hidden.some((w) => !(Number.isInteger(w) && w >= 1)))
  throw new Error(`--hidden: positive widths, got ${opt('hidden', '')}`);
if (lossName !== 'ce' && lossName !== 'mse') throw new Error(`--loss must be ce or mse, got ${lossName}`);
const dims = [784, ...hidden, 10];
const spec = mlpSpec(dims, chunk, lossName === 'ce' ? 'cross-entropy' : 'mse');
const rt = new Runtime({ backend, threads });
const obj = new CompiledObjective(rt, spec);
const dim = obj.layout.size;
const theta = new Float32Array(dim).map(() => rng.normal() * 0.04);
const x = new Float32Array(batch * 784).map(() => rng.normal());
const y = new Float32Array(batch * 10);
for (let i = 0; i < batch; i++) y[i * 10 + rng.int(10)] = 1;
const v = new Float32Array(dim).map(() => rng.normal() / Math.sqrt(dim));

// Bare amortized HVP on one chunk (the floor every matvec is compared with), times chunks.
const at = await obj.at(theta, { x: x.subarray(0, chunk * 784), y: y.subarray(0, chunk * 10) });
await at.hvp(v);
// Summed over many calls: the main-thread clock ticks in 10 ms steps.
const nBare = repeats * 5;
const cb = clock();
for (let r = 0; r < nBare; r++) await at.hvp(v);
const bareTotal = since(cb);
const nChunks = Math.ceil(batch / chunk);
const bareWall = (bareTotal.wall / nBare) * nChunks;
const bareCpu = (bareTotal.cpu / nBare) * nChunks;

const ds = new DatasetObjective(rt, () => spec, { n: batch, arrays: { x, y } }, chunk);
const rows: Record<string, Clock[]> = { matvec: [], lanczosOwn: [], powerOwn: [], prepare: [] };
const perCall = (total: Clock, op: { t: Clock; calls: number }): Clock => ({
  wall: (total.wall - op.t.wall) / op.calls,
  cpu: (total.cpu - op.t.cpu) / op.calls,
});
for (let r = 0; r < repeats + 1; r++) {
  const c0 = clock();
  const H = await hessianOperator(ds, theta);
  const prep = since(c0);
  const op = timed(H);
  const c1 = clock();
  await lanczos(op, {
    k: 1,
    iterations: iters,
    seed: r,
    earlyStop: false,
    exactResiduals: false,
    reorthogonalization: reorth,
  });
  const total = since(c1);
  const p = timed(H);
  const c2 = clock();
  await powerIteration(p, { k: 1, maxIterations: iters, seed: r, tol: 0 });
  const ptotal = since(c2);
  if (r === 0) continue; // warm-up
  rows.prepare!.push(prep);
  rows.matvec!.push({ wall: op.t.wall / op.calls, cpu: op.t.cpu / op.calls });
  rows.lanczosOwn!.push(perCall(total, op));
  rows.powerOwn!.push(perCall(ptotal, p));
}
const show = (label: string, xs: Clock[], floor?: Clock): string => {
  const w = min(xs.map((x) => x.wall)); // the least disturbed run
  const c = median(xs.map((x) => x.cpu));
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
  const rel = floor
    ? `  → beyond the HVP: wall ${(w - floor.wall).toFixed(1)} ms (${pct(w - floor.wall, floor.wall)}), cpu ${(c - floor.cpu).toFixed(1)} ms (${pct(c - floor.cpu, floor.cpu)})`
    : `  = ${pct(w, bareWall)} (wall) / ${pct(c, bareCpu)} (cpu) of an HVP`;
  return `${label.padEnd(40)} wall(min) ${w.toFixed(2).padStart(8)} ms  cpu(median, main thread) ${c.toFixed(2).padStart(8)} ms${rel}`;
};
console.log(
  `mlp-${dims.join('-')} ${lossName}, batch ${batch} (chunks of ${chunk}), dim ${dim}, ${iters} iterations, ${repeats} repeats, ${threads} threads, backend ${backend}, basis ${basisMode}, reorthogonalization ${reorth}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(show(`bare amortized HVP (x${nChunks} chunks)`, [{ wall: bareWall, cpu: bareCpu }]));
console.log(show('operator product (in Lanczos)', rows.matvec!, { wall: bareWall, cpu: bareCpu }));
console.log(show('Lanczos own work per iteration', rows.lanczosOwn!));
console.log(show('power iteration own work per iteration', rows.powerOwn!));
console.log(show('hvpAt (prepare at θ)', rows.prepare!));
// The timed Lanczos runs again (same start: lanczos() draws it from createRng(seed)), untimed, for
// how many of their steps swept the whole basis (partial reorthogonalization).
const H = await hessianOperator(ds, theta);
const sweeps: string[] = [];
for (let r = 1; r <= repeats; r++) {
  const rs = createRng(r);
  const start = new Float32Array(dim);
  rs.fillNormal(start);
  const kr = await lanczosTridiagonalize(timed(H), start, {
    steps: iters,
    rng: rs,
    onBreakdown: 'restart',
    reorthogonalization: reorth,
  });
  kr.release();
  sweeps.push(`${kr.fullSweeps} (ε ${kr.noiseLevel.toExponential(1)})`);
}
console.log(`${'Lanczos full sweeps per run'.padEnd(40)} ${sweeps.join(', ')} of ${iters} steps`);
await rt.dispose();
