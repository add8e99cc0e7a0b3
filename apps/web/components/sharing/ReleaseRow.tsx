'use client';

import { useMutation } from '@tanstack/react-query';
import { formatBytes, formatCount, formatDateTime } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import { RELEASE_DOWNLOAD } from '../../lib/sharingOperations';
import type { DownloadLink, Release } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';

/**
 * One release: what it holds and how big it is, its manifest, and a
 * Download button that asks the API for a signed link and follows it.
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
  const active = release.status === 'approved';
  return (
    <tr data-release={release.id}>
      <th scope="row">{release.cohortName}</th>
      {showCollaborator ? <td>{release.collaborator}</td> : null}
      <td>{formatDateTime(release.createdAt)}</td>
      <td>{release.expiresAt.slice(0, 10)}</td>
      <td>{release.status}</td>
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
        <button
          type="button"
          disabled={!active || download.isPending}
          onClick={() => download.mutate()}
          aria-label={`Download ${release.cohortName}`}
        >
          {download.isPending ? 'Preparing…' : 'Download'}
        </button>
        {download.isError ? (
          <ErrorAlert what="Could not download" error={download.error} />
        ) : null}
      </td>
    </tr>
  );
}
