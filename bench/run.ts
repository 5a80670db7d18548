/**
 * npm run bench: see src/bench/run.ts. Flags:
 *   --quick            fewer pairs, smaller scaling grid
 *   --no-peer          Edgewise only
 *   --threads N        onnxruntime (and peer) threads
 *   --backend B        Edgewise backend: ort (default) or webgpu
 *   --peer D           peer device: cpu (default) or cuda (PyTorch on CUDA, plus JAX if importable)
 *   --only LIST        workloads to run, e.g. W1,W4 (W1 W2 W3 W4 GEMM scaling)
 *   --pairs N          alternated Edgewise/peer pairs per measure
 *   --eos-steps N      GD steps of W4 (default 1000; fewer only for a smoke test)
 *   --out FILE         results file (default bench/results/latest.json, gpu-latest.json in GPU mode)
 *   --profile DIR      record onnxruntime profiles of Edgewise's graphs in DIR and print where their time goes
 */
import { runBench } from '../src/bench/run.ts';
import type { BackendName } from '../src/engine/backend.ts';
import type { PeerDevice } from '../src/bench/peer.ts';

const args = process.argv.slice(2);
const known = new Set([
  '--quick',
  '--no-peer',
  '--threads',
  '--backend',
  '--peer',
  '--only',
  '--pairs',
  '--measures',
  '--out',
  '--eos-steps',
  '--profile',
]);
const valued = new Set([
  '--threads',
  '--backend',
  '--peer',
  '--only',
  '--measures',
  '--pairs',
  '--out',
  '--eos-steps',
  '--profile',
]);
for (let i = 0; i < args.length; i++) {
  if (!known.has(args[i]!)) {
    process.stderr.write(`bench: unknown argument '${args[i]}' (known: ${[...known].join(' ')})\n`);
    process.exit(2);
  }
  if (valued.has(args[i]!)) {
    if (args[i + 1] === undefined || args[i + 1]!.startsWith('--')) {
      process.stderr.write(`bench: ${args[i]} needs a value\n`);
      process.exit(2);
    }
    i++;
  }
}
const value = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (flag: string): number | undefined => {
  const v = value(flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1)) {
    process.stderr.write(`bench: ${flag} must be a positive integer, got '${v}'\n`);
    process.exit(2);
  }
  return n;
};
const backend = value('--backend') ?? 'ort';
const peer = value('--peer') ?? 'cpu';
if (backend !== 'ort' && backend !== 'webgpu') {
  process.stderr.write(`bench: --backend must be ort or webgpu, got '${backend}'\n`);
  process.exit(2);
}
if (peer !== 'cpu' && peer !== 'cuda') {
  process.stderr.write(`bench: --peer must be cpu or cuda, got '${peer}'\n`);
  process.exit(2);
}
try {
  await runBench({
    quick: args.includes('--quick'),
    noPeer: args.includes('--no-peer'),
    threads: num('--threads'),
    backend: backend as BackendName,
    peerDevice: peer as PeerDevice,
    only: value('--only') ? [value('--only')!] : undefined,
    measures: value('--measures')
      ?.split(',')
      .map((m) => m.trim())
      .filter(Boolean),
    pairs: num('--pairs'),
    eosSteps: num('--eos-steps'),
    out: value('--out'),
    profile: value('--profile'),
  });
} catch (e) {
  const msg = (e as Error).message;
  process.stderr.write(`${msg.startsWith('bench') ? msg : `bench: ${msg}`}\n`);
  process.exit(1);
}
