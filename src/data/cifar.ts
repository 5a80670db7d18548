/**
 * CIFAR-10 binary files on Node: finding and reading them; the byte format is in cifarBytes.ts
 * (re-exported here).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  cifar10FromBytes,
  encodeCifarBatch,
  parseCifarBatch,
} from './cifarBytes.ts';
import type { ImageSource, ImageSplit } from './types.ts';

export {
  CIFAR10_CLASSES,
  CIFAR10_RECORD_BYTES,
  CIFAR10_SHAPE,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  cifar10FromBytes,
  concatSplits,
  encodeCifarBatch,
  parseCifarBatch,
} from './cifarBytes.ts';

/** The bytes of one CIFAR-10 batch file; errors name the file. */
async function readCifarBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`CIFAR-10 file ${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
}

/** Reads one CIFAR-10 batch file; errors name the file. */
export async function readCifarBatch(path: string): Promise<ImageSplit> {
  return parseCifarBatch(await readCifarBytes(path), path);
}

/** Writes one CIFAR-10 batch file. */
export async function writeCifarBatch(path: string, split: ImageSplit): Promise<void> {
  await writeFile(path, encodeCifarBatch(split));
}

/**
 * Directories searched for CIFAR-10: `dir` if given, else $EDGEWISE_DATA; in each, the folder
 * itself, then `cifar10/`, `cifar-10-batches-bin/`, `cifar10/cifar-10-batches-bin/`.
 */
export function cifarCandidateDirs(dir: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const roots = dir !== undefined ? [dir] : env.EDGEWISE_DATA ? [env.EDGEWISE_DATA] : [];
  return roots.flatMap((r) => [
    r,
    join(r, 'cifar10'),
    join(r, 'cifar-10-batches-bin'),
    join(r, 'cifar10', 'cifar-10-batches-bin'),
  ]);
}

/** Loads CIFAR-10 (50000 train / 10000 test) from the first candidate directory holding its files. */
export async function loadCifar10(dir: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ImageSource> {
  const candidates = cifarCandidateDirs(dir, env);
  const found = candidates.find(
    (d) => existsSync(join(d, CIFAR10_TEST_FILE)) || existsSync(join(d, CIFAR10_TRAIN_FILES[0])),
  );
  if (found === undefined) {
    const searched =
      candidates.length > 0 ? `searched: ${candidates.join(', ')}` : 'no directory given and EDGEWISE_DATA is not set';
    throw new Error(
      `CIFAR-10 not found (${searched}). Download the CIFAR-10 binary version (cifar-10-binary.tar.gz), ` +
        `unpack it, and set data.dir or EDGEWISE_DATA to the folder holding ${CIFAR10_TRAIN_FILES.join(', ')} and ${CIFAR10_TEST_FILE}.`,
    );
  }
  const trainPaths = CIFAR10_TRAIN_FILES.map((f) => join(found, f));
  const testPath = join(found, CIFAR10_TEST_FILE);
  const missing = [...trainPaths, testPath].filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`CIFAR-10 in ${found} is incomplete: missing ${missing.join(', ')}`);
  const [trainBatches, testBatch] = await Promise.all([
    Promise.all(trainPaths.map(readCifarBytes)),
    readCifarBytes(testPath),
  ]);
  return cifar10FromBytes(trainBatches, testBatch, [...trainPaths, testPath]);
}
