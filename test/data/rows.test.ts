import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkDataset, classCounts, oneHot, slice, takeRows, type Dataset } from '../../src/data/dataset.ts';

const cls: Dataset = {
  x: Float32Array.from({ length: 5 * 6 }, (_, t) => t),
  y: Int32Array.from([2, 0, 1, 2, 1]),
  targets: null,
  n: 5,
  sampleShape: [2, 3],
  numClasses: 3,
};
const reg: Dataset = {
  x: Float32Array.from({ length: 4 * 2 }, (_, t) => -t),
  y: null,
  targets: Float32Array.from({ length: 4 * 3 }, (_, t) => t / 10),
  n: 4,
  sampleShape: [2],
  numClasses: 3,
};

describe('row helpers', () => {
  test('oneHot puts a single 1 at each label', () => {
    assert.deepEqual(Array.from(oneHot([2, 0, 1], 3)), [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    assert.throws(() => oneHot([3], 3), /label 3 at index 0/);
  });

  test('takeRows gathers rows (with repeats) and their labels/targets', () => {
    const b = takeRows(cls, [4, 0, 4]);
    assert.equal(b.n, 3);
    assert.deepEqual(b.sampleShape, [2, 3]);
    assert.deepEqual(Array.from(b.x), [24, 25, 26, 27, 28, 29, 0, 1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29]);
    assert.deepEqual(Array.from(b.y!), [1, 2, 1]);
    const r = takeRows(reg, [3, 1]);
    assert.deepEqual(Array.from(r.x), [-6, -7, -2, -3]);
    assert.deepEqual(Array.from(r.targets!), [0.9, 1.0, 1.1, 0.3, 0.4, 0.5].map(Math.fround));
    assert.equal(r.y, null);
    assert.throws(() => takeRows(cls, [5]), /index 5/);
  });

  test('slice copies a contiguous chunk, clamps the end', () => {
    const s = slice(cls, 3, 99);
    assert.equal(s.n, 2);
    assert.deepEqual(Array.from(s.y!), [2, 1]);
    assert.deepEqual(
      Array.from(s.x),
      Array.from({ length: 12 }, (_, t) => 18 + t),
    );
    s.x[0] = 1000;
    assert.equal(cls.x[18], 18, 'a copy, not a view');
    assert.deepEqual(Array.from(slice(reg, 1, 2).targets!), [0.3, 0.4, 0.5].map(Math.fround));
  });

  test('classCounts and checkDataset', () => {
    assert.deepEqual(classCounts(cls.y!, 3), [1, 2, 2]);
    assert.equal(checkDataset(cls), cls);
    assert.throws(() => checkDataset({ ...cls, n: 4 }), /x has 30 floats/);
    assert.throws(() => checkDataset({ ...cls, targets: reg.targets }), /exactly one of y/);
  });
});
