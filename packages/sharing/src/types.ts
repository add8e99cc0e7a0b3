/** One instance of a frozen cohort: enough to find, check and name it. */
export interface FrozenInstance {
  SOPInstanceUID: string;
  SeriesInstanceUID: string;
  StudyInstanceUID: string;
  object_key: string;
  sha256: string;
  size_bytes: number;
}

/** A saved cohort: the query and its exact answer at the time it was saved. */
export interface SavedCohort {
  id: string;
  name: string;
  owner: string;
  /** The cohort filter as the client sent it (JSON). */
  filter: string;
  createdAt: string;
  /** The newest instances batch when saved: the lake version it reflects. */
  lakeVersion: string;
  counts: {
    patients: number;
    studies: number;
    series: number;
    instances: number;
  };
}

export type ShareStatus = 'pending' | 'approved' | 'denied' | 'revoked';

/** A researcher's request that a collaborator receive a saved cohort. */
export interface ShareRequest {
  id: string;
  cohortId: string;
  requester: string;
  collaborator: string;
  purpose: string;
  /** When the collaborator's access ends. */
  expiresAt: string;
  status: ShareStatus;
  requestedAt: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  releaseId?: string;
  /** Set when data in its release was later erased (withdrawn consent). */
  erasedData?: boolean;
}

/** One file of a release, as listed in its manifest. */
export interface ReleaseFile {
  /** Path inside the download. */
  path: string;
  sha256: string;
  size: number;
  /** Where the bytes live: a lake object key or a file of the release folder. */
  source: { objectKey: string } | { releaseFile: string };
}

/** An immutable dataset made when a share is approved. */
export interface ReleaseManifest {
  id: string;
  shareId: string;
  cohortId: string;
  cohortName: string;
  collaborator: string;
  createdAt: string;
  expiresAt: string;
  deidentification: unknown;
  counts: SavedCohort['counts'];
  files: ReleaseFile[];
  totalBytes: number;
}
