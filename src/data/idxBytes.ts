/**
 * IDX bytes (the MNIST / Fashion-MNIST format), without file or Node access: decoding raw or
 * gzipped bytes (gzip through the Compression Streams API) and encoding. idx.ts adds files.
 *
 * Layout: bytes 0-1 are zero, byte 2 is the element type, byte 3 the number of dimensions d;
 * then d big-endian uint32 sizes; then the elements, big-endian, row-major. Bytes are gzipped
 * when they start with the gzip magic 0x1f 0x8b (the name does not matter).
 */

/** IDX element types, keyed by their type byte. */
export const IDX_DTYPES = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
} as const;
export type IdxDtype = (typeof IDX_DTYPES)[keyof typeof IDX_DTYPES];

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** An n-dimensional array read from or written to an IDX file. */
export interface IdxArray {
  readonly dtype: IdxDtype;
  /** Sizes of each dimension, outermost first (e.g. [60000, 28, 28]). */
  readonly dims: readonly number[];
  /** prod(dims) elements, row-major, in native byte order. */
  readonly data: IdxData;
}

const BYTES: Record<IdxDtype, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };
const CODE: Record<IdxDtype, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

/** True when the bytes start with the gzip magic 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decodes raw (not gzipped) IDX bytes; `name` (usually the path) is quoted in every error. */
export function decodeIdx(raw: Uint8Array, name: string): IdxArray {
  if (raw.length < 4) throw new Error(`IDX file ${name}: truncated header (${raw.length} bytes, need at least 4)`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new Error(
      `IDX file ${name}: bad magic number 0x${hex(raw[0])}${hex(raw[1])}${hex(raw[2])}${hex(raw[3])} (an IDX file starts with two zero bytes)`,
    );
  }
  const dtype = (IDX_DTYPES as Record<number, IdxDtype | undefined>)[raw[2]];
  if (dtype === undefined) {
    throw new Error(
      `IDX file ${name}: unknown element type 0x${hex(raw[2])} (known: 08 uint8, 09 int8, 0b int16, 0c int32, 0d float32, 0e float64)`,
    );
  }
  const ndim = raw[3];
  if (ndim === 0) throw new Error(`IDX file ${name}: number of dimensions is 0`);
  const headerLen = 4 + 4 * ndim;
  if (raw.length < headerLen) {
    throw new Error(
      `IDX file ${name}: truncated header (${raw.length} bytes, need ${headerLen} for ${ndim} dimensions)`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const width = BYTES[dtype];
  const expected = headerLen + count * width;
  if (raw.length < expected) {
    throw new Error(
      `IDX file ${name}: truncated: header says ${dtype} [${dims.join(', ')}] = ${expected} bytes, file has ${raw.length}`,
    );
  }
  if (raw.length > expected) {
    throw new Error(
      `IDX file ${name}: ${raw.length - expected} unexpected trailing bytes after ${dtype} [${dims.join(', ')}] (${expected} bytes expected)`,
    );
  }
  return { dtype, dims, data: decode(view, headerLen, dtype, count) };
}

/**
 * Decodes IDX bytes, gzipped or raw, with the platform's DecompressionStream (browsers, Node ≥ 18);
 * `name` is quoted in every error. Node callers may use the synchronous `parseIdx` of idx.ts.
 */
export async function parseIdxBytes(bytes: Uint8Array, name: string): Promise<IdxArray> {
  if (!isGzip(bytes)) return decodeIdx(bytes, name);
  let raw: Uint8Array;
  try {
    raw = await gunzipBytes(bytes);
  } catch (e) {
    throw new Error(`IDX file ${name}: corrupt or truncated gzip data (${(e as Error).message})`, { cause: e });
  }
  return decodeIdx(raw, name);
}

/** Inflates gzip bytes with the Compression Streams API. */
export async function gunzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  // DecompressionStream takes ArrayBuffer-backed chunks only (the DOM types say so too): a view
  // over a SharedArrayBuffer is copied.
  const chunk = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
  const input = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      controller.enqueue(chunk);
      controller.close();
    },
  });
  const reader = input.pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Encodes an array as raw (not gzipped) IDX bytes. */
export function encodeIdxBytes(arr: IdxArray): Uint8Array {
  const { dtype, dims, data } = arr;
  if (CODE[dtype] === undefined) throw new Error(`encodeIdx: unknown dtype ${dtype}`);
  if (dims.length < 1 || dims.length > 255) throw new Error(`encodeIdx: need 1..255 dimensions, got ${dims.length}`);
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new Error(`encodeIdx: bad dimension ${d}`);
    count *= d;
  }
  if (data.length !== count)
    throw new Error(`encodeIdx: data has ${data.length} elements, dims [${dims.join(', ')}] need ${count}`);
  const headerLen = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLen + count * BYTES[dtype]);
  const view = new DataView(out.buffer);
  out[2] = CODE[dtype];
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const o = headerLen + i * BYTES[dtype];
    const v = data[i];
    switch (dtype) {
      case 'uint8':
        view.setUint8(o, v);
        break;
      case 'int8':
        view.setInt8(o, v);
        break;
      case 'int16':
        view.setInt16(o, v, false);
        break;
      case 'int32':
        view.setInt32(o, v, false);
        break;
      case 'float32':
        view.setFloat32(o, v, false);
        break;
      case 'float64':
        view.setFloat64(o, v, false);
        break;
    }
  }
  return out;
}

function decode(view: DataView, off: number, dtype: IdxDtype, count: number): IdxData {
  switch (dtype) {
    case 'uint8':
      // Copy so the result does not pin the (possibly much larger) file buffer.
      return new Uint8Array(view.buffer.slice(view.byteOffset + off, view.byteOffset + off + count));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + off, view.byteOffset + off + count));
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(off + 2 * i, false);
      return a;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(off + 4 * i, false);
      return a;
    }
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(off + 4 * i, false);
      return a;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(off + 8 * i, false);
      return a;
    }
  }
}

function hex(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, '0');
}
