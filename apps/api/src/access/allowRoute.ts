import type { ServerResponse } from 'node:http';
import { AccessError } from '@lpacs/access';
import type { Action } from '@lpacs/access';
import type { Gate } from './Gate';

/**
 * Passes the gate for a REST route, or answers 401/403 naming why.
 * Returns whether the route may go on. With `path`, the `ok` entry waits
 * for the route to record its detail and settle the gate (as a GraphQL
 * field's does); a refusal is written at once either way, naming
 * `refused` (what the request was about) when given.
 */
export async function allowRoute(
  gate: Gate,
  action: Action,
  res: ServerResponse,
  path?: string[],
  refused?: string,
): Promise<boolean> {
  try {
    await gate.allow(action, undefined, path, refused);
    return true;
  } catch (err) {
    if (!(err instanceof AccessError)) throw err;
    const status = err.code === 'UNAUTHENTICATED' ? 401 : 403;
    res
      .writeHead(status, { 'content-type': 'text/plain' })
      .end(`${err.message}\n`);
    return false;
  }
}
