import type { Action } from '@lpacs/access';
import { responsePathAsArray } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { ApiContext } from '../context';
import { namedId } from '../sharing/idShapes';

/**
 * type-graphql's hook for `@Authorized(Action.X)`: every guarded field
 * goes through the request's Gate, so the policy lives in one place. A
 * bare `@Authorized()` asks only for a signed-in caller.
 */
export const authChecker: AuthChecker<ApiContext, Action> = async (
  { context, info, args },
  actions,
) => {
  if (actions.length === 0) await context.gate.signedIn(info.fieldName);
  // The entry waits for the field's outcome (the gate settles it).
  const path = responsePathAsArray(info.path);
  for (const action of actions)
    await context.gate.allow(action, undefined, path, namedId(action, args));
  return true;
};
