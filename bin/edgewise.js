#!/usr/bin/env node
// The edgewise command. An installed package runs the compiled dist/. In the repository (src/
// present and tsx installed) it runs the TypeScript sources through tsx, so no build is needed
// and a stale dist/ is never used.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli/main.ts', import.meta.url);
const tsx = existsSync(src) ? await import('tsx/esm/api').catch(() => null) : null;
let main;
if (tsx) {
  tsx.register();
  ({ main } = await import(src.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv);
