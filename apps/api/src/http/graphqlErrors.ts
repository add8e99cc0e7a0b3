import type { Metrics } from './Metrics';

/** The counter of errors in GraphQL answers, by `extensions.code`. */
export const GRAPHQL_ERRORS = 'lpacs_graphql_errors_total';

/** Codes of the server's own failures, counted from 0 at start. */
const SERVER_CODES = ['INTERNAL_SERVER_ERROR', 'QUERY_TIMEOUT'];

/** Declares the counter (its HELP line, the server codes at 0). */
export function describeGraphqlErrors(metrics: Metrics): void {
  metrics.describe(
    GRAPHQL_ERRORS,
    'Errors in GraphQL answers, by extensions.code (GraphQL answers 200 with errors, so lpacs_http_requests_total does not show them).',
    SERVER_CODES.map((code) => ({ code })),
  );
}

/**
 * Counts each error of one answer under its code; a code that is not
 * an upper-case word is counted as OTHER, so the label's values stay few.
 */
export function countGraphqlErrors(
  metrics: Metrics,
  errors: ReadonlyArray<{ extensions?: { code?: unknown } }>,
): void {
  for (const e of errors) {
    const code = e.extensions?.code;
    metrics.count(GRAPHQL_ERRORS, {
      code:
        typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)
          ? code
          : 'OTHER',
    });
  }
}
