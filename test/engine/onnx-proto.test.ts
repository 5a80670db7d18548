import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import {
  DEFAULT_OPSET,
  ProtoWriter,
  encodeModel,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensorValue,
  type OnnxValueInfo,
} from '../../src/engine/onnx/proto.ts';
import { createSession } from '../../src/engine/onnx/session.ts';
import { createRng, type Rng } from '../../src/util/random.ts';

// ---------------------------------------------------------------------------------------------
// helpers (oracles are plain float64 loops written here, independent of onnxruntime)
// ---------------------------------------------------------------------------------------------

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function model(
  nodes: OnnxNode[],
  inputs: OnnxValueInfo[],
  outputs: OnnxValueInfo[],
  initializers: OnnxTensorValue[] = [],
): OnnxModel {
  return { graphName: 'test', opset: DEFAULT_OPSET, nodes, inputs, outputs, initializers };
}

async function runModel(m: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await createSession(encodeModel(m), { threads: 1 });
  try {
    const out = await session.run(feeds);
    const result: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(out)) result[k] = v as ort.Tensor;
    return result;
  } finally {
    await session.release();
  }
}

function randomF32(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

const f32 = (data: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor('float32', data, dims);

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

const prod = (d: number[]): number => d.reduce((a, b) => a * b, 1);

function strides(d: number[]): number[] {
  const s = new Array<number>(d.length).fill(1);
  for (let i = d.length - 2; i >= 0; i--) s[i] = s[i + 1] * d[i + 1];
  return s;
}

/** Numpy-style broadcast of a binary op, in float64. */
function broadcast(
  a: ArrayLike<number>,
  ad: number[],
  b: ArrayLike<number>,
  bd: number[],
  op: (x: number, y: number) => number,
): { data: Float64Array; dims: number[] } {
  const r = Math.max(ad.length, bd.length);
  const pa = [...new Array<number>(r - ad.length).fill(1), ...ad];
  const pb = [...new Array<number>(r - bd.length).fill(1), ...bd];
  const od = pa.map((x, i) => Math.max(x, pb[i]));
  const sa = strides(pa);
  const sb = strides(pb);
  const so = strides(od);
  const out = new Float64Array(prod(od));
  for (let i = 0; i < out.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < r; k++) {
      const idx = Math.floor(i / so[k]) % od[k];
      if (pa[k] !== 1) ia += idx * sa[k];
      if (pb[k] !== 1) ib += idx * sb[k];
    }
    out[i] = op(a[ia], b[ib]);
  }
  return { data: out, dims: od };
}

// ---------------------------------------------------------------------------------------------
// wire format, against the worked examples of the protobuf encoding guide
// ---------------------------------------------------------------------------------------------

test('varint and tag encoding match the protobuf spec examples', () => {
  assert.equal(hex(new ProtoWriter().int64(1, 150).finish()), '089601');
  assert.equal(hex(new ProtoWriter().int64(1, 1).finish()), '0801');
  assert.equal(hex(new ProtoWriter().varint(300).finish()), 'ac02');
  assert.equal(hex(new ProtoWriter().string(2, 'testing').finish()), '120774657374696e67');
  // int64 -2 is sign-extended to 10 bytes.
  assert.equal(hex(new ProtoWriter().varint(-2).finish()), 'feffffffffffffffff01');
  assert.equal(hex(new ProtoWriter().varint(-2n).finish()), 'feffffffffffffffff01');
  // Packed repeated [3, 270, 86942] in field 4.
  assert.equal(hex(new ProtoWriter().packedInt64(4, [3, 270, 86942]).finish()), '2206038e029ea705');
  // Embedded message: field 3 holding {field 1 = 150}.
  assert.equal(hex(new ProtoWriter().message(3, (m) => m.int64(1, 150)).finish()), '1a03089601');
  // Field numbers >= 16 need a two-byte tag: (20 << 3) | 0 = 160.
  assert.equal(hex(new ProtoWriter().int64(20, 2).finish()), 'a00102');
});

test('fixed-width floats are little-endian IEEE 754', () => {
  assert.equal(hex(new ProtoWriter().float(2, 1).finish()), '150000803f');
  assert.equal(hex(new ProtoWriter().double(1, 1).finish()), '09000000000000f03f');
  assert.equal(hex(new ProtoWriter().packedFloat(7, [1, -2]).finish()), '3a080000803f000000c0');
  assert.equal(new ProtoWriter().packedFloat(7, []).finish().length, 0);
});

test('varints round-trip through an independent BigInt decoder', () => {
  const decode = (b: Uint8Array): bigint => {
    let v = 0n;
    for (let i = 0; i < b.length; i++) {
      v |= BigInt(b[i] & 127) << BigInt(7 * i);
      assert.equal((b[i] & 128) !== 0, i < b.length - 1, 'continuation bits');
    }
    return BigInt.asIntN(64, v);
  };
  const rng = createRng(7);
  const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, -1, -(2 ** 40)];
  for (let i = 0; i < 200; i++) values.push(Math.floor((rng.uniform() - 0.5) * 2 ** (1 + rng.int(53))));
  for (const v of values) assert.equal(decode(new ProtoWriter().varint(v).finish()), BigInt(v), `value ${v}`);
  assert.throws(() => new ProtoWriter().varint(0.5), RangeError);
});

test('large payloads and many nested messages concatenate in order', () => {
  const big = new Uint8Array(100_000).map((_, i) => i % 251);
  const w = new ProtoWriter();
  for (let i = 0; i < 300; i++) w.message(1, (m) => m.int64(1, i));
  w.bytes(2, big).int64(3, 5);
  const out = w.finish();
  assert.equal(out.length, w.length);
  // The 300 messages are 4-5 bytes each; find the payload after them.
  let off = 0;
  for (let i = 0; i < 300; i++) {
    assert.equal(out[off], 0x0a);
    off += 2 + out[off + 1];
  }
  assert.deepEqual([...out.subarray(off, off + 4)], [0x12, 0xa0, 0x8d, 0x06]); // 100000 as varint
  assert.deepEqual(out.subarray(off + 4, off + 4 + big.length), big);
  assert.equal(hex(out.subarray(off + 4 + big.length)), '1805');
});

// ---------------------------------------------------------------------------------------------
// models run in onnxruntime
// ---------------------------------------------------------------------------------------------

test('Add and Mul with broadcasting (float32)', async () => {
  const rng = createRng(1);
  const a = randomF32(rng, 24);
  const b = randomF32(rng, 3);
  const c = randomF32(rng, 4);
  const out = await runModel(
    model(
      [
        { opType: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
        { opType: 'Mul', inputs: ['s', 'c'], outputs: ['y'] },
      ],
      [
        { name: 'a', type: 'float32', shape: [2, 3, 4] },
        { name: 'b', type: 'float32', shape: [3, 1] },
      ],
      [{ name: 'y', type: 'float32', shape: [2, 3, 4] }],
      [{ name: 'c', type: 'float32', dims: [4], data: c }],
    ),
    { a: f32(a, [2, 3, 4]), b: f32(b, [3, 1]) },
  );
  const s = broadcast(a, [2, 3, 4], b, [3, 1], (x, y) => x + y);
  const ref = broadcast(s.data, s.dims, c, [4], (x, y) => x * y);
  assert.deepEqual(out.y.dims, [2, 3, 4]);
  assertClose(out.y.data as Float32Array, ref.data, 1e-6, 'y');
});

test('Gemm with transA, transB, alpha, beta and initializers', async () => {
  const rng = createRng(2);
  const [M, K, N] = [3, 5, 4];
  const at = randomF32(rng, K * M); // A stored transposed: [K, M]
  const bt = randomF32(rng, N * K); // B stored transposed: [N, K]
  const bias = randomF32(rng, N);
  const [alpha, beta] = [0.5, -2];
  const out = await runModel(
    model(
      [
        {
          opType: 'Gemm',
          inputs: ['at', 'bt', 'bias'],
          outputs: ['y'],
          name: 'gemm0',
          attributes: [
            { name: 'transA', kind: 'int', value: 1 },
            { name: 'transB', kind: 'int', value: 1 },
            { name: 'alpha', kind: 'float', value: alpha },
            { name: 'beta', kind: 'float', value: beta },
          ],
        },
      ],
      [{ name: 'at', type: 'float32', shape: [K, M] }],
      [{ name: 'y', type: 'float32', shape: [M, N] }],
      [
        { name: 'bt', type: 'float32', dims: [N, K], data: bt },
        { name: 'bias', type: 'float32', dims: [N], data: bias },
      ],
    ),
    { at: f32(at, [K, M]) },
  );
  const ref = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += at[k * M + i] * bt[j * K + k];
      ref[i * N + j] = alpha * acc + beta * bias[j];
    }
  assertClose(out.y.data as Float32Array, ref, 1e-5, 'gemm');
});

test('batched MatMul, then Tanh', async () => {
  const rng = createRng(3);
  const [B, M, K, N] = [2, 3, 4, 5];
  const a = randomF32(rng, B * M * K);
  const b = randomF32(rng, K * N);
  const out = await runModel(
    model(
      [
        { opType: 'MatMul', inputs: ['a', 'b'], outputs: ['p'] },
        { opType: 'Tanh', inputs: ['p'], outputs: ['y'] },
      ],
      [
        { name: 'a', type: 'float32', shape: [B, M, K] },
        { name: 'b', type: 'float32', shape: [K, N] },
      ],
      [
        { name: 'p', type: 'float32', shape: [B, M, N] },
        { name: 'y', type: 'float32', shape: [B, M, N] },
      ],
    ),
    { a: f32(a, [B, M, K]), b: f32(b, [K, N]) },
  );
  const ref = new Float64Array(B * M * N);
  for (let bb = 0; bb < B; bb++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a[(bb * M + i) * K + k] * b[k * N + j];
        ref[(bb * M + i) * N + j] = acc;
      }
  assertClose(out.p.data as Float32Array, ref, 1e-5, 'matmul');
  assertClose(out.y.data as Float32Array, ref.map(Math.tanh), 1e-6, 'tanh');
});

test('a negative shape entry is a dynamic dimension', async () => {
  const rng = createRng(4);
  const w = randomF32(rng, 6);
  const m = model(
    [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    [{ name: 'x', type: 'float32', shape: [-1, 3] }],
    [{ name: 'y', type: 'float32', shape: [-1, 2] }],
    [{ name: 'w', type: 'float32', dims: [3, 2], data: w }],
  );
  const session = await createSession(encodeModel(m), { threads: 1 });
  try {
    for (const batch of [1, 4]) {
      const x = randomF32(rng, batch * 3);
      const out = (await session.run({ x: f32(x, [batch, 3]) })).y;
      assert.deepEqual(out.dims, [batch, 2]);
      const ref = new Float64Array(batch * 2);
      for (let i = 0; i < batch; i++)
        for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) ref[i * 2 + j] += x[i * 3 + k] * w[k * 2 + j];
      assertClose(out.data as Float32Array, ref, 1e-5, `batch ${batch}`);
    }
  } finally {
    await session.release();
  }
});

test('sessions with and without spinning workers give the same product on 2 threads', async () => {
  // The binding rejects a session config entry whose value is not a string (checked by hand: a
  // number gives "sessionOptions.extra value must be a string"), so this also checks the form.
  const rng = createRng(5);
  const [K, N, B] = [64, 48, 32];
  const w = randomF32(rng, K * N);
  const x = randomF32(rng, B * K);
  const m = model(
    [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    [{ name: 'x', type: 'float32', shape: [-1, K] }],
    [{ name: 'y', type: 'float32', shape: [-1, N] }],
    [{ name: 'w', type: 'float32', dims: [K, N], data: w }],
  );
  const ref = new Float64Array(B * N);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) ref[i * N + j] += x[i * K + k] * w[k * N + j];
  for (const spinning of [false, true]) {
    const session = await createSession(encodeModel(m), { threads: 2, spinning });
    try {
      const out = (await session.run({ x: f32(x, [B, K]) })).y;
      assertClose(out.data as Float32Array, ref, 1e-4, `spinning ${spinning}`);
    } finally {
      await session.release();
    }
  }
});

test('declared value types and shapes reach onnxruntime metadata', async () => {
  const inputs: OnnxValueInfo[] = [
    { name: 'x', type: 'float32', shape: [-1, 3, 7] },
    { name: 'n', type: 'int64', shape: [] },
    { name: 'm', type: 'bool', shape: [5] },
    { name: 'd', type: 'float64', shape: [2, 1] },
    { name: 'k', type: 'int32', shape: [4] },
  ];
  const outputs: OnnxValueInfo[] = inputs.map((v) => ({ ...v, name: `${v.name}_out` }));
  const m = model(
    inputs.map((v) => ({ opType: 'Identity', inputs: [v.name], outputs: [`${v.name}_out`] })),
    inputs,
    outputs,
  );
  const session = await createSession(encodeModel(m), { threads: 1 });
  try {
    // onnxruntime reports an unknown dimension as the empty symbolic name ''.
    const expected = (vs: OnnxValueInfo[]) =>
      vs.map((v) => ({ name: v.name, isTensor: true, type: v.type, shape: v.shape.map((d) => (d < 0 ? '' : d)) }));
    assert.deepEqual(
      session.inputMetadata.map((v) => ({ ...v })),
      expected(inputs),
    );
    assert.deepEqual(
      session.outputMetadata.map((v) => ({ ...v })),
      expected(outputs),
    );
  } finally {
    await session.release();
  }
});

test('ReduceSum with axes as an int64 input tensor, keepdims 0 and 1', async () => {
  const rng = createRng(5);
  const x = randomF32(rng, 2 * 3 * 4);
  for (const keepdims of [0, 1]) {
    const out = await runModel(
      model(
        [
          {
            opType: 'ReduceSum',
            inputs: ['x', 'axes'],
            outputs: ['y'],
            attributes: [{ name: 'keepdims', kind: 'int', value: keepdims }],
          },
        ],
        [
          { name: 'x', type: 'float32', shape: [2, 3, 4] },
          { name: 'axes', type: 'int64', shape: [2] },
        ],
        [{ name: 'y', type: 'float32', shape: keepdims ? [1, 3, 1] : [3] }],
      ),
      // Axis -1 checks that negative int64 values survive the feed.
      { x: f32(x, [2, 3, 4]), axes: new ort.Tensor('int64', new BigInt64Array([0n, -1n]), [2]) },
    );
    assert.deepEqual(out.y.dims, keepdims ? [1, 3, 1] : [3]);
    const ref = new Float64Array(3);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) ref[j] += x[(i * 3 + j) * 4 + k];
    assertClose(out.y.data as Float32Array, ref, 1e-5, `keepdims=${keepdims}`);
  }
});

test('Reshape with an int64 shape initializer (including -1), then Transpose with perm', async () => {
  const x = new Float32Array(24).map((_, i) => i);
  const out = await runModel(
    model(
      [
        { opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] },
        {
          opType: 'Transpose',
          inputs: ['r'],
          outputs: ['y'],
          attributes: [{ name: 'perm', kind: 'ints', value: [2, 0, 1] }],
        },
      ],
      [{ name: 'x', type: 'float32', shape: [24] }],
      [
        { name: 'r', type: 'float32', shape: [2, 3, 4] },
        { name: 'y', type: 'float32', shape: [4, 2, 3] },
      ],
      [{ name: 'shape', type: 'int64', dims: [3], data: new BigInt64Array([2n, -1n, 4n]) }],
    ),
    { x: f32(x, [24]) },
  );
  assert.deepEqual(out.r.dims, [2, 3, 4]);
  assert.deepEqual([...(out.r.data as Float32Array)], [...x]);
  assert.deepEqual(out.y.dims, [4, 2, 3]);
  const ref: number[] = [];
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) ref.push(x[(i * 3 + j) * 4 + k]);
  assert.deepEqual([...(out.y.data as Float32Array)], ref);
});

test('Conv with pads and strides matches a naive loop', async () => {
  const rng = createRng(6);
  const [N, C, H, W] = [1, 2, 5, 6];
  const [F, KH, KW] = [3, 3, 2];
  const pads = [1, 0, 2, 1]; // [top, left, bottom, right]
  const st = [2, 1];
  const x = randomF32(rng, N * C * H * W);
  const w = randomF32(rng, F * C * KH * KW);
  const bias = randomF32(rng, F);
  const OH = Math.floor((H + pads[0] + pads[2] - KH) / st[0]) + 1;
  const OW = Math.floor((W + pads[1] + pads[3] - KW) / st[1]) + 1;
  const out = await runModel(
    model(
      [
        {
          opType: 'Conv',
          inputs: ['x', 'w', 'b'],
          outputs: ['y'],
          attributes: [
            { name: 'kernel_shape', kind: 'ints', value: [KH, KW] },
            { name: 'pads', kind: 'ints', value: pads },
            { name: 'strides', kind: 'ints', value: st },
          ],
        },
      ],
      [{ name: 'x', type: 'float32', shape: [N, C, H, W] }],
      [{ name: 'y', type: 'float32', shape: [N, F, OH, OW] }],
      [
        { name: 'w', type: 'float32', dims: [F, C, KH, KW], data: w },
        { name: 'b', type: 'float32', dims: [F], data: bias },
      ],
    ),
    { x: f32(x, [N, C, H, W]) },
  );
  assert.deepEqual(out.y.dims, [N, F, OH, OW]);
  const ref = new Float64Array(N * F * OH * OW);
  for (let f = 0; f < F; f++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let acc = bias[f];
        for (let c = 0; c < C; c++)
          for (let kh = 0; kh < KH; kh++)
            for (let kw = 0; kw < KW; kw++) {
              const ih = oh * st[0] - pads[0] + kh;
              const iw = ow * st[1] - pads[1] + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              acc += x[(c * H + ih) * W + iw] * w[((f * C + c) * KH + kh) * KW + kw];
            }
        ref[(f * OH + oh) * OW + ow] = acc;
      }
  assertClose(out.y.data as Float32Array, ref, 1e-5, 'conv');
});

test('Greater and Where with bool tensors in and out', async () => {
  const rng = createRng(8);
  const a = randomF32(rng, 10);
  const b = randomF32(rng, 10);
  const flip = new Uint8Array(10).map(() => rng.int(2));
  const out = await runModel(
    model(
      [
        { opType: 'Greater', inputs: ['a', 'b'], outputs: ['gt'] },
        { opType: 'Xor', inputs: ['gt', 'flip'], outputs: ['cond'] },
        { opType: 'Where', inputs: ['cond', 'a', 'b'], outputs: ['y'] },
      ],
      [
        { name: 'a', type: 'float32', shape: [10] },
        { name: 'b', type: 'float32', shape: [10] },
        { name: 'flip', type: 'bool', shape: [10] },
      ],
      [
        { name: 'gt', type: 'bool', shape: [10] },
        { name: 'y', type: 'float32', shape: [10] },
      ],
    ),
    { a: f32(a, [10]), b: f32(b, [10]), flip: new ort.Tensor('bool', flip, [10]) },
  );
  assert.equal(out.gt.type, 'bool');
  assert.ok(out.gt.data instanceof Uint8Array, 'out.gt.data instanceof Uint8Array');
  assert.deepEqual(
    [...(out.gt.data as Uint8Array)],
    [...a].map((v, i) => (v > b[i] ? 1 : 0)),
  );
  const ref = [...a].map((v, i) => (v > b[i] !== (flip[i] === 1) ? v : b[i]));
  assert.deepEqual([...(out.y.data as Float32Array)], ref);
});

test('a bool initializer is stored one byte per element', async () => {
  const mask = new Uint8Array([1, 0, 0, 1, 1]);
  const x = new Float32Array([1, 2, 3, 4, 5]);
  const out = await runModel(
    model(
      [{ opType: 'Where', inputs: ['mask', 'x', 'zero'], outputs: ['y'] }],
      [{ name: 'x', type: 'float32', shape: [5] }],
      [{ name: 'y', type: 'float32', shape: [5] }],
      [
        { name: 'mask', type: 'bool', dims: [5], data: mask },
        { name: 'zero', type: 'float32', dims: [], data: new Float32Array([0]) },
      ],
    ),
    { x: f32(x, [5]) },
  );
  assert.deepEqual([...(out.y.data as Float32Array)], [1, 0, 0, 4, 5]);
});

test('Cast between float32, int32, int64 and bool', async () => {
  const x = new Float32Array([-3, 0, 2, 7, 1e6]);
  const out = await runModel(
    model(
      [
        { opType: 'Cast', inputs: ['x'], outputs: ['i64'], attributes: [{ name: 'to', kind: 'int', value: 7 }] },
        { opType: 'Cast', inputs: ['x'], outputs: ['i32'], attributes: [{ name: 'to', kind: 'int', value: 6 }] },
        { opType: 'Cast', inputs: ['x'], outputs: ['b'], attributes: [{ name: 'to', kind: 'int', value: 9 }] },
        { opType: 'Cast', inputs: ['i32'], outputs: ['f64'], attributes: [{ name: 'to', kind: 'int', value: 11 }] },
      ],
      [{ name: 'x', type: 'float32', shape: [5] }],
      [
        { name: 'i64', type: 'int64', shape: [5] },
        { name: 'i32', type: 'int32', shape: [5] },
        { name: 'b', type: 'bool', shape: [5] },
        { name: 'f64', type: 'float64', shape: [5] },
      ],
    ),
    { x: f32(x, [5]) },
  );
  assert.ok(out.i64.data instanceof BigInt64Array, 'out.i64.data instanceof BigInt64Array');
  assert.deepEqual(
    [...(out.i64.data as BigInt64Array)],
    [...x].map((v) => BigInt(v)),
  );
  assert.ok(out.i32.data instanceof Int32Array, 'out.i32.data instanceof Int32Array');
  assert.deepEqual([...(out.i32.data as Int32Array)], [...x]);
  assert.deepEqual(
    [...(out.b.data as Uint8Array)],
    [...x].map((v) => (v !== 0 ? 1 : 0)),
  );
  assert.ok(out.f64.data instanceof Float64Array, 'out.f64.data instanceof Float64Array');
  assert.deepEqual([...(out.f64.data as Float64Array)], [...x]);
});

test('float64 model keeps double precision', async () => {
  const rng = createRng(9);
  const x = new Float64Array(6).map(() => rng.normal());
  const c = new Float64Array(6).map((_, i) => 0.1 + i * 1e-12); // not representable in float32
  const out = await runModel(
    model(
      [{ opType: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
      [{ name: 'x', type: 'float64', shape: [2, 3] }],
      [{ name: 'y', type: 'float64', shape: [2, 3] }],
      [{ name: 'c', type: 'float64', dims: [2, 3], data: c }],
    ),
    { x: new ort.Tensor('float64', x, [2, 3]) },
  );
  assert.ok(out.y.data instanceof Float64Array, 'out.y.data instanceof Float64Array');
  // IEEE addition is exactly specified, so the double results must match bit for bit.
  assert.deepEqual(
    [...(out.y.data as Float64Array)],
    [...x].map((v, i) => v + c[i]),
  );
});

test('scalar (dims []) initializer and scalar output', async () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6]);
  const out = await runModel(
    model(
      [
        { opType: 'Mul', inputs: ['x', 'k'], outputs: ['kx'] },
        {
          opType: 'ReduceSum',
          inputs: ['kx'],
          outputs: ['y'],
          attributes: [{ name: 'keepdims', kind: 'int', value: 0 }],
        },
      ],
      [{ name: 'x', type: 'float32', shape: [2, 3] }],
      [{ name: 'y', type: 'float32', shape: [] }],
      [{ name: 'k', type: 'float32', dims: [], data: new Float32Array([0.5]) }],
    ),
    { x: f32(x, [2, 3]) },
  );
  assert.deepEqual(out.y.dims, []);
  assert.equal(out.y.size, 1);
  assert.equal((out.y.data as Float32Array)[0], 0.5 * 21);
});

test('Constant nodes from tensor, float, floats and ints attributes', async () => {
  const t = new Float32Array([1.5, -2, 4]);
  const out = await runModel(
    model(
      [
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['ct'],
          attributes: [
            { name: 'value', kind: 'tensor', value: { name: 'ct_value', type: 'float32', dims: [3], data: t } },
          ],
        },
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['cf'],
          attributes: [{ name: 'value_float', kind: 'float', value: 0.25 }],
        },
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['cfs'],
          attributes: [{ name: 'value_floats', kind: 'floats', value: [10, 20, 30] }],
        },
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['cis'],
          attributes: [{ name: 'value_ints', kind: 'ints', value: [-5, 0, 2 ** 40] }],
        },
        { opType: 'Add', inputs: ['x', 'ct'], outputs: ['s'] },
        { opType: 'Mul', inputs: ['s', 'cf'], outputs: ['m'] },
        { opType: 'Add', inputs: ['m', 'cfs'], outputs: ['y'] },
      ],
      [{ name: 'x', type: 'float32', shape: [3] }],
      [
        { name: 'y', type: 'float32', shape: [3] },
        { name: 'cf', type: 'float32', shape: [] },
        { name: 'cis', type: 'int64', shape: [3] },
      ],
    ),
    { x: f32(new Float32Array([1, 2, 3]), [3]) },
  );
  assert.deepEqual(
    [...(out.y.data as Float32Array)],
    [0, 1, 2].map((i) => (i + 1 + t[i]) * 0.25 + 10 * (i + 1)),
  );
  assert.deepEqual(out.cf.dims, []);
  assert.deepEqual([...(out.cis.data as BigInt64Array)], [-5n, 0n, 2n ** 40n]);
});

test('string attribute: Pad in reflect mode', async () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
  const out = await runModel(
    model(
      [
        {
          opType: 'Pad',
          inputs: ['x', 'pads'],
          outputs: ['y'],
          attributes: [{ name: 'mode', kind: 'string', value: 'reflect' }],
        },
      ],
      [{ name: 'x', type: 'float32', shape: [2, 3] }],
      [{ name: 'y', type: 'float32', shape: [2, 6] }],
      [{ name: 'pads', type: 'int64', dims: [4], data: new BigInt64Array([0n, 2n, 0n, 1n]) }],
    ),
    { x: f32(x, [2, 3]) },
  );
  // Reflect (edge not repeated): [a b c] -> [c b | a b c | b].
  assert.deepEqual([...(out.y.data as Float32Array)], [3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5]);
});

test('int32 initializer round-trips through raw_data', async () => {
  const c = new Int32Array([-7, 2 ** 31 - 1, 0]);
  const out = await runModel(
    model(
      [{ opType: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
      [{ name: 'x', type: 'int32', shape: [3] }],
      [{ name: 'y', type: 'int32', shape: [3] }],
      [{ name: 'c', type: 'int32', dims: [3], data: c }],
    ),
    { x: new ort.Tensor('int32', new Int32Array([1, -1, 5]), [3]) },
  );
  assert.deepEqual([...(out.y.data as Int32Array)], [-6, 2 ** 31 - 2, 5]);
});

test('a two-layer MLP with random weights matches float64', async () => {
  const rng = createRng(10);
  const [B, D, Hd, O] = [8, 16, 32, 4];
  const x = randomF32(rng, B * D);
  const w1 = randomF32(rng, D * Hd).map((v) => v / 4);
  const b1 = randomF32(rng, Hd);
  const w2 = randomF32(rng, Hd * O).map((v) => v / 4);
  const b2 = randomF32(rng, O);
  const out = await runModel(
    model(
      [
        { opType: 'MatMul', inputs: ['x', 'w1'], outputs: ['h0'] },
        { opType: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
        { opType: 'Tanh', inputs: ['h1'], outputs: ['h'] },
        { opType: 'Gemm', inputs: ['h', 'w2', 'b2'], outputs: ['y'] },
      ],
      [{ name: 'x', type: 'float32', shape: [B, D] }],
      [{ name: 'y', type: 'float32', shape: [B, O] }],
      [
        { name: 'w1', type: 'float32', dims: [D, Hd], data: w1 },
        { name: 'b1', type: 'float32', dims: [Hd], data: b1 },
        { name: 'w2', type: 'float32', dims: [Hd, O], data: w2 },
        { name: 'b2', type: 'float32', dims: [O], data: b2 },
      ],
    ),
    { x: f32(x, [B, D]) },
  );
  const ref = new Float64Array(B * O);
  for (let i = 0; i < B; i++) {
    const h = new Float64Array(Hd);
    for (let j = 0; j < Hd; j++) {
      let acc = b1[j];
      for (let k = 0; k < D; k++) acc += x[i * D + k] * w1[k * Hd + j];
      h[j] = Math.tanh(acc);
    }
    for (let o = 0; o < O; o++) {
      let acc = b2[o];
      for (let j = 0; j < Hd; j++) acc += h[j] * w2[j * O + o];
      ref[i * O + o] = acc;
    }
  }
  assertClose(out.y.data as Float32Array, ref, 1e-5, 'mlp');
});

// ---------------------------------------------------------------------------------------------
// errors surface
// ---------------------------------------------------------------------------------------------

test('onnxruntime rejects an unknown op and a type mismatch', async () => {
  const io = (): [OnnxValueInfo[], OnnxValueInfo[]] => [
    [{ name: 'x', type: 'float32', shape: [2] }],
    [{ name: 'y', type: 'float32', shape: [2] }],
  ];
  const unknown = model([{ opType: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }], ...io());
  await assert.rejects(createSession(encodeModel(unknown), { threads: 1 }), /NoSuchOp/);
  const mismatch = model([{ opType: 'Add', inputs: ['x', 'c'], outputs: ['y'] }], ...io(), [
    { name: 'c', type: 'int64', dims: [2], data: new BigInt64Array([1n, 2n]) },
  ]);
  await assert.rejects(createSession(encodeModel(mismatch), { threads: 1 }));
  await assert.rejects(createSession(new Uint8Array([0xff, 0xff, 0xff]), { threads: 1 }));
});

test('encodeModel rejects inconsistent tensors and unimported domains', () => {
  const base = (t: OnnxTensorValue): OnnxModel => model([], [], [{ name: t.name, type: t.type, shape: t.dims }], [t]);
  assert.throws(
    () => encodeModel(base({ name: 'c', type: 'float32', dims: [2, 2], data: new Float32Array(3) })),
    /need 4 elements/,
  );
  assert.throws(
    () => encodeModel(base({ name: 'c', type: 'int64', dims: [2], data: new Float64Array(2) })),
    /BigInt64Array/,
  );
  assert.throws(
    () => encodeModel(base({ name: 'c', type: 'float32', dims: [-1], data: new Float32Array(0) })),
    /bad dimension/,
  );
  assert.throws(
    () => encodeModel(model([{ opType: 'Gelu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'] }], [], [])),
    /opsetImports/,
  );
});
