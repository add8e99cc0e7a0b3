import { apiGraphqlUrl, forwardedCredentials } from '../../../lib/apiTarget';
import { crossSiteRefusal } from '../../../lib/crossSiteRefusal';

/**
 * Same-origin proxy to the lpacs API, so the browser never needs CORS and
 * the API can stay on 127.0.0.1. The session cookie travels with it, so
 * only a JSON body from this portal's own origin does (crossSiteRefusal).
 * There is no GET: the portal never queries that way.
 */
export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  const refusal = crossSiteRefusal(request);
  if (refusal)
    return Response.json(
      {
        errors: [
          { message: refusal.message, extensions: { code: refusal.code } },
        ],
      },
      { status: refusal.status },
    );
  const target = apiGraphqlUrl();
  try {
    const upstream = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...forwardedCredentials(request),
      },
      body: await request.text(),
    });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: {
        'content-type':
          upstream.headers.get('content-type') ?? 'application/json',
      },
    });
  } catch {
    return Response.json(
      {
        errors: [
          {
            message: `the lpacs API at ${target} is not reachable; start it with: npx lpacs serve`,
          },
        ],
      },
      { status: 502 },
    );
  }
}
