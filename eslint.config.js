// ESLint flat config: typescript-eslint's recommended rules, plus the layer order of
// notes/CONVENTIONS.md enforced as import restrictions (`npm run lint`).
import { readdirSync } from 'node:fs';
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

/** One config block per layer: static imports/re-exports and dynamic import() of higher or sibling layers are errors. */
const layerBlocks = LAYERS.map((layer) => {
  const banned = LAYERS.filter((l) => l !== layer && !LOWER[layer].includes(l));
  const message = `src/${layer}/ may import only ${LOWER[layer].map((l) => `${l}/`).join(', ') || 'itself'} (layer order: notes/CONVENTIONS.md).`;
  const rules = {};
  if (banned.length > 0) {
    rules['no-restricted-imports'] = ['error', { patterns: [{ group: banned.map((l) => `**/${l}/**`), message }] }];
    rules['no-restricted-syntax'] = [
      'error',
      {
        // esquery regexes cannot contain '/', hence \x2F.
        selector: `ImportExpression[source.value=/(^|\\x2F)(${banned.join('|')})\\x2F/]`,
        message,
      },
    ];
  }
  return { name: `edgewise/layer-${layer}`, files: [`src/${layer}/**/*.ts`], rules };
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
);
