/** `edgewise bench`: the options of `npm run bench` (bench/run.ts), parsed by commander in main.ts. */
import { parseOnly, runBench } from '../bench/run.ts';
import type { PeerDevice } from '../bench/peer.ts';
import { UsageError } from './util.ts';

/** The bench command's options as commander hands them over (strings as typed). */
export interface BenchCommandOptions {
  quick?: boolean;
  /** false with --no-peer, the device with --peer cpu|cuda, undefined otherwise. */
  peer?: boolean | string;
  threads?: string;
  backend?: 'ort' | 'webgpu';
  /** --only lists (repeatable, comma-separated). */
  only?: string[];
  /** --measures list (comma-separated). */
  measures?: string;
  pairs?: string;
  eosSteps?: string;
  out?: string;
  profile?: string;
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1)) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
  return n;
}

export async function commandBench(o: BenchCommandOptions): Promise<void> {
  const peer = o.peer ?? 'cpu';
  if (peer !== false && peer !== 'cpu' && peer !== 'cuda')
    throw new UsageError(`--peer must be cpu or cuda, got '${String(peer)}'`);
  const only = o.only ?? [];
  // Unknown workload ids are a usage error, reported before anything runs.
  try {
    for (const list of only) parseOnly(list);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  await runBench({
    quick: o.quick,
    noPeer: peer === false,
    peerDevice: peer === false ? undefined : (peer as PeerDevice),
    threads: positiveInt('--threads', o.threads),
    backend: o.backend,
    only: only.length > 0 ? only : undefined,
    measures:
      o.measures === undefined
        ? undefined
        : o.measures
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean),
    pairs: positiveInt('--pairs', o.pairs),
    eosSteps: positiveInt('--eos-steps', o.eosSteps),
    out: o.out,
    profile: o.profile,
  });
}
