import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import {
  ActionTable,
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
  verifyDeidentified,
} from '../index';
import { CT_FILE } from './fixtures';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-unlisted-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 7));
const deid = new Deidentifier(keys);

let n = 0;
function file(bytes?: Buffer): string {
  const path = join(dir, `${n++}.dcm`);
  if (bytes) writeFileSync(path, bytes);
  else copyFileSync(CT_FILE, path);
  return path;
}

/** dcmodify's edits on a copy of the CT (or of the bytes given). */
function modified(args: string[], bytes?: Buffer): Buffer {
  const path = file(bytes);
  execFileSync('dcmodify', ['-nb', ...args, path], { stdio: 'ignore' });
  return readFileSync(path);
}

/** Runs a pydicom script on a file: `path` is bound, what it prints returned. */
function pydicom(path: string, script: string): string {
  return execFileSync(
    PYTHON,
    ['-c', `import pydicom, sys\npath = sys.argv[1]\n${script}`, path],
    { encoding: 'utf8' },
  ).trim();
}

describe('PatientAge over 89 years (HIPAA 164.514(b)(2)(i)(C))', () => {
  it('writes 090Y in the object for an age over 89, counts it, and keeps younger ages in AS form', () => {
    // [as written, as kept]: AS is nnnD/W/M/Y (PS3.5 6.2).
    for (const [value, kept] of [
      ['095Y', '090Y'],
      ['090Y', '090Y'], // already what it would become: kept, not counted
      ['089Y', '089Y'],
      ['1100M', '090Y'], // not a valid AS, as devices write: 91 years
      ['1079M', '089Y'], // 89 years and 11 months: whole years in AS form
      ['5000W', '090Y'], // 95 years
      ['100', '090Y'], // no unit: read as years
      ['45Y', '045Y'], // three digits, as AS writes them
    ] as const) {
      const over = kept === '090Y' && value !== '090Y';
      const bytes = modified(['-m', `(0010,1010)=${value}`]);
      const out = deid.deidentify(parseDicom(bytes));
      const age = pydicom(
        file(out.bytes),
        'print(pydicom.dcmread(path).PatientAge)',
      );
      assert.equal(age, kept, value);
      assert.equal(out.actions.ageCapped, over ? 1 : undefined, value);
      assert.equal(verifyDeidentified(parseDicom(out.bytes)), undefined, value);
    }
  });

  it('caps the index age at 90 from the birth date when PatientAge is absent', () => {
    // The study date as dcmdump reads it; a birth date 95 years before.
    const study = /\[(\d{8})\]/.exec(
      execFileSync('dcmdump', ['-q', '+P', '0008,0020', CT_FILE], {
        encoding: 'latin1',
      }),
    )![1]!;
    const birth = `${Number(study.slice(0, 4)) - 95}${study.slice(4)}`;
    const bytes = modified(['-e', '(0010,1010)', '-m', `(0010,0030)=${birth}`]);
    const out = deid.deidentify(parseDicom(bytes));
    assert.equal(out.ageYears, 90);
    const young = modified([
      '-e',
      '(0010,1010)',
      '-m',
      `(0010,0030)=${Number(study.slice(0, 4)) - 40}${study.slice(4)}`,
    ]);
    assert.equal(deid.deidentify(parseDicom(young)).ageYears, 40);
  });

  it('removes PatientAge without Retain Patient Characteristics, as the table says', () => {
    const bytes = modified(['-m', '(0010,1010)=095Y']);
    const out = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      retainPatientCharacteristics: false,
    }).deidentify(parseDicom(bytes));
    assert.equal(
      pydicom(file(out.bytes), "print('PatientAge' in pydicom.dcmread(path))"),
      'False',
    );
  });

  it('sync refuses an object that says it is de-identified and carries an age over 89', () => {
    const out = deid.deidentify(parseDicom(readFileSync(CT_FILE)));
    assert.equal(verifyDeidentified(parseDicom(out.bytes)), undefined);
    const aged = modified(['-m', '(0010,1010)=095Y'], out.bytes);
    assert.match(
      verifyDeidentified(parseDicom(aged)) ?? 'accepted',
      /\(0010,1010\) PatientAge is an age over 89/,
    );
  });
});

/**
 * The CT with person names in PN attributes Table E.1-1 does not list
 * (checked: the test asserts the table's action for them is `keep`) and
 * public elements PS3.6 does not define, at the top level and inside an
 * item of Anatomic Region Sequence (0008,2218), which the table keeps.
 * Written by pydicom with explicit VRs.
 */
function plantUnlisted(): string {
  const path = file();
  execFileSync(
    PYTHON,
    [
      '-c',
      `
import sys, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
ds = pydicom.dcmread(sys.argv[1])
ds.add_new(0x00142006, 'PN', 'ZZEVAL^PLANTED')        # EvaluatorName
ds.add_new(0x00140104, 'PN', 'ZZREVIEW^PLANTED')      # SecondaryReviewerName
ds.add_new(0x0040A067, 'PN', 'ZZAUTHOR^PLANTED')      # DocumentAuthorTrial (retired)
ds.add_new(0x00089999, 'LO', 'ZZUNKNOWN PLANTED')     # not in PS3.6
ds.add_new(0x00089997, 'PN', 'ZZUNKPN^PLANTED')       # not in PS3.6, a name
ds.add_new(0x00771010, 'LO', 'odd group: private')    # a private element, for contrast
item = Dataset()
item.CodeValue = 'T-D4000'
item.CodingSchemeDesignator = 'SRT'
item.CodeMeaning = 'Abdomen'
item.add_new(0x00142006, 'PN', 'ZZNESTED^PLANTED')
item.add_new(0x0019FFF0, 'LO', 'odd')                 # private, no creator
item.add_new(0x00209999, 'SH', 'ZZNESTEDUNK')         # not in PS3.6
ds.AnatomicRegionSequence = Sequence([item])
ds.save_as(sys.argv[1])
`,
      path,
    ],
    { stdio: 'inherit' },
  );
  return path;
}

describe('elements Table E.1-1 does not list', () => {
  it('empties every person name and removes every public element PS3.6 does not define, at any depth, and counts them', () => {
    const source = plantUnlisted();
    // pydicom's dictionary (not lpacs's) says which planted tags are
    // unknown and which are person names; Table E.1-1 (lpacs's generated
    // copy, itself from the standard) lists none of them.
    const known = pydicom(
      source,
      `from pydicom.datadict import dictionary_has_tag, dictionary_VR
for t in (0x00142006, 0x00140104, 0x0040A067, 0x00089999, 0x00209999, 0x00089997):
    print(hex(t), dictionary_has_tag(t) and dictionary_VR(t))`,
    );
    assert.equal(
      known,
      [
        '0x142006 PN',
        '0x140104 PN',
        '0x40a067 PN',
        '0x89999 False',
        '0x209999 False',
        '0x89997 False',
      ].join('\n'),
    );
    const table = new ActionTable(RESEARCH_DEFAULT);
    for (const tag of [
      0x00142006, 0x00140104, 0x0040a067, 0x00089999, 0x00209999, 0x00089997,
    ])
      assert.equal(table.actionFor(tag), 'keep', tag.toString(16));
    const out = deid.deidentify(parseDicom(readFileSync(source)));
    const written = file(out.bytes);
    // Read back by pydicom: every element at every depth that pydicom's
    // dictionary does not know (private ones aside) and every person name
    // other than the pseudonymous PatientName and the D action's dummy.
    const found = pydicom(
      written,
      `from pydicom.datadict import dictionary_has_tag
ds = pydicom.dcmread(path)
seen = []
def walk(d):
    for el in d:
        if el.VR == 'SQ':
            for i in el.value: walk(i)
            continue
        if not el.tag.is_private and el.tag.element != 0 and not dictionary_has_tag(el.tag):
            seen.append('unknown %s' % el.tag)
        if el.VR == 'PN' and el.tag != 0x00100010 and str(el.value or '') not in ('', 'ANONYMIZED'):
            seen.append('name %s=%s' % (el.tag, el.value))
walk(ds)
print('\\n'.join(seen) or 'none')
print('planted', [ds.get(t) is not None for t in (0x00142006, 0x00140104, 0x0040A067)])`,
    );
    assert.equal(found, 'none\nplanted [True, True, True]');
    assert.equal(out.actions.unlistedName, 4); // 3 at the top, 1 nested
    // 2 at the top (a PN among them: removed, not emptied), 1 nested
    assert.equal(out.actions.unknownElement, 3);
    // No planted value survives anywhere in the bytes.
    assert.ok(
      !/ZZ(EVAL|REVIEW|AUTHOR|UNKNOWN|UNKPN|NESTED)/.test(
        out.bytes.toString('latin1'),
      ),
    );
    assert.equal(verifyDeidentified(parseDicom(out.bytes)), undefined);
  });

  it('sync refuses an object that says it is de-identified and keeps such a name or element', () => {
    const out = deid.deidentify(parseDicom(readFileSync(CT_FILE))).bytes;
    const named = modified(['-i', '(0014,2006)=ZZEVAL^PLANTED'], out);
    assert.match(
      verifyDeidentified(parseDicom(named)) ?? 'accepted',
      /\(0014,2006\) EvaluatorName holds a person name/,
    );
    const path = file(out);
    execFileSync(
      PYTHON,
      [
        '-c',
        `import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
ds.add_new(0x00089999, 'LO', 'ZZUNKNOWN')
ds.save_as(sys.argv[1])`,
        path,
      ],
      { stdio: 'inherit' },
    );
    assert.match(
      verifyDeidentified(parseDicom(readFileSync(path))) ?? 'accepted',
      /\(0008,9999\) is present, and the profile removes it/,
    );
  });
});
