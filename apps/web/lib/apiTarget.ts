/** The lpacs API's GraphQL URL, read per request (default 127.0.0.1:4000). */
export function apiGraphqlUrl(): string {
  return process.env.LPACS_API_URL ?? 'http://127.0.0.1:4000/graphql';
}

/** The API's origin and base path, for its REST routes (/auth/...). */
export function apiBase(): string {
  return apiGraphqlUrl().replace(/\/graphql\/?$/, '');
}

/** Request headers the API needs to know who is asking. */
export function forwardedCredentials(request: Request): Record<string, string> {
  const out: Record<string, string> = {};
  const cookie = request.headers.get('cookie');
  const auth = request.headers.get('authorization');
  if (cookie) out.cookie = cookie;
  if (auth) out.authorization = auth;
  return out;
}
