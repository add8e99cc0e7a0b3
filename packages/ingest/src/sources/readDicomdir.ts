import {
  DicomError,
  DicomErrorCode,
  Tag,
  findElement,
  parseDicom,
  readNumber,
  readStrings,
  topString,
} from '@lpacs/dicom';

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';
const DIRECTORY_RECORD_SEQUENCE = 0x00041220;
const RECORD_IN_USE_FLAG = 0x00041410;
const REFERENCED_FILE_ID = 0x00041500;
/** PS3.3 F.3.2.2: 0000H marks a record its writer withdrew. */
const INACTIVE = 0x0000;

/**
 * The files a DICOMDIR (PS3.10 7.2, PS3.3 F.3) indexes: the Referenced File
 * ID (0004,1500) of every record in use, in the order of the Directory
 * Record Sequence, each as its path components below the DICOMDIR's folder.
 *
 * @param bytes - the DICOMDIR file
 * @returns the file IDs, or undefined when the file parses but is not a
 *   media storage directory (its SOP class is another)
 * @throws DicomError when the file cannot be parsed, or when it is a media
 *   storage directory without a Directory Record Sequence (0004,1220)
 */
export function readDicomdir(bytes: Buffer): string[][] | undefined {
  const file = parseDicom(bytes);
  const sopClass = topString(file.meta, Tag.MediaStorageSOPClassUID);
  if (sopClass !== MEDIA_STORAGE_DIRECTORY) return undefined;
  const { buffer, elements } = file.body;
  const records = findElement(elements, DIRECTORY_RECORD_SEQUENCE)?.items;
  if (!records) {
    throw new DicomError(
      DicomErrorCode.Malformed,
      'the DICOMDIR has no Directory Record Sequence (0004,1220)',
    );
  }
  const fileIds: string[][] = [];
  for (const record of records) {
    const inUse = readNumber(
      buffer,
      record.encoding,
      findElement(record.elements, RECORD_IN_USE_FLAG),
    );
    if (inUse === INACTIVE) continue;
    const id = readStrings(
      buffer,
      findElement(record.elements, REFERENCED_FILE_ID),
    );
    if (id.length) fileIds.push(id);
  }
  return fileIds;
}
