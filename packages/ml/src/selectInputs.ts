import type { Catalog } from '@lpacs/lake';
import type { JobInput, JobSelection } from './jobTypes';
import { MlError, MlErrorCode } from './MlError';

const MAX_LIST = 10_000;

function inList(column: string, values: string[] | undefined, name: string) {
  if (values === undefined) return undefined;
  if (!values.length || values.length > MAX_LIST)
    throw new MlError(
      MlErrorCode.BadSelection,
      `${name} must hold 1 to ${MAX_LIST} values, got ${values.length}`,
    );
  return {
    sql: `"${column}" IN (${values.map(() => '?').join(', ')})`,
    params: values,
  };
}

/**
 * What makes an instance a model input: an image, whose Image Pixel
 * module gives it Rows and Columns. Structured reports, encapsulated
 * documents, key object selections and presentation states have none, so
 * a job never selects them (they would fail UNDECODABLE on every run).
 */
export const IMAGES_ONLY = '"Rows" > 0 AND "Columns" > 0';

/**
 * The images (IMAGES_ONLY) a selection names, in series then instance
 * order. An empty selection means every image of the lake.
 */
export async function selectInputs(
  catalog: Catalog,
  selection: JobSelection,
): Promise<JobInput[]> {
  const clauses = [
    inList(
      'SeriesInstanceUID',
      selection.seriesInstanceUIDs,
      'seriesInstanceUIDs',
    ),
    inList(
      'Modality',
      selection.modalities?.map((m) => m.trim().toUpperCase()),
      'modalities',
    ),
    selection.where,
    { sql: IMAGES_ONLY, params: [] },
  ].filter((c) => c !== undefined);
  const where = `WHERE ${clauses.map((c) => `(${c.sql})`).join(' AND ')}`;
  const rows = await catalog.query(
    `SELECT SOPInstanceUID, any_value(SeriesInstanceUID) AS SeriesInstanceUID,
       any_value(StudyInstanceUID) AS StudyInstanceUID,
       any_value(object_key) AS object_key,
       any_value(NumberOfFrames) AS NumberOfFrames,
       any_value(InstanceNumber) AS InstanceNumber
     FROM instances ${where}
     GROUP BY SOPInstanceUID
     ORDER BY SeriesInstanceUID, InstanceNumber NULLS LAST, SOPInstanceUID`,
    clauses.flatMap((c) => c.params),
  );
  return rows.map((r) => ({
    SOPInstanceUID: String(r.SOPInstanceUID),
    SeriesInstanceUID: String(r.SeriesInstanceUID),
    StudyInstanceUID: String(r.StudyInstanceUID),
    object_key: String(r.object_key),
    NumberOfFrames: Math.max(1, Number(r.NumberOfFrames ?? 1) || 1),
  }));
}
