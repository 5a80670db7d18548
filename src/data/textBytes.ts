/**
 * `data.name: text-sonnets`: character-level next-token prediction on eight Shakespeare sonnets
 * shipped in the repository (data/text/sonnets.txt, public domain; about 4900 characters), from
 * the text or its UTF-8 bytes (no file or Node access; text.ts reads the file). A
 * sample is a window of `context` + 1 consecutive characters: x = the first `context` token
 * indices (integers stored as floats; the Transformer reads them as int64), the targets = the
 * next character at every position, one-hot (context · V floats per sample, V = the text's
 * distinct characters, the vocabulary, sorted). Windows start every `context` characters; a
 * permutation seeded by data.seed assigns the first train_size windows to train and the next
 * test_size to test ('all': every remaining window), so the split is reproducible and the two
 * sets do not overlap. Preprocessing, subset and flatten do not apply (tokens are indices).
 */
import { createRng, permutation } from '../util/random.ts';
import type { Dataset, DataSpec } from './types.ts';

/** Context length T of a window when data.context is not given. */
export const DEFAULT_CONTEXT = 32;

/** A text split: `targets` holds n · context · V one-hot floats (one row of V per position). */
export interface TextSplits {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly vocab: string[];
  /** Windows the text offers (before the split). */
  readonly available: number;
}

/** Token windows of `text` (start every `context` characters): x n·T indices, targets n·T·V one-hot. */
export function textWindows(
  text: string,
  vocab: readonly string[],
  starts: readonly number[],
  context: number,
): Dataset {
  const index = new Map(vocab.map((ch, i) => [ch, i]));
  const V = vocab.length;
  const n = starts.length;
  const x = new Float32Array(n * context);
  const targets = new Float32Array(n * context * V);
  starts.forEach((s, w) => {
    for (let t = 0; t < context; t++) {
      x[w * context + t] = index.get(text[s + t]!)!;
      targets[(w * context + t) * V + index.get(text[s + t + 1]!)!] = 1;
    }
  });
  return { x, y: null, targets, n, sampleShape: [context], numClasses: V };
}

/** What a text split depends on: sizes, seed, and the context length (default DEFAULT_CONTEXT). */
export type TextSplitSpec = Pick<DataSpec, 'train_size' | 'test_size' | 'seed'> & { context?: number };

/** The train and test windows of the `text-sonnets` set for `spec` (see the module comment). */
export function textSplits(spec: TextSplitSpec, text: string): TextSplits {
  const context = spec.context ?? DEFAULT_CONTEXT;
  const vocab = [...new Set(text)].sort();
  const starts: number[] = [];
  for (let s = 0; s + context + 1 <= text.length; s += context) starts.push(s);
  const order = Array.from(permutation(createRng(spec.seed), starts.length), (i) => starts[i]!);
  const nTrain = spec.train_size === 'all' ? order.length : spec.train_size;
  if (nTrain > order.length)
    throw new Error(
      `data.train_size: ${nTrain} windows asked, the text has ${order.length} of ${context + 1} characters`,
    );
  const rest = order.length - nTrain;
  const nTest = spec.test_size === 'all' ? rest : spec.test_size;
  if (nTest > rest)
    throw new Error(
      `data.test_size: ${nTest} windows asked, ${rest} remain after ${nTrain} training windows (the text has ${order.length})`,
    );
  return {
    train: textWindows(text, vocab, order.slice(0, nTrain), context),
    test: textWindows(text, vocab, order.slice(nTrain, nTrain + nTest), context),
    vocab,
    available: order.length,
  };
}

/** `textSplits` of UTF-8 bytes (e.g. the fetched sonnets.txt), decoded as `readFileSync(path, 'utf8')` does. */
export function textSplitsFromBytes(spec: TextSplitSpec, bytes: Uint8Array): TextSplits {
  return textSplits(spec, new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));
}
