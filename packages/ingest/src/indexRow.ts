import {
  Tag,
  findElement,
  readDecimals,
  readNumber,
  readString,
  readStrings,
} from '@lpacs/dicom';
import type { DicomFile } from '@lpacs/dicom';
import type { Row } from '@lpacs/lake';

/** `YYYYMMDD` to `YYYY-MM-DD`, or null when it is not a date. */
function isoDate(value: string | undefined): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value ?? '');
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

function int(value: number | undefined): number | null {
  return value === undefined || !Number.isFinite(value)
    ? null
    : Math.trunc(value);
}

/** What the lake knows about an object besides its own attributes. */
export interface StoredObject {
  objectKey: string;
  sha256: string;
  sizeBytes: number;
  ageYears: number | undefined;
}

/**
 * The `instances` row of a de-identified object, read back from the stored
 * bytes themselves (parsed), so the tables can hold nothing the object does
 * not.
 */
export function indexRow(file: DicomFile, stored: StoredObject): Row {
  const { buffer: buf, encoding: enc, elements } = file.body;
  const charsets = readStrings(
    buf,
    findElement(elements, Tag.SpecificCharacterSet),
  );
  const el = (tag: number) => findElement(elements, tag);
  const str = (tag: number) => readString(buf, el(tag), charsets) ?? null;
  const num = (tag: number) => readNumber(buf, enc, el(tag));
  const spacing = readDecimals(buf, el(Tag.PixelSpacing));
  const rows = int(num(Tag.Rows));
  return {
    SOPInstanceUID: str(Tag.SOPInstanceUID),
    SOPClassUID: str(Tag.SOPClassUID),
    InstanceNumber: int(num(Tag.InstanceNumber)),
    Rows: rows,
    Columns: int(num(Tag.Columns)),
    NumberOfFrames: int(num(Tag.NumberOfFrames)) ?? (rows !== null ? 1 : null),
    BitsAllocated: int(num(Tag.BitsAllocated)),
    BitsStored: int(num(Tag.BitsStored)),
    SamplesPerPixel: int(num(Tag.SamplesPerPixel)),
    PhotometricInterpretation: str(Tag.PhotometricInterpretation),
    PixelSpacingRow: spacing[0] ?? null,
    PixelSpacingColumn: spacing[1] ?? null,
    SliceThickness: num(Tag.SliceThickness) ?? null,
    TransferSyntaxUID: file.transferSyntaxUID,
    object_key: stored.objectKey,
    sha256: stored.sha256,
    size_bytes: stored.sizeBytes,
    // Stamped with its batch's commit time when the session commits it.
    ingested_at: '',
    SeriesInstanceUID: str(Tag.SeriesInstanceUID),
    Modality: str(Tag.Modality),
    SeriesDescription: str(Tag.SeriesDescription),
    SeriesNumber: int(num(Tag.SeriesNumber)),
    SeriesDate: isoDate(str(Tag.SeriesDate) ?? undefined),
    BodyPartExamined: str(Tag.BodyPartExamined)?.toUpperCase() ?? null,
    Manufacturer: str(Tag.Manufacturer),
    ManufacturerModelName: str(Tag.ManufacturerModelName),
    StudyInstanceUID: str(Tag.StudyInstanceUID),
    StudyDate: isoDate(str(Tag.StudyDate) ?? undefined),
    StudyDescription: str(Tag.StudyDescription),
    PatientAge: str(Tag.PatientAge),
    age_years: stored.ageYears ?? null,
    PatientID: str(Tag.PatientID),
    PatientSex: str(Tag.PatientSex)?.toUpperCase() ?? null,
  };
}
