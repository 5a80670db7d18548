// ESLint flat config: typescript-eslint's recommended rules, plus the layer order of
// notes/CONVENTIONS.md enforced as import restrictions (`npm run lint`).
import { existsSync, readdirSync } from 'node:fs';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// What each folder under src/ may import (besides itself), lowest layer first. Keep in step with
// notes/CONVENTIONS.md. Siblings (nn/data, experiments/bench, server/studies) may not import each other.
const LOWER = {
  util: [],
  engine: ['util'],
  nn: ['util', 'engine'],
  data: ['util', 'engine'],
  train: ['util', 'engine', 'nn', 'data'],
  curvature: ['util', 'engine', 'nn', 'data', 'train'],
  experiments: ['util', 'engine', 'nn', 'data', 'train', 'curvature'],
  bench: ['util', 'engine', 'nn', 'data', 'train', 'curvature'],
  report: ['util', 'engine', 'nn', 'data', 'train', 'curvature', 'experiments'],
  server: ['util', 'engine', 'nn', 'data', 'train', 'curvature', 'experiments', 'report'],
  studies: ['util', 'engine', 'nn', 'data', 'train', 'curvature', 'experiments', 'report'],
  cli: ['util', 'engine', 'nn', 'data', 'train', 'curvature', 'experiments', 'bench', 'report', 'server', 'studies'],
};
const LAYERS = Object.keys(LOWER);

// A new folder under src/ must be given its place above, or lint fails here rather than letting it
// import anything.
const unplaced = readdirSync(new URL('./src/', import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory() && !LAYERS.includes(e.name))
  .map((e) => e.name);
if (unplaced.length > 0) {
  throw new Error(`eslint.config.js: place src/${unplaced.join(', src/')} in the layer order (LOWER)`);
}

// Layers whose modules also run in a browser (the Lab's Web Worker): they may not import Node
// built-ins or onnxruntime-node, except the Node-only modules listed here (each has a
// platform-neutral twin: engine/platform.ts and runtime.ts, basisGraphs.ts, data/*Bytes.ts).
const BROWSER_SAFE = ['util', 'engine', 'nn', 'data', 'train', 'curvature'];
const NODE_ONLY = [
  'src/engine/backend.ts',
  'src/engine/basisKernels.ts',
  'src/engine/nodePlatform.ts',
  'src/engine/onnx/session.ts',
  'src/engine/webgpu/adapter.ts',
  'src/data/cifar.ts',
  'src/data/dataset.ts',
  'src/data/fashion.ts',
  'src/data/idx.ts',
  'src/data/mnist.ts',
  'src/data/text.ts',
];
// Browser-safe modules of the other layers (a run kept in memory by a browser worker).
const BROWSER_SAFE_FILES = [
  'src/experiments/config.ts',
  'src/experiments/memorySink.ts',
  'src/experiments/metricRows.ts',
  'src/experiments/runSink.ts',
  'src/experiments/runData.ts',
  'src/experiments/safetensorsBytes.ts',
  'src/experiments/trainLoop.ts',
];
const NODE_BUILTINS = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'crypto',
  'module',
  'url',
  'zlib',
  'child_process',
  'worker_threads',
];
const missingNodeOnly = [...NODE_ONLY, ...BROWSER_SAFE_FILES].filter(
  (f) => !existsSync(new URL(`./${f}`, import.meta.url)),
);
if (missingNodeOnly.length > 0)
  throw new Error(`eslint.config.js: NODE_ONLY or BROWSER_SAFE_FILES lists missing ${missingNodeOnly.join(', ')}`);
const browserMessage =
  'browser-safe module: no Node built-ins or onnxruntime-node (take an EnginePlatform, or bytes; Node-only modules are listed in eslint.config.js NODE_ONLY).';

/**
 * The import rules of one layer's files: static imports/re-exports and dynamic import() of higher
 * or sibling layers are errors; with `browser`, so are Node built-ins and onnxruntime-node.
 */
function importRules(layer, browser) {
  const banned = LAYERS.filter((l) => l !== layer && !LOWER[layer].includes(l));
  const message = `src/${layer}/ may import only ${LOWER[layer].map((l) => `${l}/`).join(', ') || 'itself'} (layer order: notes/CONVENTIONS.md).`;
  const patterns = [];
  const selectors = [];
  if (banned.length > 0) {
    patterns.push({ group: banned.map((l) => `**/${l}/**`), message });
    // esquery regexes cannot contain '/', hence \x2F.
    selectors.push({ selector: `ImportExpression[source.value=/(^|\\x2F)(${banned.join('|')})\\x2F/]`, message });
  }
  const rules = {};
  if (browser) {
    patterns.push({ group: ['node:*', 'onnxruntime-node', 'onnxruntime-node/**'], message: browserMessage });
    const bare = NODE_BUILTINS.map((m) => m.replace('/', '\\x2F')).join('|');
    selectors.push({
      selector: `ImportExpression[source.value=/^(node:|onnxruntime-node|(${bare})$)/]`,
      message: browserMessage,
    });
    rules['no-restricted-imports'] = [
      'error',
      { paths: NODE_BUILTINS.map((name) => ({ name, message: browserMessage })), patterns },
    ];
  } else if (patterns.length > 0) rules['no-restricted-imports'] = ['error', { patterns }];
  if (selectors.length > 0) rules['no-restricted-syntax'] = ['error', ...selectors];
  return rules;
}

// One block per layer; the Node-only modules of a browser-safe layer, and the browser-safe modules
// of another layer, get a second block (a later block's rule options replace an earlier one's).
const layerBlocks = LAYERS.flatMap((layer) => {
  const files = [`src/${layer}/**/*.ts`];
  const browser = BROWSER_SAFE.includes(layer);
  const others = (browser ? NODE_ONLY : BROWSER_SAFE_FILES).filter((f) => f.startsWith(`src/${layer}/`));
  return [
    { name: `edgewise/layer-${layer}`, files, ignores: others, rules: importRules(layer, browser) },
    ...(others.length > 0
      ? [
          {
            name: `edgewise/layer-${layer}-${browser ? 'node' : 'browser'}`,
            files: others,
            rules: importRules(layer, !browser),
          },
        ]
      : []),
  ];
});

// Node globals for the few plain .js/.mjs files (bin/, scripts/); TypeScript files get theirs from @types/node.
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((g) => [
    g,
    'readonly',
  ]),
);

export default defineConfig(
  {
    name: 'edgewise/ignores',
    ignores: ['dist/', 'docs/', 'web/dist/', 'coverage/', 'runs/', 'test-artifacts/', 'bench/results/', '.gpu/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: 'edgewise/base',
    languageOptions: { sourceType: 'module', globals: nodeGlobals },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names are deliberately unused (positional parameters, destructured-away fields).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Every random choice is seeded and reproducible (notes/CONVENTIONS.md).
    name: 'edgewise/seeded-randomness',
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Take an Rng (createRng(seed) from src/util/random.ts).' },
      ],
    },
  },
  ...layerBlocks,
  {
    // Tests walk parsed YAML/JSON documents of unknown shape; `any` there is an assertion target, not an API.
    name: 'edgewise/test',
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The dashboard is bundled for the browser: it may take types from src/ (the server's API
    // shapes), never code, which would pull Node modules into the bundle.
    name: 'edgewise/web',
    files: ['web/src/**/*.ts'],
    ignores: ['web/src/lab/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/**'],
              allowTypeImports: true,
              message: 'web/ may import only types from src/ (use `import type`).',
            },
          ],
        },
      ],
    },
  },
  {
    // The Lab (its page and its Web Worker) runs the training loop in the browser: besides types,
    // it may import the code of the browser-safe layers (less NODE_ONLY) and BROWSER_SAFE_FILES.
    name: 'edgewise/web-lab',
    files: ['web/src/lab/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({ name, message: browserMessage })),
          patterns: [
            {
              // gitignore order: src/ is banned, the browser-safe code allowed, its Node-only modules banned again.
              group: [
                // Files, not folders: gitignore cannot re-include a file below an excluded folder.
                '**/src/**/*.ts',
                ...BROWSER_SAFE.map((l) => `!**/src/${l}/**`),
                ...BROWSER_SAFE_FILES.map((f) => `!**/${f}`),
                ...NODE_ONLY.map((f) => `**/${f}`),
              ],
              allowTypeImports: true,
              message:
                'web/src/lab/ may import code only from the browser-safe modules of src/ (eslint.config.js BROWSER_SAFE, BROWSER_SAFE_FILES, less NODE_ONLY); types from anywhere.',
            },
            { group: ['node:*', 'onnxruntime-node', 'onnxruntime-node/**'], message: browserMessage },
          ],
        },
      ],
    },
  },
);
