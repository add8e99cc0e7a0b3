'use client';

import { useQuery } from '@tanstack/react-query';
import { dicomJson } from '../../lib/dicomweb';
import { ErrorAlert } from '../common/ErrorAlert';
import { TableHead } from '../common/TableHead';

/** The de-identified header of one instance (WADO-RS metadata). */
export function InstanceHeader(p: {
  study: string;
  series: string;
  sop: string;
}) {
  const meta = useQuery({
    queryKey: ['dicomweb', 'metadata', p.sop],
    queryFn: () =>
      dicomJson(
        `studies/${p.study}/series/${p.series}/instances/${p.sop}/metadata`,
      ),
  });
  if (meta.isError)
    return <ErrorAlert what="Could not load the header" error={meta.error} />;
  const ds = meta.data?.[0];
  if (!ds) return null;
  return (
    <details open>
      <summary>De-identified header</summary>
      <table aria-label="Header">
        <TableHead columns={['Tag', 'VR', 'Value']} />
        <tbody>
          {Object.entries(ds)
            .filter(([, v]) => v.Value !== undefined)
            .map(([tag, v]) => (
              <tr key={tag} data-tag={tag}>
                <th scope="row">
                  ({tag.slice(0, 4)},{tag.slice(4)})
                </th>
                <td>{v.vr}</td>
                <td>
                  {(v.Value ?? [])
                    .map((x) =>
                      typeof x === 'object' && x !== null
                        ? 'Alphabetic' in x
                          ? String((x as { Alphabetic: string }).Alphabetic)
                          : '(item)'
                        : String(x),
                    )
                    .join('\\')
                    .slice(0, 120)}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </details>
  );
}
