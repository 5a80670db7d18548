/** `edgewise reproduce NAME [--quick] [--seeds N] [--out DIR] [--parallel N] [--shard I/N] [--status]`. */
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { findStudy, STUDIES } from '../studies/registry.ts';
import { reproduce, ShardPending } from '../studies/run.ts';
import { parseShard } from '../experiments/sweep.ts';
import { formatSweepStatus, sweepStatus } from '../experiments/sweepStatus.ts';
import { UsageError } from './util.ts';

export async function commandReproduce(
  name: string,
  o: { quick?: boolean; out?: string; parallel?: string; status?: boolean; shard?: string; seeds?: string },
): Promise<void> {
  const def = findStudy(name);
  if (!def)
    throw new UsageError(`unknown study '${name}' (available: ${STUDIES.map((s) => s.name).join(', ') || 'none'})`);
  if (o.status) {
    // The study's runs go through the sweep runner (or are recorded in sweep.json as they start), so its status reader applies.
    const dir = resolve(o.out ?? join('runs', `${name}${o.quick ? '-quick' : ''}`));
    process.stdout.write(`${formatSweepStatus(sweepStatus(dir), { details: true })}\n`);
    return;
  }
  const parallel = o.parallel === undefined ? os.availableParallelism() : Number(o.parallel);
  if (!(Number.isInteger(parallel) && parallel >= 1))
    throw new UsageError(`--parallel must be an integer ≥ 1 (got ${o.parallel})`);
  const out = resolve(o.out ?? join('runs', `${name}${o.quick ? '-quick' : ''}`));
  const shard = o.shard === undefined ? null : parseShard(o.shard);
  const seeds = o.seeds === undefined ? undefined : Number(o.seeds);
  if (seeds !== undefined && !(Number.isInteger(seeds) && seeds >= 1))
    throw new UsageError(`--seeds must be an integer ≥ 1 (got ${o.seeds})`);
  let r: Awaited<ReturnType<typeof reproduce>>;
  try {
    r = await reproduce(def, {
      quick: o.quick === true,
      out,
      parallel,
      shard,
      seeds,
      log: (l) => process.stderr.write(`${l}\n`),
    });
  } catch (e) {
    if (e instanceof ShardPending) {
      process.stdout.write(`${e.message}\n`);
      return;
    }
    throw e;
  }
  const w = Math.max(...r.claims.map((c) => c.verdict.length));
  for (const c of r.claims)
    process.stdout.write(`${c.verdict.padEnd(w)}  ${c.claim}\n${' '.repeat(w + 2)}${c.evidence}\n`);
  process.stdout.write(
    `\n${r.runs.length} runs in ${r.elapsed_s.toFixed(0)} s; claims: ${join(out, 'claims.json')}${r.report ? `; report: ${r.report}` : ''}\n`,
  );
}
