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
