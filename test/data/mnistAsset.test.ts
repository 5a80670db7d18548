/**
 * The Lab's MNIST asset (mnistBytes.ts encodeMnistAsset/decodeMnistAsset) holds the package's
 * digits in the CLI's canonical order, and the Node-free subset path (datasetBytes.ts) gives the
 * same samples from it as loadDataset on Node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/dataset.ts';
import { imagesFromSource, resolveDataSpec, syntheticDataset } from '../../src/data/datasetBytes.ts';
import { decodeMnistAsset, encodeMnistAsset, loadMnistPackage } from '../../src/data/mnist.ts';

test('the MNIST asset decodes to the splits loadMnistPackage gives, in the same order', () => {
  const src = loadMnistPackage();
  const back = decodeMnistAsset(encodeMnistAsset(src), 'mnist.bin');
  for (const k of ['train', 'test'] as const) {
    assert.equal(back[k].n, src[k].n);
    assert.deepEqual(back[k].shape, src[k].shape);
    assert.ok(Buffer.from(back[k].pixels).equals(Buffer.from(src[k].pixels)), `${k} pixels`);
    assert.ok(Buffer.from(back[k].labels).equals(Buffer.from(src[k].labels)), `${k} labels`);
  }
  assert.throws(() => decodeMnistAsset(new Uint8Array(20), 'x.bin'), /x.bin: not an MNIST asset/);
});

test('subsets drawn from the asset (stratified, standardized) equal loadDataset on Node', async () => {
  const src = decodeMnistAsset(encodeMnistAsset(loadMnistPackage()), 'mnist.bin');
  for (const spec of [
    { name: 'mnist' as const, train_size: 200, test_size: 50, preprocess: 'standardize' as const },
    { name: 'mnist' as const, train_size: 100, test_size: 30, subset: 'stratified' as const, seed: 3 },
  ]) {
    const want = await loadDataset(spec, {});
    const got = imagesFromSource(resolveDataSpec(spec), src);
    for (const k of ['train', 'test'] as const) {
      assert.deepEqual(got[k].y, want[k].y);
      assert.deepEqual(got[k].x, want[k].x);
    }
  }
  const gmm = { name: 'synthetic-gmm' as const, train_size: 40, test_size: 10 };
  assert.deepEqual(syntheticDataset(resolveDataSpec(gmm)).train.x, (await loadDataset(gmm, {})).train.x);
});
