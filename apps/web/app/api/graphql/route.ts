/**
 * Same-origin proxy to the lpacs API, so the browser never needs CORS and
 * the API can stay on 127.0.0.1. The target is read per request from
 * LPACS_API_URL (default http://127.0.0.1:4000/graphql).
 */
export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  const target = process.env.LPACS_API_URL ?? 'http://127.0.0.1:4000/graphql';
  try {
    const upstream = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
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
