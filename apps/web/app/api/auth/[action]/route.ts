import { apiBase, forwardedCredentials } from '../../../../lib/apiTarget';
import { crossSiteRefusal } from '../../../../lib/crossSiteRefusal';

/**
 * Proxies sign-in and sign-out to the API; its session cookie comes back.
 * A cross-site form must not sign a browser in to someone else's account
 * or out of its own (crossSiteRefusal). The API counts failed sign-ins
 * per address, so it is told the address this request came from.
 */
export const dynamic = 'force-dynamic';

export async function POST(
  request: Request,
  { params }: { params: Promise<{ action: string }> },
): Promise<Response> {
  const { action } = await params;
  if (action !== 'sign-in' && action !== 'sign-out')
    return Response.json({ error: 'unknown action' }, { status: 404 });
  const refusal = crossSiteRefusal(request);
  if (refusal)
    return Response.json(
      { error: refusal.message },
      { status: refusal.status },
    );
  // Next.js sets X-Forwarded-For to the connecting address unless a proxy
  // in front of the portal set it already.
  const from = request.headers.get('x-forwarded-for');
  try {
    const upstream = await fetch(`${apiBase()}/auth/${action}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(from ? { 'x-forwarded-for': from } : {}),
        ...forwardedCredentials(request),
      },
      body: await request.text(),
    });
    const headers = new Headers({
      'content-type':
        upstream.headers.get('content-type') ?? 'application/json',
    });
    for (const name of ['set-cookie', 'retry-after']) {
      const value = upstream.headers.get(name);
      if (value) headers.set(name, value);
    }
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
