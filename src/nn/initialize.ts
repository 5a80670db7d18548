/**
 * One entry point for every `model.init.scheme`: the fixed-distribution schemes and Fixup need
 * only an Rng; MetaInit and GradInit additionally need a runtime, the loss and one minibatch,
 * and start from the seeded draw of `model.init.base`.
 */
import type { Runtime } from '../engine/backend.ts';
import type { Rng } from '../util/random.ts';
import { gradInit, type GradInitOptions, type GradInitResult } from './gradinit.ts';
import type { Mode } from './layers.ts';
import type { LossName } from './losses.ts';
import { metaInit, type MetaInitOptions, type MetaInitResult } from './metainit.ts';
import type { Model } from './model.ts';
import type { InitBatch } from './scaled.ts';

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
}

export interface Initialization {
  readonly params: Float64Array;
  readonly buffers: Float64Array;
  /** The learned-initialization report (metainit / gradinit only). */
  readonly metainit?: MetaInitResult;
  readonly gradinit?: GradInitResult;
}

/** Initializes a model by its config's scheme (async because metainit/gradinit run graphs). */
export async function initializeModel(model: Model, opts: InitializeOptions): Promise<Initialization> {
  const { params, buffers } = model.init(opts.rng);
  const scheme = model.config.init.scheme;
  if (scheme !== 'metainit' && scheme !== 'gradinit') return { params, buffers };
  const { runtime, loss, batch } = opts;
  if (!runtime || !loss || !batch) throw new Error(`model.init.scheme ${scheme} needs a runtime, the loss and a minibatch`);
  const setup = { runtime, model, loss, batch, mode: opts.mode ?? 'train', buffers, dropoutMasks: opts.dropoutMasks };
  if (scheme === 'metainit') {
    const r = await metaInit(setup, params, opts.metainit);
    return { params: r.params, buffers, metainit: r };
  }
  const r = await gradInit(setup, params, opts.gradinit);
  return { params: r.params, buffers, gradinit: r };
}
