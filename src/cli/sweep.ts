/** `edgewise sweep SWEEP`: runs a sweep's runs (or one shard of them) in child processes. */
import { basename, extname, join, resolve } from 'node:path';
import { loadSweep } from '../experiments/sweep.ts';
import { runSweep, shardFromEnv, sweepExitCode, cpuBudget } from '../experiments/sweepRunner.ts';
import { sweepStatus, formatSweepStatus } from '../experiments/sweepStatus.ts';
import { parseShard } from '../experiments/sweep.ts';
import { runInChild } from '../experiments/childRun.ts';
import { createLineProgress } from './progress.ts';
import { UsageError, mustExist } from './util.ts';

export interface SweepOptions {
  out?: string;
  shard?: string;
  shardFromEnv?: boolean;
  parallel?: string;
  status?: boolean;
  report?: boolean;
}

export async function commandSweep(file: string, o: SweepOptions): Promise<void> {
  mustExist(file, 'sweep file');
  const runs = loadSweep(file);
  const out = resolve(o.out ?? join('runs', basename(file, extname(file))));
  if (o.status) {
    process.stdout.write(`${formatSweepStatus(sweepStatus(out, runs), { details: true })}\n`);
    return;
  }
  if (o.shard && o.shardFromEnv) throw new UsageError('give --shard or --shard-from-env, not both');
  const shard = o.shard ? parseShard(o.shard) : o.shardFromEnv ? shardFromEnv(process.env) : null;
  const parallel = o.parallel === undefined ? Math.min(cpuBudget(), runs.length) : Number(o.parallel);
  if (!(Number.isInteger(parallel) && parallel >= 1))
    throw new UsageError(`--parallel must be an integer ≥ 1 (got ${o.parallel})`);
  const threads = Math.max(1, Math.floor(cpuBudget() / parallel));
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`edgewise: ${sig}: stopping the runs in progress (they stay resumable)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runSweep({
      runs,
      name: basename(file, extname(file)),
      outDir: out,
      shard,
      parallel,
      signal: controller.signal,
      log: (l) => process.stderr.write(`${l}\n`),
      runOne: async (run, runDir, signal) => {
        // Parallel runs share stderr: plain prefixed lines, never a live bar.
        const progress = createLineProgress((text) => process.stderr.write(text), run.name);
        await runInChild(run.config, runDir, {
          threads,
          signal,
          events: {
            onStart: (i) => progress.start(i.steps, i.startStep),
            onRow: (r) => progress.row(r),
            onMessage: (m) => progress.message(m),
          },
          onLine: (l) => process.stderr.write(`[${run.name}] ${l}\n`),
        });
      },
    });
    process.stdout.write(
      `sweep ${out}: ${result.completed} completed, ${result.diverged} diverged, ${result.failed} failed, ${result.unfinished} unfinished of ${result.shardRuns} runs${shard ? ` in shard ${shard.index}/${shard.count}` : ''}\n`,
    );
    process.exitCode = sweepExitCode(result);
    const st = sweepStatus(out, runs);
    if (o.report !== false && st.completed + st.diverged + st.failed === st.total) {
      const { writeReport } = await import('../report/report.ts');
      const r = await writeReport(out);
      process.stdout.write(`report: ${r.html}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
