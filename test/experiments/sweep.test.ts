import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/experiments/config.ts';
import {
  expandSweep,
  loadSweep,
  parseShard,
  runNames,
  shard,
  shortLabels,
  valueLabel,
} from '../../src/experiments/sweep.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-sweep-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SWEEP = {
  base: { optimizer: { name: 'gd' }, train: { steps: 100 } },
  grid: {
    'optimizer.lr': [0.01, 0.02, 0.04],
    'model.activation': ['tanh', 'relu'],
    'train.seed': [0, 1],
  },
};

test('expansion is the cartesian product, keys in file order, last key fastest', () => {
  const runs = expandSweep(SWEEP);
  // Oracle: nested loops in file order.
  const expected: [number, string, number][] = [];
  for (const lr of [0.01, 0.02, 0.04])
    for (const act of ['tanh', 'relu']) for (const seed of [0, 1]) expected.push([lr, act, seed]);
  assert.equal(runs.length, 12);
  assert.deepEqual(
    runs.map((r) => [r.config.optimizer.lr, r.config.model.activation, r.config.train.seed]),
    expected,
  );
  assert.deepEqual(
    runs.map((r) => r.index),
    [...Array(12).keys()],
  );
  // Base values and defaults are in every run.
  for (const r of runs) {
    assert.equal(r.config.train.steps, 100);
    assert.equal(r.config.optimizer.name, 'gd');
    assert.equal(r.config.curvature.every, 20);
  }
  assert.deepEqual(runs[7].params, { 'optimizer.lr': 0.02, 'model.activation': 'relu', 'train.seed': 1 });
  assert.deepEqual(Object.keys(runs[7].params), ['optimizer.lr', 'model.activation', 'train.seed']);
});

test('run names are readable, unique and stable', () => {
  const runs = expandSweep(SWEEP);
  assert.equal(runs[0].name, 'lr-0.01_activation-tanh_seed-0');
  assert.equal(runs[11].name, 'lr-0.04_activation-relu_seed-1');
  assert.equal(new Set(runs.map((r) => r.name)).size, runs.length);
  for (const r of runs) assert.match(r.name, /^[A-Za-z0-9._+-]+$/);
  // Stable: same file, same names; a run keeps its name when other values are added or reordered.
  assert.deepEqual(
    expandSweep(SWEEP).map((r) => r.name),
    runs.map((r) => r.name),
  );
  const more = expandSweep({ ...SWEEP, grid: { ...SWEEP.grid, 'optimizer.lr': [0.08, 0.04, 0.02, 0.01] } });
  const byParams = new Map(more.map((r) => [JSON.stringify(r.params), r.name]));
  for (const r of runs) assert.equal(byParams.get(JSON.stringify(r.params)), r.name);
});

test('base values of grid sections are kept unless the grid sets them', () => {
  const runs = expandSweep({
    base: { model: { widths: [10], init: { scheme: 'he-normal' } } },
    grid: { 'model.init.scale': [0.5, 2] },
  });
  assert.deepEqual(
    runs.map((r) => [r.config.model.init.scheme, r.config.model.init.scale, r.config.model.widths]),
    [
      ['he-normal', 0.5, [10]],
      ['he-normal', 2, [10]],
    ],
  );
  assert.deepEqual(
    runs.map((r) => r.name),
    ['scale-0.5', 'scale-2'],
  );
});

test('labels: shortest unique key suffix; values: lists, null, booleans, odd strings', () => {
  assert.deepEqual(shortLabels(['optimizer.lr', 'train.seed']), ['lr', 'seed']);
  assert.deepEqual(shortLabels(['curvature.every', 'log.every', 'optimizer.lr']), [
    'curvature.every',
    'log.every',
    'lr',
  ]);
  assert.deepEqual(shortLabels(['data.seed', 'train.seed']), ['data.seed', 'train.seed']);
  assert.equal(valueLabel([200, 200]), '200x200');
  assert.equal(valueLabel([]), 'none');
  assert.equal(valueLabel(null), 'null');
  assert.equal(valueLabel(false), 'false');
  assert.equal(valueLabel(1e-8), '1e-8');
  assert.equal(valueLabel(-0.5), '-0.5');
  assert.equal(valueLabel('../etc/a b'), '.._etc_a_b');
  const runs = expandSweep({ grid: { 'model.widths': [[100], [100, 100], []], 'clip.max_norm': [null, 1] } });
  assert.deepEqual(
    runs.map((r) => r.name),
    [
      'widths-100_max_norm-null',
      'widths-100_max_norm-1',
      'widths-100x100_max_norm-null',
      'widths-100x100_max_norm-1',
      'widths-none_max_norm-null',
      'widths-none_max_norm-1',
    ],
  );
});

test('names that would collide (also by case) get a stable hash suffix', () => {
  const keys = ['data.dir'];
  const params = [{ 'data.dir': 'a/b' }, { 'data.dir': 'a_b' }, { 'data.dir': 'A_B' }, { 'data.dir': 'c' }];
  const names = runNames(keys, params);
  assert.equal(names[3], 'dir-c');
  assert.equal(new Set(names.map((n) => n.toLowerCase())).size, 4);
  for (const n of names.slice(0, 3)) assert.match(n, /^dir-[aA]_[bB]-[0-9a-f]{8}$/);
  assert.deepEqual(runNames(keys, params), names);
  // The suffix depends on the run's own values only.
  assert.equal(runNames(keys, [params[1], params[0]])[1], names[0]);
  // Long names are cut and hashed.
  const long = runNames(['data.dir'], [{ 'data.dir': 'x'.repeat(500) }])[0];
  assert.ok(long.length <= 200);
  assert.match(long, /-[0-9a-f]{8}$/);
});

test('no grid: one run named base', () => {
  const runs = expandSweep({ base: { optimizer: { lr: 0.1 } } });
  assert.equal(runs.length, 1);
  assert.equal(runs[0].name, 'base');
  assert.equal(runs[0].config.optimizer.lr, 0.1);
});

test('sharding partitions the runs exactly', () => {
  const runs = expandSweep(SWEEP);
  for (const n of [1, 2, 3, 5, 12, 13]) {
    const shards = Array.from({ length: n }, (_, i) => shard(runs, i, n));
    const all = shards
      .flat()
      .map((r) => r.index)
      .sort((a, b) => a - b);
    assert.deepEqual(
      all,
      runs.map((r) => r.index),
      `n=${n}: union = all, no duplicates`,
    );
    shards.forEach((s, i) => {
      for (const r of s) assert.equal(r.index % n, i);
    });
    const sizes = shards.map((s) => s.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: balanced`);
  }
  assert.throws(() => shard(runs, 3, 3), RangeError);
  assert.throws(() => shard(runs, 0, 0), RangeError);
});

test('parseShard reads I/N and rejects the rest clearly', () => {
  assert.deepEqual(parseShard('0/4'), { index: 0, count: 4 });
  assert.deepEqual(parseShard(' 3 / 4 '), { index: 3, count: 4 });
  for (const [text, re] of [
    ['4/4', /--shard 4\/4: I must be in 0\.\.3/],
    ['1/0', /N must be >= 1/],
    ['1', /expected I\/N/],
    ['-1/4', /expected I\/N/],
    ['a/b', /expected I\/N/],
    ['1.5/4', /expected I\/N/],
  ] as const) {
    assert.throws(
      () => parseShard(text),
      (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      text,
    );
  }
});

test('invalid sweeps: errors name the run and key, or the grid key', () => {
  const err = (input: unknown): string => {
    try {
      expandSweep(input, 'my.yaml');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.ok(!e.message.includes('\n'));
      return e.message;
    }
    assert.fail('should throw');
  };
  assert.equal(
    err({ grid: { 'optimizer.lr': [0.1, -0.1], 'train.seed': [0] } }),
    'my.yaml: run 1 (lr--0.1_seed-0): optimizer.lr: must be > 0 (got -0.1)',
  );
  assert.match(
    err({ base: { optimizer: { lr: -1 } }, grid: { 'train.seed': [0, 1] } }),
    /^my\.yaml: 2 of 2 runs are invalid; first: run 0 \(seed-0\): optimizer\.lr: must be > 0/,
  );
  assert.match(
    err({ grid: { 'optimizer.lrr': [0.1] } }),
    /^my\.yaml: grid: unknown key "optimizer\.lrr" \(did you mean "lr"\?/,
  );
  assert.match(err({ grid: { 'optimizer.lr': 0.1 } }), /grid\.optimizer\.lr: must be a non-empty list/);
  assert.match(err({ grid: { 'optimizer.lr': [] } }), /grid\.optimizer\.lr: must be a non-empty list/);
  assert.match(err({ grid: { 'optimizer.lr': [0.1, 0.1] } }), /grid\.optimizer\.lr: the value 0\.1 appears twice/);
  assert.match(err({ bsae: {} }), /unknown key "bsae" \(allowed: base, grid, name, description\)/);
  assert.match(err({ base: [1] }), /base: must be a mapping/);
  assert.match(err([1]), /must be a mapping with base: and grid:/);
  assert.match(err({ base: { modle: {} } }), /run 0 \(base\): unknown key "modle"/);
});

test('loadSweep reads YAML, keeping the file order of grid keys', () => {
  const p = join(dir, 'sweep.yaml');
  writeFileSync(
    p,
    'name: lr-scan\nbase:\n  train: {steps: 10}\ngrid:\n  train.seed: [0, 1]\n  optimizer.lr: [0.1, 0.2]\n',
  );
  const runs = loadSweep(p);
  assert.deepEqual(
    runs.map((r) => r.name),
    ['seed-0_lr-0.1', 'seed-0_lr-0.2', 'seed-1_lr-0.1', 'seed-1_lr-0.2'],
  );
  writeFileSync(p, 'grid:\n  optimizer.lr: [0.1, -1]\n');
  assert.throws(
    () => loadSweep(p),
    (e: Error) => e.message.startsWith(`${p}: run 1 (lr--1): optimizer.lr`),
  );
});
