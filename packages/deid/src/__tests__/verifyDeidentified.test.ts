import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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
import type { DeidOptions } from '../index';

// New-user case (session 5): `POST /sync/objects` stored an original CT
// verbatim because dcmodify had added PatientIdentityRemoved YES and a
// DeidentificationMethod to it.

const CACHE = join(__dirname, '..', '..', '..', '..', 'datasets', 'cache');
const CT_FILE = join(CACHE, 'ct-test', 'P0001', 'ST01', 'SE01', 'CT000001.dcm');
const dir = mkdtempSync(join(tmpdir(), 'lpacs-verify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function files(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.dcm') ? [p] : [];
  });
}

/** Where the file meta group ends: its group length (0002,0000) says. */
const metaEnd = (b: Buffer) => 144 + b.readUInt32LE(140);

/**
 * dcmodify -nb with insert/modify edits on a copy of `source`. dcmodify
 * writes its own file meta (DCMTK's implementation UID and name), which
 * sync refuses on its own; `source`'s preamble and meta are put back, so
 * only the edited data set differs (the edits leave the SOP UIDs).
 */
function edited(source: Buffer, edits: string[]): Buffer {
  const path = join(dir, 'edited.dcm');
  writeFileSync(path, source);
  execFileSync('dcmodify', ['-nb', ...edits, path], { stdio: 'ignore' });
  const out = readFileSync(path);
  return Buffer.concat([
    source.subarray(0, metaEnd(source)),
    out.subarray(metaEnd(out)),
  ]);
}

const OPTION_SETS: Array<[string, Partial<DeidOptions>]> = [
  ['the research default', {}],
  [
    'the Basic Profile alone',
    {
      longitudinal: 'off',
      retainPatientCharacteristics: false,
      cleanDescriptors: false,
    },
  ],
  [
    'every retain option',
    {
      longitudinal: 'full',
      retainDeviceIdentity: true,
      retainUIDs: true,
      retainInstitutionIdentity: true,
      retainSafePrivate: true,
      cleanStructuredContent: true,
      cleanGraphics: true,
    },
  ],
];

describe('verifyDeidentified', () => {
  const corpus = [
    ...files(join(CACHE, 'sample')),
    ...files(join(CACHE, 'ct-test')).slice(0, 40),
  ];

  for (const [name, options] of OPTION_SETS) {
    it(`passes every object lpacs de-identified under ${name}, checked under the same options`, () => {
      const lake: DeidOptions = {
        ...RESEARCH_DEFAULT,
        ...options,
        acceptUnmarked: ['secondary-capture'],
      };
      const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 3)), lake);
      let checked = 0;
      for (const path of corpus) {
        let out: Buffer;
        try {
          out = Buffer.from(
            deid.deidentify(parseDicom(readFileSync(path))).bytes,
          );
        } catch (err) {
          if (err instanceof DeidError) continue; // refused, never synced
          throw err;
        }
        assert.equal(
          verifyDeidentified(parseDicom(out), lake),
          undefined,
          path,
        );
        checked++;
      }
      assert.ok(checked >= 30, `only ${checked} objects checked`);
    });
  }

  it('holds a peer to the receiving lake’s options, not only to those it declares', () => {
    // A sender that retains device identity: its object is consistent
    // with what it declares, and this lake (research default) would have
    // replaced the CT's StationName (0008,1010), which dcmdump shows as
    // LMH-CT01 in the original.
    const retaining = new Deidentifier(new SiteKeys(Buffer.alloc(32, 3)), {
      ...RESEARCH_DEFAULT,
      retainDeviceIdentity: true,
    });
    const out = parseDicom(
      Buffer.from(
        retaining.deidentify(parseDicom(readFileSync(CT_FILE))).bytes,
      ),
    );
    assert.equal(verifyDeidentified(out), undefined);
    assert.match(
      verifyDeidentified(out, RESEARCH_DEFAULT) ?? 'accepted',
      /^\(0008,1010\) StationName holds a value, and the profile replaces it under this lake's options$/,
    );
  });

  it('removes an overlay element inside an item, and refuses one put back there', () => {
    // dcmodify plants Overlay Description (6000,0022) in an item of
    // Referenced Image Sequence (0008,1140); dcmdump reads the result.
    const planted = join(dir, 'nested-overlay.dcm');
    writeFileSync(
      planted,
      edited(readFileSync(CT_FILE), [
        '-i',
        '(0008,1140)[0].(6000,0022)=PLNT nested overlay',
      ]),
    );
    const dump = (p: string) =>
      execFileSync('dcmdump', ['-q', p], { encoding: 'latin1' });
    assert.match(dump(planted), /\(6000,0022\) LO \[PLNT nested overlay\]/);
    const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 3)));
    const out = join(dir, 'nested-overlay-out.dcm');
    const bytes = Buffer.from(
      deid.deidentify(parseDicom(readFileSync(planted))).bytes,
    );
    writeFileSync(out, bytes);
    assert.doesNotMatch(dump(out), /6000,0022|PLNT/);
    assert.equal(verifyDeidentified(parseDicom(bytes)), undefined);
    assert.equal(
      verifyDeidentified(
        parseDicom(
          edited(bytes, ['-i', '(0008,1140)[0].(6000,0022)=PLNT put back']),
        ),
      ),
      '(6000,0022) OverlayDescription is an overlay or curve element, and lpacs removes those groups whole',
    );
  });

  it('removes the even groups 20-FE of 50xx and 60xx too, outside PS3.5 7.6, and refuses them put back', () => {
    // Re-trial: (6020,0022) was read as OverlayDescription by the
    // dictionary, which matched every 60xx, but was no overlay to the
    // de-identifier (00-1E only), so it was kept. dcmodify plants each;
    // dcmdump (dcmtk's own dictionary) reads the result.
    const plants = [
      '(6020,0022)',
      '(60FE,0022)',
      '(60FE,1500)',
      '(5020,0022)',
      '(50FE,2500)',
      '(0008,1140)[0].(6020,0022)',
      '(0008,1140)[0].(50FE,0022)',
    ];
    const planted = edited(
      readFileSync(CT_FILE),
      plants.flatMap((t, i) => ['-i', `${t}=PLNT${i} Roe`]),
    );
    const dump = (b: Buffer) => {
      const p = join(dir, 'groups.dcm');
      writeFileSync(p, b);
      return execFileSync('dcmdump', ['-q', p], { encoding: 'latin1' });
    };
    const before = dump(planted);
    for (const [i, t] of plants.entries())
      assert.ok(
        before.includes(`${t.slice(-11).toLowerCase()} LO [PLNT${i} Roe]`),
        t,
      );
    for (const options of [
      RESEARCH_DEFAULT,
      { ...RESEARCH_DEFAULT, cleanGraphics: true },
    ]) {
      const bytes = Buffer.from(
        new Deidentifier(new SiteKeys(Buffer.alloc(32, 3)), options).deidentify(
          parseDicom(planted),
        ).bytes,
      );
      const after = dump(bytes);
      assert.doesNotMatch(after, /^\s*\((50|60)[0-9a-f]{2},/m);
      assert.doesNotMatch(after, /PLNT/);
      assert.ok(!bytes.toString('latin1').includes('PLNT'));
      assert.equal(verifyDeidentified(parseDicom(bytes), options), undefined);
      for (const t of plants) {
        const back = edited(bytes, ['-i', `${t}=PLNT put back`]);
        assert.equal(
          verifyDeidentified(parseDicom(back), options),
          `${t.slice(-11).toUpperCase()} is an overlay or curve element, and lpacs removes those groups whole`,
          t,
        );
      }
    }
  });

  it('refuses a group length (gggg,0000) put back at the top level, whatever its VR', () => {
    // Re-trial: the check skipped every (gggg,0000), so text planted as a
    // group length was stored by the sync receiver. The de-identifier
    // drops them; each is spliced here, in explicit VR little endian,
    // right before the first element of its group.
    const clean = Buffer.from(
      new Deidentifier(new SiteKeys(Buffer.alloc(32, 3))).deidentify(
        parseDicom(readFileSync(CT_FILE)),
      ).bytes,
    );
    const parsed = parseDicom(clean);
    assert.equal(verifyDeidentified(parsed), undefined);
    const head = clean.length - parsed.body.buffer.length;
    const element = (tag: number, vr: string, value: Buffer) => {
      const b = Buffer.alloc(8);
      b.writeUInt16LE(tag >>> 16, 0);
      b.writeUInt16LE(tag & 0xffff, 2);
      b.write(vr, 4, 'latin1');
      b.writeUInt16LE(value.length, 6);
      return Buffer.concat([b, value]);
    };
    const cases: Array<[number, string, Buffer]> = [
      [0x00100000, 'UL', Buffer.from([4, 0, 0, 0])],
      [0x00100000, 'LO', Buffer.from('PLNT Roe^Jane ')],
      [0x00080000, 'LT', Buffer.from('PLNT 1 Main St')],
      [0x00200000, 'UL', Buffer.from([0, 0, 0, 0])],
    ];
    for (const [tag, vr, value] of cases) {
      const first = parsed.body.elements.find(
        (e) => e.tag >>> 16 === tag >>> 16,
      );
      assert.ok(first, `the object has group ${(tag >>> 16).toString(16)}`);
      const at = head + first.start;
      const planted = Buffer.concat([
        clean.subarray(0, at),
        element(tag, vr, value),
        clean.subarray(at),
      ]);
      const group = (tag >>> 16).toString(16).toUpperCase().padStart(4, '0');
      assert.equal(
        verifyDeidentified(parseDicom(planted)),
        `(${group},0000) is a group length, which lpacs does not write in the data set`,
        `${group} ${vr}`,
      );
    }
  });

  it('refuses an original that only carries the two attributes', () => {
    const original = edited(readFileSync(CT_FILE), [
      '-i',
      '(0012,0062)=YES',
      '-i',
      '(0012,0063)=manual',
    ]);
    assert.match(
      verifyDeidentified(parseDicom(original)) ?? '',
      /DeidentificationMethodCodeSequence \(0012,0064\) does not name the Basic/,
    );
  });

  it('refuses one that also names the profile but keeps the PatientID', () => {
    const original = edited(readFileSync(CT_FILE), [
      '-i',
      '(0012,0062)=YES',
      '-i',
      '(0012,0063)=manual',
      '-i',
      '(0012,0064)[0].(0008,0100)=113100',
    ]);
    assert.match(
      verifyDeidentified(parseDicom(original)) ?? '',
      /PatientID \(0010,0020\) is not an lpacs pseudonym/,
    );
  });

  it('names an attribute the profile removes when it is put back', () => {
    const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 3)));
    const clean = Buffer.from(
      deid.deidentify(parseDicom(readFileSync(CT_FILE))).bytes,
    );
    assert.equal(verifyDeidentified(parseDicom(clean)), undefined);
    // OtherPatientIDs (0010,1000): X in Table E.1-1.
    const planted = edited(clean, ['-i', '(0010,1000)=MRN-0001']);
    assert.equal(
      verifyDeidentified(parseDicom(planted)),
      '(0010,1000) OtherPatientIDs is present, and the profile removes it',
    );
    // OperatorsName (0008,1070): its dummy, not a name.
    const named = edited(clean, ['-i', '(0008,1070)=Doe^Jane']);
    assert.match(verifyDeidentified(parseDicom(named)) ?? '', /^\(0008,1070\)/);
    // Values the profile empties or replaces, put back (re-trial: these
    // were stored): AccessionNumber, DeviceSerialNumber, StationName,
    // PatientBirthDate, InstitutionName, StudyID.
    for (const [tag, value, keyword] of [
      ['(0008,0050)', 'ACC-778812', 'AccessionNumber'],
      ['(0018,1000)', 'SN-44871', 'DeviceSerialNumber'],
      ['(0008,1010)', 'CT-ROOM-3', 'StationName'],
      ['(0010,0030)', '19610402', 'PatientBirthDate'],
      ['(0008,0080)', 'Mercy Valley Hospital', 'InstitutionName'],
      ['(0020,0010)', 'S-2231', 'StudyID'],
    ] as const) {
      const back = edited(clean, ['-i', `${tag}=${value}`]);
      assert.equal(
        verifyDeidentified(parseDicom(back)),
        `${tag} ${keyword} holds a value, and the profile replaces it`,
        tag,
      );
    }
    // Free text (trial 7): lpacs empties comments and histories, and
    // keeps descriptors only with no long number or date left in them.
    for (const [tag, value, keyword] of [
      ['(0010,4000)', 'MRN6368006 called', 'PatientComments'],
      ['(0020,4000)', 'see chart', 'ImageComments'],
      ['(0008,1030)', 'CT CHEST MRN6368006', 'StudyDescription'],
      ['(0018,1030)', 'CHEST 1961-04-02', 'ProtocolName'],
    ] as const) {
      const back = edited(clean, ['-i', `${tag}=${value}`]);
      assert.equal(
        verifyDeidentified(parseDicom(back)),
        `${tag} ${keyword} holds text the profile cleans or empties`,
        tag,
      );
    }
    assert.equal(
      verifyDeidentified(
        parseDicom(edited(clean, ['-i', '(0008,1030)=CT CHEST W/O CONTRAST'])),
      ),
      undefined,
      'clinical wording stays acceptable',
    );
    // StudyInstanceUID (0020,000D) in the original's form.
    const uid = edited(clean, ['-m', '(0020,000D)=1.2.840.99999.1.2.3']);
    assert.equal(
      verifyDeidentified(parseDicom(uid)),
      '(0020,000D) StudyInstanceUID holds a UID the profile would have replaced',
    );
  });
});
