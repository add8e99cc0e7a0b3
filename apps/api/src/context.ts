import type { Logger } from '@lpacs/lake';
import type { CohortQueries } from './cohort/CohortQueries';

/** What every resolver gets for one request. */
export interface ApiContext {
  cohorts: CohortQueries;
  logger: Logger;
}
