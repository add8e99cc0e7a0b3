import { scopeClause } from './qidoQuery';
import type { Catalog } from '@lpacs/lake';
import { DicomWebError } from './DicomWebError';

/** What WADO-RS needs to know of a stored instance. */
export interface InstanceRow {
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  SOPInstanceUID: string;
  NumberOfFrames: number;
  BitsAllocated: number;
  TransferSyntaxUID: string;
  object_key: string;
}

/** The UIDs a WADO-RS path names, outermost first. */
export interface ResourcePath {
  study: string;
  series?: string;
  instance?: string;
}

/** Describes a path for messages: `study 1.2, series 1.3`. */
export function describe(path: ResourcePath): string {
  return [
    `study ${path.study}`,
    path.series ? `series ${path.series}` : '',
    path.instance ? `instance ${path.instance}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * The instances under a study, series or instance, in series and instance
 * number order.
 * @throws DicomWebError 404 when the lake holds none.
 */
export async function instanceRows(
  catalog: Catalog,
  path: ResourcePath,
  scope?: readonly string[],
): Promise<InstanceRow[]> {
  const where = ['"StudyInstanceUID" = ?'];
  if (scope) where.push(scopeClause(scope));
  const params = [path.study];
  if (path.series) {
    where.push('"SeriesInstanceUID" = ?');
    params.push(path.series);
  }
  if (path.instance) {
    where.push('"SOPInstanceUID" = ?');
    params.push(path.instance);
  }
  const rows = await catalog.query(
    `SELECT "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
            coalesce("NumberOfFrames", 1) AS "NumberOfFrames",
            "BitsAllocated", "TransferSyntaxUID", object_key
     FROM instances WHERE ${where.join(' AND ')}
     QUALIFY row_number() OVER (PARTITION BY "SOPInstanceUID" ORDER BY batch DESC) = 1
     ORDER BY "SeriesNumber" NULLS LAST, "SeriesInstanceUID",
              "InstanceNumber" NULLS LAST, "SOPInstanceUID"`,
    params,
  );
  if (rows.length === 0) {
    throw new DicomWebError(404, `no ${describe(path)} in the lake`);
  }
  return rows.map((r) => ({
    StudyInstanceUID: String(r.StudyInstanceUID),
    SeriesInstanceUID: String(r.SeriesInstanceUID),
    SOPInstanceUID: String(r.SOPInstanceUID),
    NumberOfFrames: Number(r.NumberOfFrames),
    BitsAllocated: Number(r.BitsAllocated),
    TransferSyntaxUID: String(r.TransferSyntaxUID),
    object_key: String(r.object_key),
  }));
}
