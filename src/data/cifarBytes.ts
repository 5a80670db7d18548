/**
 * CIFAR-10 binary version, as bytes (no file or Node access; cifar.ts finds and reads the files):
 * `data_batch_1.bin` … `data_batch_5.bin` (training, 50000 images) and `test_batch.bin` (10000).
 * Each record is 1 label byte followed by 3072 pixel bytes in CHW order (1024 red, 1024 green,
 * 1024 blue, each row-major 32×32).
 */
import type { ImageSource, ImageSplit } from './types.ts';

export const CIFAR10_SHAPE = [3, 32, 32] as const;
export const CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32;
export const CIFAR10_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

/** Decodes the bytes of one CIFAR-10 batch file; `name` is quoted in every error. */
export function parseCifarBatch(bytes: Uint8Array, name: string): ImageSplit {
  if (bytes.length === 0) throw new Error(`CIFAR-10 file ${name}: empty`);
  if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new Error(
      `CIFAR-10 file ${name}: truncated or corrupt: ${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte records (1 label + 3072 pixels)`,
    );
  }
  const n = bytes.length / CIFAR10_RECORD_BYTES;
  const px = CIFAR10_RECORD_BYTES - 1;
  const labels = new Uint8Array(n);
  const pixels = new Uint8Array(n * px);
  for (let i = 0; i < n; i++) {
    const o = i * CIFAR10_RECORD_BYTES;
    const label = bytes[o];
    if (label > 9)
      throw new Error(
        `CIFAR-10 file ${name}: record ${i} has label ${label}, expected 0..9 (not a CIFAR-10 binary batch?)`,
      );
    labels[i] = label;
    pixels.set(bytes.subarray(o + 1, o + CIFAR10_RECORD_BYTES), i * px);
  }
  return { pixels, labels, n, shape: CIFAR10_SHAPE };
}

/** Encodes a split as CIFAR-10 batch bytes (shape must be [3, 32, 32]). */
export function encodeCifarBatch(split: ImageSplit): Uint8Array {
  const px = CIFAR10_RECORD_BYTES - 1;
  if (split.pixels.length !== split.n * px || split.labels.length !== split.n) {
    throw new Error(`encodeCifarBatch: need n*3072 pixels and n labels (n = ${split.n})`);
  }
  const out = new Uint8Array(split.n * CIFAR10_RECORD_BYTES);
  for (let i = 0; i < split.n; i++) {
    out[i * CIFAR10_RECORD_BYTES] = split.labels[i];
    out.set(split.pixels.subarray(i * px, (i + 1) * px), i * CIFAR10_RECORD_BYTES + 1);
  }
  return out;
}

/** Concatenates splits of equal sample shape, in order. */
export function concatSplits(parts: readonly ImageSplit[]): ImageSplit {
  if (parts.length === 0) throw new Error('concatSplits: nothing to concatenate');
  const shape = parts[0].shape;
  let n = 0;
  for (const p of parts) n += p.n;
  const px = shape[0] * shape[1] * shape[2];
  const pixels = new Uint8Array(n * px);
  const labels = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * px);
    labels.set(p.labels, at);
    at += p.n;
  }
  return { pixels, labels, n, shape };
}

/**
 * CIFAR-10 from the bytes of its five training batches (in order) and its test batch; `names`
 * (the files' paths, or their base names by default) are quoted in errors and kept as sources.
 */
export function cifar10FromBytes(
  trainBatches: readonly Uint8Array[],
  testBatch: Uint8Array,
  names: readonly string[] = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE],
): ImageSource {
  if (trainBatches.length !== CIFAR10_TRAIN_FILES.length || names.length !== CIFAR10_TRAIN_FILES.length + 1)
    throw new Error(
      `CIFAR-10: need ${CIFAR10_TRAIN_FILES.length} training batches and one test batch (${CIFAR10_TRAIN_FILES.join(', ')}, ${CIFAR10_TEST_FILE}), got ${trainBatches.length} and ${names.length} names`,
    );
  const train = concatSplits(trainBatches.map((b, i) => parseCifarBatch(b, names[i]!)));
  const test = parseCifarBatch(testBatch, names[CIFAR10_TRAIN_FILES.length]!);
  return {
    train,
    test,
    numClasses: 10,
    sources: [...names],
    split: 'CIFAR-10 data_batch_1..5 (train) and test_batch (test), in file order',
  };
}
