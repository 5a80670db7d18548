/**
 * The schema of study files (studies/NAME.yaml): the common keys every study has, plus each
 * study's own sections (e.g. `max_lr:`, `curves:`) and the names of the tolerances its evaluator
 * reads. Every object is strict: an unknown key, in the file or in `quick:`, `tolerances:` or
 * `quick_tolerances:`, is an error naming the file and the dotted key. The run configs inside
 * (`base`, `models`, grid values) are checked by the config schema when the runs are planned.
 */
import { z } from 'zod';

/** A study file that does not match its schema; the message is one line naming the file and key. */
export class StudyFileError extends Error {
  override readonly name = 'StudyFileError';
}

const finite = () => z.number({ error: 'must be a number' });
const positive = () => z.number({ error: 'must be a number > 0' }).gt(0, { error: 'must be a number > 0' });
const int = (min: number) =>
  z.int({ error: `must be an integer >= ${min}` }).min(min, { error: `must be an integer >= ${min}` });
const mapping = () => z.record(z.string(), z.unknown(), { error: 'must be a mapping' });
const grid = () =>
  z.record(z.string(), z.array(z.unknown(), { error: 'must be a list of values' }), {
    error: 'must be a mapping of keys to lists',
  });
const nullableNumber = () => z.number({ error: 'must be null or a number' }).nullable();

const variant = z.strictObject({
  name: z.string({ error: 'must be a string' }),
  base: mapping().optional(),
  grid: grid(),
});

/** `max_lr:` — the max-lr experiment's settings (src/experiments/maxLr.ts, MaxLrSettings). */
export const maxLrSectionSchema = z.strictObject({
  lo: positive(),
  hi: positive(),
  grid_factor: z.number({ error: 'must be a number > 1' }).gt(1, { error: 'must be a number > 1' }).optional(),
  bisect_steps: int(0).optional(),
  seeds: int(1).optional(),
  rule: z.enum(['all', 'majority'], { error: 'must be all or majority' }).optional(),
  stop_train_loss: nullableNumber().optional(),
  stop_train_acc: nullableNumber().optional(),
  full_budget: z.boolean({ error: 'must be true or false' }).optional(),
  curvature: z.boolean({ error: 'must be true or false' }).optional(),
  spike: positive().optional(),
  full_grid: z.boolean({ error: 'must be true or false' }).optional(),
});
const maxLrPartial = maxLrSectionSchema.partial();

/** `curves:` of the max-lr studies: one run per model × remedy at a common η with dense early curvature. */
const curvesSchema = z.strictObject({
  lr: z.union([positive(), z.record(z.string(), positive())], {
    error: 'must be a number > 0 or a mapping of model names to numbers',
  }),
  steps: int(1),
  early_every: int(1).optional(),
  early_steps: int(0).optional(),
  every: int(0).optional(),
  lanczos_iters: int(1).optional(),
  samples: z.union([z.literal('all'), int(1)], { error: 'must be "all" or an integer >= 1' }).optional(),
});

/** flatness-lr's `settle:` (λ1 after GD at lr_multiple·2/λ0 for `steps` updates from the final checkpoint). */
const settleSchema = z.strictObject({ lr_multiple: positive().optional(), steps: int(0).optional() });

/** What a study adds to the common keys. */
export interface StudyFileSpec {
  /** Extra top-level sections. */
  readonly sections?: z.ZodRawShape;
  /** Extra keys of `quick:` (reductions of those sections). */
  readonly quick?: z.ZodRawShape;
  /** The tolerance names its evaluator reads (both `tolerances:` and `quick_tolerances:`). */
  readonly tolerances: readonly string[];
}

const maxLrStudy = (tolerances: readonly string[]): StudyFileSpec => ({
  sections: {
    models: z.record(z.string(), mapping()).optional(),
    max_lr: maxLrSectionSchema,
    max_lr_models: z.record(z.string(), maxLrPartial).optional(),
    curves: curvesSchema.optional(),
  },
  quick: {
    models: z.record(z.string(), mapping()).optional(),
    max_lr: maxLrPartial.optional(),
    max_lr_models: z.record(z.string(), maxLrPartial).optional(),
    curves: curvesSchema.partial().optional(),
  },
  tolerances,
});

/** The shipped studies' specs, by name. */
export const STUDY_FILE_SPECS: Readonly<Record<string, StudyFileSpec>> = {
  'adam-clipped': { tolerances: ['spike_rel', 'acc_tie'] },
  'adam-warmup': maxLrStudy(['min_lr_gain', 'early_ratio_margin']),
  catapult: {
    sections: { max_lr: maxLrSectionSchema },
    quick: { max_lr: maxLrPartial.optional() },
    tolerances: ['spike_factor', 'spike_window', 'no_spike', 'final_ratio'],
  },
  'eos-adam': {
    tolerances: ['reach_fraction', 'ratio_lo', 'ratio_hi', 'ratio_iqr_max', 'min_hover_points', 'raw_ratio_max'],
  },
  'eos-gd': {
    tolerances: [
      'reach_fraction',
      'ratio_lo',
      'ratio_hi',
      'ratio_iqr_max',
      'min_hover_points',
      'sharpening_min_rise',
      'min_loss_increases',
      'loss_window',
      'window_fall_min',
      'ce_saturation_acc',
    ],
  },
  'flatness-lr': {
    sections: { settle: settleSchema.optional() },
    quick: { settle: settleSchema.optional() },
    tolerances: [
      'ratio_lo',
      'ratio_hi',
      'spearman_min',
      'acc_gain_min',
      'corr_min',
      'acc_below_multiple',
      'acc_above_multiple',
    ],
  },
  interventions: maxLrStudy(['min_lr_gain', 'early_ratio_drop', 'as_effective_factor']),
  rotation: {
    tolerances: [
      'rho_stable_q05',
      'rho_drop',
      'spike_rel',
      'coincidence_window',
      'coincidence_min',
      'spearman_min',
      'gap_min',
      'p_max',
    ],
  },
  'sgd-batch': {
    sections: {
      sgd: z
        .strictObject({
          epochs: int(1).optional(),
          lr_scaling: z.enum(['linear', 'sqrt', 'none'], { error: 'must be linear, sqrt or none' }).optional(),
        })
        .optional(),
    },
    quick: {
      sgd: z
        .strictObject({
          epochs: int(1).optional(),
          lr_scaling: z.enum(['linear', 'sqrt', 'none'], { error: 'must be linear, sqrt or none' }).optional(),
        })
        .optional(),
    },
    tolerances: ['flatter_min'],
  },
  'toy-depth': {
    tolerances: ['fixed_rho_min', 'stable_rho_min', 'converge_loss', 'rotation_min_deg', 'unstable_rotation_share'],
  },
  warmup: maxLrStudy(['min_lr_gain', 'early_ratio_drop']),
};

/** The schema of a study file with `spec` (no spec: the common keys, any tolerance names). */
export function studyFileSchema(spec: StudyFileSpec | undefined) {
  const tol = spec
    ? z.strictObject(Object.fromEntries(spec.tolerances.map((k) => [k, finite().optional()])))
    : z.record(z.string(), finite());
  return z.strictObject({
    title: z.string({ error: 'must be a string' }),
    description: z.string({ error: 'must be a string' }).optional(),
    expected_minutes: z.strictObject({ full: positive(), quick: positive() }),
    base: mapping(),
    grid: grid(),
    variants: z.array(variant, { error: 'must be a list of variants' }).optional(),
    quick: z
      .strictObject({
        base: mapping().optional(),
        grid: grid().optional(),
        variants: z.array(variant).optional(),
        ...(spec?.quick ?? {}),
      })
      .optional(),
    tolerances: tol,
    quick_tolerances: tol.optional(),
    ...(spec?.sections ?? {}),
  });
}

/**
 * Checks a parsed study file against its study's schema; returns it with `name` set. Throws a
 * StudyFileError `FILE: unknown key 'a.b' (allowed: …)` or `FILE: a.b: <problem>`.
 */
export function parseStudyFile<T>(
  raw: unknown,
  file: string,
  name: string,
  spec: StudyFileSpec | undefined = STUDY_FILE_SPECS[name],
): T {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new StudyFileError(`${file}: must be a mapping of keys to values`);
  const r = studyFileSchema(spec).safeParse(raw);
  if (!r.success) {
    const iss = r.error.issues[0]!;
    const at = iss.path.map(String);
    if (iss.code === 'unrecognized_keys') {
      const key = [...at, iss.keys[0]!].join('.');
      throw new StudyFileError(
        `${file}: unknown key '${key}'${
          iss.keys.length > 1
            ? ` (and ${iss.keys
                .slice(1)
                .map((k) => `'${k}'`)
                .join(', ')})`
            : ''
        }`,
      );
    }
    const missing = iss.code === 'invalid_type' && iss.input === undefined;
    throw new StudyFileError(
      `${file}: ${missing ? `missing '${at.join('.')}'` : `${at.join('.') || '(top level)'}: ${iss.message}`}`,
    );
  }
  return { ...(r.data as Record<string, unknown>), name } as T;
}
