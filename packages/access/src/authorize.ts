import type { Action } from './Action';
import { AccessError, AccessErrorCode } from './AccessError';
import { roleAllows } from './permissions';
import type { Principal } from './types';

/**
 * The one authorisation check: the caller's role must allow the action,
 * and a scoped token must include it.
 * @throws AccessError UNAUTHENTICATED without a principal, FORBIDDEN when
 * not allowed (naming the action and the role, never data).
 */
export function authorize(
  principal: Principal | undefined,
  action: Action,
): Principal {
  if (!principal)
    throw new AccessError(
      AccessErrorCode.Unauthenticated,
      'sign in, or send an API token as "Authorization: Bearer <token>" (create one with: npx lpacs tokens create USER)',
    );
  if (!roleAllows(principal.role, action))
    throw new AccessError(
      AccessErrorCode.Forbidden,
      `the ${principal.role} role may not ${action}`,
    );
  if (principal.scopes && !principal.scopes.includes(action))
    throw new AccessError(
      AccessErrorCode.Forbidden,
      `this token is not scoped for ${action}`,
    );
  return principal;
}
