/** `edgewise bench`. */
import { runBench } from '../bench/run.ts';

export async function commandBench(o: { quick?: boolean; peer: boolean; threads?: string; backend?: 'ort' | 'webgpu' }): Promise<void> {
  await runBench({ quick: o.quick, noPeer: !o.peer, threads: o.threads ? Number(o.threads) : undefined, backend: o.backend });
}
