/**
 * GEMM throughput of onnxruntime-node on an encoded MatMul model (float32, n×n times n×n).
 * Prints median wall time of 10 runs after warm-up and GFLOP/s = 2·n³ / t. Also compares the
 * CPU memory arena / memory-pattern session options, on the GEMM and on a chain of small ops.
 *
 * Run: node --import tsx bench/gemm.ts [n] [threads]   (WARMUP=k sets the untimed runs, default 2)
 *
 * On a shared 2-vCPU VM the per-run times swing by 2-3x with host load; the per-run list and
 * min are printed so a noisy median can be recognised as such.
 */
import * as ort from 'onnxruntime-node';
import { DEFAULT_OPSET, encodeModel, type OnnxNode } from '../src/engine/onnx/proto.ts';
import { createSession } from '../src/engine/onnx/session.ts';
import { createRng } from '../src/util/random.ts';

const n = Number(process.argv[2] ?? 2048);
const threads = Number(process.argv[3] ?? 2);
const WARMUP = Number(process.env.WARMUP ?? 2);
const RUNS = 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Wall times (ms) of `runs` timed runs of session on feeds, after `warmup` untimed runs. */
async function timeRuns(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  runs: number,
  warmup: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms;
}

const rng = createRng(2048);
const rand = (len: number): Float32Array => {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
};

const gemmBytes = encodeModel({
  graphName: 'gemm',
  opset: DEFAULT_OPSET,
  nodes: [{ opType: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
  inputs: [
    { name: 'a', type: 'float32', shape: [n, n] },
    { name: 'b', type: 'float32', shape: [n, n] },
  ],
  outputs: [{ name: 'c', type: 'float32', shape: [n, n] }],
  initializers: [],
});
const gemmFeeds = {
  a: new ort.Tensor('float32', rand(n * n), [n, n]),
  b: new ort.Tensor('float32', rand(n * n), [n, n]),
};

const session = await createSession(gemmBytes, { threads });
const ms = await timeRuns(session, gemmFeeds, RUNS, WARMUP);
await session.release();
const med = median(ms);
const gflops = (2 * n ** 3) / (med * 1e-3) / 1e9;
console.log(
  `MatMul ${n}x${n}x${n} float32, intraOpNumThreads=${threads}: median ${med.toFixed(1)} ms ` +
    `(min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)}), ${gflops.toFixed(1)} GFLOP/s`,
);
console.log(`  per-run ms: ${ms.map((x) => x.toFixed(0)).join(' ')}`);

// A chain of small elementwise ops, where per-run allocation is a visible share of the time.
const chainLen = 64;
const chainNodes: OnnxNode[] = [];
for (let i = 0; i < chainLen; i++) {
  chainNodes.push({
    opType: i % 2 ? 'Tanh' : 'Add',
    inputs: i % 2 ? [`t${i}`] : [`t${i}`, 'x'],
    outputs: [`t${i + 1}`],
  });
}
const chainBytes = encodeModel({
  graphName: 'chain',
  opset: DEFAULT_OPSET,
  nodes: chainNodes,
  inputs: [
    { name: 'x', type: 'float32', shape: [64, 64] },
    { name: 't0', type: 'float32', shape: [64, 64] },
  ],
  outputs: [{ name: `t${chainLen}`, type: 'float32', shape: [64, 64] }],
  initializers: [],
});
const chainFeeds = {
  x: new ort.Tensor('float32', rand(4096), [64, 64]),
  t0: new ort.Tensor('float32', rand(4096), [64, 64]),
};

// Session-option comparison. Configurations are interleaved round by round so that drift in
// machine load (this box is shared) hits all of them alike.
const configs = [
  [true, true],
  [false, true],
  [true, false],
  [false, false],
] as const;
const sessions = await Promise.all(
  configs.map(async ([arena, pattern]) => {
    const opts: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      enableCpuMemArena: arena,
      enableMemPattern: pattern,
    };
    return {
      gemm: await ort.InferenceSession.create(gemmBytes, opts),
      chain: await ort.InferenceSession.create(chainBytes, opts),
    };
  }),
);
const gemmMs = configs.map((): number[] => []);
const chainMs = configs.map((): number[] => []);
for (let round = 0; round < 5; round++) {
  for (let c = 0; c < configs.length; c++) {
    gemmMs[c].push(...(await timeRuns(sessions[c].gemm, gemmFeeds, 2, 1)));
    chainMs[c].push(...(await timeRuns(sessions[c].chain, chainFeeds, 200, 20)));
  }
}
for (let c = 0; c < configs.length; c++) {
  const [arena, pattern] = configs[c];
  console.log(
    `enableCpuMemArena=${arena} enableMemPattern=${pattern}: MatMul median ${median(gemmMs[c]).toFixed(1)} ms; ` +
      `${chainLen}-op 64x64 chain median ${(median(chainMs[c]) * 1e3).toFixed(0)} µs`,
  );
  await sessions[c].gemm.release();
  await sessions[c].chain.release();
}
