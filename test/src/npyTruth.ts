import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** A mask laid over an image, as numpy and pydicom compute it. */
export interface MaskTruth {
  rows: number;
  columns: number;
  /** rows * columns segment numbers (label index + 1, lowest wins; 0: none). */
  segments: number[];
}

/** What a stacking threshold model should see and say, by hand. */
export interface StackTruth {
  /** SOP Instance UIDs sorted by position along the slice normal. */
  order: string[];
  /** The indices (into order) of the slices stacked into the input. */
  picked: number[];
  /** The expected 32 x 32 mask, row-major, 0 or 1. */
  mask: number[];
}

// The SEG writer's nearest-neighbour rule, written out afresh from its
// definition: output row r samples mask row floor((r + 0.5) * h / rows).
const OVER_IMAGE = `
import json, sys, numpy as np, pydicom
mask = np.load(sys.argv[1])
ds = pydicom.dcmread(sys.argv[2], stop_before_pixels=True)
rows, cols = int(ds.Rows), int(ds.Columns)
labels, h, w = mask.shape
r = np.minimum(h - 1, np.floor((np.arange(rows) + 0.5) * h / rows).astype(int))
c = np.minimum(w - 1, np.floor((np.arange(cols) + 0.5) * w / cols).astype(int))
out = np.zeros((rows, cols), dtype=np.uint8)
for l in reversed(range(labels)):
    out[mask[l][np.ix_(r, c)] > 0] = l + 1
print(json.dumps({"rows": rows, "columns": cols, "segments": out.reshape(-1).tolist()}))
`;

// datasets/make-model.py's ct-volume-threshold by hand: slices sorted by
// ImagePositionPatient projected on the normal of ImageOrientationPatient
// (PS3.3 C.7.6.2.1.1), four picked evenly (first and last in), each
// windowed (centre 40, width 400) to [0, 1] and shrunk 256 -> 32 bilinearly
// with pixel centres aligned (the mean of the middle 2 x 2 of each 8 x 8
// block), then mean over the four > 0.5.
const STACK = `
import json, sys, numpy as np, pydicom
slices = []
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f)
    iop = np.array(ds.ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    at = float(np.dot(np.array(ds.ImagePositionPatient, dtype=float), normal))
    slices.append((at, ds))
slices.sort(key=lambda s: s[0])
n = len(slices)
picked = [int(np.floor(i * (n - 1) / 3 + 0.5)) for i in range(4)]
planes = []
for i in picked:
    ds = slices[i][1]
    v = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    win = np.clip((v - (40 - 400 / 2)) / 400, 0, 1).astype(np.float32)
    r, c = win.shape
    assert r == 256 and c == 256, (r, c)
    planes.append(win.reshape(32, 8, 32, 8)[:, 3:5, :, 3:5].mean(axis=(1, 3), dtype=np.float32))
mask = (np.mean(np.stack(planes), axis=0, dtype=np.float32) > 0.5).astype(np.uint8)
print(json.dumps({
  "order": [str(s[1].SOPInstanceUID) for s in slices],
  "picked": picked,
  "mask": mask.reshape(-1).tolist(),
}))
`;

async function python<T>(script: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(
    '/usr/bin/python3',
    ['-c', script, ...args],
    { maxBuffer: 1 << 26 },
  );
  return JSON.parse(stdout) as T;
}

/** A `.npy` mask over a DICOM image's grid, by numpy and pydicom. */
export function npyOverImage(npy: string, dicom: string): Promise<MaskTruth> {
  return python<MaskTruth>(OVER_IMAGE, [npy, dicom]);
}

/** The ct-volume-threshold model's mask over a series' files, by hand. */
export function stackedThreshold(files: string[]): Promise<StackTruth> {
  return python<StackTruth>(STACK, files);
}
