import { AuditLog } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import { Spool, startStoreScp } from '@lpacs/dimse';
import type { StoreScp } from '@lpacs/dimse';
import { IngestSession } from '@lpacs/ingest';
import { Lake, prepareMaskNaming } from '@lpacs/lake';
import { sessionOptionsFromEnv } from '@lpacs/ml';
import {
  announceFirstAdmin,
  firstAdmin,
  sealFirstAdminPassword,
} from '../firstAdmin';
import { spoolText } from '../spoolText';
import { createLogger } from '../logger';
import type { Options } from '../options';
import { readOptionFile } from '../readOptionFile';
import { checkTlsPair } from '../tlsPair';

/** DICOM flags of `lpacs serve`. */
export interface DimseFlags {
  port?: number;
  aeTitle?: string;
  /** Calling AE titles that may associate (--allow-ae). */
  allow?: string[];
  /** Any calling AE title may associate (--allow-any-ae), said loudly. */
  allowAny?: boolean;
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
  /**
   * The C-STORE SCP merges the lake's batches when idle and they number
   * this many or more (--dimse-compact-after; 0 never; default 100).
   */
  compactAfter?: string;
}

/** --dimse-compact-after as a number of batches, or a problem. */
function compactAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value))
    throw new Error(
      `--dimse-compact-after ${value.slice(0, 20)}: give a number of batches (0: never)`,
    );
  return Number(value);
}

/** Grace for requests under way when the server stops. */
const SHUTDOWN_GRACE_MS = 5000;

/**
 * Resolves with the first SIGINT or SIGTERM; a second one exits at once,
 * without waiting (the lake's lock entry then stays until the next writer
 * finds its process gone and takes it over).
 */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      process.off('SIGINT', first);
      process.off('SIGTERM', first);
      const again = (s: NodeJS.Signals) => {
        process.stderr.write(`lpacs serve: ${s} again: exiting now\n`);
        process.exit(s === 'SIGINT' ? 130 : 143);
      };
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      resolve(signal);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
}

/** Why the DICOM flags cannot be used together, or undefined. */
function dimseFlagsProblem(dimse: DimseFlags): string | undefined {
  const listed = (dimse.allow?.length ?? 0) > 0;
  if (dimse.port === undefined)
    return listed || dimse.allowAny
      ? '--allow-ae and --allow-any-ae need --dimse-port'
      : undefined;
  if (listed && dimse.allowAny)
    return '--allow-ae and --allow-any-ae exclude each other';
  if (!listed && !dimse.allowAny)
    return (
      '--dimse-port needs the calling AE titles that may send: --allow-ae AE ' +
      '(once for each modality or PACS), or --allow-any-ae to accept any ' +
      '(docs/ops.md, "Receiving DICOM")'
    );
  return undefined;
}

/** `PREFIX-cert` and `PREFIX-key` read and checked as a pair (checkTlsPair). */
function pemPair(
  prefix: string,
  certPath: string,
  keyPath: string,
): { cert: Buffer; key: Buffer } {
  const cert = readOptionFile(`${prefix}-cert`, certPath);
  const key = readOptionFile(`${prefix}-key`, keyPath);
  checkTlsPair(
    { flag: `${prefix}-cert`, path: certPath, pem: cert },
    { flag: `${prefix}-key`, path: keyPath, pem: key },
  );
  return { cert, key };
}

/**
 * `lpacs serve`: the API (GraphQL, STOW-RS) and, with --dimse-port, a
 * C-STORE SCP, all ingesting through one session, until SIGINT or
 * SIGTERM: then both stop accepting, requests under way finish (up to
 * 5 s), and the session closes, releasing the lake's write lock.
 */
export async function serveCommand(
  opts: Options,
  dimse: DimseFlags = {},
): Promise<number> {
  // Before anything opens the lake: a stop asked for at any point is
  // served by closing what was opened.
  const stop = stopSignal();
  const problem = dimseFlagsProblem(dimse);
  if (problem) throw new Error(problem);
  if (dimse.compactAfter !== undefined && dimse.port === undefined)
    throw new Error('--dimse-compact-after needs --dimse-port');
  const compactAfterBatches = compactAfter(dimse.compactAfter);
  const logger = createLogger('api');
  // A typo'd --lake is an error, not an empty lake.
  (await Lake.open(opts.lake, logger, 'read')).close();
  // Before anything is served, an encrypted lake's masks still named after
  // their UIDs (written before keyed names) are renamed, and a first
  // admin's password an older lpacs left there in the clear is sealed.
  await prepareMaskNaming(opts.lake);
  await sealFirstAdminPassword(opts.lake);
  // A C-STORE SCP needs the lake's write lock for as long as it runs;
  // without one, STOW-RS takes it on its first request.
  const session =
    dimse.port === undefined
      ? undefined
      : await IngestSession.open({ lake: opts.lake, workers: 1, logger });
  let scp: StoreScp | undefined;
  let sessionClosed = false;
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
        ? pemPair('--tls', dimse.tlsCert, dimse.tlsKey)
        : undefined;
    const dimseTls =
      dimse.dimseTlsCert && dimse.dimseTlsKey
        ? {
            ...pemPair('--dimse-tls', dimse.dimseTlsCert, dimse.dimseTlsKey),
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
      shutdownGraceMs: SHUTDOWN_GRACE_MS,
      // Prediction jobs' onnxruntime settings: $LPACS_ORT_PROVIDERS etc.
      modelSession: sessionOptionsFromEnv(),
      // /metrics: instances answered to a C-STORE and not yet committed,
      // this server's and any a stopped one left.
      queues: async () => ({
        dimse_spool: (await Spool.waiting(opts.lake)).files,
      }),
    });
    process.stdout.write(
      `lpacs API serving lake ${opts.lake} at ${server.url}\n`,
    );
    const password = await firstAdmin(opts.lake, 'system:serve');
    if (password)
      process.stdout.write(
        await announceFirstAdmin(
          opts.lake,
          password,
          server.url.replace(/graphql$/, ''),
          process.stdout.isTTY === true,
        ),
      );
    if (session && dimse.port !== undefined) {
      scp = await startStoreScp({
        session,
        host: opts.host,
        port: dimse.port,
        aeTitle: dimse.aeTitle ?? 'LPACS',
        allowedCallingAETitles: dimse.allowAny ? undefined : dimse.allow,
        logger: createLogger('dimse'),
        audit: new AuditLog(opts.lake),
        ...(compactAfterBatches !== undefined
          ? { batching: { compactAfterBatches } }
          : {}),
        ...(dimseTls ? { tls: dimseTls } : {}),
      }).catch(async (err: unknown) => {
        await server.close(); // no half-started service: exit with the error
        throw err;
      });
      const callers = dimse.allowAny
        ? 'any calling AE title'
        : `calling AE titles ${dimse.allow!.join(', ')}`;
      if (dimse.allowAny)
        process.stderr.write(
          `lpacs: WARNING: the C-STORE SCP accepts any calling AE title (--allow-any-ae): any node that reaches ${opts.host}:${scp.port} can store into this lake; name the senders with --allow-ae (docs/ops.md, "Receiving DICOM")\n`,
        );
      process.stdout.write(
        `lpacs C-STORE SCP ${dimse.aeTitle ?? 'LPACS'} listening on ${opts.host}:${scp.port} for ${callers}${dimse.dimseTlsCert ? ' (DICOM TLS)' : ''}\n`,
      );
    }
    if (!scp) {
      // Only a C-STORE SCP takes over what a stopped one left answered
      // but uncommitted: said, so it is not taken for lost or for stored.
      const spool = await Spool.waiting(opts.lake);
      if (spool.stopped)
        process.stderr.write(
          `lpacs: WARNING: ${spoolText({ files: spool.stopped, stopped: spool.stopped }, opts.lake)}\n`,
        );
    }
    const signal = await stop;
    process.stdout.write(
      `lpacs serve: ${signal}: stopping (requests under way get up to ${SHUTDOWN_GRACE_MS / 1000} s)\n`,
    );
    await Promise.all([scp?.close(), server.close()]);
    sessionClosed = true;
    await session?.close();
    process.stdout.write('lpacs serve: stopped; the lake is released\n');
    return 0;
  } finally {
    if (!sessionClosed) await session?.close();
  }
}
