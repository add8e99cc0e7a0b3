import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import {
  DeidError,
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
  verifyDeidentified,
} from '../index';
import { isValidUid } from '../retainedValues';
import { CT_FILE } from './fixtures';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-retained-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 5));
const deid = new Deidentifier(keys);

// The patient planted in every case: names and ID a kept value repeats.
const FAMILY = 'QXSMITHERS';
const GIVEN = 'QXWAYLON';
const ID = 'QX100003';

let n = 0;

/**
 * The CT with its patient set to FAMILY^GIVEN / ID, no birth date (so an
 * age comes from PatientAge alone), and the pydicom statements given
 * applied (`ds` the data set), then dcmodify's `edits` (it writes a DS
 * that is no number, which pydicom refuses); the bytes written.
 */
function planted(script: string, edits: string[] = []): Buffer {
  const path = join(dir, `${n++}.dcm`);
  execFileSync(PYTHON, [
    '-c',
    `import sys, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE
ds = pydicom.dcmread(sys.argv[1])
ds.PatientName = '${FAMILY}^${GIVEN}'
ds.PatientID = '${ID}'
if 'PatientBirthDate' in ds: del ds.PatientBirthDate
${script}
ds.save_as(sys.argv[2], write_like_original=False)`,
    CT_FILE,
    path,
  ]);
  if (edits.length)
    execFileSync('dcmodify', ['-nb', ...edits, path], { stdio: 'ignore' });
  return readFileSync(path);
}

/** The values pydicom reads back from the output, by keyword: null when absent. */
function readBack(bytes: Buffer, keywords: string[]): Record<string, unknown> {
  const path = join(dir, `${n++}.dcm`);
  writeFileSync(path, bytes);
  const out = execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, json, pydicom
ds = pydicom.dcmread(sys.argv[1])
def val(k):
    if k not in ds: return None
    v = ds.data_element(k).value
    return '' if v is None else str(v)
print(json.dumps({k: val(k) for k in sys.argv[2:]}))`,
      path,
      ...keywords,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as Record<string, unknown>;
}

describe('values a retain option keeps (Retain Patient Characteristics, the research default)', () => {
  it('keeps values the attributes can hold: PS3.3 Enumerated Values, DS numbers, AS ages', () => {
    const out = deid.deidentify(
      parseDicom(
        planted(`ds.PatientSex = 'O'
ds.SmokingStatus = 'UNKNOWN'
ds.PatientSexNeutered = 'UNALTERED'
ds.PatientWeight = '70.5'
ds.PatientSize = '1.80'
ds.PatientAge = '045Y'
ds.EthnicGroup = 'Nordic'`),
      ),
    );
    assert.deepEqual(
      readBack(out.bytes, [
        'PatientSex',
        'SmokingStatus',
        'PatientSexNeutered',
        'PatientWeight',
        'PatientSize',
        'PatientAge',
        'EthnicGroup',
      ]),
      {
        PatientSex: 'O',
        SmokingStatus: 'UNKNOWN',
        PatientSexNeutered: 'UNALTERED',
        PatientWeight: '70.5',
        PatientSize: '1.80',
        PatientAge: '045Y',
        EthnicGroup: 'Nordic',
      },
    );
    assert.equal(out.ageYears, 45);
    assert.equal(out.actions.unretained, undefined);
  });

  it("applies the Basic Profile's code to a value that is no value of the attribute: the patient's name or ID never passes", () => {
    const out = deid.deidentify(
      parseDicom(
        planted(
          `ds.PatientAge = '${ID} 89Y'
ds.PatientSex = '${GIVEN}'
ds.SmokingStatus = '${FAMILY}'
ds.PatientSexNeutered = '${GIVEN}'
ds.PatientSize = '1.8'
ds.EthnicGroup = '${FAMILY} ${ID}'`,
          ['-i', `(0010,1030)=${FAMILY}`],
        ),
      ),
    );
    const got = readBack(out.bytes, [
      'PatientAge',
      'PatientSex',
      'SmokingStatus',
      'PatientSexNeutered',
      'PatientWeight',
      'PatientSize',
      'EthnicGroup',
    ]);
    // Table E.1-1's Basic Profile column: PatientAge X, PatientSex Z,
    // SmokingStatus X, PatientWeight X, EthnicGroup X; PatientSexNeutered
    // X/Z (type 2C in the CT's Patient Module: Z).
    assert.deepEqual(got, {
      PatientAge: null,
      PatientSex: '',
      SmokingStatus: null,
      PatientSexNeutered: '',
      PatientWeight: null,
      PatientSize: '1.8',
      EthnicGroup: null,
    });
    assert.equal(out.ageYears, undefined);
    assert.equal(out.actions.unretained, 6);
    const notices = (out.notices ?? []).join('\n');
    assert.match(notices, /\(0010,0040\) PatientSex .*Enumerated Values/);
    assert.match(notices, /\(0010,1030\) PatientWeight .*DS/);
    for (const phi of [FAMILY, GIVEN, ID])
      assert.ok(!notices.includes(phi), 'a notice names no value');
    assert.equal(verifyDeidentified(parseDicom(out.bytes)), undefined);
  });

  it("cleans kept free text of the patient's names and IDs, keeping the rest", () => {
    const out = deid.deidentify(
      parseDicom(planted(`ds.EthnicGroup = 'Nordic ${FAMILY}'`)),
    );
    const got = readBack(out.bytes, ['EthnicGroup']);
    assert.equal(got.EthnicGroup, 'Nordic');
    assert.equal(out.actions.retainedCleaned, 1);
  });

  it('keeps an age only in AS form (PS3.5 6.2), 090Y over 89 years, and age_years says the same', () => {
    // [as written, as kept (null: removed), age_years]
    for (const [value, kept, years] of [
      ['095Y', '090Y', 90],
      ['95 Y', '090Y', 90], // a number of years outside the form
      ['95y', '090Y', 90],
      ['1150M', '090Y', 90], // 95 years 10 months
      ['030M', '030M', 2],
      ['95 YRS', null, undefined], // no AS value: removed, no age
      ['95YEARS', null, undefined],
      ['ninety5', null, undefined],
    ] as const) {
      const out = deid.deidentify(
        parseDicom(planted(`ds.PatientAge = '${value}'`)),
      );
      assert.equal(readBack(out.bytes, ['PatientAge']).PatientAge, kept, value);
      assert.equal(out.ageYears, years, value);
    }
  });

  it('cleans what Retain Device and Institution Identity keep of the patient, and checks their codes and dates', () => {
    const lake = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      longitudinal: 'full',
      retainDeviceIdentity: true,
      retainInstitutionIdentity: true,
    });
    const out = lake.deidentify(
      parseDicom(
        planted(`ds.StationName = 'CT7 ${FAMILY}'
ds.InstitutionName = 'Riverside ${GIVEN}'
ds.DeviceSerialNumber = '${ID}'
ds.DateOfLastCalibration = '${FAMILY}'
ds.add_new(0x00080201, 'SH', '${GIVEN}')`),
      ),
    );
    const got = readBack(out.bytes, [
      'StationName',
      'InstitutionName',
      'DeviceSerialNumber',
      'DateOfLastCalibration',
      'TimezoneOffsetFromUTC',
    ]);
    // DeviceSerialNumber (the ID alone, nothing left once cleaned): X/Z/D,
    // X where it is type 3 (General Equipment, PS3.3 C.7.5.1);
    // DateOfLastCalibration X; Timezone Offset From UTC X (its form is
    // &ZZXX, PS3.3 C.12.1).
    assert.deepEqual(got, {
      StationName: 'CT7',
      InstitutionName: 'Riverside',
      DeviceSerialNumber: null,
      DateOfLastCalibration: null,
      TimezoneOffsetFromUTC: null,
    });
    const text = out.bytes.toString('latin1');
    for (const phi of [FAMILY, GIVEN, ID]) assert.ok(!text.includes(phi), phi);
  });

  it('sync refuses a de-identified object that keeps a value the attribute cannot hold', () => {
    const out = deid.deidentify(parseDicom(planted('ds.PatientSex = "M"')));
    assert.equal(verifyDeidentified(parseDicom(out.bytes)), undefined);
    const path = join(dir, `${n++}.dcm`);
    writeFileSync(path, out.bytes);
    execFileSync('dcmodify', ['-nb', '-m', `(0010,0040)=${GIVEN}`, path]);
    assert.match(
      verifyDeidentified(parseDicom(readFileSync(path))) ?? 'accepted',
      /\(0010,0040\) PatientSex .*Enumerated Values/,
    );
  });
});

describe('UIDs that name a class or a transfer syntax (PS3.5 9.1)', () => {
  it('tells a UID from a value that is none', () => {
    assert.equal(isValidUid('1.2.840.10008.1.2.1'), true);
    assert.equal(isValidUid('0.1.2'), true);
    assert.equal(isValidUid('1.2.' + '3'.repeat(60)), true); // 64 characters
    assert.equal(isValidUid('1.2.' + '3'.repeat(61)), false); // 65
    assert.equal(isValidUid('1.02.3'), false); // leading zero
    assert.equal(isValidUid('1..2'), false);
    assert.equal(isValidUid('1.2.'), false);
    assert.equal(isValidUid('QVWALDRON.QV998877'), false);
    assert.equal(isValidUid(''), false);
  });

  const refusal = (script: string, meta?: [string, string]): string => {
    let bytes = planted(script);
    if (meta) {
      // The first occurrence is the file meta's: same length, no padding.
      const [from, to] = meta.map((v) => Buffer.from(v, 'latin1'));
      const at = bytes.indexOf(from!);
      bytes = Buffer.concat([
        bytes.subarray(0, at),
        to!,
        bytes.subarray(at + from!.length),
      ]);
    }
    try {
      deid.deidentify(parseDicom(bytes));
      return 'accepted';
    } catch (err) {
      assert.ok(err instanceof DeidError, String(err));
      return `${err.code} ${err.message}`;
    }
  };

  it('refuses an object whose transfer syntax or SOP class is no UID, naming the attribute and never the value', () => {
    for (const [script, name, meta] of [
      [
        `ds.file_meta.TransferSyntaxUID = '${FAMILY}.${ID}'`,
        'TransferSyntaxUID',
        undefined,
      ],
      [`ds.SOPClassUID = '${FAMILY} ${ID}'`, 'SOPClassUID', undefined],
      // A leading zero (PS3.5 9.1), in the file meta alone.
      [
        '',
        'MediaStorageSOPClassUID',
        ['1.2.840.10008.5.1.4.1.1.2\0', '1.2.840.10008.5.1.4.1.1.02'],
      ],
    ] as const) {
      const why = refusal(script, meta && [meta[0], meta[1]]);
      assert.match(why, new RegExp(`^INVALID_UID ${name} `));
      for (const phi of [FAMILY, ID]) assert.ok(!why.includes(phi), phi);
    }
  });

  it('handles an unknown but valid transfer syntax as before', () => {
    const why = refusal(`ds.file_meta.TransferSyntaxUID = '1.2.3.4.5'`);
    assert.doesNotMatch(why, /INVALID_UID/);
  });

  it('remaps a referenced SOP class that is no UID, and one under the standard root that is none', () => {
    const out = deid.deidentify(
      parseDicom(
        planted(`item = Dataset()
item.ReferencedSOPClassUID = '${FAMILY} ${ID}'
item.ReferencedSOPInstanceUID = '1.2.3.4'
ds.ReferencedImageSequence = Sequence([item])
ds.add_new(0x00081150, 'UI', '1.2.840.10008.${ID}')`),
      ),
    );
    const text = out.bytes.toString('latin1');
    for (const phi of [FAMILY, ID]) assert.ok(!text.includes(phi), phi);
    assert.ok((out.actions.invalidUid ?? 0) >= 2);
  });
});
