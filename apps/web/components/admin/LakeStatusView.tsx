'use client';

import { useQuery } from '@tanstack/react-query';
import { formatBytes, formatCount } from '../../lib/format';
import { graphqlRequest } from '../../lib/graphql';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { TableHead } from '../common/TableHead';

const LAKE_STATUS = `query LakeStatus {
  lakeStatus(limit: 200) {
    patients studies series instances objectBytes batches quarantinedCount
    quarantined { id code message at extension sizeBytes }
  }
}`;

interface Status {
  patients: number;
  studies: number;
  series: number;
  instances: number;
  objectBytes: number;
  batches: number;
  quarantinedCount: number;
  quarantined: Array<{
    id: string;
    code: string;
    message: string;
    at: string;
    extension: string | null;
    sizeBytes: number | null;
  }>;
}

/**
 * What the lake holds, and every refused file with its reason, kind and
 * size: never its path or name, which can name the patient (the operator
 * sees those on the machine with `lpacs quarantine list`).
 */
export function LakeStatusView() {
  const q = useQuery({
    queryKey: ['lakeStatus'],
    queryFn: ({ signal }) =>
      graphqlRequest<{ lakeStatus: Status }>(
        LAKE_STATUS,
        undefined,
        signal,
      ).then((d) => d.lakeStatus),
    refetchInterval: 10_000,
  });
  if (q.isPending) return <Loading what="the lake's status" />;
  if (q.isError)
    return <ErrorAlert what="Could not load the status" error={q.error} />;
  const s = q.data;
  return (
    <>
      <dl aria-label="Lake contents">
        {(
          [
            ['Patients', s.patients],
            ['Studies', s.studies],
            ['Series', s.series],
            ['Instances', s.instances],
            ['Batches', s.batches],
          ] as const
        ).map(([label, n]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd data-status={label.toLowerCase()}>{formatCount(n)}</dd>
          </div>
        ))}
        <div>
          <dt>Objects</dt>
          <dd>{(s.objectBytes / 1e6).toFixed(1)} MB</dd>
        </div>
      </dl>
      <h2>Quarantine ({formatCount(s.quarantinedCount)})</h2>
      {s.quarantined.length === 0 ? (
        <p className="muted">No file has been refused.</p>
      ) : (
        <div className="table-box">
          <table aria-label="Quarantine">
            <TableHead
              columns={['When (UTC)', 'Code', 'Reason', 'Type', 'Size']}
            />
            <tbody>
              {s.quarantined.map((e) => (
                <tr key={e.id} data-code={e.code}>
                  <td>{e.at.replace('T', ' ').slice(0, 19)}</td>
                  <th scope="row">{e.code}</th>
                  <td>{e.message}</td>
                  <td>{e.extension ?? '—'}</td>
                  <td className="num">
                    {e.sizeBytes === null ? '—' : formatBytes(e.sizeBytes)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
