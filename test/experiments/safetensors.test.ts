import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/util/random.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  encodeSafetensorsBytes,
  readSafetensors,
  writeSafetensors,
  type TensorInput,
} from '../../src/experiments/safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-safetensors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// ---- an independent writer of the format, straight from the spec, with explicit byte order.

type Spec = { name: string; dtype: string; shape: number[]; bytes: number[] };

function le(kind: 'f32' | 'f64' | 'i64', values: (number | bigint)[]): number[] {
  const size = kind === 'f32' ? 4 : 8;
  const dv = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => {
    if (kind === 'f32') dv.setFloat32(i * size, v as number, true);
    else if (kind === 'f64') dv.setFloat64(i * size, v as number, true);
    else dv.setBigInt64(i * size, v as bigint, true);
  });
  return [...new Uint8Array(dv.buffer)];
}

/** Builds a file by hand: u64 LE header length, header JSON padded with spaces to a multiple of 8, data. */
function handBuilt(
  tensors: Spec[],
  metadata: Record<string, string> | null,
  opts: { pad?: boolean; headerOrder?: string[] } = {},
): Uint8Array {
  const entries: Record<string, string> = {};
  let off = 0;
  for (const t of tensors) {
    entries[t.name] =
      `{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${off},${off + t.bytes.length}]}`;
    off += t.bytes.length;
  }
  const order = opts.headerOrder ?? tensors.map((t) => t.name);
  const parts = order.map((n) => `"${n}":${entries[n]}`);
  if (metadata !== null)
    parts.unshift(
      `"__metadata__":{${Object.entries(metadata)
        .map(([k, v]) => `"${k}":"${v}"`)
        .join(',')}}`,
    );
  let header = `{${parts.join(',')}}`;
  if (opts.pad ?? true) while (header.length % 8 !== 0) header += ' ';
  const out: number[] = [];
  let n = header.length; // ASCII header: bytes = characters
  for (let i = 0; i < 8; i++) {
    out.push(n % 256);
    n = Math.floor(n / 256);
  }
  for (const ch of header) out.push(ch.charCodeAt(0));
  for (const t of tensors) out.push(...t.bytes);
  return new Uint8Array(out);
}

const W = [1, -2, 0.5, 3];
const B = [1e-300, Number.NEGATIVE_INFINITY];
const IDX = [0n, -1n, 2n ** 62n];
const SPECS: Spec[] = [
  { name: 'layer0.weight', dtype: 'F32', shape: [2, 2], bytes: le('f32', W) },
  { name: 'layer0.bias', dtype: 'F64', shape: [2], bytes: le('f64', B) },
  { name: 'idx', dtype: 'I64', shape: [3], bytes: le('i64', IDX) },
];

test('reads a file built by hand from the spec (header padded with spaces to 8 bytes)', () => {
  const bytes = handBuilt(SPECS, { format: 'pt', note: 'hand' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0);
  const r = decodeSafetensors(bytes, 'hand.safetensors');
  assert.deepEqual(r.metadata, { format: 'pt', note: 'hand' });
  assert.deepEqual(
    r.tensors.map((t) => t.name),
    ['layer0.weight', 'layer0.bias', 'idx'],
  );
  assert.deepEqual(
    r.tensors.map((t) => t.dtype),
    ['F32', 'F64', 'I64'],
  );
  assert.deepEqual(r.tensors[0].shape, [2, 2]);
  assert.ok(r.tensors[0].data instanceof Float32Array);
  assert.deepEqual([...r.tensors[0].data], W);
  assert.deepEqual([...r.tensors[1].data], B);
  assert.ok(r.tensors[2].data instanceof BigInt64Array);
  assert.deepEqual([...r.tensors[2].data], IDX);
});

test('the writer produces exactly the bytes of the hand-built file', () => {
  const tensors: TensorInput[] = [
    { name: 'layer0.weight', shape: [2, 2], data: Float32Array.from(W) },
    { name: 'layer0.bias', shape: [2], data: Float64Array.from(B) },
    { name: 'idx', shape: [3], data: BigInt64Array.from(IDX) },
  ];
  assert.deepEqual(
    encodeSafetensors(tensors, { format: 'pt', note: 'hand' }),
    Buffer.from(handBuilt(SPECS, { format: 'pt', note: 'hand' })),
  );
  assert.deepEqual(encodeSafetensors(tensors), Buffer.from(handBuilt(SPECS, null)));
  // The byte-level encoder (no Buffer: browsers too) gives the same bytes.
  assert.deepEqual(
    encodeSafetensorsBytes(tensors, { format: 'pt', note: 'hand' }),
    handBuilt(SPECS, { format: 'pt', note: 'hand' }),
  );
  assert.deepEqual(encodeSafetensorsBytes(tensors), handBuilt(SPECS, null));
});

test('reads files whose header order differs from the data order, unpadded, without metadata', () => {
  const bytes = handBuilt(SPECS, null, { pad: false, headerOrder: ['idx', 'layer0.bias', 'layer0.weight'] });
  const r = decodeSafetensors(bytes);
  assert.deepEqual(r.metadata, {});
  // Tensors come back in data order.
  assert.deepEqual(
    r.tensors.map((t) => t.name),
    ['layer0.weight', 'layer0.bias', 'idx'],
  );
  assert.deepEqual([...r.tensors[1].data], B);
});

test('round trip: dtypes, shapes (scalar, empty), metadata, order, unaligned data', () => {
  const rng = createRng(3);
  const big = Float64Array.from({ length: 1001 }, () => rng.normal());
  const tensors: TensorInput[] = [
    { name: 'odd.f32', shape: [3], data: Float32Array.from([0.1, -0, 7]) }, // 12 bytes: the next tensor is not 8-aligned
    { name: 'big.f64', shape: [7, 11, 13], data: big },
    { name: 'steps', shape: [2], data: BigInt64Array.from([-5n, 9007199254740993n]) },
    { name: 'i32', shape: [2, 1], data: Int32Array.from([-2147483648, 2147483647]) },
    { name: 'u8', shape: [3], data: Uint8Array.from([0, 128, 255]) },
    { name: 'mask', shape: [2], data: Uint8Array.from([1, 0]), dtype: 'BOOL' },
    { name: 'half', shape: [1], data: Uint16Array.from([0x3c00]), dtype: 'F16' },
    { name: 'scalar', shape: [], data: Float64Array.from([Math.PI]) },
    { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
    { name: 'nan', shape: [2], data: Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY]) },
  ];
  const file = join(dir, 'round.safetensors');
  writeSafetensors(file, tensors, { step: '12', json: '{"a": [1, 2]}' });
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.tmp-')),
    [],
  );
  const r = readSafetensors(file);
  assert.deepEqual(r.metadata, { step: '12', json: '{"a": [1, 2]}' });
  assert.deepEqual(
    r.tensors.map((t) => t.name),
    tensors.map((t) => t.name),
  );
  for (let i = 0; i < tensors.length; i++) {
    assert.deepEqual(r.tensors[i].shape, tensors[i].shape, tensors[i].name);
    assert.equal(r.tensors[i].data.constructor, tensors[i].data.constructor, tensors[i].name);
    assert.deepEqual([...r.tensors[i].data], [...tensors[i].data], tensors[i].name);
  }
  assert.deepEqual(
    r.tensors.map((t) => t.dtype),
    ['F32', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'F16', 'F64', 'F32', 'F32'],
  );
  assert.ok(Object.is(r.tensors[0].data[1], -0));
});

test('a subarray view is written as its own elements only', () => {
  const whole = Float32Array.from([9, 1, 2, 9]);
  const r = decodeSafetensors(encodeSafetensors([{ name: 'v', shape: [2], data: whole.subarray(1, 3) }]));
  assert.deepEqual([...r.tensors[0].data], [1, 2]);
});

test('the writer rejects inconsistent tensors', () => {
  assert.throws(
    () => encodeSafetensors([{ name: 'a', shape: [3], data: new Float32Array(2) }]),
    /shape \[3\] has 3 elements but data has 2/,
  );
  assert.throws(
    () =>
      encodeSafetensors([
        { name: 'a', shape: [1], data: new Float32Array(1) },
        { name: 'a', shape: [1], data: new Float32Array(1) },
      ]),
    /duplicate tensor name "a"/,
  );
  assert.throws(
    () => encodeSafetensors([{ name: 'a', shape: [1], data: new Float32Array(1), dtype: 'F64' }]),
    /dtype F64 needs a Float64Array/,
  );
  assert.throws(
    () => encodeSafetensors([{ name: '__metadata__', shape: [1], data: new Float32Array(1) }]),
    /invalid tensor name/,
  );
  assert.throws(() => encodeSafetensors([{ name: 'a', shape: [-1], data: new Float32Array(0) }]), /shape must be/);
});

function corrupt(name: string, bytes: Uint8Array | number[]): string {
  const p = join(dir, name);
  writeFileSync(p, Uint8Array.from(bytes));
  return p;
}

/** A file with this header text (padded) and `dataLen` zero bytes of data. */
function withHeader(header: string, dataLen: number): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + h.length + dataLen);
  out.writeBigUInt64LE(BigInt(h.length));
  h.copy(out, 8);
  return out;
}

test('corrupted files give errors naming the file', () => {
  const good = handBuilt(SPECS, { format: 'pt' });
  const cases: [string, Uint8Array | number[], RegExp][] = [
    ['short.safetensors', [1, 2, 3], /too short/],
    ['truncated.safetensors', good.subarray(0, good.length - 4), /idx.*out of range/],
    ['cut-header.safetensors', good.subarray(0, 20), /header length \d+ exceeds/],
    ['huge-header.safetensors', [0, 0, 0, 0, 0, 0, 0, 0x80, ...good.subarray(8)], /header length \d+ exceeds/],
    ['not-json.safetensors', withHeader('{"a": ', 0), /header is not valid JSON/],
    ['not-object.safetensors', withHeader('[1, 2]  ', 0), /does not start with "\{"/],
    ['bad-utf8.safetensors', [...withHeader('{"a"}   ', 0)].map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/],
    [
      'out-of-range.safetensors',
      withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4),
      /"a".*out of range/,
    ],
    [
      'overlap.safetensors',
      withHeader(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
        12,
      ),
      /"a" and "b" overlap/,
    ],
    [
      'gap.safetensors',
      withHeader(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
        12,
      ),
      /bytes 4\.\.8 .* belong to no tensor/,
    ],
    [
      'trailing.safetensors',
      withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 8),
      /4 bytes after the last tensor/,
    ],
    [
      'size-mismatch.safetensors',
      withHeader('{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}', 4),
      /"a": 4 bytes .* F64 \[1\] needs 8/,
    ],
    [
      'bad-dtype.safetensors',
      withHeader('{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}', 1),
      /"a": unsupported dtype "F8"/,
    ],
    ['bad-offsets.safetensors', withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', 4), /begin > end/],
    [
      'bad-shape.safetensors',
      withHeader('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', 4),
      /shape must be/,
    ],
    ['bad-meta.safetensors', withHeader('{"__metadata__":{"a":1}}', 0), /__metadata__ must map strings to strings/],
  ];
  for (const [name, bytes, re] of cases) {
    const p = corrupt(name, bytes);
    assert.throws(
      () => readSafetensors(p),
      (e: Error) => e.message.startsWith(`${p}: invalid safetensors file: `) && re.test(e.message),
      `${name}: ${(() => {
        try {
          readSafetensors(p);
          return 'no error';
        } catch (e) {
          return (e as Error).message;
        }
      })()}`,
    );
  }
  const missing = join(dir, 'missing.safetensors');
  assert.throws(
    () => readSafetensors(missing),
    (e: Error) => e.message.startsWith(missing) && /no such file/.test(e.message),
  );
  // Sanity: the uncorrupted file reads.
  assert.equal(readSafetensors(corrupt('good.safetensors', good)).tensors.length, 3);
  assert.equal(readFileSync(join(dir, 'good.safetensors')).length, good.length);
});
