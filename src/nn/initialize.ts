/**
 * One entry point for every `model.init.scheme`: the fixed-distribution schemes and Fixup need
 * only an Rng; MetaInit and GradInit additionally need a runtime, the loss and one minibatch,
 * and start from the seeded draw of `model.init.base`.
 *
 * MetaInit draws a fresh batch per step as in its paper (Gaussian inputs, random targets;
 * `noiseBatches`), from the same Rng after the base draw, so the whole procedure is reproducible
 * from the seed. GradInit's look-ahead is the first step of the run's own optimizer at its η
 * (`lookaheadFor`), when the caller gives it.
 */
import type { Runtime } from '../engine/backend.ts';
import { fixupBranchScale } from './init.ts';
import { size } from '../engine/ir.ts';
import type { Rng } from '../util/random.ts';
import { gradInit, lookaheadFor, type GradInitOptions, type GradInitResult, type TrainOptimizer } from './gradinit.ts';
import type { Mode } from './layers.ts';
import type { LossName } from './losses.ts';
import { metaInit, type MetaInitOptions, type MetaInitResult } from './metainit.ts';
import type { Model } from './model.ts';
import { batchSizeOf, type InitBatch } from './scaled.ts';

export interface InitializeOptions {
  readonly rng: Rng;
  /** Needed by metainit / gradinit. */
  readonly runtime?: Runtime;
  readonly loss?: LossName;
  readonly batch?: InitBatch;
  /** Network mode during metainit / gradinit (default 'train'). */
  readonly mode?: Mode;
  readonly dropoutMasks?: Record<string, Float64Array>;
  readonly metainit?: MetaInitOptions;
  readonly gradinit?: GradInitOptions;
  /** The optimizer the run trains with: GradInit's look-ahead takes its first step (else SGD at η = 0.1). */
  readonly optimizer?: TrainOptimizer;
}

export interface Initialization {
  readonly params: Float64Array;
  readonly buffers: Float64Array;
  /** The learned-initialization report (metainit / gradinit only). */
  readonly metainit?: MetaInitResult;
  readonly gradinit?: GradInitResult;
}

/** True when every row of y [B, k] is one-hot (classification targets). */
function oneHotRows(y: ArrayLike<number>, k: number): boolean {
  for (let r = 0; r * k < y.length; r++) {
    let ones = 0;
    for (let j = 0; j < k; j++) {
      const v = y[r * k + j]!;
      if (v === 1) ones++;
      else if (v !== 0) return false;
    }
    if (ones !== 1) return false;
  }
  return true;
}

/**
 * MetaInit's data-free batches (the paper's code): B inputs with N(0, 1) entries and targets like
 * `like`'s — uniformly random one-hot rows when those are one-hot, else N(0, 1) — a fresh batch
 * per call, drawn from rng. B and the shapes are those of `like`.
 */
export function noiseBatches(model: Model, like: InitBatch, rng: Rng): () => InitBatch {
  const b = batchSizeOf(model, like);
  const k = model.outputDim;
  const classes = oneHotRows(like.y, k);
  return () => {
    const x = new Float64Array(b * size(model.inputShape));
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const y = new Float64Array(b * k);
    for (let r = 0; r < b; r++) {
      if (classes) y[r * k + Math.min(k - 1, Math.floor(rng.uniform() * k))] = 1;
      else for (let j = 0; j < k; j++) y[r * k + j] = rng.normal();
    }
    return { x, y };
  };
}

/** Initializes a model by its config's scheme (async because metainit/gradinit run graphs). */
export async function initializeModel(model: Model, opts: InitializeOptions): Promise<Initialization> {
  const { params, buffers } = model.init(opts.rng);
  const scheme = model.config.init.scheme;
  if (scheme !== 'metainit' && scheme !== 'gradinit') return { params, buffers };
  const { runtime, loss, batch } = opts;
  if (!runtime || !loss || !batch)
    throw new Error(`model.init.scheme ${scheme} needs a runtime, the loss and a minibatch`);
  const setup = { runtime, model, loss, batch, mode: opts.mode ?? 'train', buffers, dropoutMasks: opts.dropoutMasks };
  if (scheme === 'metainit') {
    if (model.inputDtype === 'int64')
      throw new Error('metainit draws Gaussian inputs; it does not apply to token inputs');
    const next = noiseBatches(model, batch, opts.rng);
    const r = await metaInit(setup, params, { batchAt: () => next(), ...opts.metainit });
    return { params: r.params, buffers, metainit: r };
  }
  const look = opts.optimizer ? lookaheadFor(opts.optimizer) : {};
  const r = await gradInit(setup, params, { ...look, ...opts.gradinit });
  return { params: r.params, buffers, gradinit: r };
}

/**
 * What a learned initializer chose, as plain JSON (the run's init.json); for Fixup its branch
 * multiplier L^(−1/(2m−2)) and the η multiplier of its scalar parameters; null for fixed schemes.
 */
export function initReport(model: Model, init: Initialization): Record<string, unknown> | null {
  const cfg = model.config.init;
  if (cfg.scheme === 'fixup') {
    const { branches, layersPerBranch } = model.residual;
    return {
      scheme: 'fixup',
      branches,
      layers_per_branch: layersPerBranch,
      branch_scale: fixupBranchScale(branches, layersPerBranch),
      lr_scale: cfg.fixup_lr_scale,
    };
  }
  const base = { scheme: cfg.scheme, base: cfg.base };
  if (init.metainit) {
    const m = init.metainit;
    return { ...base, initial_gq: m.initialGQ, gq: m.gq, scales: m.scales, history: m.history };
  }
  if (init.gradinit) {
    const g = init.gradinit;
    return { ...base, feasible: g.feasible, alpha: g.scales, initial: g.initial, chosen: g.chosen, history: g.history };
  }
  return null;
}
