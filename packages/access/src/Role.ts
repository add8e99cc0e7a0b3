/** The roles of lpacs users; each sees and does only what its row allows. */
export enum Role {
  /** Manages users, tokens and the service; reads the audit log. */
  Admin = 'admin',
  /** Approves or denies sharing; revokes releases; uses the linkage. */
  Steward = 'steward',
  /** Queries cohorts, views studies, runs models, requests sharing. */
  Researcher = 'researcher',
  /** Downloads the releases approved for them, and nothing else. */
  Collaborator = 'collaborator',
}

export const ROLES: readonly Role[] = Object.values(Role);

/** The role named by `text`, or undefined. */
export function parseRole(text: string): Role | undefined {
  return ROLES.find((r) => r === text);
}
