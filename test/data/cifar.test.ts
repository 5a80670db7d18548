import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadCifar10, readCifarBatch, writeCifarBatch } from '../../src/data/cifar.ts';
import { loadDataset } from '../../src/data/dataset.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-cifar-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Pixel byte of record `r` of file `f` at channel c, row h, column w: a fixed formula. */
const pixel = (f: number, r: number, c: number, h: number, w: number): number =>
  (f * 31 + r * 17 + c * 101 + h * 7 + w * 3) % 256;
const label = (f: number, r: number): number => (f * 3 + r * 7) % 10;
const FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
];
const PER_FILE = [3, 2, 4, 1, 2, 5];

/** Writes the six batch files by hand: records of 1 label byte + 1024 R + 1024 G + 1024 B bytes. */
function writeHandBatches(dir: string): void {
  mkdirSync(dir, { recursive: true });
  FILES.forEach((name, f) => {
    const recs: Buffer[] = [];
    for (let r = 0; r < PER_FILE[f]; r++) {
      const rec = Buffer.alloc(3073);
      rec[0] = label(f, r);
      for (let c = 0; c < 3; c++)
        for (let h = 0; h < 32; h++) for (let w = 0; w < 32; w++) rec[1 + c * 1024 + h * 32 + w] = pixel(f, r, c, h, w);
      recs.push(rec);
    }
    writeFileSync(join(dir, name), Buffer.concat(recs));
  });
}

const plain = join(root, 'plain');
before(() => writeHandBatches(plain));

describe('CIFAR-10 binary batches', () => {
  test('loadCifar10 reads the five training batches in order and the test batch, CHW', async () => {
    const src = await loadCifar10(plain, {});
    assert.equal(src.train.n, 3 + 2 + 4 + 1 + 2);
    assert.equal(src.test.n, 5);
    assert.deepEqual(src.train.shape, [3, 32, 32]);
    let row = 0;
    for (let f = 0; f < 5; f++) {
      for (let r = 0; r < PER_FILE[f]; r++, row++) {
        assert.equal(src.train.labels[row], label(f, r));
        for (const [c, h, w] of [
          [0, 0, 0],
          [1, 5, 9],
          [2, 31, 31],
          [2, 0, 17],
        ]) {
          assert.equal(src.train.pixels[row * 3072 + c * 1024 + h * 32 + w], pixel(f, r, c, h, w));
        }
      }
    }
    assert.equal(src.sources.length, 6);
  });

  test('writeCifarBatch → readCifarBatch round trip', async () => {
    const src = await loadCifar10(plain, {});
    const path = join(root, 'rt.bin');
    await writeCifarBatch(path, src.train);
    const back = await readCifarBatch(path);
    assert.deepEqual(back.labels, src.train.labels);
    assert.deepEqual(back.pixels, src.train.pixels);
  });

  test('loadDataset: unflattened [3,32,32] with x[c,h,w] = byte/255; flattened [3072]; found via EDGEWISE_DATA/cifar-10-batches-bin', async () => {
    const nested = join(root, 'env', 'cifar-10-batches-bin');
    writeHandBatches(nested);
    const { train, test, info } = await loadDataset(
      { name: 'cifar10', preprocess: 'scale', flatten: false },
      { EDGEWISE_DATA: join(root, 'env') },
    );
    assert.deepEqual(train.sampleShape, [3, 32, 32]);
    assert.equal(test.n, 5);
    assert.ok(info.sources.every((s) => s.startsWith(nested)));
    // Test batch is file index 5.
    for (let r = 0; r < 5; r++) {
      assert.equal(test.y![r], label(5, r));
      for (const [c, h, w] of [
        [0, 3, 4],
        [2, 30, 1],
      ]) {
        assert.equal(test.x[r * 3072 + c * 1024 + h * 32 + w], Math.fround(pixel(5, r, c, h, w) / 255));
      }
    }
    const flat = await loadDataset(
      { name: 'cifar10', dir: plain, preprocess: 'none', train_size: 4, test_size: 'all' },
      {},
    );
    assert.deepEqual(flat.train.sampleShape, [3072]);
    assert.equal(flat.train.n, 4);
    assert.equal(
      flat.train.x[3 * 3072 + 2 * 1024 + 31 * 32 + 31],
      pixel(1, 0, 2, 31, 31),
      'row 3 = first record of batch 2',
    );
  });

  test('a truncated batch gives an error naming the file', async () => {
    const dir = join(root, 'truncated');
    writeHandBatches(dir);
    const bad = join(dir, 'data_batch_3.bin');
    writeFileSync(bad, Buffer.alloc(3073 * 2 - 100));
    await assert.rejects(loadCifar10(dir, {}), (e: Error) => e.message.includes(bad) && /truncated/.test(e.message));
  });

  test('a label above 9 gives an error naming the file and record', async () => {
    const dir = join(root, 'badlabel');
    writeHandBatches(dir);
    const bad = join(dir, 'test_batch.bin');
    const rec = Buffer.alloc(3073 * 2);
    rec[3073] = 200;
    writeFileSync(bad, rec);
    await assert.rejects(
      loadCifar10(dir, {}),
      (e: Error) => e.message.includes(bad) && /record 1 has label 200/.test(e.message),
    );
  });

  test('a missing or incomplete directory says what is needed', async () => {
    await assert.rejects(loadDataset({ name: 'cifar10' }, {}), /EDGEWISE_DATA is not set.*data_batch_1\.bin/);
    const dir = join(root, 'incomplete');
    writeHandBatches(dir);
    rmSync(join(dir, 'data_batch_4.bin'));
    await assert.rejects(
      loadCifar10(dir, {}),
      (e: Error) => e.message.includes(join(dir, 'data_batch_4.bin')) && /missing/.test(e.message),
    );
  });
});
