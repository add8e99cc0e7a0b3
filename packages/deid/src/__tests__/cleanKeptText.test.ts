import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDicom, readStrings } from '@lpacs/dicom';
import type { DataSet, DicomElement } from '@lpacs/dicom';
import { Deidentifier } from '../Deidentifier';
import { SiteKeys } from '../SiteKeys';
import { RESEARCH_DEFAULT } from '../options';
import type { DeidOptions } from '../options';
import { verifyDeidentified } from '../verifyDeidentified';
import { CT_TEST } from './fixtures';

// Privacy trial: text attributes Table E.1-1 does not list (or keeps)
// repeated the object's own patient name and ID verbatim. Planted with
// dcmodify into a CT of the generated corpus: the patient QQVORTAN^XIA,
// ID QQMRN5521, and a station QQSTATION1 (a device identifier).

const CT = join(CT_TEST, ...['P0002', 'ST02', 'SE02', 'CT000001.dcm']);
const dir = mkdtempSync(join(tmpdir(), 'lpacs-kept-text-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const IDENTITY: Array<[string, string]> = [
  ['(0010,0010)', 'QQVORTAN^XIA'],
  ['(0010,0020)', 'QQMRN5521'],
  ['(0008,1010)', 'QQSTATION1'], // StationName
];

/** Kept text: where, as planted with identifiers, and as planted without. */
const KEPT: Array<[path: string, planted: string, plain: string]> = [
  // ProcedureCodeSequence (0008,1032): not in Table E.1-1.
  ['(0008,1032)[0].(0008,0100)', 'QQMRN5521', 'CTCHEST'],
  ['(0008,1032)[0].(0008,0102)', '99LOCAL', '99LOCAL'],
  ['(0008,1032)[0].(0008,0104)', 'CT chest QQVORTAN QQMRN5521', 'CT chest'],
  // Two levels deep: Request Attributes Sequence, kept under the option.
  ['(0040,0275)[0].(0032,1064)[0].(0008,0104)', 'Chest QQVORTAN', 'Chest'],
  ['(0028,1055)', 'QQVORTAN WINDOW', 'WINDOW'], // WindowCenterWidthExplanation
  ['(0070,0080)', 'QQVORTAN', 'LABEL'], // ContentLabel, CS
  ['(0008,1090)', 'SOMATOM QQVORTAN', 'SOMATOM'], // ManufacturerModelName
  ['(0018,1020)', 'VA40A\\QQMRN5521', 'VA40A\\2012B'], // SoftwareVersions
  ['(0018,1210)', 'QQSTATION1 B30f', 'B30f'], // ConvolutionKernel
];

function plant(name: string, kept: 'planted' | 'plain'): Buffer {
  const file = join(dir, name);
  copyFileSync(CT, file);
  const values = KEPT.map(([path, planted, plain]) => [
    path,
    kept === 'planted' ? planted : plain,
  ]);
  execFileSync('dcmodify', [
    '-nb',
    '-q',
    ...[...IDENTITY, ...values].flatMap(([p, v]) => ['-i', `${p}=${v}`]),
    file,
  ]);
  return readFileSync(file);
}

/** The values at a dcmodify path ("(gggg,eeee)[i].(gggg,eeee)"). */
function at(
  ds: { buffer: Buffer; elements: readonly DicomElement[] },
  path: string,
): string[] | undefined {
  let elements = ds.elements;
  const steps = path.split('.');
  for (const [i, step] of steps.entries()) {
    const m = /^\(([0-9a-f]{4}),([0-9a-f]{4})\)(?:\[(\d+)\])?$/i.exec(step)!;
    const tag = parseInt(m[1]! + m[2]!, 16);
    const el = elements.find((e) => e.tag === tag);
    if (!el) return undefined;
    if (i === steps.length - 1)
      return readStrings(ds.buffer, el, ['ISO_IR 100']);
    const item = el.items?.[Number(m[3])];
    if (!item) return undefined;
    elements = item.elements;
  }
  return undefined;
}

function deidentify(
  input: Buffer,
  options: Partial<DeidOptions> = {},
): {
  out: DataSet;
  actions: Record<string, number>;
  file: ReturnType<typeof parseDicom>;
} {
  const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 12)), {
    ...RESEARCH_DEFAULT,
    ...options,
  });
  const outcome = deid.deidentify(parseDicom(input));
  const file = parseDicom(outcome.bytes);
  return { out: file.body, actions: outcome.actions, file };
}

/** Every text value of a data set at every depth. */
function allText(ds: {
  buffer: Buffer;
  elements: readonly DicomElement[];
}): string[] {
  return ds.elements.flatMap((el) =>
    el.items
      ? el.items.flatMap((item) =>
          allText({ buffer: ds.buffer, elements: item.elements }),
        )
      : ['LO', 'SH', 'ST', 'LT', 'UT', 'UC', 'CS'].includes(el.vr)
        ? readStrings(ds.buffer, el)
        : [],
  );
}

describe("Clean Descriptors cleans kept text of the object's own identifiers", () => {
  const planted = plant('planted.dcm', 'planted');
  const plain = plant('plain.dcm', 'plain');

  it('the input carries every planted value', () => {
    const input = parseDicom(planted).body;
    for (const [path, value] of [
      ...IDENTITY,
      ...KEPT.map(([p, v]) => [p, v] as const),
    ])
      assert.deepEqual(at(input, path), value.split('\\'), path);
  });

  it('removes the name and ID at any depth, keeps the clinical words, empties a code that holds one', () => {
    const { out, file } = deidentify(planted);
    const expected: Record<string, string[]> = {
      '(0008,1032)[0].(0008,0100)': [], // a code is emptied, never cut
      '(0008,1032)[0].(0008,0102)': ['99LOCAL'],
      '(0008,1032)[0].(0008,0104)': ['CT chest'],
      '(0040,0275)[0].(0032,1064)[0].(0008,0104)': ['Chest'],
      '(0028,1055)': ['WINDOW'],
      '(0070,0080)': [],
      '(0008,1090)': ['SOMATOM'],
      '(0018,1020)': ['VA40A', ''], // the second value emptied, VM kept
      '(0018,1210)': ['B30f'], // the station, removed by the profile
    };
    for (const [path, values] of Object.entries(expected))
      assert.deepEqual(at(out, path), values, path);
    // XIA is a name part, but AXIAL in the ImageType code stays whole.
    assert.deepEqual(at(out, '(0008,0008)'), ['ORIGINAL', 'PRIMARY', 'AXIAL']);
    for (const value of allText(out))
      for (const id of ['QQVORTAN', 'QQMRN5521', 'QQSTATION1'])
        assert.ok(!value.includes(id), `${id} in "${value}"`);
    assert.equal(verifyDeidentified(file), undefined);
  });

  it('counts each cleaned element as C', () => {
    // The same object with the same elements but no identifier in them:
    // the difference is the elements cleaned, counted by hand in KEPT.
    const changed = KEPT.filter(([, p, q]) => p !== q && p !== '99LOCAL');
    assert.equal(changed.length, 8);
    const withIds = deidentify(planted).actions.C ?? 0;
    const without = deidentify(plain).actions.C ?? 0;
    assert.equal(withIds - without, changed.length);
  });

  it('keeps what Retain Device Identity keeps, and still removes the patient', () => {
    const { out, file } = deidentify(planted, { retainDeviceIdentity: true });
    assert.deepEqual(at(out, '(0008,1010)'), ['QQSTATION1']);
    assert.deepEqual(at(out, '(0018,1210)'), ['QQSTATION1 B30f']);
    assert.deepEqual(at(out, '(0008,1090)'), ['SOMATOM']);
    assert.deepEqual(at(out, '(0070,0080)'), []);
    assert.deepEqual(at(out, '(0008,1032)[0].(0008,0104)'), ['CT chest']);
    assert.equal(verifyDeidentified(file), undefined);
  });

  it('without Clean Descriptors keeps what the table keeps, as it came', () => {
    const { out } = deidentify(planted, { cleanDescriptors: false });
    for (const [path, value] of KEPT)
      if (!path.startsWith('(0040,0275)'))
        // Request Attributes: X without the option
        assert.deepEqual(at(out, path), value.split('\\'), path);
  });

  it('leaves text with no identifier as it came', () => {
    const input = parseDicom(plain).body;
    const { out } = deidentify(plain);
    for (const [path, , value] of KEPT)
      assert.deepEqual(at(out, path), value.split('\\'), path);
    assert.deepEqual(at(out, '(0008,0005)'), at(input, '(0008,0005)'));
  });
});
