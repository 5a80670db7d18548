/**
 * The byte-level readers (no file or Node access; what a browser worker calls on fetched bytes)
 * give exactly what the Node file readers give on the same files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cifar10FromBytes, loadCifar10, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES } from '../../src/data/cifar.ts';
import { fashionMnistFromBytes, findFashionMnist, loadFashionMnist } from '../../src/data/fashion.ts';
import { encodeIdx, parseIdx, parseIdxBytes, type IdxArray } from '../../src/data/idx.ts';
import { loadMnistPackage, loadMnistPackageDigits, mnistFromDigits, mnistPackagePath } from '../../src/data/mnist.ts';
import { loadTextSplits, TEXT_FILE, textSplitsFromBytes } from '../../src/data/text.ts';
import { lcg, writeFakeCifar, writeFakeFashion } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-bytes-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('IDX bytes', () => {
  const rand = lcg(7);
  const arrays: IdxArray[] = [
    { dtype: 'uint8', dims: [3, 4, 5], data: Uint8Array.from({ length: 60 }, () => Math.floor(rand() * 256)) },
    { dtype: 'int8', dims: [7], data: Int8Array.from({ length: 7 }, () => Math.floor(rand() * 256) - 128) },
    { dtype: 'int16', dims: [2, 3], data: Int16Array.from({ length: 6 }, () => Math.floor(rand() * 65536) - 32768) },
    { dtype: 'int32', dims: [4], data: Int32Array.from({ length: 4 }, () => Math.floor(rand() * 2 ** 32) - 2 ** 31) },
    { dtype: 'float32', dims: [2, 2], data: Float32Array.from({ length: 4 }, () => rand() - 0.5) },
    { dtype: 'float64', dims: [3], data: Float64Array.from({ length: 3 }, () => rand() * 1e6) },
  ];

  test('parseIdxBytes equals parseIdx on raw and gzipped bytes of every element type', async () => {
    for (const arr of arrays) {
      for (const gzip of [false, true]) {
        const bytes = encodeIdx(arr, gzip);
        assert.deepEqual(await parseIdxBytes(bytes, 'x.idx'), parseIdx(bytes, 'x.idx'), `${arr.dtype} gzip=${gzip}`);
      }
    }
  });

  test('corrupt input: the same errors (the gzip one in the same words)', async () => {
    const good = encodeIdx(arrays[0]!, false);
    const cases: [string, Uint8Array][] = [
      ['truncated header', good.subarray(0, 3)],
      ['truncated data', good.subarray(0, good.length - 1)],
      ['bad magic', Uint8Array.from([1, ...good.subarray(1)])],
      ['trailing bytes', Uint8Array.from([...good, 0])],
    ];
    for (const [what, bytes] of cases) {
      let expected = '';
      assert.throws(
        () => parseIdx(bytes, 'f.idx'),
        (e: Error) => ((expected = e.message), true),
      );
      await assert.rejects(parseIdxBytes(bytes, 'f.idx'), { message: expected }, what);
    }
    const gz = encodeIdx(arrays[0]!, true);
    await assert.rejects(parseIdxBytes(gz.subarray(0, gz.length - 6), 'g.idx.gz'), {
      message: /^IDX file g\.idx\.gz: corrupt or truncated gzip data/,
    });
  });
});

test('Fashion-MNIST: fashionMnistFromBytes of the four files equals loadFashionMnist', async () => {
  const { dir } = writeFakeFashion([3, 2, 1, 0, 2, 1, 1, 2, 0, 3], [1, 1, 0, 2, 1, 0, 1, 0, 1, 1]);
  try {
    const paths = findFashionMnist(dir, {})!;
    const bytes = {
      trainImages: readFileSync(paths.trainImages),
      trainLabels: readFileSync(paths.trainLabels),
      testImages: readFileSync(paths.testImages),
      testLabels: readFileSync(paths.testLabels),
    };
    assert.deepEqual(await fashionMnistFromBytes(bytes, paths), await loadFashionMnist(dir, {}));
    // Raw (not gzipped) bytes decode to the same splits.
    const raw = async (b: Uint8Array): Promise<Uint8Array> => encodeIdx(await parseIdxBytes(b, 'gz'), false);
    const rawBytes = {
      trainImages: await raw(bytes.trainImages),
      trainLabels: await raw(bytes.trainLabels),
      testImages: await raw(bytes.testImages),
      testLabels: await raw(bytes.testLabels),
    };
    const fromRaw = await fashionMnistFromBytes(rawBytes, paths);
    const fromFiles = await loadFashionMnist(dir, {});
    assert.deepEqual(fromRaw.train, fromFiles.train);
    assert.deepEqual(fromRaw.test, fromFiles.test);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CIFAR-10: cifar10FromBytes of the six batches equals loadCifar10', async () => {
  const dir = join(root, 'cifar');
  const files = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
  mkdirSync(dir);
  const contents = writeFakeCifar(dir, [1, 2, 3, 1, 2, 3], 11);
  const paths = files.map((f) => join(dir, f));
  assert.deepEqual(cifar10FromBytes(contents.slice(0, 5), contents[5]!, paths), await loadCifar10(dir, {}));
  assert.throws(() => cifar10FromBytes(contents.slice(0, 4), contents[5]!), /need 5 training batches/);
});

test('MNIST: mnistFromDigits of the package digits equals loadMnistPackage', () => {
  assert.deepEqual(mnistFromDigits(loadMnistPackageDigits(), mnistPackagePath()), loadMnistPackage());
});

test('text: textSplitsFromBytes of sonnets.txt equals loadTextSplits', () => {
  const bytes = readFileSync(TEXT_FILE);
  for (const spec of [
    { train_size: 20, test_size: 10, seed: 3 },
    { train_size: 50, test_size: 'all' as const, seed: 9, context: 16 },
  ]) {
    assert.deepEqual(textSplitsFromBytes(spec, bytes), loadTextSplits(spec));
  }
});
