import type { IncomingHttpHeaders } from 'node:http';
import type { AccessStore, Principal } from '@lpacs/access';

/** The cookie the portal's sign-in sets. */
export const SESSION_COOKIE = 'lpacs_session';

/** The credential a request carries: a bearer token, else the session cookie. */
export function credentialOf(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    return match?.[1] ?? auth;
  }
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

/**
 * Who sent the request: undefined without credentials.
 * @throws AccessError UNAUTHENTICATED for a credential that is not valid.
 */
export function principalOf(
  headers: IncomingHttpHeaders,
  store: AccessStore,
): Principal | undefined {
  const credential = credentialOf(headers);
  return credential === undefined ? undefined : store.authenticate(credential);
}
