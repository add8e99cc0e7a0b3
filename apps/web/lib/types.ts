/** The four roles of lpacs, as the API spells them. */
export type Role = 'admin' | 'steward' | 'researcher' | 'collaborator';

/** The signed-in user, from the `me` query. */
export interface Me {
  name: string;
  role: Role;
}

/** How many of each level a cohort holds. */
export interface Counts {
  patients: number;
  studies: number;
  series: number;
  instances: number;
}

/** One value of a facet and how many studies have it. */
export interface FacetValue {
  value: string;
  count: number;
}

/** Facet names the API computes, each with every other filter applied. */
export type FacetName =
  'modality' | 'bodyPart' | 'sex' | 'manufacturer' | 'ageDecade' | 'studyYear';

export type Facets = Record<FacetName, FacetValue[]>;

/** The API's `CohortFilter` input; every field optional. */
export interface CohortFilter {
  modality?: string[];
  bodyPart?: string[];
  sex?: string[];
  manufacturer?: string[];
  ageMin?: number;
  ageMax?: number;
  studyDateFrom?: string;
  studyDateTo?: string;
  text?: string;
  attribute?: Array<{ keyword: string; op: string; value?: string }>;
  prediction?: Array<{ model: string; label: string; minScore?: number }>;
}

/** A de-identified study of a cohort. */
export interface Study {
  studyInstanceUID: string;
  patientID: string;
  studyDate: string | null;
  studyDescription: string | null;
  ageYears: number | null;
  patientSex: string | null;
  modalities: string[];
  bodyParts: string[];
  seriesCount: number;
  instanceCount: number;
}

export interface StudyPage {
  nodes: Study[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** A cohort frozen when saved. `filter` is the filter as JSON. */
export interface SavedCohort {
  id: string;
  name: string;
  owner: string;
  filter: string;
  createdAt: string;
  counts: Counts;
  /** Set when an erasure took instances out of it; counts are what is left. */
  erased?: { instances: number; at: string } | null;
}

/** pending, approved, denied or revoked. */
export type ShareStatus = 'pending' | 'approved' | 'denied' | 'revoked';

export interface ShareRequest {
  id: string;
  cohortId: string;
  requester: string;
  collaborator: string;
  purpose: string;
  expiresAt: string;
  status: ShareStatus;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
  releaseId: string | null;
}

/** An immutable dataset made by an approval. */
export interface Release {
  id: string;
  shareId: string;
  cohortName: string;
  collaborator: string;
  createdAt: string;
  expiresAt: string;
  status: string;
  fileCount: number;
  totalBytes: number;
  counts: Counts;
}

/** Signed links to a release, valid for a few minutes. */
export interface DownloadLink {
  zipUrl: string;
  manifestUrl: string;
  expiresAt: string;
}

export interface UserInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
}

export interface TokenInfo {
  id: string;
  kind: string;
  label: string;
  scopes: string[] | null;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  outcome: string;
  detail: string | null;
}
