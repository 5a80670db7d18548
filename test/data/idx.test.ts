import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, readIdx, writeIdx, type IdxArray } from '../../src/data/idx.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-idx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Hand-written IDX encoder (independent of encodeIdx): header then big-endian elements. */
function handIdx(
  typeByte: number,
  dims: number[],
  width: number,
  put: (b: Buffer, i: number, o: number) => void,
  count: number,
): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length + count * width);
  b[2] = typeByte;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  for (let i = 0; i < count; i++) put(b, i, 4 + 4 * dims.length + i * width);
  return b;
}

describe('IDX reader against hand-written files', () => {
  test('uint8 images [3, 4, 5], raw and gzipped (gzip detected by magic, not by name)', async () => {
    const count = 60;
    const bytes = handIdx(0x08, [3, 4, 5], 1, (b, i, o) => b.writeUInt8((i * 37 + 11) % 256, o), count);
    writeFileSync(join(dir, 'a.idx'), bytes);
    writeFileSync(join(dir, 'a-gz-without-suffix.idx'), gzipSync(bytes));
    for (const f of ['a.idx', 'a-gz-without-suffix.idx']) {
      const arr = await readIdx(join(dir, f));
      assert.equal(arr.dtype, 'uint8');
      assert.deepEqual(arr.dims, [3, 4, 5]);
      assert.ok(arr.data instanceof Uint8Array);
      for (let i = 0; i < count; i++) assert.equal(arr.data[i], (i * 37 + 11) % 256);
    }
  });

  test('big-endian int32, int16, int8, float32, float64', () => {
    const i32 = [-2147483648, -1, 0, 1, 123456789, 2147483647];
    const f32 = [Math.PI, -1e30, 1e-40, 0, -0.5, 42];
    const f64 = [Math.PI, -1e300, 5e-324, 0, -0.5, 42];
    const cases: [number, number, (b: Buffer, i: number, o: number) => void, number[]][] = [
      [0x0c, 4, (b, i, o) => b.writeInt32BE(i32[i], o), i32],
      [0x0b, 2, (b, i, o) => b.writeInt16BE([-32768, -7, 0, 7, 300, 32767][i], o), [-32768, -7, 0, 7, 300, 32767]],
      [0x09, 1, (b, i, o) => b.writeInt8([-128, -1, 0, 1, 50, 127][i], o), [-128, -1, 0, 1, 50, 127]],
      [0x0d, 4, (b, i, o) => b.writeFloatBE(f32[i], o), f32.map(Math.fround)],
      [0x0e, 8, (b, i, o) => b.writeDoubleBE(f64[i], o), f64],
    ];
    for (const [code, width, put, expected] of cases) {
      const arr = parseIdx(handIdx(code, [2, 3], width, put, 6), `case-${code}`);
      assert.deepEqual(arr.dims, [2, 3]);
      assert.deepEqual(Array.from(arr.data), expected, `type 0x${code.toString(16)}`);
    }
  });
});

describe('writeIdx round trip', () => {
  const arrays: IdxArray[] = [
    { dtype: 'uint8', dims: [2, 28, 28], data: Uint8Array.from({ length: 2 * 784 }, (_, i) => (i * 7) % 256) },
    { dtype: 'uint8', dims: [5], data: Uint8Array.from([9, 0, 3, 3, 1]) },
    { dtype: 'int32', dims: [2, 2], data: Int32Array.from([-5, 7, 2147483647, -2147483648]) },
    { dtype: 'float32', dims: [3], data: Float32Array.from([0.1, -2.5, 1e-20]) },
    { dtype: 'float64', dims: [1, 1, 2], data: Float64Array.from([0.1, -1e-300]) },
  ];
  for (const gzip of [false, true]) {
    test(`${gzip ? 'gzipped' : 'raw'} files read back identically`, async () => {
      for (const [k, arr] of arrays.entries()) {
        const path = join(dir, `rt-${k}-${gzip}.idx`);
        await writeIdx(path, arr, { gzip });
        const file = readFileSync(path);
        assert.equal(file[0] === 0x1f && file[1] === 0x8b, gzip, 'gzip magic present exactly when asked');
        const back = await readIdx(path);
        assert.equal(back.dtype, arr.dtype);
        assert.deepEqual(back.dims, arr.dims);
        assert.deepEqual(Array.from(back.data), Array.from(arr.data));
      }
    });
  }

  test('writer output equals the hand-written encoding', () => {
    const data = Int32Array.from([1, -2, 300000]);
    const hand = handIdx(0x0c, [3], 4, (b, i, o) => b.writeInt32BE(data[i], o), 3);
    assert.deepEqual(Buffer.from(encodeIdx({ dtype: 'int32', dims: [3], data })), hand);
  });
});

describe('corrupt or truncated IDX files give errors naming the file and the problem', () => {
  const good = handIdx(0x08, [4, 3, 3], 1, (b, i, o) => b.writeUInt8(i, o), 36);
  const cases: [string, Buffer, RegExp][] = [
    ['truncated-data.idx', good.subarray(0, good.length - 5), /truncated/],
    ['truncated-data.idx.gz', gzipSync(good.subarray(0, good.length - 1)), /truncated/],
    ['truncated-gzip.gz', gzipSync(good).subarray(0, 30), /gzip/],
    ['short-header.idx', good.subarray(0, 9), /truncated header/],
    ['tiny.idx', good.subarray(0, 2), /truncated header/],
    ['bad-magic.idx', Buffer.concat([Buffer.from([0x01, 0x02]), good.subarray(2)]), /magic/],
    ['bad-dtype.idx', Buffer.concat([good.subarray(0, 2), Buffer.from([0x07]), good.subarray(3)]), /element type 0x07/],
    ['trailing.idx', Buffer.concat([good, Buffer.from([1, 2, 3])]), /3 unexpected trailing bytes/],
    ['zero-dims.idx', Buffer.from([0, 0, 8, 0]), /dimensions is 0/],
  ];
  for (const [name, bytes, problem] of cases) {
    test(name, async () => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      await assert.rejects(readIdx(path), (e: Error) => {
        assert.ok(e.message.includes(path), `message names the file: ${e.message}`);
        assert.match(e.message, problem);
        return true;
      });
    });
  }

  test('missing file', async () => {
    const path = join(dir, 'nope.idx');
    await assert.rejects(readIdx(path), (e: Error) => e.message.includes(path) && /cannot read/.test(e.message));
  });
});
