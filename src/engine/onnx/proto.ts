/**
 * A minimal, dependency-free protobuf wire-format writer and an ONNX `ModelProto` encoder built
 * on it. Only writing is supported; onnxruntime does the parsing.
 *
 * Field numbers follow onnx/onnx.proto (proto2). Repeated numeric fields are written packed,
 * which every conforming protobuf parser accepts even for fields declared unpacked. Tensor data
 * always goes to `raw_data` as fixed-width little-endian bytes.
 */

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

/** Protobuf wire types (the low 3 bits of a field tag). */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const utf8 = new TextEncoder();
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// Byte payloads longer than this are referenced, not copied, until finish().
const INLINE_LIMIT = 256;
const TWO_POW_64 = 1n << 64n;

/**
 * Appends protobuf fields to a list of byte chunks; `finish()` concatenates them once.
 * Nested messages are built in a child writer whose chunks are spliced in without copying, and
 * large byte payloads are referenced rather than copied, so callers must not mutate a payload
 * passed to `bytes()` before `finish()`.
 */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  private buf = new Uint8Array(128);
  private view = new DataView(this.buf.buffer);
  private start = 0; // buf[start, pos) is written but not yet in chunks
  private pos = 0;

  /** Number of bytes written so far. */
  get length(): number {
    return this.chunkBytes + this.pos - this.start;
  }

  private flush(): void {
    if (this.pos === this.start) return;
    // A view, not a copy: the rest of buf stays usable for later small writes.
    this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.chunkBytes += this.pos - this.start;
    this.start = this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    this.buf = new Uint8Array(Math.max(n, Math.min(this.buf.length * 2, 65536)));
    this.view = new DataView(this.buf.buffer);
    this.start = 0;
    this.pos = 0;
  }

  /** Raw base-128 varint. Negative numbers are written as 64-bit two's complement (10 bytes). */
  varint(value: number | bigint): this {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new RangeError(`varint needs a safe integer, got ${value}`);
      if (value >= 0) {
        this.reserve(8); // 2^53 fits in 8 varint bytes
        let v = value;
        while (v >= 128) {
          this.buf[this.pos++] = (v % 128) | 128;
          v = Math.floor(v / 128);
        }
        this.buf[this.pos++] = v;
        return this;
      }
      value = BigInt(value);
    }
    if (value < -(1n << 63n) || value >= TWO_POW_64) throw new RangeError(`varint out of 64-bit range: ${value}`);
    let v = value < 0n ? value + TWO_POW_64 : value;
    this.reserve(10);
    while (v >= 128n) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  /** Field key: (field << 3) | wireType. */
  tag(field: number, wireType: WireType): this {
    if (!Number.isInteger(field) || field < 1 || field > 536870911) throw new RangeError(`bad field number ${field}`);
    return this.varint(field * 8 + wireType);
  }

  /** int64 / uint64 / int32 / enum field (varint encoding). */
  int64(field: number, value: number | bigint): this {
    return this.tag(field, WireType.VARINT).varint(value);
  }

  /** Protobuf `float` field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, WireType.I32).reserve(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  /** Protobuf `double` field (fixed64, little-endian). */
  double(field: number, value: number): this {
    this.tag(field, WireType.I64).reserve(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
    return this;
  }

  /** Length-delimited bytes field. */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WireType.LEN).varint(data.length);
    if (data.length <= INLINE_LIMIT) {
      this.reserve(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    } else {
      this.flush();
      this.chunks.push(data);
      this.chunkBytes += data.length;
    }
    return this;
  }

  /** UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Embedded message field; `build` writes its fields into a fresh writer. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    build(child);
    child.flush();
    this.tag(field, WireType.LEN).varint(child.chunkBytes);
    this.flush();
    for (const c of child.chunks) this.chunks.push(c);
    this.chunkBytes += child.chunkBytes;
    return this;
  }

  /** Packed repeated int64 field; nothing is written for an empty list. */
  packedInt64(field: number, values: ArrayLike<number | bigint>): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.varint(values[i]);
    inner.flush();
    this.tag(field, WireType.LEN).varint(inner.chunkBytes);
    this.flush();
    for (const c of inner.chunks) this.chunks.push(c);
    this.chunkBytes += inner.chunkBytes;
    return this;
  }

  /** Packed repeated float field (4 bytes each); nothing is written for an empty list. */
  packedFloat(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    this.tag(field, WireType.LEN)
      .varint(values.length * 4)
      .reserve(values.length * 4);
    for (let i = 0; i < values.length; i++, this.pos += 4) this.view.setFloat32(this.pos, values[i], true);
    return this;
  }

  /** Packed repeated double field (8 bytes each); nothing is written for an empty list. */
  packedDouble(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    this.tag(field, WireType.LEN)
      .varint(values.length * 8)
      .reserve(values.length * 8);
    for (let i = 0; i < values.length; i++, this.pos += 8) this.view.setFloat64(this.pos, values[i], true);
    return this;
  }

  /** All bytes written, as one contiguous array. */
  finish(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0].slice();
    const out = new Uint8Array(this.chunkBytes);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// ONNX model description
// ---------------------------------------------------------------------------------------------

export type OnnxElemType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

/** A dense tensor; `data` is row-major with product(dims) elements (dims [] = scalar). */
export interface OnnxTensorValue {
  name: string;
  type: OnnxElemType;
  dims: number[];
  /** float32→Float32Array, float64→Float64Array, int64→BigInt64Array, int32→Int32Array, bool→Uint8Array (0/1). */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

export type OnnxAttribute =
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'ints'; value: number[] }
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'floats'; value: number[] }
  | { name: string; kind: 'string'; value: string }
  | { name: string; kind: 'tensor'; value: OnnxTensorValue };

export interface OnnxNode {
  opType: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: OnnxAttribute[];
  /** Operator-set domain; '' (default) is the standard ai.onnx domain. */
  domain?: string;
}

/** A graph input/output. A negative entry in `shape` is written as an unknown (dynamic) dimension. */
export interface OnnxValueInfo {
  name: string;
  type: OnnxElemType;
  shape: number[];
}

export interface OnnxModel {
  graphName: string;
  /** Version of the default (ai.onnx) operator set, e.g. DEFAULT_OPSET. */
  opset: number;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensorValue[];
  producer?: string;
  /** Operator sets for non-default node domains (e.g. { domain: 'com.microsoft', version: 1 }). */
  opsetImports?: { domain: string; version: number }[];
  /** Defaults to DEFAULT_IR_VERSION. */
  irVersion?: number;
}

/** IR version written by default (IR 8 is the one paired with opset 17, ONNX 1.12). */
export const DEFAULT_IR_VERSION = 8;
/** Default ai.onnx operator-set version to use with DEFAULT_IR_VERSION. */
export const DEFAULT_OPSET = 17;

/** TensorProto.DataType enum values. */
export const TensorDataType: Record<OnnxElemType, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

/** AttributeProto.AttributeType enum values for the kinds we write. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

// Field numbers from onnx.proto.
const F = {
  model: { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attr: { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, type: 20 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9 },
  valueInfo: { name: 1, type: 2 },
  typeProto: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { dimValue: 1 },
} as const;

const ARRAY_FOR: Record<OnnxElemType, { ctor: new (length: number) => OnnxTensorValue['data']; bytes: number }> = {
  float32: { ctor: Float32Array, bytes: 4 },
  float64: { ctor: Float64Array, bytes: 8 },
  int64: { ctor: BigInt64Array, bytes: 8 },
  int32: { ctor: Int32Array, bytes: 4 },
  bool: { ctor: Uint8Array, bytes: 1 },
};

function checkDims(dims: number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`${what}: bad dimension ${d} in [${dims.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Little-endian bytes of the tensor's elements (a view when no conversion is needed). */
function rawBytes(t: OnnxTensorValue): Uint8Array {
  const { ctor, bytes } = ARRAY_FOR[t.type];
  if (!(t.data instanceof ctor)) {
    throw new Error(`tensor '${t.name}': type ${t.type} needs ${ctor.name}, got ${t.data.constructor.name}`);
  }
  const n = checkDims(t.dims, `tensor '${t.name}'`);
  if (t.data.length !== n) {
    throw new Error(`tensor '${t.name}': dims [${t.dims.join(', ')}] need ${n} elements, data has ${t.data.length}`);
  }
  const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (t.type === 'bool') {
    // The spec requires exactly 0 or 1 per element; normalise other truthy bytes.
    return view.every((b) => b <= 1) ? view : view.map((b) => (b ? 1 : 0));
  }
  if (HOST_LITTLE_ENDIAN) return view;
  const out = new Uint8Array(view.length);
  for (let i = 0; i < view.length; i += bytes) for (let k = 0; k < bytes; k++) out[i + k] = view[i + bytes - 1 - k];
  return out;
}

function writeTensor(w: ProtoWriter, t: OnnxTensorValue): void {
  const raw = rawBytes(t);
  w.packedInt64(F.tensor.dims, t.dims);
  w.int64(F.tensor.dataType, TensorDataType[t.type]);
  w.string(F.tensor.name, t.name);
  // Always present, even when empty, so a zero-element tensor is not read as "no data".
  w.bytes(F.tensor.rawData, raw);
}

function writeAttribute(w: ProtoWriter, a: OnnxAttribute): void {
  w.string(F.attr.name, a.name);
  switch (a.kind) {
    case 'int':
      w.int64(F.attr.type, AttributeType.INT).int64(F.attr.i, a.value);
      break;
    case 'ints':
      w.int64(F.attr.type, AttributeType.INTS).packedInt64(F.attr.ints, a.value);
      break;
    case 'float':
      w.int64(F.attr.type, AttributeType.FLOAT).float(F.attr.f, a.value);
      break;
    case 'floats':
      w.int64(F.attr.type, AttributeType.FLOATS).packedFloat(F.attr.floats, a.value);
      break;
    case 'string':
      w.int64(F.attr.type, AttributeType.STRING).string(F.attr.s, a.value);
      break;
    case 'tensor': {
      const t = a.value;
      w.int64(F.attr.type, AttributeType.TENSOR).message(F.attr.t, (m) => writeTensor(m, t));
      break;
    }
    default: {
      const never: never = a;
      throw new Error(`unknown attribute kind in ${JSON.stringify(never)}`);
    }
  }
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const s of n.inputs) w.string(F.node.input, s);
  for (const s of n.outputs) w.string(F.node.output, s);
  if (n.name !== undefined) w.string(F.node.name, n.name);
  w.string(F.node.opType, n.opType);
  for (const a of n.attributes ?? []) w.message(F.node.attribute, (m) => writeAttribute(m, a));
  if (n.domain) w.string(F.node.domain, n.domain);
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(F.valueInfo.name, v.name);
  w.message(F.valueInfo.type, (tp) =>
    tp.message(F.typeProto.tensorType, (tt) => {
      tt.int64(F.tensorType.elemType, TensorDataType[v.type]);
      // An empty shape message means rank 0 (scalar); omitting it would mean unknown rank.
      tt.message(F.tensorType.shape, (sh) => {
        for (const d of v.shape) {
          if (!Number.isSafeInteger(d)) throw new Error(`value '${v.name}': bad dimension ${d}`);
          sh.message(F.shape.dim, (dm) => {
            if (d >= 0) dm.int64(F.dim.dimValue, d);
          });
        }
      });
    }),
  );
}

/** Serializes `model` to ONNX ModelProto bytes (loadable by onnxruntime). Throws on malformed tensors. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const imports = [{ domain: '', version: model.opset }, ...(model.opsetImports ?? [])];
  const known = new Set(imports.map((o) => o.domain));
  for (const n of model.nodes) {
    const d = n.domain ?? '';
    if (d !== '' && d !== 'ai.onnx' && !known.has(d)) {
      throw new Error(`node ${n.name ?? n.opType} uses domain '${d}' with no entry in opsetImports`);
    }
  }
  const w = new ProtoWriter();
  w.int64(F.model.irVersion, model.irVersion ?? DEFAULT_IR_VERSION);
  w.string(F.model.producerName, model.producer ?? 'edgewise');
  w.message(F.model.graph, (g) => {
    for (const n of model.nodes) g.message(F.graph.node, (m) => writeNode(m, n));
    g.string(F.graph.name, model.graphName);
    for (const t of model.initializers) g.message(F.graph.initializer, (m) => writeTensor(m, t));
    for (const v of model.inputs) g.message(F.graph.input, (m) => writeValueInfo(m, v));
    for (const v of model.outputs) g.message(F.graph.output, (m) => writeValueInfo(m, v));
  });
  for (const o of imports) {
    w.message(F.model.opsetImport, (m) => {
      if (o.domain) m.string(F.opset.domain, o.domain);
      m.int64(F.opset.version, o.version);
    });
  }
  return w.finish();
}
