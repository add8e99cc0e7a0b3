import { apiBase, forwardedCredentials } from '../../../../lib/apiTarget';

/**
 * Same-origin proxy for the API's DICOMweb reads (QIDO-RS, WADO-RS and
 * rendered frames), so the viewer's images carry the session cookie.
 */
export const dynamic = 'force-dynamic';

export async function GET(
  request: Request,
  { params }: { params: Promise<{ path: string[] }> },
): Promise<Response> {
  const { path } = await params;
  const search = new URL(request.url).search;
  const target = `${apiBase()}/dicomweb/${path.map(encodeURIComponent).join('/')}${search}`;
  try {
    const upstream = await fetch(target, {
      headers: {
        accept: request.headers.get('accept') ?? '*/*',
        ...forwardedCredentials(request),
      },
    });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: {
        'content-type':
          upstream.headers.get('content-type') ?? 'application/octet-stream',
        'cache-control': 'private, max-age=300',
        // One URL answers PNG or JPEG by Accept: caches must tell them apart.
        vary: 'accept, cookie',
      },
    });
  } catch {
    return new Response('the lpacs API is not reachable', { status: 502 });
  }
}
