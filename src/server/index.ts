/**
 * The dashboard: `edgewise serve [DIR] [--port P] [--host H]` calls `serve`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_COMMAND, createServer, DEFAULT_STATIC_DIR, type RunningServer, type ServerOptions } from './server.ts';

export { BUILD_COMMAND, createServer, CSP, DEFAULT_STATIC_DIR } from './server.ts';
export type { DashboardServer, RunningServer, ServerOptions } from './server.ts';
export type * from './types.ts';

/** Default port of `edgewise serve`. */
export const DEFAULT_PORT = 6070;

/**
 * Serves the runs under `dir` (default port 6070 on 127.0.0.1) and prints the URL (to `log`,
 * default stdout). Resolves once listening; close() stops it.
 */
export async function serve(
  dir: string,
  options: Omit<ServerOptions, 'dir'> = {},
  log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<RunningServer> {
  const staticDir = options.staticDir ?? DEFAULT_STATIC_DIR;
  if (!existsSync(join(staticDir, 'index.html'))) {
    log(
      `warning: the dashboard app is not built (no ${join(staticDir, 'index.html')}); run \`${BUILD_COMMAND}\`. The API works regardless.`,
    );
  }
  let running: RunningServer;
  try {
    running = await createServer({ ...options, dir, port: options.port ?? DEFAULT_PORT }).start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      throw new Error(`serve: port ${options.port ?? DEFAULT_PORT} is in use; pick another with --port`, { cause: e });
    if (err.code === 'EACCES')
      throw new Error(
        `serve: not allowed to listen on ${options.host ?? '127.0.0.1'}:${options.port ?? DEFAULT_PORT}`,
        { cause: e },
      );
    throw e;
  }
  log(`Edgewise dashboard for ${dir}: ${running.url}`);
  return running;
}
