import { apiBase, forwardedCredentials } from '../../../../lib/apiTarget';

/**
 * Same-origin proxy for the API's DICOMweb reads (QIDO-RS, WADO-RS,
 * rendered frames, thumbnails and masks), so the viewer's images carry the
 * session cookie.
 */
export const dynamic = 'force-dynamic';

export async function GET(
  request: Request,
  { params }: { params: Promise<{ path: string[] }> },
): Promise<Response> {
  const { path } = await params;
  const search = new URL(request.url).search;
  const target = `${apiBase()}/dicomweb/${path.map(encodeURIComponent).join('/')}${search}`;
  const match = request.headers.get('if-none-match');
  try {
    const upstream = await fetch(target, {
      headers: {
        accept: request.headers.get('accept') ?? '*/*',
        ...(match ? { 'if-none-match': match } : {}),
        ...forwardedCredentials(request),
      },
    });
    const etag = upstream.headers.get('etag');
    return new Response(upstream.status === 304 ? null : upstream.body, {
      status: upstream.status,
      headers: {
        'content-type':
          upstream.headers.get('content-type') ?? 'application/octet-stream',
        // The API's own policy where it has one (thumbnails, masks).
        'cache-control':
          upstream.headers.get('cache-control') ?? 'private, max-age=300',
        ...(etag ? { etag } : {}),
        // One URL answers PNG or JPEG by Accept: caches must tell them apart.
        vary: 'accept, cookie',
      },
    });
  } catch {
    return new Response('the lpacs API is not reachable', { status: 502 });
  }
}
