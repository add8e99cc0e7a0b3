'use client';

import { useQuery } from '@tanstack/react-query';
import { graphqlRequest } from '../../lib/graphql';
import { RELEASES } from '../../lib/sharingOperations';
import type { Me, Release } from '../../lib/types';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { ReleaseRow, releaseEnded } from './ReleaseRow';

/** Releases the caller may download (a collaborator: only their own). */
export function ReleaseList({ me }: { me: Me }) {
  const releases = useQuery({
    queryKey: ['releases'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ releases: Release[] }>(RELEASES, undefined, signal).then(
        (d) => d.releases,
      ),
  });
  if (releases.isPending) return <Loading what="releases" />;
  if (releases.isError)
    return <ErrorAlert what="Could not load releases" error={releases.error} />;
  if (releases.data.length === 0)
    return (
      <p>
        No release yet. A release appears here once a steward approves a share
        {me.role === 'collaborator' ? ' made for you' : ''}.
      </p>
    );
  const showCollaborator = me.role !== 'collaborator';
  // A collaborator whose every release has ended is told so, not that
  // none was ever made.
  const ended = showCollaborator
    ? []
    : releases.data.filter((r) => releaseEnded(r, true));
  const revoked = ended.filter((r) => releaseEnded(r, true) === 'revoked');
  const one = ended.length === 1;
  const why =
    revoked.length === ended.length
      ? `Your ${one ? 'release was' : 'releases were'} revoked by a steward`
      : revoked.length === 0
        ? `Your access to ${one ? 'this release' : 'these releases'} has expired`
        : 'Your releases were revoked or have expired';
  return (
    <div className="table-box">
      {ended.length > 0 && ended.length === releases.data.length ? (
        <p role="status" data-releases-ended>
          {why}: {one ? 'it' : 'they'} can no longer be downloaded or viewed.
          Ask the researcher who shared {one ? 'it' : 'them'} if you still need
          the data.
        </p>
      ) : null}
      <table aria-label="Releases">
        <thead>
          <tr>
            <th scope="col">Cohort</th>
            {showCollaborator ? <th scope="col">Collaborator</th> : null}
            <th scope="col">Released</th>
            <th scope="col">Access until</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Instances
            </th>
            <th scope="col" className="num">
              Files
            </th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">Manifest</th>
            <th scope="col">Download</th>
          </tr>
        </thead>
        <tbody>
          {releases.data.map((r) => (
            <ReleaseRow
              key={r.id}
              release={r}
              showCollaborator={showCollaborator}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}
