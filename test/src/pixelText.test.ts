import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IngestReport } from '@lpacs/ingest';
import {
  CT,
  REPO,
  dciodvfyErrors,
  filesUnder,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';

// Trial (a02): a CT compressed by dcmcjpeg, with a COM and an APP1 segment
// naming the patient inserted in its frame, was ingested with that text,
// served and synced. test/scripts/plant-pixel-text.py compresses a corpus
// CT with dcmtk (JPEG baseline and lossless, JPEG-LS) and GDCM (JPEG 2000),
// plants text segments, some straddling fragment boundaries, and writes
// down which bytes must be blanked; the checks below read the lake with
// pydicom, dcmtk, GDCM and dicom3tools.

const PYTHON = '/usr/bin/python3';
const MARK = 'ZQPXE';
const work = tempDir('pixel-text');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
after(() => work.remove());

interface Expect {
  transferSyntax: string;
  fragments: number[];
  /** [offset in the frames' fragments joined, length, fill byte]. */
  blank: Array<[number, number, number]>;
}
let expect: Record<string, Expect> = {};
let report: IngestReport;
/** The stored object of each planted file, by transfer syntax. */
const stored = new Map<string, string>();

/** Decoders: dcmtk's libjpeg; GDCM's CharLS 2 (dcmdjpls refuses an APP1) and OpenJPEG. */
const DECODER: Record<string, string[]> = {
  '1.2.840.10008.1.2.4.50': ['dcmdjpeg'],
  '1.2.840.10008.1.2.4.70': ['dcmdjpeg'],
  '1.2.840.10008.1.2.4.80': ['gdcmconv', '--raw'],
  '1.2.840.10008.1.2.4.90': ['gdcmconv', '--raw'],
};

/** pydicom's reading of files: each fragment after the Basic Offset Table, in hex. */
function fragmentsOf(files: string[]): Record<string, string[]> {
  return JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import sys, json, struct, pydicom
out = {}
for f in sys.argv[1:]:
    data, at, frags = pydicom.dcmread(f).PixelData, 0, []
    while at + 8 <= len(data):
        group, elem, length = struct.unpack('<HHI', data[at:at + 8])
        if (group, elem) == (0xFFFE, 0xE0DD):
            break
        frags.append(data[at + 8:at + 8 + length].hex())
        at += 8 + length
    out[f] = frags[1:]
print(json.dumps(out))`,
        ...files,
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    ),
  ) as Record<string, string[]>;
}

/** The decoded Pixel Data of a file, as pydicom reads the decoder's output. */
function decoded(file: string, ts: string, name: string): Buffer {
  const out = join(work.path, `decoded-${name}.dcm`);
  execFileSync(DECODER[ts]![0]!, [...DECODER[ts]!.slice(1), file, out]);
  const hex = execFileSync(
    PYTHON,
    [
      '-c',
      'import sys, pydicom\nprint(pydicom.dcmread(sys.argv[1]).PixelData.hex())',
      out,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return Buffer.from(hex.trim(), 'hex');
}

before(async () => {
  execFileSync(PYTHON, [
    join(REPO, 'test', 'scripts', 'plant-pixel-text.py'),
    join(CT, 'P0001', 'ST01', 'SE01', 'CT000001.dcm'),
    input,
    MARK,
  ]);
  expect = JSON.parse(
    readFileSync(join(input, 'expect.json'), 'utf8'),
  ) as Record<string, Expect>;
  const run = await runCli([
    'ingest',
    ...Object.keys(expect).map((n) => join(input, `${n}.dcm`)),
    '--lake',
    lake,
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  report = JSON.parse(run.stdout) as IngestReport;
  for (const row of await parquetRows(
    `SELECT "TransferSyntaxUID" AS ts, object_key FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
  ))
    stored.set(String(row.ts), join(lake, String(row.object_key)));
});

describe('text planted in JPEG-family codestreams, through lpacs ingest', () => {
  it('ingests each file, with a notice that names its segments, and leaves no planted byte in the lake', async () => {
    assert.equal(report.ingested, 4);
    assert.equal(report.quarantined, 0);
    const kinds: Record<string, RegExp> = {
      baseline:
        /^text segments blanked in place in the JPEG pixel data \(same lengths, same pixels\): APP1 segment x1, COM segment x2, bytes after the end of the codestream x1 in frame 1$/,
      lossless: /: COM segment x1, APP15 segment x1 in frame 2$/,
      'jpeg-ls':
        /in the JPEG-LS pixel data .*: COM segment x1, APP1 segment x1 in frame 1$/,
      j2k: /in the JPEG 2000 pixel data .*: JPEG 2000 COM segment x4 in frame 1$/,
    };
    for (const [name, kind] of Object.entries(kinds)) {
      const notices = report.notices.filter(
        (n) => n.source === join(input, `${name}.dcm`),
      );
      assert.equal(notices.length, 1, name);
      assert.match(notices[0]!.message, kind, name);
    }
    // No byte of any planted text, in any file the lake holds.
    for (const f of filesUnder(lake)) {
      const bytes = readFileSync(f);
      for (const needle of [MARK, 'ZQROE', 'ZQMRN55'])
        assert.ok(!bytes.includes(needle), `${needle} in ${f}`);
    }
    const rows = await parquetRows(
      `SELECT "TransferSyntaxUID" AS ts, deid_actions FROM read_parquet('${lake}/tables/instances/*/*.parquet')`,
    );
    for (const e of Object.values(expect)) {
      const row = rows.find((r) => r.ts === e.transferSyntax);
      const actions = JSON.parse(String(row!.deid_actions)) as Record<
        string,
        number
      >;
      assert.equal(actions.pixelText, e.blank.length, e.transferSyntax);
    }
  });

  for (const name of ['baseline', 'lossless', 'jpeg-ls', 'j2k'])
    it(`stores ${name}.dcm with only the planted bytes changed, to blanks: same fragments, same decoded pixels, no new dciodvfy error`, () => {
      const e = expect[name]!;
      const source = join(input, `${name}.dcm`);
      const out = stored.get(e.transferSyntax);
      assert.ok(out, `${name}: stored`);
      const read = fragmentsOf([source, out]);
      const before = read[source]!.map((h) => Buffer.from(h, 'hex'));
      const after = read[out]!.map((h) => Buffer.from(h, 'hex'));
      assert.deepEqual(
        after.map((f) => f.length),
        e.fragments,
      );
      const want = Buffer.concat(before);
      for (const [at, length, fill] of e.blank)
        want.fill(fill, at, at + length);
      assert.ok(Buffer.concat(after).equals(want), 'fragment bytes');
      const pixels = decoded(out, e.transferSyntax, `${name}-stored`);
      assert.ok(pixels.length > 0);
      assert.ok(
        pixels.equals(decoded(source, e.transferSyntax, `${name}-input`)),
        'decoded as the input',
      );
      // And as the codec wrote it, before the plants (each frame of the
      // two-frame file is that one frame).
      const ref = decoded(
        join(input, `ref-${name}.dcm`),
        e.transferSyntax,
        `${name}-ref`,
      );
      const frames = pixels.length / ref.length;
      assert.ok(
        pixels.equals(Buffer.concat(Array<Buffer>(frames).fill(ref))),
        'decoded as the codec wrote it',
      );
      const errorsBefore = dciodvfyErrors(source);
      assert.deepEqual(
        [...dciodvfyErrors(out)].filter((x) => !errorsBefore.has(x)),
        [],
      );
    });
});
