/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written without
 * dependencies:
 *
 *   [8 bytes: N, u64 little-endian] [N bytes: JSON header, UTF-8] [data bytes]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets into
 * the data bytes) and may hold "__metadata__": {string: string}. Data is little-endian and
 * row-major. As the reference writer does, the header is padded with spaces to a multiple of 8
 * bytes so the data section starts 8-byte aligned.
 *
 * Reading validates as the reference reader does: the header length fits the file, every tensor's
 * byte range matches its dtype and shape, and the ranges tile the data section exactly (no
 * overlap, no gap, no trailing bytes). Errors name the file.
 *
 * This module is the byte format alone (no Node access: browsers too); safetensors.ts adds files.
 */
export const DTYPES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
] as const;
export type Dtype = (typeof DTYPES)[number];

export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** A named tensor: `data.length` = product of `shape` ([] = a scalar). */
export interface Tensor {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** A tensor to write; `dtype` defaults to the one of `data`'s array type (needed for BOOL, F16, BF16). */
export interface TensorInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: TensorData;
  readonly dtype?: Dtype;
}

/** A decoded file: tensors in data order (= the order they were written in), metadata ({} if none). */
export interface SafetensorsContent {
  readonly tensors: Tensor[];
  readonly metadata: Record<string, string>;
}

/** Largest header the reference reader accepts (bytes). */
export const MAX_HEADER_BYTES = 100_000_000;

type ArrayCtor = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): TensorData;
  readonly BYTES_PER_ELEMENT: number;
};

const LAYOUT: Record<Dtype, ArrayCtor> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** Bytes per element of `dtype`. */
export function dtypeSize(dtype: Dtype): number {
  return LAYOUT[dtype].BYTES_PER_ELEMENT;
}

function defaultDtype(data: TensorData): Dtype {
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof BigUint64Array) return 'U64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint32Array) return 'U32';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Uint16Array) return 'U16';
  if (data instanceof Int8Array) return 'I8';
  return 'U8';
}

function assertLittleEndian(): void {
  // Typed arrays use the host byte order; safetensors is little-endian.
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1)
    throw new Error('safetensors: big-endian hosts are not supported');
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function validShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Encodes tensors (in the order given) and optional metadata; returns [header, data…] byte parts. */
export function encodeSafetensorsParts(
  tensors: readonly TensorInput[],
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array[] {
  assertLittleEndian();
  const entries: string[] = [];
  const meta = Object.entries(metadata);
  for (const [k, v] of meta) {
    if (typeof v !== 'string') throw new Error(`safetensors: metadata "${k}" must be a string (got ${typeof v})`);
  }
  if (meta.length > 0) entries.push(`"__metadata__":${JSON.stringify(Object.fromEntries(meta))}`);
  const names = new Set<string>();
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '' || t.name === '__metadata__')
      throw new Error(`safetensors: invalid tensor name ${JSON.stringify(t.name)}`);
    if (names.has(t.name)) throw new Error(`safetensors: duplicate tensor name "${t.name}"`);
    names.add(t.name);
    const dtype = t.dtype ?? defaultDtype(t.data);
    if (!(DTYPES as readonly string[]).includes(dtype))
      throw new Error(`safetensors: tensor "${t.name}": unknown dtype ${String(dtype)}`);
    if (!(t.data instanceof LAYOUT[dtype])) {
      throw new Error(
        `safetensors: tensor "${t.name}": dtype ${dtype} needs a ${LAYOUT[dtype].name} (got ${t.data.constructor.name})`,
      );
    }
    if (!validShape(t.shape))
      throw new Error(
        `safetensors: tensor "${t.name}": shape must be a list of integers >= 0 (got ${JSON.stringify(t.shape)})`,
      );
    if (numel(t.shape) !== t.data.length) {
      throw new Error(
        `safetensors: tensor "${t.name}": shape [${t.shape.join(', ')}] has ${numel(t.shape)} elements but data has ${t.data.length}`,
      );
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    entries.push(
      `${JSON.stringify(t.name)}:${JSON.stringify({ dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] })}`,
    );
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let header = `{${entries.join(',')}}`;
  const utf8 = new TextEncoder();
  const headerBytesLen = utf8.encode(header).byteLength;
  header += ' '.repeat((8 - (headerBytesLen % 8)) % 8);
  const headerBytes = utf8.encode(header);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  return [prefix, headerBytes, ...parts];
}

/** Encodes tensors (in the order given) and optional metadata into one byte array. */
export function encodeSafetensorsBytes(
  tensors: readonly TensorInput[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const parts = encodeSafetensorsParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Decodes and validates safetensors bytes; `source` (e.g. the file name) prefixes every error. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContent {
  assertLittleEndian();
  const bad = (why: string): Error => new Error(`${source}: invalid safetensors file: ${why}`);
  if (bytes.byteLength < 8) throw bad(`${bytes.byteLength} bytes is too short for the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8))
    throw bad(`header length ${n} exceeds the ${bytes.byteLength - 8} bytes after the length field`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw bad(`header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerLen = Number(n);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    throw bad('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) throw bad('header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  let metadata: Record<string, string> = {};
  const infos: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        info === null ||
        typeof info !== 'object' ||
        Array.isArray(info) ||
        !Object.values(info).every((v) => typeof v === 'string')
      ) {
        throw bad('__metadata__ must map strings to strings');
      }
      metadata = { ...(info as Record<string, string>) };
      continue;
    }
    if (info === null || typeof info !== 'object' || Array.isArray(info))
      throw bad(`tensor "${name}": entry is not an object`);
    const { dtype, shape, data_offsets: offs } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
      throw bad(`tensor "${name}": unsupported dtype ${JSON.stringify(dtype)} (supported: ${DTYPES.join(', ')})`);
    }
    if (!validShape(shape))
      throw bad(`tensor "${name}": shape must be a list of integers >= 0 (got ${JSON.stringify(shape)})`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`tensor "${name}": data_offsets must be [begin, end] integers >= 0 (got ${JSON.stringify(offs)})`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) throw bad(`tensor "${name}": data_offsets [${begin}, ${end}] has begin > end`);
    if (end > dataLen)
      throw bad(`tensor "${name}": data_offsets [${begin}, ${end}] out of range (data section has ${dataLen} bytes)`);
    const want = numel(shape) * dtypeSize(dtype as Dtype);
    if (end - begin !== want) {
      throw bad(
        `tensor "${name}": ${end - begin} bytes in data_offsets but ${dtype} [${shape.join(', ')}] needs ${want}`,
      );
    }
    infos.push({ name, dtype: dtype as Dtype, shape, begin, end });
  }
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < infos.length; i++) {
    const t = infos[i];
    if (t.begin < covered)
      throw bad(`tensors "${infos[i - 1].name}" and "${t.name}" overlap (byte ${t.begin} < ${covered})`);
    if (t.begin > covered) throw bad(`bytes ${covered}..${t.begin} of the data section belong to no tensor`);
    covered = t.end;
  }
  if (covered !== dataLen) throw bad(`${dataLen - covered} bytes after the last tensor belong to no tensor`);
  const tensors = infos.map(({ name, dtype, shape, begin, end }): Tensor => {
    // Copy: the data section need not be aligned for the element type.
    // (A subarray would share memory, so copy explicitly.)
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    const Ctor = LAYOUT[dtype];
    return { name, dtype, shape, data: new Ctor(copy.buffer, 0, (end - begin) / Ctor.BYTES_PER_ELEMENT) };
  });
  return { tensors, metadata };
}
