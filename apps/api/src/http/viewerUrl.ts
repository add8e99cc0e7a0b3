/**
 * Checks an external viewer's base URL (http or https, no query or
 * fragment) and drops its trailing slashes, so `${url}/viewer` is a path.
 * @throws Error naming the value when it is not such a URL.
 */
export function viewerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`viewer URL "${raw.slice(0, 100)}" is not a URL`);
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search ||
    url.hash ||
    url.username ||
    url.password
  )
    throw new Error(
      `viewer URL "${raw.slice(0, 100)}" must be http(s) without query, fragment or credentials`,
    );
  return url.href.replace(/\/+$/, '');
}
