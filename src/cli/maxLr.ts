/**
 * `edgewise max-lr CONFIG [--variants …]`: the largest learning rate that still trains, for the
 * config and for each remedy applied on top of it (src/experiments/maxLr.ts has the definitions).
 * Each trial is a run directory OUT/<variant>_lr-<η>_seed-<s>; OUT/sweep.json lists them so that
 * `edgewise report OUT` shows them, and OUT/max-lr.json holds every search's result.
 */
import { basename, extname, join } from 'node:path';
import * as os from 'node:os';
import { loadConfig } from '../experiments/loadConfig.ts';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { runInChild } from '../experiments/childRun.ts';
import { readMetrics } from '../experiments/metrics.ts';
import { writeJsonAtomic } from '../experiments/atomicWrite.ts';
import {
  applyVariant, configTrial, earlyCurvature, earlyCurvatureConfig, finalTestMetrics, findMaxStableLr, MaxLrError,
  type MaxLrResult, type SeedRule, type Trial,
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
  /** Also run one run per variant at its max stable η with λ1 every 2 steps for this many steps. */
  earlyCurvature?: string;
  quiet?: boolean;
}

/** One variant's outcome, as printed and as written to max-lr.json. */
export interface VariantOutcome {
  variant: string;
  error: string | null;
  result: MaxLrResult | null;
  testAcc: number | null;
  /** max over the early window of λ1/threshold at the max stable η (with --early-curvature). */
  earlyMaxRatio: number | null;
  earlyLambda0: number | null;
}

function num(v: string | undefined, name: string, fallback: number, check: (x: number) => boolean, rule: string): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || !check(x)) throw new UsageError(`${name} must be ${rule} (got ${v})`);
  return x;
}

const g = (v: number | null | undefined) => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : '—');

/** The table printed at the end: variant | max stable η | bracket | test acc at that η | trials (| early λ1/threshold). */
export function maxLrTableText(rows: readonly VariantOutcome[], early: boolean): string {
  const head = ['variant', 'max stable η', 'bracket', 'test acc at that η', 'trials', ...(early ? ['max early λ1/threshold'] : [])];
  const body = rows.map((r) => r.error !== null
    ? [r.variant, 'n/a', r.error, '', '', ...(early ? [''] : [])]
    : [
      r.variant,
      g(r.result!.maxStableLr),
      `[${g(r.result!.bracket[0])}, ${g(r.result!.bracket[1])}]${r.result!.note ? ` (${r.result!.note})` : ''}`,
      r.testAcc === null ? '—' : `${(100 * r.testAcc).toFixed(1)}%`,
      String(r.result!.trials.length),
      ...(early ? [g(r.earlyMaxRatio)] : []),
    ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

/** Runs the searches; prints progress on stderr and the table on stdout; returns the outcomes. */
export async function commandMaxLr(configFile: string | undefined, o: MaxLrCliOptions = {}): Promise<VariantOutcome[]> {
  const base: Config = loadConfig(configFile, o.set ?? []);
  const variants = (o.variants && o.variants.length > 0 ? o.variants : ['none']).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const seeds = num(o.seeds, '--seeds', 1, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
  const lr = base.optimizer.lr;
  const lo = num(o.lo, '--lo', lr / 16, (x) => x > 0, 'a number > 0');
  const hi = num(o.hi, '--hi', lr * 16, (x) => x >= lo, `a number >= --lo (${lo})`);
  const gridFactor = num(o.grid, '--grid', 2, (x) => x > 1, 'a number > 1');
  const bisectSteps = num(o.bisect, '--bisect', 3, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  const parallel = num(o.parallel, '--parallel', Math.max(1, os.availableParallelism()), (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
  const rule = (o.rule ?? 'all') as SeedRule;
  if (rule !== 'all' && rule !== 'majority') throw new UsageError(`--rule must be all or majority (got ${o.rule})`);
  const stopLoss = o.stopLoss === undefined ? base.train.stop_train_loss : num(o.stopLoss, '--stop-loss', 0, (x) => x >= 0, 'a number >= 0');
  const stopAcc = o.stopAcc === undefined ? base.train.stop_train_acc : num(o.stopAcc, '--stop-acc', 0, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
  const earlySteps = o.earlyCurvature === undefined ? 0 : num(o.earlyCurvature, '--early-curvature', 200, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
  const name = configFile ? basename(configFile, extname(configFile)) : 'max-lr';
  const out = o.out ?? join('runs', `max-lr-${name}-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`);
  const threads = Math.max(1, Math.floor(os.availableParallelism() / parallel));
  const log = (l: string) => {
    if (!o.quiet) process.stderr.write(`${l}\n`);
  };
  if (stopLoss === null && stopAcc === null) log('max-lr: no target (train.stop_train_loss / --stop-loss, train.stop_train_acc / --stop-acc): stable = no divergence over train.steps and a falling train loss');

  const manifest: Array<{ index: number; name: string; params: Record<string, unknown> }> = [];
  const record = (run: string, params: Record<string, unknown>) => {
    manifest.push({ index: manifest.length, name: run, params });
    writeJsonAtomic(join(out, 'sweep.json'), {
      name, grid: { variant: [...new Set(manifest.map((m) => m.params.variant))], kind: [...new Set(manifest.map((m) => m.params.kind))], 'optimizer.lr': [...new Set(manifest.map((m) => m.params['optimizer.lr']))] },
      runs: manifest,
    });
  };
  const outcomes: VariantOutcome[] = [];
  for (const variant of variants) {
    let config: Config;
    try {
      config = applyVariant(base, variant);
    } catch (e) {
      const msg = (e as Error).message;
      if (/^unknown variant/.test(msg)) throw new UsageError(msg);
      outcomes.push({ variant, error: msg, result: null, testAcc: null, earlyMaxRatio: null, earlyLambda0: null });
      log(`${variant}: skipped (${msg})`);
      continue;
    }
    const trialName = (x: number, s: number) => `${variant}_lr-${x}_seed-${s}`;
    const inner = configTrial(config, out, { threads, stopTrainLoss: stopLoss, stopTrainAcc: stopAcc, fullBudget: !o.stopAtTarget, name: trialName });
    const trial: Trial = async (x, s) => {
      record(trialName(x, s), { variant, kind: 'trial', 'optimizer.lr': x, 'train.seed': s });
      return inner(x, s);
    };
    let result: MaxLrResult;
    try {
      result = await findMaxStableLr({
        trial, lo, hi, gridFactor, bisectSteps, seeds, rule, parallel,
        onTrial: (t) => log(`${variant}: η ${t.lr} seed ${t.seed}: ${t.stable ? 'stable' : 'unstable'} (${t.reason})`),
      });
    } catch (e) {
      if (e instanceof MaxLrError) throw new Error(`${variant}: ${e.message}`);
      throw e;
    }
    let testAcc: number | null = null;
    if (result.maxStableLr !== null) {
      const accs: number[] = [];
      for (const t of result.trials.filter((t) => t.lr === result.maxStableLr && t.stable)) {
        const m = await finalTestMetrics(t.dir!);
        if (m.test_acc !== null) accs.push(m.test_acc);
      }
      testAcc = accs.length > 0 ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
    }
    let earlyMaxRatio: number | null = null;
    let earlyLambda0: number | null = null;
    if (earlySteps > 0 && result.maxStableLr !== null) {
      const c = earlyCurvatureConfig(config, { earlyEvery: 2, earlySteps, every: 20 });
      c.optimizer.lr = result.maxStableLr;
      c.train.seed = 0;
      const cc = resolveConfig(c);
      const run = `${variant}_curve`;
      record(run, { variant, kind: 'curve', 'optimizer.lr': result.maxStableLr, 'train.seed': 0 });
      await runInChild(cc, join(out, run), { threads: os.availableParallelism() });
      const e = earlyCurvature(readMetrics(join(out, run, 'metrics.jsonl')).rows, cc, earlySteps);
      earlyMaxRatio = e.length > 0 ? Math.max(...e.map((p) => p.ratio)) : null;
      earlyLambda0 = e.find((p) => p.step === 0)?.value ?? null;
    }
    outcomes.push({ variant, error: null, result, testAcc, earlyMaxRatio, earlyLambda0 });
    log(`${variant}: max stable η ${g(result.maxStableLr)} in [${g(result.bracket[0])}, ${g(result.bracket[1])}]${result.note ? ` — ${result.note}` : ''}`);
    writeJsonAtomic(join(out, 'max-lr.json'), { config: configFile ?? null, variants, seeds, rule, lo, hi, grid_factor: gridFactor, bisect_steps: bisectSteps, full_budget: !o.stopAtTarget, target: { stop_train_loss: stopLoss, stop_train_acc: stopAcc }, outcomes });
  }
  writeJsonAtomic(join(out, 'max-lr.json'), { config: configFile ?? null, variants, seeds, rule, lo, hi, grid_factor: gridFactor, bisect_steps: bisectSteps, full_budget: !o.stopAtTarget, target: { stop_train_loss: stopLoss, stop_train_acc: stopAcc }, outcomes });
  process.stdout.write(`${maxLrTableText(outcomes, earlySteps > 0)}\n${out}: max-lr.json, ${manifest.length} runs (edgewise report ${out})\n`);
  return outcomes;
}
