import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import { resolve } from '../actionTable';
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';
import type { DeidOptions } from '../index';

// The combined codes of Table E.1-1 (X/Z, X/D, X/Z/D, Z/D) resolved by the
// attribute's type in the object's IOD (PS3.15 E.1.1: X for a type 3, Z
// for a type 2, D for a type 1), on pydicom's own test files, read back by
// pydicom. Each expected outcome comes from the type PS3.3 gives the
// attribute in the module named beside it, not from lpacs's table.

const PYTHON = '/usr/bin/python3';
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-iod-types-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The Basic Profile alone: no option turns a combined code into C or K. */
const BASIC: DeidOptions = {
  ...RESEARCH_DEFAULT,
  longitudinal: 'off',
  retainPatientCharacteristics: false,
  cleanDescriptors: false,
};
const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 3)), BASIC);

/** pydicom's reading of an element: absent, its value, or its item count. */
type Read = { absent: true } | { value: string } | { items: number };

/** De-identifies a file and reads the given tags (top level, or a path). */
function outcome(input: string, tags: string[]): Record<string, Read> {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.dcm`);
  writeFileSync(out, deid.deidentify(parseDicom(readFileSync(input))).bytes);
  return JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import sys, json, pydicom
ds = pydicom.dcmread(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    node = ds
    steps = path.split('.')
    for step in steps[:-1]:
        node = node[int(step, 16)].value[0] if int(step, 16) in node else None
        if node is None:
            break
    tag = int(steps[-1], 16)
    if node is None or tag not in node:
        out[path] = {'absent': True}
    elif node[tag].VR == 'SQ':
        out[path] = {'items': len(node[tag].value)}
    else:
        v = node[tag].value
        out[path] = {'value': '' if v is None else str(v)}
print(json.dumps(out))`,
        out,
        ...tags,
      ],
      { encoding: 'utf8' },
    ),
  ) as Record<string, Read>;
}

/** Writes a copy of a pydicom test file changed by a few lines of pydicom. */
function variant(name: string, python: string): string {
  const out = join(dir, `in-${Math.random().toString(36).slice(2)}-${name}`);
  execFileSync(
    PYTHON,
    [
      '-c',
      `import sys, pydicom
from pydicom.dataset import Dataset
ds = pydicom.dcmread(sys.argv[1])
${python}
ds.save_as(sys.argv[2])`,
      join(PYDICOM, name),
      out,
    ],
    { encoding: 'utf8' },
  );
  return out;
}

const ABSENT: Read = { absent: true };
const EMPTY: Read = { value: '' };
const NO_ITEMS: Read = { items: 0 };

function dummy(read: Read | undefined): boolean {
  return read !== undefined && 'value' in read && read.value !== '';
}

describe('combined codes resolved by the type in the IOD of the SOP class', () => {
  it('keeps an empty type 2 Referenced Performed Procedure Step Sequence in SRs (X/Z/D)', () => {
    // PS3.3 Table C.17-1 (SR Document Series Module): (0008,1111) type 2,
    // so X/Z/D gives Z: present, zero items. Both files carry it empty.
    for (const name of ['test-SR.dcm', 'reportsi.dcm']) {
      const got = outcome(join(PYDICOM, name), ['00081111']);
      assert.deepEqual(got['00081111'], NO_ITEMS, name);
    }
  });

  it('gives D to a type 1 and X to a type 3 in a Comprehensive SR', () => {
    // Table C.17-2 (SR Document General): Content Date (0008,0023) and
    // Content Time (0008,0033) type 1, Z/D gives D (a dummy). Table C.12-1
    // (SOP Common): Instance Creation Date (0008,0012) type 3, X/D gives X.
    const got = outcome(join(PYDICOM, 'test-SR.dcm'), [
      '00080023',
      '00080033',
      '00080012',
      '00080013',
    ]);
    assert.ok(dummy(got['00080023']), JSON.stringify(got['00080023']));
    assert.ok(dummy(got['00080033']), JSON.stringify(got['00080033']));
    assert.deepEqual(got['00080012'], ABSENT);
    assert.deepEqual(got['00080013'], ABSENT); // X/Z/D, type 3
  });

  it('keeps an empty type 2 Acquisition Context Sequence in a 12-lead ECG (X/Z)', () => {
    // Table C.7.6.14-1 (Acquisition Context Module, M in the 12-Lead ECG
    // IOD, Table A.34.3-1): (0040,0555) type 2: X/Z gives Z, zero items
    // (the file has one item). Table C.10-8 (Waveform Identification):
    // Acquisition DateTime (0008,002A) type 1: X/Z/D gives D. Table C.7-8
    // (General Equipment): Institution Name (0008,0080) and Station Name
    // (0008,1010) type 3: X/Z/D gives X.
    const got = outcome(join(PYDICOM, 'waveform_ecg.dcm'), [
      '00400555',
      '0008002A',
      '00080080',
      '00081010',
    ]);
    assert.deepEqual(got['00400555'], NO_ITEMS);
    assert.ok(dummy(got['0008002A']), JSON.stringify(got['0008002A']));
    assert.deepEqual(got['00080080'], ABSENT);
    assert.deepEqual(got['00081010'], ABSENT);
  });

  it('removes type 3 and empties type 2 values of a CT image', () => {
    // Table C.7-8 (General Equipment): Institution Name, Station Name
    // type 3 (X/Z/D: X). Table C.7-5a (General Series): Series Date
    // (0008,0021) type 3 (X/D: X). Table C.7-9 (General Image):
    // Acquisition Date (0008,0022) type 3 (X/Z: X), Content Date (0008,0023)
    // type 2C (Z/D: Z). Table C.7-12 (Contrast/Bolus): Contrast/Bolus
    // Agent (0018,0010) type 2 (Z/D: Z).
    const got = outcome(join(PYDICOM, 'CT_small.dcm'), [
      '00080080',
      '00081010',
      '00080021',
      '00080022',
      '00080023',
      '00180010',
    ]);
    assert.deepEqual(got, {
      '00080080': ABSENT,
      '00081010': ABSENT,
      '00080021': ABSENT,
      '00080022': ABSENT,
      '00080023': EMPTY,
      '00180010': EMPTY,
    });
  });

  it('falls back to the VR rule for a SOP class the table does not know', () => {
    // Legacy Converted Enhanced CT (1.2.840.10008.5.1.4.1.1.2.2) is not in
    // GDCM's 2008 PS3.3: X/Z/D and X/D give D (a dummy), X/Z gives Z,
    // Z/D gives D, whatever the type.
    const input = variant(
      'CT_small.dcm',
      "ds.SOPClassUID = '1.2.840.10008.5.1.4.1.1.2.2'\nds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID",
    );
    const got = outcome(input, [
      '00080080',
      '00080021',
      '00080022',
      '00180010',
    ]);
    assert.ok(dummy(got['00080080']), JSON.stringify(got['00080080']));
    assert.ok(dummy(got['00080021']), JSON.stringify(got['00080021']));
    assert.deepEqual(got['00080022'], EMPTY);
    assert.ok(dummy(got['00180010']), JSON.stringify(got['00180010']));
  });

  it('falls back to the VR rule inside a sequence', () => {
    // Contributing Equipment Sequence (0018,A001) is not in Table E.1-1,
    // so its item is walked; the Institution Name inside it belongs to the
    // item's description (Table C.12-1, where it is type 3 too), not to
    // the IOD's top level: the VR rule gives D, while the top-level one
    // of the same CT is removed.
    const input = variant(
      'CT_small.dcm',
      "item = Dataset()\nitem.Manufacturer = 'ACME'\nitem.InstitutionName = 'NESTED HOSPITAL'\nds.ContributingEquipmentSequence = [item]",
    );
    const got = outcome(input, ['00080080', '0018A001.00080080']);
    assert.deepEqual(got['00080080'], ABSENT);
    const nested = got['0018A001.00080080'];
    assert.ok(dummy(nested), JSON.stringify(nested));
    assert.notEqual((nested as { value: string }).value, 'NESTED HOSPITAL');
  });

  it('resolves each combined code by type as PS3.15 E.1.1 words it', () => {
    // "X/Z: X unless Z is required (type 3 versus type 2)", "X/D: X
    // unless D is required (type 3 versus type 1)", "X/Z/D: X unless Z or
    // D is required (type 3 versus 2 versus 1)", "Z/D: Z unless D is
    // required (type 2 versus type 1)". Columns: 1, 1C, 2, 2C, 3.
    const expected: Record<string, string[]> = {
      'X/Z': ['Z', 'Z', 'Z', 'Z', 'X'],
      'X/D': ['D', 'D', 'D', 'D', 'X'],
      'X/Z/D': ['D', 'D', 'Z', 'Z', 'X'],
      'Z/D': ['D', 'D', 'Z', 'Z', 'Z'],
    };
    const types = ['1', '1C', '2', '2C', '3'] as const;
    for (const [code, want] of Object.entries(expected))
      for (const vr of ['LO', 'SQ'])
        assert.deepEqual(
          types.map((t) => resolve(code as 'X/Z', vr, t)),
          want,
          `${code} ${vr}`,
        );
  });
});
