import { startServer } from '@lpacs/api';
import { startStoreScp } from '@lpacs/dimse';
import type { StoreScp } from '@lpacs/dimse';
import { IngestSession } from '@lpacs/ingest';
import { Lake } from '@lpacs/lake';
import { firstAdmin, firstAdminText } from '../firstAdmin';
import { createLogger } from '../logger';
import type { Options } from '../options';
import { readOptionFile } from '../readOptionFile';

/** DICOM flags of `lpacs serve`. */
export interface DimseFlags {
  port?: number;
  aeTitle?: string;
  allow?: string[];
  /** PEM files for HTTPS. */
  tlsCert?: string;
  tlsKey?: string;
  /** Origins allowed to call the API from a browser (CORS). */
  corsOrigins?: string[];
  /** An OHIF Viewer the portal links studies to. */
  ohifUrl?: string;
  /** PEM files for DICOM TLS on the C-STORE SCP. */
  dimseTlsCert?: string;
  dimseTlsKey?: string;
  /** PEM of the CA that must have signed a calling node's certificate. */
  dimseTlsCa?: string;
  /** Peers whose X-Forwarded-For is believed (--trust-proxy; `none`). */
  trustProxy?: string[];
}

/**
 * `lpacs serve`: the API (GraphQL, STOW-RS) and, with --dimse-port, a
 * C-STORE SCP, all ingesting through one session, until interrupted.
 */
export async function serveCommand(
  opts: Options,
  dimse: DimseFlags = {},
): Promise<number> {
  const logger = createLogger('api');
  // A typo'd --lake is an error, not an empty lake.
  (await Lake.open(opts.lake, logger, 'read')).close();
  // A C-STORE SCP needs the lake's write lock for as long as it runs;
  // without one, STOW-RS takes it on its first request.
  const session =
    dimse.port === undefined
      ? undefined
      : await IngestSession.open({ lake: opts.lake, workers: 1, logger });
  let scp: StoreScp | undefined;
  try {
    if (!!dimse.tlsCert !== !!dimse.tlsKey)
      throw new Error('--tls-cert and --tls-key go together');
    if (!!dimse.dimseTlsCert !== !!dimse.dimseTlsKey)
      throw new Error('--dimse-tls-cert and --dimse-tls-key go together');
    if (dimse.port === undefined && (dimse.dimseTlsCert || dimse.dimseTlsCa))
      throw new Error('--dimse-tls-* needs --dimse-port');
    if (dimse.dimseTlsCa && !dimse.dimseTlsCert)
      throw new Error(
        '--dimse-tls-ca needs --dimse-tls-cert and --dimse-tls-key',
      );
    // Every file before anything listens: a missing one is then an error
    // with no half-started service behind it.
    const tls =
      dimse.tlsCert && dimse.tlsKey
        ? {
            cert: readOptionFile('--tls-cert', dimse.tlsCert),
            key: readOptionFile('--tls-key', dimse.tlsKey),
          }
        : undefined;
    const dimseTls =
      dimse.dimseTlsCert && dimse.dimseTlsKey
        ? {
            cert: readOptionFile('--dimse-tls-cert', dimse.dimseTlsCert),
            key: readOptionFile('--dimse-tls-key', dimse.dimseTlsKey),
            ...(dimse.dimseTlsCa
              ? { ca: readOptionFile('--dimse-tls-ca', dimse.dimseTlsCa) }
              : {}),
          }
        : undefined;
    const server = await startServer({
      lake: opts.lake,
      host: opts.host,
      port: opts.port,
      logger,
      session,
      ...(tls ? { tls } : {}),
      ...(dimse.corsOrigins ? { corsOrigins: dimse.corsOrigins } : {}),
      ...(dimse.ohifUrl ? { ohifUrl: dimse.ohifUrl } : {}),
      ...(dimse.trustProxy ? { trustProxy: dimse.trustProxy } : {}),
    });
    process.stdout.write(
      `lpacs API serving lake ${opts.lake} at ${server.url}\n`,
    );
    const password = await firstAdmin(opts.lake);
    if (password)
      process.stdout.write(
        firstAdminText(password, server.url.replace(/graphql$/, '')),
      );
    if (session && dimse.port !== undefined) {
      scp = await startStoreScp({
        session,
        host: opts.host,
        port: dimse.port,
        aeTitle: dimse.aeTitle ?? 'LPACS',
        allowedCallingAETitles: dimse.allow,
        logger: createLogger('dimse'),
        ...(dimseTls ? { tls: dimseTls } : {}),
      }).catch(async (err: unknown) => {
        await server.close(); // no half-started service: exit with the error
        throw err;
      });
      process.stdout.write(
        `lpacs C-STORE SCP ${dimse.aeTitle ?? 'LPACS'} listening on ${opts.host}:${scp.port}${dimse.dimseTlsCert ? ' (DICOM TLS)' : ''}\n`,
      );
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await scp?.close();
    await server.close();
    return 0;
  } finally {
    await session?.close();
  }
}
