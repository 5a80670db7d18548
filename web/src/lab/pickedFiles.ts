/**
 * Data files the user picks in the Lab, made into the image source the CLI reads for the same
 * `data.name`: Fashion-MNIST's four IDX files (gzipped or not, the names fashion.ts looks for) and
 * CIFAR-10's six binary batches (the names cifar.ts looks for), decoded by the same byte readers
 * (fashionBytes.ts, cifarBytes.ts). Browser-free, so Node tests check it against loadDataset.
 */
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, cifar10FromBytes } from '../../../src/data/cifarBytes.ts';
import { FASHION_MNIST_FILES, fashionMnistFromBytes, type FashionMnistFiles } from '../../../src/data/fashionBytes.ts';
import type { ImageSource } from '../../../src/data/types.ts';

/** Anything with a file's base name (a File, a PickedFile). */
type Named = { readonly name: string };

/** A picked file: its base name and a reader of its bytes (a File in the browser, a path on Node). */
export interface PickedFile {
  readonly name: string;
  read(): Promise<Uint8Array>;
}

/** The data sets whose files the Lab reads from picked files. */
export const PICKED_SETS = ['fashion-mnist', 'cifar10'] as const;
export type PickedSet = (typeof PICKED_SETS)[number];

/** Whether `name` (a config's data.name) is read from picked files. */
export function isPickedSet(name: string): name is PickedSet {
  return (PICKED_SETS as readonly string[]).includes(name);
}

/** The picked file for one of the CLI's file names; a `.gz` name also matches its raw name, the gzipped one first as on Node. */
function find<F extends Named>(files: readonly F[], name: string): F | undefined {
  const raw = name.replace(/\.gz$/, '');
  return files.find((f) => f.name === name) ?? files.find((f) => f.name === raw);
}

/** The file names `set` needs, as the CLI names them. */
export function neededFiles(set: PickedSet): readonly string[] {
  return set === 'fashion-mnist' ? Object.values(FASHION_MNIST_FILES) : [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
}

/** The names `set` needs that are not among the picked files. */
export function missingFiles(set: PickedSet, files: readonly Named[]): string[] {
  return neededFiles(set).filter((n) => find(files, n) === undefined);
}

/** The one-line error for a config whose data set needs files that were not picked. */
export function missingFilesError(set: PickedSet, missing: readonly string[]): string {
  const what =
    set === 'fashion-mnist'
      ? 'the four Fashion-MNIST IDX files, gzipped or not (Debian: /usr/share/datasets/fashion-mnist/)'
      : 'the six CIFAR-10 binary batches (cifar-10-batches-bin/)';
  return `data.name ${set}: pick ${what} with "Data files"; missing: ${missing.join(', ')}`;
}

/** The image source of `set` from the picked files, as loadDataset reads it from a directory; throws missingFilesError. */
export async function pickedSource(set: PickedSet, files: readonly PickedFile[]): Promise<ImageSource> {
  const missing = missingFiles(set, files);
  if (missing.length > 0) throw new Error(missingFilesError(set, missing));
  const pick = (n: string): PickedFile => find(files, n)!;
  if (set === 'fashion-mnist') {
    const roles = Object.keys(FASHION_MNIST_FILES) as (keyof typeof FASHION_MNIST_FILES)[];
    const chosen = roles.map((r) => pick(FASHION_MNIST_FILES[r]));
    const bytes = await Promise.all(chosen.map((f) => f.read()));
    const byRole = <T>(values: readonly T[]): FashionMnistFiles<T> =>
      Object.fromEntries(roles.map((r, i) => [r, values[i]])) as FashionMnistFiles<T>;
    return fashionMnistFromBytes(byRole(bytes), byRole(chosen.map((f) => f.name)));
  }
  const names = neededFiles(set);
  const bytes = await Promise.all(names.map((n) => pick(n).read()));
  return cifar10FromBytes(bytes.slice(0, CIFAR10_TRAIN_FILES.length), bytes[CIFAR10_TRAIN_FILES.length]!, names);
}

/** A short line saying which picked sets are complete, for the page. */
export function pickedSummary(files: readonly Named[]): string {
  if (files.length === 0) return 'No data files picked.';
  const parts = PICKED_SETS.map((s) => {
    const m = missingFiles(s, files);
    return m.length === 0 ? `${s}: complete` : m.length < neededFiles(s).length ? `${s}: missing ${m.join(', ')}` : '';
  }).filter((p) => p !== '');
  return `${files.length} file${files.length === 1 ? '' : 's'} picked${parts.length > 0 ? ` (${parts.join('; ')})` : ' (none is a Fashion-MNIST or CIFAR-10 file)'}.`;
}
