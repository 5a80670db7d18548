/**
 * Request paths → files, safely. Nothing outside the served directory (or the built app) may be
 * read, so a request path is checked twice:
 * 1. lexically (`decodeSegments`): each '/'-separated segment is percent-decoded exactly once and
 *    rejected if it is empty, `.`/`..`, hidden, or still contains `/`, `\`, `%` (double encoding),
 *    NUL or another control character — so `..%2f`, `%2e%2e`, `%252e%252e` and `//etc` all fail;
 * 2. on disk (`realInside`): the file's realpath must lie inside the root's realpath, so a
 *    symlink leaving the root is refused.
 */
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';

/** An error that becomes an HTTP error response with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// Control characters (C0, DEL, C1): never part of a run or asset name.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\%]/;

/** Splits the path part of a request target into decoded segments; throws HttpError(400) if unsafe. */
export function decodeSegments(rawPath: string): string[] {
  if (!rawPath.startsWith('/') || rawPath.startsWith('//'))
    throw new HttpError(400, 'bad path: must be a relative path starting with one /');
  if (rawPath.includes('\\') || rawPath.includes('\0')) throw new HttpError(400, 'bad path: forbidden character');
  const parts = rawPath.slice(1).split('/');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // one trailing slash is fine
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map((p) => {
    let s: string;
    try {
      s = decodeURIComponent(p);
    } catch {
      throw new HttpError(400, 'bad path: malformed percent-encoding');
    }
    if (s === '') throw new HttpError(400, 'bad path: empty segment');
    if (s.startsWith('.')) throw new HttpError(400, 'bad path: segments may not start with "."');
    if (FORBIDDEN.test(s)) throw new HttpError(400, 'bad path: forbidden character in a segment');
    return s;
  });
}

/** True if a file name can be addressed as a URL segment (decodeSegments accepts it). */
export function isSafeSegment(name: string): boolean {
  return name !== '' && !name.startsWith('.') && !FORBIDDEN.test(name);
}

/** True if `path` is `root` or inside it (both absolute, normalized). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The realpath of `path` if it exists and lies inside `rootReal` (a realpath); null if it does not
 * exist; throws HttpError(403) if it resolves outside (a symlink leaving the root).
 */
export function realInside(rootReal: string, path: string): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return null;
  }
  if (!isInside(rootReal, real)) throw new HttpError(403, 'forbidden: resolves outside the served directory');
  return real;
}
