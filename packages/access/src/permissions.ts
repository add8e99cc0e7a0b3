import { Action } from './Action';
import { Role } from './Role';

const { Admin, Steward, Researcher, Collaborator } = Role;

/**
 * The whole authorisation policy: which roles may perform each action.
 * Collaborators reach data only through releases approved for them; the
 * release checks (theirs, approved, not revoked, not expired) come on top.
 */
export const PERMISSIONS: Readonly<Record<Action, readonly Role[]>> = {
  [Action.CohortQuery]: [Admin, Steward, Researcher],
  [Action.CohortSave]: [Admin, Researcher],
  [Action.CohortRead]: [Admin, Steward, Researcher],
  [Action.StudyView]: [Admin, Steward, Researcher],
  [Action.ShareRequest]: [Researcher],
  [Action.ShareDecide]: [Steward],
  [Action.ShareRevoke]: [Admin, Steward],
  [Action.ShareList]: [Admin, Steward, Researcher],
  [Action.ReleaseList]: [Admin, Steward, Collaborator],
  [Action.ReleaseDownload]: [Admin, Steward, Collaborator],
  [Action.ModelRun]: [Admin, Researcher],
  [Action.ModelCancel]: [Admin, Steward, Researcher],
  [Action.ModelManage]: [Admin],
  [Action.Ingest]: [Admin],
  [Action.SyncReceive]: [Admin],
  [Action.UserManage]: [Admin],
  [Action.TokenOwn]: [Admin, Steward, Researcher, Collaborator],
  [Action.AuditRead]: [Admin],
  [Action.SqlExplain]: [Admin],
  [Action.LinkageUse]: [Steward],
  [Action.LakeStatus]: [Admin, Steward],
};

/** True when `role` may perform `action` (before any per-object check). */
export function roleAllows(role: Role, action: Action): boolean {
  return PERMISSIONS[action].includes(role);
}

/**
 * Why a token of a `role` user cannot carry `scopes`: the first scope the
 * role may never use, named with the role and what it may use; undefined
 * when every scope is one the role has. A scope only narrows a token, so
 * one outside the role would fail every request it was meant for.
 */
export function scopeRefusal(
  role: Role,
  scopes: readonly Action[],
): string | undefined {
  const bad = scopes.find((s) => !roleAllows(role, s));
  if (bad === undefined) return undefined;
  const usable = (Object.keys(PERMISSIONS) as Action[]).filter((a) =>
    roleAllows(role, a),
  );
  return `scope "${bad}" is not allowed for role ${role}: a token of that role may have ${usable.join(', ')}`;
}
