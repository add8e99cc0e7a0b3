/** The portal's same-origin GraphQL route (proxied to the lpacs API). */
export const API_URL = '/api/graphql';

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: ReadonlyArray<{
    message: string;
    extensions?: { code?: string; field?: string };
  }>;
}

/**
 * A GraphQL error with its `extensions.code` (UNAUTHENTICATED, ...) and,
 * for a refused input, the `extensions.field` it names (ageMin, ...).
 */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * POSTs a query to the lpacs API and returns its `data`. Throws an Error
 * naming the first GraphQL error, or the HTTP status when the answer is not
 * a GraphQL result.
 */
export async function graphqlRequest<T>(
  query: string,
  variables?: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<T> {
  const res = await fetch(API_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(variables ? { query, variables } : { query }),
    signal,
  });
  let body: GraphQLResponse<T>;
  try {
    body = (await res.json()) as GraphQLResponse<T>;
  } catch {
    throw new Error(`GraphQL request failed: HTTP ${res.status}`);
  }
  const first = body.errors?.[0];
  if (first)
    throw new GraphQLRequestError(
      first.message,
      first.extensions?.code,
      first.extensions?.field,
    );
  if (!res.ok || body.data == null) {
    throw new Error(`GraphQL request failed: HTTP ${res.status}`);
  }
  return body.data;
}
