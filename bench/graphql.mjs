// One GraphQL request as a benchmark makes it: POST with a bearer token.
// `ms` is the time until the whole response arrived (before parsing).
const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Sends `query` with `variables` to `url` (the /graphql endpoint).
 * Resolves to the response's `data` and its latency; throws on an HTTP
 * status other than 200 or on a GraphQL error.
 */
export async function graphqlRequest(url, token, query, variables) {
  const t0 = now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  const ms = now() - t0;
  if (res.status !== 200)
    throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text);
  if (body.errors?.length)
    throw new Error(`GraphQL error: ${body.errors[0].message}`);
  return { data: body.data, ms };
}
