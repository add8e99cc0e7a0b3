import { apiGraphqlUrl, forwardedCredentials } from '../../../lib/apiTarget';

/**
 * Same-origin proxy to the lpacs API, so the browser never needs CORS and
 * the API can stay on 127.0.0.1. The session cookie travels with it.
 */
export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
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
