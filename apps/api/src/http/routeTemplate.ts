/**
 * Path segments that are names of routes, never values. Every other
 * segment (a UID, a release id, a file name, anything a client made up)
 * becomes a placeholder, so a request log line cannot carry an identifier.
 */
const LITERALS = new Set([
  'graphql',
  'dicomweb',
  'studies',
  'series',
  'instances',
  'frames',
  'rendered',
  'thumbnail',
  'metadata',
  'bulkdata',
  'mask',
  'releases',
  'download.zip',
  'files',
  'auth',
  'sign-in',
  'sign-out',
  'metrics',
  'healthz',
  'readyz',
  'sync',
  'have',
  'objects',
]);

/**
 * The route of a request path as a template, e.g.
 * `/dicomweb/studies/{uid}/series/{uid}/metadata`: UIDs become `{uid}`,
 * other values `{id}`, and the query string is dropped.
 */
export function routeTemplate(path: string): string {
  const segments = path.split('?')[0]!.split('/').slice(1);
  if (segments.length > 12) segments.length = 12;
  return `/${segments
    .map((s) =>
      LITERALS.has(s) || s === ''
        ? s
        : /^[0-9]+(\.[0-9]+)+$/.test(s)
          ? '{uid}'
          : /^[0-9]+$/.test(s)
            ? '{n}'
            : '{id}',
    )
    .join('/')}`;
}
