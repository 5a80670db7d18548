/**
 * Types shared by the data layer: the `Dataset` every model consumes, the raw image splits the
 * file loaders produce, and the `data:` config section (`DataSpec`).
 */

/** A set of samples ready for a model: float inputs plus class labels or regression targets. */
export interface Dataset {
  /** Inputs, n * prod(sampleShape) floats, row-major, sample-major. */
  readonly x: Float32Array;
  /** Class labels in [0, numClasses) for classification, else null. */
  readonly y: Int32Array | null;
  /** n * numClasses regression targets (row-major), else null. */
  readonly targets: Float32Array | null;
  /** Number of samples. */
  readonly n: number;
  /** Shape of one sample: [784] when flattened, [C, H, W] for images. */
  readonly sampleShape: readonly number[];
  /** Output dimension: number of classes, or number of regression outputs. */
  readonly numClasses: number;
}

/** One split of an image dataset as stored on disk: raw bytes 0..255, CHW, sample-major. */
export interface ImageSplit {
  /** n * C * H * W bytes. */
  readonly pixels: Uint8Array;
  /** n labels in [0, numClasses). */
  readonly labels: Uint8Array;
  readonly n: number;
  /** [C, H, W]. */
  readonly shape: readonly [number, number, number];
}

/** A train/test pair of raw image splits and where they came from. */
export interface ImageSource {
  readonly train: ImageSplit;
  readonly test: ImageSplit;
  readonly numClasses: number;
  /** Files (or package paths) the splits were read from. */
  readonly sources: readonly string[];
  /** One line saying how train and test were formed (e.g. the package split rule). */
  readonly split: string;
}

export const DATASET_NAMES = [
  'fashion-mnist',
  'mnist',
  'cifar10',
  'synthetic-gmm',
  'synthetic-regression',
  'text-sonnets',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const SUBSET_MODES = ['first', 'stratified'] as const;
export type SubsetMode = (typeof SUBSET_MODES)[number];

export const PREPROCESS_KINDS = ['none', 'scale', 'center', 'standardize', 'global-standardize'] as const;
export type PreprocessKind = (typeof PREPROCESS_KINDS)[number];

export const TEACHER_KINDS = ['linear', 'tanh'] as const;
export type TeacherKind = (typeof TEACHER_KINDS)[number];

/** The `data:` config section, fully resolved (see `resolveDataSpec` for defaults). */
export interface DataSpec {
  readonly name: DatasetName;
  /** Training samples to keep, or 'all'. */
  readonly train_size: number | 'all';
  /** Test samples to keep, or 'all'. */
  readonly test_size: number | 'all';
  /** How a smaller subset is drawn: the first N in file order, or a seeded class-balanced draw. */
  readonly subset: SubsetMode;
  /** Seed for the stratified draw and for synthetic data. */
  readonly seed: number;
  readonly preprocess: PreprocessKind;
  /** true: sampleShape [C*H*W]; false: [C, H, W] for image sets (synthetic sets are always [d]). */
  readonly flatten: boolean;
  /** Directory holding the files (fashion-mnist, cifar10); overrides EDGEWISE_DATA. */
  readonly dir?: string;
  /** Synthetic sets: input dimension d. */
  readonly input_dim?: number;
  /** synthetic-gmm: number of classes k. */
  readonly num_classes?: number;
  /** synthetic-gmm: distance between any two class means, in units of the noise std. */
  readonly separation?: number;
  /** synthetic-regression: number of outputs. */
  readonly num_outputs?: number;
  /** synthetic-regression: std of the Gaussian noise added to the targets. */
  readonly noise?: number;
  /** synthetic-regression: teacher y = A x / sqrt(d) ('linear') or a one-hidden-layer tanh net. */
  readonly teacher?: TeacherKind;
  /** text-sonnets: characters per window (the context length T). */
  readonly context?: number;
}
