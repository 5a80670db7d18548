import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVATION_NAMES,
  ARCH_NAMES,
  ConfigError,
  INIT_SCHEMES,
  NORM_NAMES,
  checkConfigKey,
  configSchema,
  defaultConfig,
  resolveConfig,
  type Config,
} from '../../src/experiments/config.ts';
import { SYNTHETIC_DEFAULTS, resolveDataSpec } from '../../src/data/dataset.ts';
import { OPTIMIZER_NAMES, createSchedule, resolveOptimizerConfig } from '../../src/train/index.ts';

/**
 * DESIGN.md's config block, transcribed by hand (the oracle for the defaults). Two documented
 * departures: data.name defaults to mnist (the embedded set), and data.test_size to 'all'
 * (DESIGN's 10000 is all of Fashion-MNIST's test split; the embedded MNIST has 2000).
 */
const DESIGN = {
  data: { name: 'mnist', train_size: 5000, test_size: 'all', preprocess: 'standardize', flatten: true },
  model: {
    arch: 'mlp',
    widths: [200, 200],
    activation: 'tanh',
    norm: 'none',
    init: { scheme: 'lecun-normal', scale: 1.0 },
  },
  loss: 'mse',
  optimizer: {
    name: 'gd',
    lr: 0.05,
    batch_size: 'full',
    momentum: 0.9,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weight_decay: 0,
  },
  schedule: { warmup_steps: 0, decay: 'constant' },
  clip: { max_norm: null },
  train: { steps: 2000, seed: 0, stop_train_loss: null, stop_train_acc: null, divergence_loss: 1000 },
  curvature: {
    every: 20,
    top_k: 2,
    lanczos_iters: 20,
    matrix: 'hessian',
    reorthogonalization: 'partial',
    samples: 'all',
    preconditioned: 'auto',
    rotation: true,
    trace_every: 0,
    density_every: 0,
    bn_mode: 'train',
  },
  log: { every: 1, test_every: 100 },
};

/** Asserts every key of `expected` (recursively; lists compared whole) has that value in `actual`. */
function assertContains(actual: unknown, expected: unknown, path = ''): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} should be a mapping`);
    for (const [k, v] of Object.entries(expected))
      assertContains((actual as Record<string, unknown>)[k], v, path ? `${path}.${k}` : k);
  } else {
    assert.deepEqual(actual, expected, `${path}`);
  }
}

test('defaults resolve to DESIGN.md values', () => {
  const c = resolveConfig({});
  assertContains(c, DESIGN);
  assert.equal(c.backend, 'ort');
  assert.equal(c.optimizer.clip_denominator, null);
  assert.equal(c.train.chunk_size, 5000);
  // null and undefined input mean "no file": all defaults.
  assert.deepEqual(resolveConfig(null), c);
  assert.deepEqual(resolveConfig(undefined), c);
});

test('DESIGN.md example written out in full is accepted unchanged', () => {
  const explicit = structuredClone(DESIGN) as unknown as Record<string, Record<string, unknown>>;
  explicit.data.name = 'fashion-mnist';
  explicit.data.test_size = 10000;
  const c = resolveConfig(explicit);
  assertContains(c, explicit);
});

test('defaultConfig returns independent objects', () => {
  const a = defaultConfig();
  a.model.widths.push(7);
  a.optimizer.lr = 9;
  const b = defaultConfig();
  assert.deepEqual(b.model.widths, [200, 200]);
  assert.equal(b.optimizer.lr, 0.05);
});

test('enumerations are the documented ones (and the lower layers agree)', () => {
  const c = configSchema.shape;
  const opts = (s: { _zod: { def: { innerType?: unknown; entries?: Record<string, string> } } }): string[] => {
    let cur = s as {
      _zod: { def: { innerType?: unknown; entries?: Record<string, string>; shape?: Record<string, unknown> } };
    };
    while (cur._zod.def.innerType !== undefined) cur = cur._zod.def.innerType as typeof cur;
    return Object.values(cur._zod.def.entries ?? {});
  };
  const shapeOf = (s: unknown): Record<string, never> => {
    let cur = s as { _zod: { def: { innerType?: unknown; shape?: Record<string, never> } } };
    while (cur._zod.def.innerType !== undefined) cur = cur._zod.def.innerType as typeof cur;
    return cur._zod.def.shape ?? {};
  };
  assert.deepEqual(opts(shapeOf(c.data).name), [
    'fashion-mnist',
    'mnist',
    'cifar10',
    'synthetic-gmm',
    'synthetic-regression',
    'text-sonnets',
  ]);
  assert.deepEqual(opts(shapeOf(c.data).subset), ['first', 'stratified']);
  assert.deepEqual(opts(shapeOf(c.data).preprocess), ['none', 'scale', 'center', 'standardize', 'global-standardize']);
  assert.deepEqual(opts(shapeOf(c.optimizer).name), [
    'gd',
    'sgd',
    'momentum',
    'nesterov',
    'adam',
    'adamw',
    'rmsprop',
    'adam-ub',
    'rmsprop-ub',
  ]);
  assert.deepEqual(opts(shapeOf(c.schedule).decay), ['constant', 'cosine', 'step']);
  assert.deepEqual(opts(c.loss as never), ['mse', 'cross-entropy']);
  assert.deepEqual([...ARCH_NAMES], ['mlp', 'cnn', 'resnet', 'deep-linear', 'transformer']);
  assert.deepEqual([...NORM_NAMES], ['none', 'batchnorm', 'layernorm']);
  assert.deepEqual([...ACTIVATION_NAMES], ['tanh', 'relu', 'elu', 'gelu', 'softplus', 'sigmoid', 'identity']);
  assert.deepEqual(
    [...INIT_SCHEMES],
    [
      'lecun-normal',
      'lecun-uniform',
      'glorot-normal',
      'glorot-uniform',
      'he-normal',
      'he-uniform',
      'fixup',
      'metainit',
      'gradinit',
    ],
  );
});

test('every allowed enum value and union form is accepted', () => {
  // The transformer reads token windows (text-sonnets) with cross-entropy; the other archs take the default data.
  const forArch = (arch: string) =>
    arch === 'transformer' ? { data: { name: 'text-sonnets' }, loss: 'cross-entropy' } : {};
  for (const arch of ARCH_NAMES) assert.equal(resolveConfig({ ...forArch(arch), model: { arch } }).model.arch, arch);
  for (const activation of ACTIVATION_NAMES)
    assert.equal(resolveConfig({ model: { activation } }).model.activation, activation);
  for (const scheme of INIT_SCHEMES)
    assert.equal(resolveConfig({ model: { init: { scheme } } }).model.init.scheme, scheme);
  for (const p of ['auto', true, false] as const)
    assert.equal(resolveConfig({ curvature: { preconditioned: p } }).curvature.preconditioned, p);
  const c = resolveConfig({
    data: { name: 'synthetic-gmm', train_size: 'all', input_dim: 5, num_classes: 4, separation: 2 },
    optimizer: { name: 'adam-ub', batch_size: 64, clip_denominator: 0.5 },
    schedule: { decay: 'step', step_size: 100, gamma: 0.5 },
    clip: { max_norm: 1 },
    curvature: { samples: 1000, early_every: 1, early_steps: 50 },
    train: { stop_train_acc: 0.99, stop_train_loss: 0.01, divergence_loss: null },
  });
  assert.equal(c.optimizer.batch_size, 64);
  // Synthetic-only keys: given ones kept, the others filled from the data layer's defaults.
  assert.deepEqual(resolveConfig({ data: { name: 'synthetic-regression', input_dim: 3 } }).data, {
    name: 'synthetic-regression',
    train_size: 5000,
    test_size: 'all',
    subset: 'first',
    seed: 0,
    preprocess: 'standardize',
    flatten: true,
    input_dim: 3,
    num_outputs: SYNTHETIC_DEFAULTS.num_outputs,
    noise: SYNTHETIC_DEFAULTS.noise,
    teacher: SYNTHETIC_DEFAULTS.teacher,
  });
  assert.equal(resolveConfig({}).data.input_dim, undefined);
  assert.equal(c.data.num_classes, 4);
  assert.equal(c.curvature.samples, 1000);
  assert.equal(c.train.divergence_loss, null);
});

interface Bad {
  readonly input: unknown;
  /** The dotted key the message must name. */
  readonly key: string;
  /** Further fragments the message must contain (value shown, rule). */
  readonly has: readonly string[];
}

const MALFORMED: Bad[] = [
  { input: { optimizer: { lr: -0.1 } }, key: 'optimizer.lr', has: ['must be > 0', '(got -0.1)'] },
  { input: { optimizer: { lr: 0 } }, key: 'optimizer.lr', has: ['> 0', '(got 0)'] },
  { input: { optimizer: { lr: '0.1' } }, key: 'optimizer.lr', has: ['number', '(got "0.1")'] },
  { input: { optimizer: { name: 'adm' } }, key: 'optimizer.name', has: ['one of gd, sgd', 'adam', '(got "adm")'] },
  {
    input: { optimizer: { batch_size: 0, name: 'sgd' } },
    key: 'optimizer.batch_size',
    has: ['"full" or an integer >= 1', '(got 0)'],
  },
  { input: { optimizer: { batch_size: 'half' } }, key: 'optimizer.batch_size', has: ['"full"', '(got "half")'] },
  { input: { optimizer: { beta2: 1 } }, key: 'optimizer.beta2', has: ['[0, 1)', '(got 1)'] },
  {
    input: { optimizer: { name: 'rmsprop-ub' } },
    key: 'optimizer.clip_denominator',
    has: ['rmsprop-ub', '(got null)'],
  },
  {
    input: { optimizer: { name: 'gd', batch_size: 128 } },
    key: 'optimizer.batch_size',
    has: ['"full" for optimizer.name gd', '(got 128)'],
  },
  {
    input: { optimizer: { name: 'sgd', batch_size: 6000 } },
    key: 'optimizer.batch_size',
    has: ['data.train_size (5000)', '(got 6000)'],
  },
  {
    input: { model: { widht: [10] } },
    key: 'model.widht',
    has: ['unknown key', 'did you mean "widths"', 'allowed: arch, widths'],
  },
  { input: { modle: {} }, key: 'modle', has: ['unknown key', 'allowed: data, model'] },
  {
    input: { model: { init: { scheme: 'he-normal', scal: 2 } } },
    key: 'model.init.scal',
    has: ['unknown key', 'allowed: scheme, scale, zero_last'],
  },
  { input: { curvature: { top_k: 0 } }, key: 'curvature.top_k', has: ['integer >= 1', '(got 0)'] },
  { input: { curvature: { top_k: 30 } }, key: 'curvature.lanczos_iters', has: ['>= curvature.top_k (30)', '(got 20)'] },
  { input: { curvature: { samples: 'some' } }, key: 'curvature.samples', has: ['"all" or an integer', '(got "some")'] },
  {
    input: { curvature: { preconditioned: 'yes' } },
    key: 'curvature.preconditioned',
    has: ['auto, true or false', '(got "yes")'],
  },
  { input: { curvature: { bn_mode: 'test' } }, key: 'curvature.bn_mode', has: ['one of train, eval', '(got "test")'] },
  {
    input: { curvature: { matrix: 'fisher' } },
    key: 'curvature.matrix',
    has: ['one of hessian, ggn, both', '(got "fisher")'],
  },
  {
    input: { curvature: { reorthogonalization: 'some' } },
    key: 'curvature.reorthogonalization',
    has: ['one of partial, full', '(got "some")'],
  },
  { input: { curvature: { early_steps: 10 } }, key: 'curvature.early_every', has: ['>= 1', '(got 0)'] },
  { input: { train: { steps: -5 } }, key: 'train.steps', has: ['integer >= 0', '(got -5)'] },
  { input: { train: { steps: 10.5 } }, key: 'train.steps', has: ['integer', '(got 10.5)'] },
  { input: { train: { stop_train_acc: 1.5 } }, key: 'train.stop_train_acc', has: ['[0, 1]', '(got 1.5)'] },
  { input: { train: { seed: 'abc' } }, key: 'train.seed', has: ['integer', '(got "abc")'] },
  { input: { model: { widths: [200, -3] } }, key: 'model.widths[1]', has: ['integer >= 1', '(got -3)'] },
  { input: { model: { widths: 200 } }, key: 'model.widths', has: ['list', '(got 200)'] },
  { input: { model: { activation: 'swish' } }, key: 'model.activation', has: ['tanh, relu', '(got "swish")'] },
  { input: { model: { norm: true } }, key: 'model.norm', has: ['none, batchnorm, layernorm', '(got true)'] },
  { input: { model: { init: { scale: -1 } } }, key: 'model.init.scale', has: ['> 0', '(got -1)'] },
  { input: { model: 3 }, key: 'model', has: ['mapping', '(got 3)'] },
  { input: { data: { name: 'imagenet' } }, key: 'data.name', has: ['fashion-mnist, mnist', '(got "imagenet")'] },
  { input: { data: { train_size: 0 } }, key: 'data.train_size', has: ['"all" or an integer >= 1', '(got 0)'] },
  { input: { data: { flatten: 'yes' } }, key: 'data.flatten', has: ['true or false', '(got "yes")'] },
  { input: { data: { name: 'mnist', noise: 0.1 } }, key: 'data.noise', has: ['synthetic-regression', '(got 0.1)'] },
  { input: { loss: 'hinge' }, key: 'loss', has: ['mse, cross-entropy', '(got "hinge")'] },
  { input: { schedule: { decay: 'step' } }, key: 'schedule.step_size', has: ['decay is step', '(got null)'] },
  { input: { schedule: { warmup_steps: -1 } }, key: 'schedule.warmup_steps', has: ['>= 0', '(got -1)'] },
  { input: { clip: { max_norm: 0 } }, key: 'clip.max_norm', has: ['null or a number > 0', '(got 0)'] },
  { input: { clip: { max_norm: 1, mode: 'norm' } }, key: 'clip.mode', has: ['unknown key', 'allowed: max_norm'] },
  { input: { log: { every: 0 } }, key: 'log.every', has: ['integer >= 1', '(got 0)'] },
  { input: { backend: 'cuda' }, key: 'backend', has: ['ort, webgpu, reference', '(got "cuda")'] },
  { input: { threads: -1 }, key: 'threads', has: ['>= 0', '(got -1)'] },
  { input: { optimizer: { lr: Number.POSITIVE_INFINITY } }, key: 'optimizer.lr', has: ['(got Infinity)'] },
  { input: { optimizer: { lr: Number.NaN } }, key: 'optimizer.lr', has: ['(got NaN)'] },
];

test(`${MALFORMED.length} malformed configs each give a one-line ConfigError naming the key`, () => {
  assert.ok(MALFORMED.length >= 20);
  for (const { input, key, has } of MALFORMED) {
    let err: unknown;
    try {
      resolveConfig(input);
    } catch (e) {
      err = e;
    }
    const what = JSON.stringify(input);
    assert.ok(err instanceof ConfigError, `${what} should throw ConfigError`);
    assert.equal(err.name, 'ConfigError');
    assert.ok(!err.message.includes('\n'), `${what}: message should be one line: ${err.message}`);
    assert.ok(err.message.includes(key), `${what}: message should name ${key}: ${err.message}`);
    for (const h of has) assert.ok(err.message.includes(h), `${what}: message should contain ${h}: ${err.message}`);
    assert.ok(err.issues.length >= 1);
  }
});

test('the top level must be a mapping', () => {
  for (const v of [5, 'x', [1, 2]]) {
    assert.throws(
      () => resolveConfig(v),
      (e: Error) => e instanceof ConfigError && /^config: must be a mapping/.test(e.message),
    );
  }
});

test('several problems are reported on one line', () => {
  try {
    resolveConfig({ optimizer: { lr: -1, name: 'x' }, train: { steps: -1 }, foo: 1 });
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.ok(!e.message.includes('\n'));
    for (const k of ['optimizer.lr', 'optimizer.name', 'train.steps', 'unknown key "foo"'])
      assert.ok(e.message.includes(k), e.message);
    assert.equal(e.issues.length, 4);
  }
});

test('checkConfigKey accepts config keys and names the unknown part', () => {
  assert.equal(checkConfigKey(['optimizer', 'lr']), null);
  assert.equal(checkConfigKey(['model', 'init', 'scale']), null);
  assert.equal(checkConfigKey(['model']), null);
  assert.match(checkConfigKey(['model', 'widht']) ?? '', /unknown key "model.widht".*allowed: arch/);
  assert.match(checkConfigKey(['optimizer', 'lr', 'x']) ?? '', /"optimizer.lr" is not a section/);
  assert.match(checkConfigKey(['opt']) ?? '', /unknown key "opt"/);
});

test('Config type carries the resolved shapes', () => {
  const c: Config = resolveConfig({ optimizer: { batch_size: 32, name: 'sgd' } });
  const bs: 'full' | number = c.optimizer.batch_size;
  assert.equal(bs, 32);
});

test('resolved sections are accepted by the data and train layers', () => {
  for (const name of ['mnist', 'fashion-mnist', 'cifar10', 'synthetic-gmm', 'synthetic-regression']) {
    const c = resolveConfig({ data: { name, ...(name === 'cifar10' ? { dir: '/data/cifar' } : {}) } });
    const spec = resolveDataSpec(c.data);
    assert.equal(spec.name, name);
    assert.equal(spec.train_size, 5000);
  }
  for (const name of OPTIMIZER_NAMES) {
    const c = resolveConfig({ optimizer: { name, ...(name.endsWith('-ub') ? { clip_denominator: 1 } : {}) } });
    assert.equal(resolveOptimizerConfig(c.optimizer).name, name);
  }
  for (const schedule of [{}, { decay: 'cosine', warmup_steps: 10 }, { decay: 'step', step_size: 100 }]) {
    const c = resolveConfig({ schedule });
    const lr = createSchedule({ ...c.schedule, total_steps: c.train.steps }, c.optimizer.lr);
    assert.equal(lr(c.schedule.warmup_steps), c.optimizer.lr);
  }
});
