/**
 * The Lab's picked data files (web/src/lab/pickedFiles.ts) give the CLI's samples: the data set
 * built from picked files equals loadDataset's for the same `data:` section (Fashion-MNIST from
 * Debian's files when installed, and fake files; CIFAR-10 from fake batches), whatever the order
 * the files were picked in; a set with files missing says which to pick.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { imagesFromSource, loadDataset, resolveDataSpec, type DataSpecInput } from '../../src/data/dataset.ts';
import { FASHION_MNIST_SYSTEM_DIR } from '../../src/data/fashion.ts';
import {
  missingFiles,
  pickedSource,
  pickedSummary,
  type PickedFile,
  type PickedSet,
} from '../../web/src/lab/pickedFiles.ts';
import { writeFakeCifar, writeFakeFashion } from '../data/fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-picked-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Files as the browser gives them: base names, bytes read on demand. */
const picked = (paths: readonly string[]): PickedFile[] =>
  paths.map((p) => ({ name: basename(p), read: async () => new Uint8Array(readFileSync(p)) }));

/** The picked files' data set equals the CLI's for the same data section. */
async function assertSameAsCli(spec: DataSpecInput, files: readonly PickedFile[]): Promise<void> {
  const cli = await loadDataset(spec, {});
  const lab = imagesFromSource(resolveDataSpec(spec), await pickedSource(spec.name as PickedSet, files));
  for (const split of ['train', 'test'] as const) {
    assert.deepEqual(lab[split].x, cli[split].x, `${spec.name} ${split} inputs`);
    assert.deepEqual(lab[split].y, cli[split].y, `${spec.name} ${split} labels`);
    assert.deepEqual(lab[split].sampleShape, cli[split].sampleShape);
  }
  assert.deepEqual(lab.info.stats, cli.info.stats);
}

const FASHION_NAMES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
];
const debian = FASHION_NAMES.map((n) => join(FASHION_MNIST_SYSTEM_DIR, n));

test(
  "Fashion-MNIST from Debian's files, picked in any order, gives the CLI's stratified subset",
  { skip: debian.every(existsSync) ? false : `Debian's dataset-fashion-mnist is not installed` },
  async () => {
    await assertSameAsCli(
      { name: 'fashion-mnist', train_size: 64, test_size: 32, subset: 'stratified', seed: 3 },
      picked([...debian].reverse()),
    );
  },
);

test('Fashion-MNIST files picked un-gzipped give the same data; a gzipped and a raw file of one role: the gzipped one, as on Node', async () => {
  const { dir } = writeFakeFashion([3, 2, 1, 0, 2, 1, 1, 2, 0, 3], [1, 1, 0, 2, 1, 0, 1, 0, 1, 1]);
  try {
    const raw = join(dir, 'raw');
    mkdirSync(raw);
    for (const n of FASHION_NAMES)
      writeFileSync(join(raw, n.replace(/\.gz$/, '')), gunzipSync(readFileSync(join(dir, n))));
    const rawPaths = FASHION_NAMES.map((n) => join(raw, n.replace(/\.gz$/, '')));
    const spec: DataSpecInput = { name: 'fashion-mnist', dir, subset: 'stratified', seed: 2, train_size: 10 };
    await assertSameAsCli(spec, picked(rawPaths));
    // The raw train images are replaced by other bytes: picked beside the gzipped file, they are not read.
    writeFileSync(rawPaths[0]!, 'not an IDX file');
    await assertSameAsCli(spec, picked([...rawPaths, ...FASHION_NAMES.map((n) => join(dir, n))]));
    await assert.rejects(pickedSource('fashion-mnist', picked(rawPaths)), /IDX file train-images-idx3-ubyte: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CIFAR-10 batches picked in any order give the CLI’s data; unflattened too', async () => {
  const dir = join(root, 'cifar');
  mkdirSync(dir);
  writeFakeCifar(dir, [4, 3, 5, 2, 4, 6], 5);
  const paths = ['test_batch', 'data_batch_3', 'data_batch_1', 'data_batch_5', 'data_batch_2', 'data_batch_4'].map(
    (n) => join(dir, `${n}.bin`),
  );
  await assertSameAsCli({ name: 'cifar10', dir, train_size: 12, subset: 'stratified' }, picked(paths));
  await assertSameAsCli({ name: 'cifar10', dir, flatten: false, preprocess: 'standardize' }, picked(paths));
});

test('files missing: a one-line error naming them and where to pick them; the page’s summary says the same', async () => {
  const dir = join(root, 'partial');
  mkdirSync(dir);
  writeFakeCifar(dir, [1, 1, 1, 1, 1, 1], 9);
  const some = picked(['data_batch_1', 'data_batch_2', 'test_batch'].map((n) => join(dir, `${n}.bin`)));
  assert.deepEqual(missingFiles('cifar10', some), ['data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin']);
  await assert.rejects(pickedSource('cifar10', some), (e: Error) => {
    assert.equal(
      e.message,
      'data.name cifar10: pick the six CIFAR-10 binary batches (cifar-10-batches-bin/) with "Data files"; missing: data_batch_3.bin, data_batch_4.bin, data_batch_5.bin',
    );
    return true;
  });
  await assert.rejects(
    pickedSource('fashion-mnist', []),
    /^Error: data\.name fashion-mnist: pick the four Fashion-MNIST IDX files, gzipped or not \(Debian: \/usr\/share\/datasets\/fashion-mnist\/\) with "Data files"; missing: train-images-idx3-ubyte\.gz, train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz$/,
  );
  assert.equal(pickedSummary([]), 'No data files picked.');
  assert.equal(pickedSummary([{ name: 'notes.txt' }]), '1 file picked (none is a Fashion-MNIST or CIFAR-10 file).');
  assert.equal(
    pickedSummary([...some, ...FASHION_NAMES.map((name) => ({ name }))]),
    '7 files picked (fashion-mnist: complete; cifar10: missing data_batch_3.bin, data_batch_4.bin, data_batch_5.bin).',
  );
});
