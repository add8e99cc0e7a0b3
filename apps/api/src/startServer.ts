import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { unwrapResolverError } from '@apollo/server/errors';
import { BREAK, GraphQLError, visit } from 'graphql';
import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AccessError,
  AccessErrorCode,
  AccessStore,
  Action,
  AuditLog,
  roleAllows,
} from '@lpacs/access';
import {
  Catalog,
  Lake,
  LakeLayout,
  QueryTimeoutError,
  silentLogger,
} from '@lpacs/lake';
import {
  DownloadLinks,
  SharingError,
  SharingStore,
  readReleaseManifest,
  releaseInstanceUIDs,
} from '@lpacs/sharing';
import { downloadRefusal } from './resolvers/SharingResolver';
import { LakePredictionSink, PredictionJobs, keepPresent } from '@lpacs/ml';
import type { SessionOptions } from '@lpacs/ml';
import { metricGauges } from './operations/metricGauges';
import { readFileSync } from 'node:fs';
import type { Logger } from '@lpacs/lake';
import { allowRoute } from './access/allowRoute';
import { Gate } from './access/Gate';
import { principalOf } from './access/principalOf';
import { SignInThrottle } from './access/SignInThrottle';
import {
  DEFAULT_TRUSTED_PROXIES,
  trustedProxies,
} from './access/clientAddress';
import { signInRoutes } from './access/signInRoutes';
import { ErrorCode } from './ApiError';
import { releaseRoutes } from './sharing/releaseRoutes';
import { lpacsSchema } from './buildSchema';
import { CohortQueries } from './cohort/CohortQueries';
import type { ApiContext } from './context';
import { IngestSession } from '@lpacs/ingest';
import { dicomWeb } from './dicomweb/dicomWeb';
import { RenderedCache } from './dicomweb/RenderedCache';
import {
  RecentReads,
  isSearch,
  namedUids,
  readOutcome,
  readTarget,
  uidInScope,
} from './dicomweb/readAudit';
import type { ReadTarget } from './dicomweb/readAudit';
import { newStowTally, stowRs } from './dicomweb/stowRs';
import { readBody } from './http/readBody';
import { landingPage } from './http/landingPage';
import { Metrics, routeOf } from './http/Metrics';
import {
  countGraphqlErrors,
  describeGraphqlErrors,
} from './http/graphqlErrors';
import { Readiness, readyAnswer } from './http/Readiness';
import type { Gauge } from './http/Metrics';
import { limitQuery } from './http/limitQuery';
import { routeTemplate } from './http/routeTemplate';
import { readOperations } from './operations/readOperations';
import { viewerUrl } from './http/viewerUrl';
import { syncRoutes } from './sync/syncRoutes';

/** Where and what to serve. */
export interface ServerOptions {
  lake: string;
  /** Defaults to 127.0.0.1: the lake holds research data; expose it deliberately. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  /** The ingest session for STOW-RS; by default one is opened on first use. */
  session?: IngestSession;
  /**
   * Serve HTTPS with this certificate and key (PEM). Session cookies are
   * then marked Secure.
   */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /**
   * Origins (e.g. the portal's `https://portal.example.org`) whose
   * browsers may call the API directly (CORS). None by default: the portal
   * reaches the API through its own same-origin proxy.
   */
  corsOrigins?: string[];
  /** A query running longer is stopped with QUERY_TIMEOUT (default 30 s). */
  queryTimeoutMs?: number;
  /** Largest STOW-RS request body, bytes (default 1 GiB; bodies are buffered). */
  maxStowBytes?: number;
  /**
   * Log one line per request at info (method, route template, status,
   * ms, user name; never the query string). Default true.
   */
  requestLog?: boolean;
  /**
   * An OHIF Viewer reading this server's DICOMweb (e.g.
   * `https://ohif.example.org`): the portal then links each study to it.
   */
  ohifUrl?: string;
  /**
   * Counts failed sign-ins (default: 5 per user name, and 5 per client
   * address, in 15 minutes, kept in the lake's
   * `state/sign-in-failures.json`). Tests pass one with their own clock.
   */
  signInThrottle?: SignInThrottle;
  /**
   * Peers (addresses or ranges such as `10.0.0.0/8`) whose
   * X-Forwarded-For names the client for sign-in throttling and its audit
   * entries; `['none']` or `[]` trusts no one. Default: 127.0.0.1 and ::1,
   * where the portal's sign-in proxy calls from when it runs on this host.
   */
  trustProxy?: string[];
  /**
   * How long close() lets requests under way finish (a STOW-RS upload, a
   * download) before it drops their connections; default 5000 ms.
   */
  shutdownGraceMs?: number;
  /**
   * More queue depths for /metrics (`lpacs_queue_depth{queue=NAME}`),
   * sampled at each scrape: `lpacs serve` passes the C-STORE spool's.
   */
  queues?: () => Promise<Record<string, number>>;
  /**
   * onnxruntime settings of prediction jobs run by this server (execution
   * providers, intra-op threads, sessions per model, batch); `lpacs serve`
   * passes `$LPACS_ORT_*` (sessionOptionsFromEnv). Default: CPU, half the
   * cores per session, one session per model, batches of 8.
   */
  modelSession?: SessionOptions;
}

/** A running API server. */
export interface RunningServer {
  url: string;
  /**
   * Stops accepting connections, lets requests under way finish (up to
   * `shutdownGraceMs`), drops what is left, then closes the ingest
   * session it opened (releasing the lake's write lock) and the catalog.
   */
  close(): Promise<void>;
}

const MAX_BODY = 1_000_000;

/**
 * Codes of errors Apollo answers before a request runs, whose messages
 * name the schema's types and fields (and suggest names near a typo).
 */
const SCHEMA_WORDS = new Set(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/** True when a request asks for the schema (__schema or __type). */
function introspects(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Keeps client mistakes as they are and hides internals (no stack, no SQL, no values). */
function formatError(formatted: GraphQLFormattedError, error: unknown) {
  const original = unwrapResolverError(error);
  if (original instanceof QueryTimeoutError) {
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: original.code },
    };
  }
  if (original instanceof AccessError || original instanceof SharingError) {
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: original.code },
    };
  }
  const code = formatted.extensions?.code;
  if (
    original instanceof GraphQLError ||
    (code && code !== ErrorCode.Internal)
  ) {
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: {
        // An error graphql-js raised about the request itself (no resolver
        // path), such as a mutation this schema does not have, is the
        // client's: Apollo labels it internal.
        code:
          code === undefined || (code === ErrorCode.Internal && !formatted.path)
            ? ErrorCode.BadUserInput
            : code,
        ...(formatted.extensions?.field
          ? { field: formatted.extensions.field }
          : {}),
        // addModel's refusals: the ML code and each manifest problem.
        ...(formatted.extensions?.mlCode
          ? { mlCode: formatted.extensions.mlCode }
          : {}),
        ...(formatted.extensions?.problems
          ? { problems: formatted.extensions.problems }
          : {}),
      },
    };
  }
  return {
    message: 'internal error: the query could not be run (see the server log)',
    path: formatted.path,
    extensions: { code: ErrorCode.Internal },
  };
}

/** Waits for a shutdown step, at most two seconds. */
async function bounded(
  what: string,
  step: Promise<unknown>,
  logger: Logger,
  ms = 2000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
    timer.unref();
  });
  const result = await Promise.race([step.then(() => 'done' as const), late]);
  clearTimeout(timer);
  if (result === 'late')
    logger.warn({ step: what, ms }, 'shutdown step did not finish in time');
}

/**
 * Starts the GraphQL API over a lake at http://host:port/graphql. The
 * server holds the lake (Lake.hold) until close() is done: it may commit
 * at any time (STOW-RS, sync receive, prediction jobs) and its queries
 * read tables an erasure or compaction would rewrite, so those are
 * refused with LAKE_BUSY meanwhile, and it does not start beside one.
 */
export async function startServer(
  options: ServerOptions,
): Promise<RunningServer> {
  const hold = await Lake.hold(options.lake, 'lpacs serve');
  let running: RunningServer;
  try {
    running = await listen(options);
  } catch (err) {
    hold.release();
    throw err;
  }
  return {
    url: running.url,
    close: async () => {
      try {
        await running.close();
      } finally {
        hold.release();
      }
    },
  };
}

async function listen(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? silentLogger;
  const proxies = trustedProxies(options.trustProxy ?? DEFAULT_TRUSTED_PROXIES);
  const ohifUrl = options.ohifUrl ? viewerUrl(options.ohifUrl) : undefined;
  const catalog = await Catalog.open(options.lake, {
    timeoutMs: options.queryTimeoutMs ?? 30_000,
  });
  const cohorts = new CohortQueries(catalog);
  const access = new AccessStore(options.lake);
  const audit = new AuditLog(options.lake);
  const sharing = new SharingStore(options.lake);
  const links = new DownloadLinks();
  const throttle =
    options.signInThrottle ?? new SignInThrottle({ lake: options.lake });
  const deidentification = () => {
    try {
      const settings = JSON.parse(
        readFileSync(new LakeLayout(options.lake).settings, 'utf8'),
      ) as { deidentification?: unknown };
      return settings.deidentification ?? null;
    } catch {
      return null;
    }
  };
  let baseUrl = '';
  /**
   * A collaborator's approved, unexpired releases and the SOP Instance
   * UIDs they hold.
   */
  const collaboratorScope = async (
    name: string,
  ): Promise<{ uids: string[]; releases: string[] }> => {
    const out: string[] = [];
    const releases: string[] = [];
    for (const share of sharing.shares()) {
      if (!share.releaseId) continue;
      if (downloadRefusal({ name, role: 'collaborator' }, share)) continue;
      releases.push(share.releaseId);
      out.push(
        ...releaseInstanceUIDs(
          await readReleaseManifest(options.lake, share.releaseId),
        ),
      );
    }
    return { uids: out, releases };
  };
  const recentReads = new RecentReads();
  const apollo = new ApolloServer<ApiContext>({
    // The process that runs the server owns SIGINT and SIGTERM (lpacs
    // serve stops its services, then releases the lake): Apollo's own
    // handlers would stop it and re-raise the signal, killing the process
    // before the ingest session closed and leaving its lock entry behind.
    stopOnTerminationSignals: false,
    schema: await lpacsSchema(),
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      {
        // Audit entries of allowed fields are written with their outcome.
        requestDidStart: async () => ({
          // The schema is for callers who may use it: introspection
          // (__schema, __type) needs a token or a session, like every
          // field; the refusal is audited as `introspection denied`.
          didResolveOperation: async ({ contextValue, document }) => {
            if (contextValue.gate.principal || !introspects(document)) return;
            try {
              await contextValue.gate.signedIn('introspection');
            } catch (err) {
              if (!(err instanceof AccessError)) throw err;
              throw new GraphQLError(
                'introspection needs a token: sign in, or send an API token as "Authorization: Bearer <token>"',
                { extensions: { code: err.code, http: { status: 401 } } },
              );
            }
          },
          willSendResponse: async ({ contextValue, response }) => {
            // A request refused before it ran (validation, or variables
            // that do not fit their types) answers with the schema's own
            // words: a field's type, the fields an input has, "Did you
            // mean" the names near a typo. Without a token that maps the
            // schema introspection keeps to signed-in callers, so such a
            // caller is told to sign in instead (every field needs a token
            // anyway); a signed-in caller keeps the suggestions.
            if (
              !contextValue.gate.principal &&
              response.body.kind === 'single' &&
              !('data' in response.body.singleResult) &&
              response.body.singleResult.errors?.some((e) =>
                SCHEMA_WORDS.has(String(e.extensions?.code)),
              )
            ) {
              response.body.singleResult.errors = [
                {
                  message:
                    'sign in first, or send an API token as "Authorization: Bearer <token>"',
                  extensions: { code: AccessErrorCode.Unauthenticated },
                },
              ];
              response.http.status = 401;
            }
            const errors =
              response.body.kind === 'single'
                ? (response.body.singleResult.errors ?? [])
                : [];
            countGraphqlErrors(metrics, errors);
            await contextValue.gate.settle(
              errors.map((e) => ({
                path: e.path,
                code:
                  typeof e.extensions?.code === 'string'
                    ? e.extensions.code
                    : undefined,
              })),
            );
          },
        }),
      },
    ],
    validationRules: [limitQuery],
    formatError: (formatted, error) => {
      const out = formatError(formatted, error);
      const original = unwrapResolverError(error);
      if (out.extensions.code === ErrorCode.Internal)
        logger.error({ err: String(original) }, 'resolver failed');
      // The lake is out of step with what sharing recorded: the operator's
      // concern as much as the caller's.
      else if (original instanceof SharingError)
        logger.warn(
          { code: original.code, ...original.counts },
          original.message,
        );
      return out;
    },
  });
  await apollo.start();

  // The ingest session (and its worker) starts with the first STOW-RS request.
  let session: Promise<IngestSession> | undefined = options.session
    ? Promise.resolve(options.session)
    : undefined;
  const ingestSession = () =>
    (session ??= IngestSession.open({
      lake: options.lake,
      workers: 1,
      logger,
    }).catch((err: unknown) => {
      session = undefined; // let the next request try again
      throw err;
    }));

  // Prediction jobs commit through the ingest session when one holds the
  // lake's write lock (STOW-RS, DIMSE), else take the lock per commit.
  const direct = new LakePredictionSink(options.lake, logger);
  const predictions = new PredictionJobs({
    lakeRoot: options.lake,
    logger,
    ...(options.modelSession ? { session: options.modelSession } : {}),
    sink: {
      // Either way only for instances still in the lake (keepPresent).
      commit: async (rows, masks = []) => {
        if (!rows.length && !masks.length) return [];
        if (!session) return direct.commit(rows, masks);
        let erased: string[] = [];
        await (
          await session
        ).commitRows(async (lake) => {
          const kept = await keepPresent(lake, rows, masks);
          erased = kept.erased;
          return { predictions: kept.rows };
        });
        return erased;
      },
    },
  });
  const resumed = await predictions.resumeUnfinished();
  if (resumed.length) logger.info({ jobs: resumed }, 'resumed prediction jobs');

  const images = new RenderedCache();
  const metrics = new Metrics();
  describeGraphqlErrors(metrics);
  const readiness = new Readiness(catalog, { logger });
  const operations = () =>
    readOperations({
      lakeRoot: options.lake,
      metrics,
      catalog,
      session: async () =>
        session ? session.catch(() => undefined) : undefined,
    });
  const gauges = async (): Promise<Record<string, Gauge>> => {
    const [ops, jobs, open, more, ready] = await Promise.all([
      operations(),
      predictions.list().catch(() => []),
      session ? session.catch(() => undefined) : undefined,
      options.queues ? options.queues().catch(() => ({})) : {},
      readiness.state(),
    ]);
    return {
      ...metricGauges(ops, jobs, {
        ingest_runs: open?.pendingRuns ?? 0,
        ...more,
      }),
      lpacs_lake_ready: {
        help: 'What /readyz answers: 1 when every table of the lake reads, 0 when not (/readyz says why).',
        value: ready.ready ? 1 : 0,
      },
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Operations endpoints: counts only, no data, so no sign-in.
    if (url.pathname === '/metrics' && req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        .end(metrics.render(await gauges()));
      return;
    }
    if (url.pathname === '/readyz') {
      const answer = readyAnswer(await readiness.state());
      res
        .writeHead(answer.status, { 'content-type': 'text/plain' })
        .end(answer.body);
      return;
    }
    let gate: Gate;
    try {
      gate = new Gate(principalOf(req.headers, access), audit, logger);
      if (gate.principal) callers.set(req, gate.principal.name);
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      await new Gate(undefined, audit, logger).record('authenticate', 'failed');
      res
        .writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': 'Bearer',
        })
        .end(
          JSON.stringify({
            errors: [{ message: err.message, extensions: { code: err.code } }],
          }),
        );
      return;
    }
    if (
      url.pathname.startsWith('/releases/') &&
      (await releaseRoutes(req, res, url, {
        lakeRoot: options.lake,
        access,
        audit,
        sharing,
        links,
      }))
    )
      return;
    if (
      url.pathname.startsWith('/sync/') &&
      (await syncRoutes(req, res, url.pathname, gate, {
        lakeRoot: options.lake,
        catalog,
        ingestSession,
        logger,
        maxBytes: options.maxStowBytes ?? 1 << 30,
      }))
    )
      return;
    if (
      url.pathname.startsWith('/auth/') &&
      (await signInRoutes(req, res, url.pathname, {
        store: access,
        lakeRoot: options.lake,
        gate,
        throttle,
        trustedProxies: proxies,
        secure: !!options.tls,
      }))
    )
      return;
    if (
      /^\/dicomweb\/studies(\/[0-9.]+)?\/?$/.test(url.pathname) &&
      req.method === 'POST'
    ) {
      // One `ingest` entry, written once the upload is processed (or has
      // failed): what became of its parts and the batches committed.
      if (!(await allowRoute(gate, Action.Ingest, res, ['stow']))) return;
      const tally = newStowTally();
      const study = /^\/dicomweb\/studies\/([0-9.]+)/.exec(url.pathname)?.[1];
      try {
        await stowRs(req, res, {
          session: ingestSession,
          catalog,
          logger,
          maxBytes: options.maxStowBytes ?? 1 << 30,
          baseUrl,
          tally,
          study,
        });
      } catch (err) {
        tally.error ??= 'INTERNAL';
        tally.status ??= (err as { status?: number }).status ?? 500;
        throw err;
      } finally {
        await gate.record(Action.Ingest, 'ok', undefined, {
          via: 'stow',
          status: tally.status ?? 0,
          parts: tally.parts,
          ingested: tally.ingested,
          skipped: tally.skipped,
          quarantined: tally.quarantined,
          conflicts: tally.conflicts,
          // Only for /studies/{study}: parts refused as of another study.
          ...(study === undefined ? {} : { outsideStudy: tally.outsideStudy }),
          batches: tally.batches.join(','),
        });
        // `failed` unless every part was stored: with the request's error
        // code, or PARTS_REFUSED when it ran to its end.
        await gate.settle(
          tally.status === 200
            ? []
            : [{ path: ['stow'], code: tally.error ?? 'PARTS_REFUSED' }],
        );
      }
      return;
    }
    if (url.pathname.startsWith('/dicomweb/') && req.method === 'GET') {
      // Collaborators browse only what their approved releases hold, so a
      // viewer (OHIF, Slicer) can open a release; others need study.view.
      // One entry per read, written once it is answered: the study it was
      // about and how it ended (readAudit); a caller's `ok` reads of one
      // study make one entry per READ_WINDOW_MS, not one per frame.
      const collaborator = gate.principal?.role === 'collaborator';
      const action = collaborator ? Action.ReleaseDownload : Action.StudyView;
      // The study its path names, or the UIDs its query matches on.
      const named = namedUids(url);
      let known: Promise<ReadTarget[]> | undefined;
      const about = () =>
        (known ??= Promise.all(
          named.map((n) => readTarget(catalog, options.lake, n)),
        ));
      const mayRead = (a: Action) =>
        gate.principal !== undefined && roleAllows(gate.principal.role, a);
      const refused = mayRead(action) ? undefined : (await about())[0]?.target;
      if (!(await allowRoute(gate, action, res, ['dicomweb'], refused))) return;
      let scope: string[] | undefined;
      let releases: string[] = [];
      if (collaborator) {
        ({ uids: scope, releases } = await collaboratorScope(
          gate.principal!.name,
        ));
      }
      // Masks are model output, which only those who query cohorts see.
      const mask = /\/frames\/[^/]+\/mask\/?$/.test(url.pathname);
      if (
        mask &&
        !(await allowRoute(
          gate,
          Action.CohortQuery,
          res,
          ['dicomweb'],
          mayRead(Action.CohortQuery) ? undefined : (await about())[0]?.target,
        ))
      ) {
        gate.discard(['dicomweb']);
        return;
      }
      let answered = false;
      try {
        answered = await dicomWeb(req, res, url, {
          catalog,
          lake: options.lake,
          logger,
          images,
          ...(scope ? { scope } : {}),
        });
      } finally {
        const ended = answered
          ? await new Promise<boolean>((resolve) => {
              if (res.writableFinished) resolve(true);
              else if (res.destroyed) resolve(false);
              else {
                res.once('finish', () => resolve(true));
                res.once('close', () => resolve(res.writableFinished));
              }
            })
          : false;
        const status = answered ? res.statusCode : 500;
        // A retrieval answered 2xx found the study its path names; a
        // search or a refusal may be about anything typed, so the lake is
        // asked. One entry per study (or digest) the read named, each with
        // its own outcome: a collaborator's search naming a study he may
        // see and one he may not is ok for the first, denied for the other.
        const retrieved =
          status >= 200 && status < 300 && !isSearch(url.pathname);
        const targets: Array<ReadTarget | undefined> = retrieved
          ? named.map((n) => ({ target: n.uid, held: true, named: n }))
          : await about();
        const seen = new Set<string>();
        if (!targets.length) targets.push(undefined);
        gate.discard(['dicomweb']);
        for (const found of targets) {
          if (found) {
            if (seen.has(found.target)) continue;
            seen.add(found.target);
          }
          const outside =
            collaborator &&
            !retrieved &&
            found?.held === true &&
            !(await uidInScope(catalog, found.named, scope ?? []));
          const read = readOutcome(url.pathname, status, ended, outside);
          if (
            read.outcome === 'ok' &&
            found &&
            !recentReads.fresh(gate.principal!.name, action, found.target)
          )
            continue;
          const detail = {
            ...read.detail,
            ...(collaborator ? { releases: releases.join(',') } : {}),
            ...(read.code ? { error: read.code } : {}),
          };
          for (const a of mask ? [action, Action.CohortQuery] : [action])
            await gate.record(a, read.outcome, found?.target, detail);
        }
      }
      if (answered) return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (url.pathname === '/' && req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(landingPage());
      return;
    }
    if (
      url.pathname === '/graphql' &&
      req.method === 'GET' &&
      !url.searchParams.has('query')
    ) {
      res
        .writeHead(405, { 'content-type': 'text/plain', allow: 'POST' })
        .end(
          'POST a JSON body {"query": "..."} to /graphql, or open / for a query page\n',
        );
      return;
    }
    if (url.pathname !== '/graphql') {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try POST /graphql\n');
      return;
    }
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string') headers.set(k, v);
    let raw = '';
    try {
      if (req.method === 'POST') raw = await readBody(req, MAX_BODY);
    } catch (err) {
      if ((err as { status?: number }).status !== 413) throw err;
      // Answered as GraphQL answers its other refusals, so a client reads
      // errors[0].message whatever went wrong.
      res
        .writeHead(413, {
          'content-type': 'application/json',
          connection: 'close',
        })
        .end(
          JSON.stringify({
            errors: [
              {
                message: `request body too large: a GraphQL request may have at most ${MAX_BODY} bytes`,
                extensions: { code: 'PAYLOAD_TOO_LARGE' },
              },
            ],
          }),
        );
      return;
    }
    let body: unknown = raw;
    if (raw && (headers.get('content-type') ?? '').includes('json')) {
      try {
        body = JSON.parse(raw);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            errors: [
              {
                message: 'request body is not valid JSON',
                extensions: { code: 'BAD_REQUEST' },
              },
            ],
          }),
        );
        return;
      }
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method ?? 'GET',
        headers,
        search: url.search,
        body,
      },
      context: async () => ({
        cohorts,
        logger,
        gate,
        access,
        audit,
        sharing,
        links,
        lakeRoot: options.lake,
        baseUrl,
        deidentification,
        predictions,
        operations,
        ohifUrl,
      }),
    });
    for (const [k, v] of result.headers) res.setHeader(k, v);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') res.end(result.body.string);
    else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  };

  const requestLog = options.requestLog === false ? undefined : logger;
  /** The signed-in caller of a request, for its log line. */
  const callers = new WeakMap<IncomingMessage, string>();
  /** Requests under way, each settled when its response closes. */
  const underway = new Set<Promise<void>>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const done = new Promise<void>((resolve) => res.once('close', resolve));
    underway.add(done);
    void done.then(() => underway.delete(done));
    const started = process.hrtime.bigint();
    // The path's template only: query strings and path values can carry
    // identifiers (QIDO-RS PatientName, UIDs), so they are never logged.
    res.once('close', () =>
      requestLog?.info(
        {
          method: req.method,
          route: routeTemplate(req.url ?? '/'),
          status: res.statusCode,
          ms: Number((process.hrtime.bigint() - started) / 10_000n) / 100,
          user: callers.get(req) ?? null,
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      ),
    );
    const origin = req.headers.origin;
    if (origin && options.corsOrigins?.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'origin');
      if (req.method === 'OPTIONS') {
        res
          .writeHead(204, {
            'access-control-allow-methods': 'GET, POST',
            'access-control-allow-headers': 'authorization, content-type',
            'access-control-max-age': '600',
          })
          .end();
        return;
      }
    }
    res.once('finish', () =>
      metrics.request(
        routeOf(new URL(req.url ?? '/', 'http://localhost').pathname),
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      ),
    );
    handle(req, res).catch((err: { status?: number }) => {
      logger.error({ err: String(err) }, 'request failed');
      if (!res.headersSent)
        res.writeHead(err.status ?? 500, { 'content-type': 'text/plain' });
      res.end(
        err.status === 413 ? 'request body too large\n' : 'internal error\n',
      );
    });
  };
  const server = options.tls
    ? createHttpsServer(
        { cert: options.tls.cert, key: options.tls.key },
        onRequest,
      )
    : createServer(onRequest);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4000, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  baseUrl = `${options.tls ? 'https' : 'http'}://${shownHost}:${port}`;
  logger.info({ host, port }, 'serving');
  return {
    url: `${baseUrl}/graphql`,
    close: async () => {
      // Each step is bounded: a stop that never settles must not keep the
      // process (or a test run) alive.
      // No new connections; idle keep-alive ones go now, requests under
      // way get the grace period, then whatever is left is dropped.
      const closed = new Promise<void>((resolve) =>
        server.close(() => resolve()),
      );
      server.closeIdleConnections();
      if (underway.size)
        logger.info({ requests: underway.size }, 'waiting for requests');
      await bounded(
        'requests under way',
        Promise.allSettled([...underway]),
        logger,
        options.shutdownGraceMs ?? 5000,
      );
      server.closeAllConnections();
      await bounded('http server', closed, logger);
      await bounded('apollo', apollo.stop(), logger);
      await bounded('prediction jobs', predictions.close(), logger);
      if (session && !options.session) {
        await bounded(
          'ingest session',
          session.then((s) => s.close()),
          logger,
        );
      }
      await catalog.close();
    },
  };
}
