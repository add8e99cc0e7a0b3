import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** What pydicom reads out of a DICOM SEG: its frames' references and bits. */
export interface SegTruth {
  rows: number;
  columns: number;
  /** Each SEG frame's ReferencedSOPInstanceUID (Derivation Image Sequence). */
  refs: string[];
  /** Each SEG frame's ReferencedSegmentNumber. */
  segments: number[];
  /** '0' or '1' per pixel, frames back to back. */
  bits: string;
}

const READ_SEG = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
frames = ds.PerFrameFunctionalGroupsSequence
arr = ds.pixel_array.reshape(len(frames), -1)
print(json.dumps({
  "rows": ds.Rows, "columns": ds.Columns,
  "refs": [f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID for f in frames],
  "segments": [int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber) for f in frames],
  "bits": "".join("1" if v else "0" for v in arr.reshape(-1)),
}))
`;

/** Reads a SEG file with Debian's pydicom, independently of lpacs. */
export async function readSeg(file: string): Promise<SegTruth> {
  const { stdout } = await promisify(execFile)(
    '/usr/bin/python3',
    ['-c', READ_SEG, file],
    { maxBuffer: 1 << 26 },
  );
  return JSON.parse(stdout) as SegTruth;
}
