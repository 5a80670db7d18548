/**
 * Study `adam-warmup` (Gilmer et al. 2022; Xiong et al. 2020, "On Layer Normalization in the
 * Transformer Architecture"): a tiny pre-LN and post-LN Transformer trained with full-batch Adam
 * on character-level text shipped in the repository (data/text/). Post-LN has the larger early
 * preconditioned sharpness λ1(P⁻¹H) (relative to Adam's threshold (2+2β1)/((1−β1)η)) and needs
 * warmup to train at large η; pre-LN does not.
 *
 * The Transformer is not one of the config schema's architectures, so this study trains it in
 * process with the engine, the optimizers, the schedules and the curvature measurement directly
 * (one Runtime, so compiled graphs are shared by all runs). Each run is still a run directory
 * (metrics.jsonl and summary.json as for `edgewise train`; config.json holds the optimizer,
 * schedule and train keys plus a `transformer` section, so it is for reading, not for
 * `edgewise train`). Runs: a max-stable-lr search per LN placement × warmup (`grid`), and one run
 * per cell at a common η with λ1(H) and λ1(P⁻¹H) measured every few steps early on.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../engine/backend.ts';
import { buildTransformer, charWindows, transformerObjective, type CharWindows, type LnPlacement } from '../nn/transformer.ts';
import { DatasetObjective } from '../train/datasetObjective.ts';
import { createOptimizer, createSchedule, globalNorm, preconditionerDiagonal, stabilityThreshold, type OptimizerConfig } from '../train/index.ts';
import { measureCurvature } from '../curvature/measure.ts';
import { createRng } from '../util/random.ts';
import { resolveConfig, type Config } from '../experiments/config.ts';
import { RunStore, type FinalMetrics } from '../experiments/runStore.ts';
import { readMetrics, type MetricRow } from '../experiments/metrics.ts';
import { writeJsonAtomic } from '../experiments/atomicWrite.ts';
import { findMaxStableLr, judgeRun, variantOverrides, type MaxLrResult, type TrialTarget } from '../experiments/maxLr.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFile, StudyRun } from './study.ts';
import { allOf, earlyRatioFigure } from './warmup.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The study file's `transformer:` section. */
export interface TransformerSection {
  /** Text file, relative to the repository root. */
  text: string;
  context: number;
  d_model: number;
  heads: number;
  layers: number;
  d_ff?: number;
  /** Windows of context + 1 characters (evenly spread) and their start stride. */
  windows: number;
  stride?: number;
}

export interface Section {
  transformer: TransformerSection;
  optimizer: { beta1?: number; beta2?: number; eps?: number };
  train: { steps: number; divergence_loss: number; log_every?: number };
  max_lr: { lo: number; hi: number; grid_factor?: number; bisect_steps?: number; seeds?: number; rule?: 'all' | 'majority'; stop_train_loss: number };
  curves: { lr: number; steps: number; every: number; until: number; lanczos_iters?: number };
}

type AdamFile = StudyFile & Section & { quick?: StudyFile['quick'] & Partial<{ [K in keyof Section]: Partial<Section[K]> }> };

export interface Plan extends Section {
  norms: LnPlacement[];
  variants: string[];
}

function plan(ctx: StudyContext): Plan {
  const f = ctx.file as AdamFile;
  const q = ctx.quick ? (f.quick ?? {}) : {};
  const pick = <K extends keyof Section>(k: K): Section[K] => ({ ...f[k], ...((q as Partial<Section>)[k] ?? {}) }) as Section[K];
  return {
    transformer: pick('transformer'), optimizer: pick('optimizer'), train: pick('train'), max_lr: pick('max_lr'), curves: pick('curves'),
    norms: ((q.grid?.norm ?? f.grid.norm) as LnPlacement[]),
    variants: ((q.grid?.variant ?? f.grid.variant) as string[]),
  };
}

/** Warmup length of a variant name (none / warmup-N); other remedies do not apply here. */
function warmupOf(variant: string): number {
  const o = variantOverrides(variant);
  const keys = Object.keys(o).filter((k) => k !== 'schedule.warmup_steps');
  if (keys.length > 0) throw new Error(`adam-warmup: variant '${variant}' is not a warmup length (only none and warmup-N apply)`);
  return (o['schedule.warmup_steps'] as number | undefined) ?? 0;
}

export interface RunSpec {
  norm: LnPlacement;
  warmup: number;
  lr: number;
  seed: number;
  steps: number;
  /** Curvature every `every` steps up to `until` (0 = none). */
  curvature: { every: number; until: number; iters: number } | null;
}

/** A Config carrying what the schema can express (optimizer, schedule, train, curvature); for readers of config.json. */
function schemaPart(p: Plan, r: RunSpec, target: number | null): Config {
  return resolveConfig({
    optimizer: { name: 'adam', lr: r.lr, beta1: p.optimizer.beta1 ?? 0.9, beta2: p.optimizer.beta2 ?? 0.999, eps: p.optimizer.eps ?? 1e-8 },
    schedule: { warmup_steps: r.warmup },
    train: { steps: r.steps, seed: r.seed, divergence_loss: p.train.divergence_loss, stop_train_loss: target },
    curvature: r.curvature ? { every: r.curvature.every, top_k: 1, lanczos_iters: r.curvature.iters, preconditioned: true, rotation: false } : { every: 0 },
    log: { every: p.train.log_every ?? 5, test_every: 0 },
  });
}

/** Trains one Transformer run into `dir` (a finished run there is kept). */
export async function trainTransformerRun(runtime: Runtime, data: CharWindows, p: Plan, r: RunSpec, dir: string, target: number | null): Promise<void> {
  const store = new RunStore(dir);
  const status = existsSync(join(dir, 'summary.json')) ? store.status() : 'new';
  if (status === 'completed' || status === 'diverged') return;
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  store.init();
  const t = p.transformer;
  const model = buildTransformer({ vocab: data.vocab.length, context: t.context, dModel: t.d_model, heads: t.heads, layers: t.layers, dFF: t.d_ff, norm: r.norm });
  const config = schemaPart(p, r, target);
  writeJsonAtomic(join(dir, 'config.json'), {
    ...config, seed: r.seed,
    transformer: { ...model.config, text: t.text, windows: data.n, stride: t.stride ?? t.context, vocab: data.vocab.join('') },
    note: 'trained in process by the adam-warmup study (src/studies/adam-warmup.ts); data and model are in `transformer`',
  });
  const obj = new DatasetObjective(runtime, (b) => transformerObjective(model, b, 'float32'), { n: data.n, arrays: { x: data.x, y: data.y } }, data.n);
  const optCfg: OptimizerConfig = { name: 'adam', beta1: config.optimizer.beta1, beta2: config.optimizer.beta2, eps: config.optimizer.eps };
  const opt = createOptimizer(optCfg);
  const state = opt.init(model.layout.size);
  const schedule = createSchedule({ warmup_steps: r.warmup, decay: 'constant' }, r.lr);
  const theta = Float32Array.from(model.init(createRng(r.seed)));
  const logEvery = p.train.log_every ?? 5;
  const t0 = performance.now();
  let final: Partial<FinalMetrics> = {};
  store.markRunning(0);
  for (let s = 0; ; s++) {
    const lr = schedule(s);
    const g = await obj.lossAndGrad(theta);
    const gn = globalNorm(g.grad);
    const fin = (v: number) => (Number.isFinite(v) ? v : null);
    final = { train_loss: fin(g.loss), train_acc: fin(g.metrics.accuracy ?? NaN) };
    const row: Record<string, unknown> = { step: s, lr, train_loss: fin(g.loss), train_acc: final.train_acc, grad_norm: fin(gn) };
    const diverged = !Number.isFinite(g.loss) || !Number.isFinite(gn) ? `non-finite loss or gradient at step ${s}`
      : g.loss > p.train.divergence_loss ? `train loss ${g.loss.toPrecision(4)} above ${p.train.divergence_loss} at step ${s}` : null;
    const cv = r.curvature;
    const curvStep = cv !== null && !diverged && s <= cv.until && s % cv.every === 0;
    if (curvStep) {
      const P = preconditionerDiagonal('adam', optCfg, state);
      const m = await measureCurvature(obj, theta, { topK: 1, iterations: cv.iters, seed: r.seed * 100003 + s, preconditioner: P });
      row.sharpness = m.sharpness;
      if (m.precond_sharpness !== undefined) row.precond_sharpness = m.precond_sharpness;
      final = { ...final, sharpness: m.sharpness };
    }
    const th = stabilityThreshold(optCfg, lr);
    row.threshold = th.value;
    row.threshold_quantity = th.quantity;
    row.elapsed_s = (performance.now() - t0) / 1000;
    if (s % logEvery === 0 || curvStep || diverged || s === r.steps) store.appendMetrics(row as MetricRow);
    if (diverged) {
      store.finish('diverged', diverged, s, final);
      return;
    }
    if (s >= r.steps) {
      store.finish('completed', null, s, final);
      return;
    }
    opt.step(state, theta, g.grad, lr);
  }
}

function loadRun(name: string, dir: string, params: Record<string, unknown>): StudyRun {
  const store = new RunStore(dir);
  const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const { transformer: _t, note: _n, seed: _s, ...schema } = raw;
  return { name, params, dir, config: resolveConfig(schema), summary: store.readSummary()!, rows: readMetrics(join(dir, 'metrics.jsonl')).rows };
}

async function execute(ctx: StudyContext): Promise<StudyRun[]> {
  const p = plan(ctx);
  const text = readFileSync(resolve(REPO, p.transformer.text), 'utf8');
  const data = charWindows(text, p.transformer.context, { stride: p.transformer.stride, maxWindows: p.transformer.windows });
  ctx.log(`text: ${text.length} characters, vocabulary ${data.vocab.length}, ${data.n} windows of ${data.context}`);
  // One process, one Runtime: the runs are sequential and each uses every core.
  const runtime = new Runtime({ backend: 'ort', threads: os.availableParallelism() });
  const runs: StudyRun[] = [];
  const results: Record<string, MaxLrResult> = {};
  const manifest: Array<{ index: number; name: string; params: Record<string, unknown> }> = [];
  const record = (name: string, params: Record<string, unknown>) => {
    manifest.push({ index: manifest.length, name, params });
    writeJsonAtomic(join(ctx.out, 'sweep.json'), {
      name: ctx.file.name, grid: { norm: p.norms, variant: p.variants, kind: ['trial', 'curve'], 'optimizer.lr': [...new Set(manifest.map((m) => m.params['optimizer.lr']))] }, runs: manifest,
    });
  };
  const m = p.max_lr;
  try {
    for (const norm of p.norms) {
      for (const variant of p.variants) {
        const warmup = warmupOf(variant);
        const cell = `${norm}-ln_${variant}`;
        const target: TrialTarget = { loss: m.stop_train_loss, acc: null, from: warmup };
        const r = await findMaxStableLr({
          lo: m.lo, hi: m.hi, gridFactor: m.grid_factor ?? 2, bisectSteps: m.bisect_steps ?? 1, seeds: m.seeds ?? 1, rule: m.rule ?? 'all', parallel: 1,
          trial: async (lr, seed) => {
            const name = `${cell}_lr-${lr}_seed-${seed}`;
            const dir = join(ctx.out, name);
            record(name, { norm, variant, kind: 'trial', 'optimizer.lr': lr, 'train.seed': seed });
            await trainTransformerRun(runtime, data, p, { norm, warmup, lr, seed, steps: p.train.steps, curvature: null }, dir, m.stop_train_loss);
            return judgeRun(dir, target);
          },
          onTrial: (t) => ctx.log(`${cell}: η ${t.lr} seed ${t.seed}: ${t.stable ? 'stable' : 'unstable'} (${t.reason})`),
        });
        results[cell] = r;
        ctx.log(`${cell}: max stable η ${r.maxStableLr ?? '—'} (bracket ${r.bracket[0] ?? '—'} … ${r.bracket[1] ?? '—'})`);
        for (const t of r.trials) runs.push(loadRun(`${cell}_lr-${t.lr}_seed-${t.seed}`, t.dir!, { norm, variant, kind: 'trial', 'optimizer.lr': t.lr, 'train.seed': t.seed, stable: t.stable }));
        // The common-η run with dense early curvature.
        const cv = p.curves;
        const name = `${cell}_curve`;
        const params = { norm, variant, kind: 'curve', 'optimizer.lr': cv.lr, 'train.seed': 0 };
        record(name, params);
        await trainTransformerRun(runtime, data, p, { norm, warmup, lr: cv.lr, seed: 0, steps: cv.steps, curvature: { every: cv.every, until: cv.until, iters: cv.lanczos_iters ?? 10 } }, join(ctx.out, name), null);
        runs.push(loadRun(name, join(ctx.out, name), params));
        ctx.log(`${name}: ${runs[runs.length - 1]!.summary.status}`);
      }
    }
  } finally {
    await runtime.dispose();
  }
  writeJsonAtomic(join(ctx.out, 'max-lr.json'), { study: ctx.file.name, quick: ctx.quick, vocab: data.vocab.join(''), windows: data.n, results });
  return runs;
}

const g = (v: number | null | undefined) => (typeof v === 'number' ? String(Number(v.toPrecision(3))) : '—');

async function evaluate(runs: StudyRun[], ctx: StudyContext): Promise<ClaimResult[]> {
  const p = plan(ctx);
  const t = ctx.tolerances;
  const m = p.max_lr;
  const seeds = m.seeds ?? 1;
  const need = (m.rule ?? 'all') === 'all' ? seeds : Math.floor(seeds / 2) + 1;
  // Max stable η per cell, recomputed from the trial runs.
  const maxLr = (norm: string, variant: string): { best: number | null; upper: number | null } => {
    const mine = runs.filter((r) => r.params.kind === 'trial' && r.params.norm === norm && r.params.variant === variant);
    const by = new Map<number, boolean[]>();
    for (const r of mine) {
      const j = judgeRun(r.dir, { loss: m.stop_train_loss, acc: null, from: warmupOf(variant) });
      by.set(r.params['optimizer.lr'] as number, [...(by.get(r.params['optimizer.lr'] as number) ?? []), j.stable]);
    }
    const v = [...by].map(([lr, s]) => ({ lr, stable: s.filter(Boolean).length >= need, decided: s.filter(Boolean).length >= need || s.filter((x) => !x).length > seeds - need }));
    const ok = v.filter((x) => x.stable).map((x) => x.lr);
    const best = ok.length > 0 ? Math.max(...ok) : null;
    const bad = v.filter((x) => x.decided && !x.stable && (best === null || x.lr > best)).map((x) => x.lr);
    return { best, upper: bad.length > 0 ? Math.min(...bad) : null };
  };
  const early = (norm: string, variant: string): { ratio: number | null; status: string } => {
    const r = runs.find((x) => x.params.kind === 'curve' && x.params.norm === norm && x.params.variant === variant);
    if (!r) return { ratio: null, status: 'missing' };
    const pts = r.rows.filter((x) => x.step <= p.curves.until && typeof x.precond_sharpness === 'number' && typeof x.threshold === 'number');
    return { ratio: pts.length > 0 ? Math.max(...pts.map((x) => (x.precond_sharpness as number) / (x.threshold as number))) : null, status: r.summary.status };
  };
  const base = p.variants.find((v) => warmupOf(v) === 0);
  const warm = p.variants.find((v) => warmupOf(v) > 0);
  if (!base || !warm) throw new Error('adam-warmup: grid.variant needs none and a warmup-N');
  const gain = t.min_lr_gain ?? 1.5;
  const margin = t.early_ratio_margin ?? 0;
  const pre0 = maxLr('pre', base);
  const preW = maxLr('pre', warm);
  const post0 = maxLr('post', base);
  const postW = maxLr('post', warm);
  const ePre = early('pre', base);
  const ePost = early('post', base);
  const values = {
    pre_none_max_lr: pre0.best, pre_warmup_max_lr: preW.best, post_none_max_lr: post0.best, post_warmup_max_lr: postW.best,
    pre_early_precond_ratio: ePre.ratio, post_early_precond_ratio: ePost.ratio,
  };
  const table = `| LN | ${base} | ${warm} |\n|---|---|---|\n| pre | ${g(pre0.best)} (next ${g(pre0.upper)}) | ${g(preW.best)} (next ${g(preW.upper)}) |\n| post | ${g(post0.best)} (next ${g(post0.upper)}) | ${g(postW.best)} (next ${g(postW.upper)}) |`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(ctx.out, 'max-lr.md'), `${table}\n`);
  const ratioOk = ePre.ratio !== null && ePost.ratio !== null ? ePost.ratio > (1 + margin) * ePre.ratio : null;
  const raised = (w: { best: number | null; upper: number | null }, b: { best: number | null; upper: number | null }): boolean | null => {
    if (w.best === null || b.best === null) return w.best === null && b.best === null ? null : b.best === null;
    return w.best >= gain * b.best && (b.upper === null || w.best >= b.upper);
  };
  const postNeeds = raised(postW, post0);
  const preNeeds = raised(preW, pre0);
  return [
    {
      claim: 'Post-LN has the larger early preconditioned sharpness λ1(P⁻¹H), relative to Adam\'s threshold (2+2β1)/((1−β1)η).',
      evidence: `At η = ${g(p.curves.lr)} without warmup, max over the first ${p.curves.until} steps of λ1(P⁻¹H)/threshold: post-LN ${g(ePost.ratio)}${ePost.status === 'diverged' ? ' (diverged)' : ''}, pre-LN ${g(ePre.ratio)}${ePre.status === 'diverged' ? ' (diverged)' : ''}. Held when post > ${1 + margin} × pre.`,
      verdict: allOf([ratioOk]), values,
    },
    {
      claim: 'Post-LN needs warmup: warmup raises its largest stable learning rate.',
      evidence: `post-LN max stable η ${g(post0.best)} (${base}, next unstable ${g(post0.upper)}) vs ${g(postW.best)} (${warm}). Raised = ≥ ${gain} × and above the next unstable η. Stable: train loss ≤ ${m.stop_train_loss} after warmup, no divergence within ${p.train.steps} steps.`,
      verdict: allOf([postNeeds]), values,
    },
    {
      claim: 'Pre-LN does not need warmup: its largest stable learning rate without warmup is about the same as with it.',
      evidence: `pre-LN max stable η ${g(pre0.best)} (${base}) vs ${g(preW.best)} (${warm}); post-LN without warmup ${g(post0.best)}. Held when warmup does not raise pre-LN's by ${gain} ×.`,
      verdict: preNeeds === null ? 'inconclusive' : preNeeds ? 'did not hold' : 'held', values,
    },
  ];
}

export const adamWarmupStudy: StudyDefinition = {
  name: 'adam-warmup', execute, evaluate,
  figures: (runs, ctx) => [earlyRatioFigure(runs, plan(ctx).curves.until, { title: 'Early preconditioned sharpness relative to Adam\'s threshold' })].filter((f) => f !== null),
};
export default adamWarmupStudy;
