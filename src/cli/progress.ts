/**
 * Progress output for long runs: a live bar on a terminal (cli-progress), plain lines when
 * stderr is not a TTY (logs, CI, child processes).
 */
import cliProgress from 'cli-progress';
import type { MetricRow } from '../experiments/runner.ts';

export interface Progress {
  start(total: number, startAt: number): void;
  row(row: MetricRow): void;
  message(text: string): void;
  stop(): void;
}

const fmt = (v: unknown, digits = 4): string =>
  typeof v === 'number'
    ? Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
      ? v.toExponential(2)
      : v.toPrecision(digits)
    : '—';

function describe(row: MetricRow): string {
  const parts = [`loss ${fmt(row.train_loss)}`];
  if (typeof row.train_acc === 'number') parts.push(`acc ${(100 * row.train_acc).toFixed(1)}%`);
  if (typeof row.sharpness === 'number') {
    const q = row.threshold_quantity === 'preconditioned_sharpness' ? 'λ1(P⁻¹H)' : 'λ1';
    const val = row.threshold_quantity === 'preconditioned_sharpness' ? row.precond_sharpness : row.sharpness;
    parts.push(`${q} ${fmt(val)}`);
    if (row.threshold_quantity === 'preconditioned_sharpness') parts.push(`λ1 ${fmt(row.sharpness)}`);
  }
  if (typeof row.ggn_sharpness === 'number') parts.push(`λ1(G) ${fmt(row.ggn_sharpness)}`);
  if (typeof row.threshold === 'number') parts.push(`threshold ${fmt(row.threshold)}`);
  if (typeof row.test_acc === 'number') parts.push(`test ${(100 * row.test_acc).toFixed(1)}%`);
  return parts.join('  ');
}

/** Plain progress lines (about 20 per run) given to `write`; `label` prefixes them (e.g. a sweep's run name). */
export function createLineProgress(write: (text: string) => void, label = ''): Progress {
  const prefix = label ? `[${label}] ` : '';
  let lastPrinted = -Infinity;
  let total = 0;
  return {
    start(t, s) {
      total = t;
      write(`${prefix}training ${t} steps${s > 0 ? ` (resuming at ${s})` : ''}\n`);
    },
    row(row) {
      const step = row.step as number;
      // About 20 lines per run, plus every curvature measurement in the first ones.
      if (step - lastPrinted >= Math.max(1, Math.floor(total / 20)) || step === total) {
        write(`${prefix}step ${step}/${total}  ${describe(row)}\n`);
        lastPrinted = step;
      }
    },
    message(text) {
      write(`${prefix}${text}\n`);
    },
    stop() {},
  };
}

/** A progress reporter writing to `stream` (a bar if it is a TTY). `label` prefixes plain lines. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr, label = ''): Progress {
  const prefix = label ? `[${label}] ` : '';
  if (!stream.isTTY) return createLineProgress((text) => stream.write(text), label);
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${prefix}{bar} {value}/{total} steps | {info} | {eta_formatted} left`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(total, startAt) {
      bar.start(total, startAt, { info: 'starting' });
    },
    row(row) {
      bar.update(row.step as number, { info: describe(row) });
    },
    message(text) {
      stream.write(`\n${prefix}${text}\n`);
    },
    stop() {
      bar.stop();
    },
  };
}
