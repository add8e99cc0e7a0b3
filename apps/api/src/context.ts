import type { AccessStore, AuditLog } from '@lpacs/access';
import type { Logger } from '@lpacs/lake';
import type { Gate } from './access/Gate';
import type { CohortQueries } from './cohort/CohortQueries';

/** What every resolver gets for one request. */
export interface ApiContext {
  cohorts: CohortQueries;
  logger: Logger;
  /** The request's caller and the one authorisation check. */
  gate: Gate;
  access: AccessStore;
  audit: AuditLog;
}
