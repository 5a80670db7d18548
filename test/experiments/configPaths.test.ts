import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import {
  deepMerge,
  flatten,
  flattenConfig,
  getPath,
  RUN_METADATA_KEYS,
  setPath,
  setPaths,
  variedKeys,
} from '../../src/experiments/configPaths.ts';
import { RunStore } from '../../src/experiments/runStore.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const nested = { a: { b: { c: 1, d: [1, 2] }, e: 'x' }, f: null, g: { h: { i: { j: true } } } };

test('flatten, getPath and setPaths agree: every flattened key reads back its value, and setting them all rebuilds the object', () => {
  const flat = flatten(nested);
  assert.deepEqual([...flat.keys()], ['a.b.c', 'a.b.d', 'a.e', 'f', 'g.h.i.j']);
  for (const [k, v] of flat) assert.deepEqual(getPath(nested, k), v, k);
  assert.deepEqual(setPaths({}, Object.fromEntries(flat)), nested);
  // A resolved config round-trips the same way (lists such as model.widths stay leaves).
  const config = resolveConfig({ model: { widths: [8, 4] }, optimizer: { lr: 0.3 } }) as unknown as Record<
    string,
    unknown
  >;
  const cflat = flatten(config);
  assert.deepEqual(cflat.get('model.widths'), [8, 4]);
  assert.deepEqual(setPaths({}, Object.fromEntries(cflat)), JSON.parse(JSON.stringify(config)));
});

test('getPath: absent parts, lists and scalars on the way give undefined; a path list works like a dotted key', () => {
  assert.equal(getPath(nested, 'a.b.x'), undefined);
  assert.equal(getPath(nested, 'a.b.d.0'), undefined); // lists are leaves, not indexed
  assert.equal(getPath(nested, 'a.e.length'), undefined);
  assert.equal(getPath(undefined, 'a'), undefined);
  assert.deepEqual(getPath(nested, ['a', 'b']), { c: 1, d: [1, 2] });
});

test('setPath copies: the input is untouched, missing sections are created, a scalar in the way is replaced, a mapping value replaces the section', () => {
  const before = structuredClone(nested);
  const out = setPath(nested, 'a.b.c', 2);
  assert.deepEqual(nested, before);
  assert.equal(getPath(out, 'a.b.c'), 2);
  assert.equal(out.g, nested.g); // untouched branches are shared, not copied
  assert.deepEqual(setPath({ x: 3 }, 'x.y.z', 1), { x: { y: { z: 1 } } });
  assert.deepEqual(setPath(nested, 'a.b', { z: 0 }).a, { b: { z: 0 }, e: 'x' });
  assert.throws(() => setPath({}, [], 1), /empty key/);
});

test('deepMerge: mappings merge key by key at every depth; lists, scalars and null replace; inputs untouched', () => {
  const base = {
    model: { widths: [200, 200], init: { scheme: 'lecun-normal', scale: 1 } },
    optimizer: { lr: 0.1 },
    clip: { max_norm: 1 },
  };
  const over = { model: { widths: [16], init: { scale: 0.5 } }, clip: null, train: { steps: 5 } };
  const copy = structuredClone(base);
  const m = deepMerge(base, over);
  assert.deepEqual(m, {
    model: { widths: [16], init: { scheme: 'lecun-normal', scale: 0.5 } },
    optimizer: { lr: 0.1 },
    clip: null,
    train: { steps: 5 },
  });
  assert.deepEqual(base, copy);
  // Merging then flattening equals flattening then overriding key by key (for mappings-only overrides).
  const o2 = { model: { init: { scale: 2 } }, optimizer: { lr: 0.5, name: 'adam' } };
  assert.deepEqual(flatten(deepMerge(base, o2)), new Map([...flatten(base), ...flatten(o2)]));
});

test('flattenConfig leaves out run metadata (seed, versions, created_at) and keeps train.seed: the seed varies once, as train.seed', () => {
  assert.deepEqual([...RUN_METADATA_KEYS], ['seed', 'versions', 'created_at']);
  const root = mkdtempSync(join(tmpdir(), 'edgewise-configpaths-'));
  try {
    // Real config.json files, as RunStore writes them (seed is a copy of train.seed there).
    const files = [1, 2].map((seed) => {
      const store = new RunStore(join(root, `s${seed}`)).init();
      store.writeConfig(resolveConfig({ train: { seed } }));
      return JSON.parse(readFileSync(store.configPath, 'utf8')) as Record<string, unknown>;
    });
    assert.equal(files[0].seed, 1);
    const flats = files.map(flattenConfig);
    for (const f of flats) for (const k of f.keys()) assert.ok(!/^(seed|versions|created_at)(\.|$)/.test(k), k);
    assert.deepEqual(variedKeys(flats), ['train.seed']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(flattenConfig('not a config'), new Map());
});

test('variedKeys: order of first appearance, a missing key equals null, fewer than two configs vary nothing', () => {
  const a = flatten({ x: 1, y: { z: [1] }, w: null });
  const b = flatten({ y: { z: [2] }, x: 1, v: 3 });
  assert.deepEqual(variedKeys([a, b]), ['y.z', 'v']);
  assert.deepEqual(variedKeys([a]), []);
});
