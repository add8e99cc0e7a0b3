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
  /**
   * Set once an erasure took instances out of the frozen list: how many
   * in all, and when last. `counts` then describe what is left.
   */
  erased?: { instances: number; at: string };
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

/** How a release's objects were de-identified, with counts and no values. */
export interface ReleaseDeidentification {
  /** The lake's options (`lake.json`) when the release was built. */
  options: unknown;
  /**
   * DeidentificationMethod (0012,0063) values of the objects, each with how
   * many carry it: the profile and the edition of Table E.1-1 applied.
   */
  methods: Array<{ value: string; instances: number }>;
  /** CID 7050 codes in the objects (0012,0064), each with how many carry it. */
  methodCodes: Array<{ code: string; meaning: string; instances: number }>;
  /** Data elements per action, summed over the counted instances. */
  actions: Record<string, number>;
  /** Instances whose counts were recorded at ingest (older ones were not). */
  instancesCounted: number;
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
  /** (Releases built before these counts hold the bare options here.) */
  deidentification: ReleaseDeidentification;
  counts: SavedCohort['counts'];
  files: ReleaseFile[];
  totalBytes: number;
}
