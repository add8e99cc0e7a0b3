import type { AccessStore, AuditLog } from '@lpacs/access';
import type { Logger } from '@lpacs/lake';
import type { DownloadLinks, SharingStore } from '@lpacs/sharing';
import type { Gate } from './access/Gate';
import type { CohortQueries } from './cohort/CohortQueries';
import type { OperationsSnapshot } from './operations/readOperations';

/** What every resolver gets for one request. */
export interface ApiContext {
  cohorts: CohortQueries;
  logger: Logger;
  /** The request's caller and the one authorisation check. */
  gate: Gate;
  access: AccessStore;
  audit: AuditLog;
  sharing: SharingStore;
  links: DownloadLinks;
  lakeRoot: string;
  /** http://host:port of this server, for links it hands out. */
  baseUrl: string;
  /** The lake's de-identification settings, as recorded in lake.json. */
  deidentification(): unknown;
  /** The monitoring page's numbers, read when asked. */
  operations(): Promise<OperationsSnapshot>;
  /** The OHIF Viewer the portal links studies to, when configured. */
  ohifUrl?: string;
}
