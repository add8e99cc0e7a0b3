/** Why a proxied request may not go on to the API, and with what status. */
export interface CrossSiteRefusal {
  status: 403 | 415;
  /** For a GraphQL error's `extensions.code`. */
  code: 'FORBIDDEN' | 'BAD_REQUEST';
  message: string;
}

/**
 * Why a POST to one of the portal's API proxies must stop here, if it
 * must. A browser sends a cross-site form or `text/plain` body without
 * asking first (a "simple" request), with the session cookie of a
 * same-site page; the API's own CSRF prevention refuses such bodies, so
 * the proxy, which talks to the API in JSON, must not turn them into
 * JSON. Only `application/json` passes, which no page of another origin
 * can send without a CORS preflight this portal never answers. An Origin
 * header, which browsers set on every cross-origin POST and no page can
 * forge, must name this portal's own host: that also stops a same-site
 * neighbour (another port or subdomain) that SameSite=Strict lets through.
 */
export function crossSiteRefusal(
  request: Request,
): CrossSiteRefusal | undefined {
  const type = request.headers.get('content-type') ?? '';
  const media = type.split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json')
    return {
      status: 415,
      code: 'BAD_REQUEST',
      message: `send the request as application/json, not ${media ? media.slice(0, 100) : 'a body without a content type'}`,
    };
  const origin = request.headers.get('origin');
  if (origin !== null && !sameHost(origin, request.headers.get('host')))
    return {
      status: 403,
      code: 'FORBIDDEN',
      message: 'a request from another origin is not accepted',
    };
  return undefined;
}

function sameHost(origin: string, host: string | null): boolean {
  try {
    return host !== null && new URL(origin).host === host.toLowerCase();
  } catch {
    // "null" (a sandboxed frame, a file: page) or garbage: not this portal.
    return false;
  }
}
