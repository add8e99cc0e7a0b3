'use client';

import { useMutation } from '@tanstack/react-query';
import { formatBytes, formatCount, formatDateTime } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import { RELEASE_DOWNLOAD } from '../../lib/sharingOperations';
import type { DownloadLink, Release } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';

/**
 * Why the caller may not download `release` now (as the API's
 * downloadRefusal decides), or undefined: a release that is not approved
 * (revoked), or, for its collaborator, one whose access has expired.
 */
export function releaseEnded(
  release: Release,
  collaborator: boolean,
): 'revoked' | 'expired' | undefined {
  if (release.status !== 'approved') return 'revoked';
  if (collaborator && Date.parse(release.expiresAt) <= Date.now())
    return 'expired';
  return undefined;
}

/**
 * One release: what it holds and how big it is, its manifest, and a
 * Download button that asks the API for a signed link and follows it;
 * a release that cannot be downloaded says why instead of offering one.
 */
export function ReleaseRow({
  release,
  showCollaborator,
}: {
  release: Release;
  showCollaborator: boolean;
}) {
  const download = useMutation({
    mutationFn: () =>
      graphqlRequest<{ releaseDownload: DownloadLink }>(RELEASE_DOWNLOAD, {
        id: release.id,
      }).then((d) => d.releaseDownload),
    onSuccess: (link) => window.location.assign(link.zipUrl),
  });
  const ended = releaseEnded(release, !showCollaborator);
  const active = ended === undefined;
  return (
    <tr data-release={release.id}>
      <th scope="row">{release.cohortName}</th>
      {showCollaborator ? <td>{release.collaborator}</td> : null}
      <td>{formatDateTime(release.createdAt)}</td>
      <td>{release.expiresAt.slice(0, 10)}</td>
      <td data-status={ended ?? release.status}>{ended ?? release.status}</td>
      <td className="num">{formatCount(release.counts.instances)}</td>
      <td className="num" data-file-count>
        {formatCount(release.fileCount)}
      </td>
      <td className="num" data-bytes={release.totalBytes}>
        {formatBytes(release.totalBytes)}
      </td>
      <td>
        {active ? (
          <a
            href={`/api/releases/${encodeURIComponent(release.id)}/manifest`}
            target="_blank"
            rel="noopener"
          >
            Manifest of {release.cohortName}
          </a>
        ) : (
          '—'
        )}
      </td>
      <td>
        {active ? (
          <button
            type="button"
            disabled={download.isPending}
            onClick={() => download.mutate()}
            aria-label={`Download ${release.cohortName}`}
          >
            {download.isPending ? 'Preparing…' : 'Download'}
          </button>
        ) : (
          <span data-not-downloadable>
            {ended === 'revoked'
              ? 'Revoked: no longer downloadable'
              : 'Access expired'}
          </span>
        )}
        {download.isError ? (
          <ErrorAlert what="Could not download" error={download.error} />
        ) : null}
      </td>
    </tr>
  );
}
