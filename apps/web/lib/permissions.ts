import type { Role } from './types';

/**
 * The roles the API lets query the lake (its cohort.query: cohorts,
 * facets, predictions). A copy of the API's permission table for the
 * portal to hide what a role could not use; the API still decides.
 */
export const COHORT_QUERY_ROLES: readonly Role[] = [
  'admin',
  'steward',
  'researcher',
];

/** True when `role` may query the lake; false while it is not known. */
export function mayQueryCohorts(role: Role | undefined): boolean {
  return role !== undefined && COHORT_QUERY_ROLES.includes(role);
}
