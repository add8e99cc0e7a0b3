import {
  apiGraphqlUrl,
  forwardedCredentials,
} from '../../../../../lib/apiTarget';

/**
 * A plain link to a release's manifest: asks the API for a signed link as
 * the signed-in user, then redirects to it. The API decides who may.
 */
export const dynamic = 'force-dynamic';

const MUTATION = `mutation ($id: String!) {
  releaseDownload(id: $id) { manifestUrl }
}`;

interface Answer {
  data?: { releaseDownload: { manifestUrl: string } } | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

const STATUS: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
};

export async function GET(
  request: Request,
  { params }: { params: Promise<{ id: string }> },
): Promise<Response> {
  const { id } = await params;
  let answer: Answer;
  try {
    const upstream = await fetch(apiGraphqlUrl(), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...forwardedCredentials(request),
      },
      body: JSON.stringify({ query: MUTATION, variables: { id } }),
    });
    answer = (await upstream.json()) as Answer;
  } catch {
    return new Response('the lpacs API is not reachable', { status: 502 });
  }
  const url = answer.data?.releaseDownload.manifestUrl;
  if (url) return Response.redirect(url, 302);
  const error = answer.errors?.[0];
  return new Response(
    `no manifest for release ${id}: ${error?.message ?? 'unknown error'}`,
    {
      status: STATUS[error?.extensions?.code ?? ''] ?? 400,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    },
  );
}
