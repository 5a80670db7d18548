/**
 * Learning-rate schedules (the `schedule:` config). Steps are 0-based: `learningRateAt(c, η, t)`
 * is the lr used by the update that takes the parameters from step t to step t + 1.
 *
 * Warmup (W = warmup_steps > 0): η_t = η (t + 1)/W for t < W, so the first update already moves
 * (η/W, not 0) and update W − 1 is the first at the full η. Decay then runs on the shifted step
 * s = t − W (it starts at η when warmup ends, as PyTorch's SequentialLR restarts the second
 * scheduler at the milestone):
 *   constant: η
 *   cosine:   min_lr + (η − min_lr) · ½ (1 + cos(π s / (T − W))) for t < T = total_steps,
 *             then min_lr (so η_T = min_lr exactly and it stays there)
 *   step:     η · gamma^⌊s / step_size⌋
 */

import { assertFinite } from './vector.ts';

/** Allowed `schedule.decay` values. */
export const DECAY_NAMES = ['constant', 'cosine', 'step'] as const;
/** One of DECAY_NAMES. */
export type DecayName = (typeof DECAY_NAMES)[number];

/** The `schedule:` section. */
export interface ScheduleConfig {
  /** Linear-warmup length W in updates (integer >= 0; 0 = none). Default 0. */
  warmup_steps?: number;
  /** Decay after warmup. Default 'constant'. */
  decay?: string;
  /** Cosine: step T at which the lr reaches min_lr (integer > warmup_steps). Required for cosine. */
  total_steps?: number | null;
  /** Cosine: final lr (>= 0). Default 0. */
  min_lr?: number;
  /** Step decay: multiplicative factor (> 0). Default 0.1. */
  gamma?: number;
  /** Step decay: updates between decays (integer >= 1). Required for step. */
  step_size?: number | null;
}

interface ResolvedSchedule {
  warmup: number;
  decay: DecayName;
  total: number;
  minLr: number;
  gamma: number;
  stepSize: number;
}

function nonNegInt(x: unknown, key: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) {
    throw new Error(`schedule.${key} must be an integer >= 0, got ${String(x)}`);
  }
  return x;
}

function resolveSchedule(config: ScheduleConfig): ResolvedSchedule {
  const warmup = nonNegInt(config.warmup_steps ?? 0, 'warmup_steps');
  const decay = config.decay ?? 'constant';
  if (!(DECAY_NAMES as readonly string[]).includes(decay)) {
    throw new Error(`schedule.decay: unknown decay ${JSON.stringify(decay)}; allowed: ${DECAY_NAMES.join(', ')}`);
  }
  const r: ResolvedSchedule = { warmup, decay: decay as DecayName, total: 0, minLr: 0, gamma: 0.1, stepSize: 1 };
  if (r.decay === 'cosine') {
    if (config.total_steps === undefined || config.total_steps === null) {
      throw new Error('schedule.total_steps is required for schedule.decay = cosine');
    }
    r.total = nonNegInt(config.total_steps, 'total_steps');
    if (r.total <= warmup) {
      throw new Error(
        `schedule.total_steps (${r.total}) must exceed schedule.warmup_steps (${warmup}) for cosine decay`,
      );
    }
    r.minLr = config.min_lr ?? 0;
    assertFinite(r.minLr, 'schedule.min_lr', 0);
  } else if (r.decay === 'step') {
    if (config.step_size === undefined || config.step_size === null) {
      throw new Error('schedule.step_size is required for schedule.decay = step');
    }
    r.stepSize = nonNegInt(config.step_size, 'step_size');
    if (r.stepSize < 1) throw new Error('schedule.step_size must be >= 1');
    r.gamma = config.gamma ?? 0.1;
    assertFinite(r.gamma, 'schedule.gamma');
    if (!(r.gamma > 0)) throw new Error(`schedule.gamma must be > 0, got ${r.gamma}`);
  }
  return r;
}

function rateAt(r: ResolvedSchedule, lr: number, t: number): number {
  if (!Number.isInteger(t) || t < 0) throw new Error(`step must be an integer >= 0, got ${t}`);
  if (t < r.warmup) return (lr * (t + 1)) / r.warmup;
  const s = t - r.warmup;
  switch (r.decay) {
    case 'constant':
      return lr;
    case 'cosine':
      if (t >= r.total) return r.minLr;
      return r.minLr + (lr - r.minLr) * 0.5 * (1 + Math.cos((Math.PI * s) / (r.total - r.warmup)));
    case 'step':
      return lr * Math.pow(r.gamma, Math.floor(s / r.stepSize));
  }
}

/** Validates `config` once and returns t ↦ lr for base lr `lr` (t: 0-based update index). */
export function createSchedule(config: ScheduleConfig, lr: number): (step: number) => number {
  assertFinite(lr, 'optimizer.lr', 0);
  const r = resolveSchedule(config);
  return (step: number): number => rateAt(r, lr, step);
}

/** The lr of update `step` (0-based) for base lr `lr` under `config`. */
export function learningRateAt(config: ScheduleConfig, lr: number, step: number): number {
  return createSchedule(config, lr)(step);
}
