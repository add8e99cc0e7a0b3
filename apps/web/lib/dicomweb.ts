/** DICOMweb reads through the portal's proxy, in the DICOM JSON model. */

type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;

export const WEB = '/api/dicomweb';

/** The first value of a tag of a DICOM JSON object, as text. */
export function text(ds: DicomJson, tag: string): string {
  const v = ds[tag]?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && 'Alphabetic' in (v as object))
    return String((v as { Alphabetic: string }).Alphabetic);
  return String(v);
}

/** A QIDO-RS or metadata request; an empty list for 204. */
export async function dicomJson(path: string): Promise<DicomJson[]> {
  const res = await fetch(`${WEB}/${path}`, {
    headers: { accept: 'application/dicom+json' },
  });
  if (res.status === 204) return [];
  if (!res.ok)
    throw new Error(
      `${path.split('?')[0]}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`,
    );
  return (await res.json()) as DicomJson[];
}

export type { DicomJson };
