/** `edgewise results DIR... [--out docs/results.md] [--discussion FILE]`: the results document from studies' claims.json. */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeResults } from '../studies/results.ts';
import { UsageError } from './util.ts';

/** Study directories: each DIR that has a claims.json, else its subdirectories that do. */
function studyDirs(dirs: readonly string[]): string[] {
  const found: string[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) throw new UsageError(`${d}: no such directory`);
    if (existsSync(join(d, 'claims.json'))) found.push(d);
    else
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory() && existsSync(join(d, e.name, 'claims.json'))) found.push(join(d, e.name));
  }
  if (found.length === 0)
    throw new UsageError(`no claims.json under ${dirs.join(', ')} (run 'edgewise reproduce NAME' first)`);
  return found;
}

export function commandResults(dirs: string[], o: { out: string; discussion?: string }): void {
  const command = `edgewise results ${dirs.join(' ')} --out ${o.out}${o.discussion ? ` --discussion ${o.discussion}` : ''}`;
  const r = writeResults(
    studyDirs(dirs.length ? dirs : ['runs']),
    resolve(o.out),
    command,
    new Date(),
    o.discussion === undefined ? undefined : resolve(o.discussion),
  );
  process.stdout.write(`${r.studies} studies → ${r.file}\n`);
}
