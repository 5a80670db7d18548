/** `edgewise train`: one run from a config into a run directory, with progress output. */
import { existsSync } from 'node:fs';
import { loadConfig } from '../experiments/loadConfig.ts';
import { RunStore, runFilePath, type RunSummary } from '../experiments/runStore.ts';
import { trainRun } from '../experiments/runner.ts';
import { createProgress } from './progress.ts';
import { UsageError, defaultRunDir } from './util.ts';

const fmt = (v: number | null | undefined): string => (typeof v === 'number' ? v.toPrecision(4) : '—');

/** One line describing how a run ended. */
export function summaryLine(dir: string, s: RunSummary): string {
  const f = s.final;
  const acc = typeof f.train_acc === 'number' ? `, train acc ${(100 * f.train_acc).toFixed(1)}%` : '';
  const test = typeof f.test_acc === 'number' ? `, test acc ${(100 * f.test_acc).toFixed(1)}%` : '';
  return `${dir}: ${s.status}${s.reason ? ` (${s.reason})` : ''} after ${s.steps} steps; train loss ${fmt(f.train_loss)}${acc}${test}, sharpness ${fmt(f.sharpness)}`;
}

export async function commandTrain(
  configFile: string | undefined,
  o: { set: string[]; out?: string; resume?: boolean; quiet?: boolean },
): Promise<void> {
  let dir: string;
  let config;
  if (o.resume) {
    if (!o.out) throw new UsageError('--resume needs --out DIR, the run directory to continue');
    if (configFile !== undefined || o.set.length > 0)
      throw new UsageError('--resume continues a run with its saved config.json; do not pass a config or --set');
    dir = o.out;
    const cfgPath = runFilePath(dir, 'config');
    if (!existsSync(cfgPath)) throw new UsageError(`'${dir}' holds no run to resume (no config.json)`);
    const status = new RunStore(dir).status();
    if (status === 'completed' || status === 'diverged') {
      process.stderr.write(`edgewise: '${dir}' already finished (${status}); nothing to resume\n`);
      return;
    }
    config = loadConfig(cfgPath);
  } else {
    config = loadConfig(configFile, o.set);
    dir = o.out ?? defaultRunDir(configFile);
    if (existsSync(runFilePath(dir, 'metrics'))) {
      throw new UsageError(`'${dir}' already holds a run; use --resume to continue it, or another --out`);
    }
  }
  const progress = o.quiet ? null : createProgress(process.stderr);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(130);
    process.stderr.write(
      `\nedgewise: ${sig}: stopping after this step (again to quit at once); continue with --resume --out ${dir}\n`,
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await trainRun(config, {
      dir,
      resume: o.resume,
      signal: controller.signal,
      events: progress
        ? {
            onStart: (i) => progress.start(i.steps, i.startStep),
            onRow: (r) => progress.row(r),
            onMessage: (m) => progress.message(m),
          }
        : {},
    });
    progress?.stop();
    process.stdout.write(`${summaryLine(dir, summary)}\n`);
    if (summary.status === 'failed') process.exitCode = 130;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
