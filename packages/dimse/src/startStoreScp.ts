import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo, Server, Socket } from 'node:net';
import { log } from 'dcmjs-dimse';
import { silentLogger } from '@lpacs/lake';
import type { Logger } from '@lpacs/lake';
import { DimseError, DimseErrorCode } from './DimseError';
import { Spool } from './Spool';
import { StoreBatcher, spooledSource } from './StoreBatcher';
import type { Settled } from './StoreBatcher';
import { StoreScpConnection } from './StoreScpConnection';
import type { ConnectionContext } from './StoreScpConnection';
import type { DimseAuditEvent, StoreScp, StoreScpOptions } from './types';

/** PS3.5 6.2 AE: 1 to 16 printable characters, no backslash, not all spaces. */
function aeTitle(value: string, what: string): string {
  const trimmed = value.trim();
  if (!/^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(trimmed)) {
    throw new DimseError(
      DimseErrorCode.InvalidAeTitle,
      `${what} "${value.slice(0, 40)}" is not an AE title (1-16 printable characters, no backslash)`,
    );
  }
  return trimmed;
}

/** A stable code for a thrown value, for logs (never its message). */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'UNKNOWN';
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(
        new DimseError(
          DimseErrorCode.ListenFailed,
          `cannot listen on ${host}:${port} (${err.code ?? err.message})`,
        ),
      );
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/**
 * Starts a DICOM C-STORE SCP (PS3.4 B) with C-ECHO (PS3.4 A) that ingests
 * every received instance through `session`, so a PACS or a modality can
 * push to lpacs. A C-STORE is answered once the instance is on disk in the
 * lake's spool and judged (stored, quarantined, conflict); it is committed
 * with others in one batch (see StoreBatcher), and what the spool still
 * holds from an SCP that stopped is ingested before this one listens. See
 * `StoreStatus` for the statuses.
 *
 * @param options - the session, address, AE title and allowed callers.
 * @returns the bound port and `close()`; the session stays the caller's.
 * @throws DimseError with `INVALID_AE_TITLE`, `INVALID_PORT` or
 *   `LISTEN_FAILED`.
 */
export async function startStoreScp(
  options: StoreScpOptions,
): Promise<StoreScp> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  if (
    !Number.isInteger(options.port) ||
    options.port < 0 ||
    options.port > 65535
  ) {
    throw new DimseError(
      DimseErrorCode.InvalidPort,
      `port ${options.port} is not an integer from 0 to 65535`,
    );
  }
  const allowed = options.allowedCallingAETitles ?? [];
  const inFlight = new Set<Promise<unknown>>();
  const sockets = new Set<Socket>();
  /** Each connection's end: its C-STOREs settled and its audit entry written. */
  const finishing = new Set<Promise<void>>();
  const audit = async (event: DimseAuditEvent): Promise<boolean> => {
    if (!options.audit) return true;
    try {
      await options.audit.append(event);
      return true;
    } catch (err) {
      logger.error(
        { action: event.action, code: errorCode(err) },
        'DIMSE audit append failed',
      );
      return false;
    }
  };
  const spool = await Spool.open(options.session.lakeRoot, logger);
  const batcher = new StoreBatcher(options.session, spool, logger, {
    ...options.batching,
    onCompacted: (result) =>
      void audit({
        actor: 'system:serve',
        action: 'compact',
        outcome: 'ok',
        detail: Object.fromEntries(
          result.map((c) => [c.table, `${c.batchesBefore}->${c.batchesAfter}`]),
        ),
      }),
  });
  try {
    await recoverSpool(spool, batcher, audit, logger);
  } catch (err) {
    await batcher.close();
    throw err;
  }
  const context: ConnectionContext = {
    spool,
    batcher,
    logger,
    policy: {
      aeTitle: aeTitle(options.aeTitle ?? 'LPACS', 'aeTitle'),
      allowedCallingAETitles: allowed.length
        ? new Set(allowed.map((ae) => aeTitle(ae, 'allowedCallingAETitles')))
        : undefined,
    },
    track: (work) => {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    },
    audit,
  };
  // dcmjs-dimse turns on every level of its logger (loglevel's default
  // one) when loaded, writing each PDU to the console; lpacs logs through
  // the injected Logger instead, with codes and counts only.
  log.setLevel('silent', false);
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    const connection = new StoreScpConnection(socket, context);
    const finished = new Promise<void>((resolve) =>
      socket.once('close', () => {
        sockets.delete(socket);
        resolve();
      }),
    ).then(() => connection.finish());
    finishing.add(finished);
    void finished.finally(() => finishing.delete(finished));
    connection.on('networkError', (err: NodeJS.ErrnoException) => {
      logger.warn({ code: err.code ?? err.name }, 'DIMSE connection dropped');
      socket.destroy();
    });
  };
  const tls = options.tls;
  const server = tls
    ? createTlsServer(
        {
          cert: tls.cert,
          key: tls.key,
          minVersion: 'TLSv1.2',
          ...(tls.ca
            ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        onSocket,
      )
    : createServer(onSocket);
  if (tls)
    // A failed handshake (a plain DICOM peer, an untrusted certificate)
    // never reaches the association: log its code, not its details.
    server.on('tlsClientError', (err: NodeJS.ErrnoException) =>
      logger.warn({ code: err.code ?? err.name }, 'DIMSE TLS handshake failed'),
    );
  try {
    await listen(server, options.port, host);
  } catch (err) {
    await batcher.close();
    await spool.close();
    throw err;
  }
  server.on('error', (err: NodeJS.ErrnoException) =>
    logger.error({ code: err.code ?? err.name }, 'DIMSE server error'),
  );
  const { port } = server.address() as AddressInfo;
  logger.info(
    {
      host,
      port,
      aeTitle: context.policy.aeTitle,
      tls: !!tls,
      callingAETitles: context.policy.allowedCallingAETitles
        ? [...context.policy.allowedCallingAETitles].join(',')
        : 'any',
    },
    'C-STORE SCP listening',
  );
  if (!context.policy.allowedCallingAETitles)
    logger.warn(
      { host, port },
      'C-STORE SCP accepts any calling AE title: any node that reaches the port can store into the lake',
    );
  let closing: Promise<void> | undefined;
  const close = async () => {
    const closed = new Promise<void>((resolve) =>
      server.close(() => resolve()),
    );
    await Promise.allSettled([...inFlight]);
    for (const socket of sockets) socket.destroy();
    // What was answered commits now; what cannot stays in the spool.
    await batcher.close();
    // Each dropped association still gets its audit entry.
    await Promise.allSettled([...finishing]);
    await spool.close();
    await closed;
    logger.info({ port }, 'C-STORE SCP closed');
  };
  return {
    port,
    close: () => (closing ??= close()),
  };
}

/**
 * Ingests what the spool holds from an SCP that stopped without emptying
 * it (kill -9, a crash, a power cut, a batch that never committed): each
 * file was answered, so it must reach the lake. One run, before anything
 * listens; what the dead SCP had committed already is skipped by the lake
 * (the same de-identified instance), never stored twice. Each association
 * found gets an `ingest` entry with its counts and `ended: recovered`,
 * beside its opening entry. Throws when the run fails, so `serve` does not
 * start with answered instances left behind (they stay in the spool).
 */
async function recoverSpool(
  spool: Spool,
  batcher: StoreBatcher,
  audit: (event: DimseAuditEvent) => Promise<boolean>,
  logger: Logger,
): Promise<void> {
  const files = await spool.takeOver();
  if (!files.length) return;
  logger.warn({ files: files.length }, 'ingesting what the spool holds');
  const byAssociation = new Map<string, { ae: string; outcomes: Settled[] }>();
  const done: Array<Promise<void>> = [];
  for (const file of files) {
    let a = byAssociation.get(file.association);
    if (!a) {
      a = { ae: file.callingAE, outcomes: [] };
      byAssociation.set(file.association, a);
    }
    const outcomes = a.outcomes;
    done.push(
      new Promise<void>((resolve) =>
        batcher.submit({
          file,
          source: spooledSource(file),
          settled: (outcome) => {
            outcomes.push(outcome);
            resolve();
          },
        }),
      ),
    );
  }
  batcher.flush();
  await Promise.all(done);
  await batcher.drain();
  for (const [association, { ae, outcomes }] of byAssociation) {
    const count = (o: Settled) => outcomes.filter((x) => x === o).length;
    const refused =
      count('quarantined') +
      count('conflict') +
      count('failed') +
      count('pending');
    await audit({
      actor: `dimse:${ae.replace(/[^\x20-\x7e]/g, '?') || '?'}`,
      action: 'ingest',
      outcome: refused ? 'failed' : 'ok',
      detail: {
        via: 'dimse',
        association,
        ingested: count('ingested'),
        skipped: count('skipped'),
        quarantined: count('quarantined'),
        conflicts: count('conflict'),
        failed: count('failed'),
        ...(count('pending') ? { pending: count('pending') } : {}),
        ended: 'recovered',
      },
    });
  }
  const pending = outcomesPending(byAssociation);
  if (pending)
    throw new DimseError(
      DimseErrorCode.SpoolNotIngested,
      `${pending} spooled instances could not be committed to the lake; they stay in the spool (${spool.dir})`,
    );
}

function outcomesPending(
  byAssociation: Map<string, { outcomes: Settled[] }>,
): number {
  let n = 0;
  for (const { outcomes } of byAssociation.values())
    n += outcomes.filter((o) => o === 'pending').length;
  return n;
}
