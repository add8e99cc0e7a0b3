import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo, Server, Socket } from 'node:net';
import { log } from 'dcmjs-dimse';
import { silentLogger } from '@lpacs/lake';
import { DimseError, DimseErrorCode } from './DimseError';
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
 * push to lpacs. A C-STORE is answered only once the instance is committed
 * to the lake (or quarantined); see `StoreStatus` for the statuses.
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
  let sequence = 0;
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
  const context: ConnectionContext = {
    session: options.session,
    logger,
    policy: {
      aeTitle: aeTitle(options.aeTitle ?? 'LPACS', 'aeTitle'),
      allowedCallingAETitles: allowed.length
        ? new Set(allowed.map((ae) => aeTitle(ae, 'allowedCallingAETitles')))
        : undefined,
    },
    nextSource: (callingAE) => `dimse:${callingAE}#${++sequence}`,
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
  await listen(server, options.port, host);
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
    // Each dropped association still gets its audit entry.
    await Promise.allSettled([...finishing]);
    await closed;
    logger.info({ port }, 'C-STORE SCP closed');
  };
  return {
    port,
    close: () => (closing ??= close()),
  };
}
