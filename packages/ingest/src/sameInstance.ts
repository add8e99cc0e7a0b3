import { createHash } from 'node:crypto';
import { Tag, findElement, parseDicom } from '@lpacs/dicom';
import { keptAge } from '@lpacs/deid';
import { readObjectSync } from '@lpacs/lake';
import type { Lake } from '@lpacs/lake';
import { indexRow } from './indexRow';

/** What must match for two encodings to be one instance: pixels and indexed values. */
function essence(bytes: Buffer): string | undefined {
  const file = parseDicom(bytes);
  const el = findElement(file.body.elements, Tag.PixelData);
  if (!el) return undefined;
  const pixels = createHash('sha256')
    .update(
      file.body.buffer.subarray(el.valueOffset, el.valueOffset + el.length),
    )
    .digest('hex');
  const row = indexRow(file, {
    objectKey: '',
    sha256: '',
    sizeBytes: 0,
    ageYears: undefined,
  });
  const { TransferSyntaxUID: _ts, PatientAge: age, ...values } = row;
  // An age written as it came by an earlier lpacs (over 89, or outside
  // AS's form: `45Y`) and the same age written as lpacs keeps it now
  // (`090Y`, `045Y`; see keptAge) are one instance.
  const ageKept = typeof age === 'string' ? (keptAge(age) ?? age) : age;
  return JSON.stringify([pixels, ageKept, values]);
}

/**
 * True when the object stored under `storedSha256` and `candidate` are one
 * instance re-encoded (an SCU converting implicit to explicit VR, other
 * padding or group lengths): same pixel data and same indexed values. A
 * change to either is a conflict. Asked only when the bytes differ, which
 * is rare, wherever the two meet: a worker against the lake as it was, a
 * run against its own earlier files, a commit against another writer's.
 */
export function sameInstance(
  lake: Lake,
  storedSha256: string,
  candidate: Buffer | string,
): boolean {
  try {
    const read = (sha: string) =>
      readObjectSync(lake.root, lake.layout.objectKey(sha));
    const a = essence(read(storedSha256));
    const b = essence(
      typeof candidate === 'string' ? read(candidate) : candidate,
    );
    return a !== undefined && a === b;
  } catch {
    return false;
  }
}
