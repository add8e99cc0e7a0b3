import type { IncomingMessage, ServerResponse } from 'node:http';
import { AccessError } from '@lpacs/access';
import type { AccessStore } from '@lpacs/access';
import { readBody } from '../http/readBody';
import type { Gate } from './Gate';
import type { SignInThrottle } from './SignInThrottle';
import { SESSION_COOKIE, credentialOf } from './principalOf';

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify(body));
}

function cookie(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The address a sign-in comes from. The portal's proxy runs beside the
 * API and forwards the address it was called from (X-Forwarded-For, its
 * last entry being the one the nearest proxy saw); without trusting it
 * every portal user would share the proxy's own address, and five wrong
 * passwords anywhere would lock everyone out. From any other peer the
 * header is the caller's own word and is ignored.
 */
function clientAddress(req: IncomingMessage): string {
  const peer = req.socket.remoteAddress ?? '';
  const forwarded = req.headers['x-forwarded-for'];
  if (!LOOPBACK.has(peer) || typeof forwarded !== 'string') return peer;
  const last = forwarded.split(',').pop()!.trim();
  return last ? last.slice(0, 64) : peer;
}

/**
 * `POST /auth/sign-in` {name, password} sets the session cookie;
 * `POST /auth/sign-out` revokes the session. Failures are audited, and
 * `throttle` answers 429 (with Retry-After) once a user name or address
 * has failed too often.
 * Returns false when the path is not one of these.
 */
export async function signInRoutes(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: {
    store: AccessStore;
    gate: Gate;
    throttle: SignInThrottle;
    secure: boolean;
  },
): Promise<boolean> {
  const { store, gate, throttle, secure } = deps;
  if (path === '/auth/sign-in' && req.method === 'POST') {
    let name = '';
    let password = '';
    try {
      const body = JSON.parse(await readBody(req, 10_000)) as {
        name?: unknown;
        password?: unknown;
      };
      if (typeof body.name === 'string') name = body.name;
      if (typeof body.password === 'string') password = body.password;
    } catch {
      json(res, 400, { error: 'send JSON {"name": "...", "password": "..."}' });
      return true;
    }
    const attempt = throttle.attempt(name, clientAddress(req));
    if ('refused' in attempt) {
      const { by, retryAfterSeconds } = attempt.refused;
      await gate.record('sign-in', 'denied', name.slice(0, 64), {
        throttled: by,
        retryAfter: retryAfterSeconds,
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
      attempt.succeeded();
      const user = store.user(name)!;
      await gate.record('sign-in', 'ok', name);
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
      await gate.record('sign-in', 'failed', name.slice(0, 64));
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
