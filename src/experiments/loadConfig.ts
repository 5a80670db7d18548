/**
 * Reading config files (YAML or JSON, by extension) and applying `--set a.b=value` overrides.
 * Every problem is a ConfigError with a one-line message that names the file (with line and
 * column for syntax errors) or the override it came from.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import { ConfigError, checkConfigKey, issuesLine, configIssues, type Config, type ConfigIssue } from './config.ts';
import { RUN_METADATA_KEYS, setPath } from './configPaths.ts';

export { RUN_METADATA_KEYS } from './configPaths.ts';

/** One `--set key=value` override. */
export interface Override {
  /** The dotted key as written, e.g. `optimizer.lr`. */
  readonly key: string;
  readonly path: readonly string[];
  /** The value parsed as a YAML flow value (number, boolean, null, list, mapping or string). */
  readonly value: unknown;
  /** The override as the user wrote it (for messages). */
  readonly text: string;
}

type Format = 'yaml' | 'json';

function formatOf(file: string): Format {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  throw new ConfigError(`${file}: unsupported config file extension "${ext}" (use .yaml, .yml or .json)`);
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim().replace(/:$/, '');
}

/** 1-based line and column of a character offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, col: lines[lines.length - 1].length + 1 };
}

function parseYaml(text: string, source: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err !== undefined) {
    const pos = err.linePos?.[0];
    const where = pos !== undefined ? `${source}:${pos.line}:${pos.col}` : source;
    throw new ConfigError(`${where}: invalid YAML: ${firstLine(err.message).replace(/ at line \d+, column \d+$/, '')}`);
  }
  return doc.toJS();
}

/**
 * Offset and description of the first JSON syntax error in `text` (null if none). V8's own
 * messages do not always carry a position, so syntax errors are located here.
 */
export function locateJsonError(text: string): { offset: number; message: string } | null {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const shown = (): string => (i >= text.length ? 'end of input' : JSON.stringify(text[i]));
  class Fail {
    constructor(readonly message: string) {}
  }
  const fail = (expected: string): never => {
    throw new Fail(`unexpected ${shown()} (expected ${expected})`);
  };
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('a closing "');
      const c = text[i];
      if (c === '"') return void i++;
      if (c === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('4 hex digits after \\u');
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i])) i++;
        else fail('an escape character');
      } else if (c < ' ') fail('no control characters in a string');
      else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a quoted key');
        str();
        ws();
        if (text[i] !== ':') fail("':'");
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail("',' or '}'");
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail("',' or ']'");
      }
    } else if (c === '"') {
      str();
    } else {
      const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (m === null) fail('a value');
      else i += m[0].length;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail('end of input');
    return null;
  } catch (e) {
    if (e instanceof Fail) return { offset: i, message: e.message };
    throw e;
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const loc = locateJsonError(text);
    if (loc === null) throw new ConfigError(`${source}: invalid JSON: ${firstLine((e as Error).message)}`);
    const p = lineCol(text, loc.offset);
    throw new ConfigError(`${source}:${p.line}:${p.col}: invalid JSON: ${loc.message}`);
  }
}

/** Parses config text; `source` names it in errors. Empty text (or only comments) gives {}. */
export function parseConfigText(text: string, format: Format, source: string): Record<string, unknown> {
  const value = format === 'json' ? parseJson(text, source) : parseYaml(text, source);
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      `${source}: the top level must be a mapping of keys to values (got ${Array.isArray(value) ? 'a list' : typeof value})`,
    );
  }
  return value as Record<string, unknown>;
}

/** Reads a YAML (.yaml/.yml) or JSON (.json) file into a plain object; errors name the file. */
export function readConfigFile(file: string): Record<string, unknown> {
  const format = formatOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new ConfigError(`cannot read config file ${file}: ${why}`);
  }
  // Editors on some systems write a byte-order mark; neither parser wants it.
  return parseConfigText(text.replace(/^\uFEFF/, ''), format, file);
}

/** Drops the metadata a run's config.json carries (so it can be used as a config file again). */
export function stripRunMetadata(input: Record<string, unknown>): Record<string, unknown> {
  const v = input.versions;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return input;
  const out = { ...input };
  for (const k of RUN_METADATA_KEYS) delete out[k];
  return out;
}

/** Parses a YAML flow value (`0.1`, `true`, `null`, `[1, 2]`, `{a: 1}`, `adam`); unparsable plain text stays a string. */
export function parseValue(text: string): unknown {
  try {
    return YAML.parse(text) as unknown;
  } catch (e) {
    if (/^\s*[[{"']/.test(text)) throw new Error(firstLine((e as Error).message), { cause: e });
    return text;
  }
}

/** Parses `key=value` (value: a YAML flow value). Throws ConfigError for unknown keys. */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${text}: expected key=value, e.g. optimizer.lr=0.1`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  const problem = checkConfigKey(path);
  if (problem !== null) throw new ConfigError(`--set ${text}: ${problem}`);
  let value: unknown;
  try {
    value = parseValue(text.slice(eq + 1));
  } catch (e) {
    throw new ConfigError(`--set ${text}: cannot parse the value: ${(e as Error).message}`);
  }
  return { key, path, value, text };
}

/** Applies overrides in order (later ones win) to a copy of `input`. */
export function applyOverrides(
  input: Record<string, unknown>,
  overrides: readonly Override[],
): Record<string, unknown> {
  let out = input;
  for (const o of overrides) out = setPath(out, o.path, o.value);
  return out;
}

function within(issuePath: string, key: string): boolean {
  return issuePath === key || issuePath.startsWith(`${key}.`) || issuePath.startsWith(`${key}[`);
}

/**
 * Resolves `input` (after overrides); a ConfigError's message prefixes each problem with the
 * override that set the key (`--set optimizer.lr=-1: …`) or else with `source` (a file name).
 */
export function resolveWithSources(
  input: Record<string, unknown>,
  overrides: readonly Override[],
  source: string | null,
): Config {
  const { config, issues } = configIssues(input);
  if (config !== null) return config;
  const prefix = (i: ConfigIssue): string => {
    let from: Override | undefined;
    for (const o of overrides) if (within(i.path, o.key)) from = o; // the last one wins
    if (from !== undefined) return `--set ${from.text}: `;
    return source === null ? '' : `${source}: `;
  };
  throw new ConfigError(issuesLine(issues, prefix), issues);
}

/** The unresolved config: the file's content (or {}) with the overrides applied. */
export function loadConfigInput(
  file: string | null | undefined,
  sets: readonly string[] = [],
): Record<string, unknown> {
  const base = file === null || file === undefined ? {} : stripRunMetadata(readConfigFile(file));
  return applyOverrides(base, sets.map(parseOverride));
}

/**
 * Reads `file` (YAML or JSON; none = all defaults), applies `--set key=value` overrides and
 * resolves. Throws ConfigError (one line) for unreadable files, syntax errors, unknown keys and bad values.
 */
export function loadConfig(file?: string | null, sets: readonly string[] = []): Config {
  const overrides = sets.map(parseOverride);
  const base = file === null || file === undefined ? {} : stripRunMetadata(readConfigFile(file));
  return resolveWithSources(applyOverrides(base, overrides), overrides, file ?? null);
}
