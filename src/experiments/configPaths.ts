/**
 * Dotted config paths (`optimizer.lr`, `model.init.scale`): get, set, deep merge and flatten,
 * one implementation for the loader, sweeps, studies, reports and the dashboard.
 *
 * Conventions shared by all of them: only plain mappings are descended into; lists (and typed
 * arrays) are leaf values, never merged or indexed; nothing here mutates its input.
 *
 * `seed`: a run's config.json repeats `train.seed` as a top-level `seed` next to `versions` and
 * `created_at` (RunStore.writeConfig). These three are run metadata, not settings, so
 * `flattenConfig` leaves them out: the setting is `train.seed`, and keeping the copy would make
 * every seed sweep look like it varied two keys (the report and the dashboard must agree).
 */

/** Top-level keys a run's config.json adds to the config (see RunStore.writeConfig). */
export const RUN_METADATA_KEYS = ['seed', 'versions', 'created_at'] as const;

/** A JSON-like mapping (not null, not a list, not a typed array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** `a.b.c` → ['a', 'b', 'c']; a path given as a list is returned as it is. */
export function splitKey(key: string | readonly string[]): readonly string[] {
  return typeof key === 'string' ? key.split('.') : key;
}

/** The value at a dotted key or path (undefined when any part is absent or not a mapping). */
export function getPath(obj: unknown, key: string | readonly string[]): unknown {
  let v: unknown = obj;
  for (const p of splitKey(key)) {
    if (!isPlainObject(v)) return undefined;
    v = v[p];
  }
  return v;
}

/**
 * A copy of `input` with `value` at the dotted key or path, creating missing sections (a
 * non-mapping in the way is replaced). A mapping value replaces the whole section, it is not merged.
 */
export function setPath(
  input: Readonly<Record<string, unknown>>,
  key: string | readonly string[],
  value: unknown,
): Record<string, unknown> {
  const path = splitKey(key);
  if (path.length === 0) throw new Error('setPath: empty key');
  const out = { ...input };
  let node = out;
  for (let i = 0; i < path.length - 1; i++) {
    const next = node[path[i]!];
    const copy = isPlainObject(next) ? { ...next } : {};
    node[path[i]!] = copy;
    node = copy;
  }
  node[path[path.length - 1]!] = value;
  return out;
}

/** Sets every dotted key of `values` in turn (later keys win); see setPath. */
export function setPaths(
  input: Readonly<Record<string, unknown>>,
  values: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  let out: Record<string, unknown> = { ...input };
  for (const [k, v] of Object.entries(values)) out = setPath(out, k, v);
  return out;
}

/**
 * `over` merged into `base`: mappings present in both are merged key by key, recursively;
 * anything else in `over` (lists, scalars, null) replaces the value in `base`.
 */
export function deepMerge(
  base: Readonly<Record<string, unknown>>,
  over: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = isPlainObject(v) && isPlainObject(cur) ? deepMerge(cur, v) : v;
  }
  return out;
}

/**
 * Dotted key → leaf value, in key order, for any nested mapping (lists and typed arrays are
 * leaves). `omit` lists top-level keys to leave out. Inverse of setPaths for mappings without
 * empty sub-mappings: setPaths({}, fromEntries(flatten(x))) deep-equals x.
 */
export function flatten(value: Readonly<Record<string, unknown>>, omit: readonly string[] = []): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: Readonly<Record<string, unknown>>, prefix: string): void => {
    for (const [k, x] of Object.entries(v)) {
      if (prefix === '' && omit.includes(k)) continue;
      const key = prefix === '' ? k : `${prefix}.${k}`;
      if (isPlainObject(x)) walk(x, key);
      else out.set(key, x);
    }
  };
  walk(value, '');
  return out;
}

/** A config (or a run's config.json) flattened to its settings: flatten without RUN_METADATA_KEYS. Non-mappings give an empty map. */
export function flattenConfig(config: unknown): Map<string, unknown> {
  return isPlainObject(config) ? flatten(config, RUN_METADATA_KEYS) : new Map();
}

/**
 * Keys whose values differ across flattened configs, in order of first appearance; a key
 * missing from a config counts as null. Fewer than two configs vary nothing.
 */
export function variedKeys(flats: ReadonlyArray<ReadonlyMap<string, unknown>>): string[] {
  if (flats.length < 2) return [];
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const f of flats) {
    for (const k of f.keys()) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  return keys.filter((k) => new Set(flats.map((f) => JSON.stringify(f.get(k) ?? null))).size > 1);
}
