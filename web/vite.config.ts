/**
 * Builds the dashboard into web/dist: `npx vite build --config web/vite.config.ts` (from the repo
 * root). `npx vite --config web/vite.config.ts` runs a dev server that proxies /api to a running
 * `edgewise serve` on port 6070.
 */
import { defineConfig } from 'vite';

// The folder of this file (= web/), so the build works from any working directory.
const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root: here,
  // Relative asset and API URLs: the app also works behind a path prefix (a reverse proxy).
  base: './',
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
