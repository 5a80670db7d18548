/**
 * The entry point of the data layer: `loadDataset(spec, env)` reads a dataset named by the
 * `data:` config section, draws the train/test subsets, fits preprocessing on the training subset
 * and returns float32 `Dataset`s plus a record of where the data came from.
 *
 * Re-exports the types and row helpers so callers need only this module.
 */
import { loadCifar10 } from './cifar.ts';
import { loadFashionMnist } from './fashion.ts';
import { loadMnistPackage } from './mnist.ts';
import { fitPreprocess } from './preprocess.ts';
import { DEFAULT_CONTEXT, loadTextSplits, TEXT_FILE } from './text.ts';
import {
  imagesFromSource,
  resolveDataSpec,
  splitInfo,
  syntheticDataset,
  type DataSpecInput,
  type LoadedData,
} from './datasetBytes.ts';
import type { DataSpec, ImageSource } from './types.ts';

export type { Dataset, DataSpec, DatasetName, ImageSplit, ImageSource, PreprocessKind, SubsetMode } from './types.ts';
export { oneHot, takeRows, slice, classCounts, sampleSize, checkDataset } from './rows.ts';
export type { PreprocessStats } from './preprocess.ts';
export {
  DATA_SPEC_DEFAULTS,
  SYNTHETIC_DEFAULTS,
  SYNTHETIC_DEFAULT_SIZE,
  imagesFromSource,
  resolveDataSpec,
  syntheticDataset,
  type DataSpecInput,
  type DatasetInfo,
  type LoadedData,
  type SplitInfo,
} from './datasetBytes.ts';

async function loadImageSource(spec: DataSpec, env: NodeJS.ProcessEnv): Promise<ImageSource> {
  switch (spec.name) {
    case 'fashion-mnist':
      return loadFashionMnist(spec.dir, env);
    case 'cifar10':
      return loadCifar10(spec.dir, env);
    case 'mnist':
      return loadMnistPackage();
    default:
      throw new Error(`data.name: ${spec.name} is not an image dataset`);
  }
}

async function loadImages(spec: DataSpec, env: NodeJS.ProcessEnv): Promise<LoadedData> {
  return imagesFromSource(spec, await loadImageSource(spec, env));
}

function loadText(spec: DataSpec): LoadedData {
  const t = loadTextSplits(spec);
  const T = spec.context ?? DEFAULT_CONTEXT;
  // Token indices are not preprocessed: the identity statistics.
  const stats = fitPreprocess('none', new Float32Array(0), 0, T, 1);
  const split = `${t.available} windows of ${T + 1} characters of ${TEXT_FILE} (vocabulary ${t.vocab.length}), permuted with seed ${spec.seed}: first ${t.train.n} train, next ${t.test.n} test`;
  return {
    train: t.train,
    test: t.test,
    info: {
      spec,
      sources: [TEXT_FILE],
      split,
      train: splitInfo(t.train, t.available),
      test: splitInfo(t.test, t.available - t.train.n),
      stats,
    },
  };
}

/**
 * Loads the dataset named by `specInput` (defaults filled by resolveDataSpec). `env` supplies
 * EDGEWISE_DATA (pass your own in tests). The test set is preprocessed with the training
 * subset's statistics. Stratified subsets use streams forked from `seed` (train, then test).
 * Synthetic sets generate exactly train_size / test_size samples ('all' = SYNTHETIC_DEFAULT_SIZE);
 * they are class-balanced by construction and ignore `subset`, `flatten` and `dir`.
 */
export async function loadDataset(specInput: DataSpecInput, env: NodeJS.ProcessEnv = process.env): Promise<LoadedData> {
  const spec = resolveDataSpec(specInput);
  if (spec.name === 'synthetic-gmm' || spec.name === 'synthetic-regression') return syntheticDataset(spec);
  if (spec.name === 'text-sonnets') return loadText(spec);
  return loadImages(spec, env);
}
