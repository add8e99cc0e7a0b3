import { COHORT_QUERY_ROLES } from './permissions';
import type { Role } from './types';

/** A page of the portal and the roles whose rights it serves. */
export interface NavLink {
  href: string;
  label: string;
  roles: readonly Role[];
}

/**
 * Every page, with the roles that may use it. This mirrors the API's
 * permission table: the API still decides, the portal only hides pages a
 * role could not use.
 */
export const NAV_LINKS: readonly NavLink[] = [
  { href: '/', label: 'Cohort builder', roles: COHORT_QUERY_ROLES },
  { href: '/cohorts', label: 'Saved cohorts', roles: COHORT_QUERY_ROLES },
  { href: '/models', label: 'Models', roles: ['admin', 'researcher'] },
  { href: '/inbox', label: 'Share requests', roles: ['admin', 'steward'] },
  { href: '/releases', label: 'Releases', roles: ['admin', 'steward'] },
  { href: '/releases', label: 'My releases', roles: ['collaborator'] },
  { href: '/admin/lake', label: 'Lake', roles: ['admin', 'steward'] },
  {
    href: '/admin/operations',
    label: 'Operations',
    roles: ['admin', 'steward'],
  },
  { href: '/admin/users', label: 'Users', roles: ['admin'] },
  {
    href: '/tokens',
    label: 'API tokens',
    roles: ['admin', 'steward', 'researcher'],
  },
  { href: '/admin/audit', label: 'Audit log', roles: ['admin'] },
];

/** The pages a role sees in the navigation, in order. */
export function navigationFor(role: Role): NavLink[] {
  return NAV_LINKS.filter((l) => l.roles.includes(role));
}

/** Where a role lands after signing in. */
export function homeFor(role: Role): string {
  return role === 'collaborator' ? '/releases' : '/';
}
