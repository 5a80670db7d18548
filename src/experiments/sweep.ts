/**
 * Sweeps: a file with `base:` (a partial config) and `grid:` (dotted key → list of values). Its
 * runs are the cartesian product of the grid, in a fixed order: grid keys in file order, the
 * LAST key varying fastest (like nested loops written in file order). Each run gets a directory
 * name made of its grid values, e.g. `lr-0.01_seed-1`, that is
 * - readable: the shortest unique suffix of each dotted key, `-`, the value;
 * - filesystem-safe: only [A-Za-z0-9._+-] (anything else becomes `_`), at most 200 characters;
 * - unique, also on case-insensitive file systems: names that would collide get `-` and 8 hex
 *   digits of a SHA-1 of the run's grid values;
 * - stable: a name depends only on the grid keys and the run's own values, not on its position.
 *
 * `--shard I/N` (0-based I) selects runs whose index ≡ I (mod N), so N workers (a job array) split
 * a sweep exactly, each without talking to the others.
 */
import { createHash } from 'node:crypto';
import { ConfigError, checkConfigKey, configIssues, issuesLine, showValue, type Config } from './config.ts';
import { readConfigFile, stripRunMetadata } from './loadConfig.ts';
import { isPlainObject, setPath } from './configPaths.ts';

/** Top-level keys a sweep file may have. */
export const SWEEP_KEYS = ['base', 'grid', 'name', 'description'] as const;

/** A parsed, structurally valid sweep (configs not yet validated). */
export interface SweepSpec {
  readonly name: string | null;
  readonly base: Readonly<Record<string, unknown>>;
  /** Grid axes in file order. */
  readonly grid: ReadonlyArray<{ readonly key: string; readonly values: readonly unknown[] }>;
}

/** One run of a sweep. */
export interface SweepRun {
  /** Position in the full expansion (0-based); sharding is by this index. */
  readonly index: number;
  /** Directory name (unique within the sweep). */
  readonly name: string;
  /** The grid values of this run, dotted key → value, in grid-key order. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly config: Config;
}

/** Longest run name before it is shortened with a hash. */
export const MAX_NAME_LENGTH = 200;

/** Checks the structure of a parsed sweep file; `source` (a file name) prefixes errors. */
export function parseSweep(input: unknown, source = 'sweep'): SweepSpec {
  const fail = (msg: string): never => {
    throw new ConfigError(`${source}: ${msg}`);
  };
  if (!isPlainObject(input)) return fail('a sweep file must be a mapping with base: and grid:');
  for (const k of Object.keys(input)) {
    if (!(SWEEP_KEYS as readonly string[]).includes(k)) fail(`unknown key "${k}" (allowed: ${SWEEP_KEYS.join(', ')})`);
  }
  const base = input.base ?? {};
  if (!isPlainObject(base)) return fail(`base: must be a mapping (a config) (got ${showValue(base)})`);
  const name = input.name ?? null;
  if (name !== null && typeof name !== 'string') fail(`name: must be a string (got ${showValue(name)})`);
  const gridIn = input.grid ?? {};
  if (!isPlainObject(gridIn))
    return fail(`grid: must be a mapping of dotted keys to lists of values (got ${showValue(gridIn)})`);
  const grid: { key: string; values: unknown[] }[] = [];
  for (const [key, values] of Object.entries(gridIn)) {
    const problem = checkConfigKey(key.split('.'));
    if (problem !== null) fail(`grid: ${problem}`);
    if (!Array.isArray(values) || values.length === 0)
      fail(`grid.${key}: must be a non-empty list of values (got ${showValue(values)})`);
    const seen = new Set<string>();
    for (const v of values as unknown[]) {
      const canon = JSON.stringify(v);
      if (seen.has(canon)) fail(`grid.${key}: the value ${showValue(v)} appears twice`);
      seen.add(canon);
    }
    grid.push({ key, values: values as unknown[] });
  }
  return { name: name as string | null, base: stripRunMetadata(base), grid };
}

/** Per grid key, the shortest dotted suffix that no other grid key ends with. */
export function shortLabels(keys: readonly string[]): string[] {
  const parts = keys.map((k) => k.split('.'));
  const len = parts.map(() => 1);
  for (;;) {
    const labels = parts.map((p, i) => p.slice(-len[i]).join('.'));
    let changed = false;
    for (let i = 0; i < labels.length; i++) {
      const clash = labels.some((l, j) => j !== i && l.toLowerCase() === labels[i].toLowerCase());
      if (clash && len[i] < parts[i].length) {
        len[i]++;
        changed = true;
      }
    }
    if (!changed) return labels;
  }
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9._+-]+/g, '_');
}

/** A grid value as it appears in a run name: 0.01, adam, true, null, 200x200 for [200, 200]. */
export function valueLabel(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v === '' ? 'empty' : sanitize(v);
  if (typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.map(valueLabel).join('x');
  return sanitize(JSON.stringify(v) ?? String(v));
}

function hash8(params: Readonly<Record<string, unknown>>): string {
  return createHash('sha1')
    .update(JSON.stringify(Object.entries(params)))
    .digest('hex')
    .slice(0, 8);
}

/** Directory names for runs with these grid values (same order), unique and filesystem-safe. */
export function runNames(keys: readonly string[], params: ReadonlyArray<Readonly<Record<string, unknown>>>): string[] {
  const labels = shortLabels(keys);
  const names = params.map((p) => {
    if (keys.length === 0) return 'base';
    const name = keys.map((k, i) => `${labels[i]}-${valueLabel(p[k])}`).join('_');
    return name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH - 9)}-${hash8(p)}` : name;
  });
  const count = new Map<string, number>();
  for (const n of names) count.set(n.toLowerCase(), (count.get(n.toLowerCase()) ?? 0) + 1);
  return names.map((n, i) => ((count.get(n.toLowerCase()) ?? 0) > 1 ? `${n}-${hash8(params[i])}` : n));
}

/** Grid values of every run, in sweep order (last key fastest). */
export function gridProduct(grid: SweepSpec['grid']): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const { key, values } of grid) {
    const next: Record<string, unknown>[] = [];
    for (const p of out) for (const v of values) next.push({ ...p, [key]: v });
    out = next;
  }
  return out;
}

/**
 * Expands a sweep into its runs and validates every run's config. Throws ConfigError (one line)
 * naming the number of bad runs and the first one's index, name, key and problem.
 */
export function expandSweep(input: unknown, source = 'sweep'): SweepRun[] {
  const spec = parseSweep(input, source);
  const keys = spec.grid.map((g) => g.key);
  const params = gridProduct(spec.grid);
  const names = runNames(keys, params);
  const runs: SweepRun[] = [];
  const bad: string[] = [];
  params.forEach((p, index) => {
    let raw: Record<string, unknown> = { ...spec.base };
    for (const k of keys) raw = setPath(raw, k, p[k]);
    const { config, issues } = configIssues(raw);
    if (config === null) bad.push(`run ${index} (${names[index]}): ${issuesLine(issues)}`);
    else runs.push({ index, name: names[index], params: p, config });
  });
  if (bad.length > 0) {
    const head = bad.length === 1 ? '' : `${bad.length} of ${params.length} runs are invalid; first: `;
    throw new ConfigError(`${source}: ${head}${bad[0]}`);
  }
  return runs;
}

/** Reads a sweep file (YAML or JSON) and expands it; errors name the file. */
export function loadSweep(file: string): SweepRun[] {
  return expandSweep(readConfigFile(file), file);
}

/** Parses `I/N` (0 <= I < N): the I-th of N shards. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const usage = 'expected I/N with 0 <= I < N (I is 0-based), e.g. 0/4';
  if (m === null) throw new ConfigError(`--shard ${JSON.stringify(text)}: ${usage}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new ConfigError(`--shard ${text}: N must be >= 1 (${usage})`);
  if (!Number.isSafeInteger(index) || index >= count)
    throw new ConfigError(`--shard ${text}: I must be in 0..${count - 1} (${usage})`);
  return { index, count };
}

/** The runs at positions ≡ index (mod count); shards 0..count-1 partition `runs`. */
export function shard<T>(runs: readonly T[], index: number, count: number): T[] {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`shard count must be an integer >= 1 (got ${count})`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count)
    throw new RangeError(`shard index must be in 0..${count - 1} (got ${index})`);
  return runs.filter((_, i) => i % count === index);
}
