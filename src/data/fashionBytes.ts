/**
 * Fashion-MNIST as bytes (no file or Node access; fashion.ts finds and reads the files): the four
 * IDX files (gzipped or raw) of images [n, 28, 28] uint8 and labels [n] uint8.
 */
import { parseIdxBytes, type IdxArray } from './idxBytes.ts';
import type { ImageSource, ImageSplit } from './types.ts';

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

/** The four files of the set, by role (file contents, or paths, or names). */
export type FashionMnistFiles<T> = Record<keyof typeof FASHION_MNIST_FILES, T>;

/**
 * An image split from decoded IDX images ([n, H, W] uint8) and labels ([n] uint8, < numClasses);
 * `imagesName`, `labelsName` (usually the paths) are quoted in every error.
 */
export function idxImageSplit(
  images: IdxArray,
  labels: IdxArray,
  numClasses: number,
  imagesName: string,
  labelsName: string,
): ImageSplit {
  if (images.dtype !== 'uint8' || images.dims.length !== 3) {
    throw new Error(
      `IDX file ${imagesName}: expected uint8 images [n, H, W], got ${images.dtype} [${images.dims.join(', ')}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.dims.length !== 1) {
    throw new Error(
      `IDX file ${labelsName}: expected uint8 labels [n], got ${labels.dtype} [${labels.dims.join(', ')}]`,
    );
  }
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n)
    throw new Error(`IDX files ${imagesName} and ${labelsName} disagree: ${n} images but ${labels.dims[0]} labels`);
  const lab = labels.data as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (lab[i] >= numClasses)
      throw new Error(`IDX file ${labelsName}: label ${lab[i]} at index ${i} is outside 0..${numClasses - 1}`);
  }
  return { pixels: images.data as Uint8Array, labels: lab, n, shape: [1, h, w] };
}

/** The ImageSource of Fashion-MNIST from its two splits and the four files' names (paths). */
export function fashionMnistSource(train: ImageSplit, test: ImageSplit, names: FashionMnistFiles<string>): ImageSource {
  return {
    train,
    test,
    numClasses: 10,
    sources: [names.trainImages, names.trainLabels, names.testImages, names.testLabels],
    split: 'Fashion-MNIST official train (60000) and t10k (10000) files, in file order',
  };
}

/** Fashion-MNIST from the bytes of its four IDX files (gzipped or raw); `names` default to the base names. */
export async function fashionMnistFromBytes(
  files: FashionMnistFiles<Uint8Array>,
  names: FashionMnistFiles<string> = FASHION_MNIST_FILES,
): Promise<ImageSource> {
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    parseIdxBytes(files.trainImages, names.trainImages),
    parseIdxBytes(files.trainLabels, names.trainLabels),
    parseIdxBytes(files.testImages, names.testImages),
    parseIdxBytes(files.testLabels, names.testLabels),
  ]);
  return fashionMnistSource(
    idxImageSplit(trainImages, trainLabels, 10, names.trainImages, names.trainLabels),
    idxImageSplit(testImages, testLabels, 10, names.testImages, names.testLabels),
    names,
  );
}
