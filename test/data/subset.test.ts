import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { createRng } from '../../src/util/random.ts';
import { loadDataset } from '../../src/data/dataset.ts';
import { selectSubset, stratifiedQuotas } from '../../src/data/subset.ts';
import { writeFakeFashion } from './fixtures.ts';

const TRAIN_COUNTS = [50, 45, 40, 35, 30, 25, 20, 20, 20, 15];
const fake = writeFakeFashion(TRAIN_COUNTS, [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
after(() => rmSync(fake.dir, { recursive: true, force: true }));
const env = { EDGEWISE_DATA: fake.dir };

/** Labels in the fake train file order. */
const labels = Array.from(fake.train.labels);

function counts(idx: ArrayLike<number>): number[] {
  const c = new Array(10).fill(0);
  for (let i = 0; i < idx.length; i++) c[labels[idx[i]]]++;
  return c;
}

/** "As equal as possible": a class may have 2+ fewer than another only if it is exhausted. */
function assertBalanced(got: number[], available: number[], size: number): void {
  assert.equal(
    got.reduce((a, b) => a + b, 0),
    size,
  );
  for (let a = 0; a < got.length; a++) {
    assert.ok(got[a] <= available[a]);
    for (let b = 0; b < got.length; b++) {
      if (got[a] < got[b] - 1)
        assert.equal(got[a], available[a], `class ${a} (${got[a]}) vs class ${b} (${got[b]}): ${got}`);
    }
  }
}

describe('subsets', () => {
  test("'first' keeps the first N samples in file order", () => {
    assert.deepEqual(Array.from(selectSubset(labels, 10, 7, 'first', createRng(0))), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('stratified: equal class counts when every class has enough', () => {
    const idx = selectSubset(labels, 10, 100, 'stratified', createRng(3));
    assert.deepEqual(counts(idx), new Array(10).fill(10));
    assert.equal(new Set(idx).size, 100, 'no repeats');
    for (let i = 1; i < idx.length; i++) assert.ok(idx[i] > idx[i - 1], 'ascending (file order kept)');
  });

  test('stratified: as equal as possible when classes run short or N is not a multiple of k', () => {
    for (const size of [0, 7, 163, 200, 215, 299, 300]) {
      const idx = selectSubset(labels, 10, size, 'stratified', createRng(size));
      assertBalanced(counts(idx), TRAIN_COUNTS, size);
    }
    assert.throws(() => selectSubset(labels, 10, 301, 'stratified', createRng(0)), /outside 0\.\.300/);
  });

  test('stratified: reproducible for a seed, different for another', () => {
    const a = selectSubset(labels, 10, 57, 'stratified', createRng(11));
    const b = selectSubset(labels, 10, 57, 'stratified', createRng(11));
    const c = selectSubset(labels, 10, 57, 'stratified', createRng(12));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    // The leftover 7 samples go to classes chosen by the seed.
    const picks = new Set<string>();
    for (let s = 0; s < 20; s++) picks.add(stratifiedQuotas([9, 9, 9, 9, 9, 9, 9, 9, 9, 9], 57, createRng(s)).join());
    assert.ok(picks.size > 1);
  });

  test('loadDataset: stratified train subset is balanced, labels match the file, reproducible by seed', async () => {
    const spec = {
      name: 'fashion-mnist',
      train_size: 60,
      test_size: 10,
      subset: 'stratified',
      preprocess: 'none',
      seed: 5,
    } as const;
    const a = await loadDataset(spec, env);
    const b = await loadDataset(spec, env);
    const c = await loadDataset({ ...spec, seed: 6 }, env);
    assert.deepEqual(a.info.train.classCounts, new Array(10).fill(6));
    assert.deepEqual(a.info.test.classCounts, new Array(10).fill(1));
    assert.deepEqual(a.train.x, b.train.x);
    assert.deepEqual(a.train.y, b.train.y);
    assert.notDeepEqual(a.train.x, c.train.x);
    // Every selected row is a row of the file with its own label (find it by its pixels).
    const rowOf = new Map<string, number>();
    for (let i = 0; i < labels.length; i++)
      rowOf.set(Buffer.from(fake.train.pixels.subarray(i * 784, (i + 1) * 784)).toString('hex'), i);
    let last = -1;
    for (let r = 0; r < a.train.n; r++) {
      const key = Buffer.from(Uint8Array.from(a.train.x.subarray(r * 784, (r + 1) * 784))).toString('hex');
      const i = rowOf.get(key);
      assert.ok(i !== undefined && i > last, 'a file row, in file order');
      assert.equal(a.train.y![r], labels[i]);
      last = i;
    }
  });

  test('train_size larger than the set is an error naming the key', async () => {
    await assert.rejects(
      loadDataset({ name: 'fashion-mnist', train_size: 301 }, env),
      /data\.train_size: 301 is more than the 300 samples/,
    );
  });
});
