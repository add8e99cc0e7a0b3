import { startServer } from '@lpacs/api';
import { createLogger } from '../logger';
import type { Options } from '../options';

/** `lpacs serve`: the API until interrupted. */
export async function serveCommand(opts: Options): Promise<number> {
  const logger = createLogger('api');
  const server = await startServer({
    lake: opts.lake,
    host: opts.host,
    port: opts.port,
    logger,
  });
  process.stdout.write(
    `lpacs API serving lake ${opts.lake} at ${server.url}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
