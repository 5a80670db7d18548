/**
 * `data.name: text-sonnets` on Node: the text file shipped in the repository
 * (data/text/sonnets.txt); windows and splits are in textBytes.ts (re-exported here, see its
 * module comment).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { textSplits, type TextSplits, type TextSplitSpec } from './textBytes.ts';

export {
  DEFAULT_CONTEXT,
  textSplits,
  textSplitsFromBytes,
  textWindows,
  type TextSplits,
  type TextSplitSpec,
} from './textBytes.ts';

export const TEXT_FILE = fileURLToPath(new URL('../../data/text/sonnets.txt', import.meta.url));

/** The train and test windows of the `text-sonnets` set for `spec` (see textBytes.ts); `text` defaults to the file. */
export function loadTextSplits(spec: TextSplitSpec, text = readFileSync(TEXT_FILE, 'utf8')): TextSplits {
  return textSplits(spec, text);
}
