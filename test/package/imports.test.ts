/**
 * The import graph of src/: no import cycles (type-only imports included, as a reader sees them),
 * found by Tarjan's strongly connected components over the relative imports of every src/**.ts.
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
function importGraph(root: string): Map<string, string[]> {
  const files = (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, f));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = importSpecifiers(readFileSync(f, 'utf8'))
      .filter((s) => s.spec.startsWith('.'))
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
