/**
 * Fashion-MNIST files on Node (the byte format is in fashionBytes.ts, re-exported here), from
 * Debian's package `dataset-fashion-mnist`, which installs the four IDX files (gzipped) under
 * /usr/share/datasets/fashion-mnist/. The directory searched is `dir` if
 * given, else $EDGEWISE_DATA (the folder itself or its `fashion-mnist/`), else the Debian path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_FILES, fashionMnistSource, idxImageSplit } from './fashionBytes.ts';
import { readIdx } from './idx.ts';
import type { ImageSource, ImageSplit } from './types.ts';

export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  fashionMnistFromBytes,
  fashionMnistSource,
  idxImageSplit,
  type FashionMnistFiles,
} from './fashionBytes.ts';

export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_DEBIAN_PACKAGE = 'dataset-fashion-mnist';

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
  return idxImageSplit(images, labels, numClasses, imagesPath, labelsPath);
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
  return fashionMnistSource(train, test, files);
}
