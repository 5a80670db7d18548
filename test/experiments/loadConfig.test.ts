import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveConfig } from '../../src/experiments/config.ts';
import {
  loadConfig,
  locateJsonError,
  parseOverride,
  parseValue,
  readConfigFile,
} from '../../src/experiments/loadConfig.ts';
import { RunStore } from '../../src/experiments/runStore.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-loadconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Runs `f`, expects a ConfigError, returns its message after checking it is one line. */
function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

const YAML_TEXT = `# a GD run
data:
  name: fashion-mnist
  train_size: 1000
model:
  widths: [64, 32]
  init: {scheme: he-normal, scale: 0.5}
optimizer:
  name: sgd
  lr: 2e-2
  batch_size: 100
clip:
  max_norm: ~
`;

test('YAML and JSON files with the same content load to the same config', () => {
  const y = loadConfig(file('a.yaml', YAML_TEXT));
  const j = loadConfig(
    file(
      'a.json',
      JSON.stringify({
        data: { name: 'fashion-mnist', train_size: 1000 },
        model: { widths: [64, 32], init: { scheme: 'he-normal', scale: 0.5 } },
        optimizer: { name: 'sgd', lr: 0.02, batch_size: 100 },
        clip: { max_norm: null },
      }),
    ),
  );
  assert.deepEqual(y, j);
  assert.equal(y.optimizer.lr, 0.02);
  assert.deepEqual(y.model.widths, [64, 32]);
  assert.equal(y.model.init.scale, 0.5);
  assert.equal(y.model.init.scheme, 'he-normal');
  assert.equal(y.train.steps, 2000); // default kept
  assert.deepEqual(loadConfig(file('b.yml', YAML_TEXT)), y);
});

test('empty YAML file and no file give the defaults', () => {
  assert.deepEqual(loadConfig(file('empty.yaml', '# nothing\n')), resolveConfig({}));
  assert.deepEqual(loadConfig(), resolveConfig({}));
  assert.deepEqual(loadConfig(null), resolveConfig({}));
});

test('--set overrides: nested keys, lists, null, booleans, strings, later wins', () => {
  const c = loadConfig(file('s.yaml', YAML_TEXT), [
    'optimizer.lr=0.1',
    'model.widths=[10, 20, 30]',
    'clip.max_norm=5',
    'clip.max_norm=null',
    'curvature.rotation=false',
    'optimizer.name=adam',
    'model.init.scale=2',
    'data.dir=/data/fashion:v1',
    'train.stop_train_loss=1e-3',
    'curvature.samples=all',
  ]);
  assert.equal(c.optimizer.lr, 0.1);
  assert.deepEqual(c.model.widths, [10, 20, 30]);
  assert.equal(c.clip.max_norm, null);
  assert.equal(c.curvature.rotation, false);
  assert.equal(c.optimizer.name, 'adam');
  assert.equal(c.model.init.scale, 2);
  assert.equal(c.model.init.scheme, 'he-normal'); // sibling kept
  assert.equal(c.data.dir, '/data/fashion:v1');
  assert.equal(c.data.name, 'fashion-mnist');
  assert.equal(c.train.stop_train_loss, 0.001);
  assert.equal(c.curvature.samples, 'all');
  // Sections missing from the file are created.
  assert.equal(loadConfig(null, ['schedule.warmup_steps=50']).schedule.warmup_steps, 50);
  // A mapping value replaces the section.
  assert.deepEqual(loadConfig(null, ['model.init={scheme: fixup}']).model.init, {
    scheme: 'fixup',
    scale: 1,
    zero_last: false,
  });
});

test('parseValue reads YAML flow scalars', () => {
  assert.equal(parseValue('0.5'), 0.5);
  assert.equal(parseValue('-3'), -3);
  assert.equal(parseValue('1e-8'), 1e-8);
  assert.equal(parseValue('true'), true);
  assert.equal(parseValue('null'), null);
  assert.equal(parseValue('adam'), 'adam');
  assert.equal(parseValue('"0.5"'), '0.5');
  assert.deepEqual(parseValue('[1, 2]'), [1, 2]);
  assert.equal(parseValue('@odd'), '@odd'); // not valid YAML: kept as text
  assert.throws(() => parseValue('[1, 2'));
});

test('--set errors name the override and the key', () => {
  assert.match(
    configError(() => loadConfig(null, ['model.widht=3'])),
    /^--set model\.widht=3: unknown key "model\.widht" \(did you mean "widths"\?/,
  );
  assert.match(
    configError(() => loadConfig(null, ['foo=1'])),
    /unknown key "foo"/,
  );
  assert.match(
    configError(() => loadConfig(null, ['optimizer.lr.x=1'])),
    /"optimizer\.lr" is not a section/,
  );
  assert.match(
    configError(() => loadConfig(null, ['optimizer.lr'])),
    /--set optimizer\.lr: expected key=value/,
  );
  assert.match(
    configError(() => loadConfig(null, ['model.widths=[1, 2'])),
    /--set model\.widths=\[1, 2: cannot parse the value/,
  );
  // A bad value set by an override is attributed to it.
  assert.match(
    configError(() => loadConfig(file('c.yaml', YAML_TEXT), ['optimizer.lr=-1'])),
    /^--set optimizer\.lr=-1: optimizer\.lr: must be > 0 \(got -1\)$/,
  );
  assert.match(
    configError(() => loadConfig(null, ['model.widths=[3, 0]'])),
    /^--set model\.widths=\[3, 0\]: model\.widths\[1\]: must be an integer >= 1 \(got 0\)$/,
  );
  assert.equal(parseOverride('optimizer.lr=0.1').key, 'optimizer.lr');
});

test('bad values in a file are reported with the file name', () => {
  const p = file('bad.yaml', 'optimizer:\n  lr: -0.1\n');
  assert.equal(
    configError(() => loadConfig(p)),
    `${p}: optimizer.lr: must be > 0 (got -0.1)`,
  );
  const q = file('unknown.json', '{"model": {"widht": [1]}}');
  assert.match(
    configError(() => loadConfig(q)),
    new RegExp(`^${q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unknown key "model.widht"`),
  );
});

test('missing files, bad extensions and syntax errors name the file (and line)', () => {
  const missing = join(dir, 'nope.yaml');
  assert.equal(
    configError(() => loadConfig(missing)),
    `cannot read config file ${missing}: no such file`,
  );
  assert.match(
    configError(() => loadConfig(file('c.toml', 'a = 1'))),
    /c\.toml: unsupported config file extension "\.toml"/,
  );
  assert.match(
    configError(() => loadConfig(dir + '/')),
    /unsupported config file extension|cannot read/,
  );

  const y = file('syntax.yaml', 'optimizer:\n  lr: 0.1\n  name: [adam\n');
  assert.match(
    configError(() => loadConfig(y)),
    new RegExp(`syntax\\.yaml:\\d+:\\d+: invalid YAML`),
  );
  const dup = file('dup.yaml', 'optimizer:\n  lr: 0.1\n  lr: 0.2\n');
  assert.match(
    configError(() => loadConfig(dup)),
    /dup\.yaml:3:3: invalid YAML: Map keys must be unique/,
  );
  const list = file('list.yaml', '- 1\n- 2\n');
  assert.match(
    configError(() => loadConfig(list)),
    /list\.yaml: the top level must be a mapping/,
  );

  const j = file('syntax.json', '{\n  "optimizer": {\n    "lr": 0.1,\n  }\n}\n');
  assert.match(
    configError(() => loadConfig(j)),
    /syntax\.json:4:3: invalid JSON: unexpected "\}" \(expected a quoted key\)/,
  );
  const j2 = file('unterminated.json', '{"a": [1, 2}');
  assert.match(
    configError(() => readConfigFile(j2)),
    /unterminated\.json:1:12: invalid JSON/,
  );
});

test('locateJsonError agrees with JSON.parse on what is valid', () => {
  const texts = [
    '{}',
    '[]',
    '{"a": [1, -2.5e3, true, null, "x\\n\\u00e9"]}',
    '{"a": 1,}',
    '[1 2]',
    '{"a" 1}',
    '01',
    '"\\x"',
    '{"a": tru}',
    '',
    ' 3 ',
    '{} {}',
  ];
  for (const t of texts) {
    let ok = true;
    try {
      JSON.parse(t);
    } catch {
      ok = false;
    }
    assert.equal(locateJsonError(t) === null, ok, t);
  }
});

test("a run's config.json loads back as a config file", () => {
  const original = loadConfig(null, ['optimizer.lr=0.3', 'train.seed=7']);
  const store = new RunStore(join(dir, 'run1')).init();
  store.writeConfig(original);
  assert.deepEqual(loadConfig(store.configPath), original);
  assert.deepEqual(loadConfig(store.configPath, ['train.seed=8']).train.seed, 8);
});
