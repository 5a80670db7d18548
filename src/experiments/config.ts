/**
 * The run configuration: its zod schema (DESIGN.md's keys, extended), the defaults (the standard
 * edge-of-stability setup, on the embedded MNIST), and `resolveConfig`, which validates a parsed
 * YAML/JSON value, fills every default and reports problems as ONE line naming the dotted key,
 * the bad value and what is allowed.
 *
 * Conventions of the schema:
 * - Every object is strict (unknown keys are errors) and every key has a default, so `{}` resolves.
 * - Nested sections use `prefault({})`: zod 4's `default` would return the default object without
 *   parsing it (so inner defaults would not be filled).
 * - Integers are safe integers; numbers are finite (zod 4 rejects NaN and ±Infinity).
 * - Optional keys are absent, not null, when unset (`data.dir` and the synthetic-data keys, so the
 *   `data:` section can be handed to the data layer's `resolveDataSpec` as is).
 */
import { z } from 'zod';
import { SYNTHETIC_DEFAULTS } from '../data/datasetBytes.ts';
import { DEFAULT_CONTEXT } from '../data/textBytes.ts';
import { DATASET_NAMES, PREPROCESS_KINDS, SUBSET_MODES, TEACHER_KINDS } from '../data/types.ts';
import { OPTIMIZER_NAMES } from '../train/optimizer-config.ts';
import { DECAY_NAMES } from '../train/schedules.ts';
import { BASE_SCHEMES, INIT_SCHEMES } from '../nn/init.ts';

export const ARCH_NAMES = ['mlp', 'cnn', 'resnet', 'deep-linear', 'transformer'] as const;
/** Where a Transformer's LayerNorm sits (model.transformer.ln). */
export const LN_PLACEMENT_NAMES = ['pre', 'post'] as const;
export const ACTIVATION_NAMES = ['tanh', 'relu', 'elu', 'gelu', 'softplus', 'sigmoid', 'identity'] as const;
export const NORM_NAMES = ['none', 'batchnorm', 'layernorm'] as const;
export { INIT_SCHEMES };
/** The fixed-distribution schemes (model.init.base of metainit/gradinit). */
export const BASE_INIT_SCHEMES = BASE_SCHEMES;
export const LOSS_NAMES = ['mse', 'cross-entropy'] as const;
export const BN_MODES = ['train', 'eval'] as const;
export const BACKEND_NAMES = ['ort', 'webgpu', 'reference'] as const;

/** Optimizers whose update divides by √v̂ and therefore need `clip_denominator`. */
const UPPER_BOUNDED = ['adam-ub', 'rmsprop-ub'];
/** Data keys that only synthetic sets read, and the set that reads each. */
const SYNTHETIC_ONLY: Readonly<Record<string, readonly string[]>> = {
  input_dim: ['synthetic-gmm', 'synthetic-regression'],
  num_classes: ['synthetic-gmm'],
  separation: ['synthetic-gmm'],
  num_outputs: ['synthetic-regression'],
  noise: ['synthetic-regression'],
  teacher: ['synthetic-regression'],
  context: ['text-sonnets'],
};

// ---- leaf builders: each carries one "allowed" phrase used for every way the value can be wrong.

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });
const int = (min: number) => {
  const msg = `must be an integer >= ${min}`;
  return z.int({ error: msg }).min(min, { error: msg });
};
const positive = () => z.number({ error: 'must be a number > 0' }).gt(0, { error: 'must be > 0' });
const nonNegative = () => z.number({ error: 'must be a number >= 0' }).min(0, { error: 'must be >= 0' });
const unitInterval = () => {
  const msg = 'must be a number in [0, 1)';
  return z.number({ error: msg }).min(0, { error: msg }).lt(1, { error: msg });
};
const bool = () => z.boolean({ error: 'must be true or false' });
const intList = () => z.array(int(1), { error: 'must be a list of integers >= 1' });
/** 'all' or an integer >= min. */
const allOrInt = (min: number) => {
  const msg = `must be "all" or an integer >= ${min}`;
  return z.union([z.literal('all', { error: msg }), z.int({ error: msg }).min(min, { error: msg })], { error: msg });
};
/** 'full' (the whole training set) or a batch size >= 1. */
const fullOrInt = () => {
  const msg = 'must be "full" or an integer >= 1';
  return z.union([z.literal('full', { error: msg }), z.int({ error: msg }).min(1, { error: msg })], { error: msg });
};
/** null (the feature is off) or a number > 0. */
const nullOrPositive = () => {
  const msg = 'must be null or a number > 0';
  return z.number({ error: msg }).gt(0, { error: msg }).nullable();
};
const strict = <T extends z.core.$ZodLooseShape>(shape: T) => {
  const allowed = Object.keys(shape).join(', ');
  // The formatter turns this into `unknown key "a.b" (allowed: …)`; see issueText.
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? allowed : 'must be a mapping of keys to values'),
  });
};

const dataSchema = strict({
  name: oneOf(DATASET_NAMES).default('mnist'),
  /** Training samples kept ('all' = the whole training split). */
  train_size: allOrInt(1).default(5000),
  /**
   * Test samples kept. DESIGN.md's 10000 is all of Fashion-MNIST's test split; 'all' means the
   * same there and also works for the embedded MNIST, whose test split has 2000 digits.
   */
  test_size: allOrInt(1).default('all'),
  subset: oneOf(SUBSET_MODES).default('first'),
  /** Seed of the stratified subset draw and of synthetic data (fixed across train.seed sweeps). */
  seed: int(0).default(0),
  preprocess: oneOf(PREPROCESS_KINDS).default('standardize'),
  flatten: bool().default(true),
  dir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }).optional(),
  input_dim: int(1).optional(),
  num_classes: int(2).optional(),
  separation: nonNegative().optional(),
  num_outputs: int(1).optional(),
  noise: nonNegative().optional(),
  teacher: oneOf(TEACHER_KINDS).optional(),
  /** text-sonnets: characters per window (the Transformer's context length). */
  context: int(1).optional(),
});

const initSchema = strict({
  scheme: oneOf(INIT_SCHEMES).default('lecun-normal'),
  /** Multiplier on the scheme's standard deviation (Gilmer et al.'s init-scale knob). */
  scale: positive().default(1),
  /** Zero the last layer's weights (output 0 at init). */
  zero_last: bool().default(false),
  /** metainit/gradinit: the draw they start from (absent = he-normal for relu, else lecun-normal). */
  base: oneOf(BASE_INIT_SCHEMES).optional(),
  /** fixup: η multiplier of the biases and scalar multipliers (absent = 0.1: the reference trains them at η/10). */
  fixup_lr_scale: nonNegative().optional(),
});

/** model.transformer (arch transformer): a decoder-only Transformer over data.context tokens (src/nn/transformer.ts). */
const transformerSchema = strict({
  d_model: int(1).default(32),
  heads: int(1).default(2),
  layers: int(1).default(2),
  /** MLP width (null = 4 · d_model). */
  d_ff: z
    .int({ error: 'must be null or an integer >= 1' })
    .min(1, { error: 'must be null or an integer >= 1' })
    .nullable()
    .default(null),
  /** LayerNorm before each sublayer (GPT-2) or after the residual sum (the original Transformer). */
  ln: oneOf(LN_PLACEMENT_NAMES).default('pre'),
});

const modelSchema = strict({
  arch: oneOf(ARCH_NAMES).default('mlp'),
  /** Hidden widths of mlp / deep-linear ([] = a linear model). */
  widths: intList().default([200, 200]),
  /** Conv channels per stage (cnn, resnet). */
  channels: intList().default([32, 32]),
  /** Residual blocks per stage (resnet); other archs ignore it. */
  depth: int(1).default(2),
  activation: oneOf(ACTIVATION_NAMES).default('tanh'),
  norm: oneOf(NORM_NAMES).default('none'),
  bias: bool().default(true),
  init: initSchema.prefault({}),
  /** arch transformer only (filled with its defaults there). */
  transformer: transformerSchema.optional(),
});

const optimizerSchema = strict({
  name: oneOf(OPTIMIZER_NAMES).default('gd'),
  lr: positive().default(0.05),
  batch_size: fullOrInt().default('full'),
  momentum: unitInterval().default(0.9),
  beta1: unitInterval().default(0.9),
  beta2: unitInterval().default(0.999),
  eps: nonNegative().default(1e-8),
  weight_decay: nonNegative().default(0),
  /** Upper bound on √v̂ (adam-ub, rmsprop-ub; required there). */
  clip_denominator: nullOrPositive().default(null),
});

const scheduleSchema = strict({
  /** Linear warmup over this many updates (0 = none). */
  warmup_steps: int(0).default(0),
  /** After warmup; cosine decays to min_lr at train.steps. */
  decay: oneOf(DECAY_NAMES).default('constant'),
  min_lr: nonNegative().default(0),
  /** Updates between step decays (required for decay: step). */
  step_size: int(1).nullable().default(null),
  gamma: positive().default(0.1),
});

const clipSchema = strict({
  /** Global gradient-norm bound; null = no clipping. */
  max_norm: nullOrPositive().default(null),
});

const trainSchema = strict({
  /** Number of updates. */
  steps: int(0).default(2000),
  seed: int(0).default(0),
  /** Stop (completed) once the train loss is <= this (whole training set: with minibatches, at logged steps); null = never. */
  stop_train_loss: nonNegative().nullable().default(null),
  /** Stop (completed) once the train accuracy is >= this (whole training set: with minibatches, at logged steps); null = never. */
  stop_train_acc: z
    .number({ error: 'must be null or a number in [0, 1]' })
    .min(0, { error: 'must be null or a number in [0, 1]' })
    .max(1, { error: 'must be null or a number in [0, 1]' })
    .nullable()
    .default(null),
  /**
   * Stop (completed) `steps` updates after the measured curvature first reaches `fraction` of its
   * stability threshold from below (λ1 ≥ fraction·2/η for GD; λ1(P⁻¹H) for Adam; a run that
   * starts above must fall below first): budgets tied to the edge of stability rather than to a
   * fixed step count (train.steps stays the cap); null = never.
   */
  stop_after_edge: strict({
    fraction: positive().default(0.9),
    steps: int(0),
  })
    .nullable()
    .default(null),
  /** Train loss above this (or NaN/inf) = diverged; null = only NaN/inf. */
  divergence_loss: nullOrPositive().default(1000),
  /** Checkpoint every N updates; 0 = only the initialization and the final step. */
  checkpoint_every: int(0).default(0),
  /** Samples per graph execution when evaluating full-batch quantities. */
  chunk_size: int(1).default(5000),
});

const curvatureSchema = strict({
  /** Measure at step 0 and every N updates; 0 = never. */
  every: int(0).default(20),
  top_k: int(1).default(2),
  lanczos_iters: int(1).default(20),
  /**
   * Which matrix's top-k to measure: the Hessian (sharpness, eigs), the Gauss–Newton matrix
   * G = Jᵀ ∇²_f ℓ J (ggn_sharpness, ggn_eigs), or both. With ggn alone, rotation follows G.
   */
  matrix: oneOf(['hessian', 'ggn', 'both'] as const).default('hessian'),
  /** Reorthogonalization in the Lanczos eigen-solves: partial (Simon's, semi-orthogonal basis) or full (every step). */
  reorthogonalization: oneOf(['partial', 'full'] as const).default('partial'),
  /** Training samples the Hessian is taken over ('all' = the whole training subset). */
  samples: allOrInt(1).default('all'),
  /** Adam-preconditioned sharpness: auto = for adaptive optimizers. */
  preconditioned: z
    .union([z.literal('auto', { error: 'must be auto, true or false' }), bool()], {
      error: 'must be auto, true or false',
    })
    .default('auto'),
  /** |cos| between consecutive top eigenvectors. */
  rotation: bool().default(true),
  /** Hutchinson trace every N updates (0 = never). */
  trace_every: int(0).default(0),
  /** Smallest Hessian eigenvalue λmin (negative curvature) every N updates (0 = never). */
  lambda_min_every: int(0).default(0),
  trace_probes: int(1).default(100),
  /** SLQ spectral density every N updates (0 = never). */
  density_every: int(0).default(0),
  density_probes: int(1).default(10),
  density_iters: int(1).default(30),
  /** BatchNorm mode while measuring curvature. */
  bn_mode: oneOf(BN_MODES).default('train'),
  /** Denser measurements early on: every `early_every` updates during the first `early_steps`. */
  early_every: int(0).default(0),
  early_steps: int(0).default(0),
});

const logSchema = strict({
  /** Metric row every N updates. */
  every: int(1).default(1),
  /** Test loss/accuracy every N updates (0 = only at the end). */
  test_every: int(0).default(100),
});

/** The whole config file. */
export const configSchema = strict({
  data: dataSchema.prefault({}),
  model: modelSchema.prefault({}),
  loss: oneOf(LOSS_NAMES).default('mse'),
  optimizer: optimizerSchema.prefault({}),
  schedule: scheduleSchema.prefault({}),
  clip: clipSchema.prefault({}),
  train: trainSchema.prefault({}),
  curvature: curvatureSchema.prefault({}),
  log: logSchema.prefault({}),
  backend: oneOf(BACKEND_NAMES).default('ort'),
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. */
  threads: int(0).default(0),
});

/** A fully resolved config: every key present, every value valid. */
export type Config = z.output<typeof configSchema>;

/** One problem: the dotted key (e.g. `optimizer.lr`, `model.widths[1]`; '' = the root) and what is wrong. */
export interface ConfigIssue {
  readonly path: string;
  /** One line, e.g. `must be > 0 (got -0.1)` or `unknown key "model.widht" (allowed: …)`. */
  readonly message: string;
}

/** A config that cannot be used. `message` is one line; `issues` lists every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  constructor(message: string, issues: readonly ConfigIssue[] = []) {
    super(message);
    this.issues = issues;
  }
}

const MAX_REPORTED = 5;

/**
 * Joins issues into one line (`key: message; key: message (+N more)`). `prefix(issue)` names
 * where an issue came from (e.g. a file); it is written once for consecutive issues that share it.
 */
export function issuesLine(issues: readonly ConfigIssue[], prefix: (i: ConfigIssue) => string = () => ''): string {
  let last: string | null = null;
  const parts = issues.slice(0, MAX_REPORTED).map((i) => {
    const p = prefix(i);
    const head = p === last ? '' : p;
    last = p;
    return head + issueLine(i);
  });
  const more = issues.length > MAX_REPORTED ? ` (+${issues.length - MAX_REPORTED} more)` : '';
  return parts.join('; ') + more;
}

function issueLine(i: ConfigIssue): string {
  // Unknown-key messages already name the full key.
  if (i.message.startsWith('unknown key')) return i.message;
  return `${i.path === '' ? 'config' : i.path}: ${i.message}`;
}

/** A value as shown in messages: strings quoted, numbers as JS prints them, long values cut. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  s = s.replace(/[\r\n]+/g, ' ');
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Edit distance with adjacent transpositions (optimal string alignment); small strings only. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** `did you mean "x"? ` when one allowed word is within a typo's reach of `word`, else ''. */
function didYouMean(word: string, allowed: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const a of allowed) {
    const d = editDistance(word.toLowerCase(), a.toLowerCase());
    if (d < bestD) [best, bestD] = [a, d];
  }
  return bestD <= Math.max(1, Math.ceil(word.length / 3)) ? `did you mean "${best}"? ` : '';
}

/** `a.b[2].c` for a path of keys and indices. */
export function dottedPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s;
}

function zodIssue(iss: z.core.$ZodIssue): ConfigIssue {
  const path = dottedPath(iss.path);
  if (iss.code === 'unrecognized_keys') {
    const full = iss.keys.map((k) => (path === '' ? k : `${path}.${k}`));
    const word = iss.keys.length === 1 ? 'key' : 'keys';
    const hint = iss.keys.length === 1 ? didYouMean(iss.keys[0], iss.message.split(', ')) : '';
    // path: the (first) unknown key itself.
    return {
      path: full[0],
      message: `unknown ${word} ${full.map((k) => `"${k}"`).join(', ')} (${hint}allowed: ${iss.message})`,
    };
  }
  return { path, message: `${iss.message} (got ${showValue(iss.input)})` };
}

/** Checks that span several keys; run on a value that passed the schema. */
function crossChecks(c: Config): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: string, message: string): void => void out.push({ path, message });
  for (const [key, sets] of Object.entries(SYNTHETIC_ONLY)) {
    const v = (c.data as Record<string, unknown>)[key];
    if (v !== undefined && !sets.includes(c.data.name)) {
      add(`data.${key}`, `only allowed with data.name ${sets.join(' or ')}, not ${c.data.name} (got ${showValue(v)})`);
    }
  }
  const o = c.optimizer;
  if (UPPER_BOUNDED.includes(o.name) && o.clip_denominator === null) {
    add('optimizer.clip_denominator', `must be a number > 0 for optimizer.name ${o.name} (got null)`);
  }
  if (o.name === 'gd' && o.batch_size !== 'full') {
    add(
      'optimizer.batch_size',
      `must be "full" for optimizer.name gd; use sgd (or another optimizer) for minibatches (got ${o.batch_size})`,
    );
  }
  const trainSize = c.data.train_size;
  if (trainSize !== 'all' && o.batch_size !== 'full' && o.batch_size > trainSize) {
    add('optimizer.batch_size', `must be <= data.train_size (${trainSize}) (got ${o.batch_size})`);
  }
  if (trainSize !== 'all' && c.curvature.samples !== 'all' && c.curvature.samples > trainSize) {
    add('curvature.samples', `must be <= data.train_size (${trainSize}) (got ${c.curvature.samples})`);
  }
  if (c.schedule.decay === 'step' && c.schedule.step_size === null) {
    add('schedule.step_size', 'must be an integer >= 1 when schedule.decay is step (got null)');
  }
  if (c.curvature.lanczos_iters < c.curvature.top_k) {
    add(
      'curvature.lanczos_iters',
      `must be >= curvature.top_k (${c.curvature.top_k}) (got ${c.curvature.lanczos_iters})`,
    );
  }
  if (c.train.stop_after_edge !== null && c.curvature.every === 0) {
    add('train.stop_after_edge', 'needs curvature.every >= 1 (the edge is detected from measured curvature) (got 0)');
  }
  if (c.curvature.early_steps > 0 && c.curvature.early_every === 0) {
    add('curvature.early_every', `must be >= 1 when curvature.early_steps > 0 (got 0)`);
  }
  const m = c.model;
  if (m.arch !== 'transformer' && m.transformer !== undefined)
    add('model.transformer', `only allowed with model.arch transformer, not ${m.arch}`);
  if ((m.arch === 'transformer') !== (c.data.name === 'text-sonnets')) {
    add(
      m.arch === 'transformer' ? 'data.name' : 'model.arch',
      m.arch === 'transformer'
        ? `must be text-sonnets (token windows) for model.arch transformer (got ${c.data.name})`
        : `must be transformer for data.name text-sonnets (got ${m.arch})`,
    );
  }
  if (m.arch === 'transformer') {
    const t = m.transformer;
    if (t !== undefined && t.d_model % t.heads !== 0)
      add('model.transformer.heads', `must divide model.transformer.d_model (${t.d_model}) (got ${t.heads})`);
    if (c.loss !== 'cross-entropy') add('loss', `must be cross-entropy for model.arch transformer (got ${c.loss})`);
    if (m.norm !== 'none')
      add(
        'model.norm',
        `must be none for model.arch transformer (LayerNorm placement is model.transformer.ln) (got ${m.norm})`,
      );
    if (m.init.scheme !== 'lecun-normal')
      add(
        'model.init.scheme',
        `must be lecun-normal for model.arch transformer (its own init; model.init.scale scales it) (got ${m.init.scheme})`,
      );
  }
  return out;
}

/** Writes the data layer's defaults for the synthetic set's own keys into the config, so config.json records them. */
function fillSyntheticDefaults(c: Config): Config {
  const data = c.data as Record<string, unknown>;
  for (const [key, sets] of Object.entries(SYNTHETIC_ONLY)) {
    if (sets.includes(c.data.name) && data[key] === undefined)
      data[key] = key === 'context' ? DEFAULT_CONTEXT : SYNTHETIC_DEFAULTS[key as keyof typeof SYNTHETIC_DEFAULTS];
  }
  if (c.model.arch === 'transformer' && c.model.transformer === undefined)
    (c.model as Record<string, unknown>).transformer = transformerSchema.parse({});
  return c;
}

/** Validates `input` (a parsed YAML/JSON value) without throwing: the resolved config, or null and the issues. */
export function configIssues(input: unknown): { config: Config | null; issues: ConfigIssue[] } {
  const r = configSchema.safeParse(input, { reportInput: true });
  if (!r.success) return { config: null, issues: r.error.issues.map(zodIssue) };
  const issues = crossChecks(r.data);
  return { config: issues.length === 0 ? fillSyntheticDefaults(r.data) : null, issues };
}

/**
 * Validates `input` (a parsed config file; null/undefined = all defaults) and returns it with every
 * default filled in. Throws ConfigError with a one-line message naming the key, value and rule.
 */
export function resolveConfig(input: unknown): Config {
  const { config, issues } = configIssues(input ?? {});
  if (config === null) throw new ConfigError(issuesLine(issues), issues);
  return config;
}

/** All defaults (a fresh object on every call). */
export function defaultConfig(): Config {
  return resolveConfig({});
}

// ---- schema introspection: which dotted keys exist (used by --set and sweep grids).

interface Walkable {
  _zod: { def: { type: string; innerType?: Walkable; shape?: Record<string, Walkable>; in?: Walkable } };
}

function unwrap(s: Walkable): Walkable {
  let cur = s;
  for (;;) {
    const d = cur._zod.def;
    if (
      d.innerType !== undefined &&
      ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)
    ) {
      cur = d.innerType;
    } else if (d.type === 'pipe' && d.in !== undefined) {
      cur = d.in;
    } else {
      return cur;
    }
  }
}

/**
 * Checks that `path` (e.g. ['optimizer', 'lr']) names a config key. Returns null when it does,
 * else a one-line problem: `unknown key "model.widht" (allowed: …)` or `"optimizer.lr" is not a section`.
 */
export function checkConfigKey(path: readonly string[]): string | null {
  if (path.length === 0 || path.some((p) => p === ''))
    return `"${path.join('.')}" is not a dotted key like optimizer.lr`;
  let node = unwrap(configSchema as unknown as Walkable);
  for (let i = 0; i < path.length; i++) {
    const shape = node._zod.def.type === 'object' ? node._zod.def.shape : undefined;
    if (shape === undefined) return `"${path.slice(0, i).join('.')}" is not a section (it has no key "${path[i]}")`;
    if (!Object.hasOwn(shape, path[i])) {
      const keys = Object.keys(shape);
      return `unknown key "${path.slice(0, i + 1).join('.')}" (${didYouMean(path[i], keys)}allowed: ${keys.join(', ')})`;
    }
    node = unwrap(shape[path[i]]);
  }
  return null;
}
