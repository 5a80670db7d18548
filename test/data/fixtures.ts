/**
 * Small fake datasets written by tests in the on-disk formats (independent of src/data's
 * writers: IDX bytes are laid out by hand here).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A tiny deterministic generator for fixtures (an LCG, deliberately not src/util/random). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** IDX bytes: zero, zero, type byte, ndim, big-endian dims, then uint8 data. */
export function idxUint8(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

export interface FakeSplit {
  readonly pixels: Uint8Array; // n * 784
  readonly labels: Uint8Array;
}

/**
 * A fake split with the given number of samples per class, in shuffled order; random bytes,
 * except pixel 0 always 0 and pixel 5 always 77 (constant features) and pixel 10 in 0..3.
 */
export function fakeSplit(countsPerClass: number[], seed: number): FakeSplit {
  const rand = lcg(seed);
  const labels: number[] = [];
  countsPerClass.forEach((k, c) => {
    for (let i = 0; i < k; i++) labels.push(c);
  });
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const n = labels.length;
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < n * 784; i++) pixels[i] = Math.floor(rand() * 256);
  for (let i = 0; i < n; i++) {
    pixels[i * 784] = 0;
    pixels[i * 784 + 5] = 77;
    pixels[i * 784 + 10] = Math.floor(rand() * 4);
  }
  return { pixels, labels: Uint8Array.from(labels) };
}

/** Writes fake Fashion-MNIST files (gzipped) into a new temp dir and returns it and the data. */
export function writeFakeFashion(
  trainCounts: number[],
  testCounts: number[],
): { dir: string; train: FakeSplit; test: FakeSplit } {
  const dir = mkdtempSync(join(tmpdir(), 'edgewise-fake-fashion-'));
  const train = fakeSplit(trainCounts, 1);
  const test = fakeSplit(testCounts, 2);
  const write = (prefix: string, s: FakeSplit): void => {
    const n = s.labels.length;
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idxUint8([n, 28, 28], s.pixels)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(idxUint8([n], s.labels)));
  };
  write('train', train);
  write('t10k', test);
  return { dir, train, test };
}

/**
 * Writes the six CIFAR-10 binary batches into `dir` (which must exist), file f holding
 * `sizes[f]` records of a random label 0..9 and 3072 random pixel bytes; returns their bytes.
 */
export function writeFakeCifar(dir: string, sizes: readonly number[], seed: number): Uint8Array[] {
  const rand = lcg(seed);
  const files = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];
  return files.map((name, f) => {
    const b = new Uint8Array(sizes[f]! * 3073);
    for (let i = 0; i < b.length; i++) b[i] = i % 3073 === 0 ? Math.floor(rand() * 10) : Math.floor(rand() * 256);
    writeFileSync(join(dir, `${name}.bin`), b);
    return b;
  });
}
