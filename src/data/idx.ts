/**
 * IDX files (the MNIST / Fashion-MNIST format), gzipped or raw, on Node: the byte-level format is
 * in idxBytes.ts (re-exported here); this module adds synchronous gunzip/gzip and files.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeIdx, encodeIdxBytes, isGzip, type IdxArray } from './idxBytes.ts';

export {
  IDX_DTYPES,
  decodeIdx,
  encodeIdxBytes,
  isGzip,
  parseIdxBytes,
  type IdxArray,
  type IdxData,
  type IdxDtype,
} from './idxBytes.ts';

/** Decodes IDX bytes (gzipped or raw); `name` (usually the path) is quoted in every error. */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  let raw = bytes;
  if (isGzip(bytes)) {
    try {
      raw = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`IDX file ${name}: corrupt or truncated gzip data (${(e as Error).message})`, { cause: e });
    }
  }
  return decodeIdx(raw, name);
}

/** Reads and decodes an IDX file (gzipped or raw); errors name the file. */
export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`IDX file ${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
  return parseIdx(bytes, path);
}

/** Encodes an array as IDX bytes (raw, or gzipped when `gzip` is true). */
export function encodeIdx(arr: IdxArray, gzip = false): Uint8Array {
  const out = encodeIdxBytes(arr);
  return gzip ? gzipSync(out) : out;
}

/** Writes an IDX file; gzipped when `opts.gzip` is true. */
export async function writeIdx(path: string, arr: IdxArray, opts: { gzip?: boolean } = {}): Promise<void> {
  await writeFile(path, encodeIdx(arr, opts.gzip ?? false));
}
