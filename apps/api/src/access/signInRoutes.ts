import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import { AccessError, typedTarget } from '@lpacs/access';
import type { AccessStore } from '@lpacs/access';
import { readBody } from '../http/readBody';
import type { Gate } from './Gate';
import type { SignInThrottle } from './SignInThrottle';
import { clientAddress } from './clientAddress';
import { SESSION_COOKIE, credentialOf } from './principalOf';

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify(body));
}

function cookie(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

/**
 * `POST /auth/sign-in` {name, password} sets the session cookie;
 * `POST /auth/sign-out` revokes the session. Failures are audited, and
 * `throttle` answers 429 (with Retry-After) once a user name or address
 * has failed too often. The address is the peer's, or the one a peer in
 * `trustedProxies` reports in X-Forwarded-For (clientAddress); each
 * sign-in entry of the audit log carries it as `detail.from`.
 * Returns false when the path is not one of these.
 */
export async function signInRoutes(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: {
    store: AccessStore;
    /** The lake, for the keyed digest of a name no user has. */
    lakeRoot: string;
    gate: Gate;
    throttle: SignInThrottle;
    trustedProxies: BlockList;
    secure: boolean;
  },
): Promise<boolean> {
  const { store, gate, throttle, secure } = deps;
  if (path === '/auth/sign-in' && req.method === 'POST') {
    let name = '';
    let password = '';
    let body: { name?: unknown; password?: unknown };
    try {
      body = JSON.parse(await readBody(req, 10_000)) as typeof body;
      if (typeof body.name === 'string') name = body.name;
      if (typeof body.password === 'string') password = body.password;
    } catch {
      json(res, 400, { error: 'send JSON {"name": "...", "password": "..."}' });
      return true;
    }
    // A body without both fields is malformed, not a failed sign-in: it is
    // neither counted against a name nor audited. Empty ones (a form sent
    // blank, a password typed as the name) are tried and fail as usual.
    const missing = (['name', 'password'] as const).filter(
      (field) => typeof body[field] !== 'string',
    );
    if (missing.length) {
      json(res, 400, {
        error: `${missing.join(' and ')} missing: send JSON {"name": "...", "password": "..."}`,
      });
      return true;
    }
    const from = clientAddress(req, deps.trustedProxies);
    // A name no user has is written as a keyed digest: it may be a
    // password, or an MRN, typed in the wrong field (see typedTarget).
    const who = store.user(name)
      ? name.slice(0, 64)
      : typedTarget(deps.lakeRoot, name);
    const attempt = throttle.attempt(name, from);
    if ('refused' in attempt) {
      const { by, retryAfterSeconds } = attempt.refused;
      await gate.record('sign-in', 'denied', who, {
        throttled: by,
        retryAfter: retryAfterSeconds,
        from,
      });
      const minutes = Math.ceil(retryAfterSeconds / 60);
      res.setHeader('retry-after', String(retryAfterSeconds));
      json(res, 429, {
        error: `too many failed sign-ins for this user name or from this address; try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
      });
      return true;
    }
    try {
      const session = await store.signIn(name, password);
      await attempt.succeeded();
      const user = store.user(name)!;
      await gate.record('sign-in', 'ok', name, { from });
      const seconds = Math.round(
        (Date.parse(session.info.expiresAt) - Date.now()) / 1000,
      );
      res.setHeader('set-cookie', cookie(session.token, seconds, secure));
      json(res, 200, {
        name: user.name,
        role: user.role,
        expiresAt: session.info.expiresAt,
      });
    } catch (err) {
      if (!(err instanceof AccessError)) throw err;
      await attempt.failed();
      await gate.record('sign-in', 'failed', who, { from });
      json(res, 401, { error: err.message });
    }
    return true;
  }
  if (path === '/auth/sign-out' && req.method === 'POST') {
    const p = gate.principal;
    const session = p
      ? store.tokens(p.userId).find((t) => t.id === p.tokenId)
      : undefined;
    if (session?.kind === 'session') {
      await store.revokeToken(session.id);
      await gate.record('sign-out', 'ok');
    }
    res.setHeader('set-cookie', cookie('', 0, secure));
    json(res, 200, { signedOut: credentialOf(req.headers) !== undefined });
    return true;
  }
  return false;
}
