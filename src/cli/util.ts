/** Small helpers shared by the subcommands. */
import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';

/** A user-facing failure: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A default run directory name: runs/<config name>-<YYYYMMDD-HHMMSS>. */
export function defaultRunDir(config: string | undefined, now = new Date()): string {
  const name = config ? basename(config, extname(config)) : 'run';
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('runs', `${name}-${t}`);
}

/** The absolute path, or a UsageError naming what is missing. */
export function mustExist(path: string, what: string): string {
  if (!existsSync(path)) throw new UsageError(`${what} '${path}' does not exist`);
  return resolve(path);
}
