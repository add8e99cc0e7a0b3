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
  parseOptions,
} from '../index';
import type { BlankingRule } from '../index';
import { dumpFixture } from './dumpFixture';

const dir = mkdtempSync(join(tmpdir(), 'lpacs-blanking-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const RULE: BlankingRule = {
  manufacturer: 'acme imaging', // case and padding do not matter
  model: 'Sono 7',
  rectangles: [
    { x: 0, y: 0, width: 64, height: 6 }, // the banner across the top
    { x: 50, y: 40, width: 30, height: 30 }, // runs off the corner: clipped
  ],
};
const keys = new SiteKeys(Buffer.alloc(32, 4));
const deid = new Deidentifier(keys, { ...RESEARCH_DEFAULT, blanking: [RULE] });
const plain = new Deidentifier(keys, RESEARCH_DEFAULT);

/** A 24-bit BMP whose every sample is 1 or more, so zeros show blanking. */
function bmp(path: string, width: number, height: number): void {
  const row = Math.ceil((width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * height);
  b.write('BM');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const at = 54 + (height - 1 - y) * row + x * 3;
      b[at] = 1 + ((x + y) % 250);
      b[at + 1] = 1 + ((y * 5) % 250);
      b[at + 2] = 1 + ((x * 3) % 250);
    }
  writeFileSync(path, b);
}

/** An Ultrasound Image made by dcmtk: img2dcm from a BMP, then dcmodify. */
function ultrasound(): string {
  const image = join(dir, 'us.bmp');
  const path = join(dir, 'us.dcm');
  bmp(image, 64, 48);
  execFileSync('img2dcm', [
    ...['-i', 'BMP', image, path],
    ...['-k', 'Manufacturer=ACME Imaging '],
    ...['-k', 'ManufacturerModelName=Sono 7'],
    ...['-k', 'PatientName=DOE^JANE', '-k', 'PatientID=PID123'],
  ]);
  execFileSync('dcmodify', [
    ...['-nb', '-m', '(0008,0016)=1.2.840.10008.5.1.4.1.1.6.1'],
    ...['-i', '(0008,0060)=US', path],
  ]);
  return path;
}

const PYTHON_CHECK = `
import json, sys
import numpy as np
import pydicom
original, output, rects = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
a = pydicom.dcmread(original).pixel_array
d = pydicom.dcmread(output)
b = d.pixel_array
rows, cols = int(d.Rows), int(d.Columns)
a = a.reshape((-1, rows, cols, int(d.SamplesPerPixel)))
b = b.reshape(a.shape)
mask = np.zeros((rows, cols), dtype=bool)
for r in rects:
    mask[r['y']:r['y'] + r['height'], r['x']:r['x'] + r['width']] = True
print(json.dumps({
    'frames': int(a.shape[0]),
    'inside': int(mask.sum()),
    'insideMax': int(b[:, mask].max()),
    'originalInsideMin': int(a[:, mask].min()),
    'outsideEqual': bool(np.array_equal(a[:, ~mask], b[:, ~mask])),
    'burnedIn': str(d.get('BurnedInAnnotation', '')),
    'syntax': str(d.file_meta.TransferSyntaxUID),
    'photometric': str(d.PhotometricInterpretation),
    'lossy': str(d.get('LossyImageCompression', '')),
    'codes': [str(i.CodeValue) for i in d.DeidentificationMethodCodeSequence],
}))
`;

interface Check {
  frames: number;
  inside: number;
  insideMax: number;
  originalInsideMin: number;
  outsideEqual: boolean;
  burnedIn: string;
  syntax: string;
  photometric: string;
  lossy: string;
  codes: string[];
}

/** pydicom and numpy, reading both files on their own, compare pixels. */
function check(original: string, output: string): Check {
  return JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      ['-c', PYTHON_CHECK, original, output, JSON.stringify(RULE.rectangles)],
      { encoding: 'utf8' },
    ),
  ) as Check;
}

async function blank(input: string, name: string) {
  const file = await deid.prepare(parseDicom(readFileSync(input)));
  const outcome = deid.deidentify(file);
  const path = join(dir, `${name}.out.dcm`);
  writeFileSync(path, outcome.bytes);
  return { path, outcome };
}

describe('blanking rectangles of burned-in text', () => {
  const us = ultrasound();

  it('refuses the ultrasound without a rule, as before', () => {
    assert.throws(() => plain.deidentify(parseDicom(readFileSync(us))), {
      code: 'BURNED_IN_ANNOTATION',
    });
  });

  it('zeroes the rectangles in native pixels, keeps every other sample, and says NO', async () => {
    const { path, outcome } = await blank(us, 'native');
    const c = check(us, path);
    // 64x6 banner plus the clipped 14x8 corner: 384 + 112 pixels.
    assert.equal(c.inside, 64 * 6 + 14 * 8);
    assert.ok(c.originalInsideMin > 0);
    assert.equal(c.insideMax, 0);
    assert.equal(c.outsideEqual, true);
    assert.equal(c.burnedIn, 'NO');
    assert.equal(c.syntax, '1.2.840.10008.1.2.1');
    assert.ok(c.codes.includes('113101'), 'Clean Pixel Data Option code');
    assert.equal(outcome.actions.blanked, 2);
    assert.ok(outcome.notices?.some((n) => /blanked: 2 rectangle/.test(n)));
  });

  for (const [name, tool, syntax] of [
    ['RLE Lossless', 'dcmcrle', '1.2.840.10008.1.2.5'],
    ['JPEG Lossless', 'dcmcjpeg', '1.2.840.10008.1.2.4.70'],
  ] as const) {
    it(`decodes ${name} pixels, blanks them and writes Explicit VR Little Endian`, async () => {
      const compressed = join(dir, `${tool}.dcm`);
      execFileSync(tool, [us, compressed]);
      assert.equal(
        parseDicom(readFileSync(compressed)).transferSyntaxUID,
        syntax,
      );
      const { path, outcome } = await blank(compressed, tool);
      const c = check(us, path); // lossless: compared with the original
      assert.equal(c.syntax, '1.2.840.10008.1.2.1');
      assert.equal(c.photometric, 'RGB');
      assert.equal(c.insideMax, 0);
      assert.equal(c.outsideEqual, true);
      assert.equal(c.burnedIn, 'NO');
      assert.ok(outcome.notices?.some((n) => n.includes(syntax)));
    });
  }

  it('decodes lossy JPEG Baseline to RGB, blanks it and marks it LossyImageCompression 01', async () => {
    const lossy = join(dir, 'baseline.dcm');
    execFileSync('dcmcjpeg', ['+eb', us, lossy]);
    // dcmcjpeg says 01 itself; removed, so lpacs must say it.
    execFileSync('dcmodify', ['-nb', '-e', '(0028,2110)', lossy]);
    const decoded = join(dir, 'baseline-dcmdjpeg.dcm');
    execFileSync('dcmdjpeg', [lossy, decoded]); // libjpeg's decoding, to YCbCr -> RGB
    const { path } = await blank(lossy, 'baseline');
    const c = check(decoded, path);
    assert.equal(c.photometric, 'RGB');
    assert.equal(c.lossy, '01');
    assert.equal(c.insideMax, 0);
    assert.equal(c.outsideEqual, true);
  });

  it('blanks every frame and every plane of planar multi-frame pixels', async () => {
    const raw = join(dir, 'mf.raw');
    const [rows, cols, frames] = [20, 30, 3];
    const pixels = Buffer.alloc(rows * cols * 3 * frames);
    for (let i = 0; i < pixels.length; i++) pixels[i] = 1 + ((i * 7) % 250);
    writeFileSync(raw, pixels);
    const multi = dumpFixture(dir, 'mf', [
      '(0002,0002) UI =UltrasoundMultiframeImageStorage',
      '(0002,0003) UI [1.2.3.4.7.1]',
      '(0008,0016) UI =UltrasoundMultiframeImageStorage',
      '(0008,0018) UI [1.2.3.4.7.1]',
      '(0008,0060) CS [US]',
      '(0008,0070) LO [ACME Imaging]',
      '(0008,1090) LO [Sono 7]',
      '(0010,0020) LO [PID123]',
      '(0020,000d) UI [1.2.3.4.7.2]',
      '(0020,000e) UI [1.2.3.4.7.3]',
      '(0028,0002) US 3',
      '(0028,0004) CS [RGB]',
      '(0028,0006) US 1',
      `(0028,0008) IS [${frames}]`,
      `(0028,0010) US ${rows}`,
      `(0028,0011) US ${cols}`,
      '(0028,0100) US 8',
      '(0028,0101) US 8',
      '(0028,0102) US 7',
      '(0028,0103) US 0',
      '(0028,0301) CS [YES]',
      `(7fe0,0010) OB =${raw}`,
    ]);
    const { path, outcome } = await blank(multi, 'mf');
    const c = check(multi, path);
    assert.equal(c.frames, 3);
    // 30x6 of the banner; the corner rectangle starts past column 30.
    assert.equal(c.inside, 30 * 6);
    assert.equal(c.insideMax, 0);
    assert.equal(c.outsideEqual, true);
    assert.equal(c.burnedIn, 'NO');
    assert.equal(outcome.actions.blanked, 3); // the banner in 3 frames
  });

  it('refuses, with the reason, pixels it cannot blank', () => {
    const short = dumpFixture(dir, 'short', [
      '(0002,0002) UI =UltrasoundImageStorage',
      '(0002,0003) UI [1.2.3.4.6.1]',
      '(0008,0016) UI =UltrasoundImageStorage',
      '(0008,0018) UI [1.2.3.4.6.1]',
      '(0008,0070) LO [ACME Imaging]',
      '(0008,1090) LO [Sono 7]',
      '(0020,000d) UI [1.2.3.4.6.2]',
      '(0020,000e) UI [1.2.3.4.6.3]',
      '(0028,0002) US 1',
      '(0028,0004) CS [MONOCHROME2]',
      '(0028,0010) US 48',
      '(0028,0011) US 64',
      '(0028,0100) US 8',
      '(7fe0,0010) OB 01\\02\\03\\04',
    ]);
    assert.throws(
      () => deid.deidentify(parseDicom(readFileSync(short))),
      (err: unknown) =>
        err instanceof DeidError &&
        /blanking rule matches but Pixel Data holds 4 bytes/.test(err.message),
    );
  });

  it('blanks a secondary capture of the ruled device, with or without accepting unmarked ones', () => {
    // img2dcm writes Secondary Capture Image Storage by default, without
    // BurnedInAnnotation; the device is set as for the ultrasound.
    const image = join(dir, 'sc.bmp');
    const sc = join(dir, 'sc.dcm');
    bmp(image, 64, 48);
    execFileSync('img2dcm', [
      ...['-i', 'BMP', image, sc],
      ...[
        '-k',
        'Manufacturer=ACME Imaging',
        '-k',
        'ManufacturerModelName=Sono 7',
      ],
    ]);
    const dumped = execFileSync('dcmdump', ['-q', sc], { encoding: 'latin1' });
    assert.match(dumped, /\(0008,0016\) UI =SecondaryCaptureImageStorage/);
    assert.doesNotMatch(dumped, /\(0028,0301\)/);
    assert.throws(() => plain.deidentify(parseDicom(readFileSync(sc))), {
      code: 'BURNED_IN_ANNOTATION',
    });
    const accepting = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      blanking: [RULE],
      acceptUnmarked: ['secondary-capture'],
    });
    for (const [name, by] of [
      ['sc-rule', deid],
      ['sc-rule-accepting', accepting],
    ] as const) {
      // Native pixels: nothing for prepare() to decode.
      const outcome = by.deidentify(parseDicom(readFileSync(sc)));
      const path = join(dir, `${name}.out.dcm`);
      writeFileSync(path, outcome.bytes);
      const c = check(sc, path);
      assert.equal(c.inside, 64 * 6 + 14 * 8, name);
      assert.ok(c.originalInsideMin > 0, name);
      assert.equal(c.insideMax, 0, name);
      assert.equal(c.outsideEqual, true, name);
      assert.equal(c.burnedIn, 'NO', name);
      assert.ok(c.codes.includes('113101'), name);
      assert.equal(outcome.actions.blanked, 2, name);
      assert.equal(outcome.actions.acceptedUnmarked, undefined, name);
      assert.ok(
        !outcome.notices?.some((n) => /secondary capture/.test(n)),
        name,
      );
    }
  });

  it('applies no rule to another model', () => {
    const other = new Deidentifier(keys, {
      ...RESEARCH_DEFAULT,
      blanking: [{ ...RULE, model: 'Sono 8' }],
    });
    assert.throws(() => other.deidentify(parseDicom(readFileSync(us))), {
      code: 'BURNED_IN_ANNOTATION',
    });
  });

  it('reads rules from lake.json and names a bad one', () => {
    const options = parseOptions({
      blanking: [
        {
          manufacturer: 'ACME',
          model: 'Sono 7',
          rows: 48,
          rectangles: [{ x: 0, y: 0, width: 10, height: 5 }],
        },
      ],
    });
    assert.equal(options.blanking[0]?.rows, 48);
    assert.throws(
      () =>
        parseOptions({
          blanking: [
            {
              manufacturer: 'ACME',
              model: 'Sono 7',
              rectangles: [{ x: 0, y: 0, width: 0, height: 5 }],
            },
          ],
        }),
      /blanking\[0\]\.rectangles\[0\]\.width must be an integer of at least 1, got 0/,
    );
  });
});
