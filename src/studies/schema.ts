/**
 * The schema of study files (studies/NAME.yaml): the common keys every study has, plus each
 * study's own sections (e.g. `max_lr:`, `curves:`) and the names of the tolerances its evaluator
 * reads. Every object is strict: an unknown key, in the file or in `quick:`, `tolerances:` or
 * `quick_tolerances:`, is an error naming the file and the dotted key. The run configs inside
 * (`base`, `models`, grid values) are checked by the config schema when the runs are planned.
 */
import { z } from 'zod';
import { STUDY_TOLERANCES, type StudyName } from './tolerances.ts';

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

/** A sub-sweep of a study; its runs are named `<name>_<grid values>`. */
const variant = z.strictObject({
  name: z.string({ error: 'must be a string' }),
  base: mapping().optional(),
  grid: grid(),
});
export type StudyVariant = z.infer<typeof variant>;

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
  per_seed: z.boolean({ error: 'must be true or false' }).optional(),
});
const maxLrPartial = maxLrSectionSchema.partial();

/** `curves:` of the max-lr studies: one run per model × remedy at a common η with dense early curvature. */
const curvesSchema = z.strictObject({
  lr: z
    .union([positive(), z.record(z.string(), positive())], {
      error: 'must be a number > 0 or a mapping of model names to numbers',
    })
    .optional(),
  lr_fraction: z
    .number({ error: 'must be a number in (0, 1]' })
    .gt(0, { error: 'must be a number in (0, 1]' })
    .lte(1, { error: 'must be a number in (0, 1]' })
    .optional(),
  shared: z.boolean({ error: 'must be true or false' }).optional(),
  steps: int(1),
  early_every: int(1).optional(),
  early_steps: int(0).optional(),
  every: int(0).optional(),
  lanczos_iters: int(1).optional(),
  samples: z.union([z.literal('all'), int(1)], { error: 'must be "all" or an integer >= 1' }).optional(),
  seeds: int(1).optional(),
  first_seed: int(0).optional(),
  align: z
    .enum(['after_longer_warmup', 'at_full_lr'], { error: 'must be after_longer_warmup or at_full_lr' })
    .optional(),
  cells: z.enum(['all', 'compared'], { error: 'must be all or compared' }).optional(),
});

/** `follow_up:` — follow-up cells on fresh seeds (src/studies/followUp.ts). */
export const followUpSchema = z.strictObject({
  /** What the first look left undecided, and how the seed count was chosen (shown on the results page). */
  reason: z.string({ error: 'must be a string' }),
  /** The cells to run again (a sub-grid of the study's keys) with fresh seeds under `train.seed`. */
  grid: grid(),
  /** The test level of the follow-up (≤ 0.025 so that the two looks stay within 5 % together). */
  alpha: z
    .number({ error: 'must be a number in (0, 0.025]' })
    .gt(0, { error: 'must be a number in (0, 0.025]' })
    .lte(0.025, { error: 'must be a number in (0, 0.025]' }),
});
export type FollowUp = z.infer<typeof followUpSchema>;

/** flatness-lr's and sgd-batch's `settle:` (λ1 after GD at lr_multiple·2/λ0 for `steps` updates from the final checkpoint). */
const settleSchema = z.strictObject({ lr_multiple: positive().optional(), steps: int(0).optional() });

/** sgd-batch's `sgd:` (η scaling with the batch size; curvature at least every measure_every updates). */
const sgdSchema = z.strictObject({
  lr_scaling: z.enum(['linear', 'none'], { error: 'must be linear or none' }).optional(),
  measure_every: int(1).optional(),
});

/** What a study adds to the common keys. */
export interface StudyFileSpec {
  /** Extra top-level sections. */
  readonly sections?: z.ZodRawShape;
  /** Extra keys of `quick:` (reductions of those sections). */
  readonly quick?: z.ZodRawShape;
  /** The tolerance names its evaluator reads (both `tolerances:` and `quick_tolerances:`; src/studies/tolerances.ts). */
  readonly tolerances: readonly string[];
}

const maxLrStudy = (tolerances: readonly string[]): StudyFileSpec => ({
  sections: {
    models: z.record(z.string(), mapping()).optional(),
    max_lr: maxLrSectionSchema,
    max_lr_models: z.record(z.string(), maxLrPartial).optional(),
    curves: curvesSchema.optional(),
    follow_up: followUpSchema.optional(),
  },
  quick: {
    models: z.record(z.string(), mapping()).optional(),
    max_lr: maxLrPartial.optional(),
    max_lr_models: z.record(z.string(), maxLrPartial).optional(),
    curves: curvesSchema.partial().optional(),
  },
  tolerances,
});

/** The shipped studies' specs, by name; each study's tolerance names are its evaluator's (tolerances.ts). */
const SPECS = {
  'adam-clipped': {
    sections: { settle: settleSchema.optional() },
    quick: { settle: settleSchema.optional() },
    tolerances: STUDY_TOLERANCES['adam-clipped'],
  },
  'adam-warmup': maxLrStudy(STUDY_TOLERANCES['adam-warmup']),
  catapult: {
    sections: { max_lr: maxLrSectionSchema },
    quick: { max_lr: maxLrPartial.optional() },
    tolerances: STUDY_TOLERANCES.catapult,
  },
  'depth-rotation': { tolerances: STUDY_TOLERANCES['depth-rotation'] },
  'eos-adam': { tolerances: STUDY_TOLERANCES['eos-adam'] },
  'eos-gd': { tolerances: STUDY_TOLERANCES['eos-gd'] },
  'flatness-lr': {
    sections: { settle: settleSchema.optional(), follow_up: followUpSchema.optional() },
    quick: { settle: settleSchema.optional() },
    tolerances: STUDY_TOLERANCES['flatness-lr'],
  },
  interventions: maxLrStudy(STUDY_TOLERANCES.interventions),
  'interventions-resnet': maxLrStudy(STUDY_TOLERANCES['interventions-resnet']),
  rotation: { sections: { follow_up: followUpSchema.optional() }, tolerances: STUDY_TOLERANCES.rotation },
  'sgd-batch': {
    sections: { sgd: sgdSchema.optional(), settle: settleSchema.optional(), follow_up: followUpSchema.optional() },
    quick: { sgd: sgdSchema.optional(), settle: settleSchema.optional() },
    tolerances: STUDY_TOLERANCES['sgd-batch'],
  },
  'toy-depth': { tolerances: STUDY_TOLERANCES['toy-depth'] },
  warmup: maxLrStudy(STUDY_TOLERANCES.warmup),
  'warmup-resnet': maxLrStudy(STUDY_TOLERANCES['warmup-resnet']),
} satisfies Record<StudyName, StudyFileSpec>;

/** The shipped studies' specs, by name. */
export const STUDY_FILE_SPECS: Readonly<Record<string, StudyFileSpec>> = SPECS;

/** The keys of `quick:` that every study has. */
const quickShape = {
  base: mapping().optional(),
  grid: grid().optional(),
  variants: z.array(variant).optional(),
};

/** The keys every study file has (`tolerances:` of any names; a study's spec narrows them). */
const commonShape = {
  title: z.string({ error: 'must be a string' }),
  description: z.string({ error: 'must be a string' }).optional(),
  /** Minutes on this project's 2-core machines, for the full and the quick version. */
  expected_minutes: z.strictObject({ full: positive(), quick: positive() }),
  base: mapping(),
  grid: grid(),
  /**
   * Further sub-sweeps run along with base × grid (e.g. cross-entropy at its own learning rates):
   * each merges its `base` over the study's (quick-reduced) base and expands its own `grid`.
   */
  variants: z.array(variant, { error: 'must be a list of variants' }).optional(),
  /**
   * Replacements for --quick: `base` keys are merged over base, `grid` keys replace grid entries,
   * `variants` (if given) replaces the variant list.
   */
  quick: z.strictObject(quickShape).optional(),
  /** Tolerances the claims are judged with (study-specific names). */
  tolerances: z.record(z.string(), finite()),
  /** Tolerances used instead under --quick. */
  quick_tolerances: z.record(z.string(), finite()).optional(),
};

/** The common part of a parsed study file (study.ts's StudyFile adds `name`; a study's sections ride along untyped). */
export type StudyFileCommon = z.infer<typeof commonSchema>;
const commonSchema = z.strictObject(commonShape);

/** The schema of a study file with `spec` (no spec: the common keys, any tolerance names). */
export function studyFileSchema(spec: StudyFileSpec | undefined) {
  if (!spec) return commonSchema;
  const tol = z.strictObject(Object.fromEntries(spec.tolerances.map((k) => [k, finite().optional()])));
  return z.strictObject({
    ...commonShape,
    quick: z.strictObject({ ...quickShape, ...(spec.quick ?? {}) }).optional(),
    tolerances: tol,
    quick_tolerances: tol.optional(),
    ...(spec.sections ?? {}),
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
