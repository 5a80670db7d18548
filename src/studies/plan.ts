/**
 * Studies whose learning rates are multiples of 2/λ0, λ0 = the sharpness at initialization:
 * the grid has a pseudo-key `lr_multiple` next to ordinary dotted config keys. λ0 is measured
 * once per seed (and per `lambda0_key` values, e.g. the model) by a zero-step run in a child
 * process under `<out>/init/` (not a run of the sweep: the report does not list it), then each
 * run gets optimizer.lr = lr_multiple · 2/λ0 (times an optional study-specific factor).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { setPath } from '../experiments/configPaths.ts';
import { gridProduct, runNames } from '../experiments/sweep.ts';
import { runInChild } from '../experiments/childRun.ts';
import { readMetrics } from '../experiments/metrics.ts';
import { runStudyRuns, studySweeps, unionGrids, type PlannedRun } from './run.ts';

import type { StudyContext, StudyRun } from './study.ts';

export const LR_MULTIPLE = 'lr_multiple';

/** Sets every dotted key of `params` (except pseudo-keys) on a copy of `base`. */
export function withParams(
  base: Record<string, unknown>,
  params: Readonly<Record<string, unknown>>,
  skip: readonly string[] = [LR_MULTIPLE],
): Record<string, unknown> {
  let raw: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(params)) if (!skip.includes(k)) raw = setPath(raw, k.split('.'), v);
  return raw;
}

/**
 * λ0: the sharpness of `config` at initialization (its seed), measured by a zero-step run in
 * `dir` (reused when it is already there).
 */
export async function initialSharpness(config: Config, dir: string, threads?: number): Promise<number> {
  const c = resolveConfig({
    ...config,
    train: { ...config.train, steps: 0 },
    curvature: { ...config.curvature, every: 1, early_every: 0, early_steps: 0, trace_every: 0, density_every: 0 },
    log: { ...config.log, test_every: 0 },
    optimizer: { ...config.optimizer, name: 'gd', batch_size: 'full' },
  });
  const summary = await runInChild(c, dir, { threads });
  const row = readMetrics(join(dir, 'metrics.jsonl')).rows.find((r) => r.step === 0);
  const l0 = row?.sharpness;
  if (typeof l0 !== 'number' || !(l0 > 0))
    throw new Error(`${dir}: no sharpness at initialization (run ${summary.status}: ${summary.reason ?? ''})`);
  return l0;
}

export interface MultiplesPlan {
  runs: PlannedRun[];
  grid: Record<string, unknown[]>;
  /** λ0 per init key (JSON of the seed and the lambda0 keys' values). */
  lambda0: Record<string, number>;
}

/**
 * Expands the study's (quick-reduced) base × grid, where grid may hold `lr_multiple`; measures λ0
 * per distinct initialization and sets optimizer.lr = lr_multiple · 2/λ0 · factor(params).
 * `initKeys`: the grid keys that change the initialization or the Hessian at it (train.seed
 * always does).
 */
export async function planMultiples(
  ctx: StudyContext,
  o: {
    initKeys?: string[];
    factor?: (params: Readonly<Record<string, unknown>>, config: Config) => number;
    adjust?: (
      raw: Record<string, unknown>,
      params: Readonly<Record<string, unknown>>,
      lr: number,
      lambda0: number,
    ) => Record<string, unknown>;
  } = {},
): Promise<MultiplesPlan> {
  // The study's sweep, then each variant's, named with the variant as a prefix and as the param
  // `variant`, which also keys λ0 (a variant may change the loss or the data).
  const sweeps = studySweeps(ctx.file, ctx.quick);
  const grid = unionGrids(sweeps.map((s) => s.grid));
  const planned: { name: string; params: Record<string, unknown>; base: Record<string, unknown> }[] = [];
  for (const s of sweeps) {
    const keys = Object.keys(s.grid);
    const params = gridProduct(keys.map((key) => ({ key, values: s.grid[key]! })));
    const names = runNames(keys, params);
    params.forEach((p, i) =>
      planned.push({
        name: s.variant === undefined ? names[i]! : `${s.variant}_${names[i]!}`,
        params: s.variant === undefined ? p : { variant: s.variant, ...p },
        base: s.base,
      }),
    );
  }
  const initKeys = ['train.seed', 'variant', ...(o.initKeys ?? [])];
  const lambda0: Record<string, number> = {};
  const runs: PlannedRun[] = [];
  for (const { name, params: p, base } of planned) {
    const initParams = Object.fromEntries(
      Object.entries(p).filter(([k]) => initKeys.includes(k) && k !== 'train.seed'),
    );
    const raw = withParams(base, p, [LR_MULTIPLE, 'variant']);
    const config = resolveConfig(raw);
    const initKey = JSON.stringify({ seed: config.train.seed, ...initParams });
    if (lambda0[initKey] === undefined) {
      const label = Object.entries({ seed: config.train.seed, ...initParams })
        .map(([k, v]) => `${k.split('.').pop()}-${String(v)}`)
        .join('_')
        .replace(/[^A-Za-z0-9._+-]+/g, '_');
      const dir = join(ctx.out, 'init', label);
      if (!existsSync(dir)) ctx.log(`measuring λ0 (${label})…`);
      lambda0[initKey] = await initialSharpness(config, dir);
      ctx.log(`λ0 (${label}) = ${lambda0[initKey]!.toPrecision(4)}, 2/λ0 = ${(2 / lambda0[initKey]!).toPrecision(4)}`);
    }
    const l0 = lambda0[initKey]!;
    const m = p[LR_MULTIPLE];
    let lr = config.optimizer.lr;
    if (m !== undefined) {
      if (typeof m !== 'number' || !(m > 0))
        throw new Error(
          `studies/${ctx.file.name}.yaml: grid.${LR_MULTIPLE} values must be numbers > 0 (got ${String(m)})`,
        );
      lr = (m * 2) / l0;
    }
    lr *= o.factor?.(p, config) ?? 1;
    let full = setPath(raw, ['optimizer', 'lr'], lr);
    if (o.adjust) full = o.adjust(full, p, lr, l0);
    runs.push({ name, params: { ...p, lambda0: l0 }, config: resolveConfig(full) });
  }
  return { runs, grid, lambda0 };
}

/** planMultiples, then the runs in child processes. */
export async function runMultiples(
  ctx: StudyContext,
  o: Parameters<typeof planMultiples>[1] = {},
): Promise<StudyRun[]> {
  const plan = await planMultiples(ctx, o);
  return runStudyRuns(ctx, plan.runs, plan.grid);
}

/** A run's λ0 (from its params, else its first measured sharpness) and its η·λ0/2. */
export function multipleOf(r: StudyRun): { lambda0: number; multiple: number } {
  const p = r.params.lambda0;
  const first = r.rows.find((row) => typeof row.sharpness === 'number');
  const l0 = typeof p === 'number' ? p : typeof first?.sharpness === 'number' ? first.sharpness : Number.NaN;
  return { lambda0: l0, multiple: (r.config.optimizer.lr * l0) / 2 };
}
