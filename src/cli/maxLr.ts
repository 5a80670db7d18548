/**
 * `edgewise max-lr CONFIG [--variants …]`: the largest learning rate that neither diverges nor
 * collapses, and the largest that reaches the target, for the config and for each remedy applied on top of it (one
 * cell each of the max-lr experiment, src/experiments/maxLr.ts, which has the definitions).
 * Each trial is a run directory OUT/<variant>_lr-<η>_seed-<s>; OUT/sweep.json lists them so that
 * `edgewise report OUT` shows them, and OUT/max-lr.json holds every search's result.
 */
import { basename, extname, join } from 'node:path';
import * as os from 'node:os';
import { loadConfig } from '../experiments/loadConfig.ts';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { runInChild } from '../experiments/childRun.ts';
import { readMetrics } from '../experiments/metrics.ts';
import {
  applyVariant,
  earlyCurvature,
  earlyCurvatureConfig,
  finalTestMetrics,
  resolveMaxLrSettings,
  runMaxLrExperiment,
  RunManifest,
  writeMaxLrFile,
  type MaxLrCell,
  type MaxLrResult,
  type MaxLrSummary,
  type SeedRule,
} from '../experiments/maxLr.ts';
import { UsageError } from './util.ts';

export interface MaxLrCliOptions {
  /** Remedies (comma-separated or repeated): none, warmup[-N], clip[-X], batchnorm, layernorm, fixup, metainit, gradinit, init-scale-X. */
  variants?: string[];
  set?: string[];
  out?: string;
  seeds?: string;
  lo?: string;
  hi?: string;
  grid?: string;
  bisect?: string;
  parallel?: string;
  rule?: string;
  stopLoss?: string;
  stopAcc?: string;
  /**
   * Stop each trial at its target instead of running its whole train.steps (faster; trials under
   * warmup still run their whole budget, so variants with and without warmup are then judged
   * differently). Default false.
   */
  stopAtTarget?: boolean;
  /** Try every grid point down to --lo (the fitting speed of smaller η too). Default false. */
  fullGrid?: boolean;
  /** Also run one run per variant at its max stable η with λ1 every 2 steps for this many steps. */
  earlyCurvature?: string;
  quiet?: boolean;
}

/** One variant's outcome, as printed and as written to max-lr.json. */
export interface VariantOutcome {
  variant: string;
  error: string | null;
  result: MaxLrResult | null;
  /** η_max (by divergence), the largest η at the target, per-lr outcomes and steps to the target. */
  summary: MaxLrSummary | null;
  testAcc: number | null;
  /** max over the early window of λ1/threshold at the max stable η (with --early-curvature). */
  earlyMaxRatio: number | null;
  earlyLambda0: number | null;
}

function num(
  v: string | undefined,
  name: string,
  fallback: number,
  check: (x: number) => boolean,
  rule: string,
): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || !check(x)) throw new UsageError(`${name} must be ${rule} (got ${v})`);
  return x;
}

const g = (v: number | null | undefined) => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : '—');

/** The table printed at the end: variant | max stable η | bracket | largest η at the target (steps) | test acc at η_max | trials (| early λ1/threshold). */
export function maxLrTableText(rows: readonly VariantOutcome[], early: boolean): string {
  const head = [
    'variant',
    'max stable η',
    'bracket',
    'largest η at target (steps)',
    'test acc at that η',
    'trials',
    ...(early ? ['max early λ1/threshold'] : []),
  ];
  const body = rows.map((r) => {
    if (r.error !== null) return [r.variant, 'n/a', r.error, '', '', '', ...(early ? [''] : [])];
    const res = r.result!;
    const fit = r.summary?.maxTrainedLr ?? null;
    const steps = fit === null ? null : (r.summary!.lrs.find((l) => l.lr === fit)?.stepsToTarget ?? null);
    return [
      r.variant,
      g(res.maxStableLr),
      `[${g(res.bracket[0])}, ${g(res.bracket[1])}]${res.note ? ` (${res.note})` : ''}`,
      fit === null ? '—' : `${g(fit)} (${g(steps)})`,
      r.testAcc === null ? '—' : `${(100 * r.testAcc).toFixed(1)}%`,
      String(res.trials.length),
      ...(early ? [g(r.earlyMaxRatio)] : []),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

/** Mean test accuracy at their last step of the stable seeds at η (null when none was measured). */
export async function testAccAt(result: MaxLrResult, lr: number | null): Promise<number | null> {
  if (lr === null) return null;
  const accs: number[] = [];
  for (const t of result.trials.filter((t) => t.lr === lr && t.stable && t.dir !== undefined)) {
    const m = await finalTestMetrics(t.dir!);
    if (m.test_acc !== null) accs.push(m.test_acc);
  }
  return accs.length > 0 ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
}

/** Runs the searches; prints progress on stderr and the table on stdout; returns the outcomes. */
export async function commandMaxLr(configFile: string | undefined, o: MaxLrCliOptions = {}): Promise<VariantOutcome[]> {
  const base: Config = loadConfig(configFile, o.set ?? []);
  const variants = (o.variants && o.variants.length > 0 ? o.variants : ['none'])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const seeds = num(o.seeds, '--seeds', 1, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
  const lr = base.optimizer.lr;
  const lo = num(o.lo, '--lo', lr / 16, (x) => x > 0, 'a number > 0');
  const hi = num(o.hi, '--hi', lr * 16, (x) => x >= lo, `a number >= --lo (${lo})`);
  const gridFactor = num(o.grid, '--grid', 2, (x) => x > 1, 'a number > 1');
  const bisectSteps = num(o.bisect, '--bisect', 3, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  const parallel = num(
    o.parallel,
    '--parallel',
    Math.max(1, os.availableParallelism()),
    (x) => Number.isInteger(x) && x >= 1,
    'an integer >= 1',
  );
  const rule = (o.rule ?? 'all') as SeedRule;
  if (rule !== 'all' && rule !== 'majority') throw new UsageError(`--rule must be all or majority (got ${o.rule})`);
  const stopLoss =
    o.stopLoss === undefined
      ? base.train.stop_train_loss
      : num(o.stopLoss, '--stop-loss', 0, (x) => x >= 0, 'a number >= 0');
  const stopAcc =
    o.stopAcc === undefined
      ? base.train.stop_train_acc
      : num(o.stopAcc, '--stop-acc', 0, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
  const earlySteps =
    o.earlyCurvature === undefined
      ? 0
      : num(o.earlyCurvature, '--early-curvature', 200, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
  const name = configFile ? basename(configFile, extname(configFile)) : 'max-lr';
  const out =
    o.out ??
    join('runs', `max-lr-${name}-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`);
  const log = (l: string) => {
    if (!o.quiet) process.stderr.write(`${l}\n`);
  };
  if (stopLoss === null && stopAcc === null)
    log(
      'max-lr: no target (train.stop_train_loss / --stop-loss, train.stop_train_acc / --stop-acc): trained = a final train loss below the initial one',
    );

  const settings = resolveMaxLrSettings({
    lo,
    hi,
    grid_factor: gridFactor,
    bisect_steps: bisectSteps,
    seeds,
    rule,
    stop_train_loss: stopLoss,
    stop_train_acc: stopAcc,
    full_budget: !o.stopAtTarget,
    full_grid: o.fullGrid === true,
  });
  const cells: MaxLrCell[] = variants.map((variant) => {
    try {
      return { name: variant, params: { variant }, config: applyVariant(base, variant), error: null, settings };
    } catch (e) {
      const msg = (e as Error).message;
      if (/^unknown variant/.test(msg)) throw new UsageError(msg);
      return { name: variant, params: { variant }, config: null, error: msg, settings };
    }
  });
  const manifest = new RunManifest(out, name, ['variant', 'kind', 'optimizer.lr']);
  const meta = {
    config: configFile ?? null,
    variants,
    seeds,
    rule,
    lo,
    hi,
    grid_factor: gridFactor,
    bisect_steps: bisectSteps,
    full_budget: !o.stopAtTarget,
    target: { stop_train_loss: stopLoss, stop_train_acc: stopAcc },
  };
  const results = await runMaxLrExperiment({ out, name, cells, parallel, manifest, log, meta });
  const outcomes: VariantOutcome[] = [];
  for (const r of results) {
    const variant = r.cell;
    if (r.result === null) {
      outcomes.push({
        variant,
        error: r.error,
        result: null,
        summary: null,
        testAcc: null,
        earlyMaxRatio: null,
        earlyLambda0: null,
      });
      continue;
    }
    const testAcc = await testAccAt(r.result, r.result.maxStableLr);
    let earlyMaxRatio: number | null = null;
    let earlyLambda0: number | null = null;
    const config = cells.find((c) => c.name === variant)!.config!;
    if (earlySteps > 0 && r.result.maxStableLr !== null) {
      const c = earlyCurvatureConfig(config, { earlyEvery: 2, earlySteps, every: 20 });
      c.optimizer.lr = r.result.maxStableLr;
      c.train.seed = 0;
      const cc = resolveConfig(c);
      const run = `${variant}_curve`;
      manifest.record(run, { variant, kind: 'curve', 'optimizer.lr': r.result.maxStableLr, 'train.seed': 0 });
      await runInChild(cc, join(out, run), { threads: os.availableParallelism() });
      const e = earlyCurvature(readMetrics(join(out, run, 'metrics.jsonl')).rows, cc, earlySteps);
      earlyMaxRatio = e.length > 0 ? Math.max(...e.map((p) => p.ratio)) : null;
      earlyLambda0 = e.find((p) => p.step === 0)?.value ?? null;
    }
    outcomes.push({ variant, error: null, result: r.result, summary: r.summary, testAcc, earlyMaxRatio, earlyLambda0 });
  }
  // max-lr.json again, now with the test accuracies and the early-curvature runs.
  writeMaxLrFile(out, results, {
    ...meta,
    outcomes: outcomes.map((x) => ({
      variant: x.variant,
      test_acc: x.testAcc,
      early_max_ratio: x.earlyMaxRatio,
      early_lambda0: x.earlyLambda0,
    })),
  });
  process.stdout.write(
    `${maxLrTableText(outcomes, earlySteps > 0)}\n${out}: max-lr.json, ${manifest.size} runs (edgewise report ${out})\n`,
  );
  return outcomes;
}
