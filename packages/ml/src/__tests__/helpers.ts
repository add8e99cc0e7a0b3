import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lake, newBatchId } from '@lpacs/lake';
import type { Row } from '@lpacs/lake';
import type { DecodedFrame, FrameDecoder } from '../types';

/** The repository root, from dist/__tests__. */
export const repo = join(__dirname, '..', '..', '..', '..');

/** What numpy (scripts/reference.py) says about one file's first frame. */
export interface Reference {
  path: string;
  rows: number;
  columns: number;
  bitsStored: number;
  pixelRepresentation: number;
  photometricInterpretation: string;
  stored: number[];
  modality: number[];
  mean: number;
  scores: [number, number];
  maskFraction: number;
  mask: number[];
}

/** Runs Debian's python3 in the repository; returns stdout. */
export function python(args: string[]): string {
  const r = spawnSync('/usr/bin/python3', args, {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0)
    throw new Error(`python3 ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Builds the test models (datasets/make-model.py) into a new folder. */
export function makeModels(): string {
  const out = mkdtempSync(join(tmpdir(), 'lpacs-models-'));
  python(['datasets/make-model.py', '--out', out]);
  return out;
}

/** numpy's view of each file (see scripts/reference.py). */
export function references(paths: string[]): Reference[] {
  return JSON.parse(
    python(['packages/ml/scripts/reference.py', ...paths]),
  ) as Reference[];
}

/** A DecodedFrame holding pydicom's pixels for one file. */
export function frameOf(r: Reference): DecodedFrame {
  return {
    rows: r.rows,
    columns: r.columns,
    samplesPerPixel: 1,
    photometricInterpretation: r.photometricInterpretation,
    numberOfFrames: 1,
    bitsStored: r.bitsStored,
    pixelRepresentation: r.pixelRepresentation,
    stored: Int32Array.from(r.stored),
    modality: Float32Array.from(r.modality),
  };
}

/**
 * A decoder returning pydicom's pixels for the files it was given, found
 * by the SHA-256 of the bytes; anything else is undecodable. It keeps the
 * job tests about jobs; one test runs the real @lpacs/pixels decoder.
 */
export function referenceDecoder(refs: Reference[]): FrameDecoder {
  const bySha = new Map(
    refs.map((r) => [
      createHash('sha256')
        .update(readFileSync(join(repo, r.path)))
        .digest('hex'),
      r,
    ]),
  );
  return async (dicom, frame) => {
    const r = bySha.get(createHash('sha256').update(dicom).digest('hex'));
    if (!r || frame !== 0) throw new Error('not a DICOM image we can decode');
    return frameOf(r);
  };
}

/** Reads a .npy file with numpy: its shape and values. */
export function numpyLoad(path: string): { shape: number[]; values: number[] } {
  return JSON.parse(
    python([
      '-c',
      'import sys, json, numpy; a = numpy.load(sys.argv[1]); ' +
        'print(json.dumps({"shape": list(a.shape), "dtype": str(a.dtype), "values": a.ravel().tolist()}))',
      path,
    ]),
  ) as { shape: number[]; values: number[] };
}

/** The patients of twelveSliceLake: two series of KEPT, one of GONE. */
export const KEPT = 'LPAAAAAAAAAAAAAAAA';
export const GONE = 'LPBBBBBBBBBBBBBBBB';
export const SERIES = ['2.25.1000', '2.25.1001', '2.25.1002'];

/**
 * A lake at `root` of twelve CT slices of the corpus (P0001's first, in
 * path order) in the three SERIES of four, the third GONE's, committed
 * as one batch with SOP Instance UIDs 2.25.1 to 2.25.12.
 */
export async function twelveSliceLake(root: string): Promise<void> {
  const dir = join(repo, 'datasets/cache/ct-test/P0001');
  const files: string[] = [];
  for (const study of readdirSync(dir).sort())
    for (const series of readdirSync(join(dir, study)).sort())
      for (const f of readdirSync(join(dir, study, series)).sort())
        files.push(join(dir, study, series, f));
  const lake = await Lake.open(root);
  try {
    const rows: Row[] = files.slice(0, 12).map((path, i) => {
      const bytes = readFileSync(path);
      const sha = createHash('sha256').update(bytes).digest('hex');
      return {
        SOPInstanceUID: `2.25.${i + 1}`,
        SeriesInstanceUID: SERIES[Math.floor(i / 4)]!,
        StudyInstanceUID: '2.25.7000',
        PatientID: i < 8 ? KEPT : GONE,
        Modality: 'CT',
        InstanceNumber: (i % 4) + 1,
        Rows: 64,
        Columns: 64,
        NumberOfFrames: 1,
        object_key: lake.putObjectSync(bytes, sha),
      };
    });
    await lake.commitBatch(newBatchId(), { instances: rows });
  } finally {
    lake.close();
  }
}
