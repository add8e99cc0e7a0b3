import { apiBase, forwardedCredentials } from '../../../../lib/apiTarget';

/** Proxies sign-in and sign-out to the API; its session cookie comes back. */
export const dynamic = 'force-dynamic';

export async function POST(
  request: Request,
  { params }: { params: Promise<{ action: string }> },
): Promise<Response> {
  const { action } = await params;
  if (action !== 'sign-in' && action !== 'sign-out')
    return Response.json({ error: 'unknown action' }, { status: 404 });
  try {
    const upstream = await fetch(`${apiBase()}/auth/${action}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...forwardedCredentials(request),
      },
      body: await request.text(),
    });
    const headers = new Headers({
      'content-type':
        upstream.headers.get('content-type') ?? 'application/json',
    });
    const cookie = upstream.headers.get('set-cookie');
    if (cookie) headers.set('set-cookie', cookie);
    return new Response(upstream.body, { status: upstream.status, headers });
  } catch {
    return Response.json(
      {
        error: 'the lpacs API is not reachable; start it with: npx lpacs serve',
      },
      { status: 502 },
    );
  }
}
