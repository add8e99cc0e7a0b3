'use client';

import { usePredictions } from '../../lib/usePredictions';
import { ErrorAlert } from '../common/ErrorAlert';
import { TableHead } from '../common/TableHead';

/** What models said about this instance (or its whole series). */
export function FramePredictions(p: { series: string; sop: string }) {
  const q = usePredictions(p.series);
  if (q.isError)
    return <ErrorAlert what="Could not load predictions" error={q.error} />;
  const rows = (q.data ?? []).filter(
    (r) => r.sopInstanceUID === null || r.sopInstanceUID === p.sop,
  );
  if (!rows.length) return null;
  return (
    <table aria-label="Predictions">
      <TableHead columns={['Model', 'Label', 'Score', 'Value']} />
      <tbody>
        {rows.map((r) => (
          <tr
            key={`${r.modelName}:${r.modelVersion}:${r.label}:${r.sopInstanceUID ?? ''}:${r.frameIndex ?? 0}`}
            data-label={r.label}
          >
            <th scope="row">
              {r.modelName} {r.modelVersion}
              {r.sopInstanceUID === null ? ' (series)' : ''}
            </th>
            <td>{r.label}</td>
            <td data-score>{r.score === null ? '' : r.score.toFixed(4)}</td>
            <td>{r.value === null ? '' : r.value.toFixed(4)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
