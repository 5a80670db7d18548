/**
 * Fashion-MNIST from Debian's package `dataset-fashion-mnist`, which installs the four IDX
 * files (gzipped) under /usr/share/datasets/fashion-mnist/. The directory searched is `dir` if
 * given, else $EDGEWISE_DATA (the folder itself or its `fashion-mnist/`), else the Debian path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readIdx } from './idx.ts';
import type { ImageSource, ImageSplit } from './types.ts';

export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_DEBIAN_PACKAGE = 'dataset-fashion-mnist';
/** Base names of the four files; each may also be stored without the `.gz` suffix. */
export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Directories searched, in order (see the module comment). */
export function fashionCandidateDirs(dir: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (dir !== undefined) return [dir];
  const root = env.EDGEWISE_DATA;
  if (root) return [root, join(root, 'fashion-mnist')];
  return [FASHION_MNIST_SYSTEM_DIR];
}

/** Path of `file` in `dir`, gzipped or not, or null when neither exists. */
function findFile(dir: string, gzName: string): string | null {
  const gz = join(dir, gzName);
  if (existsSync(gz)) return gz;
  const raw = join(dir, gzName.replace(/\.gz$/, ''));
  return existsSync(raw) ? raw : null;
}

/** The four file paths in the first candidate directory that has all of them, or null. */
export function findFashionMnist(
  dir: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Record<keyof typeof FASHION_MNIST_FILES, string> | null {
  for (const d of fashionCandidateDirs(dir, env)) {
    const trainImages = findFile(d, FASHION_MNIST_FILES.trainImages);
    const trainLabels = findFile(d, FASHION_MNIST_FILES.trainLabels);
    const testImages = findFile(d, FASHION_MNIST_FILES.testImages);
    const testLabels = findFile(d, FASHION_MNIST_FILES.testLabels);
    if (trainImages && trainLabels && testImages && testLabels)
      return { trainImages, trainLabels, testImages, testLabels };
  }
  return null;
}

/** Reads an IDX images file ([n, H, W] uint8) and its labels file ([n] uint8, < numClasses). */
export async function readIdxImagePair(
  imagesPath: string,
  labelsPath: string,
  numClasses: number,
): Promise<ImageSplit> {
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  if (images.dtype !== 'uint8' || images.dims.length !== 3) {
    throw new Error(
      `IDX file ${imagesPath}: expected uint8 images [n, H, W], got ${images.dtype} [${images.dims.join(', ')}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.dims.length !== 1) {
    throw new Error(
      `IDX file ${labelsPath}: expected uint8 labels [n], got ${labels.dtype} [${labels.dims.join(', ')}]`,
    );
  }
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n)
    throw new Error(`IDX files ${imagesPath} and ${labelsPath} disagree: ${n} images but ${labels.dims[0]} labels`);
  const lab = labels.data as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (lab[i] >= numClasses)
      throw new Error(`IDX file ${labelsPath}: label ${lab[i]} at index ${i} is outside 0..${numClasses - 1}`);
  }
  return { pixels: images.data as Uint8Array, labels: lab, n, shape: [1, h, w] };
}

/** Loads Fashion-MNIST (60000 train / 10000 test, [1, 28, 28]); a missing set says how to install it. */
export async function loadFashionMnist(
  dir: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ImageSource> {
  const files = findFashionMnist(dir, env);
  if (files === null) {
    const searched = fashionCandidateDirs(dir, env).join(', ');
    const why =
      dir !== undefined
        ? '; data.dir is set'
        : env.EDGEWISE_DATA
          ? '; EDGEWISE_DATA is set, so the system directory is not searched'
          : '';
    throw new Error(
      `Fashion-MNIST not found (searched: ${searched}${why}). Install it with ` +
        `\`apt-get install ${FASHION_MNIST_DEBIAN_PACKAGE}\` (files go to ${FASHION_MNIST_SYSTEM_DIR}), ` +
        `or set EDGEWISE_DATA=dir (or data.dir) to a folder containing ${Object.values(FASHION_MNIST_FILES).join(', ')} (gzipped or not).`,
    );
  }
  const [train, test] = await Promise.all([
    readIdxImagePair(files.trainImages, files.trainLabels, 10),
    readIdxImagePair(files.testImages, files.testLabels, 10),
  ]);
  return {
    train,
    test,
    numClasses: 10,
    sources: [files.trainImages, files.trainLabels, files.testImages, files.testLabels],
    split: 'Fashion-MNIST official train (60000) and t10k (10000) files, in file order',
  };
}
