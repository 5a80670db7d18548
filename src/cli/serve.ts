/** `edgewise serve [DIR] [--port P] [--host H]`: the live dashboard until interrupted. */
import { serve } from '../server/index.ts';
import { UsageError, mustExist } from './util.ts';

export async function commandServe(dir: string, o: { port: string; host: string }): Promise<void> {
  const port = Number(o.port);
  if (!(Number.isInteger(port) && port >= 0 && port < 65536))
    throw new UsageError(`--port must be an integer in 0..65535 (got ${o.port})`);
  const running = await serve(mustExist(dir, 'runs directory'), { host: o.host, port });
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void Promise.resolve(running.close()).then(() => resolve());
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
