import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, filesUnder, runCli, tempDir } from './helpers';
import { lakeContents, leaksIn, needlesOf } from './phiSearch';
import type { Needle } from './phiSearch';

// A trial found elements Table E.1-1 does not list kept as they came
// through `lpacs ingest`: a model name and software versions written as
// OB holding the patient's name and MRN, UIDs naming other objects by
// their original UIDs (Multi-frame Source SOP Instance UID, ...), and a
// Retrieve URI to the source PACS with the original Study Instance UID.
// Two objects of one study, written by pydicom from the CT corpus, go
// through `lpacs ingest`; pydicom reads the lake's objects back, and every
// lake file is searched for what was planted.

const PYTHON = '/usr/bin/python3';
const work = tempDir('unlisted');
after(() => work.remove());
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');

const FAMILY = 'ZQFAMKOV';
const MRN = 'ZQMRN77001';
const HOST = 'zqpacs.example';
// Original UIDs outside the 2.25 form the keyed map writes.
const STUDY = '1.2.826.0.1.3680043.99.230.1';
const TARGET_SOP = '1.2.826.0.1.3680043.99.230.3';
const FRAME = '1.2.826.0.1.3680043.99.230.4';
/** CT Image Storage (PS3.4 B.5) and Talairach (PS3.16, a well-known frame of reference). */
const CT_CLASS = '1.2.840.10008.5.1.4.1.1.2';
const TALAIRACH = '1.2.840.10008.1.4.1.1';

/** The target (InstanceNumber 1) and an object naming it (InstanceNumber 2). */
const WRITE = `import sys, pydicom
src, out = sys.argv[1], sys.argv[2]
def base(number, series, sop):
    ds = pydicom.dcmread(src)
    ds.PatientName = '${FAMILY}^ZQGIVNEL'
    ds.PatientID = '${MRN}'
    ds.StudyInstanceUID = '${STUDY}'
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.FrameOfReferenceUID = '${FRAME}'
    ds.InstanceNumber = number
    return ds
base(1, '${STUDY}.2', '${TARGET_SOP}').save_as(out + '/target.dcm')
ds = base(2, '${STUDY}.5', '${STUDY}.6')
ds.add_new(0x00081090, 'OB', b'SOMATOM ${FAMILY} ${MRN} ')   # ManufacturerModelName, PS3.6 LO
ds.add_new(0x00181020, 'OB', b'${MRN}\\\\VA40A ')   # SoftwareVersions, PS3.6 LO
ds.add_new(0x00143076, 'OB', b'19440604')   # DateOfGainCalibration, PS3.6 DA
ds.add_new(0x00081167, 'UI', '${TARGET_SOP}')   # MultiFrameSourceSOPInstanceUID
ds.add_new(0x00200242, 'UI', '${TARGET_SOP}')   # SOPInstanceUIDOfConcatenationSource
ds.add_new(0x00209312, 'UI', '${TALAIRACH}')   # VolumeFrameOfReferenceUID
ds.add_new(0x00209313, 'UI', '${FRAME}')   # TableFrameOfReferenceUID
ds.add_new(0x0072007F, 'UI', ['${TARGET_SOP}', '${CT_CLASS}', '${STUDY}'])   # SelectorUIValue
ds.add_new(0x0040E010, 'UR', 'https://${HOST}/studies/${STUDY}')   # RetrieveURI
ds.add_new(0x00081190, 'UR', 'https://${HOST}/wado?mrn=${MRN}')   # RetrieveURL
ds.save_as(out + '/referrer.dcm')`;

/** pydicom's reading of every lake object, by InstanceNumber. */
function readLake(): Record<string, Record<string, string | null>> {
  return JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import sys, json, pydicom
out = {}
def value(ds, tag):
    if tag not in ds: return None
    v = ds[tag].value
    return '\\\\'.join(v) if isinstance(v, (list, pydicom.multival.MultiValue)) else str(v)
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f)
    out[str(ds.InstanceNumber)] = {'%08X' % t: value(ds, t) for t in (
        0x00080018, 0x0020000D, 0x00200052, 0x00081090, 0x00181020, 0x00143076,
        0x00081167, 0x00200242, 0x00209312, 0x00209313, 0x0072007F, 0x0040E010, 0x00081190)}
print(json.dumps(out))`,
        ...filesUnder(join(lake, 'objects')),
      ],
      { encoding: 'utf8' },
    ),
  ) as Record<string, Record<string, string | null>>;
}

before(async () => {
  mkdirSync(input);
  const ct = filesUnder(CT).find((f) => f.endsWith('CT000001.dcm'))!;
  execFileSync(PYTHON, ['-c', WRITE, ct, input]);
  assert.equal((await runCli(['init', '--lake', lake])).code, 0);
  const run = await runCli(['ingest', input, '--lake', lake, '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as { ingested: number }).ingested, 2);
});

describe('elements Table E.1-1 does not list, through lpacs ingest', () => {
  it('points each UID reference at the target’s new UIDs, keeps the standard’s, and removes text and URIs written so', () => {
    const { 1: target, 2: referrer } = readLake();
    assert.ok(target && referrer);
    const sop = target['00080018']!;
    const study = target['0020000D']!;
    assert.match(sop, /^2\.25\.\d+$/);
    assert.notEqual(study, STUDY);
    assert.deepEqual(referrer, {
      '00080018': referrer['00080018'],
      '0020000D': study,
      '00200052': target['00200052'],
      // Written with a VR PS3.6 does not give them: removed.
      '00081090': null,
      '00181020': null,
      '00143076': null,
      // Remapped by the same keyed map: the reference resolves.
      '00081167': sop,
      '00200242': sop,
      '00209312': TALAIRACH,
      '00209313': target['00200052'],
      '0072007F': `${sop}\\${CT_CLASS}\\${study}`,
      // URIs to the source site: removed.
      '0040E010': null,
      '00081190': null,
    });
  });

  it('leaves no planted value in any lake file, in any encoding', async () => {
    const texts = [FAMILY, MRN, HOST, STUDY, TARGET_SOP, FRAME, '19440604'];
    const needles: Needle[] = [
      ...needlesOf(texts.map((text) => ({ what: text, text }))),
      // UTF-16, which no codec of needlesOf writes.
      ...texts.flatMap((text) => [
        { what: `${text} UTF-16LE`, bytes: Buffer.from(text, 'utf16le') },
        {
          what: `${text} UTF-16BE`,
          bytes: Buffer.from(text, 'utf16le').swap16(),
        },
      ]),
    ];
    const contents = await lakeContents(lake);
    assert.ok(contents.some((c) => c.file.endsWith('(rows)')));
    for (const { file, bytes } of contents)
      assert.deepEqual(leaksIn(bytes, needles), [], file);
  });
});
