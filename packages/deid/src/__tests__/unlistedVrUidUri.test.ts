import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import {
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
  verifyDeidentified,
} from '../index';
import type { DeidOptions } from '../index';
import { CT_FILE, REPO } from './fixtures';

// Elements Table E.1-1 does not list, found kept as they came by a trial:
// text written with a VR PS3.6 does not give it (a model name as OB),
// UIDs that name other objects (Multi-frame Source SOP Instance UID) and
// URIs to the source site (Retrieve URI). Inputs are written by pydicom,
// outputs read back by pydicom; what is expected comes from pydicom's
// dictionary, the standard's own Table E.1-1 (the JSON lpacs generates
// its table from, read here directly) and UIDs PS3.6 and PS3.16 define.

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-unlisted-vr-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 9));
const deid = new Deidentifier(keys);

const NAME = 'ZQFAMKOV^ZQGIVNEL';
const MRN = 'ZQMRN77001';

/** Table E.1-1 as the standard gives it: the tags it lists. */
const listed = new Set(
  (
    JSON.parse(
      readFileSync(
        join(
          REPO,
          'packages',
          'dicom',
          'standard',
          'confidentiality_profile_attributes.json',
        ),
        'utf8',
      ),
    ) as Array<{ tag: string }>
  ).map((r) => r.tag),
);

let n = 0;
function path(): string {
  return join(dir, `${n++}.dcm`);
}

/**
 * Runs a pydicom script with `ds` read from `input` (the CT by default)
 * and saves `ds` in explicit VR little endian; returns the file's bytes.
 */
function planted(script: string, input = CT_FILE): Buffer {
  const out = path();
  execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
ds = pydicom.dcmread(sys.argv[1])
ds.PatientName = '${NAME}'
ds.PatientID = '${MRN}'
${script}
ds.save_as(sys.argv[2])`,
      input,
      out,
    ],
    { stdio: 'inherit' },
  );
  return readFileSync(out);
}

/**
 * An object lpacs wrote with its data set edited by pydicom (`ds`), its
 * preamble and file meta kept byte for byte: what a peer could send.
 */
function tampered(bytes: Buffer, script: string): Buffer {
  const file = path();
  writeFileSync(file, bytes);
  execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, struct, pydicom
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
raw = open(sys.argv[1], 'rb').read()
end = 144 + struct.unpack('<I', raw[140:144])[0]
ds = pydicom.dcmread(sys.argv[1])
${script}
out = DicomBytesIO()
out.is_little_endian = True
out.is_implicit_VR = False
write_dataset(out, ds)
open(sys.argv[1], 'wb').write(raw[:end] + out.getvalue())`,
      file,
    ],
    { stdio: 'inherit' },
  );
  return readFileSync(file);
}

/** What a pydicom script prints about `ds`, read from `bytes`. */
function read(bytes: Buffer, script: string): string {
  const file = path();
  writeFileSync(file, bytes);
  return execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, pydicom\nds = pydicom.dcmread(sys.argv[1])\n${script}`,
      file,
    ],
    { encoding: 'utf8' },
  ).trim();
}

/** pydicom's dictionary VR of each tag, and whether Table E.1-1 lists it. */
function standardOf(tags: string[]): string[] {
  const vrs = read(
    readFileSync(CT_FILE),
    `from pydicom.datadict import dictionary_VR
for t in ${JSON.stringify(tags.map((t) => `0x${t.replace(/[(),]/g, '')}`))}:
    print(dictionary_VR(int(t, 16)))`,
  ).split('\n');
  return tags.map((t, i) => `${t} ${vrs[i]}${listed.has(t) ? ' listed' : ''}`);
}

const LAKES: Array<[string, DeidOptions]> = [
  ['the research default', RESEARCH_DEFAULT],
  [
    'the Basic Profile alone',
    {
      ...RESEARCH_DEFAULT,
      longitudinal: 'off',
      retainPatientCharacteristics: false,
      cleanDescriptors: false,
    },
  ],
];

describe('an element written with a VR PS3.6 does not give it', () => {
  // Each planted as pydicom writes it: the tag, the VR written, the value.
  const WRONG: Array<[string, string, string]> = [
    ['(0008,1090)', 'OB', `b'SOMATOM ZQFAMKOV ${MRN} '`], // ManufacturerModelName
    ['(0018,1020)', 'OB', `b'${MRN}\\\\VA40A '`], // SoftwareVersions
    ['(0018,1210)', 'OW', "b'ZQFAMKOV'"], // ConvolutionKernel
    ['(0014,3076)', 'OB', "b'19440604'"], // DateOfGainCalibration
    ['(0008,1167)', 'LO', "'1.2.826.0.1.3680043.99.6.3'"], // a UID as text
  ];
  const script = WRONG.map(
    ([tag, vr, value]) =>
      `ds.add_new(0x${tag.replace(/[(),]/g, '')}, '${vr}', ${value})`,
  ).join('\n');

  it('removes each at ingest, counted wrongVr, and keeps text written with another text VR', () => {
    // PS3.6 gives them LO, LO, SH, DA and UI; Table E.1-1 lists none, nor
    // Window Center & Width Explanation (LO), written SH here.
    assert.deepEqual(standardOf([...WRONG.map((w) => w[0]), '(0028,1055)']), [
      '(0008,1090) LO',
      '(0018,1020) LO',
      '(0018,1210) SH',
      '(0014,3076) DA',
      '(0008,1167) UI',
      '(0028,1055) LO',
    ]);
    const input = planted(
      `${script}\nds.add_new(0x00281055, 'SH', 'WINDOW A')`,
    );
    const out = deid.deidentify(parseDicom(input));
    assert.equal(
      read(
        out.bytes,
        `for t in (0x00081090, 0x00181020, 0x00181210, 0x00143076, 0x00081167):
    print(t in ds)
e = ds[0x00281055]
print(e.VR, e.value)`,
      ),
      'False\nFalse\nFalse\nFalse\nFalse\nSH WINDOW A',
    );
    assert.equal(out.actions.wrongVr, 5);
    const text = out.bytes.toString('latin1');
    for (const marker of ['ZQFAMKOV', MRN, '19440604', '3680043.99.6.3'])
      assert.ok(!text.includes(marker), marker);
    for (const lake of [undefined, RESEARCH_DEFAULT])
      assert.equal(verifyDeidentified(parseDicom(out.bytes), lake), undefined);
  });

  it('sync refuses each put back in an lpacs object, naming the attribute and not the value', () => {
    const clean = deid.deidentify(parseDicom(readFileSync(CT_FILE))).bytes;
    assert.equal(verifyDeidentified(parseDicom(clean)), undefined);
    const keywords = [
      'ManufacturerModelName',
      'SoftwareVersions',
      'ConvolutionKernel',
      'DateOfGainCalibration',
      'MultiFrameSourceSOPInstanceUID',
    ];
    WRONG.forEach(([tag, vr, value], i) => {
      const sent = tampered(
        clean,
        `ds.add_new(0x${tag.replace(/[(),]/g, '')}, '${vr}', ${value})`,
      );
      for (const [name, lake] of LAKES) {
        const why = verifyDeidentified(parseDicom(sent), lake) ?? 'accepted';
        assert.equal(
          why,
          `${tag} ${keywords[i]} is written as ${vr}, not the VR PS3.6 gives it, and lpacs removes such an element the table does not list`,
          `${tag} under ${name}`,
        );
      }
    });
  });
});

describe('sync receive judges what C cleans by the VR written, as the de-identifier does', () => {
  // Patient Comments (C under Clean Descriptors, X in the Basic Profile)
  // and Additional Patient History (the same), written with VRs that are
  // not text; Study Date (C under modified dates) holding no date.
  const CASES: Array<[string, string, string, string]> = [
    ['(0010,4000)', 'OB', "b'ZQFAMKOV HIV+ '", 'PatientComments'],
    [
      '(0010,4000)',
      'UR',
      "'http://zqsite.example/ZQFAMKOV'",
      'PatientComments',
    ],
    ['(0010,4000)', 'AE', "'ZQFAMKOV'", 'PatientComments'],
    ['(0010,21B0)', 'OW', "b'ZQFAMKOV'", 'AdditionalPatientHistory'],
    ['(0008,0020)', 'DA', "'ZQFAMKOV'", 'StudyDate'],
  ];
  const plant = ([tag, vr, value]: [string, string, string, string]) =>
    `ds.add_new(0x${tag.replace(/[(),]/g, '')}, '${vr}', ${value})`;

  it('refuses each in an lpacs object, under the declared and the lake’s options, as the de-identifier empties or removes it', () => {
    const clean = deid.deidentify(parseDicom(readFileSync(CT_FILE))).bytes;
    for (const c of CASES) {
      // What the de-identifier leaves of it: nothing (absent, or no value).
      const own = deid.deidentify(parseDicom(planted(plant(c))));
      const tag = `0x${c[0].replace(/[(),]/g, '')}`;
      assert.equal(
        read(
          own.bytes,
          `print(${tag} not in ds or len(ds[${tag}].value or '') == 0)`,
        ),
        'True',
        c.join(' '),
      );
      assert.ok(!own.bytes.toString('latin1').includes('ZQFAMKOV'), c[0]);
      const sent = tampered(clean, plant(c));
      for (const [name, lake] of LAKES) {
        const why = verifyDeidentified(parseDicom(sent), lake) ?? 'accepted';
        assert.ok(
          why.startsWith(`${c[0]} ${c[3]} `),
          `${c.join(' ')} under ${name}: ${why}`,
        );
        assert.ok(!/ZQFAMKOV|zqsite/i.test(why), why);
      }
    }
    // The same Patient Comments as LT were refused before.
    const lt = tampered(clean, "ds.add_new(0x00104000, 'LT', 'ZQFAMKOV')");
    assert.match(
      verifyDeidentified(parseDicom(lt)) ?? 'accepted',
      /^\(0010,4000\) PatientComments holds text the profile cleans or empties/,
    );
  });
});

// Originals not in the 2.25 form, so that one left as it came can be told
// from a remapped one.
const A_SOP = '1.2.826.0.1.3680043.99.230.3';
const A_STUDY = '1.2.826.0.1.3680043.99.230.1';
const A_FRAME = '1.2.826.0.1.3680043.99.230.4';
/** Talairach, a well-known frame of reference (PS3.16 Table 8-1 / PS3.6 A-2). */
const TALAIRACH = '1.2.840.10008.1.4.1.1';
/** The DICOM coding scheme (DCM), PS3.16 8. */
const DCM_SCHEME = '1.2.840.10008.2.16.4';
/** SNOMED CT's UID as PS3.16 8 lists it: not the standard's own root. */
const SNOMED = '2.16.840.1.113883.6.96';
/** A CT Image Storage class and a vendor's private class. */
const CT_CLASS = '1.2.840.10008.5.1.4.1.1.2';
const PRIVATE_CLASS = '1.3.12.2.1107.5.9.1';

const TARGET = `ds.StudyInstanceUID = '${A_STUDY}'
ds.SeriesInstanceUID = '${A_STUDY}.2'
ds.SOPInstanceUID = '${A_SOP}'
ds.file_meta.MediaStorageSOPInstanceUID = '${A_SOP}'
ds.FrameOfReferenceUID = '${A_FRAME}'`;

/** Another object of the study naming the target in UI elements the table does not list. */
const REFERRER = `ds.StudyInstanceUID = '${A_STUDY}'
ds.SeriesInstanceUID = '${A_STUDY}.5'
ds.SOPInstanceUID = '${A_STUDY}.6'
ds.file_meta.MediaStorageSOPInstanceUID = '${A_STUDY}.6'
ds.FrameOfReferenceUID = '${A_FRAME}'
ds.add_new(0x00081167, 'UI', '${A_SOP}')   # MultiFrameSourceSOPInstanceUID
ds.add_new(0x00200242, 'UI', '${A_SOP}')   # SOPInstanceUIDOfConcatenationSource
ds.add_new(0x00209312, 'UI', '${TALAIRACH}')   # VolumeFrameOfReferenceUID
ds.add_new(0x00209313, 'UI', '${A_FRAME}')   # TableFrameOfReferenceUID
ds.add_new(0x300A0675, 'UI', '${A_FRAME}.9')   # EquipmentFrameOfReferenceUID
ds.add_new(0x0072007F, 'UI', ['${A_SOP}', '${CT_CLASS}', '${A_STUDY}'])   # SelectorUIValue
dcm = Dataset(); dcm.CodingSchemeDesignator = 'DCM'; dcm.add_new(0x0008010C, 'UI', '${DCM_SCHEME}')
sct = Dataset(); sct.CodingSchemeDesignator = 'SCT'; sct.add_new(0x0008010C, 'UI', '${SNOMED}')
sct.add_new(0x0008010E, 'UR', 'http://snomed.info/sct')   # CodingSchemeURL
ds.CodingSchemeIdentificationSequence = Sequence([dcm, sct])
ref = Dataset(); ref.ReferencedSOPClassUID = '${PRIVATE_CLASS}'; ref.ReferencedSOPInstanceUID = '${A_SOP}'
ds.ReferencedImageSequence = Sequence([ref])`;

describe('UIDs the table does not list', () => {
  const UI_TAGS = [
    '(0008,1167)',
    '(0020,0242)',
    '(0020,9312)',
    '(0020,9313)',
    '(300A,0675)',
    '(0072,007F)',
    '(0008,010C)',
    '(0008,1150)',
  ];
  const SHOW = `for t in (0x00081167, 0x00200242, 0x00209312, 0x00209313, 0x300A0675):
    print(ds[t].value)
print('\\\\'.join(ds[0x0072007F].value))
for item in ds.CodingSchemeIdentificationSequence:
    print(item[0x0008010C].value, item.get(0x0008010E) and item[0x0008010E].value)
print(ds.ReferencedImageSequence[0].ReferencedSOPClassUID)
print(ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID)`;

  it('remaps each value with the keyed map, so a reference resolves to the object’s new UID; keeps the standard’s UIDs and class UIDs, and every one under Retain UIDs', () => {
    // PS3.6 gives every one VR UI, and Table E.1-1 lists none.
    assert.deepEqual(
      standardOf(UI_TAGS),
      UI_TAGS.map((t) => `${t} UI`),
    );
    const target = deid.deidentify(parseDicom(planted(TARGET)));
    const referrer = deid.deidentify(parseDicom(planted(REFERRER)));
    const [newSop, newStudy, newFrame] = read(
      target.bytes,
      'print(ds.SOPInstanceUID)\nprint(ds.StudyInstanceUID)\nprint(ds.FrameOfReferenceUID)',
    ).split('\n');
    assert.match(newSop!, /^2\.25\.\d+$/);
    const shown = read(referrer.bytes, SHOW).split('\n');
    // The equipment's frame and SNOMED's UID are remapped, to some UID.
    const equipment = shown[4]!;
    const snomed = shown[7]!.split(' ')[0]!;
    assert.deepEqual(shown, [
      newSop,
      newSop,
      TALAIRACH,
      newFrame,
      equipment,
      `${newSop}\\${CT_CLASS}\\${newStudy}`,
      `${DCM_SCHEME} None`,
      `${snomed} http://snomed.info/sct`,
      PRIVATE_CLASS,
      newSop,
    ]);
    assert.match(equipment, /^2\.25\.\d+$/);
    assert.match(snomed, /^2\.25\.\d+$/);
    // (0008,1167), (0020,0242), (0020,9313), (300A,0675), (0072,007F), SNOMED's (0008,010C)
    assert.equal(referrer.actions.unlistedUid, 6);
    const text = referrer.bytes.toString('latin1');
    for (const original of [A_SOP, A_STUDY, A_FRAME, SNOMED])
      assert.ok(!text.includes(original), original);
    for (const lake of [undefined, RESEARCH_DEFAULT])
      assert.equal(
        verifyDeidentified(parseDicom(referrer.bytes), lake),
        undefined,
      );
    // Under Retain UIDs every one stays as it came.
    const retained = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      retainUIDs: true,
    }).deidentify(parseDicom(planted(REFERRER)));
    assert.deepEqual(read(retained.bytes, SHOW).split('\n'), [
      A_SOP,
      A_SOP,
      TALAIRACH,
      A_FRAME,
      `${A_FRAME}.9`,
      `${A_SOP}\\${CT_CLASS}\\${A_STUDY}`,
      `${DCM_SCHEME} None`,
      `${SNOMED} http://snomed.info/sct`,
      PRIVATE_CLASS,
      A_SOP,
    ]);
    assert.equal(retained.actions.unlistedUid, undefined);
  });

  it('sync refuses an original UID in one, naming the attribute, and takes the standard’s', () => {
    const out = deid.deidentify(parseDicom(planted(REFERRER))).bytes;
    for (const [tag, keyword, value] of [
      ['(0008,1167)', 'MultiFrameSourceSOPInstanceUID', `'${A_SOP}'`],
      ['(0020,0242)', 'SOPInstanceUIDOfConcatenationSource', `'${A_SOP}'`],
      ['(300A,0675)', 'EquipmentFrameOfReferenceUID', `'${A_FRAME}'`],
      ['(0072,007F)', 'SelectorUIValue', `['${CT_CLASS}', '${A_STUDY}']`],
    ] as const) {
      const sent = tampered(
        out,
        `ds.add_new(0x${tag.replace(/[(),]/g, '')}, 'UI', ${value})`,
      );
      for (const [, lake] of LAKES)
        assert.equal(
          verifyDeidentified(parseDicom(sent), lake),
          `${tag} ${keyword} holds a UID the profile would have replaced`,
        );
    }
    const standard = tampered(
      out,
      `ds.add_new(0x00081167, 'UI', '${TALAIRACH}')`,
    );
    assert.equal(verifyDeidentified(parseDicom(standard)), undefined);
  });
});

describe('URIs the table does not list', () => {
  const URI_TAGS = [
    '(0040,E010)', // RetrieveURI
    '(0008,1190)', // RetrieveURL
    '(0074,100A)', // ContactURI
    '(0040,4073)', // StorageURL
    '(0008,010E)', // CodingSchemeURL
    '(0008,0120)', // URNCodeValue
  ];
  const PLANT = `ds.add_new(0x0040E010, 'UR', 'https://pacs.zqsite.example/studies/${A_STUDY}')
ds.add_new(0x00081190, 'UR', 'https://pacs.zqsite.example/wado?mrn=${MRN}')
ds.add_new(0x0074100A, 'UR', 'mailto:zqfamkov@zqsite.example')
ds.add_new(0x00404073, 'UR', 'file:///zqsite/${MRN}/ct.dcm')
scheme = Dataset(); scheme.CodingSchemeDesignator = 'SCT'; scheme.add_new(0x0008010E, 'UR', 'http://snomed.info/sct')
ds.CodingSchemeIdentificationSequence = Sequence([scheme])
region = Dataset(); region.add_new(0x00080120, 'UR', 'urn:lex:us:federal:codified.regulation:2013-04-25;45CFR164')
region.CodingSchemeDesignator = 'LEX'; region.CodeMeaning = 'HIPAA'
region.add_new(0x00081190, 'UR', 'https://pacs.zqsite.example/series/${A_STUDY}.2')
ds.AnatomicRegionSequence = Sequence([region])`;

  it('removes each at any depth but a code’s, counted unlistedUri', () => {
    // PS3.6 gives each VR UR; Table E.1-1 lists none.
    assert.deepEqual(
      standardOf(URI_TAGS),
      URI_TAGS.map((t) => `${t} UR`),
    );
    const out = deid.deidentify(parseDicom(planted(`${TARGET}\n${PLANT}`)));
    assert.equal(
      read(
        out.bytes,
        `print([t in ds for t in (0x0040E010, 0x00081190, 0x0074100A, 0x00404073)])
print(ds.CodingSchemeIdentificationSequence[0][0x0008010E].value)
region = ds.AnatomicRegionSequence[0]
print(region[0x00080120].value, 0x00081190 in region)`,
      ),
      [
        '[False, False, False, False]',
        'http://snomed.info/sct',
        'urn:lex:us:federal:codified.regulation:2013-04-25;45CFR164 False',
      ].join('\n'),
    );
    assert.equal(out.actions.unlistedUri, 5);
    const text = out.bytes.toString('latin1');
    for (const marker of ['zqsite', 'zqfamkov', MRN, A_STUDY])
      assert.ok(!text.toLowerCase().includes(marker.toLowerCase()), marker);
    for (const lake of [undefined, RESEARCH_DEFAULT])
      assert.equal(verifyDeidentified(parseDicom(out.bytes), lake), undefined);
  });

  it('sync refuses one put back, naming the attribute and not the value', () => {
    const out = deid.deidentify(parseDicom(readFileSync(CT_FILE))).bytes;
    const sent = tampered(
      out,
      `ds.add_new(0x0040E010, 'UR', 'https://pacs.zqsite.example/studies/${A_STUDY}')`,
    );
    for (const [, lake] of LAKES)
      assert.equal(
        verifyDeidentified(parseDicom(sent), lake),
        '(0040,E010) RetrieveURI is a URI the table does not list, and lpacs removes it',
      );
  });
});
