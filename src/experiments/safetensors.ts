/**
 * safetensors files on Node: the byte format (safetensorsBytes.ts, re-exported here; see its
 * module comment) read from and written to files atomically.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomicWrite.ts';
import {
  decodeSafetensors,
  encodeSafetensorsParts,
  type SafetensorsContent,
  type TensorInput,
} from './safetensorsBytes.ts';

export {
  DTYPES,
  MAX_HEADER_BYTES,
  decodeSafetensors,
  dtypeSize,
  encodeSafetensorsBytes,
  encodeSafetensorsParts,
  type Dtype,
  type SafetensorsContent,
  type Tensor,
  type TensorData,
  type TensorInput,
} from './safetensorsBytes.ts';

/** Encodes tensors (in the order given) and optional metadata into one Buffer. */
export function encodeSafetensors(
  tensors: readonly TensorInput[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  return Buffer.concat(encodeSafetensorsParts(tensors, metadata));
}

/** Writes tensors (in the order given) and metadata to `file` atomically. */
export function writeSafetensors(
  file: string,
  tensors: readonly TensorInput[],
  metadata?: Readonly<Record<string, string>>,
): void {
  writeFileAtomic(file, encodeSafetensorsParts(tensors, metadata));
}

/** Reads and validates a safetensors file; errors name the file. */
export function readSafetensors(file: string): SafetensorsContent {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `${file}: cannot read safetensors file: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      { cause: e },
    );
  }
  return decodeSafetensors(bytes, file);
}
