/** GraphQL documents of saved cohorts, shares and releases. */

const COUNTS = 'counts { patients studies series instances }';
const SHARE = `id cohortId requester collaborator purpose expiresAt status
  requestedAt decidedBy decidedAt reason releaseId`;

export const SAVE_COHORT = `mutation SaveCohort($name: String!, $filter: CohortFilter) {
  saveCohort(name: $name, filter: $filter) { id name ${COUNTS} }
}`;

export const SAVED_COHORTS = `query SavedCohorts {
  savedCohorts { id name owner filter createdAt ${COUNTS} erased { instances at } }
}`;

export const REQUEST_SHARE = `mutation RequestShare(
  $cohortId: String!, $collaborator: String!, $purpose: String!,
  $expiresAt: String!
) {
  requestShare(
    cohortId: $cohortId, collaborator: $collaborator, purpose: $purpose,
    expiresAt: $expiresAt
  ) { ${SHARE} }
}`;

export const SHARE_REQUESTS = `query ShareRequests($status: String) {
  shareRequests(status: $status) { ${SHARE} }
}`;

export const DECIDE_SHARE = `mutation DecideShare(
  $id: String!, $approve: Boolean!, $reason: String
) {
  decideShare(id: $id, approve: $approve, reason: $reason) { ${SHARE} }
}`;

export const REVOKE_SHARE = `mutation RevokeShare($id: String!, $reason: String!) {
  revokeShare(id: $id, reason: $reason) { ${SHARE} }
}`;

export const RELEASES = `query Releases {
  releases(includeEnded: true) {
    id shareId cohortName collaborator createdAt expiresAt status
    fileCount totalBytes ${COUNTS}
  }
}`;

export const RELEASE_DOWNLOAD = `mutation ReleaseDownload($id: String!) {
  releaseDownload(id: $id) { zipUrl manifestUrl expiresAt }
}`;
