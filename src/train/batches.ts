/**
 * Seeded minibatch sampling for SGD (`optimizer.batch_size`).
 *
 * Training runs in epochs; epoch e visits the samples in a permutation drawn from its own
 * generator, seeded by a hash of (seed, e). So the batch of any step t is a pure function of
 * (n, batch_size, drop_last, seed, t): a resumed run draws exactly the batches the uninterrupted
 * run would have, with no replay of earlier epochs.
 *
 * Step t lies in epoch e = ⌊t / B⌋ (B = batches per epoch) and is batch k = t mod B of it:
 * positions [k·bs, (k+1)·bs) of the epoch's permutation.
 *  - keep-last (default, drop_last = false, like PyTorch's DataLoader): B = ⌈n/bs⌉; the last
 *    batch of an epoch has n mod bs samples when bs does not divide n, and every sample is used
 *    exactly once per epoch.
 *  - drop_last = true: B = ⌊n/bs⌋; all batches have bs samples (constant gradient-noise scale),
 *    and the n mod bs samples at the end of each epoch's permutation are skipped that epoch
 *    (different ones each epoch).
 * batch_size 'full' gives every step the indices 0..n−1 in order (full-batch GD; no shuffling,
 * since the order does not change a mean gradient).
 */

import { createRng, permutation } from '../util/random.ts';

/** Sampler settings: dataset size, batch size and the seed of the sampling stream. */
export interface BatchSamplerConfig {
  /** Number of training samples (integer >= 1). */
  n: number;
  /** 'full' or a batch size in 1..n. */
  batch_size: 'full' | number;
  /** Seed of the sampling stream (any finite number). */
  seed: number;
  /** Skip the incomplete last batch of each epoch. Default false (keep it). */
  drop_last?: boolean;
}

/** Deterministic batches: `batch(t)` depends only on the config and t. */
export interface BatchSampler {
  readonly n: number;
  /** Samples per (full) batch; n for 'full'. */
  readonly batchSize: number;
  /** Batches per epoch B. */
  readonly batchesPerEpoch: number;
  readonly dropLast: boolean;
  /** True for batch_size 'full'. */
  readonly full: boolean;
  /** Sample indices (into 0..n−1) of the batch used by update `step` (0-based); a fresh array. */
  batch(step: number): Int32Array;
  /** Epoch that update `step` belongs to. */
  epochOf(step: number): number;
}

// murmur3's 32-bit finalizer: a bijection on uint32 with full avalanche.
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// Tag that separates the sampler's stream from other uses of createRng(seed) (e.g. init).
const SAMPLER_TAG = 0x5a3d1b27;

/**
 * Permutation of 0..n−1 used by epoch `epoch` (integer in [0, 2^32)) for `seed`. Distinct
 * epochs of one seed get distinct generator seeds (a composition of bijections of the epoch).
 */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) {
    throw new Error(`epoch must be an integer in [0, 2^32), got ${epoch}`);
  }
  const base = createRng(seed);
  const k1 = fmix32((base.nextUint32() ^ SAMPLER_TAG) >>> 0);
  const k2 = base.nextUint32();
  const key = fmix32((k1 ^ fmix32((epoch + k2) >>> 0)) >>> 0);
  return permutation(createRng(key), n);
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`step must be an integer >= 0, got ${step}`);
}

/** Builds a sampler; it caches the current epoch's permutation (results never depend on it). */
export function createBatchSampler(config: BatchSamplerConfig): BatchSampler {
  const { n, seed } = config;
  if (!Number.isInteger(n) || n < 1) throw new Error(`number of samples must be an integer >= 1, got ${n}`);
  if (!Number.isFinite(seed)) throw new Error(`sampler seed must be a finite number, got ${seed}`);
  const dropLast = config.drop_last ?? false;
  const full = config.batch_size === 'full';
  let bs: number;
  if (config.batch_size === 'full') {
    bs = n;
  } else {
    bs = config.batch_size;
    if (typeof bs !== 'number' || !Number.isInteger(bs) || bs < 1) {
      throw new Error(
        `optimizer.batch_size must be 'full' or an integer >= 1, got ${JSON.stringify(config.batch_size)}`,
      );
    }
    if (bs > n) throw new Error(`optimizer.batch_size (${bs}) exceeds the number of training samples (${n})`);
  }
  const perEpoch = full ? 1 : dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);

  let cachedEpoch = -1;
  let cachedPerm: Int32Array = new Int32Array(0);
  const permFor = (e: number): Int32Array => {
    if (e !== cachedEpoch) {
      cachedPerm = epochPermutation(n, seed, e);
      cachedEpoch = e;
    }
    return cachedPerm;
  };

  return Object.freeze({
    n,
    batchSize: bs,
    batchesPerEpoch: perEpoch,
    dropLast,
    full,
    epochOf(step: number): number {
      checkStep(step);
      return Math.floor(step / perEpoch);
    },
    batch(step: number): Int32Array {
      checkStep(step);
      if (full) {
        const all = new Int32Array(n);
        for (let i = 0; i < n; i++) all[i] = i;
        return all;
      }
      const e = Math.floor(step / perEpoch);
      const k = step - e * perEpoch;
      const start = k * bs;
      return permFor(e).slice(start, Math.min(start + bs, n));
    },
  });
}
