/**
 * The import graph of src/: no import cycles (type-only imports included, as a reader sees them),
 * found by Tarjan's strongly connected components over the relative imports of every src/**.ts;
 * and the browser-safe modules (eslint.config.js: BROWSER_SAFE layers less NODE_ONLY, and
 * BROWSER_SAFE_FILES) reach no Node built-in, onnxruntime-node or Node-only module through their
 * runtime imports (the lint rule checks direct imports only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every specifier a module imports or re-exports, statically or by import('literal'), with its kind. */
function importSpecifiers(source: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  // `import … from '…'` / `export … from '…'` at the start of a line; [^;] spans multi-line braces.
  for (const m of source.matchAll(/^(?:import|export)\s([^;]*?)\s?from\s*['"]([^'"]+)['"]/gm))
    out.push({ spec: m[2]!, typeOnly: /^type\s/.test(m[1]!) });
  for (const m of source.matchAll(/^import\s*['"]([^'"]+)['"]/gm)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

/** The relative-import graph of the .ts files under `root`: absolute path → absolute paths it imports. */
function importGraph(root: string, runtimeOnly = false): Map<string, string[]> {
  const files = (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, f));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = importSpecifiers(readFileSync(f, 'utf8'))
      .filter((s) => s.spec.startsWith('.') && !(runtimeOnly && s.typeOnly))
      .map((s) => resolve(dirname(f), s.spec));
    graph.set(f, deps);
  }
  return graph;
}

/** Strongly connected components with more than one module (or a self-import): the import cycles. */
function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

test('the cycle finder finds a planted cycle and nothing in a chain', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
    ['e', ['e']],
  ]);
  const found = importCycles(g).map((c) => [...c].sort().join(' '));
  assert.deepEqual(found.sort(), ['a b c', 'e']);
  assert.deepEqual(
    importCycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  );
  assert.deepEqual(
    importSpecifiers("import type { A } from './a.ts';\nexport {\n  b,\n} from './b.ts';\nconst m = import('./c.ts');"),
    [
      { spec: './a.ts', typeOnly: true },
      { spec: './b.ts', typeOnly: false },
      { spec: './c.ts', typeOnly: false },
    ],
  );
});

test('src/ has no import cycles', () => {
  const graph = importGraph(SRC);
  assert.ok(graph.size > 100, `only ${graph.size} modules found under src/`);
  for (const [f, deps] of graph)
    for (const d of deps) assert.ok(graph.has(d), `${relative(SRC, f)} imports a missing module ${relative(SRC, d)}`);
  const cycles = importCycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(' → '));
  assert.deepEqual(cycles, []);
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const eslintConfig = readFileSync(join(ROOT, 'eslint.config.js'), 'utf8');
/** A `const NAME = [ 'a', 'b' ];` string list of eslint.config.js. */
const configList = (name: string): string[] => {
  const m = new RegExp(`const ${name} = \\[([^\\]]*)\\];`).exec(eslintConfig);
  assert.ok(m, `eslint.config.js has no ${name} list`);
  return [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!);
};

/**
 * Browser-safe modules that still reach Node at run time, and why. Barrels (index.ts) re-export
 * the Node readers and runtimes for the package entry; a browser imports the modules themselves.
 */
const KNOWN_NODE_REACH: Record<string, string> = {
  'curvature/modelHessian.ts': 'hessian(model, …) makes its own Runtime (Node platform); to take a Runtime or platform',
};

test('browser-safe modules reach no Node-only module through runtime imports', () => {
  const layers = configList('BROWSER_SAFE');
  const nodeOnly = new Set(configList('NODE_ONLY').map((f) => join(ROOT, f)));
  const browserFiles = new Set(configList('BROWSER_SAFE_FILES').map((f) => join(ROOT, f)));
  assert.ok(browserFiles.has(join(SRC, 'experiments', 'memorySink.ts')));
  assert.ok(layers.includes('engine') && nodeOnly.has(join(SRC, 'engine', 'backend.ts')));
  const graph = importGraph(SRC, true);
  const nodeImports = (f: string): boolean =>
    importSpecifiers(readFileSync(f, 'utf8')).some(
      (s) => !s.typeOnly && /^(node:|onnxruntime-node($|\/)|(fs|path|os|crypto|module|url|zlib)$)/.test(s.spec),
    );
  const leaks: string[] = [];
  for (const start of graph.keys()) {
    const rel = relative(SRC, start);
    const safe = browserFiles.has(start) || (layers.includes(rel.split('/')[0]!) && !nodeOnly.has(start));
    if (!safe || rel.endsWith('index.ts')) continue;
    // Depth-first search for a path to a Node-only module or a Node import.
    const seen = new Set([start]);
    const stack: string[][] = [[start]];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const at = path[path.length - 1]!;
      if (nodeOnly.has(at) || nodeImports(at)) {
        if (!(rel in KNOWN_NODE_REACH)) leaks.push(path.map((f) => relative(SRC, f)).join(' → '));
        break;
      }
      for (const next of graph.get(at) ?? [])
        if (!seen.has(next)) {
          seen.add(next);
          stack.push([...path, next]);
        }
    }
  }
  assert.deepEqual(leaks, []);
});
