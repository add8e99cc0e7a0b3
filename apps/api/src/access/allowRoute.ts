import type { ServerResponse } from 'node:http';
import { AccessError } from '@lpacs/access';
import type { Action } from '@lpacs/access';
import type { Gate } from './Gate';

/**
 * Passes the gate for a REST route, or answers 401/403 naming why.
 * Returns whether the route may go on.
 */
export async function allowRoute(
  gate: Gate,
  action: Action,
  res: ServerResponse,
): Promise<boolean> {
  try {
    await gate.allow(action);
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
